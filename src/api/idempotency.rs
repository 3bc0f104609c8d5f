//! `Idempotency-Key` on the creating routes (issue 10): a client that retries a request
//! with the same key, because the first answer was lost, gets the first answer again and
//! nothing is created twice. The same key with another request is `422`; while the
//! first request is still running, `409`. Keys are per user and kept for 24 hours.
//!
//! The key is claimed in the database before the request runs, so the rule holds across
//! instances. The request's body is hashed as the handler reads it (uploads are never
//! held in memory for this); only a successful answer is kept, so a retry after a failure
//! runs again. A claim whose request never finished (a crash) lapses after a minute.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::api::auth_user::{bearer_token, token_user};
use crate::api::state::AppState;
use crate::error::{ApiError, FieldErrors};
use crate::store::idempotency::{self, StoredAnswer};
use crate::store::millis_from_now;

type BoxedStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, PayloadError>>>>;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// How long a key and its answer are kept.
const KEEP_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// How long a running request holds its key before a retry may take it over.
const LEASE_MILLIS: i64 = 60 * 1000;

/// Whether the operation (`post`, `/api/posts`) honours `Idempotency-Key`.
pub fn applies_to(method: &str, pattern: &str) -> bool {
    crate::api::routes::find(method, pattern).is_some_and(|r| r.idempotent)
}

/// 1–255 visible ASCII characters (a UUID is the usual choice).
fn parse_key(value: &HeaderValue) -> Result<&str, ApiError> {
    value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            FieldErrors::single(
                "Idempotency-Key",
                "Use 1 to 255 visible ASCII characters, such as a UUID.",
            )
        })
}

fn hex_digest(hasher: Sha256) -> String {
    hex::encode(hasher.finalize())
}

/// What makes two requests the same: method, path and body. A multipart body's boundary
/// is left out, since a client picks a new one for every attempt.
pub(crate) struct Fingerprint {
    hasher: Sha256,
    boundary: Vec<u8>,
    /// The end of what came so far, where a boundary may have begun.
    carry: Vec<u8>,
}

impl Fingerprint {
    fn new(req: &ServiceRequest) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(format!("{} {}\n", req.method(), req.path()));
        let boundary = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("boundary=").nth(1))
            .map(|b| b.split(';').next().unwrap_or(b).trim().trim_matches('"'))
            .filter(|b| !b.is_empty())
            .map(|b| b.as_bytes().to_vec())
            .unwrap_or_default();
        Self {
            hasher,
            boundary,
            carry: Vec::new(),
        }
    }

    fn update(&mut self, chunk: &[u8]) {
        if self.boundary.is_empty() {
            self.hasher.update(chunk);
            return;
        }
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chunk);
        let n = self.boundary.len();
        let mut start = 0;
        let mut i = 0;
        while i + n <= data.len() {
            if data[i..i + n] == self.boundary[..] {
                self.hasher.update(&data[start..i]);
                i += n;
                start = i;
            } else {
                i += 1;
            }
        }
        // Keep what could still be the start of a boundary split across chunks.
        let keep_from = data.len().saturating_sub(n - 1).max(start);
        self.hasher.update(&data[start..keep_from]);
        self.carry = data[keep_from..].to_vec();
    }

    fn finish(mut self) -> String {
        self.hasher.update(&self.carry);
        hex_digest(self.hasher)
    }
}

/// Runs a creating request at most once per key.
pub async fn idempotent_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = req.headers().get(HEADER).cloned();
    let applies = key.is_some()
        && req
            .match_pattern()
            .is_some_and(|pattern| applies_to(req.method().as_str(), &pattern));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (true, Some(key), Some(state)) = (applies, key, state) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = parse_key(&key)?;
    // Without a good token the route answers 401 by itself; keys belong to users.
    let user = match bearer_token(req.request()).and_then(Result::ok) {
        Some(token) => token_user(&state, &token).await,
        None => None,
    };
    let Some(user_id) = user else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let id = hex_digest(Sha256::new().chain_update(format!("{}\n{key}", user_id.to_hex())));
    let fingerprint = Fingerprint::new(&req);

    if !claim(&state, &id).await? {
        return replay(&state, &id, req, fingerprint).await;
    }
    run_first(&state, &id, req, next, fingerprint).await
}

/// Claims the key, taking over a claim whose request never finished.
async fn claim(state: &AppState, id: &str) -> Result<bool, ApiError> {
    let lease = millis_from_now(LEASE_MILLIS);
    if idempotency::claim(&state.db, id, lease).await? {
        return Ok(true);
    }
    idempotency::drop_stale_claim(&state.db, id).await?;
    Ok(idempotency::claim(&state.db, id, lease).await?)
}

