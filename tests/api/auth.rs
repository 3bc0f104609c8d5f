//! API.md §2: registration, verification, login.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, path_of, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn register_returns_the_new_user_and_emails_a_verification_link() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/auth/register",
            None,
            &json!({ "username": "Alice", "email": " Alice@Example.COM ", "password": PASSWORD,
                     "password2": PASSWORD, "full_name": "Alice Liddell" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(user["username"], "Alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["role"], "user");
    assert_eq!(user["full_name"], "Alice Liddell");
    assert_eq!(user["id"].as_str().unwrap().len(), 24);
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    assert!(body["detail"].as_str().unwrap().contains("email"));

    let mail = app.mail.wait_for("alice@example.com").await;
    let link = mail.link();
    assert!(
        link.starts_with("http://rookery.test/api/auth/verify-email?token="),
        "{link}"
    );

    // Only a hash of the token is stored.
    let stored = rookery::store::tokens::collection(&app.db)
        .find_one(bson::doc! {})
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.hash, mail.token());
    assert_eq!(stored.hash.len(), 64);
}

#[tokio::test]
async fn register_names_every_missing_field_at_once() {
    let app = spawn_app().await;
    let body = assert_error(
        app.post("/api/auth/register", None, &json!({})).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    for field in ["username", "email", "password"] {
        assert_eq!(
            body["errors"][field][0], "This field is required.",
            "{field}: {body}"
        );
    }
}

#[tokio::test]
async fn register_enforces_the_field_rules() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "username": "ab", "email": "x@example.com", "password": PASSWORD }),
            "username",
        ),
        (
            json!({ "username": "bad name", "email": "x@example.com", "password": PASSWORD }),
            "username",
        ),
        (
            json!({ "username": "0123456789abcdef01234567", "email": "x@example.com", "password": PASSWORD }),
            "username",
        ),
        (
            json!({ "username": "a".repeat(31), "email": "x@example.com", "password": PASSWORD }),
            "username",
        ),
        (
            json!({ "username": "okname", "email": "not-an-email", "password": PASSWORD }),
            "email",
        ),
        (
            json!({ "username": "okname", "email": "x@example.com", "password": "short1" }),
            "password",
        ),
        (
            json!({ "username": "okname", "email": "x@example.com", "password": "1234567890" }),
            "password",
        ),
        (
            json!({ "username": "okname123", "email": "x@example.com", "password": "okname123" }),
            "password",
        ),
        (
            json!({ "username": "okname", "email": "x@example.com", "password": "x@example.com" }),
            "password",
        ),
        (
            json!({ "username": "okname", "email": "x@example.com", "password": PASSWORD, "password2": "other-pass-1" }),
            "password2",
        ),
        (
            json!({ "username": "okname", "email": "x@example.com", "password": PASSWORD, "full_name": "x".repeat(101) }),
            "full_name",
        ),
        (
            json!({ "username": 42, "email": "x@example.com", "password": PASSWORD }),
            "username",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/api/auth/register", None, &body).await;
        let error = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(
            error["errors"][field].is_array(),
            "{field} should be named for {body}: {error}"
        );
    }
    assert_eq!(
        rookery::store::users::collection(&app.db)
            .count_documents(bson::doc! {})
            .await
            .unwrap(),
        0,
        "nothing was written"
    );
}

#[tokio::test]
async fn a_taken_username_ignoring_case_and_a_taken_email_are_both_named() {
    let app = spawn_app().await;
    assert_eq!(app.register("carol").await.status(), StatusCode::CREATED);
    let response = app
        .post(
            "/api/auth/register",
            None,
            &json!({ "username": "CAROL", "email": "Carol@example.com", "password": PASSWORD }),
        )
        .await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["username"][0]
        .as_str()
        .unwrap()
        .contains("already exists"));
    assert!(body["errors"]["email"][0]
        .as_str()
        .unwrap()
        .contains("already exists"));
}

