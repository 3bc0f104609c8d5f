//! The WebSockets of API.md §7: `/api/notifications/ws` and `/api/activity/ws`.
//!
//! A socket authenticates with `?token=<access>` or the subprotocol header
//! `Sec-WebSocket-Protocol: bearer, <access>`; a bad token fails the handshake with `401`.
//! It is pinged every `realtime.ping_interval_secs` and closed when its session is revoked.

use std::collections::HashSet;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::api::auth_user::authenticate;
use crate::api::auth_user::AuthUser;
use crate::api::state::AppState;
use crate::error::{ApiError, FieldErrors};
use crate::realtime::{notification_frame, Channel, Push};
use crate::store::notifications;
use crate::views::posts::minis;
use crate::views::NotificationView;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// The access token (or send `Sec-WebSocket-Protocol: bearer, <token>`).
    token: Option<String>,
    /// Replay what arrived after this notification or activity id, then go live.
    since: Option<String>,
}

/// The access token of a handshake: `?token=`, or the second item of
/// `Sec-WebSocket-Protocol: bearer, <token>`.
fn handshake_token(req: &HttpRequest, query: &SocketQuery) -> Option<String> {
    if let Some(token) = query.token.as_deref().filter(|t| !t.is_empty()) {
        return Some(token.to_owned());
    }
    let protocols = req.headers().get("sec-websocket-protocol")?.to_str().ok()?;
    let mut items = protocols.split(',').map(str::trim);
    match (items.next(), items.next()) {
        (Some(scheme), Some(token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() =>
        {
            Some(token.to_owned())
        }
        _ => None,
    }
}

pub async fn open_socket(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<SocketQuery>,
    channel: Channel,
) -> Result<HttpResponse, ApiError> {
    let token = handshake_token(&req, &query).ok_or(ApiError::NotAuthenticated)?;
    let user = authenticate(&state, &token).await?;
    let since = match (&query.since, channel) {
        (Some(raw), Channel::Notifications) => Some(
            ObjectId::parse_str(raw)
                .map_err(|_| FieldErrors::single("since", "Enter the id of a notification."))?,
        ),
        _ => None,
    };
    let (response, session, messages) = actix_ws::handle_with_protocols(&req, body, &["bearer"])
        .map_err(|err| ApiError::BadRequest(format!("WebSocket handshake failed: {err}")))?;
    actix_web::rt::spawn(serve(state, user, channel, since, session, messages));
    Ok(response)
}

/// Sends what a reconnecting client missed, oldest first; returns their ids.
async fn replay(
    state: &AppState,
    user: ObjectId,
    since: ObjectId,
    session: &mut Session,
) -> Result<HashSet<ObjectId>, ApiError> {
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    let missed =
        notifications::after(&state.db, user, since, state.settings.realtime.replay_limit).await?;
    let actors = minis(&state.db, missed.iter().map(|n| n.actor_id)).await?;
    let mut sent = HashSet::new();
    for doc in &missed {
        if let Some(actor) = actors.get(&doc.actor_id) {
            let frame = notification_frame(&NotificationView::new(doc, actor.clone()));
            session
                .text(frame)
                .await
                .map_err(|_| ApiError::internal("socket closed"))?;
        }
        sent.insert(doc.id);
    }
    Ok(sent)
}

async fn serve(
    state: web::Data<AppState>,
    user: AuthUser,
    channel: Channel,
    since: Option<ObjectId>,
    mut session: Session,
    mut messages: MessageStream,
) {
    // Subscribed before the replay, so nothing falls between the two; what both carry is
    // sent once.
    let (subscription, mut pushes) = state.hub.subscribe(user.user_id, user.session_id, channel);
    let mut replayed = match since {
        Some(since) => match replay(&state, user.user_id, since, &mut session).await {
            Ok(sent) => sent,
            Err(err) => {
                log::warn!("socket replay failed: {err}");
                HashSet::new()
            }
        },
        None => HashSet::new(),
    };
    let mut ping = tokio::time::interval(Duration::from_secs(
        state.settings.realtime.ping_interval_secs.max(1),
    ));
    ping.tick().await;
    let close = loop {
        tokio::select! {
            push = pushes.recv() => match push {
                Some(Push::Message { id, text }) => {
                    if !replayed.remove(&id) && session.text(text).await.is_err() {
                        break None;
                    }
                }
                Some(Push::Close) | None => break Some(CloseReason {
                    code: CloseCode::Policy,
                    description: Some("session ended".into()),
                }),
            },
            _ = ping.tick() => {
                if session.ping(b"").await.is_err() {
                    break None;
                }
            }
            message = messages.recv() => match message {
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        break None;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                Some(Ok(_)) => {}
            },
        }
    };
    state.hub.unsubscribe(user.user_id, channel, subscription);
    let _ = session.close(close).await;
}
