//! `Idempotency-Key` on posts, comments and uploads (issue 10): a retry returns the first
//! answer and creates nothing new; the key with another request is a 422.

use futures::future::join_all;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, TestUser};

async fn send_with_key(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    key: &str,
    body: &Value,
) -> Response {
    app.request(Method::POST, path)
        .bearer_auth(&user.access)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn posts_count(app: &TestApp, username: &str) -> i64 {
    // The count moves in the post's publication job.
    app.settle().await;
    let user: Value = app
        .get(&format!("/api/users/{username}"), None)
        .await
        .json()
        .await
        .unwrap();
    user["posts_count"].as_i64().unwrap()
}

#[tokio::test]
async fn a_retried_post_returns_the_first_answer_and_creates_one_post() {
    let app = spawn_app().await;
    let author = app.create_user("retrier").await;
    let body = json!({ "content": "only once #please" });

    let first = send_with_key(&app, &author, "/api/posts", "key-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = send_with_key(&app, &author, "/api/posts", "key-1", &body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(posts_count(&app, "retrier").await, 1);

    let other_body = json!({ "content": "something else" });
    let reused = send_with_key(&app, &author, "/api/posts", "key-1", &other_body).await;
    assert_error(
        reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(posts_count(&app, "retrier").await, 1);

    // Keys are per user; a new key is a new post.
    let someone = app.create_user("someone").await;
    let theirs = send_with_key(&app, &someone, "/api/posts", "key-1", &body).await;
    assert_eq!(theirs.status(), StatusCode::CREATED);
    assert_ne!(theirs.json::<Value>().await.unwrap()["id"], first["id"]);
    let fresh = send_with_key(&app, &author, "/api/posts", "key-2", &body).await;
    assert_eq!(fresh.status(), StatusCode::CREATED);
    assert_eq!(posts_count(&app, "retrier").await, 2);
}

#[tokio::test]
async fn a_request_that_failed_leaves_its_key_free_for_the_corrected_retry() {
    let app = spawn_app().await;
    let author = app.create_user("fixer").await;
    let blank = send_with_key(&app, &author, "/api/posts", "k", &json!({ "content": " " })).await;
    assert_error(blank, StatusCode::BAD_REQUEST, "validation_error").await;
    let fixed = send_with_key(
        &app,
        &author,
        "/api/posts",
        "k",
        &json!({ "content": "ok" }),
    )
    .await;
    assert_eq!(fixed.status(), StatusCode::CREATED);
    assert_eq!(posts_count(&app, "fixer").await, 1);
}

#[tokio::test]
async fn concurrent_retries_create_one_post() {
    let app = spawn_app().await;
    let author = app.create_user("hasty").await;
    let body = json!({ "content": "tap tap tap" });
    let responses =
        join_all((0..6).map(|_| send_with_key(&app, &author, "/api/posts", "same-tap", &body)))
            .await;
    let mut ids = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::CREATED => ids.push(response.json::<Value>().await.unwrap()["id"].clone()),
            StatusCode::CONFLICT => {
                assert_error(response, StatusCode::CONFLICT, "idempotency_key_in_use").await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(posts_count(&app, "hasty").await, 1);
}

#[tokio::test]
async fn comments_and_uploads_honour_the_key_too() {
    let app = spawn_app().await;
    let author = app.create_user("keyed").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "p" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = post["id"].as_str().unwrap();
    let path = format!("/api/posts/{id}/comments");
    let body = json!({ "content": "once" });
    let first: Value = send_with_key(&app, &author, &path, "c1", &body)
        .await
        .json()
        .await
        .unwrap();
    let again: Value = send_with_key(&app, &author, &path, "c1", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first, again);
    let comments: Value = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(comments["results"].as_array().map(Vec::len), Some(1));
    app.settle().await;
    let post: Value = app
        .get(&format!("/api/posts/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(post["comment_count"], 1);

    // Each attempt of a multipart upload has its own boundary: still the same request.
    let gif = crate::media::gif(2, 3);
    let upload = |bytes: Vec<u8>| {
        let part = Part::bytes(bytes)
            .file_name("a.gif")
            .mime_str("image/gif")
            .unwrap();
        app.request(Method::POST, "/api/media")
            .bearer_auth(&author.access)
            .header("Idempotency-Key", "u1")
            .multipart(Form::new().part("file", part))
            .send()
    };
    let first = upload(gif.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = upload(gif.clone()).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let files = app
        .db
        .database()
        .collection::<bson::Document>("media.files")
        .count_documents(bson::doc! {})
        .await
        .unwrap();
    assert_eq!(files, 1);
    let mut other = gif;
    other[6] = 9;
    let reused = upload(other).await.unwrap();
    assert_error(
        reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
}

#[tokio::test]
async fn a_malformed_key_is_a_validation_error_naming_the_header() {
    let app = spawn_app().await;
    let author = app.create_user("badkey").await;
    let response = send_with_key(
        &app,
        &author,
        "/api/posts",
        "has space",
        &json!({ "content": "x" }),
    )
    .await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["Idempotency-Key"].is_array(), "{body}");
    assert_eq!(posts_count(&app, "badkey").await, 0);
}
