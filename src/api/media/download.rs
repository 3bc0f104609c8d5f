//! Serving a file: the capability key, `Range`, ETags and caching headers.

use actix_web::body::SizedStream;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::api::viewer::Viewer;
use crate::domain::media::{key_matches, parse_range, ByteRange, RangeRequest};
use crate::error::ApiError;
use crate::store::media::{self, MediaDoc, Stored, VariantRef};
use crate::views::MediaView;

use super::*;

pub(super) fn etag_of(media: &MediaDoc) -> String {
    format!("\"{}\"", media.id.to_hex())
}

pub(super) fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MediaKey {
    /// The file's capability key, part of every media `url` the API hands out.
    key: Option<String>,
}

/// Download an upload
///
/// Only through the `url` the API handed out (a Media object's `url`, an `avatar_url`): it
/// carries the file's capability key, so `<img src>` and `<video src>` work without an
/// `Authorization` header. Without the right `key` the answer is `404`, whatever the id.
/// With `ETag`, `If-None-Match` (→ `304`) and single `Range` requests (→ `206`).
#[utoipa::path(
    get,
    path = "/api/media/{id}",
    tag = "media",
    params(MediaKey),
    responses(
        (status = 200, description = "The bytes, with their `Content-Type`.", content(("image/*"), ("video/*"))),
        (status = 206, description = "The requested range.", content(("image/*"), ("video/*"))),
        (status = 304, description = "Not modified."),
        (status = 404, description = "`not_found`: no such file, or not its key."),
        (status = 416, description = "`range_not_satisfiable`."),
    )
)]
pub(crate) async fn download_media(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<MediaKey>,
) -> Result<HttpResponse, ApiError> {
    let media = keyed_media(&state, path.as_str(), query.key.as_deref(), None).await?;
    match media.metadata.served() {
        Some(variant) => serve_variant(&state, &req, variant).await,
        None => {
            let file = Served {
                stored: Stored {
                    bucket: media::FILES,
                    id: media.id,
                    chunk_size: media.chunk_size,
                },
                length: media.length,
                content_type: &media.metadata.content_type,
                etag: etag_of(&media),
            };
            serve(&state, &req, file).await
        }
    }
}

/// Download a variant of an upload
///
/// A size or rendition made of the file (see the Media object's `variants`): `preview`,
/// `avatar_64`, `avatar_128`, `avatar_256`, `poster` or `video`. Under the same key as
/// the file, with the same `ETag`, `If-None-Match` and `Range` handling.
#[utoipa::path(
    get,
    path = "/api/media/{id}/{variant}",
    tag = "media",
    params(MediaKey),
    responses(
        (status = 200, description = "The bytes, with their `Content-Type`.", content(("image/webp"), ("video/mp4"))),
        (status = 206, description = "The requested range.", content(("image/webp"), ("video/mp4"))),
        (status = 304, description = "Not modified."),
        (status = 404, description = "`not_found`: no such file or variant (yet), or not its key."),
        (status = 416, description = "`range_not_satisfiable`."),
    )
)]
pub(crate) async fn download_variant(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<MediaKey>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let media = keyed_media(&state, &id, query.key.as_deref(), None).await?;
    let variant = media.metadata.variant(&name).ok_or(ApiError::NotFound)?;
    serve_variant(&state, &req, variant).await
}

/// Where an upload is in its processing
///
/// The Media object as it is now: `status` goes from `processing` to `ready` (with its
/// `variants`, `duration`, size and `blurhash`) or `failed` (with `failure`). For its
/// owner (signed in), or anyone holding its `key`.
#[utoipa::path(
    get,
    path = "/api/media/{id}/info",
    tag = "media",
    params(MediaKey),
    responses(
        (status = 200, description = "The Media object.", body = crate::views::MediaView),
        (status = 404, description = "`not_found`: no such file, or neither its owner nor its key."),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn media_info(
    state: State,
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<MediaKey>,
) -> Result<HttpResponse, ApiError> {
    let media = keyed_media(&state, path.as_str(), query.key.as_deref(), viewer.id()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MediaView::new(&media)))
}

/// The file `id` names, if `key` is its key or `owner` (`None` for downloads, which
/// always need the key) its owner; else `404`, whatever the id.
async fn keyed_media(
    state: &AppState,
    id: &str,
    key: Option<&str>,
    owner: Option<ObjectId>,
) -> Result<MediaDoc, ApiError> {
    let id = ObjectId::parse_str(id)?;
    media::find(&state.db, id)
        .await?
        .filter(|m| {
            owner == Some(m.metadata.owner_id) || key_matches(key, m.metadata.key.as_deref())
        })
        .ok_or(ApiError::NotFound)
}

async fn serve_variant(
    state: &AppState,
    req: &HttpRequest,
    variant: &VariantRef,
) -> Result<HttpResponse, ApiError> {
    let file = Served {
        stored: Stored {
            bucket: media::VARIANTS,
            id: variant.id,
            chunk_size: media::VARIANT_CHUNK_BYTES,
        },
        length: variant.length,
        content_type: &variant.content_type,
        etag: format!("\"{}\"", variant.id.to_hex()),
    };
    serve(state, req, file).await
}

/// A stored file as a download answers it.
struct Served<'a> {
    stored: Stored,
    length: i64,
    content_type: &'a str,
    etag: String,
}

/// Answers a download of `file`: `304` for a matching `If-None-Match`, `206` for a range,
/// `416` for one outside the file, else the whole file, streamed.
async fn serve(
    state: &AppState,
    req: &HttpRequest,
    file: Served<'_>,
) -> Result<HttpResponse, ApiError> {
    let Served {
        stored,
        length,
        content_type,
        etag,
    } = file;
    let len = u64::try_from(length).unwrap_or(0);
    if header_str(req, header::IF_NONE_MATCH)
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let (mut response, range) = match parse_range(header_str(req, header::RANGE), len) {
        RangeRequest::Whole => (
            HttpResponse::Ok(),
            ByteRange {
                start: 0,
                end: len.saturating_sub(1),
            },
        ),
        RangeRequest::Partial(range) => {
            let mut response = HttpResponse::PartialContent();
            response.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{len}", range.start, range.end),
            ));
            (response, range)
        }
        RangeRequest::Unsatisfiable => {
            let mut response = ApiError::RangeNotSatisfiable.error_response();
            let value =
                HeaderValue::from_str(&format!("bytes */{len}")).map_err(ApiError::internal)?;
            response.headers_mut().insert(header::CONTENT_RANGE, value);
            return Ok(response);
        }
    };
    response
        .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
        .insert_header((header::ETAG, etag))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        // The bytes at a URL never change, but no shared cache may keep serving them after
        // the file gets a new key.
        .insert_header((
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ));
    if len == 0 {
        return Ok(response.body(Vec::new()));
    }
    let body = media::stream_range(&state.db, stored, range).await?;
    Ok(response.body(SizedStream::new(range.end - range.start + 1, body)))
}
