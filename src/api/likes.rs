//! Likes: API.md §4, and `GET /api/users/me/liked` of §3. A unique (post, user) index
//! decides each like; the counter moves only when an insert or delete really happened, so
//! `like_count` is exact under concurrent requests.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::api::state::AppState;
use crate::api::viewer::visible_post;
use crate::api::viewer::{ordered_user_views, PostAction, SignedIn, Viewer};
use crate::error::ApiError;
use crate::events::{Activity, Events};
use crate::pagination::{Page, PageParams};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::{date_cursor, likes, posts};
use crate::views::posts::post_views;

type State = web::Data<AppState>;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LikeState {
    pub like_count: i64,
    pub liked_by_me: bool,
}

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

/// Likes the action's post (once: `false` when it was liked already), notifying its
/// author: the one path of the native like and the RealWorld favourite.
pub(crate) async fn like(
    state: &AppState,
    action: &PostAction,
) -> Result<(LikeState, bool), ApiError> {
    let post = action.post_to_interact_with()?;
    let me = action.me.user_id;
    if !likes::insert(&state.db, post.id, me).await? {
        let like = LikeState {
            like_count: post.like_count,
            liked_by_me: true,
        };
        return Ok((like, false));
    }
    let Some(like_count) = posts::add_to_counter(&state.db, post.id, "like_count", 1).await? else {
        // The post was deleted between the read and the insert: leave nothing behind.
        likes::delete(&state.db, post.id, me).await?;
        return Err(ApiError::NotFound);
    };
    let subject = Subject {
        post_id: Some(post.id),
        ..Subject::default()
    };
    // The author is notified (a like or comment across a block is refused before it is
    // written), and the action goes in the actor's log: one job, written before the answer.
    let events = Events::new()
        .notify([post.author_id], NotificationType::Like, me, subject)
        .record(me, Activity::on("post.like", "post", post.id));
    state.jobs.events(events).await?;
    let like = LikeState {
        like_count,
        liked_by_me: true,
    };
    Ok((like, true))
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

/// Takes the caller's like of the action's post back, if there was one.
pub(crate) async fn unlike(state: &AppState, action: &PostAction) -> Result<LikeState, ApiError> {
    let post = action.reachable_post()?;
    let me = action.me.user_id;
    let like_count = if likes::delete(&state.db, post.id, me).await? {
        state
            .jobs
            .record(me, Activity::on("post.unlike", "post", post.id))
            .await?;
        posts::add_to_counter(&state.db, post.id, "like_count", -1)
            .await?
            .ok_or(ApiError::NotFound)?
    } else {
        post.like_count
    };
    Ok(LikeState {
        like_count,
        liked_by_me: false,
    })
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
