//! Request-body and query extractors that answer in API.md §1's terms: a body that is not
//! JSON (an empty one included) is `400 invalid_json`, a field of the wrong type is a
//! `400 validation_error` naming the field, a body over 1 MB is a `413`.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use std::time::Duration;

use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::api::state::AppState;
pub use crate::error::required;
use crate::error::{ApiError, FieldErrors};

pub const MAX_JSON_BYTES: usize = 1024 * 1024;

pub struct Json<T>(pub T);

/// A JSON body that may be left out entirely (for example `POST /api/auth/logout`).
pub struct MaybeJson<T>(pub Option<T>);

async fn read_body(req: &HttpRequest, mut payload: Payload) -> Result<BytesMut, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_JSON_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(MAX_JSON_BYTES));
    let idle = body_timeout(req);
    while let Some(chunk) = next_chunk(&mut payload, idle).await? {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("Could not read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_JSON_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// How long a client may pause while sending a body (`server.body_timeout_secs`).
pub fn body_timeout(req: &HttpRequest) -> Duration {
    let secs = req
        .app_data::<web::Data<AppState>>()
        .map_or(30, |state| state.settings.server.body_timeout_secs);
    Duration::from_secs(secs.max(1))
}

/// The next chunk of a body, or `408` when the client pauses longer than `idle`.
pub async fn next_chunk<S: futures::Stream + Unpin>(
    payload: &mut S,
    idle: Duration,
) -> Result<Option<S::Item>, ApiError> {
    tokio::time::timeout(idle, payload.next())
        .await
        .map_err(|_| ApiError::RequestTimeout)
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidJson("the body is empty.".into()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let field = if path == "." {
                "non_field_errors".to_owned()
            } else {
                path
            };
            FieldErrors::single(&field, data_error_message(&inner))
        } else {
            ApiError::InvalidJson(format!("{inner}."))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::InvalidJson(format!("{e}.")))?;
    Ok(value)
}

/// serde's "invalid type: map, expected a string at line 1 column 14" without the position.
fn data_error_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => "Invalid value.".into(),
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let body = read_body(&req, payload).await?;
            parse_json(&body).map(Json)
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for MaybeJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let body = read_body(&req, payload).await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(MaybeJson(None));
            }
            parse_json(&body).map(|v| MaybeJson(Some(v)))
        })
    }
}

/// Query strings that do not fit their struct are a `400 validation_error`.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default().error_handler(|err, _| {
        FieldErrors::single("query", format!("Invalid query string: {err}.")).into()
    })
}

/// A path segment that does not parse names nothing that exists.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into())
}

/// `201 Created` when an idempotent action did something, `200 OK` when it was already done
/// (follow, block, report, group membership, share).
pub fn created_or_ok(created: bool) -> actix_web::HttpResponseBuilder {
    if created {
        actix_web::HttpResponse::Created()
    } else {
        actix_web::HttpResponse::Ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Login {
        username: Option<String>,
    }

    #[test]
    fn operator_objects_are_a_field_error_not_a_query() {
        let err = parse_json::<Login>(br#"{"username": {"$gt": ""}}"#).unwrap_err();
        match err {
            ApiError::Validation(errors) => assert!(errors.contains("username")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_and_malformed_bodies_are_invalid_json() {
        assert!(matches!(
            parse_json::<Login>(b""),
            Err(ApiError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_json::<Login>(b"{\"username\":"),
            Err(ApiError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_json::<Login>(b"{} trailing"),
            Err(ApiError::InvalidJson(_))
        ));
    }

    #[test]
    fn a_non_object_body_is_a_validation_error() {
        assert!(matches!(
            parse_json::<Login>(b"[1,2]"),
            Err(ApiError::Validation(_))
        ));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let login: Login = parse_json(br#"{"username":"a","extra":1}"#).unwrap();
        assert_eq!(login.username.as_deref(), Some("a"));
    }
}
