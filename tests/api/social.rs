//! API.md §3: follows, blocks, user search, suggestions, account deletion.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, PASSWORD};

async fn body(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn delete(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.request(Method::DELETE, path)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn usernames(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn following_is_idempotent_and_keeps_counts_exact() {
    let app = spawn_app().await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;

    let first = app
        .post("/api/users/bob/follow", Some(&ann.access), &json!({}))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let view: Value = first.json().await.unwrap();
    assert_eq!(
        (
            view["username"].as_str(),
            view["is_following"].as_bool(),
            view["followers_count"].as_i64()
        ),
        (Some("bob"), Some(true), Some(1))
    );
    let again = app
        .post(
            &format!("/api/users/{}/follow", bob.id),
            Some(&ann.access),
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);

    let seen_by_bob = body(&app, "/api/users/ann", Some(&bob.access)).await;
    assert_eq!(
        (
            seen_by_bob["follows_you"].as_bool(),
            seen_by_bob["is_following"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert_eq!(
        body(&app, "/api/users/me", Some(&ann.access)).await["following_count"],
        1
    );

    assert_eq!(
        delete(&app, "/api/users/bob/follow", &ann.access)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post("/api/users/bob/unfollow", Some(&ann.access), &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        body(&app, "/api/users/bob", None).await["followers_count"],
        0
    );
    assert_eq!(
        body(&app, "/api/users/ann", None).await["following_count"],
        0
    );

    assert_error(
        app.post("/api/users/ann/follow", Some(&ann.access), &json!({}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    assert_error(
        app.post("/api/users/ghost/follow", Some(&ann.access), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.post("/api/users/bob/follow", None, &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn concurrent_follows_count_once() {
    let app = spawn_app().await;
    let ann = app.create_user("ann").await;
    app.create_user("bob").await;
    let requests = (0..10).map(|_| {
        app.request(Method::POST, "/api/users/bob/follow")
            .bearer_auth(&ann.access)
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let created = responses
        .iter()
        .filter(|r| r.as_ref().unwrap().status() == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    assert_eq!(
        body(&app, "/api/users/bob", None).await["followers_count"],
        1
    );
}

#[tokio::test]
async fn followers_and_following_are_listed_newest_first() {
    let app = spawn_app().await;
    let star = app.create_user("star").await;
    let mut fans = Vec::new();
    for name in ["fan_a", "fan_b", "fan_c"] {
        let fan = app.create_user(name).await;
        app.post("/api/users/star/follow", Some(&fan.access), &json!({}))
            .await;
        fans.push(fan);
    }
    app.post("/api/users/fan_a/follow", Some(&star.access), &json!({}))
        .await;
    let page = body(
        &app,
        "/api/users/star/followers?limit=2",
        Some(&star.access),
    )
    .await;
    assert_eq!(usernames(&page), ["fan_c", "fan_b"]);
    assert_eq!(page["results"][0]["follows_you"], true);
    let rest = body(&app, page["next"].as_str().unwrap(), Some(&star.access)).await;
    assert_eq!(usernames(&rest), ["fan_a"]);
    assert_eq!(rest["results"][0]["is_following"], true);
    assert_eq!(
        usernames(&body(&app, "/api/users/fan_b/following", None).await),
        ["star"]
    );
    assert_error(
        app.get("/api/users/ghost/followers", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn blocking_separates_two_accounts_everywhere() {
    let app = spawn_app().await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let cid = app.create_user("cid").await;
    app.post("/api/users/bob/follow", Some(&ann.access), &json!({}))
        .await;
    app.post("/api/users/ann/follow", Some(&bob.access), &json!({}))
        .await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&ann.access),
            &json!({ "content": "ann's #secret" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let ann_post = post["id"].as_str().unwrap().to_owned();
    let bob_post: Value = app
        .post(
            "/api/posts",
            Some(&bob.access),
            &json!({ "content": "bob's #secret" }),
        )
        .await
        .json()
        .await
        .unwrap();
    app.post(
        &format!("/api/posts/{ann_post}/comments"),
        Some(&bob.access),
        &json!({ "content": "bob was here" }),
    )
    .await;

    let block = app
        .post("/api/users/bob/block", Some(&ann.access), &json!({}))
        .await;
    assert_eq!(block.status(), StatusCode::CREATED);
    assert_eq!(block.json::<Value>().await.unwrap()["is_blocked"], true);
    assert_eq!(
        app.post("/api/users/bob/block", Some(&ann.access), &json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_error(
        app.post("/api/users/ann/block", Some(&ann.access), &json!({}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;

    // Follows are gone both ways, counters exact.
    for name in ["ann", "bob"] {
        let user = body(&app, &format!("/api/users/{name}"), Some(&cid.access)).await;
        assert_eq!(
            (
                user["followers_count"].as_i64(),
                user["following_count"].as_i64()
            ),
            (Some(0), Some(0)),
            "{name}"
        );
    }
    // Bob cannot act on Ann.
    assert_error(
        app.post("/api/users/ann/follow", Some(&bob.access), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "blocked",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/posts/{ann_post}/like"),
            Some(&bob.access),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "blocked",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/posts/{ann_post}/comments"),
            Some(&bob.access),
            &json!({ "content": "hi" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "blocked",
    )
    .await;
    // Nor Ann on Bob.
    assert_error(
        app.post("/api/users/bob/follow", Some(&ann.access), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "blocked",
    )
    .await;
    let bob_post_id = bob_post["id"].as_str().unwrap();
    assert_error(
        app.post(
            &format!("/api/posts/{bob_post_id}/like"),
            Some(&ann.access),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "blocked",
    )
    .await;

    // Bob cannot see Ann at all; Ann sees Bob's profile (to unblock) but not his posts.
    assert_error(
        app.get("/api/users/ann", Some(&bob.access)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/posts/{ann_post}"), Some(&bob.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        body(&app, "/api/users/bob", Some(&ann.access)).await["is_blocked"],
        true
    );
    for (token, path) in [
        (&bob.access, "/api/posts"),
        (&bob.access, "/api/posts/search?hashtag=secret"),
        (&ann.access, "/api/posts"),
        (&ann.access, "/api/posts/search?q=secret"),
    ] {
        let page = body(&app, path, Some(token)).await;
        let authors: Vec<&str> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["author"]["username"].as_str().unwrap())
            .collect();
        assert_eq!(authors.len(), 1, "{path}: {authors:?}");
    }
    let comments = body(
        &app,
        &format!("/api/posts/{ann_post}/comments"),
        Some(&ann.access),
    )
    .await;
    assert!(
        comments["results"].as_array().unwrap().is_empty(),
        "Ann no longer sees Bob's comment"
    );
    assert_eq!(
        body(
            &app,
            &format!("/api/posts/{ann_post}/comments"),
            Some(&cid.access)
        )
        .await["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(usernames(&body(&app, "/api/users/search?q=ann", Some(&bob.access)).await).is_empty());

    // Mentions do not cross the block.
    let mention: Value = app
        .post(
            "/api/posts",
            Some(&bob.access),
            &json!({ "content": "hey @ann and @cid" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mention["mentions"], json!(["cid"]));

    assert_eq!(
        usernames(&body(&app, "/api/users/me/blocks", Some(&ann.access)).await),
        ["bob"]
    );
    assert_eq!(
        delete(&app, "/api/users/bob/block", &ann.access)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post("/api/users/bob/unblock", Some(&ann.access), &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/users/ann", Some(&bob.access)).await.status(),
        StatusCode::OK
    );
    assert!(usernames(&body(&app, "/api/users/me/blocks", Some(&ann.access)).await).is_empty());
}

#[tokio::test]
async fn user_search_matches_names_literally_and_never_emails() {
    let app = spawn_app().await;
    let viewer = app.create_user("viewer").await;
    app.create_user("alice_w").await;
    app.create_user("malice").await;
    app.create_user("bob").await;
    let me = app.create_user("carol").await;
    app.send_json(
        Method::PATCH,
        "/api/users/me",
        Some(&me.access),
        &json!({ "full_name": "Carol ALIce" }),
    )
    .await;

    assert_eq!(
        usernames(&body(&app, "/api/users/search?q=ALIC", Some(&viewer.access)).await),
        ["carol", "malice", "alice_w"]
    );
    assert_eq!(
        usernames(&body(&app, "/api/users/search?query=bob", None).await),
        ["bob"]
    );
    // An address never matches, whole or in part, signed in or not: a search must not
    // tell whether an address has an account (forgot-password and resend answer the same
    // either way).
    for email in ["bob%40example.com", "BOB%40EXAMPLE.COM", "example.co"] {
        for token in [None, Some(viewer.access.as_str())] {
            let path = format!("/api/users/search?q={email}");
            assert!(
                usernames(&body(&app, &path, token).await).is_empty(),
                "{path}"
            );
        }
    }
    for hostile in [".*(", "^$[", "a|b", "\\", "(?i)x"] {
        let encoded: String = url::form_urlencoded::byte_serialize(hostile.as_bytes()).collect();
        let response = app
            .get(&format!("/api/users/search?q={encoded}"), None)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{hostile}");
        assert!(
            usernames(&response.json().await.unwrap()).is_empty(),
            "{hostile}"
        );
    }
    let page = body(&app, "/api/users/search?q=a&limit=2", None).await;
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert!(page["next"].is_string());
    assert_error(
        app.get("/api/users/search", None).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn suggestions_rank_friends_of_friends_and_shared_interests() {
    let app = spawn_app().await;
    let me = app.create_user("me_user").await;
    let friend = app.create_user("friend").await;
    let friend2 = app.create_user("friend2").await;
    app.create_user("fof").await;
    let fan = app.create_user("rustfan").await;
    let blocked = app.create_user("blocked").await;
    app.create_user("nobody").await;
    for f in ["friend", "friend2"] {
        app.post(
            &format!("/api/users/{f}/follow"),
            Some(&me.access),
            &json!({}),
        )
        .await;
    }
    for token in [&friend.access, &friend2.access] {
        app.post("/api/users/fof/follow", Some(token), &json!({}))
            .await;
        app.post("/api/users/blocked/follow", Some(token), &json!({}))
            .await;
    }
    app.post(
        "/api/users/me_user/block",
        Some(&blocked.access),
        &json!({}),
    )
    .await;
    app.send_json(
        Method::PATCH,
        "/api/users/me",
        Some(&fan.access),
        &json!({ "interests": ["rust"] }),
    )
    .await;
    app.post(
        "/api/posts",
        Some(&me.access),
        &json!({ "content": "I love #rust" }),
    )
    .await;

    let list = body(&app, "/api/users/suggestions", Some(&me.access)).await;
    let results = list["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|s| s["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names[..2], ["fof", "rustfan"], "{names:?}");
    assert!(
        results[0]["reason"].as_str().unwrap().contains("friend"),
        "{}",
        results[0]["reason"]
    );
    assert!(
        results[1]["reason"].as_str().unwrap().contains("rust"),
        "{}",
        results[1]["reason"]
    );
    for excluded in ["me_user", "friend", "friend2", "blocked"] {
        assert!(!names.contains(&excluded), "{excluded} in {names:?}");
    }
    let alias = body(&app, "/api/posts/suggestions?limit=1", Some(&me.access)).await;
    assert_eq!(alias["results"].as_array().unwrap().len(), 1);
    assert_error(
        app.get("/api/users/suggestions", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn deleting_an_account_removes_everything_it_owns_and_keeps_others_exact() {
    let app = spawn_app().await;
    let gone = app.create_user("leaver").await;
    let other = app.create_user("stayer").await;
    let third = app.create_user("third").await;
    let other_post: Value = app
        .post(
            "/api/posts",
            Some(&other.access),
            &json!({ "content": "stays" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let other_post = other_post["id"].as_str().unwrap().to_owned();
    let own: Value = app
        .post(
            "/api/posts",
            Some(&gone.access),
            &json!({ "content": "goes" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let own = own["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/posts/{own}/like"),
        Some(&third.access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("/api/posts/{other_post}/like"),
        Some(&gone.access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("/api/posts/{other_post}/like"),
        Some(&third.access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("/api/posts/{other_post}/comments"),
        Some(&gone.access),
        &json!({ "content": "bye" }),
    )
    .await;
    app.post("/api/users/stayer/follow", Some(&gone.access), &json!({}))
        .await;
    app.post("/api/users/leaver/follow", Some(&other.access), &json!({}))
        .await;

    let wrong = app
        .send_json(
            Method::DELETE,
            "/api/users/me",
            Some(&gone.access),
            &json!({ "password": "not-it-123" }),
        )
        .await;
    let error = assert_error(wrong, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(error["errors"]["password"].is_array());
    let ok = app
        .send_json(
            Method::DELETE,
            "/api/users/me",
            Some(&gone.access),
            &json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);

    app.assert_access_refused(&gone.access).await;
    assert_error(
        app.login("leaver", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_error(
        app.get("/api/users/leaver", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/posts/{own}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let stayer = body(&app, "/api/users/stayer", None).await;
    assert_eq!(
        (
            stayer["followers_count"].as_i64(),
            stayer["following_count"].as_i64()
        ),
        (Some(0), Some(0))
    );
    app.settle().await;
    let post = body(&app, &format!("/api/posts/{other_post}"), None).await;
    assert_eq!(
        (post["like_count"].as_i64(), post["comment_count"].as_i64()),
        (Some(1), Some(0))
    );
    let leaver_id = bson::oid::ObjectId::parse_str(&gone.id).unwrap();
    for collection in [
        "posts",
        "likes",
        "comments",
        "follows",
        "timeline_batches",
        "tokens",
        "sessions",
    ] {
        let coll = app.db.database().collection::<bson::Document>(collection);
        let filter = bson::doc! { "$or": [
            { "user_id": leaver_id }, { "author_id": leaver_id }, { "follower_id": leaver_id },
            { "followee_id": leaver_id }, { "owner_id": leaver_id },
            { "entries.author_id": leaver_id },
        ] };
        assert_eq!(
            coll.count_documents(filter).await.unwrap(),
            0,
            "{collection}"
        );
    }
    assert_eq!(
        rookery::store::likes::collection(&app.db)
            .count_documents(bson::doc! {})
            .await
            .unwrap(),
        1,
        "only third's like on stayer's post"
    );
}
