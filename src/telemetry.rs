//! Logging and the per-request context: `X-Request-Id` (API.md §9), the access log, and
//! JSON bodies for the errors actix answers by itself (unknown route, wrong method…).

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};

use crate::error::error_for_status;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub const DB_COMMANDS_HEADER: HeaderName = HeaderName::from_static("x-db-commands");

/// What the task serving a request knows about it: its id (read by the log formatter) and
/// how many database commands it issued (counted by the driver's command monitoring).
struct RequestScope {
    id: String,
    db_commands: AtomicU32,
}

/// What the request middleware reports to: the metrics, and whether answers carry the
/// debug headers (`server.debug_headers`). Registered as app data by `startup`.
pub struct RequestTelemetry {
    pub metrics: Arc<crate::metrics::Metrics>,
    pub debug_headers: bool,
}

tokio::task_local! {
    static REQUEST: Arc<RequestScope>;
}

/// Called by the driver for every command started; counts it against the current request.
pub fn count_db_command() {
    let _ = REQUEST.try_with(|scope| scope.db_commands.fetch_add(1, Ordering::Relaxed));
}

/// The request id as stored in the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// `env_logger` with `RUST_LOG` (default `info`); each line carries the request id of the
/// task that wrote it, or `-` outside a request.
pub fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let request_id = REQUEST
                .try_with(|scope| scope.id.clone())
                .unwrap_or_else(|_| "-".into());
            writeln!(
                buf,
                "{} {:<5} [{}] {}: {}",
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                record.level(),
                request_id,
                record.target(),
                record.args()
            )
        })
        .try_init();
}

/// Accepts the client's id when it is short printable ASCII, so a hostile header can
/// neither forge log lines nor bloat them.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID_HEADER)?.to_str().ok()?;
    let valid =
        !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| value.to_owned())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let header_value = HeaderValue::from_str(&id).ok();
    let state = req
        .app_data::<actix_web::web::Data<RequestTelemetry>>()
        .cloned();
    let debug_headers = state.as_ref().is_some_and(|state| state.debug_headers);
    let scope = Arc::new(RequestScope {
        id,
        db_commands: AtomicU32::new(0),
    });

    REQUEST
        .scope(scope.clone(), async move {
            let started = Instant::now();
            let method = req.method().clone();
            let path = req.path().to_owned();
            // Errors from inner middleware are rare and rendered by actix itself; the
            // request cannot be cloned here to build a response (routing needs it unique).
            let response = next.call(req).await?.map_into_boxed_body();
            let mut response = with_json_error_body(response);
            declare_json_charset(&mut response);
            if let Some(value) = header_value {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            let db_commands = scope.db_commands.load(Ordering::Relaxed);
            if let Some(state) = &state {
                let route = response.request().match_pattern();
                state.metrics.observe_request(
                    method.as_str(),
                    route.as_deref().unwrap_or("unmatched"),
                    response.status().as_u16(),
                    started.elapsed(),
                );
            }
            if debug_headers {
                response
                    .headers_mut()
                    .insert(DB_COMMANDS_HEADER, HeaderValue::from(db_commands));
            }
            log::info!(
                "{method} {path} {} {:.1}ms db={db_commands}",
                response.status().as_u16(),
                started.elapsed().as_secs_f64() * 1000.0
            );
            Ok(response)
        })
        .await
}

/// API.md §1: JSON bodies are `application/json; charset=utf-8`; actix's `.json()` leaves
/// the charset out.
fn declare_json_charset(response: &mut ServiceResponse<BoxBody>) {
    let headers = response.headers_mut();
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/json")
    {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
}

/// Replaces a bodyless or plain-text error from actix (405 from a resource, 404 from the
/// router, 413 from a payload limit…) with the JSON error body for its status. A page
/// written for a browser (`text/html`, the verification link's) is left as it is.
fn with_json_error_body(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let ours = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if ours {
        return response;
    }
    if let Some(cause) = response.response().error() {
        log::warn!("{status} from the framework: {cause}");
    }
    let replacement = error_for_status(status).error_response();
    response.into_response(replacement)
}
