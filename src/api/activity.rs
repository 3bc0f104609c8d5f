//! The activity log: API.md §7.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::sockets::{open_socket, SocketQuery};
use crate::api::views::ActivityView;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::pagination::{Cursor, Page, PageParams};
use crate::realtime::Channel;
use crate::startup::AppState;
use crate::store::activities;

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/activity").route(web::get().to(list_activity)))
        .service(web::resource("/activity/ws").route(web::get().to(activity_socket)))
        .service(web::resource("/activity-log").route(web::get().to(activity_socket)));
}

// GET /api/activity/ws (alias GET /api/activity-log)
async fn activity_socket(
    state: State,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<SocketQuery>,
) -> Result<HttpResponse, ApiError> {
    open_socket(state, req, body, query, Channel::Activity).await
}

#[derive(Deserialize)]
struct ListQuery {
    action: Option<String>,
}

// GET /api/activity?action= — the caller's own, newest first.
async fn list_activity(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
    params: PageParams,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
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
        |a| Cursor {
            key: None,
            id: a.id,
        },
        |a| ActivityView::new(&a),
    );
    Ok(page.into_response())
}
