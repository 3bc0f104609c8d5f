//! RealWorld errors: every failure on a `/realworld/` path answers
//! `{"errors": {"field": ["message"]}}`, with `422` for bad input as the RealWorld spec
//! says; other failures keep their status and put their sentence under `body`.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::{error_for_status, ApiError};

/// The status and body a RealWorld client gets for `err`.
pub fn realworld_error(err: &ApiError) -> (StatusCode, serde_json::Value) {
    match err {
        ApiError::Validation(fields) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": fields }),
        ),
        ApiError::InvalidJson(_) | ApiError::BadRequest(_) | ApiError::IdempotencyMismatch => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": { "body": [err.detail()] } }),
        ),
        ApiError::Forbidden {
            code: "reauthentication_required",
            ..
        } => (
            StatusCode::FORBIDDEN,
            json!({ "errors": { "current_password": [
                "is needed to change the email or password (or sign in again)"
            ] } }),
        ),
        ApiError::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            json!({ "errors": { "email or password": ["is invalid"] } }),
        ),
        other => (
            other.status_code(),
            json!({ "errors": { "body": [other.detail()] } }),
        ),
    }
}

/// Rewrites the error answers of `/realworld/` paths into the RealWorld form, keeping
/// their headers (`Retry-After`, `RateLimit-*`, `WWW-Authenticate`…).
pub async fn realworld_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !req.path().starts_with("/realworld/") {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    match next.call(req).await {
        Ok(res) if res.status().is_client_error() || res.status().is_server_error() => {
            let err = res
                .response()
                .error()
                .and_then(|e| e.as_error::<ApiError>())
                .map(realworld_error)
                .unwrap_or_else(|| realworld_error(&error_for_status(res.status())));
            let (http_req, response) = res.into_parts();
            Ok(ServiceResponse::new(http_req, rewrite(response, err)).map_into_right_body())
        }
        Ok(res) => Ok(res.map_into_left_body()),
        Err(err) => {
            let rendered = err
                .as_error::<ApiError>()
                .map(realworld_error)
                .unwrap_or_else(|| {
                    realworld_error(&error_for_status(err.as_response_error().status_code()))
                });
            // Answered by the server from the response it carries.
            let response = rewrite(err.error_response(), rendered);
            Err(InternalError::from_response(err.to_string(), response).into())
        }
    }
}

pub(crate) fn rewrite<B>(
    response: HttpResponse<B>,
    (status, body): (StatusCode, serde_json::Value),
) -> HttpResponse<BoxBody> {
    let mut response = response.set_body(BoxBody::new(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        actix_web::http::header::CONTENT_TYPE,
        actix_web::http::header::HeaderValue::from_static("application/json"),
    );
    response
}
