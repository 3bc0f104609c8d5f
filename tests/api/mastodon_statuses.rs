//! The Mastodon API's statuses and timelines: the same posts, comments, likes and rules
//! as the native API and RealWorld, seen both ways.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{created, spawn_app, TestApp};
use crate::mastodon::{json_of, mastodon_token};

async fn post_status(app: &TestApp, token: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = app
        .request(Method::POST, "/api/v1/statuses")
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .expect("status sent");
    json_of(response).await
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    json_of(app.get(path, token).await).await
}

/// The path and query of an absolute `Link` URL.
fn link_path(link: &str, rel: &str) -> Option<String> {
    link.split(", ")
        .find(|l| l.ends_with(&format!("rel=\"{rel}\"")))
        .map(|l| {
            let url = l.trim_start_matches('<').split('>').next().expect("a URL");
            let url = url::Url::parse(url).expect("an absolute URL");
            format!("{}?{}", url.path(), url.query().unwrap_or_default())
        })
}

#[tokio::test]
async fn a_status_is_a_post_both_ways() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "ada", "read write").await;

    let (status, posted) = post_status(
        &app,
        &token,
        &[("status", "Hello <world> from #Rookery and @ada")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{posted}");
    let id = posted["id"].as_str().expect("id").to_owned();
    assert_eq!(posted["account"]["id"], me.id);
    assert_eq!(posted["visibility"], "public");
    let html = posted["content"].as_str().expect("content");
    assert!(html.starts_with("<p>Hello &lt;world&gt; from "), "{html}");
    assert!(
        html.contains("class=\"mention hashtag\" rel=\"tag\">#<span>Rookery</span></a>"),
        "{html}"
    );
    assert_eq!(posted["tags"][0]["name"], "rookery");
    assert!(posted["media_attachments"]
        .as_array()
        .is_some_and(Vec::is_empty));

    // Natively and through RealWorld it is the same post.
    let native: Value = app
        .get(&format!("/api/posts/{id}"), None)
        .await
        .json()
        .await
        .expect("post");
    assert_eq!(native["content"], "Hello <world> from #Rookery and @ada");
    let (status, article) = get(&app, &format!("/realworld/api/articles/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        article["article"]["body"],
        "Hello <world> from #Rookery and @ada"
    );

    // A native post is a status.
    let post = created(
        &app,
        &me,
        "/api/posts",
        json!({ "content": "native words" }),
    )
    .await;
    let (status, shown) = get(
        &app,
        &format!("/api/v1/statuses/{}", post["id"].as_str().expect("id")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["content"], "<p>native words</p>");
    assert_eq!(shown["account"]["username"], "ada");

    for bad in ["000000000000000000000000", "nope"] {
        let (status, body) = get(&app, &format!("/api/v1/statuses/{bad}"), None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("Record not found"))
        );
    }
}

#[tokio::test]
async fn what_rookery_has_no_meaning_for_is_refused_clearly() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "bea", "read write").await;
    for form in [
        vec![("status", "x"), ("visibility", "private")],
        vec![("status", "x"), ("visibility", "direct")],
        vec![("status", "x"), ("spoiler_text", "cw")],
        vec![("status", "x"), ("sensitive", "true")],
        vec![
            ("status", "x"),
            ("poll[options][]", "a"),
            ("poll[expires_in]", "60"),
        ],
        vec![("status", "")],
        vec![("status", "x"), ("media_ids[]", "000000000000000000000000")],
        vec![("status", "x"), ("scheduled_at", "2001-01-01T00:00:00Z")],
    ] {
        let (status, body) = post_status(&app, &token, &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {body}");
        assert!(
            body["error"]
                .as_str()
                .expect("error")
                .starts_with("Validation failed"),
            "{body}"
        );
    }
    let (status, body) = post_status(
        &app,
        &token,
        &[
            ("status", "x"),
            ("visibility", "public"),
            ("sensitive", "false"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A token without write:statuses may not post.
    let (_, read_only, _, _) = mastodon_token(&app, "cai", "read").await;
    let (status, body) = post_status(&app, &read_only, &[("status", "x")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("This action is outside the authorized scopes")
        )
    );
}

#[tokio::test]
async fn the_home_timeline_pages_through_link_headers() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "dan", "read write follow").await;
    let eve = app.create_user("eve").await;
    let response = app
        .post(
            "/api/users/eve/follow",
            Some(&mastodon_native(&app, "dan").await),
            &json!({}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let mut ids = Vec::new();
    for i in 0..5 {
        let post = created(
            &app,
            &eve,
            "/api/posts",
            json!({ "content": format!("eve {i}") }),
        )
        .await;
        ids.push(post["id"].as_str().expect("id").to_owned());
    }
    app.settle().await;
    ids.reverse();

    let mut seen = Vec::new();
    let mut path = "/api/v1/timelines/home?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = app.get(&path, Some(&token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let link = response
            .headers()
            .get("link")
            .map(|l| l.to_str().expect("link").to_owned());
        let page: Vec<Value> = response.json().await.expect("statuses");
        seen.extend(
            page.iter()
                .map(|s| s["id"].as_str().expect("id").to_owned()),
        );
        pages += 1;
        match link.as_deref().and_then(|l| link_path(l, "next")) {
            Some(next) => path = next,
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen, ids, "every status once, newest first");
    assert_eq!(pages, 3);

    // A client's own max_id (a status id) and since_id work too.
    let (status, older) = get(
        &app,
        &format!("/api/v1/timelines/home?max_id={}", ids[1]),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let older: Vec<&str> = older
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        older,
        ids[2..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let (_, newer) = get(
        &app,
        &format!("/api/v1/timelines/home?since_id={}", ids[2]),
        Some(&token),
    )
    .await;
    let newer: Vec<&str> = newer
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        newer,
        ids[..2].iter().map(String::as_str).collect::<Vec<_>>()
    );

    let (status, _) = get(&app, "/api/v1/timelines/home", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get(&app, "/api/v1/timelines/home?limit=abc", Some(&token)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A native token of the account, signed in by its password.
async fn mastodon_native(app: &TestApp, username: &str) -> String {
    app.log_in_as(username, &format!("{username}@example.com"))
        .await
        .access
}

#[tokio::test]
async fn a_block_made_natively_hides_statuses_from_mastodon_reads() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "fay", "read write").await;
    let gus = app.create_user("gus").await;
    let post = created(
        &app,
        &gus,
        "/api/posts",
        json!({ "content": "gus says #hello" }),
    )
    .await;
    let id = post["id"].as_str().expect("id");

    let public_ids = |body: &Value| -> Vec<String> {
        body.as_array()
            .expect("array")
            .iter()
            .map(|s| s["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let (_, public) = get(&app, "/api/v1/timelines/public", Some(&token)).await;
    assert!(public_ids(&public).contains(&id.to_owned()));
    let (_, tagged) = get(&app, "/api/v1/timelines/tag/hello", Some(&token)).await;
    assert!(public_ids(&tagged).contains(&id.to_owned()));

    let response = app
        .post("/api/users/fay/block", Some(&gus.access), &json!({}))
        .await;
    assert!(response.status().is_success());
    let (_, public) = get(&app, "/api/v1/timelines/public", Some(&token)).await;
    assert!(
        !public_ids(&public).contains(&id.to_owned()),
        "gus blocked fay"
    );
    let (_, tagged) = get(&app, "/api/v1/timelines/tag/hello", Some(&token)).await;
    assert!(!public_ids(&tagged).contains(&id.to_owned()));
    let (status, _) = get(&app, &format!("/api/v1/statuses/{id}"), Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = app
        .request(Method::POST, &format!("/api/v1/statuses/{id}/favourite"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("favourite");
    // The native rule: a like across a block is refused.
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Anonymous readers still see it.
    let (_, public) = get(&app, "/api/v1/timelines/public", None).await;
    assert!(public_ids(&public).contains(&id.to_owned()));
}

#[tokio::test]
async fn replies_are_comments_and_favourites_are_likes() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "hal", "read write").await;
    let ida = app.create_user("ida").await;
    let post = created(&app, &ida, "/api/posts", json!({ "content": "ida's post" })).await;
    let id = post["id"].as_str().expect("id").to_owned();

    let (status, reply) = post_status(
        &app,
        &token,
        &[("status", "a reply"), ("in_reply_to_id", &id)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["in_reply_to_id"], id);
    assert_eq!(reply["in_reply_to_account_id"], ida.id);
    let reply_id = reply["id"].as_str().expect("id").to_owned();
    // A reply to the reply is one more comment on the post.
    let (status, second) = post_status(
        &app,
        &token,
        &[("status", "again"), ("in_reply_to_id", &reply_id)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["in_reply_to_id"], id);
    app.settle().await;

    let comments: Value = app
        .get(&format!("/api/posts/{id}/comments"), None)
        .await
        .json()
        .await
        .expect("comments");
    let contents: Vec<&str> = comments["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| c["content"].as_str().expect("content"))
        .collect();
    assert_eq!(contents, ["a reply", "again"]);
    let (_, context) = get(&app, &format!("/api/v1/statuses/{id}/context"), None).await;
    assert_eq!(
        context["descendants"]
            .as_array()
            .expect("descendants")
            .len(),
        2
    );
    let (_, context) = get(&app, &format!("/api/v1/statuses/{reply_id}/context"), None).await;
    assert_eq!(context["ancestors"][0]["id"], id);
    let (status, shown) = get(&app, &format!("/api/v1/statuses/{reply_id}"), None).await;
    assert_eq!(
        (status, shown["content"].as_str()),
        (StatusCode::OK, Some("<p>a reply</p>"))
    );

    let fav = |path: String| app.request(Method::POST, &path).bearer_auth(&token).send();
    let (status, faved) = json_of(
        fav(format!("/api/v1/statuses/{id}/favourite"))
            .await
            .expect("fav"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{faved}");
    assert_eq!(
        (
            faved["favourited"].as_bool(),
            faved["favourites_count"].as_i64()
        ),
        (Some(true), Some(1))
    );
    app.settle().await;
    let native: Value = app
        .get(&format!("/api/posts/{id}"), Some(&ida.access))
        .await
        .json()
        .await
        .expect("post");
    assert_eq!(native["like_count"], 1);
    let (_, again) = json_of(
        fav(format!("/api/v1/statuses/{id}/favourite"))
            .await
            .expect("fav"),
    )
    .await;
    assert_eq!(
        again["favourites_count"], 1,
        "a second favourite changes nothing"
    );
    let (status, unfaved) = json_of(
        fav(format!("/api/v1/statuses/{id}/unfavourite"))
            .await
            .expect("unfav"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            unfaved["favourited"].as_bool(),
            unfaved["favourites_count"].as_i64()
        ),
        (Some(false), Some(0))
    );
    let (status, body) = json_of(
        fav(format!("/api/v1/statuses/{reply_id}/favourite"))
            .await
            .expect("fav"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = json_of(
        fav("/api/v1/statuses/000000000000000000000000/favourite".into())
            .await
            .expect("fav"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting: only one's own (or on one's post); the answer carries the text.
    let response = app
        .request(Method::DELETE, &format!("/api/v1/statuses/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .request(Method::DELETE, &format!("/api/v1/statuses/{reply_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    let (status, deleted) = json_of(response).await;
    assert_eq!(
        (status, deleted["text"].as_str()),
        (StatusCode::OK, Some("a reply"))
    );
    let (status, _) = get(&app, &format!("/api/v1/statuses/{reply_id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scheduled_statuses_and_idempotent_posting() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "jon", "read write").await;
    let (status, scheduled) = post_status(
        &app,
        &token,
        &[
            ("status", "later"),
            ("scheduled_at", "2031-01-01T00:00:00.000Z"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{scheduled}");
    assert_eq!(scheduled["scheduled_at"], "2031-01-01T00:00:00.000Z");
    assert_eq!(scheduled["params"]["text"], "later");
    let (status, _) = get(
        &app,
        &format!("/api/v1/statuses/{}", scheduled["id"].as_str().expect("id")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not published yet");

    let send = || {
        app.request(Method::POST, "/api/v1/statuses")
            .bearer_auth(&token)
            .header("Idempotency-Key", "masto-key-1")
            .form(&[("status", "once")])
            .send()
    };
    let (first, a) = json_of(send().await.expect("first")).await;
    let (second, b) = json_of(send().await.expect("second")).await;
    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        a["id"], b["id"],
        "the retry is answered with the first status"
    );
    app.settle().await;
    let mine: Value = app
        .get(&format!("/api/users/{}/posts", me.id), None)
        .await
        .json()
        .await
        .expect("posts");
    let onces = mine["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|p| p["content"] == "once")
        .count();
    assert_eq!(onces, 1);
}

#[tokio::test]
async fn notifications_read_in_mastodon_types_and_dismiss() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "kim", "read write").await;
    let (status, posted) = post_status(&app, &token, &[("status", "notice me")]).await;
    assert_eq!(status, StatusCode::OK);
    let id = posted["id"].as_str().expect("id").to_owned();
    let lee = app.create_user("lee").await;
    for (path, body) in [
        (format!("/api/posts/{id}/like"), json!({})),
        ("/api/users/kim/follow".to_owned(), json!({})),
        (
            format!("/api/posts/{id}/comments"),
            json!({ "content": "hi kim" }),
        ),
    ] {
        let response = app.post(&path, Some(&lee.access), &body).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    app.settle().await;

    let (status, all) = get(&app, "/api/v1/notifications", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let types: Vec<&str> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|n| n["type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, ["mention", "follow", "favourite"], "newest first");
    let mention = &all[0];
    assert_eq!(mention["account"]["username"], "lee");
    assert_eq!(mention["status"]["in_reply_to_id"], id);
    assert_eq!(mention["status"]["content"], "<p>hi kim</p>");
    assert_eq!(all[2]["status"]["id"], id);
    assert!(all[1].get("status").is_none(), "a follow has no status");

    let (_, follows) = get(&app, "/api/v1/notifications?types[]=follow", Some(&token)).await;
    assert_eq!(follows.as_array().expect("array").len(), 1);
    let (_, rest) = get(
        &app,
        "/api/v1/notifications?exclude_types[]=mention&exclude_types[]=follow",
        Some(&token),
    )
    .await;
    assert_eq!(rest[0]["type"], "favourite");
    assert_eq!(rest.as_array().expect("array").len(), 1);

    // Someone else's notification is not there for them; one's own dismisses.
    let nid = all[0]["id"].as_str().expect("id").to_owned();
    let (_, other_token, _, _) = mastodon_token(&app, "max", "read write").await;
    let (status, _) = get(
        &app,
        &format!("/api/v1/notifications/{nid}"),
        Some(&other_token),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let dismiss = |token: &str, path: String| {
        app.request(Method::POST, &path)
            .bearer_auth(token.to_owned())
            .send()
    };
    let response = dismiss(&other_token, format!("/api/v1/notifications/{nid}/dismiss"))
        .await
        .expect("dismiss");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, one) = get(&app, &format!("/api/v1/notifications/{nid}"), Some(&token)).await;
    assert_eq!(
        (status, one["type"].as_str()),
        (StatusCode::OK, Some("mention"))
    );
    let response = dismiss(&token, format!("/api/v1/notifications/{nid}/dismiss"))
        .await
        .expect("dismiss");
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = get(&app, &format!("/api/v1/notifications/{nid}"), Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = dismiss(&token, "/api/v1/notifications/clear".into())
        .await
        .expect("clear");
    assert_eq!(response.status(), StatusCode::OK);
    let (_, none) = get(&app, "/api/v1/notifications", Some(&token)).await;
    assert_eq!(none, json!([]));
    let (status, _) = get(&app, "/api/v1/notifications", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let _ = me;
}

#[tokio::test]
async fn markers_keep_their_place_and_empty_lists_answer() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "ned", "read write").await;
    let set = |form: Vec<(&'static str, &'static str)>| {
        app.request(Method::POST, "/api/v1/markers")
            .bearer_auth(&token)
            .form(&form)
            .send()
    };
    let (status, body) = json_of(
        set(vec![("home[last_read_id]", "5f0000000000000000000001")])
            .await
            .expect("marker"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["home"]["last_read_id"].as_str(),
            body["home"]["version"].as_i64()
        ),
        (Some("5f0000000000000000000001"), Some(1))
    );
    let (_, body) = json_of(
        set(vec![("home[last_read_id]", "5f0000000000000000000002")])
            .await
            .expect("marker"),
    )
    .await;
    assert_eq!(body["home"]["version"], 2);
    let (status, markers) = get(
        &app,
        "/api/v1/markers?timeline[]=home&timeline[]=notifications",
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(markers["home"]["last_read_id"], "5f0000000000000000000002");
    assert!(markers.get("notifications").is_none(), "never set");
    let (status, _) = json_of(
        set(vec![("home[last_read_id]", "not an id")])
            .await
            .expect("marker"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    for path in [
        "/api/v1/lists",
        "/api/v2/filters",
        "/api/v1/custom_emojis",
        "/api/v1/follow_requests",
        "/api/v1/bookmarks",
        "/api/v1/trends/tags",
    ] {
        let (status, body) = get(&app, path, Some(&token)).await;
        assert_eq!((status, body.is_array()), (StatusCode::OK, true), "{path}");
    }
    let (status, prefs) = get(&app, "/api/v1/preferences", Some(&token)).await;
    assert_eq!(
        (status, prefs["posting:default:visibility"].as_str()),
        (StatusCode::OK, Some("public"))
    );
}

#[tokio::test]
async fn follows_blocks_relationships_and_search_are_the_native_ones() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "ola", "read write follow").await;
    let pat = app.create_user("pat").await;
    let act = |path: String| app.request(Method::POST, &path).bearer_auth(&token).send();

    let (status, rel) = json_of(
        act(format!("/api/v1/accounts/{}/follow", pat.id))
            .await
            .expect("follow"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rel}");
    assert_eq!(
        (rel["following"].as_bool(), rel["blocking"].as_bool()),
        (Some(true), Some(false))
    );
    let native: Value = app
        .get("/api/users/pat", Some(&pat.access))
        .await
        .json()
        .await
        .expect("pat");
    assert_eq!(native["followers_count"], 1, "the native follow");
    let (_, followers) = get(
        &app,
        &format!("/api/v1/accounts/{}/followers", pat.id),
        None,
    )
    .await;
    assert_eq!(followers[0]["id"], me.id);
    let (_, following) = get(&app, &format!("/api/v1/accounts/{}/following", me.id), None).await;
    assert_eq!(following[0]["id"], pat.id);
    let (status, body) = json_of(
        act(format!("/api/v1/accounts/{}/follow", me.id))
            .await
            .expect("self"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "following oneself: {body}"
    );

    let (status, rels) = get(
        &app,
        &format!(
            "/api/v1/accounts/relationships?id[]={}&id[]={}&id[]=000000000000000000000000",
            pat.id, me.id
        ),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        rels.as_array().expect("array").len(),
        2,
        "an unknown id is left out"
    );
    assert_eq!(rels[0]["following"], true);

    let post = created(
        &app,
        &pat,
        "/api/posts",
        json!({ "content": "pat writes #words" }),
    )
    .await;
    let (_, theirs) = get(
        &app,
        &format!("/api/v1/accounts/{}/statuses", pat.id),
        Some(&token),
    )
    .await;
    assert_eq!(theirs[0]["id"], post["id"]);
    let (_, pinned) = get(
        &app,
        &format!("/api/v1/accounts/{}/statuses?pinned=true", pat.id),
        Some(&token),
    )
    .await;
    assert_eq!(pinned, json!([]));

    let (status, found) = get(&app, "/api/v2/search?q=pat", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(found["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .any(|a| a["id"] == pat.id.as_str()));
    let (_, found) = get(&app, "/api/v2/search?q=writes&type=statuses", Some(&token)).await;
    assert_eq!(found["statuses"][0]["id"], post["id"]);
    assert_eq!(found["accounts"], json!([]));
    let (_, found) = get(&app, "/api/v2/search?q=%23words", Some(&token)).await;
    assert_eq!(found["hashtags"][0]["name"], "words");
    let (_, found) = get(&app, "/api/v1/accounts/search?q=@pat", Some(&token)).await;
    assert_eq!(found[0]["id"], pat.id);

    // A block ends the follow and hides the account and its statuses.
    let (status, rel) = json_of(
        act(format!("/api/v1/accounts/{}/block", pat.id))
            .await
            .expect("block"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (rel["following"].as_bool(), rel["blocking"].as_bool()),
        (Some(false), Some(true))
    );
    let blocks: Value = app
        .get("/api/users/me/blocks", Some(&me.access))
        .await
        .json()
        .await
        .expect("blocks");
    assert_eq!(blocks["results"][0]["id"], pat.id);
    let (_, found) = get(&app, "/api/v2/search?q=pat", Some(&token)).await;
    assert!(!found["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .any(|a| a["id"] == pat.id.as_str()));
    let (_, rel) = json_of(
        act(format!("/api/v1/accounts/{}/unblock", pat.id))
            .await
            .expect("unblock"),
    )
    .await;
    assert_eq!(rel["blocking"], false);
    let (_, rel) = json_of(
        act(format!("/api/v1/accounts/{}/unfollow", pat.id))
            .await
            .expect("unfollow"),
    )
    .await;
    assert_eq!(rel["following"], false);
    let (status, _) = json_of(
        act("/api/v1/accounts/000000000000000000000000/follow".into())
            .await
            .expect("unknown"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Without the follow scope, no follows.
    let (_, read_only, _, _) = mastodon_token(&app, "quy", "read").await;
    let response = app
        .request(Method::POST, &format!("/api/v1/accounts/{}/follow", pat.id))
        .bearer_auth(&read_only)
        .send()
        .await
        .expect("follow");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_mastodon_home_timeline_costs_the_native_feeds_commands() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "rae", "read write follow").await;
    let sol = app.create_user("sol").await;
    let response = app
        .post("/api/users/sol/follow", Some(&me.access), &json!({}))
        .await;
    assert!(response.status().is_success());
    for i in 0..25 {
        created(
            &app,
            &sol,
            "/api/posts",
            json!({ "content": format!("sol {i}") }),
        )
        .await;
    }
    app.settle().await;
    // Warm both (the first page's horizon is learned on the first read).
    for _ in 0..2 {
        assert_eq!(
            app.get("/api/feed?limit=20", Some(&me.access))
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            app.get("/api/v1/timelines/home?limit=20", Some(&token))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let native = app.get("/api/feed?limit=20", Some(&me.access)).await;
    assert_eq!(native.status(), StatusCode::OK);
    let mastodon = app
        .get("/api/v1/timelines/home?limit=20", Some(&token))
        .await;
    assert_eq!(mastodon.status(), StatusCode::OK);
    let native_commands = crate::helpers::db_commands(&native);
    assert_eq!(
        crate::helpers::db_commands(&mastodon),
        native_commands,
        "the same commands as the native feed"
    );
    let statuses: Vec<Value> = mastodon.json().await.expect("statuses");
    assert_eq!(statuses.len(), 20);
}

async fn upload(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    description: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes)
            .file_name("photo.png")
            .mime_str("image/png")
            .expect("mime"),
    );
    if let Some(text) = description {
        form = form.text("description", text.to_owned());
    }
    let response = app
        .request(Method::POST, "/api/v2/media")
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    json_of(response).await
}

#[tokio::test]
async fn media_uploads_with_alt_text_attach_to_statuses() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "uli", "read write").await;
    let png = crate::media::png(64, 48, 0);
    let (status, media) = upload(&app, &token, png.clone(), Some("A grey square")).await;
    assert_eq!(status, StatusCode::OK, "{media}");
    assert_eq!(media["type"], "image");
    assert_eq!(media["description"], "A grey square");
    assert_eq!(media["meta"]["original"]["width"], 64);
    assert!(media["blurhash"].is_string());
    let url = media["url"].as_str().expect("url");
    assert!(url.starts_with("http"), "{url}");
    let file = app
        .get(
            &url::Url::parse(url).expect("url")[url::Position::BeforePath..],
            None,
        )
        .await;
    assert_eq!(
        file.status(),
        StatusCode::OK,
        "the URL loads without a token"
    );
    let preview = media["preview_url"].as_str().expect("preview");
    assert!(preview.starts_with("http"));
    let id = media["id"].as_str().expect("id").to_owned();

    let response = app
        .request(Method::PUT, &format!("/api/v1/media/{id}"))
        .bearer_auth(&token)
        .json(&json!({ "description": "A grey rectangle" }))
        .send()
        .await
        .expect("put");
    let (status, changed) = json_of(response).await;
    assert_eq!(
        (status, changed["description"].as_str()),
        (StatusCode::OK, Some("A grey rectangle"))
    );
    let (status, shown) = get(&app, &format!("/api/v1/media/{id}"), Some(&token)).await;
    assert_eq!(
        (status, shown["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );

    let (status, posted) = post_status(
        &app,
        &token,
        &[("status", "with a picture"), ("media_ids[]", &id)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{posted}");
    assert_eq!(posted["media_attachments"][0]["id"], id);
    assert_eq!(
        posted["media_attachments"][0]["description"],
        "A grey rectangle"
    );

    // Someone else's upload is not theirs to read, change or attach.
    let (_, other, _, _) = mastodon_token(&app, "val", "read write").await;
    let (status, _) = get(&app, &format!("/api/v1/media/{id}"), Some(&other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        post_status(&app, &other, &[("status", "stolen"), ("media_ids[]", &id)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Bytes that are no image are refused, whatever they claim; so is a long description.
    let (status, body) = upload(&app, &token, b"<svg onload=alert(1)>".to_vec(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = upload(&app, &token, png, Some(&"x".repeat(1501))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, read_only, _, _) = mastodon_token(&app, "wyn", "read").await;
    let (status, _) = upload(&app, &read_only, crate::media::png(8, 8, 0), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn put_status(
    app: &TestApp,
    token: &str,
    id: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = app
        .request(Method::PUT, &format!("/api/v1/statuses/{id}"))
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .expect("edit sent");
    json_of(response).await
}

#[tokio::test]
async fn edits_keep_their_history_and_source_and_only_the_author_edits() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "eda", "read write").await;
    let (_, other, _, _) = mastodon_token(&app, "fin", "read write").await;

    // A native post with a title: its status text is the title, a blank line, the content.
    let post = created(
        &app,
        &me,
        "/api/posts",
        json!({ "title": "Morning", "content": "Tea by the #river" }),
    )
    .await;
    let id = post["id"].as_str().expect("id").to_owned();
    let (status, source) = get(&app, &format!("/api/v1/statuses/{id}/source"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(source["text"], "Morning\n\nTea by the #river");
    assert_eq!(source["spoiler_text"], "");

    let (status, edited) = put_status(
        &app,
        &token,
        &id,
        &[("status", "Morning\n\nCoffee by the #river")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert!(edited["content"]
        .as_str()
        .is_some_and(|c| c.contains("<p>Coffee by the ")));
    // Natively the title stayed and the content changed, with the earlier text kept.
    let native: Value = app
        .get(&format!("/api/posts/{id}"), None)
        .await
        .json()
        .await
        .expect("post");
    assert_eq!(
        (native["title"].as_str(), native["content"].as_str()),
        (Some("Morning"), Some("Coffee by the #river"))
    );

    let (status, edited) = put_status(&app, &token, &id, &[("status", "Evening wine")]).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let (status, history) = get(&app, &format!("/api/v1/statuses/{id}/history"), None).await;
    assert_eq!(status, StatusCode::OK);
    let versions = history.as_array().expect("versions");
    let contents: Vec<&str> = versions
        .iter()
        .map(|v| v["content"].as_str().expect("content"))
        .collect();
    assert_eq!(contents.len(), 3, "{history}");
    assert!(contents[0].starts_with("<p>Morning</p><p>Tea by the "));
    assert!(contents[1].starts_with("<p>Morning</p><p>Coffee by the "));
    assert_eq!(contents[2], "<p>Evening wine</p>");
    assert_eq!(versions[0]["created_at"], post["created_at"]);
    assert!(versions
        .windows(2)
        .all(|w| w[0]["created_at"].as_str() <= w[1]["created_at"].as_str()));
    assert_eq!(versions[2]["account"]["username"], "eda");

    // Someone else may read it but not edit it; bad ids and unsupported fields are clear.
    let (status, body) = put_status(&app, &other, &id, &[("status", "mine now")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].is_string());
    // Whatever they send: the 403 comes before the fields are checked.
    let bad = [("status", "mine now"), ("media_ids[]", "not-an-id")];
    let (status, body) = put_status(&app, &other, &id, &bad).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = put_status(
        &app,
        &token,
        &id,
        &[("status", "x"), ("spoiler_text", "careful")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = put_status(&app, &token, &id, &[("status", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) =
        put_status(&app, &token, "000000000000000000000000", &[("status", "x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, reader, _, _) = mastodon_token(&app, "gus", "read").await;
    let (status, _) = put_status(&app, &reader, &id, &[("status", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a read-only token");

    // A reply (a comment) is edited too; its history is its one version.
    let (status, reply) =
        post_status(&app, &other, &[("status", "nice"), ("in_reply_to_id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let reply_id = reply["id"].as_str().expect("id").to_owned();
    let (status, body) = put_status(&app, &token, &reply_id, &[("status", "not yours")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, edited) = put_status(&app, &other, &reply_id, &[("status", "very nice")]).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["content"], "<p>very nice</p>");
    assert_eq!(edited["in_reply_to_id"], id.as_str());
    let (status, history) = get(&app, &format!("/api/v1/statuses/{reply_id}/history"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history.as_array().map(Vec::len), Some(1));
    let (_, source) = get(&app, &format!("/api/v1/statuses/{reply_id}/source"), None).await;
    assert_eq!(source["text"], "very nice");
}

#[tokio::test]
async fn an_edit_changes_the_files_and_rekeys_the_removed_one() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "hal", "read write").await;
    let (status, media) = upload(&app, &token, crate::media::png(32, 32, 0), None).await;
    assert_eq!(status, StatusCode::OK, "{media}");
    let media_id = media["id"].as_str().expect("id").to_owned();
    let (status, posted) = post_status(
        &app,
        &token,
        &[("status", "a picture"), ("media_ids[]", &media_id)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{posted}");
    let id = posted["id"].as_str().expect("id").to_owned();
    let old_url = posted["media_attachments"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned();

    // The same files sent back keep them; none sent leaves none, as on Mastodon.
    let (status, kept) = put_status(
        &app,
        &token,
        &id,
        &[("status", "still a picture"), ("media_ids[]", &media_id)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["media_attachments"][0]["id"], media_id.as_str());
    let (status, bare) = put_status(&app, &token, &id, &[("status", "no picture")]).await;
    assert_eq!(status, StatusCode::OK, "{bare}");
    assert_eq!(bare["media_attachments"], json!([]));
    let path = &url::Url::parse(&old_url).expect("url")[url::Position::BeforePath..];
    let gone = app.get(path, None).await;
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "the URL handed out with the post no longer loads"
    );
}

#[tokio::test]
async fn profile_extras_answer_empty_for_visible_accounts() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "ivy", "read").await;
    let other = app.create_user("jon").await;
    let blocked = app
        .post("/api/users/ivy/block", Some(&other.access), &json!({}))
        .await;
    assert!(blocked.status().is_success());

    let (status, tags) = get(
        &app,
        &format!("/api/v1/accounts/{}/featured_tags", me.id),
        None,
    )
    .await;
    assert_eq!((status, tags), (StatusCode::OK, json!([])));
    for hidden in [other.id.as_str(), "000000000000000000000000", "nope"] {
        let (status, _) = get(
            &app,
            &format!("/api/v1/accounts/{hidden}/featured_tags"),
            Some(&token),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{hidden}");
    }

    let (status, familiar) = get(
        &app,
        &format!(
            "/api/v1/accounts/familiar_followers?id[]={}&id[]=nope",
            other.id
        ),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(familiar, json!([{ "id": other.id, "accounts": [] }]));
    let (status, _) = get(&app, "/api/v1/accounts/familiar_followers", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn favourited_by_pages_the_likers_the_caller_may_see() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "hal", "read").await;
    let (_, write_only, _, _) = mastodon_token(&app, "hex", "write").await;
    let ida = app.create_user("ida").await;
    let post = created(&app, &ida, "/api/posts", json!({ "content": "like me" })).await;
    let id = post["id"].as_str().expect("id").to_owned();
    let mut likers = Vec::new();
    for name in ["kim", "lea", "max"] {
        let user = app.create_user(name).await;
        let liked = app
            .post(
                &format!("/api/posts/{id}/like"),
                Some(&user.access),
                &json!({}),
            )
            .await;
        assert!(liked.status().is_success(), "{name} likes");
        likers.push(user);
    }
    let reply = created(
        &app,
        &ida,
        &format!("/api/posts/{id}/comments"),
        json!({ "content": "a reply" }),
    )
    .await;

    // Newest first, two a page, the next page through `Link`.
    let response = app
        .get(
            &format!("/api/v1/statuses/{id}/favourited_by?limit=2"),
            Some(&token),
        )
        .await;
    let link = response
        .headers()
        .get("link")
        .map(|l| l.to_str().expect("ascii").to_owned());
    let (status, first) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let names = |page: &Value| -> Vec<String> {
        page.as_array()
            .expect("accounts")
            .iter()
            .map(|a| a["username"].as_str().expect("username").to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["max", "lea"]);
    let next = link_path(&link.expect("a Link header"), "next").expect("a next link");
    let (status, second) = get(&app, &next, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(names(&second), ["kim"]);

    // One who blocked the caller is not shown to them; anonymous readers see everyone.
    let blocked = app
        .post("/api/users/hal/block", Some(&likers[1].access), &json!({}))
        .await;
    assert!(blocked.status().is_success());
    let (_, page) = get(
        &app,
        &format!("/api/v1/statuses/{id}/favourited_by"),
        Some(&token),
    )
    .await;
    assert_eq!(names(&page), ["max", "kim"]);
    let (_, page) = get(&app, &format!("/api/v1/statuses/{id}/favourited_by"), None).await;
    assert_eq!(names(&page), ["max", "lea", "kim"]);

    // A reply has nobody; unknown ids are 404; the scope is read:statuses.
    let reply_id = reply["id"].as_str().expect("id");
    let (status, page) = get(
        &app,
        &format!("/api/v1/statuses/{reply_id}/favourited_by"),
        None,
    )
    .await;
    assert_eq!((status, page), (StatusCode::OK, json!([])));
    for unknown in ["000000000000000000000000", "nope"] {
        let (status, body) = get(
            &app,
            &format!("/api/v1/statuses/{unknown}/favourited_by"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(body["error"].is_string(), "{body}");
    }
    let (status, _) = get(
        &app,
        &format!("/api/v1/statuses/{id}/favourited_by"),
        Some(&write_only),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get(
        &app,
        &format!("/api/v1/statuses/{id}/favourited_by?limit=many"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
