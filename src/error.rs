//! `ApiError`: every failure a handler can meet, rendered as the JSON body of API.md §1.
//!
//! Handlers use `?` everywhere; database and internal causes are logged (with the request
//! id, see `telemetry`) and never reach the client.

use std::collections::BTreeMap;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Field name → every message about it, in the order they were found.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// Keeps the value when `result` is Ok, records its message under `field` otherwise.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.add(field, message)).ok()
    }

    /// `Ok(())` when nothing was recorded, else the validation error carrying every field.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }

    pub fn single(field: &str, message: impl Into<String>) -> ApiError {
        let mut errors = Self::new();
        errors.add(field, message);
        ApiError::Validation(errors)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("invalid or expired one-time token")]
    InvalidOneTimeToken,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("authentication required")]
    NotAuthenticated,
    #[error("invalid token")]
    TokenInvalid,
    #[error("expired token")]
    TokenExpired,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("forbidden ({code})")]
    Forbidden {
        code: &'static str,
        detail: &'static str,
    },
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too slow")]
    RequestTimeout,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("range not satisfiable")]
    RangeNotSatisfiable,
    #[error("idempotency key in use")]
    IdempotencyConflict,
    #[error("idempotency key reused")]
    IdempotencyMismatch,
    #[error("rate limited ({limit} per window)")]
    RateLimited { limit: u32, retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("busy (retry after {retry_after_secs} s)")]
    Busy { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn permission_denied() -> Self {
        ApiError::Forbidden {
            code: "permission_denied",
            detail: "You do not have permission to perform this action.",
        }
    }

    /// A sensitive change without proof that the account's owner is there.
    pub fn reauthentication_required() -> Self {
        ApiError::Forbidden {
            code: "reauthentication_required",
            detail: "This change needs your current password (current_password), or a login \
                     within the last few minutes: sign in again and retry.",
        }
    }

    /// Every slot of a bounded resource stayed busy: `503` with `Retry-After`.
    pub fn busy(retry_after_secs: u64) -> Self {
        ApiError::Busy { retry_after_secs }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => "validation_error",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidOneTimeToken => "invalid_token",
            ApiError::NotAuthenticated => "not_authenticated",
            ApiError::TokenInvalid => "token_invalid",
            ApiError::TokenExpired => "token_expired",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Forbidden { code, .. } => code,
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::RangeNotSatisfiable => "range_not_satisfiable",
            ApiError::IdempotencyConflict => "idempotency_key_in_use",
            ApiError::IdempotencyMismatch => "idempotency_key_reused",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) | ApiError::Busy { .. } => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            ApiError::Validation(_) => "Invalid input.".into(),
            ApiError::InvalidJson(why) => format!("The request body is not valid JSON: {why}"),
            ApiError::InvalidOneTimeToken => "This link or token is invalid or has expired.".into(),
            ApiError::BadRequest(detail) => detail.clone(),
            ApiError::NotAuthenticated => "Authentication credentials were not provided.".into(),
            ApiError::TokenInvalid => "The token is invalid or has been revoked.".into(),
            ApiError::TokenExpired => "The token has expired.".into(),
            ApiError::InvalidCredentials => {
                "Unable to log in with the provided credentials.".into()
            }
            ApiError::Forbidden { detail, .. } => (*detail).into(),
            ApiError::NotFound => "Not found.".into(),
            ApiError::MethodNotAllowed => "Method not allowed.".into(),
            ApiError::RequestTimeout => "The request body arrived too slowly.".into(),
            ApiError::PayloadTooLarge => "The request body is too large.".into(),
            ApiError::UnsupportedMediaType => {
                "Unsupported media type: images must be well-formed JPEG, PNG, GIF or WebP files, videos MP4, \
                 WebM or QuickTime."
                    .into()
            }
            ApiError::RangeNotSatisfiable => "The requested range is not satisfiable.".into(),
            ApiError::IdempotencyConflict => {
                "A request with this Idempotency-Key is still being processed; retry shortly."
                    .into()
            }
            ApiError::IdempotencyMismatch => {
                "This Idempotency-Key was used for a different request.".into()
            }
            ApiError::RateLimited {
                retry_after_secs, ..
            } => format!("Too many requests; try again in {retry_after_secs} seconds."),
            ApiError::Unavailable(_) => {
                "The service is temporarily unavailable; try again shortly.".into()
            }
            ApiError::Busy { retry_after_secs } => {
                format!("The service is busy; try again in {retry_after_secs} seconds.")
            }
            ApiError::Internal(_) => "An internal error occurred.".into(),
        }
    }
}

/// The error body of API.md §1.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// A sentence for people.
    #[schema(example = "Invalid input.")]
    detail: String,
    /// A code for programs: `validation_error`, `not_found`…
    #[schema(value_type = String, example = "validation_error")]
    code: &'a str,
    /// For `validation_error`: each offending field with every message about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, Vec<String>>>)]
    errors: Option<&'a FieldErrors>,
}

