//! Mastodon's streaming API: `GET /api/v1/streaming/health` and the WebSocket
//! `/api/v1/streaming`, with the streams `user`, `user:notification`, `public`,
//! `public:local` and `hashtag` (`tag`), chosen by `stream` at the handshake or by
//! `subscribe` and `unsubscribe` messages. Events are `update` (a status), `notification`,
//! `delete` (a status id) and `status.update` (an edited status), each `{"stream": [...], "event": …, "payload": "<JSON>"}`.
//!
//! Where the events come from, on every instance (as the native sockets do):
//! - notifications: the native hub's change stream on `notifications`;
//! - `update`: a change stream on `timelines` inserts. An entry in X's timeline is a new
//!   status in X's home (`user`); the entry in its author's own timeline, written once
//!   per post, is a new public status (`public`, `hashtag`);
//! - `delete` and `status.update`: a change stream on `posts` deletes, and on the
//!   updates of an edit (the only ones that set `edited`).
//!
//! The two change streams open with the first Mastodon socket of the instance, so an
//! instance nobody streams from pays nothing for them. A status is shown as its author's
//! status would be to that socket's user: a block either way, a private group the user
//! is not in, or a hidden post keeps it from them. The token comes in `access_token` or
//! as the `Sec-WebSocket-Protocol` (echoed back); its session's end closes the socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use bson::oid::ObjectId;
use futures::StreamExt;
use mongodb::change_stream::event::{ChangeStreamEvent, OperationType};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::auth::{caller_of, user_of, User};
use crate::api::state::AppState;
use crate::db::Db;
use crate::error::{ApiError, FieldErrors};
use crate::realtime::{Channel, Push};
use crate::store::notifications;
use crate::store::posts::{self, PostStatus};
use crate::store::sessions::Also;
use crate::store::timelines::TimelineBatch;

/// What the change streams tell the sockets of this instance.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// `post` entered `owner`'s timeline; `own` when `owner` is its author (once per post).
    Update {
        owner: ObjectId,
        post: ObjectId,
        own: bool,
    },
    /// `post` was deleted.
    Delete { post: ObjectId },
    /// `post` was edited.
    Edit { post: ObjectId },
}

/// The Mastodon sockets of this instance.
#[derive(Default)]
pub struct Streams {
    sockets: Mutex<HashMap<u64, UnboundedSender<Event>>>,
    next: AtomicU64,
    started: tokio::sync::OnceCell<()>,
}

impl Streams {
    fn add(&self) -> (u64, UnboundedReceiver<Event>) {
        let (sender, receiver) = unbounded_channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut all) = self.sockets.lock() {
            all.insert(id, sender);
        }
        (id, receiver)
    }

    fn remove(&self, id: u64) {
        if let Ok(mut all) = self.sockets.lock() {
            all.remove(&id);
        }
    }

    fn send(&self, event: Event) {
        if let Ok(all) = self.sockets.lock() {
            for sender in all.values() {
                let _ = sender.send(event);
            }
        }
    }

    /// Opens the change streams once, with the instance's first Mastodon socket.
    async fn start(self: &Arc<Self>, db: &Db) -> mongodb::error::Result<()> {
        let streams = self.clone();
        self.started
            .get_or_try_init(|| async move {
                let timelines = crate::store::timelines::collection(db);
                let mut inserts = timelines
                    .watch()
                    .pipeline([bson::doc! { "$match": { "operationType": "insert" } }])
                    .await?;
                let posts = posts::collection(db);
                // Deletes, and the updates of an edit (which alone set `edited`).
                let mut changes = posts
                    .watch()
                    .pipeline([bson::doc! { "$match": { "$or": [
                        { "operationType": "delete" },
                        {
                            "operationType": "update",
                            "updateDescription.updatedFields.edited": { "$exists": true },
                        },
                    ] } }])
                    .await?;
                let on_insert = streams.clone();
                tokio::spawn(async move {
                    while let Some(event) = inserts.next().await {
                        let Ok(ChangeStreamEvent {
                            full_document:
                                Some(TimelineBatch {
                                    owner_id, entries, ..
                                }),
                            ..
                        }) = event
                        else {
                            continue;
                        };
                        for entry in entries {
                            on_insert.send(Event::Update {
                                owner: owner_id,
                                post: entry.post_id,
                                own: owner_id == entry.author_id,
                            });
                        }
                    }
                    log::warn!("the timelines change stream for Mastodon sockets ended");
                });
                tokio::spawn(async move {
                    while let Some(event) = changes.next().await {
                        let Ok(event) = event else { continue };
                        let Some(id) = event
                            .document_key
                            .as_ref()
                            .and_then(|key| key.get_object_id("_id").ok())
                        else {
                            continue;
                        };
                        streams.send(match event.operation_type {
                            OperationType::Delete => Event::Delete { post: id },
                            _ => Event::Edit { post: id },
                        });
                    }
                    log::warn!("the posts change stream for Mastodon sockets ended");
                });
                Ok::<(), mongodb::error::Error>(())
            })
            .await
            .map(|_| ())
    }
}

