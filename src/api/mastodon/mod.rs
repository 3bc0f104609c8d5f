//! The Mastodon client API: the API that Mastodon apps (web, mobile, desktop, terminal)
//! speak, as a third façade over the same core as the native and the RealWorld API. It
//! keeps no data of its own but OAuth apps and grants: an account is a Rookery user, a
//! status a post, a favourite a like, and every rule (visibility, blocks, private groups,
//! moderation, rate limits) is the native one.
//!
//! - `oauth`: apps, the authorization page, tokens (`auth::oauth` for their format).
//! - `auth`: who calls (a user with scopes, an app, nobody).
//! - `params`: JSON, form and query parameters with Rails-style arrays.
//! - `instance`: what the server is and allows (`/api/v1/instance`, `/api/v2/instance`,
//!   NodeInfo).
//! - `accounts`: the `Account` entity and the account endpoints.
//! - `profile`: one's own account (`verify_credentials`, `update_credentials`).
//! - `statuses`: posts and their replies (comments) as statuses; favourites.
//! - `edits`: editing a status, its versions and its source text.
//! - `timelines`: home, public and hashtag timelines with `Link` paging.
//! - `media`: uploads through the native pipeline, with alternative text.
//! - `notifications`: notifications with Mastodon's types; dismissing.
//! - `scheduled`: one's scheduled statuses (listed, moved, cancelled).
//! - `reports`: reports of statuses, as native reports of posts.
//! - `misc`: markers, preferences, trends, and empty lists for what Rookery lacks.
//! - `streaming`: the streaming WebSocket (`update`, `notification`, `delete`).
//! - `errors`: `{"error": "…"}` answers.
//!
//! Ids are the 24-hex-digit ObjectIds, which sort by time as Mastodon's ids do.

pub mod accounts;
pub mod auth;
pub mod edits;
pub mod errors;
pub mod instance;
pub mod media;
pub mod misc;
pub mod notifications;
pub mod oauth;
pub mod params;
pub mod profile;
pub mod reports;
pub mod scheduled;
pub mod statuses;
pub mod streaming;
pub mod timelines;

use crate::api::state::AppState;

/// The version apps read: Mastodon's API version Rookery answers as, then its own.
pub fn version() -> String {
    format!("4.2.0 (compatible; Rookery {})", env!("CARGO_PKG_VERSION"))
}

/// The service's public address, without a trailing slash (`server.public_url`).
pub fn base_url(state: &AppState) -> String {
    state
        .settings
        .server
        .public_url
        .trim_end_matches('/')
        .to_owned()
}

/// `path` made absolute on the public address (a URL already absolute stays).
pub fn absolute(state: &AppState, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        path.to_owned()
    } else {
        format!("{}/{}", base_url(state), path.trim_start_matches('/'))
    }
}

/// The host apps show as the instance's domain.
pub fn domain(state: &AppState) -> String {
    url::Url::parse(&state.settings.server.public_url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The `Link` header to a list's next page after the item `id` of `date`: this path with
/// `limit`, `max_id` and the native cursor (so the next page costs what this one did).
pub fn next_link(
    state: &AppState,
    req: &actix_web::HttpRequest,
    limit: i64,
    id: bson::oid::ObjectId,
    date: bson::DateTime,
) -> (actix_web::http::header::HeaderName, String) {
    (
        actix_web::http::header::LINK,
        format!(
            "<{}{}?limit={limit}&max_id={}&cursor={}>; rel=\"next\"",
            base_url(state),
            req.path(),
            id.to_hex(),
            crate::store::date_cursor(date, id).encode()
        ),
    )
}
