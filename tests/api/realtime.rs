//! API.md §7: notifications, the activity log, and their WebSockets across instances.

use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{
    assert_error, spawn_app, spawn_instance_of, test_mongodb_uri, TestApp, TestUser,
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(app: &TestApp, path: &str) -> String {
    format!("{}{path}", app.address.replacen("http", "ws", 1))
}

async fn connect(app: &TestApp, path: &str) -> Result<Socket, WsError> {
    tokio_tungstenite::connect_async(ws_url(app, path))
        .await
        .map(|(socket, _)| socket)
}

async fn notification_socket(app: &TestApp, user: &TestUser) -> Socket {
    connect(app, &format!("/api/notifications/ws?token={}", user.access))
        .await
        .expect("socket opens")
}

/// The next JSON frame, skipping pings; `None` when the server closes the socket.
async fn next_frame(socket: &mut Socket) -> Option<Value> {
    let wait = async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("a JSON frame"))
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("a frame or a close within 10 s")
}

async fn new_post(app: &TestApp, user: &TestUser, body: Value) -> String {
    let post: Value = app
        .post("/api/posts", Some(&user.access), &body)
        .await
        .json()
        .await
        .unwrap();
    post["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_like_on_one_instance_reaches_a_socket_on_another() {
    let first = spawn_app().await;
    let second = spawn_instance_of(&first, &test_mongodb_uri(), |_| {}).await;
    let alice = first.create_user("alice").await;
    let bob = first.create_user("bob").await;
    let post = new_post(&first, &alice, json!({ "content": "like me" })).await;

    let mut socket = notification_socket(&second, &alice).await;
    let like = first
        .post(
            &format!("/api/posts/{post}/like"),
            Some(&bob.access),
            &json!({}),
        )
        .await;
    assert_eq!(like.status(), StatusCode::CREATED);
    let frame = next_frame(&mut socket).await.expect("a notification");
    assert_eq!(frame["type"], "notification");
    let data = &frame["data"];
    assert_eq!(data["type"], "like");
    assert_eq!(data["actor"]["username"], "bob");
    assert_eq!(data["post_id"], post.as_str());
    assert_eq!(data["read"], false);
    assert!(data["id"].is_string() && data["created_at"].is_string());
}

#[tokio::test]
async fn nobody_hears_of_their_own_actions_or_across_a_block() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let carol = app.create_user("carol").await;
    app.create_user("bob").await;
    let bob = app.log_in_as("bob", "bob@example.com").await;
    let own = new_post(&app, &alice, json!({ "content": "mine" })).await;
    app.post("/api/users/carol/block", Some(&alice.access), &json!({}))
        .await;

    let mut socket = notification_socket(&app, &alice).await;
    app.post(
        &format!("/api/posts/{own}/like"),
        Some(&alice.access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("/api/posts/{own}/comments"),
        Some(&alice.access),
        &json!({ "content": "me" }),
    )
    .await;
    new_post(&app, &carol, json!({ "content": "hey @alice" })).await;
    app.post("/api/users/alice/follow", Some(&carol.access), &json!({}))
        .await;
    // Then something that does notify: it must be the first frame.
    app.post("/api/users/alice/follow", Some(&bob.access), &json!({}))
        .await;
    let frame = next_frame(&mut socket).await.expect("the follow");
    assert_eq!(
        (
            frame["data"]["type"].as_str(),
            frame["data"]["actor"]["username"].as_str()
        ),
        (Some("follow"), Some("bob"))
    );
    let listed: Value = app
        .get("/api/notifications", Some(&alice.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn logging_out_closes_the_socket() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let mut socket = notification_socket(&app, &alice).await;
    assert_eq!(
        app.post("/api/auth/logout", Some(&alice.access), &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(next_frame(&mut socket).await.is_none(), "the socket closes");
}

#[tokio::test]
async fn a_bad_or_missing_token_fails_the_handshake_with_401() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    for path in [
        "/api/notifications/ws?token=garbage",
        "/api/notifications/ws",
        "/api/activity/ws?token=x.y.z",
    ] {
        match connect(&app, path).await {
            Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 401, "{path}"),
            other => panic!(
                "{path}: expected a 401 handshake, got {:?}",
                other.map(|_| "a socket")
            ),
        }
    }
    app.post("/api/auth/logout", Some(&alice.access), &json!({}))
        .await;
    let revoked = connect(
        &app,
        &format!("/api/notifications/ws?token={}", alice.access),
    )
    .await;
    assert!(matches!(revoked, Err(WsError::Http(ref r)) if r.status().as_u16() == 401));
}

#[tokio::test]
async fn the_bearer_subprotocol_authenticates_and_is_echoed() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let mut request = ws_url(&app, "/api/notifications")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("bearer, {}", alice.access).parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("socket opens on the list path");
    assert_eq!(response.headers()["sec-websocket-protocol"], "bearer");
    app.post("/api/users/alice/follow", Some(&bob.access), &json!({}))
        .await;
    assert_eq!(
        next_frame(&mut socket).await.unwrap()["data"]["type"],
        "follow"
    );
    socket.close(None).await.unwrap();
}

#[tokio::test]
async fn a_reconnecting_client_first_gets_what_it_missed_in_order() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let fans: Vec<TestUser> =
        futures::future::join_all((0..3).map(|i| app.create_user_named(format!("fan{i}")))).await;
    for fan in &fans {
        app.post("/api/users/alice/follow", Some(&fan.access), &json!({}))
            .await;
    }
    let listed: Value = app
        .get("/api/notifications", Some(&alice.access))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let (oldest, missed) = (ids[2], [ids[1], ids[0]]);

    let mut socket = connect(
        &app,
        &format!(
            "/api/notifications/ws?token={}&since={oldest}",
            alice.access
        ),
    )
    .await
    .unwrap();
    for expected in missed {
        assert_eq!(
            next_frame(&mut socket).await.unwrap()["data"]["id"],
            expected
        );
    }
    let bob = app.create_user("bob").await;
    app.post("/api/users/alice/follow", Some(&bob.access), &json!({}))
        .await;
    assert_eq!(
        next_frame(&mut socket).await.unwrap()["data"]["actor"]["username"],
        "bob"
    );
    assert!(connect(
        &app,
        &format!("/api/notifications/ws?token={}&since=nope", alice.access)
    )
    .await
    .is_err());
}

#[tokio::test]
async fn the_activity_list_and_socket_both_see_posts_and_follows() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    app.create_user("bob").await;
    let mut socket = connect(&app, &format!("/api/activity/ws?token={}", alice.access))
        .await
        .unwrap();
    let post = new_post(&app, &alice, json!({ "content": "hello" })).await;
    app.post("/api/users/bob/follow", Some(&alice.access), &json!({}))
        .await;

    let first = next_frame(&mut socket).await.unwrap();
    assert_eq!(first["type"], "activity");
    assert_eq!(
        (
            first["data"]["action"].as_str(),
            first["data"]["target_id"].as_str()
        ),
        (Some("post.create"), Some(post.as_str()))
    );
    let second = next_frame(&mut socket).await.unwrap();
    assert_eq!(
        (
            second["data"]["action"].as_str(),
            second["data"]["target_type"].as_str()
        ),
        (Some("user.follow"), Some("user"))
    );

    let all: Value = app
        .get("/api/activity", Some(&alice.access))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[..2], ["user.follow", "post.create"]);
    assert!(actions.contains(&"auth.login"));
    let filtered: Value = app
        .get("/api/activity?action=post.create", Some(&alice.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["results"].as_array().unwrap().len(), 1);
    assert_error(
        app.get("/api/activity", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;

    let alias = connect(&app, &format!("/api/activity-log?token={}", alice.access)).await;
    assert!(alias.is_ok());
}

#[tokio::test]
async fn notifications_are_listed_counted_and_marked_read() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let post = new_post(&app, &alice, json!({ "content": "notice me" })).await;
    app.post("/api/users/alice/follow", Some(&bob.access), &json!({}))
        .await;
    app.post(
        &format!("/api/posts/{post}/like"),
        Some(&bob.access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("/api/posts/{post}/comments"),
        Some(&bob.access),
        &json!({ "content": "hi" }),
    )
    .await;
    new_post(&app, &bob, json!({ "content": "cc @alice" })).await;
    // The mention is written by the post's publication job.
    app.settle().await;

    let unread: Value = app
        .get("/api/notifications/unread-count", Some(&alice.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread["count"], 4);
    let list: Value = app
        .get("/api/notifications?limit=10", Some(&alice.access))
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["mention", "comment", "like", "follow"]);
    assert!(list["results"][1]["comment_id"].is_string());

    let newest = list["results"][0]["id"].clone();
    let read_one = app
        .post(
            "/api/notifications/read",
            Some(&alice.access),
            &json!({ "ids": [newest] }),
        )
        .await;
    assert_eq!(read_one.status(), StatusCode::NO_CONTENT);
    let unread_list: Value = app
        .get("/api/notifications?unread=true", Some(&alice.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread_list["results"].as_array().unwrap().len(), 3);
    let bad = app
        .post(
            "/api/notifications/read",
            Some(&alice.access),
            &json!({ "ids": ["nope"] }),
        )
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "validation_error").await;
    let all = app
        .request(Method::POST, "/api/notifications/read")
        .bearer_auth(&alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(all.status(), StatusCode::NO_CONTENT);
    let unread: Value = app
        .get("/api/notifications/unread-count", Some(&alice.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread["count"], 0);
    assert_error(
        app.get("/api/notifications", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn followers_hear_when_a_scheduled_post_is_published() {
    let app = spawn_app().await;
    let author = app.create_user("author").await;
    let fan = app.create_user("fan").await;
    app.post("/api/users/author/follow", Some(&fan.access), &json!({}))
        .await;
    let mut socket = notification_socket(&app, &fan).await;
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(3000);
    let post = new_post(
        &app,
        &author,
        json!({ "content": "soon", "publish_at": at.to_rfc3339() }),
    )
    .await;
    let frame = next_frame(&mut socket).await.expect("post_published");
    assert_eq!(
        (
            frame["data"]["type"].as_str(),
            frame["data"]["post_id"].as_str()
        ),
        (Some("post_published"), Some(post.as_str()))
    );
}

#[tokio::test]
async fn a_dropped_change_stream_resumes_without_losing_or_repeating_events() {
    let direct = spawn_app().await;
    let proxy =
        crate::helpers::TcpProxy::start(crate::helpers::host_port_of(&test_mongodb_uri())).await;
    let proxied_uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", proxy.port);
    let behind_proxy =
        spawn_instance_of(&direct, &proxied_uri, |s| s.database.timeout_secs = 1).await;
    let alice = direct.create_user("alice").await;
    let carol = direct.create_user("carol").await;
    let bob = direct.create_user("bob").await;
    let dave = direct.create_user("dave").await;

    let mut socket = notification_socket(&behind_proxy, &alice).await;
    direct
        .post("/api/users/alice/follow", Some(&carol.access), &json!({}))
        .await;
    assert_eq!(
        next_frame(&mut socket).await.unwrap()["data"]["actor"]["username"],
        "carol"
    );

    proxy.cut();
    direct
        .post("/api/users/alice/follow", Some(&bob.access), &json!({}))
        .await;
    proxy.reopen();
    let resumed = next_frame(&mut socket)
        .await
        .expect("the event from the gap");
    assert_eq!(resumed["data"]["actor"]["username"], "bob");
    direct
        .post("/api/users/alice/follow", Some(&dave.access), &json!({}))
        .await;
    assert_eq!(
        next_frame(&mut socket).await.unwrap()["data"]["actor"]["username"],
        "dave",
        "bob's came once"
    );
}

#[tokio::test]
async fn sockets_are_pinged_on_the_configured_interval() {
    let app = crate::helpers::spawn_app_with(|s| s.realtime.ping_interval_secs = 1).await;
    let alice = app.create_user("alice").await;
    let mut socket = notification_socket(&app, &alice).await;
    let ping = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Ping(_))) => return true,
                Some(Ok(_)) => {}
                _ => return false,
            }
        }
    })
    .await;
    assert_eq!(ping, Ok(true), "a ping within a few seconds");
}
