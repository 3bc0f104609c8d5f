//! Scheduled statuses: one's own scheduled posts (`POST /api/v1/statuses` with
//! `scheduled_at` makes them), listed, read, moved to another time and cancelled through
//! the native scheduled posts.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::User;
use super::edits::post_text;
use super::params::{self, Params};
use super::statuses::attachment;
use crate::api::state::AppState;
use crate::core::posts::{parse_publish_at, remove_post, reschedule_post};
use crate::error::{ApiError, FieldErrors};
use crate::store::posts::{self, PostDoc, PostStatus};
use crate::views::posts::post_views;

type State = web::Data<AppState>;

/// The `ScheduledStatus` entities of one's scheduled posts, in order (their files once
/// processed).
pub async fn scheduled_statuses(
    state: &AppState,
    me: ObjectId,
    posts: Vec<PostDoc>,
) -> Result<Vec<Value>, ApiError> {
    let views = post_views(&state.db, Some(me), posts).await?;
    Ok(views
        .iter()
        .map(|view| {
            let media: Vec<Value> = view.media.iter().map(|m| attachment(state, m)).collect();
            json!({
                "id": view.id,
                "scheduled_at": view.publish_at,
                "params": {
                    "text": post_text(&view.title, &view.content),
                    "visibility": "public",
                    "media_ids": view.media.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
                    "sensitive": false,
                    "spoiler_text": null,
                    "in_reply_to_id": null,
                    "scheduled_at": null,
                    "poll": null,
                    "language": null,
                    "idempotency": null,
                    "application_id": null,
                    "with_rate_limit": false,
                },
                "media_attachments": media,
            })
        })
        .collect())
}

/// One's own scheduled post `raw`, or `404`.
async fn own_scheduled(state: &AppState, user: &User, raw: &str) -> Result<PostDoc, ApiError> {
    let id = ObjectId::parse_str(raw.trim()).map_err(|_| ApiError::NotFound)?;
    posts::find(&state.db, id)
        .await?
        .filter(|p| p.author_id == user.me.user_id && p.status == PostStatus::Scheduled)
        .ok_or(ApiError::NotFound)
}

async fn one(state: &AppState, user: &User, post: PostDoc) -> Result<HttpResponse, ApiError> {
    let shown = scheduled_statuses(state, user.me.user_id, vec![post])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(shown))
}

/// `GET /api/v1/scheduled_statuses` (`read:statuses`): one's scheduled posts, soonest
/// first; `limit` 1–40 (default 20), `Link` to the next page.
pub async fn list(state: State, req: HttpRequest, user: User) -> Result<HttpResponse, ApiError> {
    user.need("read:statuses")?;
    let (limit, cursor) = params::page_params(&req, 20, 40)?;
    let mut items = posts::page_scheduled(&state.db, user.me.user_id, cursor, limit + 1).await?;
    let more = items.len() as i64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(20));
    let next = items
        .last()
        .filter(|_| more)
        .map(|last| (last.id, last.published_at));
    let body = scheduled_statuses(&state, user.me.user_id, items).await?;
    let mut response = HttpResponse::Ok();
    if let Some((id, date)) = next {
        response.insert_header(super::next_link(&state, &req, limit, id, date));
    }
    Ok(response.json(body))
}

/// `GET /api/v1/scheduled_statuses/{id}` (`read:statuses`): one's own, `404` otherwise.
pub async fn get(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.need("read:statuses")?;
    let post = own_scheduled(&state, &user, &path).await?;
    one(&state, &user, post).await
}

#[derive(Deserialize)]
struct Reschedule {
    #[serde(default, deserialize_with = "params::text")]
    scheduled_at: Option<String>,
}

/// `PUT /api/v1/scheduled_statuses/{id}` (`write:statuses`): moves it to `scheduled_at`
/// (a time in the future), its publication with it.
pub async fn update(
    state: State,
    user: User,
    path: web::Path<String>,
    form: Params,
) -> Result<HttpResponse, ApiError> {
    user.need("write:statuses")?;
    let form: Reschedule = form.take()?;
    let id = ObjectId::parse_str(path.trim()).map_err(|_| ApiError::NotFound)?;
    let raw = form
        .scheduled_at
        .ok_or_else(|| FieldErrors::single("scheduled_at", "is required"))?;
    let at = parse_publish_at(&raw).map_err(|m| FieldErrors::single("scheduled_at", &m))?;
    // Moved only when it is one's own and still scheduled (else `404`), in one command.
    let moved = reschedule_post(&state, user.me.user_id, id, at).await?;
    one(&state, &user, moved).await
}

/// `DELETE /api/v1/scheduled_statuses/{id}` (`write:statuses`): cancels it (the native
/// removal of the post); `{}`.
pub async fn cancel(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.need("write:statuses")?;
    let post = own_scheduled(&state, &user, &path).await?;
    remove_post(&state, user.me.user_id, &post).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}
