//! Media: API.md §5, and the avatar routes of §3: reading multipart forms, whose files go
//! through `core::media::store_file`. Uploads stream into GridFS as they
//! arrive (a few hundred kilobytes held at most); downloads stream out of it with ranges.

use actix_multipart::{Field, Multipart};
use actix_web::http::header::{self};
use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;

use std::time::Duration;

use crate::api::auth_user::AuthUser;
use crate::api::extract::{body_timeout, next_chunk};
use crate::api::state::AppState;
use crate::core::media::{store_file, Chunks};
use crate::domain::image_variants::Purpose;
use crate::domain::media::MediaKind;
use crate::error::{ApiError, FieldErrors};
use crate::store::media::{self, MediaDoc, MediaStatus};
use crate::store::{posts, users};
use crate::views::MediaView;
use bytes::Bytes;

pub mod avatar;
pub mod download;

type State = web::Data<AppState>;

/// The longest text field accepted beside the file.
const TEXT_FIELD_BYTES: usize = 1024;

/// The longest alternative text, in bytes (Mastodon's 1 500 characters, in UTF-8).
pub(crate) const DESCRIPTION_BYTES: usize = 6000;

fn multipart_error(err: actix_multipart::MultipartError) -> ApiError {
    ApiError::BadRequest(format!(
        "Send the upload as multipart/form-data with the file in a field named \"file\" ({err})."
    ))
}

/// The multipart form of an upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct UploadForm {
    /// The file: JPEG, PNG, GIF or WebP image; MP4, WebM or QuickTime video (checked by content).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `POST /api/posts/videos` only: one of the caller's posts to attach the upload to.
    post_id: Option<String>,
}

/// The multipart form of an avatar.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct AvatarForm {
    /// A JPEG, PNG, GIF or WebP image.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A form field read chunk by chunk; it remembers reaching its end, because a multipart
/// field must not be polled again after that.
pub(crate) struct Incoming {
    field: Field,
    ended: bool,
    /// The longest pause allowed between chunks (`408` past it).
    idle: Duration,
}

impl Incoming {
    fn new(field: Field, idle: Duration) -> Self {
        Self {
            field,
            ended: false,
            idle,
        }
    }

    async fn drain(&mut self) -> Result<(), ApiError> {
        while self.next_chunk().await?.is_some() {}
        Ok(())
    }
}

impl Chunks for Incoming {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        if self.ended {
            return Ok(None);
        }
        let chunk = next_chunk(&mut self.field, self.idle)
            .await?
            .transpose()
            .map_err(multipart_error)?;
        self.ended = chunk.is_none();
        Ok(chunk)
    }
}

/// A whole upload request: the stored file, and the text fields beside it.
pub(crate) struct Upload {
    pub media: MediaDoc,
    post_id: Option<String>,
    /// Alternative text sent beside the file (`description`, as Mastodon apps send it).
    pub description: Option<String>,
}

pub(crate) async fn receive_upload(
    state: &AppState,
    req: &HttpRequest,
    owner: ObjectId,
    form: Multipart,
    allowed: &[MediaKind],
    purpose: Purpose,
) -> Result<Upload, ApiError> {
    let mut received = receive_form(
        state,
        req,
        owner,
        form,
        &[FileField {
            name: "file",
            allowed,
            purpose,
        }],
        |name| match name {
            "post_id" => Some(TEXT_FIELD_BYTES),
            "description" => Some(DESCRIPTION_BYTES),
            _ => None,
        },
    )
    .await?;
    let text = |name: &str| {
        received
            .texts
            .iter()
            .rfind(|(n, _)| n == name)
            .map(|(_, t)| t.trim().to_owned())
    };
    let (post_id, description) = (text("post_id"), text("description"));
    match received.files.pop() {
        Some((_, media)) => Ok(Upload {
            media,
            post_id,
            description,
        }),
        None => Err(FieldErrors::single("file", "This field is required.")),
    }
}

/// A file a multipart form may carry: its field's name, the kinds accepted (checked by
/// content) and the variants to make.
pub(crate) struct FileField<'a> {
    pub name: &'a str,
    pub allowed: &'a [MediaKind],
    pub purpose: Purpose,
}

/// What a multipart form carried: each file stored (by field name, the first of each
/// name), and each text field kept (in order, names repeated as sent).
pub(crate) struct ReceivedForm {
    pub files: Vec<(String, MediaDoc)>,
    pub texts: Vec<(String, String)>,
}

