//! Cross-origin requests (CORS) for browser apps served from another origin, through
//! `actix-cors`. `server.cors_allowed_origins` chooses the origins: none (the default in
//! production: no CORS headers, so browsers refuse cross-origin calls), any (`*`, the
//! default in development), or a list.

use actix_cors::Cors;
use actix_web::http::{header, Method};
use actix_web::middleware::Condition;

use crate::config::CorsOrigins;

/// What a browser app may send besides the CORS-safelisted headers.
const ALLOWED_HEADERS: [&str; 5] = [
    "authorization",
    "content-type",
    "accept",
    "idempotency-key",
    "x-request-id",
];

/// What a browser app may read of a response besides the safelisted headers: the rate
/// limit, paging links, where a created resource lives, whether an answer was replayed.
const EXPOSED_HEADERS: [&str; 10] = [
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "retry-after",
    "link",
    "location",
    "idempotent-replayed",
    "x-request-id",
    "etag",
    "content-range",
];

/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE_SECS: usize = 3600;

/// The middleware for `origins`; switched off when no origin is allowed.
pub fn middleware(origins: &CorsOrigins) -> Condition<Cors> {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers(ALLOWED_HEADERS.map(header::HeaderName::from_static))
        .expose_headers(EXPOSED_HEADERS.map(header::HeaderName::from_static))
        .max_age(PREFLIGHT_MAX_AGE_SECS);
    match origins {
        CorsOrigins::None => {}
        // Tokens travel in `Authorization`, never in cookies: no credentials mode, so
        // `*` is safe to send.
        CorsOrigins::Any => cors = cors.allow_any_origin().send_wildcard(),
        CorsOrigins::Listed(list) => {
            for origin in list {
                cors = cors.allowed_origin(origin);
            }
        }
    }
    Condition::new(*origins != CorsOrigins::None, cors)
}
