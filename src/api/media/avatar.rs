//! The account's avatar: setting it from an upload, removing it.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse};

use crate::api::auth_user::AuthUser;
use crate::api::state::AppState;
use crate::domain::image_variants::Purpose;
use crate::domain::media::MediaKind;
use crate::error::ApiError;
use crate::store::media::{self};
use crate::store::{posts, users};
use crate::views::MeView;

use super::*;

/// Set the avatar
///
/// An image only; the previous avatar is deleted. Its sizes (`avatar_64`, `avatar_128`,
/// `avatar_256`, square WebP) are made before the answer: `GET /api/media/{id}/info` of
/// the file in `avatar_url` lists them.
#[utoipa::path(
    put,
    path = "/api/users/me/avatar",
    tag = "users",
    request_body(content = AvatarForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "User (me) with its new `avatar_url`.", body = crate::views::MeView),
        (status = 413, description = "`payload_too_large`."),
        (status = 415, description = "`unsupported_media_type`: not an image, or over 50 megapixels."),
        (status = 503, description = "`service_unavailable`: every image-decoding slot stayed busy; retry after `Retry-After` seconds."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn set_avatar(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let upload = receive_upload(
        &state,
        &req,
        auth.user_id,
        form,
        &[MediaKind::Image],
        Purpose::Avatar,
    )
    .await?;
    let url = upload.media.url();
    let before = users::set_avatar(&state.db, auth.user_id, Some((upload.media.id, url))).await?;
    let user = replace_avatar(&state, auth, before).await?;
    Ok(HttpResponse::Ok().json(MeView::new(&user)))
}

/// Remove the avatar
#[utoipa::path(
    delete,
    path = "/api/users/me/avatar",
    tag = "users",
    responses(
        (status = 200, description = "User (me) without avatar.", body = crate::views::MeView),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn remove_avatar(state: State, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let before = users::set_avatar(&state.db, auth.user_id, None).await?;
    let user = replace_avatar(&state, auth, before).await?;
    Ok(HttpResponse::Ok().json(MeView::new(&user)))
}

/// Deletes the avatar that was replaced, and returns the account as it is now.
pub(super) async fn replace_avatar(
    state: &AppState,
    auth: AuthUser,
    before: Option<users::UserDoc>,
) -> Result<users::UserDoc, ApiError> {
    let before = before.ok_or(ApiError::TokenInvalid)?;
    let user = auth.load(state).await?;
    posts::refresh_author(&state.db, &user).await?;
    if let Some(old) = before.avatar_media_id {
        media::delete(&state.db, old).await?;
    }
    Ok(user)
}
