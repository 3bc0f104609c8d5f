//! Hostile input (issue 10): every one is a clean 4xx with API.md's error body, never a
//! query, a 5xx or a hang.

use base64::Engine;
use reqwest::{Method, StatusCode};
use rookery::auth::jwt::Claims;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{assert_error, spawn_app, spawn_app_with, TestApp, TestUser, PASSWORD};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = app
        .request(method, path)
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn operator_objects_in_place_of_strings_are_a_400_never_a_query() {
    let app = spawn_app().await;
    app.create_user("target").await;
    for (path, body) in [
        (
            "/api/auth/login",
            json!({ "username": { "$gt": "" }, "password": { "$ne": null } }),
        ),
        (
            "/api/auth/login",
            json!({ "login": "target", "password": { "$gt": "" } }),
        ),
        (
            "/api/auth/register",
            json!({ "username": "x_y_z", "email": { "$ne": null }, "password": PASSWORD }),
        ),
        (
            "/api/auth/password/forgot",
            json!({ "email": { "$regex": ".*" } }),
        ),
        (
            "/api/auth/verify-email",
            json!({ "token": { "$exists": true } }),
        ),
    ] {
        let response = app.post(path, None, &body).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(body["errors"].is_object(), "{path}: {body}");
    }
    // In a query string the operator is only text.
    let found: Value = app
        .get("/api/users/search?q=%7B%22%24gt%22%3A%22%22%7D", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["results"], json!([]));
    let regex: Value = app
        .get("/api/users/search?q=.*", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(regex["results"], json!([]), "the term is matched literally");
}

#[tokio::test]
async fn malformed_bodies_are_clean_errors() {
    let app = spawn_app().await;
    let user = app.create_user("bodies").await;
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    // Unknown fields are ignored (API.md §1), however deep: skipped without recursion.
    let deep_object = format!(
        r#"{{"content": "x", "extra": {}1{}}}"#,
        r#"{"a": "#.repeat(10_000),
        "}".repeat(10_000)
    );
    let huge = format!(r#"{{"content": "{}"}}"#, "a".repeat(1024 * 1024 + 1));
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            deep_array.into_bytes(),
            StatusCode::BAD_REQUEST,
            "validation_error",
        ),
        (
            b"{\"content\": \"\xff\xfe\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (b"".to_vec(), StatusCode::BAD_REQUEST, "invalid_json"),
        (
            b"{\"content\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            b"[1, 2]".to_vec(),
            StatusCode::BAD_REQUEST,
            "validation_error",
        ),
        (
            huge.into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let response = send_raw(&app, Method::POST, "/api/posts", Some(&user.access), body).await;
        assert_error(response, status, code).await;
    }
    let ignored = send_raw(
        &app,
        Method::POST,
        "/api/posts",
        Some(&user.access),
        deep_object.into_bytes(),
    )
    .await;
    assert_eq!(ignored.status(), StatusCode::CREATED);
    let ten_thousand: Vec<String> = (0..10_000).map(|i| format!("tag{i}")).collect();
    for (method, path, body) in [
        (
            Method::PATCH,
            "/api/users/me",
            json!({ "interests": ten_thousand }),
        ),
        (
            Method::POST,
            "/api/posts",
            json!({ "content": "x", "media_ids": ten_thousand }),
        ),
        (
            Method::POST,
            "/api/notifications/read",
            json!({ "ids": ten_thousand }),
        ),
    ] {
        let response = app.send_json(method, path, Some(&user.access), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }
}

#[tokio::test]
async fn overlong_and_control_character_fields_are_named_in_a_validation_error() {
    let app = spawn_app().await;
    let user = app.create_user("longfields").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&user.access),
            &json!({ "content": "short" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let post_id = post["id"].as_str().unwrap().to_owned();
    let long = "x".repeat(20_000);
    let cases = [
        (
            Method::POST,
            "/api/auth/register".to_owned(),
            json!({ "username": long, "email": "a@b.co", "password": PASSWORD }),
            "username",
        ),
        (
            Method::POST,
            "/api/auth/register".to_owned(),
            json!({ "username": "okname", "email": format!("{long}@b.co"), "password": PASSWORD }),
            "email",
        ),
        (
            Method::POST,
            "/api/auth/register".to_owned(),
            json!({ "username": "okname", "email": "a@b.co", "password": long }),
            "password",
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({ "full_name": long }),
            "full_name",
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({ "bio": long }),
            "bio",
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({ "full_name": "Eve\u{0000}" }),
            "full_name",
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({ "full_name": "Evil\u{202E}gnp.exe" }),
            "full_name",
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({ "username": "аdmin" }),
            "username",
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({ "username": "ａｄｍｉｎ" }),
            "username",
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({ "username": "ad\u{200B}min" }),
            "username",
        ),
        (
            Method::POST,
            "/api/posts".to_owned(),
            json!({ "content": long }),
            "content",
        ),
        (
            Method::POST,
            "/api/posts".to_owned(),
            json!({ "content": "ok", "title": long }),
            "title",
        ),
        (
            Method::POST,
            "/api/posts".to_owned(),
            json!({ "content": "look \u{202E}txt.exe" }),
            "content",
        ),
        (
            Method::POST,
            format!("/api/posts/{post_id}/comments"),
            json!({ "content": long }),
            "content",
        ),
        (
            Method::POST,
            format!("/api/posts/{post_id}/report"),
            json!({ "reason": "spam", "details": long }),
            "details",
        ),
        (
            Method::POST,
            "/api/groups".to_owned(),
            json!({ "name": long, "visibility": "public" }),
            "name",
        ),
    ];
    for (method, path, body, field) in cases {
        let response = app
            .send_json(method.clone(), &path, Some(&user.access), &body)
            .await;
        let error = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(
            error["errors"][field].is_array(),
            "{method} {path}: {error}"
        );
    }
    let search = app
        .get(&format!("/api/users/search?q={}", "x".repeat(5000)), None)
        .await;
    assert_error(search, StatusCode::BAD_REQUEST, "validation_error").await;
}

fn claims_of(access: &str) -> Claims {
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

fn signed(claims: &Claims, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_expired_future_and_orphaned_tokens_are_all_401() {
    let app = spawn_app().await;
    let user = app.create_user("tokens").await;
    let secret = app.settings.jwt_secret().to_vec();
    let real = claims_of(&user.access);
    let now = chrono::Utc::now().timestamp();
    let with = |iat: i64, exp: i64| Claims {
        sub: real.sub.clone(),
        sid: real.sid.clone(),
        iat,
        exp,
    };
    let unsigned = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(serde_json::to_vec(&real).unwrap())
    );
    let cases = [
        (unsigned, "token_invalid"),
        (
            signed(&real, b"some-other-secret-that-is-32-bytes-long"),
            "token_invalid",
        ),
        (signed(&with(now - 100, now - 10), &secret), "token_expired"),
        (
            signed(&with(now + 3600, now + 7200), &secret),
            "token_invalid",
        ),
        (format!("{}x", user.access), "token_invalid"),
        ("a.b.c".to_owned(), "token_invalid"),
    ];
    for (token, code) in cases {
        let response = app.get("/api/users/me", Some(&token)).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_error(response, StatusCode::UNAUTHORIZED, code).await;
    }
    // A good signature on a session that belongs to someone else, or to nobody.
    let other = app.create_user("tokens_other").await;
    let crossed = Claims {
        sub: claims_of(&other.access).sub,
        ..with(now, now + 60)
    };
    let response = app
        .get("/api/users/me", Some(&signed(&crossed, &secret)))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_invalid").await;

    let deleted = app
        .send_json(
            Method::DELETE,
            "/api/users/me",
            Some(&user.access),
            &json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let fresh = signed(&with(now, now + 60), &secret);
    assert_error(
        app.get("/api/users/me", Some(&fresh)).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
}

async fn id_of(response: reqwest::Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_owner_only_route_refuses_another_user_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.create_user("owner").await;
    let intruder = app.create_user("intruder").await;
    let member = app.create_user("member").await;
    let post = id_of(
        app.post(
            "/api/posts",
            Some(&owner.access),
            &json!({ "content": "mine" }),
        )
        .await,
    )
    .await;
    let comment = id_of(
        app.post(
            &format!("/api/posts/{post}/comments"),
            Some(&owner.access),
            &json!({ "content": "my comment" }),
        )
        .await,
    )
    .await;
    let group = id_of(
        app.post(
            "/api/groups",
            Some(&owner.access),
            &json!({ "name": "Owners", "visibility": "public" }),
        )
        .await,
    )
    .await;
    app.post(
        &format!("/api/groups/{group}/join"),
        Some(&member.access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("/api/posts/{post}/report"),
        Some(&member.access),
        &json!({ "reason": "spam" }),
    )
    .await;
    let sessions: Value = app
        .get("/api/auth/sessions", Some(&owner.access))
        .await
        .json()
        .await
        .unwrap();
    let session = sessions["results"][0]["id"].as_str().unwrap().to_owned();
    let gif = crate::media::gif(1, 1);
    let part = reqwest::multipart::Part::bytes(gif).file_name("a.gif");
    let uploaded = app
        .request(Method::POST, "/api/media")
        .bearer_auth(&owner.access)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let uploaded: Value = uploaded.json().await.unwrap();
    let media = uploaded["id"].as_str().unwrap().to_owned();
    let media_url = uploaded["url"].as_str().unwrap().to_owned();
    app.make_admin(&member).await;
    let report: Value = app
        .get("/api/reports", Some(&member.access))
        .await
        .json()
        .await
        .unwrap();
    let report = report["results"][0]["id"].as_str().unwrap().to_owned();

    let forbidden = StatusCode::FORBIDDEN;
    let routes: Vec<(Method, String, Value, StatusCode)> = vec![
        (
            Method::PATCH,
            format!("/api/posts/{post}"),
            json!({ "content": "hacked" }),
            forbidden,
        ),
        (
            Method::PUT,
            format!("/api/posts/{post}"),
            json!({ "content": "hacked" }),
            forbidden,
        ),
        (
            Method::DELETE,
            format!("/api/posts/{post}"),
            json!({}),
            forbidden,
        ),
        (
            Method::GET,
            format!("/api/posts/{post}/analytics"),
            json!({}),
            forbidden,
        ),
        (
            Method::PATCH,
            format!("/api/comments/{comment}"),
            json!({ "content": "hacked" }),
            forbidden,
        ),
        (
            Method::DELETE,
            format!("/api/comments/{comment}"),
            json!({}),
            forbidden,
        ),
        (
            Method::PATCH,
            format!("/api/groups/{group}"),
            json!({ "name": "Hacked" }),
            forbidden,
        ),
        (
            Method::DELETE,
            format!("/api/groups/{group}"),
            json!({}),
            forbidden,
        ),
        (
            Method::POST,
            format!("/api/groups/{group}/members"),
            json!({ "user_id": intruder_id(&app).await }),
            forbidden,
        ),
        (
            Method::DELETE,
            format!("/api/groups/{group}/members/member"),
            json!({}),
            forbidden,
        ),
        (
            Method::DELETE,
            format!("/api/media/{media}"),
            json!({}),
            forbidden,
        ),
        (
            Method::DELETE,
            format!("/api/auth/sessions/{session}"),
            json!({}),
            StatusCode::NOT_FOUND,
        ),
        (Method::GET, "/api/users".to_owned(), json!({}), forbidden),
        (Method::GET, "/api/reports".to_owned(), json!({}), forbidden),
        (
            Method::PATCH,
            format!("/api/reports/{report}"),
            json!({ "status": "dismissed" }),
            forbidden,
        ),
        (
            Method::PATCH,
            "/api/users/owner/role".to_owned(),
            json!({ "role": "user" }),
            forbidden,
        ),
        (
            Method::PATCH,
            "/api/users/intruder/role".to_owned(),
            json!({ "role": "admin" }),
            forbidden,
        ),
        (
            Method::PATCH,
            "/api/users/owner/status".to_owned(),
            json!({ "disabled": true }),
            forbidden,
        ),
    ];
    for (method, path, body, status) in routes {
        let response = app
            .send_json(method.clone(), &path, Some(&intruder.access), &body)
            .await;
        assert_eq!(response.status(), status, "{method} {path}");
        let error: Value = response.json().await.unwrap();
        assert!(error["code"].is_string(), "{method} {path}: {error}");
    }

    // Everything is as it was.
    let after: Value = app
        .get(&format!("/api/posts/{post}"), Some(&owner.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["content"], "mine");
    assert_eq!(after["comment_count"], 1);
    let group_after: Value = app
        .get(&format!("/api/groups/{group}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(group_after["name"], "Owners");
    assert_eq!(group_after["member_count"], 2);
    assert_eq!(app.get(&media_url, None).await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/users/me", Some(&owner.access)).await.status(),
        StatusCode::OK
    );
    let me: Value = app
        .get("/api/users/me", Some(&intruder.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "user");
}

async fn intruder_id(app: &TestApp) -> String {
    let user: Value = app
        .get("/api/users/intruder", None)
        .await
        .json()
        .await
        .unwrap();
    user["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn bad_ids_in_paths_are_404() {
    let app = spawn_app().await;
    let user: TestUser = app.create_user("badids").await;
    for id in [
        "not-an-id",
        "ffffffffffffffffffffffff",
        "FFFFFFFFFFFFFFFFFFFFFFFF0",
        "%24gt",
        "..%2F..%2Fetc",
        "%00",
    ] {
        for path in [
            format!("/api/posts/{id}"),
            format!("/api/posts/{id}/comments"),
            format!("/api/posts/{id}/likes"),
            format!("/api/comments/{id}"),
            format!("/api/groups/{id}"),
            format!("/api/media/{id}"),
            format!("/api/users/{id}"),
        ] {
            let response = app.get(&path, Some(&user.access)).await;
            let status = response.status();
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
                "{path}: {status}"
            );
            let body: Value = response.json().await.unwrap();
            assert!(body["code"].is_string(), "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/health")
        .header("X-Padding", "p".repeat(128 * 1024))
        .send()
        .await;
    if let Ok(response) = response {
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    assert_eq!(app.get("/health", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_sends_its_request_slowly_is_cut_off() {
    let app = spawn_app_with(|s| {
        s.server.client_request_timeout_secs = 1;
        s.server.body_timeout_secs = 1;
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let user = app.create_user("slowpoke").await;

    // A request head that never ends.
    let mut head = tokio::net::TcpStream::connect(&address).await.unwrap();
    head.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut head).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A body that stops halfway.
    let mut body = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /api/posts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"content\": \"sl",
        user.access
    );
    body.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert_eq!(app.get("/health", None).await.status(), StatusCode::OK);
}

/// Everything the server sends until it closes the connection (within 10 s).
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server closed the connection")
    .ok();
    String::from_utf8_lossy(&answer).into_owned()
}