/// `GET /api/v1/streaming/health`.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("OK")
}

/// A stream a socket follows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stream {
    User,
    UserNotification,
    Public,
    PublicLocal,
    Hashtag(String),
}

impl Stream {
    fn parse(name: &str, tag: Option<&str>) -> Result<Self, String> {
        Ok(match name {
            "user" => Stream::User,
            "user:notification" => Stream::UserNotification,
            "public" | "public:remote" => Stream::Public,
            "public:local" => Stream::PublicLocal,
            "hashtag" | "hashtag:local" => Stream::Hashtag(
                tag.and_then(crate::domain::posts::normalise_tag)
                    .ok_or_else(|| "a hashtag stream needs tag".to_owned())?,
            ),
            other => return Err(format!("unknown stream: {other}")),
        })
    }

    /// The `stream` array of its events.
    fn names(&self) -> Value {
        match self {
            Stream::User => json!(["user"]),
            Stream::UserNotification => json!(["user:notification"]),
            Stream::Public => json!(["public"]),
            Stream::PublicLocal => json!(["public:local"]),
            Stream::Hashtag(tag) => json!(["hashtag", tag]),
        }
    }

    fn scope(&self) -> &'static str {
        match self {
            Stream::UserNotification => "read:notifications",
            _ => "read:statuses",
        }
    }
}

fn frame(stream: &Stream, event: &str, payload: &str) -> String {
    json!({ "stream": stream.names(), "event": event, "payload": payload }).to_string()
}

/// The token of a handshake: `access_token`, or the `Sec-WebSocket-Protocol` header
/// (which is then echoed back, as browsers require).
fn handshake_token(req: &HttpRequest) -> Option<(String, bool)> {
    if let Some(Ok(token)) = super::auth::token_of(req) {
        return Some((token, false));
    }
    let protocol = req.headers().get("sec-websocket-protocol")?.to_str().ok()?;
    let token = protocol.split(',').next()?.trim();
    (!token.is_empty()).then(|| (token.to_owned(), true))
}

/// `GET /api/v1/streaming` (WebSocket): `stream` (and `tag`) to start with one.
pub async fn socket(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (token, as_protocol) = handshake_token(&req).ok_or(ApiError::NotAuthenticated)?;
    let user = user_of(caller_of(&state, &token, Also::default()).await?)?;
    let query = super::params::Params::of_query(&req).0;
    let first = match query.get("stream").and_then(Value::as_str) {
        Some(name) => {
            let stream = Stream::parse(name, query.get("tag").and_then(Value::as_str))
                .map_err(|why| FieldErrors::single("stream", why))?;
            user.need(stream.scope())?;
            Some(stream)
        }
        None => None,
    };
    state.mastodon_streams.start(&state.db).await?;
    let protocols: Vec<&str> = if as_protocol {
        vec![token.as_str()]
    } else {
        Vec::new()
    };
    let (response, session, messages) = actix_ws::handle_with_protocols(&req, body, &protocols)
        .map_err(|err| ApiError::BadRequest(format!("WebSocket handshake failed: {err}")))?;
    actix_web::rt::spawn(serve(state, user, first, session, messages));
    Ok(response)
}

/// What one socket does with an event: the frames it sends (none when it follows no
/// stream the event is for, or may not see the status).
async fn frames_for(
    state: &AppState,
    user: &User,
    streams: &[Stream],
    event: Event,
) -> Vec<String> {
    match event {
        Event::Delete { post } => {
            let text = post.to_hex();
            streams
                .iter()
                .filter(|s| **s != Stream::UserNotification)
                .map(|s| frame(s, "delete", &text))
                .collect()
        }
        Event::Update { owner, post, own } => {
            let me = user.me.user_id;
            let wanted: Vec<&Stream> = streams
                .iter()
                .filter(|s| match s {
                    Stream::User => owner == me,
                    Stream::Public | Stream::PublicLocal | Stream::Hashtag(_) => own,
                    Stream::UserNotification => false,
                })
                .collect();
            status_frames(state, user, wanted, post, "update").await
        }
        // An edit goes to every stream but notifications, for whoever may see the status:
        // apps change the status where they show it and ignore it elsewhere.
        Event::Edit { post } => {
            let wanted: Vec<&Stream> = streams
                .iter()
                .filter(|s| **s != Stream::UserNotification)
                .collect();
            status_frames(state, user, wanted, post, "status.update").await
        }
    }
}