/// The JSON error body of API.md §1 for a status with no more specific error, used where
/// actix itself answers (unknown route, wrong method, oversized body).
pub fn error_for_status(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::RANGE_NOT_SATISFIABLE => ApiError::RangeNotSatisfiable,
        StatusCode::UNAUTHORIZED => ApiError::NotAuthenticated,
        StatusCode::FORBIDDEN => ApiError::permission_denied(),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(status.to_string()),
        s if s.is_client_error() => {
            ApiError::BadRequest(s.canonical_reason().unwrap_or("Bad request.").to_owned())
        }
        s => ApiError::Internal(s.to_string()),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_)
            | ApiError::InvalidJson(_)
            | ApiError::InvalidOneTimeToken
            | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthenticated
            | ApiError::TokenInvalid
            | ApiError::TokenExpired
            | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::IdempotencyConflict => StatusCode::CONFLICT,
            ApiError::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => log::error!("internal error: {cause}"),
            ApiError::Unavailable(cause) => log::warn!("service unavailable: {cause}"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if self.status_code() == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let ApiError::Busy { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, *retry_after_secs));
        }
        if let ApiError::RateLimited {
            limit,
            retry_after_secs,
        } = self
        {
            response.insert_header((header::RETRY_AFTER, *retry_after_secs));
            for (name, value) in rate_limit_headers(*limit, 0, *retry_after_secs) {
                response.insert_header((name, value));
            }
        }
        let errors = match self {
            ApiError::Validation(errors) => Some(errors),
            _ => None,
        };
        response.json(ErrorBody {
            detail: self.detail(),
            code: self.code(),
            errors,
        })
    }
}

/// Server selection and network failures mean the database is out of reach: a `503` the
/// client may retry. Anything else from the driver is a bug or a surprise: a `500`.
impl From<mongodb::error::Error> for ApiError {
    fn from(err: mongodb::error::Error) -> Self {
        use mongodb::error::ErrorKind;
        match *err.kind {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. } => ApiError::Unavailable(err.to_string()),
            _ => ApiError::Internal(format!("database: {err}")),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("blocking task failed: {err}"))
    }
}

impl From<bson::oid::Error> for ApiError {
    fn from(_: bson::oid::Error) -> Self {
        ApiError::NotFound
    }
}

impl ApiError {
    /// A duplicate-key error on one of `fields` (unique index name → request field) means
    /// the value is taken: a `400` naming the field. Anything else stays a database error.
    pub fn from_duplicate(
        err: mongodb::error::Error,
        fields: &[(&str, &str)],
        message: impl Fn(&str) -> String,
    ) -> ApiError {
        let field = duplicate_key_index(&err).and_then(|index| {
            fields
                .iter()
                .find(|(name, _)| *name == index)
                .map(|(_, f)| *f)
        });
        match field {
            Some(field) => FieldErrors::single(field, message(field)),
            None => err.into(),
        }
    }
}

/// The name of the unique index a duplicate-key (11000) write error tripped, if it is one.
pub fn duplicate_key_index(err: &mongodb::error::Error) -> Option<String> {
    use mongodb::error::{ErrorKind, WriteFailure};
    let (code, message) = match &*err.kind {
        ErrorKind::Write(WriteFailure::WriteError(e)) => (e.code, e.message.as_str()),
        ErrorKind::Command(e) => (e.code, e.message.as_str()),
        ErrorKind::InsertMany(e) => {
            let first = e.write_errors.as_ref()?.first()?;
            (first.code, first.message.as_str())
        }
        _ => return None,
    };
    if code != 11000 {
        return None;
    }
    // "E11000 duplicate key error collection: db.users index: email_unique dup key: …"
    let index = message
        .split("index: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    Some(index.to_owned())
}

/// The `RateLimit-*` headers of a quota.
pub fn rate_limit_headers(
    limit: u32,
    remaining: u32,
    reset_secs: u64,
) -> [(HeaderName, HeaderValue); 3] {
    [
        (HeaderName::from_static("ratelimit-limit"), limit.into()),
        (
            HeaderName::from_static("ratelimit-remaining"),
            remaining.into(),
        ),
        (
            HeaderName::from_static("ratelimit-reset"),
            reset_secs.into(),
        ),
    ]
}

/// A required string field: present and not blank.
pub fn required<'a>(
    errors: &mut FieldErrors,
    field: &str,
    value: &'a Option<String>,
) -> Option<&'a str> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Some(v),
        _ => {
            errors.add(field, crate::domain::accounts::REQUIRED);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(err: ApiError) -> serde_json::Value {
        let bytes = to_bytes(err.error_response().into_body()).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[actix_web::test]
    async fn validation_errors_list_every_field() {
        let mut errors = FieldErrors::new();
        errors.add("email", "Enter a valid email address.");
        errors.add("content", "This field is required.");
        let body = body_of(ApiError::Validation(errors)).await;
        assert_eq!(body["code"], "validation_error");
        assert_eq!(body["errors"]["email"][0], "Enter a valid email address.");
        assert_eq!(body["errors"]["content"][0], "This field is required.");
    }

    #[actix_web::test]
    async fn internal_errors_hide_their_cause() {
        let body = body_of(ApiError::internal("E11000 secret query { password: 1 }")).await;
        assert_eq!(body["code"], "internal_error");
        assert!(!body.to_string().contains("secret"));
    }

    #[test]
    fn unauthorized_responses_carry_the_bearer_challenge() {
        let response = ApiError::TokenExpired.error_response();
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            "Bearer"
        );
    }
}
