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

async fn schedule(app: &TestApp, token: &str, text: &str, at: &str) -> String {
    let response = app
        .request(Method::POST, "/api/v1/statuses")
        .bearer_auth(token)
        .form(&[("status", text), ("scheduled_at", at)])
        .send()
        .await
        .expect("status sent");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = app
        .request(method, path)
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .expect("sent");
    json_of(response).await
}

#[tokio::test]
async fn scheduled_statuses_list_move_and_cancel_the_native_scheduled_posts() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "vic", "read write").await;
    let (_, read_only, _, _) = mastodon_token(&app, "wes", "read").await;
    let (_, other, _, _) = mastodon_token(&app, "xia", "read write").await;
    let later = schedule(&app, &token, "Title\n\nlater", "2031-01-01T00:00:00.000Z").await;
    let sooner = schedule(&app, &token, "sooner", "2030-01-01T00:00:00.000Z").await;
    let third = schedule(&app, &token, "third", "2032-01-01T00:00:00.000Z").await;
    schedule(&app, &other, "not yours", "2030-06-01T00:00:00.000Z").await;

    // Soonest first, one's own only, paged through Link.
    let response = app
        .get("/api/v1/scheduled_statuses?limit=2", Some(&token))
        .await;
    let link = response
        .headers()
        .get("link")
        .map(|l| l.to_str().expect("ascii").to_owned())
        .expect("a Link header");
    let (status, page) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids = |page: &Value| -> Vec<String> {
        page.as_array()
            .expect("list")
            .iter()
            .map(|s| s["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(&page), [sooner.clone(), later.clone()]);
    assert_eq!(page[1]["params"]["text"], "Title\n\nlater");
    assert_eq!(page[1]["scheduled_at"], "2031-01-01T00:00:00.000Z");
    let url = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .expect("a URL");
    let next = url::Url::parse(url).expect("absolute");
    let (status, page) = json_of(
        app.get(
            &format!("{}?{}", next.path(), next.query().unwrap_or_default()),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), [third.as_str()]);

    let (status, one) = json_of(
        app.get(&format!("/api/v1/scheduled_statuses/{later}"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(
        (status, one["id"].as_str()),
        (StatusCode::OK, Some(later.as_str()))
    );
    for (who, id) in [
        (&other, later.as_str()),
        (&token, "000000000000000000000000"),
        (&token, "nope"),
    ] {
        let (status, _) = json_of(
            app.get(&format!("/api/v1/scheduled_statuses/{id}"), Some(who))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
    }

    // Moved: refused into the past, without the scope or for someone else; then moved to
    // a moment from now, and published then (its job moved with it).
    let path = format!("/api/v1/scheduled_statuses/{later}");
    let (status, body) = send(
        &app,
        Method::PUT,
        &path,
        &token,
        &[("scheduled_at", "2001-01-01T00:00:00Z")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (status, _) = send(
        &app,
        Method::PUT,
        &path,
        &read_only,
        &[("scheduled_at", &soon)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&app, Method::PUT, &path, &other, &[("scheduled_at", &soon)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, moved) = send(&app, Method::PUT, &path, &token, &[("scheduled_at", &soon)]).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["scheduled_at"], json!(soon));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, shown) =
            json_of(app.get(&format!("/api/v1/statuses/{later}"), None).await).await;
        if status == StatusCode::OK {
            assert_eq!(shown["account"]["id"], json!(me.id));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "published in time");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, _) = json_of(app.get(&path, Some(&token)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no longer scheduled");

    // Cancelled: gone natively too.
    let path = format!("/api/v1/scheduled_statuses/{third}");
    let (status, _) = send(&app, Method::DELETE, &path, &other, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = send(&app, Method::DELETE, &path, &token, &[]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    app.settle().await;
    let mine: Value = app
        .get("/api/users/me/scheduled", Some(&me.access))
        .await
        .json()
        .await
        .expect("scheduled");
    let left: Vec<&str> = mine["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(left, [sooner.as_str()]);
}

#[tokio::test]
async fn suggestions_are_the_native_ranking_with_mastodon_sources() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "yan", "read").await;
    let (_, write_only, _, _) = mastodon_token(&app, "yul", "write").await;
    let friend = app.create_user("zed").await;
    app.create_user("fof").await;
    let fan = app.create_user("rustfan").await;
    let blocker = app.create_user("blocker").await;
    let ok = |r: reqwest::Response| assert!(r.status().is_success(), "{}", r.status());
    ok(app
        .post("/api/users/zed/follow", Some(&me.access), &json!({}))
        .await);
    ok(app
        .post("/api/users/fof/follow", Some(&friend.access), &json!({}))
        .await);
    ok(app
        .post(
            "/api/users/blocker/follow",
            Some(&friend.access),
            &json!({}),
        )
        .await);
    ok(app
        .post("/api/users/yan/block", Some(&blocker.access), &json!({}))
        .await);
    ok(app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            Some(&fan.access),
            &json!({ "interests": ["rust"] }),
        )
        .await);
    created(
        &app,
        &me,
        "/api/posts",
        json!({ "content": "I love #rust" }),
    )
    .await;

    let (status, v2) = json_of(app.get("/api/v2/suggestions", Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    let list = v2.as_array().expect("suggestions");
    let names: Vec<&str> = list
        .iter()
        .map(|s| s["account"]["username"].as_str().expect("username"))
        .collect();
    assert_eq!(names[..2], ["fof", "rustfan"], "{names:?}");
    assert_eq!(list[0]["sources"], json!(["friends_of_friends"]));
    assert_eq!(list[1]["sources"], json!(["similar_to_recently_followed"]));
    for excluded in ["yan", "zed", "blocker"] {
        assert!(!names.contains(&excluded), "{excluded} in {names:?}");
    }
    let (status, v1) = json_of(app.get("/api/v1/suggestions?limit=1", Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!(v1.as_array().map(Vec::len), Some(1));
    assert_eq!(v1[0]["username"], "fof");

    let (status, _) = json_of(app.get("/api/v2/suggestions", Some(&write_only)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = json_of(app.get("/api/v2/suggestions", None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = json_of(
        app.get("/api/v2/suggestions?limit=lots", Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn host_meta_points_at_webfinger_which_finds_local_accounts() {
    let app = spawn_app().await;
    app.create_user("zoe").await;
    let response = app.get("/.well-known/host-meta", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("application/xrd+xml"));
    let xrd = response.text().await.expect("body");
    let template = xrd
        .split("template=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("an lrdd template");
    let url = url::Url::parse(&template.replace("{uri}", "acct%3Azoe")).expect("a URL");
    assert_eq!(url.path(), "/.well-known/webfinger");
    let public = url::Url::parse(&app.settings.server.public_url).expect("public URL");
    let host = public.host_str().expect("host");
    let port = public.port().map(|p| format!(":{p}")).unwrap_or_default();
    let finger = |resource: &str| {
        format!(
            "/.well-known/webfinger?resource={}",
            url::form_urlencoded::byte_serialize(resource.as_bytes()).collect::<String>()
        )
    };

    for resource in [
        "acct:zoe",
        "acct:ZOE",
        &format!("acct:zoe@{host}{port}"),
        "@zoe",
    ] {
        let response = app.get(&finger(resource), None).await;
        let (status, jrd) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{resource}: {jrd}");
        assert_eq!(jrd["subject"], json!(format!("acct:zoe@{host}{port}")));
        assert!(jrd["links"][0]["href"]
            .as_str()
            .expect("profile")
            .ends_with("/@zoe"));
    }
    for resource in [
        "acct:zoe@elsewhere.example",
        "acct:nobody",
        "",
        "acct:000000000000000000000000",
    ] {
        let response = app.get(&finger(resource), None).await;
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{resource}");
        assert!(body["error"].is_string(), "{body}");
    }
}