/// The `event` frames, with status `post` as the user may see it, for the streams
/// `wanted` (a hashtag stream only when the status carries its tag).
async fn status_frames(
    state: &AppState,
    user: &User,
    wanted: Vec<&Stream>,
    post: ObjectId,
    event: &str,
) -> Vec<String> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(Some(post)) = posts::find(&state.db, post).await else {
        return Vec::new();
    };
    if post.status != PostStatus::Published || !user.viewer.can_list_post(&post) {
        return Vec::new();
    }
    let hashtags = post.hashtags.clone();
    let me = user.me.user_id;
    let Ok(mut shown) = super::statuses::statuses(state, Some(me), vec![post]).await else {
        return Vec::new();
    };
    let Some(status) = shown.pop() else {
        return Vec::new();
    };
    let text = status.to_string();
    wanted
        .into_iter()
        .filter(|s| match s {
            Stream::Hashtag(tag) => hashtags.iter().any(|h| h == tag),
            _ => true,
        })
        .map(|s| frame(s, event, &text))
        .collect()
}

/// The `notification` frames of notification `id` for the socket's user.
async fn notification_frames(
    state: &AppState,
    user: &User,
    streams: &[Stream],
    id: ObjectId,
) -> Vec<String> {
    let wanted: Vec<&Stream> = streams
        .iter()
        .filter(|s| matches!(s, Stream::User | Stream::UserNotification))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(Some(doc)) = notifications::find_for(&state.db, user.me.user_id, id).await else {
        return Vec::new();
    };
    let Ok(mut entities) = super::notifications::entities(state, user.me.user_id, &[doc]).await
    else {
        return Vec::new();
    };
    let Some(entity) = entities.pop() else {
        return Vec::new();
    };
    let text = entity.to_string();
    wanted
        .into_iter()
        .map(|s| frame(s, "notification", &text))
        .collect()
}

/// A client's `subscribe` or `unsubscribe`.
fn apply(user: &User, streams: &mut Vec<Stream>, text: &str) -> Option<String> {
    let message: Value = serde_json::from_str(text).ok()?;
    let kind = message.get("type").and_then(Value::as_str)?;
    let stream = match Stream::parse(
        message
            .get("stream")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        message.get("tag").and_then(Value::as_str),
    ) {
        Ok(stream) => stream,
        Err(why) => return Some(json!({ "error": why }).to_string()),
    };
    match kind {
        "subscribe" => {
            if user.need(stream.scope()).is_err() {
                return Some(
                    json!({ "error": "This action is outside the authorized scopes" }).to_string(),
                );
            }
            if !streams.contains(&stream) {
                streams.push(stream);
            }
        }
        "unsubscribe" => streams.retain(|s| *s != stream),
        _ => {}
    }
    None
}

async fn serve(
    state: web::Data<AppState>,
    user: User,
    first: Option<Stream>,
    mut session: Session,
    mut messages: MessageStream,
) {
    let mut streams: Vec<Stream> = first.into_iter().collect();
    let (subscription, mut pushes) =
        state
            .hub
            .subscribe(user.me.user_id, user.me.session_id, Channel::Mastodon);
    let (socket_id, mut events) = state.mastodon_streams.add();
    let mut ping = tokio::time::interval(Duration::from_secs(
        state.settings.realtime.ping_interval_secs.max(1),
    ));
    ping.tick().await;
    let close = loop {
        let frames = tokio::select! {
            push = pushes.recv() => match push {
                Some(Push::Message { id, .. }) => notification_frames(&state, &user, &streams, id).await,
                Some(Push::Close) | None => break Some(CloseReason {
                    code: CloseCode::Policy,
                    description: Some("session ended".into()),
                }),
            },
            event = events.recv() => match event {
                Some(event) => frames_for(&state, &user, &streams, event).await,
                None => break None,
            },
            _ = ping.tick() => {
                if session.ping(b"").await.is_err() {
                    break None;
                }
                Vec::new()
            }
            message = messages.recv() => match message {
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        break None;
                    }
                    Vec::new()
                }
                Some(Ok(Message::Text(text))) => apply(&user, &mut streams, &text).into_iter().collect(),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                Some(Ok(_)) => Vec::new(),
            },
        };
        let mut gone = false;
        for text in frames {
            if session.text(text).await.is_err() {
                gone = true;
                break;
            }
        }
        if gone {
            break None;
        }
    };
    state.mastodon_streams.remove(socket_id);
    state
        .hub
        .unsubscribe(user.me.user_id, Channel::Mastodon, subscription);
    let _ = session.close(close).await;
}
