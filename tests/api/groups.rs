//! API.md §6: groups, and the privacy of a private group's posts everywhere.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, TestUser};

async fn create_group(app: &TestApp, owner: &TestUser, name: &str, visibility: &str) -> String {
    let response = app
        .post(
            "/api/groups",
            Some(&owner.access),
            &json!({ "name": name, "visibility": visibility }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn body(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

fn contents(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_group_is_created_joined_left_and_listed() {
    let app = spawn_app().await;
    let owner = app.create_user("owner").await;
    let joiner = app.create_user("joiner").await;
    let created: Value = app
        .post("/api/groups", Some(&owner.access), &json!({ "name": " Rustaceans ", "description": "All things Rust", "visibility": "public" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["name"], "Rustaceans");
    assert_eq!(
        (
            created["role"].as_str(),
            created["is_member"].as_bool(),
            created["member_count"].as_i64()
        ),
        (Some("owner"), Some(true), Some(1))
    );
    assert_eq!(created["owner"]["username"], "owner");
    let id = created["id"].as_str().unwrap();

    let joined: Value = app
        .post(
            &format!("/api/groups/{id}/join"),
            Some(&joiner.access),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (joined["role"].as_str(), joined["member_count"].as_i64()),
        (Some("member"), Some(2))
    );
    let again: Value = app
        .post(
            &format!("/api/groups/{id}/join"),
            Some(&joiner.access),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["member_count"], 2, "joining twice counts once");

    let detail = body(&app, &format!("/api/groups/{id}"), None).await;
    assert_eq!(detail["members"].as_array().unwrap().len(), 2);
    assert_eq!(detail["is_member"], false);
    let members = body(&app, &format!("/api/groups/{id}/members"), None).await;
    assert_eq!(members["results"][0]["user"]["username"], "joiner");

    let left: Value = app
        .post(
            &format!("/api/groups/{id}/leave"),
            Some(&joiner.access),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (left["is_member"].as_bool(), left["member_count"].as_i64()),
        (Some(false), Some(1))
    );
    let owner_leaves = app
        .post(
            &format!("/api/groups/{id}/leave"),
            Some(&owner.access),
            &json!({}),
        )
        .await;
    assert_error(owner_leaves, StatusCode::BAD_REQUEST, "validation_error").await;

    let listed = body(&app, "/api/groups", None).await;
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
    assert!(
        body(&app, "/api/groups?mine=true", Some(&joiner.access)).await["results"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for bad in [
        json!({}),
        json!({ "name": "x", "visibility": "secret" }),
        json!({ "name": "y".repeat(101) }),
    ] {
        assert_error(
            app.post("/api/groups", Some(&owner.access), &bad).await,
            StatusCode::BAD_REQUEST,
            "validation_error",
        )
        .await;
    }
}

#[tokio::test]
async fn only_the_owner_changes_deletes_and_manages_members() {
    let app = spawn_app().await;
    let owner = app.create_user("owner").await;
    let member = app.create_user("member").await;
    let outsider = app.create_user("outsider").await;
    let id = create_group(&app, &owner, "club", "public").await;
    app.post(
        &format!("/api/groups/{id}/join"),
        Some(&member.access),
        &json!({}),
    )
    .await;

    let patch = app
        .send_json(
            Method::PATCH,
            &format!("/api/groups/{id}"),
            Some(&member.access),
            &json!({ "name": "mine" }),
        )
        .await;
    assert_error(patch, StatusCode::FORBIDDEN, "permission_denied").await;
    let renamed: Value = app
        .send_json(
            Method::PATCH,
            &format!("/api/groups/{id}"),
            Some(&owner.access),
            &json!({ "name": "renamed" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["name"], "renamed");

    let add = app
        .post(
            &format!("/api/groups/{id}/members"),
            Some(&member.access),
            &json!({ "user_id": outsider.id }),
        )
        .await;
    assert_error(add, StatusCode::FORBIDDEN, "permission_denied").await;
    let added = app
        .post(
            &format!("/api/groups/{id}/members"),
            Some(&owner.access),
            &json!({ "user_id": outsider.id }),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let notes: Value = app
        .get("/api/notifications", Some(&outsider.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            notes["results"][0]["type"].as_str(),
            notes["results"][0]["group_id"].as_str()
        ),
        (Some("group_add"), Some(id.as_str()))
    );

    let remove = app
        .request(
            Method::DELETE,
            &format!("/api/groups/{id}/members/outsider"),
        )
        .bearer_auth(&owner.access)
        .send()
        .await
        .unwrap();
    assert_eq!(remove.status(), StatusCode::NO_CONTENT);
    let remove_owner = app
        .request(Method::DELETE, &format!("/api/groups/{id}/members/owner"))
        .bearer_auth(&owner.access)
        .send()
        .await
        .unwrap();
    assert_error(remove_owner, StatusCode::BAD_REQUEST, "validation_error").await;

    let by_member = app
        .request(Method::DELETE, &format!("/api/groups/{id}"))
        .bearer_auth(&member.access)
        .send()
        .await
        .unwrap();
    assert_error(by_member, StatusCode::FORBIDDEN, "permission_denied").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&member.access),
            &json!({ "content": "in the club", "group_id": id }),
        )
        .await
        .json()
        .await
        .unwrap();
    let by_owner = app
        .request(Method::DELETE, &format!("/api/groups/{id}"))
        .bearer_auth(&owner.access)
        .send()
        .await
        .unwrap();
    assert_eq!(by_owner.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get(&format!("/api/groups/{id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let post_path = format!("/api/posts/{}", post["id"].as_str().unwrap());
    assert_error(
        app.get(&post_path, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_private_groups_post_is_seen_by_its_members_only_everywhere() {
    let app = spawn_app().await;
    let owner = app.create_user("owner").await;
    let member = app.create_user("member").await;
    let outsider = app.create_user("outsider").await;
    let id = create_group(&app, &owner, "secret club", "private").await;
    app.post(
        &format!("/api/groups/{id}/members"),
        Some(&owner.access),
        &json!({ "user_id": member.id }),
    )
    .await;
    for user in [&member, &outsider] {
        app.post("/api/users/owner/follow", Some(&user.access), &json!({}))
            .await;
    }

    let not_member = app
        .post(
            "/api/posts",
            Some(&outsider.access),
            &json!({ "content": "sneak", "group_id": id }),
        )
        .await;
    assert_error(not_member, StatusCode::BAD_REQUEST, "validation_error").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&owner.access),
            &json!({ "content": "whisper #hush", "group_id": id }),
        )
        .await
        .json()
        .await
        .unwrap();
    let post_id = post["id"].as_str().unwrap().to_owned();
    assert_eq!(post["group_id"], id.as_str());
    app.post(
        "/api/posts",
        Some(&owner.access),
        &json!({ "content": "shout #hush" }),
    )
    .await;

    // The outsider (and anyone anonymous) never sees it, nor the group, once the posts'
    // fan-out is done.
    app.settle().await;
    for token in [Some(outsider.access.as_str()), None] {
        for path in [
            "/api/posts",
            "/api/users/owner/posts",
            "/api/posts/search?hashtag=hush",
            "/api/posts/search?q=whisper",
        ] {
            assert!(
                !contents(&body(&app, path, token).await).contains(&"whisper #hush".to_string()),
                "{path}"
            );
        }
        assert_error(
            app.get(&format!("/api/posts/{post_id}"), token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.get(&format!("/api/groups/{id}"), token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.get(&format!("/api/groups/{id}/posts"), token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_eq!(
        contents(&body(&app, "/api/feed", Some(&outsider.access)).await),
        ["shout #hush"]
    );
    let like = app
        .post(
            &format!("/api/posts/{post_id}/like"),
            Some(&outsider.access),
            &json!({}),
        )
        .await;
    assert_error(like, StatusCode::NOT_FOUND, "not_found").await;
    let trending = body(&app, "/api/hashtags/trending", None).await;
    assert_eq!(
        trending["results"][0]["posts"], 1,
        "counts shown to others leave it out"
    );
    app.settle().await;
    assert_eq!(body(&app, "/api/users/owner", None).await["posts_count"], 1);
    let join = app
        .post(
            &format!("/api/groups/{id}/join"),
            Some(&outsider.access),
            &json!({}),
        )
        .await;
    assert_error(join, StatusCode::FORBIDDEN, "permission_denied").await;
    assert!(
        body(&app, "/api/groups", Some(&outsider.access)).await["results"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Members see it in the group, the post itself and their feed (once fanned out).
    app.settle().await;
    assert_eq!(
        contents(
            &body(
                &app,
                &format!("/api/groups/{id}/posts"),
                Some(&member.access)
            )
            .await
        ),
        ["whisper #hush"]
    );
    assert_eq!(
        body(&app, &format!("/api/posts/{post_id}"), Some(&member.access)).await["content"],
        "whisper #hush"
    );
    assert_eq!(
        contents(&body(&app, "/api/feed", Some(&member.access)).await),
        ["shout #hush", "whisper #hush"]
    );
    assert_eq!(
        app.post(
            &format!("/api/posts/{post_id}/like"),
            Some(&member.access),
            &json!({})
        )
        .await
        .status(),
        StatusCode::CREATED
    );

    // Removed from the group, the member loses it from their feed too.
    app.request(Method::DELETE, &format!("/api/groups/{id}/members/member"))
        .bearer_auth(&owner.access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        contents(&body(&app, "/api/feed", Some(&member.access)).await),
        ["shout #hush"]
    );
    assert_error(
        app.get(&format!("/api/posts/{post_id}"), Some(&member.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn members_share_posts_they_can_see_but_private_posts_stay_home() {
    let app = spawn_app().await;
    let owner = app.create_user("owner").await;
    let outsider = app.create_user("outsider").await;
    let public_group = create_group(&app, &owner, "open", "public").await;
    let private_group = create_group(&app, &owner, "closed", "private").await;
    let public_post: Value = app
        .post(
            "/api/posts",
            Some(&outsider.access),
            &json!({ "content": "worth sharing" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret: Value = app
        .post(
            "/api/posts",
            Some(&owner.access),
            &json!({ "content": "secret", "group_id": private_group }),
        )
        .await
        .json()
        .await
        .unwrap();

    let share = |group: &str, post: &Value, token: &str| {
        let path = format!("/api/groups/{group}/share");
        let body = json!({ "post_id": post["id"] });
        let token = token.to_owned();
        let app = &app;
        async move { app.post(&path, Some(&token), &body).await }
    };
    assert_eq!(
        share(&public_group, &public_post, &owner.access)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        share(&public_group, &public_post, &owner.access)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        contents(&body(&app, &format!("/api/groups/{public_group}/posts"), None).await),
        ["worth sharing"]
    );
    assert_error(
        share(&public_group, &secret, &owner.access).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    assert_error(
        share(&public_group, &public_post, &outsider.access).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    )
    .await;
}

#[tokio::test]
async fn a_scheduled_private_group_post_notifies_only_followers_who_are_members() {
    let app = spawn_app().await;
    let owner = app.create_user("owner").await;
    let member = app.create_user("member").await;
    let outsider = app.create_user("outsider").await;
    let id = create_group(&app, &owner, "inner circle", "private").await;
    app.post(
        &format!("/api/groups/{id}/members"),
        Some(&owner.access),
        &json!({ "user_id": member.id }),
    )
    .await;
    for user in [&member, &outsider] {
        app.post("/api/users/owner/follow", Some(&user.access), &json!({}))
            .await;
    }
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(3000);
    let scheduled = app
        .post(
            "/api/posts",
            Some(&owner.access),
            &json!({ "content": "later", "group_id": id, "publish_at": at.to_rfc3339() }),
        )
        .await;
    assert_eq!(scheduled.status(), StatusCode::CREATED);
    let published = |token: String| {
        let app = &app;
        async move {
            let list: Value = app
                .get("/api/notifications", Some(&token))
                .await
                .json()
                .await
                .unwrap();
            list["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["type"] == "post_published")
                .count()
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(15), async {
        while published(member.access.clone()).await == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the member is told");
    assert_eq!(
        published(outsider.access.clone()).await,
        0,
        "the outsider is not"
    );
}

#[tokio::test]
async fn a_private_group_post_mentions_only_members() {
    let app = spawn_app().await;
    let owner = app.create_user("owner").await;
    let member = app.create_user("member").await;
    let outsider = app.create_user("outsider").await;
    let id = create_group(&app, &owner, "inner circle", "private").await;
    app.post(
        &format!("/api/groups/{id}/members"),
        Some(&owner.access),
        &json!({ "user_id": member.id }),
    )
    .await;
    app.post(
        "/api/posts",
        Some(&owner.access),
        &json!({ "content": "hi @member and @outsider", "group_id": id }),
    )
    .await;
    let count = |token: &str| {
        let app = &app;
        let token = token.to_owned();
        async move {
            app.get("/api/notifications", Some(&token))
                .await
                .json::<Value>()
                .await
                .unwrap()["results"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    // Mentions are written by the post's publication job.
    app.settle().await;
    assert_eq!(
        count(&outsider.access).await,
        0,
        "no mention of a post the outsider cannot see"
    );
    assert_eq!(count(&member.access).await, 2, "group_add and the mention");
}
