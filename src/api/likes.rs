//! Likes: API.md §4, and `GET /api/users/me/liked` of §3; liking itself is
//! `core::likes`.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::state::AppState;
use crate::api::viewer::visible_post;
use crate::api::viewer::{ordered_user_views, PostAction, SignedIn, Viewer};
use crate::core::likes::{like, unlike, LikeState};
use crate::error::ApiError;
use crate::pagination::{Page, PageParams};
use crate::store::{date_cursor, likes, posts};
use crate::views::posts::post_views;

type State = web::Data<AppState>;

/// Like a post
#[utoipa::path(
    post,
    path = "/api/posts/{id}/like",
    tag = "likes",
    responses(
        (status = 201, description = "Liked.", body = LikeState),
        (status = 200, description = "Already liked.", body = LikeState),
        (status = 403, description = "`blocked`: a block stands between you and the author."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn like_post(action: PostAction, state: State) -> Result<HttpResponse, ApiError> {
    let (like, created) = like(&state, &action).await?;
    Ok(crate::api::extract::created_or_ok(created).json(like))
}

/// Take a like back
#[utoipa::path(
    delete,
    path = "/api/posts/{id}/like",
    tag = "likes",
    responses(
        (status = 200, description = "Not liked (also when it was not).", body = LikeState),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn unlike_post(
    action: PostAction,
    state: State,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(unlike(&state, &action).await?))
}

/// Who liked a post, most recent first
#[utoipa::path(
    get,
    path = "/api/posts/{id}/likes",
    tag = "likes",
    responses(
        (status = 200, description = "A page of users.", body = Page<crate::views::UserView>),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn post_likers(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    let items = likes::page_for_post(
        &state.db,
        post.id,
        &viewer.hidden(),
        params.cursor,
        params.fetch_limit(),
    )
    .await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |l| date_cursor(l.created_at, l.id),
        |l| l.user_id,
    );
    let results = ordered_user_views(&state, &viewer, &page.results).await?;
    Ok(Page::respond(results, page.next))
}

/// The posts the viewer liked, most recently liked first
#[utoipa::path(
    get,
    path = "/api/users/me/liked",
    tag = "likes",
    responses(
        (status = 200, description = "A page of posts.", body = Page<crate::views::posts::PostView>),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn my_liked_posts(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    req: HttpRequest,
    params: PageParams,
) -> Result<HttpResponse, ApiError> {
    let items =
        likes::page_by_user(&state.db, auth.user_id, params.cursor, params.fetch_limit()).await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |l| date_cursor(l.created_at, l.id),
        |l| l.post_id,
    );
    let ids = page.results;
    let mut found: HashMap<_, _> = posts::find_many(&state.db, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let ordered = ids
        .iter()
        .filter_map(|id| found.remove(id))
        .filter(|p| viewer.can_list_post(p))
        .collect();
    let results = post_views(&state.db, Some(auth.user_id), ordered).await?;
    Ok(Page::respond(results, page.next))
}
