//! The home timeline: `GET /api/feed` (alias `GET /api/posts/feed`), API.md §4.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::auth_user::AuthUser;
use crate::api::state::AppState;
use crate::error::ApiError;
use crate::feed::{cursor_of, home_feed};
use crate::pagination::{Page, PageParams};
use crate::views::posts::post_views_liked;

/// The home feed
///
/// Published posts of the accounts the viewer follows and the viewer's own, newest first.
#[utoipa::path(
    get,
    path = "/api/feed",
    tag = "posts",
    responses(
        (status = 200, description = "A page of posts.", body = Page<crate::views::posts::PostView>),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn get_feed(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    params: PageParams,
) -> Result<HttpResponse, ApiError> {
    let feed = home_feed(
        &state.feed,
        auth.user_id,
        params.cursor,
        params.fetch_limit(),
    )
    .await?;
    let pace = feed.pace;
    let page = Page::from_items(&req, params, feed.posts, |p| cursor_of(p, pace), |p| p);
    let results = post_views_liked(&state.db, page.results, feed.liked).await?;
    Ok(Page::respond(results, page.next))
}
