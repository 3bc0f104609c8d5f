//! Rate limiting (issue 10): per address and per account on the account endpoints, per
//! user on writes, counted in the database so that every instance shares one count.

use reqwest::{Response, StatusCode};
use rookery::config::{Rule, Settings};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, spawn_app, spawn_app_on, spawn_app_with, spawn_instance_of, test_mongodb_uri,
    TestApp,
};

/// A window so long that no test run straddles two of them.
const LONG: u64 = 1_000_000_000;

fn limited(settings: &mut Settings) {
    settings.rate_limit.enabled = true;
    // The tests' requests come from loopback: it stands for the deployment's proxy.
    settings.rate_limit.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    settings.rate_limit.login = Rule {
        limit: 3,
        window_secs: LONG,
    };
    settings.rate_limit.likes = Rule {
        limit: 2,
        window_secs: LONG,
    };
}

async fn login_from(app: &TestApp, address: &str, login: &str) -> Response {
    app.request(reqwest::Method::POST, "/api/auth/login")
        .header("X-Forwarded-For", address)
        .json(&json!({ "login": login, "password": "wrong-password-1" }))
        .send()
        .await
        .unwrap()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn assert_rate_limited(response: Response) {
    let retry_after: u64 = header(&response, "retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=LONG).contains(&retry_after));
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn logins_count_per_address_and_per_account_and_the_one_over_gets_429() {
    let app = spawn_app_with(limited).await;
    // One account tried from three addresses: the account's count reaches the limit.
    for (i, address) in ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().enumerate() {
        let response = login_from(&app, address, "victim").await;
        assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            header(&response, "ratelimit-remaining").as_deref(),
            Some("2")
        );
        assert!(
            header(&response, "ratelimit-reset").is_some(),
            "attempt {i}"
        );
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    assert_rate_limited(login_from(&app, "10.0.0.4", "VICTIM").await).await;

    // One address trying many accounts meets the address's limit.
    for other in ["other_a", "other_b"] {
        let response = login_from(&app, "10.0.0.4", other).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let over = login_from(&app, "10.0.0.4", "other_c").await;
    assert_rate_limited(over).await;
}

/// Behind a proxy that appends what it saw, the left-most hops are the client's own
/// claim: rotating them must not give a client a fresh count.
#[tokio::test]
async fn a_client_rotating_its_claimed_address_still_meets_the_limit() {
    let app = spawn_app_with(limited).await;
    for (i, account) in ["rot_a", "rot_b", "rot_c"].iter().enumerate() {
        let claimed = format!("198.51.100.{i}, 203.0.113.7");
        let response = login_from(&app, &claimed, account).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{claimed}");
    }
    assert_rate_limited(login_from(&app, "198.51.100.99, 203.0.113.7", "rot_d").await).await;
    // The address the proxy saw is the one limited; another client is not.
    let other = login_from(&app, "203.0.113.8", "rot_e").await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);

    // From a peer that is not a trusted proxy the header is ignored altogether.
    let direct = spawn_app_with(|settings| {
        limited(settings);
        settings.rate_limit.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    for i in 0..3 {
        let response = login_from(&direct, &format!("10.0.0.{i}"), "direct").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(login_from(&direct, "10.0.0.200", "direct_other").await).await;
}

#[tokio::test]
async fn likes_count_per_user_across_instances() {
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    let first = spawn_app_on(&test_mongodb_uri(), &database, limited).await;
    let second = spawn_instance_of(&first, &test_mongodb_uri(), limited).await;
    let author = first.create_user("limit_author").await;
    let fan = first.create_user("limit_fan").await;
    let other = first.create_user("limit_other").await;
    let post: Value = first
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "hi" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let like = format!("/api/posts/{}/like", post["id"].as_str().unwrap());

    let liked = first.post(&like, Some(&fan.access), &json!({})).await;
    assert_eq!(liked.status(), StatusCode::CREATED);
    assert_eq!(header(&liked, "ratelimit-remaining").as_deref(), Some("1"));
    let unliked = second
        .request(reqwest::Method::DELETE, &like)
        .bearer_auth(&fan.access)
        .send()
        .await
        .unwrap();
    assert_eq!(unliked.status(), StatusCode::OK);
    assert_rate_limited(second.post(&like, Some(&fan.access), &json!({})).await).await;
    assert_rate_limited(first.post(&like, Some(&fan.access), &json!({})).await).await;

    // Another user has a count of their own, and reads are not limited.
    let theirs = first.post(&like, Some(&other.access), &json!({})).await;
    assert_eq!(theirs.status(), StatusCode::CREATED);
    let read = first.get("/api/posts", Some(&fan.access)).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert!(header(&read, "ratelimit-limit").is_none());
}

#[tokio::test]
async fn with_limiting_off_nothing_is_counted() {
    let app = spawn_app().await;
    assert!(!app.settings.rate_limit.enabled);
    for _ in 0..5 {
        let response = login_from(&app, "10.0.0.9", "nobody").await;
        assert!(header(&response, "ratelimit-limit").is_none());
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let windows = app
        .db
        .database()
        .collection::<bson::Document>("rate_limits")
        .count_documents(bson::doc! {})
        .await
        .unwrap();
    assert_eq!(windows, 0);
}
