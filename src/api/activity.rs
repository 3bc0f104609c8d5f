//! The activity log: API.md §7.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::auth_user::AuthUser;
use crate::api::sockets::{open_socket, SocketQuery};
use crate::api::state::AppState;
use crate::error::ApiError;
use crate::pagination::{Cursor, Page, PageParams};
use crate::realtime::Channel;
use crate::store::activities;
use crate::views::ActivityView;

type State = web::Data<AppState>;

/// The viewer's activity as it happens (WebSocket)
///
/// Authenticate with `?token=` or `Sec-WebSocket-Protocol: bearer, <token>`.
#[utoipa::path(
    get,
    path = "/api/activity/ws",
    tag = "activity",
    params(crate::api::sockets::SocketQuery),
    responses(
        (status = 101, description = "Switching Protocols: JSON frames `{type, data}` follow."),
        (status = 400, description = "Not a WebSocket handshake, or a malformed `since`."),
        (status = 401, description = "No valid access token."),
    )
)]
pub(crate) async fn activity_socket(
    state: State,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<SocketQuery>,
) -> Result<HttpResponse, ApiError> {
    open_socket(state, req, body, query, Channel::Activity).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this action, e.g. `post.create`.
    action: Option<String>,
}

/// The viewer's own activity, newest first
#[utoipa::path(
    get,
    path = "/api/activity",
    tag = "activity",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of activity.", body = Page<crate::views::ActivityView>),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn list_activity(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
    params: PageParams,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    let action = query.action.as_deref().filter(|a| !a.is_empty());
    let items = activities::page(
        &state.db,
        auth.user_id,
        action,
        params.cursor.map(|c| c.id),
        params.fetch_limit(),
    )
    .await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |a| Cursor::at(a.id),
        |a| ActivityView::new(&a),
    );
    Ok(page.into_response())
}
