//! Moderation: reports, roles and account status; and a post's analytics for its author.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::api::state::AppState;
use crate::api::viewer::visible_post;
use crate::api::viewer::SignedIn;
use crate::error::ApiError;
use crate::store::users::Role;
use crate::store::{post_stats, posts};

pub mod accounts;
pub mod reporting;

type State = web::Data<AppState>;

const STAFF: &[Role] = &[Role::Moderator, Role::Admin];

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DayView {
    date: String,
    views: i64,
    likes: i64,
    comments: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Analytics {
    post_id: String,
    views: i64,
    unique_viewers: u64,
    likes: i64,
    comments: i64,
    daily: Vec<DayView>,
}

/// A post's analytics (its author only)
///
/// Views per day and unique viewers are written in batches, every `posts.view_flush_ms`
/// (1 s) per instance; this instance's own are written before answering.
#[utoipa::path(
    get,
    path = "/api/posts/{id}/analytics",
    tag = "moderation",
    responses(
        (status = 200, description = "Views, unique viewers, likes, comments, and the same by day.", body = Analytics),
        (status = 403, description = "`permission_denied`: not its author."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn post_analytics(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    if post.author_id != auth.user_id {
        return Err(ApiError::permission_denied());
    }
    // This instance's latest views first (the others' arrive within posts.view_flush_ms).
    crate::jobs::flush_views(&state.jobs, &state.views).await?;
    state.jobs.drain(crate::jobs::JobKind::Views).await;
    // And the likes and comments written here, counted (`jobs::effects`).
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    let post = posts::find(&state.db, post.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let daily = post_stats::daily(&state.db, post.id)
        .await?
        .into_iter()
        .map(|(date, d)| DayView {
            date,
            views: d.views,
            likes: d.likes,
            comments: d.comments,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Analytics {
        post_id: post.id.to_hex(),
        views: post.view_count,
        unique_viewers: post_stats::unique_viewers(&state.db, post.id).await?,
        likes: post.like_count,
        comments: post.comment_count,
        daily,
    }))
}