/// The key was used before: the first answer when this is the same request again.
async fn replay(
    state: &AppState,
    id: &str,
    mut req: ServiceRequest,
    mut fingerprint: Fingerprint,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(answer) = idempotency::find(&state.db, id)
        .await
        .map_err(ApiError::from)?
        .and_then(|doc| doc.answer)
    else {
        return Err(ApiError::IdempotencyConflict.into());
    };
    // Hash the body as it streams in, holding none of it.
    let limit = state.settings.media.max_video_bytes + (1 << 20);
    let mut read = 0_u64;
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        read += chunk.len() as u64;
        if read > limit {
            return Err(ApiError::PayloadTooLarge.into());
        }
        fingerprint.update(&chunk);
    }
    if fingerprint.finish() != answer.fingerprint {
        return Err(ApiError::IdempotencyMismatch.into());
    }
    let status = StatusCode::from_u16(answer.status).map_err(ApiError::internal)?;
    let response = HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, answer.content_type))
        .insert_header((REPLAYED, "true"))
        .body(answer.body.bytes);
    Ok(req.into_response(response))
}

/// The first request with this key: run it, keep its answer if it succeeded.
async fn run_first(
    state: &AppState,
    id: &str,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    fingerprint: Fingerprint,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let fingerprint = Rc::new(RefCell::new(Some(fingerprint)));
    let (http_req, payload) = req.into_parts();
    let hashing = {
        let fingerprint = fingerprint.clone();
        payload.map(move |chunk| {
            if let (Ok(bytes), Some(fingerprint)) = (&chunk, fingerprint.borrow_mut().as_mut()) {
                fingerprint.update(bytes);
            }
            chunk
        })
    };
    let req = ServiceRequest::from_parts(http_req, Payload::from(Box::pin(hashing) as BoxedStream));
    let response = match next.call(req).await {
        Ok(response) if response.status().is_success() => response,
        other => {
            // Nothing to keep: a retry may run again.
            if let Err(err) = idempotency::release(&state.db, id).await {
                log::warn!("could not release an idempotency key: {err}");
            }
            return Ok(other?.map_into_boxed_body());
        }
    };
    let (http_req, response) = response.into_parts();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body())
        .await
        .map_err(|err| ApiError::internal(err.into()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let fingerprint = fingerprint
        .borrow_mut()
        .take()
        .map(Fingerprint::finish)
        .unwrap_or_default();
    let answer = StoredAnswer::new(fingerprint, status.as_u16(), content_type, body.to_vec());
    if let Err(err) =
        idempotency::store_answer(&state.db, id, &answer, millis_from_now(KEEP_MILLIS)).await
    {
        // The resource exists; only the replay is lost. Say so, and answer.
        log::warn!("could not keep the answer of an idempotent request: {err}");
    }
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in &headers {
        rebuilt.append_header((name.clone(), value.clone()));
    }
    Ok(ServiceResponse::new(http_req, rebuilt.body(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn fingerprint_of(boundary: &str, body: &str, chunk: usize) -> String {
        let req = TestRequest::post()
            .uri("/api/media")
            .insert_header((
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .to_srv_request();
        let mut fingerprint = Fingerprint::new(&req);
        for part in body.replace("{b}", boundary).as_bytes().chunks(chunk) {
            fingerprint.update(part);
        }
        fingerprint.finish()
    }

    #[test]
    fn a_multipart_body_is_the_same_whatever_its_boundary_and_chunks() {
        let body =
            "--{b}\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nBYTES\r\n--{b}--\r\n";
        let first = fingerprint_of("abc123", body, 1000);
        assert_eq!(first, fingerprint_of("zz-other-boundary-zz", body, 1000));
        for chunk in [1, 2, 3, 5, 7] {
            assert_eq!(
                first,
                fingerprint_of("abc123", body, chunk),
                "chunks of {chunk}"
            );
        }
        let other = body.replace("BYTES", "BYTEZ");
        assert_ne!(first, fingerprint_of("abc123", &other, 4));
    }

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        assert!(parse_key(&HeaderValue::from_static(
            "3f1c9a1e-7c1b-4d1e-9f44-2b0c1a8e5d10"
        ))
        .is_ok());
        assert!(parse_key(&HeaderValue::from_static("")).is_err());
        assert!(parse_key(&HeaderValue::from_static("has space")).is_err());
        assert!(parse_key(&HeaderValue::from_str(&"k".repeat(256)).unwrap()).is_err());
    }

    #[test]
    fn only_the_creating_routes_honour_the_key() {
        assert!(applies_to("POST", "/api/posts"));
        assert!(applies_to("post", "/api/posts/{id}/comments"));
        assert!(applies_to("POST", "/api/media"));
        assert!(!applies_to("GET", "/api/posts"));
        assert!(!applies_to("POST", "/api/posts/{id}/like"));
    }
}
