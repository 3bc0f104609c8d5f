//! API.md §8 moderation, and reports and analytics of §4.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, ids_of, spawn_app, TestApp, TestUser, PASSWORD};

async fn set_role(app: &TestApp, user: &TestUser, role: &str) {
    let id = bson::oid::ObjectId::parse_str(&user.id).unwrap();
    rookery::store::users::collection(&app.db)
        .update_one(
            bson::doc! { "_id": id },
            bson::doc! { "$set": { "role": role } },
        )
        .await
        .unwrap();
}

async fn listed(app: &TestApp) -> Vec<String> {
    let page: Value = app.get("/api/posts", None).await.json().await.unwrap();
    ids_of(&page)
}

#[tokio::test]
async fn ordinary_users_get_403_on_every_moderation_route() {
    let app = spawn_app().await;
    let user = app.create_user("plain").await;
    app.create_user("other").await;
    assert_error(
        app.get("/api/reports", Some(&user.access)).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    )
    .await;
    let cases = [
        (
            "/api/reports/ffffffffffffffffffffffff",
            json!({ "status": "dismissed" }),
        ),
        ("/api/users/other/role", json!({ "role": "admin" })),
        ("/api/users/other/status", json!({ "disabled": true })),
    ];
    for (path, body) in cases {
        let response = app
            .send_json(Method::PATCH, path, Some(&user.access), &body)
            .await;
        assert_error(response, StatusCode::FORBIDDEN, "permission_denied").await;
    }
    assert_error(
        app.get("/api/reports", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn five_reports_hide_a_post_until_a_moderator_acts() {
    let app = spawn_app().await;
    let author = app.create_user("author").await;
    let moderator = app.create_user("moderator").await;
    set_role(&app, &moderator, "moderator").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "controversial" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = post["id"].as_str().unwrap().to_owned();
    let report_path = format!("/api/posts/{id}/report");

    let own = app
        .post(
            &report_path,
            Some(&author.access),
            &json!({ "reason": "spam" }),
        )
        .await;
    assert_error(own, StatusCode::BAD_REQUEST, "validation_error").await;
    let bad = app
        .post(
            &report_path,
            Some(&moderator.access),
            &json!({ "reason": "boring" }),
        )
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "validation_error").await;

    let reporters = join_all((0..5).map(|i| app.create_user_named(format!("reporter{i}")))).await;
    for (i, reporter) in reporters.iter().enumerate() {
        assert!(
            listed(&app).await.contains(&id),
            "visible before report {i}"
        );
        let first = app
            .post(
                &report_path,
                Some(&reporter.access),
                &json!({ "reason": "spam", "details": "again" }),
            )
            .await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let receipt: Value = first.json().await.unwrap();
        assert_eq!(receipt["status"], "open");
        let again = app
            .post(
                &report_path,
                Some(&reporter.access),
                &json!({ "reason": "spam" }),
            )
            .await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.json::<Value>().await.unwrap()["id"], receipt["id"]);
    }
    assert!(
        !listed(&app).await.contains(&id),
        "hidden after five distinct reports"
    );

    let open: Value = app
        .get("/api/reports?status=open", Some(&moderator.access))
        .await
        .json()
        .await
        .unwrap();
    let reports = open["results"].as_array().unwrap();
    assert_eq!(reports.len(), 5);
    assert_eq!(reports[0]["reason"], "spam");
    let report_id = reports[0]["id"].as_str().unwrap();
    let dismissed: Value = app
        .send_json(
            Method::PATCH,
            &format!("/api/reports/{report_id}"),
            Some(&moderator.access),
            &json!({ "status": "dismissed" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dismissed["status"], "dismissed");
    assert_eq!(dismissed["resolved_by"]["username"], "moderator");
    assert!(
        listed(&app).await.contains(&id),
        "back after the moderator acted"
    );
    let still_open: Value = app
        .get("/api/reports?status=open", Some(&moderator.access))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        still_open["results"].as_array().unwrap().is_empty(),
        "one decision covers the post's reports"
    );

    let new_report = app
        .post(
            &report_path,
            Some(&moderator.access),
            &json!({ "reason": "hate" }),
        )
        .await;
    let new_id = new_report.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = app
        .send_json(
            Method::PATCH,
            &format!("/api/reports/{new_id}"),
            Some(&moderator.access),
            &json!({ "status": "resolved", "remove_post": true }),
        )
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_error(
        app.get(&format!("/api/posts/{id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let invalid = app
        .send_json(
            Method::PATCH,
            &format!("/api/reports/{new_id}"),
            Some(&moderator.access),
            &json!({ "status": "open" }),
        )
        .await;
    assert_error(invalid, StatusCode::BAD_REQUEST, "validation_error").await;
}

#[tokio::test]
async fn admins_set_roles_and_staff_disable_accounts() {
    let app = spawn_app().await;
    let admin = app.create_user("admin").await;
    set_role(&app, &admin, "admin").await;
    let moderator = app.create_user("moderator").await;
    let user = app.create_user("someone").await;

    let promoted: Value = app
        .send_json(
            Method::PATCH,
            "/api/users/moderator/role",
            Some(&admin.access),
            &json!({ "role": "moderator" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(promoted["role"], "moderator");
    let bad_role = app
        .send_json(
            Method::PATCH,
            "/api/users/someone/role",
            Some(&admin.access),
            &json!({ "role": "king" }),
        )
        .await;
    assert_error(bad_role, StatusCode::BAD_REQUEST, "validation_error").await;
    let by_moderator = app
        .send_json(
            Method::PATCH,
            "/api/users/someone/role",
            Some(&moderator.access),
            &json!({ "role": "admin" }),
        )
        .await;
    assert_error(by_moderator, StatusCode::FORBIDDEN, "permission_denied").await;

    let disabled: Value = app
        .send_json(
            Method::PATCH,
            "/api/users/someone/status",
            Some(&moderator.access),
            &json!({ "disabled": true }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["username"], "someone");
    app.assert_access_refused(&user.access).await;
    assert_error(
        app.login("someone", PASSWORD).await,
        StatusCode::FORBIDDEN,
        "account_disabled",
    )
    .await;
    let on_admin = app
        .send_json(
            Method::PATCH,
            "/api/users/admin/status",
            Some(&moderator.access),
            &json!({ "disabled": true }),
        )
        .await;
    assert_error(on_admin, StatusCode::FORBIDDEN, "permission_denied").await;
    let enabled = app
        .send_json(
            Method::PATCH,
            "/api/users/someone/status",
            Some(&admin.access),
            &json!({ "disabled": false }),
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    assert_eq!(
        app.login("someone", PASSWORD).await.status(),
        StatusCode::OK
    );
    let self_change = app
        .send_json(
            Method::PATCH,
            "/api/users/admin/role",
            Some(&admin.access),
            &json!({ "role": "user" }),
        )
        .await;
    assert_error(self_change, StatusCode::BAD_REQUEST, "validation_error").await;
}

#[tokio::test]
async fn fifty_concurrent_views_by_distinct_users_are_counted_exactly() {
    let app = spawn_app().await;
    let author = app.create_user("author").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "popular" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = post["id"].as_str().unwrap().to_owned();
    let viewers = join_all((0..50).map(|i| app.create_user_named(format!("viewer{i}")))).await;
    let path = format!("/api/posts/{id}");
    let views = viewers.iter().map(|v| {
        app.request(Method::GET, &path)
            .bearer_auth(&v.access)
            .send()
    });
    assert!(join_all(views)
        .await
        .iter()
        .all(|r| r.as_ref().unwrap().status() == StatusCode::OK));
    // A second view by one viewer counts as a view but not as a new viewer; the author's not at all.
    app.get(&path, Some(&viewers[0].access)).await;
    app.get(&path, Some(&author.access)).await;
    app.post(
        &format!("{path}/like"),
        Some(&viewers[1].access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("{path}/comments"),
        Some(&viewers[2].access),
        &json!({ "content": "nice" }),
    )
    .await;

    let analytics: Value = app
        .get(&format!("{path}/analytics"), Some(&author.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(analytics["post_id"], id.as_str());
    assert_eq!(
        (
            analytics["views"].as_i64(),
            analytics["unique_viewers"].as_i64()
        ),
        (Some(51), Some(50))
    );
    assert_eq!(
        (analytics["likes"].as_i64(), analytics["comments"].as_i64()),
        (Some(1), Some(1))
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        analytics["daily"],
        json!([{ "date": today, "views": 51, "likes": 1, "comments": 1 }])
    );
    let other = app
        .get(&format!("{path}/analytics"), Some(&viewers[0].access))
        .await;
    assert_error(other, StatusCode::FORBIDDEN, "permission_denied").await;
}

/// The views of many posts go out in one batch of upserts: each post's day gets its own
/// count, and a later batch adds to the day's document instead of starting another.
#[tokio::test]
async fn views_of_several_posts_are_counted_per_post_across_flushes() {
    let app = spawn_app().await;
    let author = app.create_user("author").await;
    let viewer = app.create_user("viewer").await;
    let mut ids = Vec::new();
    for content in ["first", "second", "third"] {
        let post: Value = app
            .post(
                "/api/posts",
                Some(&author.access),
                &json!({ "content": content }),
            )
            .await
            .json()
            .await
            .unwrap();
        ids.push(post["id"].as_str().unwrap().to_owned());
    }
    let views_of = |id: &str| {
        let path = format!("/api/posts/{id}/analytics");
        let app = &app;
        let token = author.access.clone();
        async move {
            let analytics: Value = app.get(&path, Some(&token)).await.json().await.unwrap();
            analytics["daily"][0]["views"].as_i64()
        }
    };
    for (id, views) in ids.iter().zip([2, 1, 3]) {
        for _ in 0..views {
            let seen = app
                .get(&format!("/api/posts/{id}"), Some(&viewer.access))
                .await;
            assert_eq!(seen.status(), StatusCode::OK);
        }
    }
    // The first analytics read flushes all three posts' views at once.
    assert_eq!(views_of(&ids[0]).await, Some(2));
    assert_eq!(views_of(&ids[1]).await, Some(1));
    assert_eq!(views_of(&ids[2]).await, Some(3));

    app.get(&format!("/api/posts/{}", ids[0]), Some(&viewer.access))
        .await;
    assert_eq!(views_of(&ids[0]).await, Some(3));
    assert_eq!(views_of(&ids[2]).await, Some(3));
}
