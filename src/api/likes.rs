//! Likes: API.md §4, and `GET /api/users/me/liked` of §3. A unique (post, user) index
//! decides each like. A like is one write: the document carries its effects (the post's
//! `like_count`, the author's notification, the liker's activity entry), which a worker
//! writes moments later (`jobs::effects`); until then the liker sees their own like in
//! `like_count` (`likes::Liked`).

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::Serialize;

use crate::api::state::AppState;
use crate::api::viewer::visible_post;
use crate::api::viewer::{ordered_user_views, PostAction, SignedIn, Viewer};
use crate::error::ApiError;
use crate::events::{Activity, Events};
use crate::pagination::{Page, PageParams};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::posts::PostDoc;
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
    let subject = Subject {
        post_id: Some(post.id),
        ..Subject::default()
    };
    // The author is notified (a like or comment across a block is refused before it is
    // written), and the action goes in the actor's log: both on the like itself.
    let events = Events::new()
        .notify([post.author_id], NotificationType::Like, me, subject)
        .record(me, Activity::on("post.like", "post", post.id));
    let like = likes::new(ObjectId::new(), post.id, me, events);
    if !likes::insert(&state.db, &like).await? {
        let like = LikeState {
            like_count: count_with_mine(state, post, me).await?,
            liked_by_me: true,
        };
        return Ok((like, false));
    }
    state.jobs.wake_effects();
    let like = LikeState {
        like_count: post.like_count + 1,
        liked_by_me: true,
    };
    Ok((like, true))
}

/// The post's `like_count` with the caller's existing like in it: on top of the count
/// read with the post while no worker has taken it; otherwise as the post has it once this
/// instance's workers are done with it.
async fn count_with_mine(state: &AppState, post: &PostDoc, me: ObjectId) -> Result<i64, ApiError> {
    let mine = likes::find(&state.db, post.id, me).await?;
    if mine
        .and_then(|like| like.effects)
        .is_some_and(|effects| effects.unclaimed())
    {
        return Ok(post.like_count + 1);
    }
    count_once_written(state, post).await
}

/// The post's `like_count` once this instance's effects batches under way are done: what
/// a like a worker holds (or has just counted) leaves it at.
async fn count_once_written(state: &AppState, post: &PostDoc) -> Result<i64, ApiError> {
    state.jobs.wait_for_effects().await;
    Ok(posts::find(&state.db, post.id)
        .await?
        .map_or(post.like_count, |p| p.like_count))
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
    let like_count = match likes::delete(&state.db, post.id, me).await? {
        Some(like) => {
            state
                .jobs
                .record(me, Activity::on("post.unlike", "post", post.id))
                .await?;
            if let Some(effects) = like.effects {
                if effects.unclaimed() {
                    // Never counted (nor its notification written): it goes with the like.
                    post.like_count
                } else {
                    // A worker holds it: its batch counts it out again when it finds it
                    // gone.
                    count_once_written(state, post).await?
                }
            } else {
                posts::add_to_counter(&state.db, post.id, "like_count", -1)
                    .await?
                    .ok_or(ApiError::NotFound)?
            }
        }
        None => post.like_count,
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
