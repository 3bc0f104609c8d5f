//! Mastodon errors: every failure on a Mastodon path answers `{"error": "…"}` with the
//! status Mastodon gives it (`422` for bad input, `401` for a bad token, `404` for an
//! unknown or hidden record). The OAuth endpoints answer RFC 6749's own form themselves.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use serde_json::json;

use crate::api::realworld::errors::rewrite;
use crate::error::ApiError;

/// Whether `path` is the Mastodon API's.
pub fn is_mastodon_path(path: &str) -> bool {
    path.starts_with("/api/v1/")
        || path.starts_with("/api/v2/")
        || path == "/api/v1"
        || path == "/api/v2"
        || path.starts_with("/nodeinfo/")
        || path == "/.well-known/webfinger"
}

/// The status and sentence a Mastodon app gets for `err`.
pub fn mastodon_error(err: &ApiError) -> (StatusCode, serde_json::Value) {
    let (status, message) = match err {
        ApiError::Validation(fields) => {
            let mut parts = Vec::new();
            if let Some(map) = serde_json::to_value(fields)
                .ok()
                .and_then(|v| v.as_object().cloned())
            {
                for (field, messages) in map {
                    for message in messages.as_array().into_iter().flatten() {
                        parts.push(format!("{field} {}", message.as_str().unwrap_or_default()));
                    }
                }
            }
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Validation failed: {}", parts.join(", ")),
            )
        }
        ApiError::InvalidJson(_) | ApiError::BadRequest(_) | ApiError::IdempotencyMismatch => {
            (StatusCode::UNPROCESSABLE_ENTITY, err.detail())
        }
        ApiError::NotAuthenticated
        | ApiError::TokenInvalid
        | ApiError::TokenExpired
        | ApiError::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "The access token is invalid".to_owned(),
        ),
        ApiError::NotFound => (StatusCode::NOT_FOUND, "Record not found".to_owned()),
        ApiError::UnsupportedMediaType => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: File content type is invalid".to_owned(),
        ),
        ApiError::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests".to_owned(),
        ),
        ApiError::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error occurred".to_owned(),
        ),
        other => {
            use actix_web::ResponseError;
            (other.status_code(), other.detail())
        }
    };
    (status, json!({ "error": message }))
}

/// Rewrites the errors of Mastodon paths (those the handlers and extractors raised as
/// `ApiError`, and unknown paths) into Mastodon's form, keeping their headers.
pub async fn mastodon_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !is_mastodon_path(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    match next.call(req).await {
        Ok(res) => match res
            .response()
            .error()
            .and_then(|e| e.as_error::<ApiError>())
        {
            Some(err) => {
                let rendered = mastodon_error(err);
                let (http_req, response) = res.into_parts();
                Ok(ServiceResponse::new(http_req, rewrite(response, rendered))
                    .map_into_right_body())
            }
            None => Ok(res.map_into_left_body()),
        },
        Err(err) => match err.as_error::<ApiError>() {
            Some(api) => {
                let rendered = mastodon_error(api);
                let response = rewrite(err.error_response(), rendered);
                Err(
                    actix_web::error::InternalError::from_response(err.to_string(), response)
                        .into(),
                )
            }
            None => Err(err),
        },
    }
}
