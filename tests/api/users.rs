//! API.md §3, first part: the profile routes and the admin user list.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app};

const PUBLIC_FIELDS: [&str; 13] = [
    "id",
    "username",
    "full_name",
    "bio",
    "avatar_url",
    "interests",
    "followers_count",
    "following_count",
    "posts_count",
    "created_at",
    "is_following",
    "follows_you",
    "is_blocked",
];

#[tokio::test]
async fn me_returns_the_private_view() {
    let app = spawn_app().await;
    let user = app.create_user("ann").await;
    let response = app.get("/api/users/me", Some(&user.access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    for field in PUBLIC_FIELDS
        .iter()
        .chain(&["email", "email_verified", "role"])
    {
        assert!(me.get(*field).is_some(), "{field} missing: {me}");
    }
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["email_verified"], true);
    let created = me["created_at"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
}

#[tokio::test]
async fn the_profile_is_updated_by_patch_put_and_the_aliases() {
    let app = spawn_app().await;
    let user = app.create_user("bea").await;
    let patch = app
        .send_json(Method::PATCH, "/api/users/me", Some(&user.access),
            &json!({ "full_name": " Bea Arthur ", "bio": "Hello", "interests": ["Rust", "#rust", "Go"] }))
        .await;
    assert_eq!(patch.status(), StatusCode::OK);
    let me: Value = patch.json().await.unwrap();
    assert_eq!(me["full_name"], "Bea Arthur");
    assert_eq!(me["bio"], "Hello");
    assert_eq!(me["interests"], json!(["rust", "go"]));

    for (method, path, bio) in [
        (Method::PUT, "/api/users/me", "via put"),
        (Method::PATCH, "/api/users", "via users alias"),
        (Method::PUT, "/api/auth/profile", "via profile alias"),
    ] {
        let response = app
            .send_json(method, path, Some(&user.access), &json!({ "bio": bio }))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["bio"], bio);
        assert_eq!(
            me["full_name"], "Bea Arthur",
            "fields left out keep their value"
        );
    }
}

#[tokio::test]
async fn profile_updates_are_validated() {
    let app = spawn_app().await;
    let user = app.create_user("cal").await;
    app.create_user("taken").await;
    let response = app
        .send_json(Method::PATCH, "/api/users/me", Some(&user.access),
            &json!({ "bio": "x".repeat(501), "full_name": "x".repeat(101), "username": "TAKEN", "interests": "rust" }))
        .await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["interests"].is_array(), "{body}");

    let response = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            Some(&user.access),
            &json!({ "bio": "x".repeat(501), "full_name": "x".repeat(101), "username": "TAKEN" }),
        )
        .await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    for field in ["bio", "full_name", "username"] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }
    let ok = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            Some(&user.access),
            &json!({ "bio": "x".repeat(500) }),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let anonymous = app
        .send_json(Method::PATCH, "/api/users/me", None, &json!({ "bio": "x" }))
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

#[tokio::test]
async fn a_username_change_follows_the_rules_and_moves_the_lookup() {
    let app = spawn_app().await;
    let user = app.create_user("dan").await;
    let response = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            Some(&user.access),
            &json!({ "username": "Daniel" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/users/daniel", None).await.status(),
        StatusCode::OK
    );
    assert_error(
        app.get("/api/users/dan", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Changing only the case of one's own name is allowed.
    let recase = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            Some(&user.access),
            &json!({ "username": "DANIEL" }),
        )
        .await;
    assert_eq!(recase.status(), StatusCode::OK);
    let bad = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            Some(&user.access),
            &json!({ "username": "no way" }),
        )
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "validation_error").await;
}

#[tokio::test]
async fn a_profile_is_public_by_id_or_username() {
    let app = spawn_app().await;
    let user = app.create_user("eli").await;
    for path in [
        format!("/api/users/{}", user.id),
        "/api/users/ELI".to_string(),
    ] {
        let response = app.get(&path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.unwrap();
        for field in PUBLIC_FIELDS {
            assert!(body.get(field).is_some(), "{field}");
        }
        assert!(
            body.get("email").is_none(),
            "the public view hides the email"
        );
        assert_eq!(body["username"], "eli");
    }
    assert_error(
        app.get("/api/users/nobody", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/api/users/ffffffffffffffffffffffff", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn only_admins_list_users_page_by_page() {
    let app = spawn_app().await;
    let admin = app.create_user("root").await;
    app.make_admin(&admin).await;
    let normal = app.create_user("pleb").await;
    for i in 0..3 {
        app.register(&format!("extra{i}")).await;
    }
    assert_error(
        app.get("/api/users", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
    assert_error(
        app.get("/api/users", Some(&normal.access)).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    )
    .await;

    let mut seen = Vec::new();
    let mut path = "/api/users?limit=2".to_string();
    loop {
        let response = app.get(&path, Some(&admin.access)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let link = response
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Value = response.json().await.unwrap();
        let results = page["results"].as_array().unwrap();
        assert!(results.len() <= 2);
        seen.extend(
            results
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        assert!(
            results.iter().all(|u| u.get("email").is_some()),
            "admins see User(me)"
        );
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(link.unwrap(), format!("<{next}>; rel=\"next\""));
                assert!(next.contains("limit=2"));
                path = next.to_owned();
            }
            None => {
                assert!(link.is_none());
                break;
            }
        }
    }
    assert_eq!(
        seen,
        ["extra2", "extra1", "extra0", "pleb", "root"],
        "newest first, each once"
    );

    for query in ["limit=0", "limit=101", "limit=x", "cursor=garbage"] {
        let response = app
            .get(&format!("/api/users?{query}"), Some(&admin.access))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }
}
