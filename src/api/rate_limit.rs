//! Rate limiting: fixed windows counted in MongoDB (`core::limits`), so a client
//! spreading requests over several instances meets one limit. On by default;
//! `RATE_LIMIT_ENABLED=false` turns it off.
//!
//! The [`limit_requests`] middleware counts the limited routes (`api::routes`) per client address
//! (account endpoints) or per signed-in user (writes), and adds `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` to their answers. The account endpoints
//! also count per account named in their body ([`check_account`]), so one address cannot
//! try many passwords on one account, nor many addresses one. Over a limit: `429
//! rate_limited` with `Retry-After`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

use crate::api::auth_user::{bearer_token, verify_jwt};
use crate::api::routes::{Bucket, By};
use crate::api::state::AppState;
use crate::config::RateLimitSettings;
pub use crate::core::limits::{check, check_account};
use crate::error::ApiError;

fn limit_of(method: &str, pattern: &str) -> Option<(Bucket, By)> {
    crate::api::routes::find(method, pattern)?.limit
}

/// Whether the operation (`post`, `/api/posts`) is rate limited, for the OpenAPI document.
pub fn is_limited(method: &str, pattern: &str) -> bool {
    limit_of(method, pattern).is_some()
}

/// Whether the operation's reads are throttled per user in memory, for the OpenAPI
/// document.
pub fn is_read_limited(method: &str, pattern: &str) -> bool {
    method.eq_ignore_ascii_case("get") && NOTIFICATION_READS.contains(&pattern)
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` hop that is not a trusted proxy itself (each proxy
/// appends the address it saw, so everything left of that is the client's own claim).
pub fn client_address(req: &HttpRequest, settings: &RateLimitSettings) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let hops = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    forwarded_client(peer, hops, &settings.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

/// The pure part of `client_address`: `hops` in header order, left to right.
fn forwarded_client<'a>(
    peer: Option<std::net::IpAddr>,
    hops: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for hop in hops.rev() {
        // An entry that is not an address ends the chain: nothing left of it is believed.
        let Ok(ip) = hop.parse::<std::net::IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod forwarded_tests {
    use super::forwarded_client;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        let hops = ["1.2.3.4"];
        assert_eq!(
            forwarded_client(Some(ip("8.8.8.8")), hops.iter().copied(), &trusted),
            Some(ip("8.8.8.8"))
        );
        assert_eq!(
            forwarded_client(Some(ip("10.0.0.5")), hops.iter().copied(), &trusted),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            forwarded_client(Some(ip("10.0.0.5")), hops.iter().copied(), &[]),
            Some(ip("10.0.0.5"))
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        // The client claimed 6.6.6.6; the edge proxy saw 5.5.5.5 and the inner one the edge.
        let hops = ["6.6.6.6", "5.5.5.5", "192.168.1.1"];
        assert_eq!(
            forwarded_client(Some(ip("10.1.1.1")), hops.iter().copied(), &trusted),
            Some(ip("5.5.5.5"))
        );
        // Garbage ends the chain at the last address believed.
        let hops = ["6.6.6.6", "not-an-ip", "192.168.1.1"];
        assert_eq!(
            forwarded_client(Some(ip("10.1.1.1")), hops.iter().copied(), &trusted),
            Some(ip("192.168.1.1"))
        );
        // All trusted: the left-most hop is as far as can be told.
        let hops = ["10.9.9.9"];
        assert_eq!(
            forwarded_client(Some(ip("10.1.1.1")), hops.iter().copied(), &trusted),
            Some(ip("10.9.9.9"))
        );
    }
}

pub use crate::error::rate_limit_headers as headers;

/// The routes whose reads are throttled per user in memory: each runs the due events
/// jobs first (`Jobs::drain`), so a client looping them would take a share of the
/// instance's work out of proportion to what it reads.
const NOTIFICATION_READS: &[&str] = &[
    "/api/notifications",
    "/api/notifications/unread-count",
    "/api/activity",
];

/// The longest a throttled read waits for its turn before it is refused.
const READ_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(1);

/// The in-memory, per-instance limit on reads of one's notifications and activity
/// (`governor`'s keyed GCRA limiter, by user id).
pub struct ReadLimiter {
    limiter: Option<governor::DefaultKeyedRateLimiter<bson::oid::ObjectId>>,
    per_sec: u32,
}

impl ReadLimiter {
    pub fn new(settings: &RateLimitSettings) -> Self {
        let per_sec = std::num::NonZeroU32::new(settings.notification_reads_per_sec);
        let burst = std::num::NonZeroU32::new(settings.notification_reads_burst.max(1));
        let limiter = per_sec.zip(burst).map(|(rate, burst)| {
            governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            limiter,
            per_sec: settings.notification_reads_per_sec,
        }
    }

    /// Admits one read of `user`'s: at once within the rate, else after waiting its turn
    /// (no CPU, no database: a client looping gets its rate and no more), or `429` with
    /// `Retry-After` when the turn is more than `READ_WAIT_MAX` away.
    async fn admit(&self, user: bson::oid::ObjectId) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // Forget users idle long enough to be back at a full burst (bounded memory).
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        if tokio::time::timeout(READ_WAIT_MAX, limiter.until_key_ready(&user))
            .await
            .is_ok()
        {
            return Ok(());
        }
        Err(ApiError::RateLimited {
            limit: self.per_sec,
            retry_after_secs: 1,
        })
    }
}

/// Counts the request when its route is limited, refusing it over the limit.
pub async fn limit_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
    if let (true, Some(state)) = (is_read, &state) {
        if NOTIFICATION_READS.contains(&req.path()) {
            let user = bearer_token(req.request())
                .and_then(Result::ok)
                .and_then(|token| verify_jwt(state, &token).ok());
            if let Some(user) = user {
                state.read_limiter.admit(user.user_id).await?;
            }
        }
    }
    // Other reads are not limited: skip matching their route.
    let limited = if is_read {
        None
    } else {
        req.match_pattern()
            .and_then(|pattern| limit_of(req.method().as_str(), &pattern))
    };
    let (Some(state), Some((bucket, by))) = (state, limited) else {
        return next.call(req).await;
    };
    let user = match by {
        By::User => match bearer_token(req.request()).and_then(Result::ok) {
            Some(token) => crate::api::auth_user::token_user(&state, &token).await,
            None => None,
        },
        By::Address => None,
    };
    let key = match user {
        Some(user_id) => format!("user:{}", user_id.to_hex()),
        None => format!(
            "address:{}",
            client_address(req.request(), &state.settings.rate_limit)
        ),
    };
    let quota = check(&state, bucket, &key).await?;
    let mut response = next.call(req).await?;
    // A 429 from the per-account count already says which limit was met.
    let already_limited = response.status() == StatusCode::TOO_MANY_REQUESTS;
    if let (Some(q), false) = (quota, already_limited) {
        for (name, value) in headers(q.limit, q.remaining, q.reset_secs) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_routes_match_by_method_and_pattern() {
        assert_eq!(
            limit_of("POST", "/api/auth/login"),
            Some((Bucket::Login, By::Address))
        );
        assert_eq!(
            limit_of("DELETE", "/api/posts/{id}/like"),
            Some((Bucket::Likes, By::User))
        );
        assert_eq!(limit_of("GET", "/api/posts"), None);
        assert_eq!(limit_of("GET", "/api/users"), None);
    }
}
