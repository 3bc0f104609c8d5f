//! Posts: the rules every post route shares (who may see or change a post, its text,
//! media and group); the routes in `read` and `write`.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;

use crate::api::state::AppState;
use crate::api::viewer::Viewer;
use crate::error::ApiError;
use crate::pagination::{Page, PageParams};
use crate::store::date_cursor;
use crate::store::posts::{self, PostDoc, PostFilter};
use crate::views::posts::post_views;

pub mod read;
pub mod write;

type State = web::Data<AppState>;

async fn posts_page(
    state: &AppState,
    req: &HttpRequest,
    params: PageParams,
    viewer: &Viewer,
    mut filter: PostFilter,
) -> Result<HttpResponse, ApiError> {
    filter.hidden_authors = viewer.hidden();
    let page = posts::page_listed(
        &state.db,
        &state.list_horizon,
        &state.feed.first_pages,
        &filter,
        params.cursor,
        params.fetch_limit(),
    )
    .await?;
    let pace = page.pace;
    // How many the next page's cursor has coming before it: a hint (`Cursor::seen`).
    let seen = match params.cursor {
        None => Some(params.limit),
        Some(cursor) => cursor.seen.map(|seen| seen.saturating_add(params.limit)),
    };
    page_of_posts(state, req, params, viewer.id(), page.items, |p| {
        date_cursor(p.published_at, p.id)
            .with_pace(pace)
            .with_seen(seen)
    })
    .await
}

/// A page of post views from `fetch_limit()` documents.
async fn page_of_posts(
    state: &AppState,
    req: &HttpRequest,
    params: PageParams,
    viewer: Option<ObjectId>,
    items: Vec<PostDoc>,
    cursor_of: impl Fn(&PostDoc) -> crate::pagination::Cursor,
) -> Result<HttpResponse, ApiError> {
    let page = Page::from_items(req, params, items, cursor_of, |p| p);
    let results = post_views(&state.db, viewer, page.results).await?;
    Ok(Page::respond(results, page.next))
}
