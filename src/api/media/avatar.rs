//! The account's avatar: setting it from an upload, removing it.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse};

use crate::api::auth_user::AuthUser;
use crate::domain::image_variants::Purpose;
use crate::domain::media::MediaKind;
use crate::error::ApiError;
use crate::store::users::Picture;
use crate::views::MeView;

use super::*;
use crate::core::pictures::change_picture;

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
    let user = change_picture(&state, auth, Picture::Avatar, Some(&upload.media)).await?;
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
    let user = change_picture(&state, auth, Picture::Avatar, None).await?;
    Ok(HttpResponse::Ok().json(MeView::new(&user)))
}
