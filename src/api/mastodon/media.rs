//! Media: `POST /api/v2/media` (and the older `/api/v1/media`), `GET` and `PUT
//! /api/v1/media/{id}`, through the native upload: the type read from the bytes, the
//! metadata stripped, a preview and a blurhash made, videos processed by their job.
//! `description` is the file's alternative text.

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;
use serde_json::Value;

use super::auth::User;
use super::params::{self, Params};
use super::statuses::attachment;
use crate::api::media::receive_upload;
use crate::api::state::AppState;
use crate::domain::image_variants::Purpose;
use crate::domain::media::MediaKind;
use crate::error::{ApiError, FieldErrors};
use crate::store::media::{self, MediaDoc, MediaStatus};
use crate::views::MediaView;

type State = web::Data<AppState>;

/// The longest alternative text, in characters (Mastodon's).
const DESCRIPTION_CHARS: usize = 1500;

fn checked_description(raw: Option<&str>) -> Result<Option<&str>, ApiError> {
    match raw.map(str::trim) {
        Some(text) if text.chars().count() > DESCRIPTION_CHARS => Err(FieldErrors::single(
            "description",
            format!("is too long (at most {DESCRIPTION_CHARS} characters)"),
        )),
        Some("") | None => Ok(None),
        Some(text) => Ok(Some(text)),
    }
}

/// The `MediaAttachment` of a file: while a video is processed, its `url` is `null`, as
/// Mastodon shows it (the original is never served: it may carry metadata).
fn attachment_of(state: &AppState, media: &MediaDoc) -> Value {
    let view = MediaView::new(media);
    let mut shown = attachment(state, &view);
    if media.metadata.status != MediaStatus::Ready {
        shown["url"] = Value::Null;
        shown["preview_url"] = Value::Null;
    }
    shown
}

/// `POST /api/v2/media` (`write:media`): `200` with the attachment when it is ready (an
/// image), `202` while it is processed (a video).
pub async fn upload(
    state: State,
    req: HttpRequest,
    user: User,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    user.need("write:media")?;
    let upload = receive_upload(
        &state,
        &req,
        user.me.user_id,
        form,
        &[MediaKind::Image, MediaKind::Video],
        Purpose::Post,
    )
    .await?;
    let mut stored = upload.media;
    let description = match checked_description(upload.description.as_deref()) {
        Ok(d) => d,
        Err(err) => {
            media::delete(&state.db, stored.id).await?;
            return Err(err);
        }
    };
    if let Some(text) = description {
        if let Some(updated) =
            media::set_description(&state.db, stored.id, user.me.user_id, Some(text)).await?
        {
            stored = updated;
        }
    }
    let body = attachment_of(&state, &stored);
    Ok(if stored.metadata.status == MediaStatus::Processing {
        HttpResponse::Accepted().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// `POST /api/v1/media`: the same, always `200` (as Mastodon's older path answers).
pub async fn upload_v1(
    state: State,
    req: HttpRequest,
    user: User,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let mut response = upload(state, req, user, form).await?;
    *response.status_mut() = actix_web::http::StatusCode::OK;
    Ok(response)
}

async fn own_file(state: &AppState, user: &User, raw: &str) -> Result<MediaDoc, ApiError> {
    let id = ObjectId::parse_str(raw.trim()).map_err(|_| ApiError::NotFound)?;
    media::find(&state.db, id)
        .await?
        .filter(|m| m.metadata.owner_id == user.me.user_id)
        .ok_or(ApiError::NotFound)
}

/// `GET /api/v1/media/{id}` (`write:media`): one's own upload; `206` while it is
/// processed, `422` when it could not be.
pub async fn get(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.need("write:media")?;
    let file = own_file(&state, &user, &path).await?;
    match file.metadata.status {
        MediaStatus::Ready => Ok(HttpResponse::Ok().json(attachment_of(&state, &file))),
        MediaStatus::Processing => {
            Ok(HttpResponse::PartialContent().json(attachment_of(&state, &file)))
        }
        MediaStatus::Failed => Err(FieldErrors::single(
            "file",
            file.metadata
                .failure
                .clone()
                .unwrap_or_else(|| "could not be processed".to_owned()),
        )),
    }
}

#[derive(Deserialize)]
struct Change {
    #[serde(default, deserialize_with = "params::text")]
    description: Option<String>,
}

/// `PUT /api/v1/media/{id}` (`write:media`): its `description` (`focus` changes nothing).
pub async fn update(
    state: State,
    user: User,
    path: web::Path<String>,
    form: Params,
) -> Result<HttpResponse, ApiError> {
    user.need("write:media")?;
    let change: Change = form.take()?;
    let file = own_file(&state, &user, &path).await?;
    let description = checked_description(change.description.as_deref())?;
    let updated = media::set_description(&state.db, file.id, user.me.user_id, description)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(attachment_of(&state, &updated)))
}
