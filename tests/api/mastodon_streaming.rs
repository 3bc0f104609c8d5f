//! The Mastodon streaming socket: statuses, notifications, edits and deletions as they happen,
//! across instances, for what the socket's user may see.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{created, spawn_app, spawn_instance_of, test_mongodb_uri, TestApp};
use crate::mastodon::mastodon_token;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the socket with the token as its protocol, as Mastodon's web client does.
async fn open(app: &TestApp, token: &str, query: &str) -> Socket {
    let url = format!(
        "{}/api/v1/streaming?{query}",
        app.address.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().expect("a request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        token.parse().expect("a header value"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("socket opens");
    assert_eq!(
        response.headers()["sec-websocket-protocol"]
            .to_str()
            .expect("text"),
        token,
        "the protocol is echoed"
    );
    socket
}

/// The next event frame: `(stream, event, payload)`; `None` when the socket closes.
async fn next_event(socket: &mut Socket) -> Option<(Value, String, String)> {
    let wait = async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Text(text)) => {
                    let frame: Value = serde_json::from_str(&text).expect("JSON");
                    return Some((
                        frame["stream"].clone(),
                        frame["event"].as_str().expect("event").to_owned(),
                        frame["payload"]
                            .as_str()
                            .expect("payload as a string")
                            .to_owned(),
                    ));
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(15), wait)
        .await
        .expect("an event or a close within 15 s")
}

#[tokio::test]
async fn statuses_notifications_and_deletes_stream_across_instances() {
    let first = spawn_app().await;
    let second = spawn_instance_of(&first, &test_mongodb_uri(), |_| {}).await;
    let (me, token, _, _) = mastodon_token(&first, "tam", "read write follow").await;
    let uma = first.create_user("uma").await;
    let vic = first.create_user("vic").await;
    let response = first
        .post("/api/users/uma/follow", Some(&me.access), &json!({}))
        .await;
    assert!(response.status().is_success());
    let response = first
        .post("/api/users/tam/block", Some(&vic.access), &json!({}))
        .await;
    assert!(response.status().is_success());

    let mut socket = open(&second, &token, "stream=user").await;
    socket
        .send(Message::text(
            json!({ "type": "subscribe", "stream": "hashtag", "tag": "tea" }).to_string(),
        ))
        .await
        .expect("subscribe");
    // The subscription is read before the posts below are written: a status of one's own,
    // streamed back on `user`, says the socket is live.
    let mine = created(&first, &me, "/api/posts", json!({ "content": "ready" })).await;
    let (stream, event, payload) = next_event(&mut socket).await.expect("my own status");
    assert_eq!((stream, event.as_str()), (json!(["user"]), "update"));
    assert_eq!(
        serde_json::from_str::<Value>(&payload).expect("status")["id"],
        mine["id"]
    );

    // vic (who blocked tam) posts #tea first, then uma: only uma's reaches tam, on both
    // streams.
    created(
        &first,
        &vic,
        "/api/posts",
        json!({ "content": "hidden #tea" }),
    )
    .await;
    let post = created(
        &first,
        &uma,
        "/api/posts",
        json!({ "content": "hello #tea" }),
    )
    .await;
    let id = post["id"].as_str().expect("id").to_owned();
    let mut streams = Vec::new();
    while streams.len() < 2 {
        let (stream, event, payload) = next_event(&mut socket).await.expect("an update");
        assert_eq!(event, "update");
        let status: Value = serde_json::from_str(&payload).expect("a status");
        assert_eq!(status["id"], id.as_str(), "nothing of vic's");
        assert_eq!(status["account"]["username"], "uma");
        streams.push(stream);
    }
    assert!(
        streams.contains(&json!(["user"])) && streams.contains(&json!(["hashtag", "tea"])),
        "{streams:?}"
    );

    // A like of tam's status is a notification; a deletion is a delete.
    let like = first
        .post(
            &format!("/api/posts/{}/like", mine["id"].as_str().expect("id")),
            Some(&uma.access),
            &json!({}),
        )
        .await;
    assert_eq!(like.status(), StatusCode::CREATED);
    let (stream, event, payload) = next_event(&mut socket).await.expect("a notification");
    assert_eq!((stream, event.as_str()), (json!(["user"]), "notification"));
    let notification: Value = serde_json::from_str(&payload).expect("a notification");
    assert_eq!(notification["type"], "favourite");
    assert_eq!(notification["status"]["id"], mine["id"]);

    // An edit (native here) is a status.update on both streams, with the new text; the
    // like above sent none.
    let edited = first
        .request(reqwest::Method::PATCH, &format!("/api/posts/{id}"))
        .bearer_auth(&uma.access)
        .json(&json!({ "content": "hello again #tea" }))
        .send()
        .await
        .expect("edit");
    assert_eq!(edited.status(), StatusCode::OK);
    let mut updates = Vec::new();
    while updates.len() < 2 {
        let (stream, event, payload) = next_event(&mut socket).await.expect("an edit");
        assert_eq!(event, "status.update");
        let status: Value = serde_json::from_str(&payload).expect("a status");
        assert_eq!(status["id"], id.as_str());
        assert!(status["edited_at"].is_string(), "{status}");
        assert!(
            status["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("<p>hello again ")),
            "{status}"
        );
        updates.push(stream);
    }
    assert!(updates.contains(&json!(["hashtag", "tea"])), "{updates:?}");

    let deleted = first
        .request(reqwest::Method::DELETE, &format!("/api/posts/{id}"))
        .bearer_auth(&uma.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let mut deletes = Vec::new();
    while deletes.len() < 2 {
        let (stream, event, payload) = next_event(&mut socket).await.expect("a delete");
        assert_eq!((event.as_str(), payload.as_str()), ("delete", id.as_str()));
        deletes.push(stream);
    }

    // Ending the session closes the socket.
    let response = first
        .post("/api/auth/logout-all", Some(&me.access), &json!({}))
        .await;
    assert!(response.status().is_success());
    assert!(next_event(&mut socket).await.is_none(), "closed");
}

#[tokio::test]
async fn the_socket_needs_a_token_and_known_streams() {
    let app = spawn_app().await;
    let health = app.get("/api/v1/streaming/health", None).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.expect("text"), "OK");
    let url = format!(
        "{}/api/v1/streaming?stream=user",
        app.address.replacen("http", "ws", 1)
    );
    assert!(
        tokio_tungstenite::connect_async(url).await.is_err(),
        "no token, no socket"
    );
    let (_, token, _, _) = mastodon_token(&app, "wes", "read").await;
    let url = format!(
        "{}/api/v1/streaming?stream=nonsense&access_token={token}",
        app.address.replacen("http", "ws", 1)
    );
    assert!(
        tokio_tungstenite::connect_async(url).await.is_err(),
        "an unknown stream is refused"
    );
    let (_, write_only, _, _) = mastodon_token(&app, "xia", "write").await;
    let url = format!(
        "{}/api/v1/streaming?stream=user&access_token={write_only}",
        app.address.replacen("http", "ws", 1)
    );
    assert!(
        tokio_tungstenite::connect_async(url).await.is_err(),
        "no read scope, no stream"
    );
}
