//! The limits counted in the database (`store::rate_limits`): fixed windows per bucket
//! and key, so a client spreading requests over several instances meets one limit. The
//! HTTP side (`api::rate_limit`) counts routes per address or user; the account
//! operations count per account named (`check_account`).

use bson::DateTime;

use crate::config::{RateLimitSettings, Rule};
use crate::core::Services;
use crate::error::ApiError;
use crate::store::rate_limits;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Login,
    Register,
    ResendVerification,
    PasswordForgot,
    PasswordReset,
    Posts,
    Comments,
    Likes,
    Follows,
    Uploads,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Login => "login",
            Bucket::Register => "register",
            Bucket::ResendVerification => "resend_verification",
            Bucket::PasswordForgot => "password_forgot",
            Bucket::PasswordReset => "password_reset",
            Bucket::Posts => "posts",
            Bucket::Comments => "comments",
            Bucket::Likes => "likes",
            Bucket::Follows => "follows",
            Bucket::Uploads => "uploads",
        }
    }

    pub fn rule(self, settings: &RateLimitSettings) -> Rule {
        match self {
            Bucket::Login => settings.login,
            Bucket::Register => settings.register,
            Bucket::ResendVerification => settings.resend_verification,
            Bucket::PasswordForgot => settings.password_forgot,
            Bucket::PasswordReset => settings.password_reset,
            Bucket::Posts => settings.posts,
            Bucket::Comments => settings.comments,
            Bucket::Likes => settings.likes,
            Bucket::Follows => settings.follows,
            Bucket::Uploads => settings.uploads,
        }
    }
}

/// Where a window stands after counting one more request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

/// The window that second `now` falls in: its id and when it ends.
fn window(bucket: Bucket, rule: Rule, key: &str, now: u64) -> (String, u64) {
    let length = rule.window_secs.max(1);
    let start = now - now % length;
    (format!("{}:{key}:{start}", bucket.name()), start + length)
}

/// The quota left once `count` requests were made in a window ending at `end`.
fn quota(rule: Rule, count: i64, now: u64, end: u64) -> Result<Quota, ApiError> {
    let reset_secs = end.saturating_sub(now).max(1);
    if count > i64::from(rule.limit) {
        return Err(ApiError::RateLimited {
            limit: rule.limit,
            retry_after_secs: reset_secs,
        });
    }
    let remaining = u32::try_from(i64::from(rule.limit) - count).unwrap_or(0);
    Ok(Quota {
        limit: rule.limit,
        remaining,
        reset_secs,
    })
}

/// Counts one request of `key` against `bucket`; `None` when limiting is off.
pub async fn check(
    services: &Services,
    bucket: Bucket,
    key: &str,
) -> Result<Option<Quota>, ApiError> {
    let settings = &services.settings.rate_limit;
    if !settings.enabled {
        return Ok(None);
    }
    let rule = bucket.rule(settings);
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
    let (id, end) = window(bucket, rule, key, now);
    let expires_at = DateTime::from_millis(i64::try_from(end * 1000).unwrap_or(i64::MAX));
    let count = rate_limits::hit(&services.db, &id, expires_at).await?;
    quota(rule, count, now, end).map(Some)
}

/// Counts one request against the account a body names (a login name or an email),
/// ignoring case, so that spreading guesses over many addresses does not help.
pub async fn check_account(
    services: &Services,
    bucket: Bucket,
    account: &str,
) -> Result<(), ApiError> {
    let key = format!("account:{}", account.trim().to_lowercase());
    check(services, bucket, &key).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Rule = Rule {
        limit: 3,
        window_secs: 60,
    };

    #[test]
    fn a_window_is_aligned_to_its_length_and_named_by_bucket_and_key() {
        let (id, end) = window(Bucket::Login, RULE, "address:10.0.0.1", 125);
        assert_eq!(id, "login:address:10.0.0.1:120");
        assert_eq!(end, 180);
        assert_eq!(window(Bucket::Login, RULE, "k", 179).0, "login:k:120");
        assert_eq!(window(Bucket::Login, RULE, "k", 180).0, "login:k:180");
    }

    #[test]
    fn the_request_over_the_limit_is_refused_until_the_window_ends() {
        assert_eq!(
            quota(RULE, 1, 125, 180).unwrap(),
            Quota {
                limit: 3,
                remaining: 2,
                reset_secs: 55
            }
        );
        assert_eq!(quota(RULE, 3, 125, 180).unwrap().remaining, 0);
        match quota(RULE, 4, 170, 180) {
            Err(ApiError::RateLimited {
                limit: 3,
                retry_after_secs: 10,
            }) => {}
            other => panic!("expected rate_limited, got {other:?}"),
        }
    }
}