#[tokio::test]
async fn concurrent_identical_registrations_give_one_201_and_one_400() {
    let app = spawn_app().await;
    let (a, b) = tokio::join!(app.register("racer"), app.register("racer"));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 400]);
    let loser = if a.status() == StatusCode::BAD_REQUEST {
        a
    } else {
        b
    };
    assert_error(loser, StatusCode::BAD_REQUEST, "validation_error").await;
    assert_eq!(
        rookery::store::users::collection(&app.db)
            .count_documents(bson::doc! {})
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn the_seed_registration_aliases_register_too() {
    let app = spawn_app().await;
    for (path, name) in [
        ("/api/register", "viaregister"),
        ("/api/users", "viausers"),
        ("/api/users/", "viaslash"),
    ] {
        let response = app
            .post(path, None, &json!({ "username": name, "email": format!("{name}@example.com"), "password": PASSWORD }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{path}");
    }
}

#[tokio::test]
async fn the_emailed_link_verifies_once() {
    let app = spawn_app().await;
    app.register("dave").await;
    let link = app.mail.wait_for("dave@example.com").await.link();
    let first = app.get(&path_of(&link), None).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(app.login("dave", PASSWORD).await.status(), StatusCode::OK);
    let again = app.get(&path_of(&link), None).await;
    assert_error(again, StatusCode::BAD_REQUEST, "invalid_token").await;
}

#[tokio::test]
async fn verification_works_by_post_and_rejects_unknown_tokens() {
    let app = spawn_app().await;
    app.register("erin").await;
    let token = app.mail.wait_for("erin@example.com").await.token();
    let bad = app
        .post("/api/auth/verify-email", None, &json!({ "token": "nope" }))
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_token").await;
    let missing = app.post("/api/auth/verify-email", None, &json!({})).await;
    assert_error(missing, StatusCode::BAD_REQUEST, "validation_error").await;
    let ok = app
        .post("/api/auth/verify-email", None, &json!({ "token": token }))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let me = app.log_in_as("erin", "erin@example.com").await;
    let body: Value = app
        .get("/api/users/me", Some(&me.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["email_verified"], true);
}

#[tokio::test]
async fn an_expired_verification_token_is_refused() {
    let app = spawn_app_with(|s| s.auth.email_verification_ttl_secs = 0).await;
    app.register("frank").await;
    let link = app.mail.wait_for("frank@example.com").await.link();
    assert_error(
        app.get(&path_of(&link), None).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn login_before_verification_asks_to_confirm_the_email() {
    let app = spawn_app().await;
    app.register("gina").await;
    let body = assert_error(
        app.login("gina", PASSWORD).await,
        StatusCode::FORBIDDEN,
        "email_not_verified",
    )
    .await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("confirm") && detail.contains("resend-verification"),
        "{detail}"
    );
    // A wrong password says nothing about the account's state.
    assert_error(
        app.login("gina", "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_look_the_same() {
    let app = spawn_app().await;
    app.create_user("hank").await;
    let wrong = app.login("hank", "wrong-password-1").await;
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    let wrong = assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown = assert_error(
        app.login("nobody", "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn login_accepts_username_email_or_login_and_the_seed_aliases() {
    let app = spawn_app().await;
    app.create_user("ivy").await;
    let bodies = [
        (
            "/api/auth/login",
            json!({ "username": "IVY", "password": PASSWORD }),
        ),
        (
            "/api/auth/login",
            json!({ "email": "Ivy@Example.com", "password": PASSWORD }),
        ),
        (
            "/api/login",
            json!({ "login": "ivy@example.com", "password": PASSWORD }),
        ),
        (
            "/api/users/login",
            json!({ "username": "ivy", "password": PASSWORD }),
        ),
    ];
    for (path, body) in bodies {
        let response = app.post(path, None, &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{path} {body}");
        let tokens: Value = response.json().await.unwrap();
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 900);
        assert!(tokens["access"].is_string() && tokens["refresh"].is_string());
        assert_eq!(tokens["user"]["username"], "ivy");
    }
    let missing = app.post("/api/auth/login", None, &json!({})).await;
    let body = assert_error(missing, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["username"].is_array() && body["errors"]["password"].is_array());
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in() {
    let app = spawn_app().await;
    app.create_user("jack").await;
    rookery::store::users::collection(&app.db)
        .update_one(
            bson::doc! { "username_key": "jack" },
            bson::doc! { "$set": { "disabled": true } },
        )
        .await
        .unwrap();
    assert_error(
        app.login("jack", PASSWORD).await,
        StatusCode::FORBIDDEN,
        "account_disabled",
    )
    .await;
}

#[tokio::test]
async fn resend_verification_answers_alike_and_mails_only_unverified_accounts() {
    let app = spawn_app().await;
    app.register("kim").await;
    app.mail.wait_for("kim@example.com").await;
    app.create_user("lee").await;

    for email in ["kim@example.com", "lee@example.com", "nobody@example.com"] {
        let response = app
            .post(
                "/api/auth/resend-verification",
                None,
                &json!({ "email": email }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{email}");
        let body: Value = response.json().await.unwrap();
        assert!(body["detail"].is_string());
    }
    let second = app.mail.wait_for_nth("kim@example.com", 1).await;
    // The new link works; the first one was superseded.
    assert_eq!(
        app.get(&path_of(&second.link()), None).await.status(),
        StatusCode::OK
    );
    // The verified account got no new message (its one email is the first verification).
    assert_eq!(app.mail.count_to("lee@example.com"), 1);
    assert_eq!(app.mail.count_to("nobody@example.com"), 0);

    let invalid = app
        .post(
            "/api/auth/resend-verification",
            None,
            &json!({ "email": "nope" }),
        )
        .await;
    assert_error(invalid, StatusCode::BAD_REQUEST, "validation_error").await;
}

#[tokio::test]
async fn trailing_slashes_are_optional_on_every_method() {
    let app = spawn_app().await;
    let user = app.create_user("mia").await;
    let slash = app
        .post(
            "/api/auth/login/",
            None,
            &json!({ "login": "mia", "password": PASSWORD }),
        )
        .await;
    assert_eq!(slash.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/users/me/", Some(&user.access)).await.status(),
        StatusCode::OK
    );
    let patch = app
        .send_json(
            Method::PATCH,
            "/api/users/me/",
            Some(&user.access),
            &json!({ "bio": "hi" }),
        )
        .await;
    assert_eq!(patch.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_development_outbox_hands_out_the_emailed_token_only_when_on() {
    let off = spawn_app().await;
    off.register("outboxoff").await;
    let response = off
        .get("/api/dev/outbox?to=outboxoff@example.com", None)
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;

    let app = spawn_app_with(|s| s.email.dev_outbox = true).await;
    app.register("outboxer").await;
    app.register("bystander").await;
    let mail = app.mail.wait_for("outboxer@example.com").await;
    let response = app
        .get("/api/dev/outbox?to=OUTBOXER@example.com", None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "only that address: {body}");
    let token = results[0]["token"].as_str().unwrap();
    assert!(mail.link().ends_with(&format!("token={token}")));
    let verified = app
        .post("/api/auth/verify-email", None, &json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
}

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[tokio::test]
async fn a_browser_opening_the_link_gets_a_page_not_json() {
    let app = spawn_app().await;
    app.register("brow").await;
    let link = app.mail.wait_for("brow@example.com").await.link();
    let open = || {
        app.request(Method::GET, &path_of(&link))
            .header("Accept", BROWSER_ACCEPT)
            .send()
    };
    let first = open().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(first.text().await.unwrap().contains("Email confirmed"));
    assert_eq!(app.login("brow", PASSWORD).await.status(), StatusCode::OK);
    let again = open().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let page = again.text().await.unwrap();
    assert!(page.contains("does not work"), "{page}");
}

#[tokio::test]
async fn a_deployment_with_its_own_app_gets_the_browser_redirected() {
    let app = spawn_app_with(|s| {
        s.email.verified_redirect_url = Some("https://app.example.com/verified?from=mail".into())
    })
    .await;
    app.register("redir").await;
    let link = app.mail.wait_for("redir@example.com").await.link();
    let open = || {
        app.request(Method::GET, &path_of(&link))
            .header("Accept", BROWSER_ACCEPT)
            .send()
    };
    let first = open().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        first.headers()["location"],
        "https://app.example.com/verified?from=mail&status=verified"
    );
    assert_eq!(app.login("redir", PASSWORD).await.status(), StatusCode::OK);
    let again = open().await.unwrap();
    assert_eq!(
        again.headers()["location"],
        "https://app.example.com/verified?from=mail&status=invalid_token"
    );
    // An API client still gets JSON from the same link.
    let json = app.get(&path_of(&link), None).await;
    assert_error(json, StatusCode::BAD_REQUEST, "invalid_token").await;
}

#[tokio::test]
async fn with_verification_not_required_an_account_signs_in_right_after_registering() {
    let app = spawn_app_with(|s| s.auth.require_email_verification = false).await;
    assert_eq!(app.register("hana").await.status(), StatusCode::CREATED);
    let response = app.login("hana", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email_verified"], false, "{body}");
    let access = body["access"].as_str().expect("an access token");
    let me = app.get("/api/users/me", Some(access)).await;
    assert_eq!(me.status(), StatusCode::OK);
    // The verification email still goes out, and still works.
    app.verify_email_of("hana@example.com").await;
    // A wrong password is still refused the same way.
    assert_error(
        app.login("hana", "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}
