//! Serving a file: the capability key, `Range`, ETags and caching headers.

use actix_web::body::SizedStream;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::domain::media::{key_matches, parse_range, ByteRange, RangeRequest};
use crate::error::ApiError;
use crate::store::media::{self, MediaDoc};

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
    let id = ObjectId::parse_str(path.as_str())?;
    let media = media::find(&state.db, id)
        .await?
        .filter(|m| key_matches(query.key.as_deref(), m.metadata.key.as_deref()))
        .ok_or(ApiError::NotFound)?;
    let etag = etag_of(&media);
    let len = u64::try_from(media.length).unwrap_or(0);
    if header_str(&req, header::IF_NONE_MATCH)
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let (mut response, range) = match parse_range(header_str(&req, header::RANGE), len) {
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
        .insert_header((header::CONTENT_TYPE, media.metadata.content_type.clone()))
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
    let body = media::stream_range(&state.db, &media, range).await?;
    Ok(response.body(SizedStream::new(range.end - range.start + 1, body)))
}
