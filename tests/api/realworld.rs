//! The RealWorld (Conduit) API under `/realworld/api`: every endpoint over HTTP, its
//! shapes, and that it shares data and rules with the native API.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, PASSWORD};

const API: &str = "/realworld/api";

/// A RealWorld call: `Authorization: Token …` when a token is given.
async fn rw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.request(method, &format!("{API}{path}"));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Token {token}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let text = response.text().await.expect("body read");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    rw(app, Method::GET, path, token, None).await
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    rw(app, Method::POST, path, token, Some(body)).await
}

async fn open_app() -> TestApp {
    spawn_app_with(|s| s.auth.require_email_verification = false).await
}

/// Registers through the RealWorld API and returns the token.
async fn sign_up(app: &TestApp, username: &str) -> String {
    let (status, body) = post(
        app,
        "/users",
        None,
        json!({ "user": { "username": username, "email": format!("{username}@example.com"), "password": PASSWORD } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["user"]["token"].as_str().expect("a token").to_owned()
}

async fn publish(app: &TestApp, token: &str, title: &str, tags: Value) -> Value {
    let (status, body) = post(
        app,
        "/articles",
        Some(token),
        json!({ "article": { "title": title, "description": "About it", "body": "The body.", "tagList": tags } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["article"].clone()
}

fn post_id(slug: &str) -> String {
    slug.rsplit('-').next().expect("an id").to_owned()
}

fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("a RealWorld error: {body}"))
        .keys()
        .cloned()
        .collect()
}

fn is_timestamp(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    // What the RealWorld suite checks: seconds with a fraction, then Z or an offset.
    text.len() >= 24 && text.as_bytes()[19] == b'.' && text.ends_with('Z')
}

#[tokio::test]
async fn register_log_in_read_and_update_the_user() {
    let app = open_app().await;
    let (status, body) = post(
        &app,
        "/users",
        None,
        json!({ "user": { "username": "jake", "email": "jake@example.com", "password": PASSWORD } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = &body["user"];
    assert_eq!(user["username"], "jake");
    assert_eq!(user["email"], "jake@example.com");
    assert!(user.get("bio").is_some_and(Value::is_null), "{user}");
    assert!(user.get("image").is_some_and(Value::is_null), "{user}");
    let first = user["token"].as_str().unwrap().to_owned();

    // A RealWorld token lives as long as a session, not 15 minutes.
    let claims: Value = {
        use base64::Engine;
        let payload = first.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, app.settings.auth.refresh_token_ttl_secs);

    let (status, body) = post(
        &app,
        "/users/login",
        None,
        json!({ "user": { "email": "JAKE@example.com", "password": PASSWORD } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["user"]["token"].as_str().unwrap().to_owned();

    let (status, body) = get(&app, "/user", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["token"], token.as_str());
    // `Bearer` works too, and the token works on the native API.
    let native = app.get("/api/users/me", Some(&token)).await;
    assert_eq!(native.status(), StatusCode::OK);

    let (status, body) = rw(
        &app,
        Method::PUT,
        "/user",
        Some(&token),
        Some(json!({ "user": { "bio": "I work at statefarm", "image": "https://img.example.com/jake.png", "username": "jacob" } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["bio"], "I work at statefarm");
    assert_eq!(body["user"]["image"], "https://img.example.com/jake.png");
    assert_eq!(body["user"]["username"], "jacob");
    let native: Value = app
        .get("/api/users/jacob", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(native["bio"], "I work at statefarm", "{native}");

    // A new password signs out the other sessions, not this one.
    let (status, body) = rw(
        &app,
        Method::PUT,
        "/user",
        Some(&token),
        Some(json!({ "user": { "password": "another-Secret-42" } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(get(&app, "/user", Some(&token)).await.0, StatusCode::OK);
    let (status, body) = get(&app, "/user", Some(&first)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_fields(&body), vec!["body"]);
    let (status, body) = post(
        &app,
        "/users/login",
        None,
        json!({ "user": { "email": "jake@example.com", "password": PASSWORD } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_fields(&body), vec!["email or password"]);

    // Logging out through the native API ends the RealWorld session.
    let out = app
        .request(Method::POST, "/api/auth/logout")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, "/user", Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bad_account_input_is_a_422_naming_each_field() {
    let app = open_app().await;
    sign_up(&app, "taken").await;
    let (status, body) = post(&app, "/users", None, json!({ "username": "flat" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), vec!["user"]);
    let (status, body) = post(
        &app,
        "/users",
        None,
        json!({ "user": { "username": "Taken", "email": "nope", "password": "12345678" } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), vec!["email", "password", "username"]);
    let (status, body) = post(&app, "/users/login", None, json!({ "user": {} })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), vec!["email", "password"]);
    let response = app
        .request(Method::POST, &format!("{API}/users/login"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_fields(&body), vec!["body"]);
    let token = sign_up(&app, "updater").await;
    let (status, body) = rw(
        &app,
        Method::PUT,
        "/user",
        Some(&token),
        Some(json!({ "user": { "email": "taken@example.com", "image": "javascript:alert(1)" } })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), vec!["email", "image"]);
    let (status, body) = get(&app, "/user", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_fields(&body), vec!["body"]);
}

#[tokio::test]
async fn with_verification_required_registration_gives_no_token_until_the_link_is_opened() {
    let app = spawn_app().await;
    let (status, body) = post(
        &app,
        "/users",
        None,
        json!({ "user": { "username": "vera", "email": "vera@example.com", "password": PASSWORD } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["user"]["token"].is_null(), "{body}");
    let login = json!({ "user": { "email": "vera@example.com", "password": PASSWORD } });
    let (status, body) = post(&app, "/users/login", None, login.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_fields(&body), vec!["body"]);
    app.verify_email_of("vera@example.com").await;
    let (status, body) = post(&app, "/users/login", None, login).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_article_is_a_post_through_both_apis() {
    let app = open_app().await;
    let author = sign_up(&app, "author").await;
    let other = sign_up(&app, "other").await;
    let article = publish(
        &app,
        &author,
        "How to train your dragon",
        json!(["training", "Dragons", "training"]),
    )
    .await;
    let slug = article["slug"].as_str().unwrap().to_owned();
    assert!(slug.starts_with("how-to-train-your-dragon-"), "{slug}");
    assert_eq!(article["tagList"], json!(["dragons", "training"]));
    assert_eq!(article["description"], "About it");
    assert_eq!(article["body"], "The body.");
    assert_eq!(article["favorited"], false);
    assert_eq!(article["favoritesCount"], 0);
    assert_eq!(article["author"]["username"], "author");
    assert_eq!(article["author"]["following"], false);
    assert!(
        is_timestamp(&article["createdAt"]) && is_timestamp(&article["updatedAt"]),
        "{article}"
    );

    // The native API shows the same post, its tags as hashtags.
    let id = post_id(&slug);
    let native: Value = app
        .get(&format!("/api/posts/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(native["title"], "How to train your dragon");
    assert_eq!(native["content"], "The body.");
    assert_eq!(native["hashtags"], json!(["training", "dragons"]));
    // And a native post is an article, its #tags its tagList.
    let response = app
        .post(
            "/api/posts",
            Some(&other),
            &json!({ "title": "Native", "content": "Hello #world" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let native_post: Value = response.json().await.unwrap();
    let native_slug = native_post["id"].as_str().unwrap();
    let (status, body) = get(&app, &format!("/articles/{native_slug}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["article"]["tagList"], json!(["world"]));
    assert_eq!(body["article"]["description"], "");

    let (status, body) = get(&app, &format!("/articles/{slug}"), Some(&other)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["article"]["body"], "The body.");

    let change = json!({ "article": { "body": "With two hands", "title": "Dragons, trained" } });
    let (status, body) = rw(
        &app,
        Method::PUT,
        &format!("/articles/{slug}"),
        Some(&other),
        Some(change.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_fields(&body), vec!["body"]);
    // Others get the 403 whatever they send, invalid fields included.
    let invalid = json!({ "article": { "title": "t".repeat(300) } });
    let (status, body) = rw(
        &app,
        Method::PUT,
        &format!("/articles/{slug}"),
        Some(&other),
        Some(invalid),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = rw(
        &app,
        Method::PUT,
        &format!("/articles/{slug}"),
        Some(&author),
        Some(change),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["article"]["body"], "With two hands");
    assert_eq!(body["article"]["description"], "About it");
    assert_eq!(body["article"]["tagList"], json!(["dragons", "training"]));
    let new_slug = body["article"]["slug"].as_str().unwrap().to_owned();
    assert!(new_slug.starts_with("dragons-trained-"), "{new_slug}");
    assert_ne!(body["article"]["updatedAt"], article["updatedAt"]);
    // The old slug still names it.
    assert_eq!(
        get(&app, &format!("/articles/{slug}"), None).await.0,
        StatusCode::OK
    );

    let (status, body) = rw(
        &app,
        Method::DELETE,
        &format!("/articles/{slug}"),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = rw(
        &app,
        Method::DELETE,
        &format!("/articles/{new_slug}"),
        Some(&author),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = get(&app, &format!("/articles/{slug}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_fields(&body), vec!["body"]);
    assert_eq!(
        app.get(&format!("/api/posts/{id}"), None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/articles/not-a-slug", None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_article_input_is_a_422_naming_each_field() {
    let app = open_app().await;
    let token = sign_up(&app, "writer").await;
    let (status, body) = post(
        &app,
        "/articles",
        Some(&token),
        json!({ "article": { "title": " " } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), vec!["body", "description", "title"]);
    let tags: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let (status, body) = post(
        &app,
        "/articles",
        Some(&token),
        json!({ "article": { "title": "T", "description": "D", "body": "B", "tagList": tags } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), vec!["tagList"]);
    let (status, _) = post(&app, "/articles", None, json!({ "article": {} })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let article = publish(&app, &token, "Kept", json!([])).await;
    let slug = article["slug"].as_str().unwrap();
    let (status, body) = rw(
        &app,
        Method::PUT,
        &format!("/articles/{slug}"),
        Some(&token),
        Some(json!({ "article": { "body": "" } })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), vec!["body"]);
}

#[tokio::test]
async fn lists_filter_by_tag_author_and_favorited_and_page_by_offset() {
    let app = open_app().await;
    let author = sign_up(&app, "prolific").await;
    let fan = sign_up(&app, "fan").await;
    let mut slugs = Vec::new();
    for i in 0..5 {
        let tags = if i % 2 == 0 {
            json!(["even"])
        } else {
            json!(["odd"])
        };
        slugs.push(
            publish(&app, &author, &format!("Article {i}"), tags).await["slug"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let newest_first: Vec<String> = slugs.iter().rev().cloned().collect();

    let (status, body) = get(&app, "/articles?author=prolific&limit=2&offset=1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["articlesCount"], 5);
    let page: Vec<&str> = body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        page,
        vec![newest_first[1].as_str(), newest_first[2].as_str()]
    );
    assert!(
        body["articles"][0].get("body").is_none(),
        "lists leave the body out"
    );

    let (_, body) = get(&app, "/articles?tag=even", None).await;
    assert_eq!(body["articlesCount"], 3);
    assert!(body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["tagList"] == json!(["even"])));
    let (_, body) = get(&app, "/articles?author=nobody-here", None).await;
    assert_eq!(body, json!({ "articles": [], "articlesCount": 0 }));

    for slug in [&slugs[0], &slugs[3]] {
        let (status, body) = post(
            &app,
            &format!("/articles/{slug}/favorite"),
            Some(&fan),
            json!({}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The fan sees their favourites counted at once, except while a worker is writing
    // them (a few milliseconds); here, once they are written.
    app.settle().await;
    let (_, body) = get(&app, "/articles?favorited=fan", Some(&fan)).await;
    assert_eq!(body["articlesCount"], 2);
    let favs: Vec<&str> = body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        favs,
        vec![slugs[3].as_str(), slugs[0].as_str()],
        "most recently favourited first"
    );
    assert!(body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["favorited"] == true && a["favoritesCount"] == 1));
    let (_, body) = get(&app, "/articles?favorited=fan&tag=odd", None).await;
    assert_eq!(body["articles"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["articles"][0]["favorited"], false,
        "anonymous readers favourite nothing"
    );

    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "offset=-1",
        "offset=10001",
    ] {
        let (status, body) = get(&app, &format!("/articles?{bad}"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(
            error_fields(&body),
            vec![bad.split('=').next().unwrap().to_owned()]
        );
    }
    let (status, _) = get(&app, "/articles/feed?offset=1001", Some(&fan)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, body) = get(&app, "/tags", None).await;
    assert_eq!(status, StatusCode::OK);
    let tags = body["tags"].as_array().unwrap();
    assert_eq!(tags[0], "even", "the most used tag first: {body}");
    assert!(tags.contains(&json!("odd")));
}

#[tokio::test]
async fn favourites_are_likes() {
    let app = open_app().await;
    let author = sign_up(&app, "liked").await;
    let fan = sign_up(&app, "liker").await;
    let slug = publish(&app, &author, "Like me", json!([])).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = post(
        &app,
        &format!("/articles/{slug}/favorite"),
        Some(&fan),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["article"]["favorited"], true);
    assert_eq!(body["article"]["favoritesCount"], 1);
    // Again: still one.
    let (_, body) = post(
        &app,
        &format!("/articles/{slug}/favorite"),
        Some(&fan),
        json!({}),
    )
    .await;
    assert_eq!(body["article"]["favoritesCount"], 1);
    app.settle().await;
    let native: Value = app
        .get(&format!("/api/posts/{}", post_id(&slug)), Some(&fan))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(native["like_count"], 1);
    assert_eq!(native["liked_by_me"], true);
    app.settle().await;
    let notes: Value = app
        .get("/api/notifications", Some(&author))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        notes["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "like"),
        "{notes}"
    );

    let (status, body) = rw(
        &app,
        Method::DELETE,
        &format!("/articles/{slug}/favorite"),
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["article"]["favorited"], false);
    assert_eq!(body["article"]["favoritesCount"], 0);
    let (status, _) = post(&app, &format!("/articles/{slug}/favorite"), None, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn comments_are_listed_written_and_deleted_by_those_allowed() {
    let app = open_app().await;
    let author = sign_up(&app, "host").await;
    let guest = sign_up(&app, "guest").await;
    let stranger = sign_up(&app, "stranger").await;
    let slug = publish(&app, &author, "Talk", json!([])).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_slug = publish(&app, &author, "Elsewhere", json!([])).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = post(
        &app,
        &format!("/articles/{slug}/comments"),
        Some(&guest),
        json!({ "comment": { "body": "Thank you so much!" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let comment = &body["comment"];
    assert_eq!(comment["body"], "Thank you so much!");
    assert_eq!(comment["author"]["username"], "guest");
    assert!(is_timestamp(&comment["createdAt"]));
    let id = comment["id"].as_str().unwrap().to_owned();

    let (status, body) = get(&app, &format!("/articles/{slug}/comments"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["comments"].as_array().unwrap().len(), 1);
    assert_eq!(body["comments"][0]["id"], id.as_str());
    app.settle().await;
    let native: Value = app
        .get(&format!("/api/posts/{}", post_id(&slug)), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(native["comment_count"], 1);

    let (status, body) = post(
        &app,
        &format!("/articles/{slug}/comments"),
        Some(&guest),
        json!({ "comment": { "body": "  " } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), vec!["body"]);

    let path = format!("/articles/{slug}/comments/{id}");
    assert_eq!(
        rw(&app, Method::DELETE, &path, Some(&stranger), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let elsewhere = format!("/articles/{other_slug}/comments/{id}");
    assert_eq!(
        rw(&app, Method::DELETE, &elsewhere, Some(&guest), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        rw(&app, Method::DELETE, &path, Some(&guest), None).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, body) = get(&app, &format!("/articles/{slug}/comments"), Some(&author)).await;
    assert_eq!(body["comments"], json!([]));
}

#[tokio::test]
async fn profiles_follows_and_the_feed() {
    let app = open_app().await;
    let celeb = sign_up(&app, "celeb").await;
    let reader = sign_up(&app, "reader").await;
    let slug = publish(&app, &celeb, "Celebrity news", json!(["news"])).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, body) = get(&app, "/profiles/celeb", Some(&reader)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "profile": { "username": "celeb", "bio": null, "image": null, "following": false } })
    );
    let (status, body) = post(&app, "/profiles/celeb/follow", Some(&reader), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["profile"]["following"], true);
    assert_eq!(
        get(&app, "/profiles/celeb", Some(&reader)).await.1["profile"]["following"],
        true
    );
    assert_eq!(
        get(&app, "/profiles/celeb", None).await.1["profile"]["following"],
        false
    );

    app.settle().await;
    let (status, body) = get(&app, "/articles/feed", Some(&reader)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["articlesCount"], 1);
    assert_eq!(body["articles"][0]["slug"], slug.as_str());
    assert_eq!(body["articles"][0]["author"]["following"], true);
    let (_, body) = get(&app, "/articles/feed?offset=1", Some(&reader)).await;
    assert_eq!(body["articles"], json!([]));
    assert_eq!(
        get(&app, "/articles/feed", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, body) = rw(
        &app,
        Method::DELETE,
        "/profiles/celeb/follow",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["profile"]["following"], false);
    let (status, body) = post(&app, "/profiles/reader/follow", Some(&reader), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        get(&app, "/profiles/nobody-at-all", None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn blocks_private_groups_and_reports_apply_as_natively() {
    let app = spawn_app_with(|s| {
        s.auth.require_email_verification = false;
        s.moderation.hide_after_reports = 1;
    })
    .await;
    let blocker = sign_up(&app, "blocker").await;
    let blocked = sign_up(&app, "blocked").await;
    let reader = sign_up(&app, "reader2").await;
    let slug = publish(&app, &blocker, "Not for you", json!(["private"])).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .request(Method::POST, "/api/users/blocked/block")
        .bearer_auth(&blocker)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());

    assert_eq!(
        get(&app, "/profiles/blocker", Some(&blocked)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/articles/{slug}"), Some(&blocked))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, body) = get(&app, "/articles?tag=private", Some(&blocked)).await;
    assert_eq!(body["articles"], json!([]));
    assert_eq!(
        post(
            &app,
            &format!("/articles/{slug}/favorite"),
            Some(&blocked),
            json!({})
        )
        .await
        .0,
        StatusCode::FORBIDDEN,
        "a like across a block is refused, as natively"
    );
    assert_eq!(
        post(&app, "/profiles/blocker/follow", Some(&blocked), json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // A private group's post is no article for outsiders.
    let group = app
        .post(
            "/api/groups",
            Some(&blocker),
            &json!({ "name": "Inner circle", "visibility": "private" }),
        )
        .await;
    assert_eq!(group.status(), StatusCode::CREATED);
    let group: Value = group.json().await.unwrap();
    let secret = app
        .post(
            "/api/posts",
            Some(&blocker),
            &json!({ "content": "Members only #private", "group_id": group["id"] }),
        )
        .await;
    assert_eq!(secret.status(), StatusCode::CREATED);
    let secret: Value = secret.json().await.unwrap();
    let secret_id = secret["id"].as_str().unwrap();
    assert_eq!(
        get(&app, &format!("/articles/{secret_id}"), Some(&reader))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, body) = get(&app, "/articles?tag=private", Some(&reader)).await;
    let listed: Vec<&str> = body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![slug.as_str()]);

    // Hidden by a report: out of the lists.
    let report = app
        .post(
            &format!("/api/posts/{}/report", post_id(&slug)),
            Some(&reader),
            &json!({ "reason": "spam" }),
        )
        .await;
    assert!(report.status().is_success(), "{}", report.status());
    let (_, body) = get(&app, "/articles?tag=private", Some(&reader)).await;
    assert_eq!(body["articles"], json!([]));
}

#[tokio::test]
async fn rate_limits_apply_and_errors_keep_their_headers() {
    let app = spawn_app_with(|s| {
        s.auth.require_email_verification = false;
        s.rate_limit.enabled = true;
        s.rate_limit.login.limit = 1;
    })
    .await;
    let body = json!({ "user": { "email": "ghost@example.com", "password": "wrong-password-1" } });
    assert_eq!(
        post(&app, "/users/login", None, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let response = app
        .request(Method::POST, &format!("{API}/users/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_fields(&body), vec!["body"]);
}

/// The unfiltered list's `articlesCount` is the public list's count, taken at most every
/// few seconds (a count reads every listed post on SecantusDB): a second read sends one
/// command fewer than the first, and a count a few seconds old is raised to what the
/// pages have shown, so a new article is never beyond the count.
#[tokio::test]
async fn the_unfiltered_count_is_reused_and_never_below_what_is_shown() {
    let app = open_app().await;
    let token = sign_up(&app, "counted").await;
    for title in ["First", "Second"] {
        publish(&app, &token, title, json!([])).await;
    }
    let commands = |path: &'static str| {
        let app = &app;
        async move {
            let response = app.get(&format!("{API}{path}"), None).await;
            assert_eq!(response.status(), StatusCode::OK);
            let commands = crate::helpers::db_commands(&response);
            let body: Value = response.json().await.expect("a list");
            (commands, body)
        }
    };
    let (first, body) = commands("/articles").await;
    assert_eq!(body["articlesCount"], 2, "{body}");
    let (second, body) = commands("/articles").await;
    assert_eq!(body["articlesCount"], 2, "{body}");
    assert_eq!(second + 1, first, "the second read counts nothing");

    publish(&app, &token, "Third", json!([])).await;
    let (_, body) = commands("/articles").await;
    assert_eq!(body["articles"].as_array().expect("articles").len(), 3);
    assert_eq!(body["articlesCount"], 3, "{body}");
    let (_, body) = commands("/articles?limit=1&offset=2").await;
    assert_eq!(body["articlesCount"], 3, "{body}");
}
