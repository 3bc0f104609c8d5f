//! The Mastodon API's reports, scheduled statuses and suggestions: the native ones.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{created, spawn_app, TestApp};
use crate::mastodon::{json_of, mastodon_token};

async fn report(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .request(Method::POST, "/api/v1/reports")
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("report sent");
    json_of(response).await
}

#[tokio::test]
async fn reports_file_native_reports_on_the_accounts_posts() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "sam", "read write").await;
    let (_, read_only, _, _) = mastodon_token(&app, "sol", "read").await;
    let tia = app.create_user("tia").await;
    let uma = app.create_user("uma").await;
    let first = created(&app, &tia, "/api/posts", json!({ "content": "buy now" })).await;
    let second = created(&app, &tia, "/api/posts", json!({ "content": "buy more" })).await;
    let elsewhere = created(&app, &uma, "/api/posts", json!({ "content": "mine" })).await;
    let own = created(&app, &me, "/api/posts", json!({ "content": "my own" })).await;
    let id = |post: &Value| post["id"].as_str().expect("id").to_owned();
    let reply = created(
        &app,
        &tia,
        &format!("/api/posts/{}/comments", id(&first)),
        json!({ "content": "a reply" }),
    )
    .await;

    let (status, filed) = report(
        &app,
        &token,
        json!({
            "account_id": tia.id,
            "status_ids": [id(&first), id(&second)],
            "comment": "Selling things",
            "category": "spam",
            "forward": true,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    assert_eq!(filed["category"], "spam");
    assert_eq!(filed["comment"], "Selling things");
    assert_eq!(filed["status_ids"], json!([id(&first), id(&second)]));
    assert_eq!(filed["target_account"]["id"], json!(tia.id));
    assert_eq!(filed["action_taken"], false);

    // Natively, the reports are there: filing again answers the earlier one (200, not 201).
    let again = app
        .post(
            &format!("/api/posts/{}/report", id(&second)),
            Some(&me.access),
            &json!({ "reason": "spam" }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);

    // A form works too (Rails-style arrays), and the category defaults to other.
    let response = app
        .request(Method::POST, "/api/v1/reports")
        .bearer_auth(&token)
        .form(&[
            ("account_id", uma.id.as_str()),
            ("status_ids[]", id(&elsewhere).as_str()),
        ])
        .send()
        .await
        .expect("report sent");
    let (status, filed) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    assert_eq!(filed["category"], "other");

    // Refused, and nothing filed: no statuses, a reply, another account's post, one's own
    // post, an unknown category; unknown accounts are 404; the scope is write:reports.
    for (body, field) in [
        (json!({ "account_id": tia.id }), "status_ids"),
        (
            json!({ "account_id": tia.id, "status_ids": [reply["id"]] }),
            "status_ids",
        ),
        (
            json!({ "account_id": tia.id, "status_ids": [id(&elsewhere)] }),
            "status_ids",
        ),
        (
            json!({ "account_id": me.id, "status_ids": [id(&own)] }),
            "post",
        ),
        (
            json!({ "account_id": tia.id, "status_ids": [id(&first)], "category": "boring" }),
            "category",
        ),
        (json!({ "status_ids": [id(&first)] }), "account_id"),
    ] {
        let (status, body) = report(&app, &token, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["error"].as_str().expect("error").contains(field),
            "{field}: {body}"
        );
    }
    for account in ["000000000000000000000000", "nope"] {
        let (status, _) = report(
            &app,
            &token,
            json!({ "account_id": account, "status_ids": [id(&first)] }),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{account}");
    }
    let (status, _) = report(
        &app,
        &read_only,
        json!({ "account_id": tia.id, "status_ids": [id(&first)] }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
