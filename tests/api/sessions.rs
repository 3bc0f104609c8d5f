//! API.md §2: tokens, sessions, passwords.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, spawn_app_with, PASSWORD};

fn forge_token(secret: &str, sub: &str, sid: &str, iat: i64, exp: i64) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": sub, "sid": sid, "iat": iat, "exp": exp }),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_missing_or_bad_token_is_a_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let user = app.create_user("amy").await;
    let missing = app.get("/api/users/me", None).await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_error(missing, StatusCode::UNAUTHORIZED, "not_authenticated").await;

    let malformed = app
        .request(Method::GET, "/api/users/me")
        .header("Authorization", "Token abc")
        .send()
        .await
        .unwrap();
    assert_error(malformed, StatusCode::UNAUTHORIZED, "token_invalid").await;

    let mut tampered = user.access.clone();
    tampered.pop();
    tampered.push(if user.access.ends_with('A') { 'B' } else { 'A' });
    app.assert_access_refused(&tampered).await;

    let claims = claims_of(&user.access);
    let (sub, sid) = (
        claims["sub"].as_str().unwrap(),
        claims["sid"].as_str().unwrap(),
    );
    let now = chrono::Utc::now().timestamp();
    let wrong_key = forge_token(
        "some-other-secret-that-is-long-enough!!",
        sub,
        sid,
        now,
        now + 60,
    );
    app.assert_access_refused(&wrong_key).await;

    let secret = app.settings.auth.jwt_secret.clone().unwrap();
    let expired = forge_token(&secret, sub, sid, now - 120, now - 60);
    let response = app.get("/api/users/me", Some(&expired)).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_error(response, StatusCode::UNAUTHORIZED, "token_expired").await;

    let still_valid = forge_token(&secret, sub, sid, now, now + 60);
    assert_eq!(
        app.get("/api/users/me", Some(&still_valid)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_the_old_refresh_token_stops_working() {
    let app = spawn_app().await;
    let user = app.create_user("ben").await;
    let response = app.refresh(&user.refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["expires_in"].is_number());
    let (access, refresh) = (
        pair["access"].as_str().unwrap(),
        pair["refresh"].as_str().unwrap(),
    );
    assert_ne!(refresh, user.refresh);
    assert_eq!(
        app.get("/api/users/me", Some(access)).await.status(),
        StatusCode::OK
    );

    // The seed alias works with the new token.
    let alias = app
        .post("/api/token/refresh", None, &json!({ "refresh": refresh }))
        .await;
    assert_eq!(alias.status(), StatusCode::OK);
    let newest: Value = alias.json().await.unwrap();

    // Replaying a used refresh token is theft: the whole session is revoked.
    let replay = app.refresh(&user.refresh).await;
    assert_error(replay, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let after = app.refresh(newest["refresh"].as_str().unwrap()).await;
    assert_error(after, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let access = newest["access"].as_str().unwrap();
    app.assert_access_refused(access).await;
}

#[tokio::test]
async fn garbage_and_missing_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    let garbage = app.refresh("garbage").await;
    assert_error(garbage, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let missing = app.post("/api/auth/token/refresh", None, &json!({})).await;
    assert_error(missing, StatusCode::BAD_REQUEST, "validation_error").await;
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = spawn_app_with(|s| s.auth.refresh_token_ttl_secs = 0).await;
    let user = app.create_user("cora").await;
    let response = app.refresh(&user.refresh).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert!(
        ["token_expired", "token_invalid"].contains(&body["code"].as_str().unwrap()),
        "{body}"
    );
}

#[tokio::test]
async fn logout_revokes_the_access_and_refresh_tokens_at_once() {
    let app = spawn_app().await;
    let user = app.create_user("dora").await;
    let other = app.log_in_as("dora", "dora@example.com").await;
    let response = app
        .post(
            "/api/auth/logout",
            Some(&user.access),
            &json!({ "refresh": user.refresh }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.assert_access_refused(&user.access).await;
    let refresh = app.refresh(&user.refresh).await;
    assert_error(refresh, StatusCode::UNAUTHORIZED, "token_invalid").await;
    // Another session of the same user is untouched.
    assert_eq!(
        app.get("/api/users/me", Some(&other.access)).await.status(),
        StatusCode::OK
    );
    // Logout works with no body at all, and needs a token.
    let bare = app
        .request(Method::POST, "/api/auth/logout")
        .bearer_auth(&other.access)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.post("/api/auth/logout", None, &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn logout_takes_effect_on_every_instance() {
    let first = spawn_app().await;
    let user = first.create_user("eve").await;
    let second =
        crate::helpers::spawn_instance_of(&first, &crate::helpers::test_mongodb_uri(), |_| {})
            .await;
    assert_eq!(
        second
            .get("/api/users/me", Some(&user.access))
            .await
            .status(),
        StatusCode::OK
    );
    first
        .post("/api/auth/logout", Some(&user.access), &json!({}))
        .await;
    second.assert_access_refused(&user.access).await;
}

#[tokio::test]
async fn logout_all_revokes_every_session() {
    let app = spawn_app().await;
    let a = app.create_user("fay").await;
    let b = app.log_in_as("fay", "fay@example.com").await;
    assert_eq!(
        app.post("/api/auth/logout-all", Some(&a.access), &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    for token in [&a.access, &b.access] {
        app.assert_access_refused(token).await;
    }
    let refresh = app.refresh(&b.refresh).await;
    assert_error(refresh, StatusCode::UNAUTHORIZED, "token_invalid").await;
}

#[tokio::test]
async fn sessions_are_listed_and_one_can_be_revoked() {
    let app = spawn_app().await;
    let a = app.create_user("gus").await;
    let b = app.log_in_as("gus", "gus@example.com").await;
    let stranger = app.create_user("hal").await;
    let list: Value = app
        .get("/api/auth/sessions", Some(&a.access))
        .await
        .json()
        .await
        .unwrap();
    let sessions = list["results"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    for field in ["id", "created_at", "last_used_at", "user_agent", "ip"] {
        assert!(sessions[0].get(field).is_some(), "{field}");
    }
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone else's session is not found for a stranger.
    let foreign = app
        .request(Method::DELETE, &format!("/api/auth/sessions/{other_id}"))
        .bearer_auth(&stranger.access)
        .send()
        .await
        .unwrap();
    assert_error(foreign, StatusCode::NOT_FOUND, "not_found").await;
    let bad_id = app
        .request(Method::DELETE, "/api/auth/sessions/xyz")
        .bearer_auth(&a.access)
        .send()
        .await
        .unwrap();
    assert_error(bad_id, StatusCode::NOT_FOUND, "not_found").await;

    let revoke = app
        .request(Method::DELETE, &format!("/api/auth/sessions/{other_id}"))
        .bearer_auth(&a.access)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    app.assert_access_refused(&b.access).await;
    assert_eq!(
        app.get("/api/users/me", Some(&a.access)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn changing_the_password_checks_the_old_one_and_revokes_every_session() {
    let app = spawn_app().await;
    let user = app.create_user("ida").await;
    let wrong = app
        .post(
            "/api/auth/password/change",
            Some(&user.access),
            &json!({ "old_password": "not-my-password", "new_password": "brand-new-pass-2" }),
        )
        .await;
    let body = assert_error(wrong, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["old_password"].is_array());
    let weak = app
        .post(
            "/api/auth/password/change",
            Some(&user.access),
            &json!({ "old_password": PASSWORD, "new_password": "12345678" }),
        )
        .await;
    let body = assert_error(weak, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["new_password"].is_array());

    let ok = app
        .post(
            "/api/auth/password/change",
            Some(&user.access),
            &json!({ "old_password": PASSWORD, "new_password": "brand-new-pass-2" }),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    app.assert_access_refused(&user.access).await;
    assert_eq!(
        app.login("ida", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ida", "brand-new-pass-2").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_emailed_token_once() {
    let app = spawn_app().await;
    let user = app.create_user("jon").await;
    for email in ["jon@example.com", "ghost@example.com"] {
        let response = app
            .post(
                "/api/auth/password/forgot",
                None,
                &json!({ "email": email }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let mail = app.mail.wait_for_nth("jon@example.com", 1).await;
    assert!(mail.subject.contains("Reset"));
    let token = mail.token();

    let weak = app
        .post(
            "/api/auth/password/reset",
            None,
            &json!({ "token": token, "new_password": "jon" }),
        )
        .await;
    assert_error(weak, StatusCode::BAD_REQUEST, "validation_error").await;
    let ok = app
        .post(
            "/api/auth/password/reset",
            None,
            &json!({ "token": token, "new_password": "reset-pass-77" }),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let again = app
        .post(
            "/api/auth/password/reset",
            None,
            &json!({ "token": token, "new_password": "reset-pass-78" }),
        )
        .await;
    assert_error(again, StatusCode::BAD_REQUEST, "invalid_token").await;
    let bogus = app
        .post(
            "/api/auth/password/reset",
            None,
            &json!({ "token": "bogus", "new_password": "reset-pass-78" }),
        )
        .await;
    assert_error(bogus, StatusCode::BAD_REQUEST, "invalid_token").await;

    app.assert_access_refused(&user.access).await;
    assert_eq!(
        app.login("jon", "reset-pass-77").await.status(),
        StatusCode::OK
    );
    assert_eq!(app.mail.count_to("ghost@example.com"), 0);
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let app = spawn_app_with(|s| s.auth.password_reset_ttl_secs = 0).await;
    app.create_user("kat").await;
    app.post(
        "/api/auth/password/forgot",
        None,
        &json!({ "email": "kat@example.com" }),
    )
    .await;
    let token = app.mail.wait_for_nth("kat@example.com", 1).await.token();
    let response = app
        .post(
            "/api/auth/password/reset",
            None,
            &json!({ "token": token, "new_password": "reset-pass-77" }),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_token").await;
}

#[tokio::test]
async fn a_deleted_account_token_is_refused() {
    let app = spawn_app().await;
    let user = app.create_user("lou").await;
    rookery::store::users::collection(&app.db)
        .delete_one(bson::doc! { "username_key": "lou" })
        .await
        .unwrap();
    app.assert_access_refused(&user.access).await;
}

/// Session checks made at the same moment are read together (`sessions::GroupCheck`):
/// each request is answered from its own session and relations — the author of its post,
/// the blocks it must respect — and a session revoked a moment before is refused.
#[tokio::test]
async fn session_checks_read_together_each_answer_their_own_session() {
    let app = spawn_app().await;
    let names: Vec<String> = (0..5).map(|i| format!("together{i}")).collect();
    let mut users = Vec::new();
    for name in &names {
        users.push(app.create_user(name).await);
    }
    // together1 blocks together0 and posts; together4 logs out.
    let blocked = app
        .post(
            "/api/users/together0/block",
            Some(&users[1].access),
            &json!({}),
        )
        .await;
    assert!(blocked.status().is_success());
    let posted = app
        .post(
            "/api/posts",
            Some(&users[1].access),
            &json!({ "content": "from together1" }),
        )
        .await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    let out = app
        .post("/api/auth/logout", Some(&users[4].access), &json!({}))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);

    let app = &app;
    for round in 0..3 {
        let creates = users.iter().zip(&names).map(|(user, name)| async move {
            let response = app
                .post(
                    "/api/posts",
                    Some(&user.access),
                    &json!({ "content": format!("round {round} by {name}") }),
                )
                .await;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or_default();
            (name, status, body)
        });
        let lists = users.iter().zip(&names).map(|(user, name)| async move {
            let response = app.get("/api/posts?limit=50", Some(&user.access)).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or_default();
            (name, status, body)
        });
        let (created, listed) = futures::future::join(
            futures::future::join_all(creates),
            futures::future::join_all(lists),
        )
        .await;
        for (name, status, body) in created {
            if name == "together4" {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            } else {
                assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
                assert_eq!(body["author"]["username"], name.as_str(), "{body}");
            }
        }
        for (name, status, body) in listed {
            if name == "together4" {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
            let shows_together1 = body["results"]
                .as_array()
                .expect("results")
                .iter()
                .any(|p| p["content"] == "from together1");
            assert_eq!(shows_together1, name != "together0", "{name}");
        }
    }
}
