//! The Mastodon API's own account: `update_credentials` through the native profile and
//! the native upload pipeline.

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{created, spawn_app, TestApp};
use crate::mastodon::{json_of, mastodon_token};

fn picture(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes)
        .file_name(format!("{name}.png"))
        .mime_str("image/png")
        .expect("mime")
}

async fn update(app: &TestApp, token: &str, form: Form) -> (StatusCode, Value) {
    let response = app
        .request(Method::PATCH, "/api/v1/accounts/update_credentials")
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("update sent");
    json_of(response).await
}

/// The status of a GET of an absolute URL on the app.
async fn loads(app: &TestApp, url: &str) -> StatusCode {
    let parsed = url::Url::parse(url).expect("an absolute URL");
    app.get(&parsed[url::Position::BeforePath..], None)
        .await
        .status()
}

#[tokio::test]
async fn update_credentials_changes_the_native_profile_and_pictures() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "pia", "read write").await;
    let post = created(&app, &me, "/api/posts", json!({ "content": "before" })).await;
    let post_id = post["id"].as_str().expect("id");

    let form = Form::new()
        .text("display_name", "Pia Pardo")
        .text("note", "Hello\n\nworld <b>")
        .text("locked", "false")
        .text("bot", "false")
        .text("fields_attributes[0][name]", "")
        .text("fields_attributes[0][value]", "")
        .text("source[privacy]", "public")
        .part("avatar", picture("avatar", crate::media::png(64, 64, 0)))
        .part("header", picture("header", crate::media::png(300, 100, 0)));
    let (status, account) = update(&app, &token, form).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["display_name"], "Pia Pardo");
    assert_eq!(account["note"], "<p>Hello</p><p>world &lt;b&gt;</p>");
    assert_eq!(account["source"]["note"], "Hello\n\nworld <b>");
    let avatar = account["avatar"].as_str().expect("avatar").to_owned();
    let header = account["header"].as_str().expect("header").to_owned();
    assert!(!avatar.ends_with("missing.png"), "{avatar}");
    assert!(!header.ends_with("missing.png"), "{header}");
    assert_eq!(loads(&app, &avatar).await, StatusCode::OK);
    assert_eq!(loads(&app, &header).await, StatusCode::OK);

    // The native profile and the author shown on one's posts changed with it.
    let native: Value = app
        .get("/api/users/me", Some(&me.access))
        .await
        .json()
        .await
        .expect("me");
    assert_eq!(
        (&native["full_name"], &native["bio"]),
        (&json!("Pia Pardo"), &json!("Hello\n\nworld <b>"))
    );
    assert!(avatar.ends_with(native["avatar_url"].as_str().expect("avatar_url")));
    let (_, status) = json_of(
        app.get(&format!("/api/v1/statuses/{post_id}"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(status["account"]["display_name"], "Pia Pardo");
    let (_, shown) = json_of(app.get(&format!("/api/v1/accounts/{}", me.id), None).await).await;
    assert_eq!(
        (&shown["avatar"], &shown["header"]),
        (&json!(avatar), &json!(header))
    );

    // A new header replaces the old one, whose file is deleted; JSON changes the texts.
    let form = Form::new().part("header", picture("header", crate::media::png(200, 100, 0)));
    let (status, account) = update(&app, &token, form).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_ne!(account["header"], json!(header));
    assert_eq!(account["avatar"], json!(avatar), "the avatar stays");
    assert_eq!(loads(&app, &header).await, StatusCode::NOT_FOUND);
    let response = app
        .request(Method::PATCH, "/api/v1/accounts/update_credentials")
        .bearer_auth(&token)
        .json(&json!({ "display_name": "", "note": "Plain" }))
        .send()
        .await
        .expect("update sent");
    let (status, account) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(
        (&account["display_name"], &account["note"]),
        (&json!("pia"), &json!("<p>Plain</p>"))
    );
}

#[tokio::test]
async fn update_credentials_refuses_what_accounts_cannot_be_and_changes_nothing() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "quin", "read write").await;
    let (_, read_only, _, _) = mastodon_token(&app, "rue", "read").await;

    for (field, value) in [
        ("locked", "true"),
        ("bot", "true"),
        ("discoverable", "false"),
        ("fields_attributes[0][name]", "Site"),
        ("source[privacy]", "private"),
        ("locked", "perhaps"),
    ] {
        let form = Form::new()
            .text("display_name", "Changed")
            .text(field, value)
            .part("avatar", picture("avatar", crate::media::png(32, 32, 0)));
        let (status, body) = update(&app, &token, form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        let error = body["error"].as_str().expect("error");
        assert!(
            error.contains(field.split('[').next().expect("name")),
            "{error}"
        );
    }
    let form = Form::new().text("display_name", "x".repeat(101));
    let (status, body) = update(&app, &token, form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let form = Form::new().part("avatar", picture("avatar", b"not an image".to_vec()));
    let (status, body) = update(&app, &token, form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Nothing was changed by any of them, and no file was kept.
    let native: Value = app
        .get("/api/users/me", Some(&me.access))
        .await
        .json()
        .await
        .expect("me");
    assert_eq!(native["full_name"], json!(""), "{native}");
    assert!(native["avatar_url"].is_null(), "{native}");
    let owner = bson::oid::ObjectId::parse_str(&me.id).expect("id");
    let files = rookery::store::media::ids_of_owner(&app.db, owner)
        .await
        .expect("files");
    assert!(files.is_empty(), "{files:?}");

    let (status, _) = update(&app, &read_only, Form::new().text("note", "hi")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = app
        .request(Method::PATCH, "/api/v1/accounts/update_credentials")
        .json(&json!({ "note": "hi" }))
        .send()
        .await
        .expect("update sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
