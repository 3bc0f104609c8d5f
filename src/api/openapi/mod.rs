//! The API's own description: the OpenAPI 3.1 document, built from the route table (each
//! handler's `#[utoipa::path]`), served by `api/docs.rs` at `GET /api/openapi.json`.
//!
//! The attributes say what is particular to each operation: its method, path, body,
//! success responses and the errors only it gives. What follows from the conventions of
//! the API is added here once, by rule, so that no operation can forget it:
//! path parameters, pagination parameters, the error body of every 4xx/5xx, `401` wherever
//! a token is read, `400` wherever input is read, `404` wherever a path names something,
//! `503` wherever the database is asked, and the aliases, which repeat their canonical
//! operation under another path or method.

use std::sync::OnceLock;

use serde_json::{json, Value};
use utoipa::OpenApi;

pub mod conventions;

pub use conventions::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rookery API",
        description = "A social-media backend: accounts with email verification, JWT sessions, \
            profiles, follows, a home feed, posts with hashtags and media, likes, comments, \
            blocks, reports, groups, suggestions, analytics, and real-time notifications and \
            activity over WebSocket.\n\n\
            Send `Authorization: Bearer <access token>` (from `POST /api/auth/login`). \
            Every error has the body `{detail, code}` (validation errors add `errors`, \
            field → messages). Lists are cursor-paginated: `limit` (1..100, default 20) and \
            the opaque `cursor` taken from a page's `next` URL, also sent as a `Link` header. \
            Every path also answers with a trailing slash.",
        license(name = "MIT")
    ),
    components(schemas(crate::error::ErrorBody)),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "users", description = "Profiles, search and suggestions"),
        (name = "social", description = "Follows and blocks"),
        (name = "posts", description = "Posts, hashtags and the home feed"),
        (name = "likes", description = "Likes"),
        (name = "comments", description = "Comments"),
        (name = "media", description = "Images and videos. Download a file through the `url` the API hands out: it carries the file's capability key, so it works in `<img src>` without a token, and nothing else does. Images lose their EXIF, XMP and other metadata (the orientation is kept) before they are stored"),
        (name = "groups", description = "Groups"),
        (name = "notifications", description = "Notifications, also over WebSocket"),
        (name = "activity", description = "The account's activity log"),
        (name = "moderation", description = "Reports, roles, account status, analytics"),
        (name = "ops", description = "Health, readiness, metrics and this documentation"),
        (name = "realworld", description = "The RealWorld (Conduit) API, for RealWorld front ends: `APIURL` is `/realworld/api`. An article is a post, a favourite a like, a profile a user, tags are hashtags: everything is visible through both APIs. Send `Authorization: Token <token>` (`Bearer` works too). Bodies are wrapped (`{\"user\": …}`, `{\"article\": …}`), fields are camelCase, lists take `limit` and `offset` and answer `articlesCount`, and errors are `{\"errors\": {field: [message]}}`, with `422` for bad input"),
        (name = "mastodon", description = "The Mastodon client API, for Mastodon apps: register an app at `POST /api/v1/apps`, sign the user in through the authorization page `/oauth/authorize` (OAuth 2 with PKCE), exchange the code at `POST /oauth/token`, then send `Authorization: Bearer <access_token>`. Requests and answers are Mastodon's; errors are `{\"error\": \"…\"}`. docs/MASTODON.md lists what is served and how Rookery's data maps onto Mastodon's"),
    )
)]
pub(crate) struct ApiDoc;

/// The finished document, built once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> Value {
    let mut openapi = ApiDoc::openapi();
    crate::api::routes::document_all(&mut openapi);
    let mut doc = serde_json::to_value(openapi).unwrap_or_else(|err| {
        log::error!("the OpenAPI document does not serialise: {err}");
        json!({})
    });
    doc["components"]["schemas"]["RealWorldErrors"] = json!({
        "type": "object",
        "required": ["errors"],
        "properties": {"errors": {
            "type": "object",
            "description": "Each field with its messages; `body` for what concerns no one field.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}}
        }}
    });
    add_conventions(&mut doc);
    add_aliases(&mut doc);
    doc["components"]["schemas"]["MastodonError"] = json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "error_description": {"type": "string"}
        }
    });
    doc["components"]["securitySchemes"] = json!({
        "mastodonToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "A Mastodon app's `access_token` from `POST /oauth/token` (a native access token works too, with every scope)."
        },
        "realWorldToken": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`, the `token` of the RealWorld User object (from `POST /realworld/api/users/login`); it lives as long as a session."
        },
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The `access` token from `POST /api/auth/login` or `/api/auth/token/refresh`."
        },
        "metricsToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "`server.metrics_token` (`ROOKERY__SERVER__METRICS_TOKEN`), for `/metrics`."
        }
    });
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operations() -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in document()["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    all.push((method.to_owned(), path.clone(), op.clone()));
                }
            }
        }
        all
    }

    #[test]
    fn every_alias_names_a_documented_operation() {
        for (method, path, canonical_method, canonical_path) in aliases() {
            assert!(
                document()["paths"][canonical_path][canonical_method].is_object(),
                "{canonical_method} {canonical_path}, the original of {method} {path}"
            );
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = operations()
            .iter()
            .map(|(_, _, op)| op["operationId"].as_str().unwrap_or_default().to_owned())
            .collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }

    #[test]
    fn every_path_parameter_is_declared_and_every_error_has_a_body() {
        for (method, path, op) in operations() {
            for name in path
                .split('/')
                .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            {
                let declared = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
                assert!(declared, "{method} {path}: {name}");
            }
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                if status.starts_with(['4', '5']) && method != "head" {
                    assert!(response["content"].is_object(), "{method} {path} {status}");
                }
            }
        }
    }

    #[test]
    fn a_token_read_means_a_documented_401() {
        for (method, path, op) in operations() {
            if op.get("security").is_some() {
                assert!(op["responses"]["401"].is_object(), "{method} {path}");
            }
        }
    }

    #[test]
    fn rate_limited_operations_document_429_with_retry_after() {
        let mut limited = 0;
        for (method, path, op) in operations() {
            let in_table = crate::api::rate_limit::is_limited(&method, &path);
            if in_table {
                limited += 1;
            }
            if in_table || crate::api::rate_limit::is_read_limited(&method, &path) {
                let too_many = &op["responses"]["429"];
                assert!(
                    too_many["headers"]["Retry-After"].is_object(),
                    "{method} {path}"
                );
                assert!(
                    too_many["headers"]["RateLimit-Reset"].is_object(),
                    "{method} {path}"
                );
            } else {
                assert!(op["responses"]["429"].is_null(), "{method} {path}");
            }
        }
        assert_eq!(
            limited, 39,
            "every rate-limited route of the table is documented"
        );
        let reads = [
            "/api/notifications",
            "/api/notifications/unread-count",
            "/api/activity",
        ];
        for path in reads {
            assert!(
                crate::api::rate_limit::is_read_limited("get", path),
                "{path}"
            );
        }
    }
}