/// Reads a multipart form: each of `files` through the upload pipeline (the type read
/// from the bytes, metadata stripped, variants made), each text field `text_bytes` names
/// a limit for (read up to one byte more, so a caller can tell an overlong one); other
/// fields are skipped. Each field waits at most the body timeout for its next bytes. On
/// any failure the files already stored are deleted.
pub(crate) async fn receive_form(
    state: &AppState,
    req: &HttpRequest,
    owner: ObjectId,
    mut form: Multipart,
    files: &[FileField<'_>],
    text_bytes: impl Fn(&str) -> Option<usize>,
) -> Result<ReceivedForm, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let largest = state
        .settings
        .media
        .max_image_bytes
        .max(state.settings.media.max_video_bytes);
    let most_files = u64::try_from(files.len()).unwrap_or(1).max(1);
    if declared.is_some_and(|len| len > largest * most_files + 64 * 1024) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut received = ReceivedForm {
        files: Vec::new(),
        texts: Vec::new(),
    };
    let idle = body_timeout(req);
    let result: Result<(), ApiError> = async {
        while let Some(field) = next_chunk(&mut form, idle)
            .await?
            .transpose()
            .map_err(multipart_error)?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let mut field = Incoming::new(field, idle);
            let wanted = files
                .iter()
                .find(|f| f.name == name)
                .filter(|_| received.files.iter().all(|(n, _)| *n != name));
            if let Some(file) = wanted {
                let media =
                    store_file(state, owner, &mut field, file.allowed, file.purpose).await?;
                received.files.push((name, media));
            } else if let Some(limit) = text_bytes(&name) {
                let mut text = Vec::new();
                field.fill(&mut text, limit + 1).await?;
                received
                    .texts
                    .push((name, String::from_utf8_lossy(&text).into_owned()));
            }
            field.drain().await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(received),
        Err(err) => {
            for (_, media) in &received.files {
                media::delete(&state.db, media.id).await?;
            }
            Err(err)
        }
    }
}

/// Upload an image or a video
///
/// The type is read from the bytes, not the file name or the declared type. An image is
/// processed before the answer (`201`, `status: ready`): its metadata is taken out, and a
/// WebP `preview` (upright, at most 640 px on the long side) and a `blurhash` are made; an
/// image that does not decode is `415`. A video answers `202` with `status: processing`:
/// a background job probes its `duration` and size, makes a `poster` and a `video`
/// rendition (H.264/AAC MP4: the upload's streams copied when they already play in
/// browsers within the size and bit-rate bounds, else transcoded); then the media is
/// `ready` (or `failed`, with `failure`) and its owner gets a `media_ready` (or
/// `media_failed`) notification. `GET /api/media/{id}/info` shows where it is.
#[utoipa::path(
    post,
    path = "/api/media",
    tag = "media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "An image, processed: `status` is `ready`.", body = crate::views::MediaView),
        (status = 202, description = "A video, stored: `status` is `processing` until its job is done.", body = crate::views::MediaView),
        (status = 413, description = "`payload_too_large`: over the image or video limit."),
        (status = 415, description = "`unsupported_media_type`: the bytes are not an allowed type, or an image over 50 megapixels."),
        (status = 503, description = "`service_unavailable`: every image-decoding slot stayed busy; retry after `Retry-After` seconds."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn upload_media(
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
        &[MediaKind::Image, MediaKind::Video],
        Purpose::Post,
    )
    .await?;
    if let Some(raw) = upload.post_id.filter(|p| !p.is_empty()) {
        let max = state.settings.posts.max_media;
        let post_id = ObjectId::parse_str(&raw).ok();
        let attached = match post_id {
            Some(post_id) => {
                posts::attach_media(&state.db, post_id, auth.user_id, upload.media.id, max).await?
            }
            None => false,
        };
        if !attached {
            media::delete(&state.db, upload.media.id).await?;
            let theirs = match post_id {
                Some(id) => posts::find(&state.db, id)
                    .await?
                    .is_some_and(|p| p.author_id == auth.user_id),
                None => false,
            };
            return Err(FieldErrors::single(
                "post_id",
                if theirs {
                    format!("A post shows at most {max} files.")
                } else {
                    "This must be one of your posts.".to_owned()
                },
            ));
        }
    }
    let mut response = if upload.media.metadata.status == MediaStatus::Processing {
        HttpResponse::Accepted()
    } else {
        HttpResponse::Created()
    };
    Ok(response.json(MediaView::new(&upload.media)))
}

/// Delete an upload (its owner only)
///
/// Posts and avatars that show it let go of it.
#[utoipa::path(
    delete,
    path = "/api/media/{id}",
    tag = "media",
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`: not its owner."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn delete_media(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ObjectId::parse_str(path.as_str())?;
    let media = media::find(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if media.metadata.owner_id != auth.user_id {
        return Err(ApiError::permission_denied());
    }
    posts::detach_media(&state.db, id).await?;
    users::clear_picture_media(&state.db, id).await?;
    posts::replace_author_avatar(&state.db, auth.user_id, &media.url(), None).await?;
    media::delete(&state.db, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
