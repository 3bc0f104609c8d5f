//! API.md §1 conventions and §9 operations.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, host_port_of, spawn_app, spawn_app_on, test_mongodb_uri, TcpProxy,
};

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/health", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "status": "ok" })
    );
}

#[tokio::test]
async fn ready_follows_the_database_and_requests_fail_fast_without_it() {
    let proxy = TcpProxy::start(host_port_of(&test_mongodb_uri())).await;
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", proxy.port);
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    let app = spawn_app_on(&uri, &database, |s| s.database.timeout_secs = 1).await;
    assert_eq!(app.get("/ready", None).await.status(), StatusCode::OK);

    proxy.cut();
    let response = app.get("/ready", None).await;
    assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    let login = app
        .post(
            "/api/auth/login",
            None,
            &json!({ "login": "x", "password": "whatever-1" }),
        )
        .await;
    let body = assert_error(
        login,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no driver detail leaks: {body}"
    );
    assert_eq!(
        app.get("/health", None).await.status(),
        StatusCode::OK,
        "the process still runs"
    );

    proxy.reopen();
    assert_eq!(
        app.get("/ready", None).await.status(),
        StatusCode::OK,
        "recovers by itself"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let generated = app.get("/health", None).await;
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36);
    let echoed = app
        .request(Method::GET, "/api/nothing")
        .header("X-Request-Id", "client-id-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "client-id-123");
    let hostile = app
        .request(Method::GET, "/health")
        .header("X-Request-Id", "a b\tc")
        .send()
        .await
        .unwrap();
    assert_ne!(hostile.headers()["x-request-id"], "a b\tc");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let app = spawn_app().await;
    assert_error(
        app.get("/api/nothing/here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let wrong = app
        .request(Method::DELETE, "/api/auth/login")
        .send()
        .await
        .unwrap();
    assert_error(wrong, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn bad_bodies_are_clean_400s_and_big_ones_413s() {
    let app = spawn_app().await;
    let raw = |body: &'static str| {
        app.request(Method::POST, "/api/auth/login")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    assert_error(
        raw("").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_error(
        raw("{\"login\": ").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    let operator = raw(r#"{"username": {"$gt": ""}, "password": {"$ne": null}}"#)
        .await
        .unwrap();
    let body = assert_error(operator, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"].is_object());

    let huge = format!("{{\"login\": \"{}\"}}", "x".repeat(1024 * 1024));
    let response = app
        .request(Method::POST, "/api/auth/login")
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn a_database_surprise_is_a_500_without_internals() {
    let app = spawn_app().await;
    let user = app.create_user("odd").await;
    // A document the service cannot read: the kind of fault a bad migration leaves.
    app.db
        .database()
        .collection::<bson::Document>("users")
        .update_one(
            bson::doc! { "username_key": "odd" },
            bson::doc! { "$set": { "username": 12345 } },
        )
        .await
        .unwrap();
    let response = app.get(&format!("/api/users/{}", user.id), None).await;
    let body = assert_error(
        response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    )
    .await;
    let text = body.to_string();
    assert!(
        !text.contains("username") && !text.contains("invalid type"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_database_commands() {
    let app = spawn_app().await;
    let user = app.create_user("metered").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&user.access),
            &json!({ "content": "count me" }),
        )
        .await
        .json()
        .await
        .unwrap();
    for _ in 0..3 {
        app.get(
            &format!("/api/posts/{}", post["id"].as_str().unwrap()),
            None,
        )
        .await;
    }
    app.get("/api/posts/ffffffffffffffffffffffff", None).await;
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for expected in [
        "rookery_http_requests_total{method=\"GET\",route=\"/api/posts/{id}\",status=\"200\"} 3",
        "rookery_http_requests_total{method=\"GET\",route=\"/api/posts/{id}\",status=\"404\"} 1",
        "rookery_http_requests_total{method=\"POST\",route=\"/api/posts\",status=\"201\"} 1",
        "rookery_http_request_duration_seconds_count{method=\"GET\",route=\"/api/posts/{id}\",status=\"200\"} 3",
        "# TYPE rookery_db_commands_total counter",
        "rookery_db_commands_total{command=\"insert\",outcome=\"ok\"}",
        "rookery_db_command_duration_seconds_bucket{command=\"find\",outcome=\"ok\",le=\"+Inf\"}",
    ] {
        assert!(text.contains(expected), "missing {expected}");
    }
    assert!(
        !text.contains("ffffffffffffffffffffffff"),
        "routes are patterns, not raw paths"
    );
}

/// `Db` gives each thread its own driver client (so an actix worker's commands stay on its
/// thread): one made on a thread with another runtime works, and a thread outside any
/// runtime gets the shared one instead of a panic.
#[tokio::test]
async fn a_db_handle_serves_threads_with_their_own_runtime_and_without_one() {
    let app = spawn_app().await;
    app.create_user("threaded").await;
    let db = app.db.clone();
    let seen = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            rookery::store::users::collection(&db)
                .count_documents(bson::doc! { "username": "threaded" })
                .await
        })
    })
    .join()
    .expect("the thread ran");
    assert_eq!(seen.expect("the count"), 1);

    let db = app.db.clone();
    let name = std::thread::spawn(move || db.database().name().to_owned())
        .join()
        .expect("no panic outside a runtime");
    assert_eq!(name, app.database_name);
    // The handle still works on the test's own thread afterwards.
    let here = rookery::store::users::collection(&app.db)
        .count_documents(bson::doc! { "username": "threaded" })
        .await
        .expect("the count");
    assert_eq!(here, 1);
}
