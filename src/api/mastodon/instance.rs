//! What the server is and allows, as Mastodon apps ask before anything else:
//! `/api/v1/instance`, `/api/v2/instance`, `/api/v1/instance/peers`, NodeInfo 2.0.

use std::future::IntoFuture;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{absolute, base_url, domain, version};
use crate::api::state::AppState;
use crate::domain::posts::CONTENT_MAX;
use crate::error::ApiError;
use crate::store::{posts, users};

type State = web::Data<AppState>;

/// The file types an upload may be (sniffed from its bytes, whatever it claims).
pub const MEDIA_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/quicktime",
    "video/webm",
];

const TITLE: &str = "Rookery";
const DESCRIPTION: &str = "A Rookery social network.";

/// The streaming address: the public one with `ws`/`wss`.
fn streaming_url(state: &AppState) -> String {
    let base = base_url(state);
    match base.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", base.trim_start_matches("http://")),
    }
}

fn configuration(state: &AppState) -> Value {
    let media = &state.settings.media;
    json!({
        "urls": { "streaming": streaming_url(state) },
        "vapid": { "public_key": "" },
        "accounts": { "max_featured_tags": 0, "max_pinned_statuses": 0 },
        "statuses": {
            "max_characters": CONTENT_MAX,
            "max_media_attachments": state.settings.posts.max_media,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": MEDIA_TYPES,
            "image_size_limit": media.max_image_bytes,
            "image_matrix_limit": 16_777_216,
            "video_size_limit": media.max_video_bytes,
            "video_frame_rate_limit": 60,
            "video_matrix_limit": 2_304_000,
        },
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 0,
            "max_expiration": 0,
        },
        "translation": { "enabled": false },
    })
}

/// Accounts and posts, as the collections' metadata estimates them (no scan).
async fn counts(state: &AppState) -> Result<(u64, u64), ApiError> {
    let users = users::collection(&state.db);
    let posts = posts::collection(&state.db);
    Ok(futures::try_join!(
        users.estimated_document_count().into_future(),
        posts.estimated_document_count().into_future(),
    )?)
}

fn registrations_open() -> bool {
    true
}

/// `GET /api/v2/instance`.
pub async fn v2(state: State) -> Result<HttpResponse, ApiError> {
    let users = users::collection(&state.db)
        .estimated_document_count()
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "domain": domain(&state),
        "title": TITLE,
        "version": version(),
        "source_url": absolute(&state, "/docs"),
        "description": DESCRIPTION,
        "usage": { "users": { "active_month": users } },
        "thumbnail": { "url": absolute(&state, super::accounts::DEFAULT_AVATAR) },
        "icon": [],
        "languages": ["en"],
        "configuration": configuration(&state),
        "registrations": {
            "enabled": registrations_open(),
            "approval_required": false,
            "message": null,
            "url": null,
        },
        "api_versions": { "mastodon": 0 },
        "contact": { "email": "", "account": null },
        "rules": [],
    })))
}

/// `GET /api/v1/instance`.
pub async fn v1(state: State) -> Result<HttpResponse, ApiError> {
    let (users, statuses) = counts(&state).await?;
    let mut configuration = configuration(&state);
    if let Some(object) = configuration.as_object_mut() {
        object.remove("urls");
    }
    Ok(HttpResponse::Ok().json(json!({
        "uri": domain(&state),
        "title": TITLE,
        "short_description": DESCRIPTION,
        "description": DESCRIPTION,
        "email": "",
        "version": version(),
        "urls": { "streaming_api": streaming_url(&state) },
        "stats": { "user_count": users, "status_count": statuses, "domain_count": 0 },
        "thumbnail": absolute(&state, super::accounts::DEFAULT_AVATAR),
        "languages": ["en"],
        "registrations": registrations_open(),
        "approval_required": false,
        "invites_enabled": false,
        "configuration": configuration,
        "contact_account": null,
        "rules": [],
    })))
}

/// `GET /api/v1/instance/peers`: Rookery does not federate.
pub async fn peers() -> HttpResponse {
    HttpResponse::Ok().json(json!([]))
}

/// `GET /.well-known/host-meta`: where WebFinger is (XRD, as Mastodon serves it).
pub async fn host_meta(state: State) -> HttpResponse {
    let template = absolute(&state, "/.well-known/webfinger?resource={uri}");
    HttpResponse::Ok()
        .content_type("application/xrd+xml; charset=utf-8")
        .body(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
             <Link rel=\"lrdd\" template=\"{}\"/>\n</XRD>\n",
            super::accounts::escape(&template)
        ))
}

#[derive(serde::Deserialize)]
struct WebFingerQuery {
    #[serde(default, deserialize_with = "super::params::text")]
    resource: Option<String>,
}

/// `GET /.well-known/webfinger?resource=acct:name@host`: a local account's address and
/// profile page (JRD); `404` for anyone else. Rookery does not federate, so there is no
/// ActivityPub actor link.
pub async fn webfinger(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let query: WebFingerQuery = super::params::Params::of_query(&req).take()?;
    let resource = query.resource.unwrap_or_default();
    let name = super::accounts::local_username(&state, &resource).ok_or(ApiError::NotFound)?;
    let user = users::find_by_ref(&state.db, name)
        .await?
        .ok_or(ApiError::NotFound)?;
    let profile = absolute(&state, &format!("/@{}", user.username));
    Ok(HttpResponse::Ok()
        .content_type("application/jrd+json; charset=utf-8")
        .json(json!({
            "subject": format!("acct:{}@{}", user.username, domain(&state)),
            "aliases": [profile],
            "links": [{
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": profile,
            }],
        })))
}

/// `GET /.well-known/nodeinfo`: where the NodeInfo document is.
pub async fn nodeinfo_index(state: State) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
            "href": absolute(&state, "/nodeinfo/2.0"),
        }]
    }))
}

/// `GET /nodeinfo/2.0`.
pub async fn nodeinfo(state: State) -> Result<HttpResponse, ApiError> {
    let (users, statuses) = counts(&state).await?;
    Ok(HttpResponse::Ok()
        .content_type(
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"",
        )
        .json(json!({
            "version": "2.0",
            "software": { "name": "rookery", "version": env!("CARGO_PKG_VERSION") },
            "protocols": [],
            "services": { "outbound": [], "inbound": [] },
            "usage": { "users": { "total": users }, "localPosts": statuses },
            "openRegistrations": registrations_open(),
            "metadata": {},
        })))
}
