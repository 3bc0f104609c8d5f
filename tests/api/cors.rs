//! CORS: browser apps on another origin, per `server.cors_allowed_origins`.

use reqwest::{Method, StatusCode};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

const APP_ORIGIN: &str = "http://localhost:5173";

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.request(Method::OPTIONS, path)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .expect("preflight sent")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn listed(response: &reqwest::Response, name: &str) -> Vec<String> {
    header(response, name)
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

#[tokio::test]
async fn with_no_origin_configured_no_cors_headers_are_sent() {
    let app = spawn_app().await;
    let response = preflight(&app, "/api/posts", APP_ORIGIN).await;
    assert!(!response.status().is_success(), "{}", response.status());
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    let response = app
        .request(Method::GET, "/health")
        .header("Origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn any_origin_gets_a_cached_preflight_and_readable_headers() {
    let app = spawn_app_with(|s| {
        s.server.cors_allowed_origins = "*".into();
        s.rate_limit.enabled = true;
    })
    .await;
    let response = preflight(&app, "/api/posts", APP_ORIGIN).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&response, "access-control-max-age"), Some("3600"));
    let allowed = listed(&response, "access-control-allow-headers");
    for name in ["authorization", "content-type", "idempotency-key"] {
        assert!(allowed.contains(&name.to_owned()), "{name} in {allowed:?}");
    }
    assert!(listed(&response, "access-control-allow-methods").contains(&"post".to_owned()));

    // The real request: its rate-limit and paging headers are readable by the app.
    let user = app.create_user("corsy").await;
    let response = app
        .request(Method::POST, "/api/posts")
        .header("Origin", APP_ORIGIN)
        .bearer_auth(&user.access)
        .json(&serde_json::json!({ "content": "from a browser" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    let exposed = listed(&response, "access-control-expose-headers");
    for name in [
        "ratelimit-remaining",
        "retry-after",
        "link",
        "idempotent-replayed",
    ] {
        assert!(exposed.contains(&name.to_owned()), "{name} in {exposed:?}");
    }
    // The login answers with its limit, which the app can now read.
    let response = app
        .request(Method::POST, "/api/auth/login")
        .header("Origin", APP_ORIGIN)
        .json(&serde_json::json!({ "login": "corsy", "password": "not-the-password-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert!(header(&response, "ratelimit-remaining").is_some());
}

#[tokio::test]
async fn a_listed_origin_is_allowed_and_another_is_not() {
    let app = spawn_app_with(|s| {
        s.server.cors_allowed_origins = "https://app.example.com, http://localhost:5173".into()
    })
    .await;
    let response = preflight(&app, "/api/auth/login", APP_ORIGIN).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    assert!(listed(&response, "vary").contains(&"origin".to_owned()));

    let response = preflight(&app, "/api/auth/login", "https://evil.example.net").await;
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    let response = app
        .request(Method::GET, "/health")
        .header("Origin", "https://evil.example.net")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}
