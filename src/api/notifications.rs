//! Notifications: API.md §7.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::api::auth_user::AuthUser;
use crate::api::extract::MaybeJson;
use crate::api::sockets::{open_socket, SocketQuery};
use crate::api::state::AppState;
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Cursor, Page, PageParams};
use crate::realtime::Channel;
use crate::store::notifications;
use crate::views::posts::minis;
use crate::views::NotificationView;

type State = web::Data<AppState>;

/// Notifications as they happen (WebSocket)
///
/// Also `GET /api/notifications` with `Upgrade: websocket`. Authenticate with `?token=`
/// or `Sec-WebSocket-Protocol: bearer, <token>`; each frame is `{"type": "notification", "data": Notification}`.
#[utoipa::path(
    get,
    path = "/api/notifications/ws",
    tag = "notifications",
    params(crate::api::sockets::SocketQuery),
    responses(
        (status = 101, description = "Switching Protocols: JSON frames `{type, data}` follow."),
        (status = 400, description = "Not a WebSocket handshake, or a malformed `since`."),
        (status = 401, description = "No valid access token."),
    )
)]
pub(crate) async fn notification_socket(
    state: State,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<SocketQuery>,
) -> Result<HttpResponse, ApiError> {
    open_socket(state, req, body, query, Channel::Notifications).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only unread ones.
    unread: Option<bool>,
}

/// The viewer's notifications, newest first
///
/// With `Upgrade: websocket`, this path is the notification socket.
#[utoipa::path(
    get,
    path = "/api/notifications",
    tag = "notifications",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of notifications.", body = Page<crate::views::NotificationView>),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn list_notifications(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
    params: PageParams,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    let unread_only = query.unread.unwrap_or(false);
    let items = notifications::page(
        &state.db,
        auth.user_id,
        unread_only,
        params.cursor.map(|c| c.id),
        params.fetch_limit(),
    )
    .await?;
    let page = Page::from_items(&req, params, items, |n| Cursor::at(n.id), |n| n);
    let actors = minis(&state.db, page.results.iter().map(|n| n.actor_id)).await?;
    let results: Vec<NotificationView> = page
        .results
        .iter()
        .filter_map(|n| Some(NotificationView::new(n, actors.get(&n.actor_id)?.clone())))
        .collect();
    Ok(Page::respond(results, page.next))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Count {
    count: u64,
}

/// How many notifications are unread
#[utoipa::path(
    get,
    path = "/api/notifications/unread-count",
    tag = "notifications",
    responses(
        (status = 200, description = "The count.", body = Count),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn unread_count(state: State, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    let count = notifications::unread_count(&state.db, auth.user_id).await?;
    Ok(HttpResponse::Ok().json(Count { count }))
}

/// The most ids one `POST /api/notifications/read` takes (a page is at most 100).
const MARK_AT_ONCE: usize = 100;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ReadRequest {
    /// The notifications to mark read; none: all of them.
    ids: Option<Vec<String>>,
}

/// Mark notifications read
#[utoipa::path(
    post,
    path = "/api/notifications/read",
    tag = "notifications",
    request_body(content = Option<ReadRequest>, description = "Optional: without `ids`, all are marked."),
    responses(
        (status = 204, description = "Marked."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn mark_read(
    state: State,
    auth: AuthUser,
    MaybeJson(body): MaybeJson<ReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let ids = match body.and_then(|b| b.ids) {
        Some(raw) if raw.len() > MARK_AT_ONCE => {
            return Err(FieldErrors::single(
                "ids",
                format!("Mark at most {MARK_AT_ONCE} notifications at once, or send none for all."),
            ))
        }
        Some(raw) => Some(
            raw.iter()
                .map(|id| ObjectId::parse_str(id.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| FieldErrors::single("ids", "Each id must be a notification id."))?,
        ),
        None => None,
    };
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    notifications::mark_read(&state.db, auth.user_id, ids.as_deref()).await?;
    Ok(HttpResponse::NoContent().finish())
}
