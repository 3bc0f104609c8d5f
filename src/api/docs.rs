//! The API's own description: the OpenAPI 3.1 document at `GET /api/openapi.json`, built
//! from the `#[utoipa::path]` attributes on the handlers, and Swagger UI at `GET /api/docs`
//! (its files are compiled into the binary, so the page needs no network).
//!
//! The attributes say what is particular to each operation: its method, path, body,
//! success responses and the errors only it gives. What follows from the conventions of
//! API.md §1 is added here once, by rule, so that no operation can forget it:
//! path parameters, pagination parameters, the error body of every 4xx/5xx, `401` wherever
//! a token is read, `400` wherever input is read, `404` wherever a path names something,
//! `503` wherever the database is asked, and the aliases, which repeat their canonical
//! operation under another path or method.

use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};
use utoipa::OpenApi;
use utoipa_swagger_ui::Config;

use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/openapi.json").route(web::get().to(openapi_json)))
        .service(web::resource("/docs").route(web::get().to(docs_page)))
        .service(web::resource("/docs/{file}").route(web::get().to(docs_file)));
}

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
    paths(
        crate::api::ops::health,
        crate::api::ops::ready,
        crate::api::ops::metrics,
        openapi_json,
        docs_page,
        docs_file,
        crate::api::dev::outbox,
        crate::api::auth::register,
        crate::api::auth::verify_email_link,
        crate::api::auth::verify_email,
        crate::api::auth::resend_verification,
        crate::api::auth::login,
        crate::api::auth::refresh_token,
        crate::api::auth::logout,
        crate::api::auth::logout_all,
        crate::api::auth::list_sessions,
        crate::api::auth::revoke_session,
        crate::api::auth::change_password,
        crate::api::auth::forgot_password,
        crate::api::auth::reset_password,
        crate::api::users::get_me,
        crate::api::users::update_me,
        crate::api::users::delete_me,
        crate::api::users::list_users,
        crate::api::users::get_user,
        crate::api::media::set_avatar,
        crate::api::media::remove_avatar,
        crate::api::discover::search_users,
        crate::api::discover::suggestions,
        crate::api::social::follow,
        crate::api::social::unfollow,
        crate::api::social::followers,
        crate::api::social::following,
        crate::api::social::block,
        crate::api::social::unblock,
        crate::api::social::my_blocks,
        crate::api::posts::create_post,
        crate::api::posts::list_posts,
        crate::api::posts::search_posts,
        crate::api::posts::trending_hashtags,
        crate::api::posts::get_post,
        crate::api::posts::update_post,
        crate::api::posts::delete_post,
        crate::api::posts::post_history,
        crate::api::posts::user_posts,
        crate::api::posts::my_scheduled_posts,
        crate::api::feed::get_feed,
        crate::api::likes::like_post,
        crate::api::likes::unlike_post,
        crate::api::likes::post_likers,
        crate::api::likes::my_liked_posts,
        crate::api::comments::list_comments,
        crate::api::comments::create_comment,
        crate::api::comments::update_comment,
        crate::api::comments::delete_comment,
        crate::api::media::upload_media,
        crate::api::media::download_media,
        crate::api::media::delete_media,
        crate::api::groups::create_group,
        crate::api::groups::list_groups,
        crate::api::groups::get_group,
        crate::api::groups::update_group,
        crate::api::groups::delete_group,
        crate::api::groups::join_group,
        crate::api::groups::leave_group,
        crate::api::groups::list_members,
        crate::api::groups::add_member,
        crate::api::groups::remove_member,
        crate::api::groups::group_posts,
        crate::api::groups::share_post,
        crate::api::notifications::list_notifications,
        crate::api::notifications::unread_count,
        crate::api::notifications::mark_read,
        crate::api::notifications::notification_socket,
        crate::api::activity::list_activity,
        crate::api::activity::activity_socket,
        crate::api::moderation::report_post,
        crate::api::moderation::post_analytics,
        crate::api::moderation::list_reports,
        crate::api::moderation::decide_report,
        crate::api::moderation::set_role,
        crate::api::moderation::set_status,
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
    )
)]
struct ApiDoc;

/// Another path or method for a canonical operation: `(method, path, canonical method,
/// canonical path)`. The seeds' paths live on as aliases (API.md §1); `PUT` is `PATCH`.
pub const ALIASES: &[(&str, &str, &str, &str)] = &[
    ("post", "/api/register", "post", "/api/auth/register"),
    ("post", "/api/users", "post", "/api/auth/register"),
    ("post", "/api/login", "post", "/api/auth/login"),
    ("post", "/api/users/login", "post", "/api/auth/login"),
    (
        "post",
        "/api/token/refresh",
        "post",
        "/api/auth/token/refresh",
    ),
    ("put", "/api/users/me", "patch", "/api/users/me"),
    ("patch", "/api/users", "patch", "/api/users/me"),
    ("put", "/api/auth/profile", "patch", "/api/users/me"),
    (
        "get",
        "/api/posts/suggestions",
        "get",
        "/api/users/suggestions",
    ),
    (
        "post",
        "/api/users/{user}/unfollow",
        "delete",
        "/api/users/{user}/follow",
    ),
    (
        "post",
        "/api/users/{user}/unblock",
        "delete",
        "/api/users/{user}/block",
    ),
    ("get", "/api/posts/feed", "get", "/api/feed"),
    ("put", "/api/posts/{id}", "patch", "/api/posts/{id}"),
    (
        "post",
        "/api/posts/{id}/unlike",
        "delete",
        "/api/posts/{id}/like",
    ),
    ("put", "/api/comments/{id}", "patch", "/api/comments/{id}"),
    ("post", "/api/posts/videos", "post", "/api/media"),
    ("head", "/api/media/{id}", "get", "/api/media/{id}"),
    ("get", "/api/posts/videos/{id}", "get", "/api/media/{id}"),
    ("head", "/api/posts/videos/{id}", "get", "/api/media/{id}"),
    ("put", "/api/groups/{id}", "patch", "/api/groups/{id}"),
    ("get", "/api/activity-log", "get", "/api/activity/ws"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The finished document, built once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|err| {
        log::error!("the OpenAPI document does not serialise: {err}");
        json!({})
    });
    add_conventions(&mut doc);
    add_aliases(&mut doc);
    doc["components"]["securitySchemes"] = json!({
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The `access` token from `POST /api/auth/login` or `/api/auth/token/refresh`."
        }
    });
    doc
}

fn add_aliases(doc: &mut Value) {
    for (method, path, canonical_method, canonical_path) in ALIASES {
        let Some(canonical) = doc["paths"][canonical_path][canonical_method]
            .as_object()
            .cloned()
        else {
            log::error!("alias {method} {path}: no {canonical_method} {canonical_path}");
            continue;
        };
        let mut operation = canonical;
        let id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or("operation");
        let id = format!("{id}_{method}_{}", slug(path));
        operation.insert("operationId".into(), id.into());
        let note = format!(
            "Alias of `{} {canonical_path}`.",
            canonical_method.to_uppercase()
        );
        let description = match operation.get("description").and_then(Value::as_str) {
            Some(text) => format!("{note}\n\n{text}"),
            None => note,
        };
        operation.insert("description".into(), description.into());
        if let Some(summary) = operation.get("summary").and_then(Value::as_str) {
            let summary = format!("{summary} (alias)");
            operation.insert("summary".into(), summary.into());
        }
        if *method == "head" {
            // The same headers, no body.
            operation.remove("requestBody");
            if let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            {
                for response in responses.values_mut() {
                    if let Some(response) = response.as_object_mut() {
                        response.remove("content");
                    }
                }
            }
        }
        doc["paths"][path][method] = Value::Object(operation);
    }
}

fn slug(path: &str) -> String {
    path.trim_start_matches("/api/")
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            '/' | '-' | '_' => Some('_'),
            _ => None,
        })
        .collect()
}

/// What API.md §1 makes true of every operation.
fn add_conventions(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for method in METHODS {
            let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            add_path_parameters(path, operation);
            let idempotent = crate::idempotency::applies_to(method, path);
            if idempotent {
                add_idempotency_key(operation);
            }
            let paginated = add_page_parameters(operation);
            let reads_input = operation_reads_input(operation);
            // A token is read wherever security is declared: a bad one is a 401 even on
            // public routes.
            let reads_token = operation.contains_key("security");
            let needs_database = path.starts_with("/api/")
                && !path.starts_with("/api/docs")
                && !path.starts_with("/api/dev")
                && path != "/api/openapi.json";
            let Some(responses) = operation
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut()
            else {
                continue;
            };
            if reads_input {
                default_error(responses, 400);
            }
            if reads_token {
                default_error(responses, 401);
            }
            if path.contains('{') {
                default_error(responses, 404);
            }
            if needs_database {
                default_error(responses, 503);
            }
            let limited = crate::rate_limit::is_limited(method, path);
            if limited {
                default_error(responses, 429);
            }
            if idempotent {
                default_error(responses, 409);
                default_error(responses, 422);
            }
            for (status, response) in responses.iter_mut() {
                if status.starts_with(['4', '5']) {
                    error_content(status, response);
                }
            }
            if reads_token {
                if let Some(response) = responses.get_mut("401") {
                    response["headers"] = json!({"WWW-Authenticate": {
                        "description": "`Bearer`", "schema": {"type": "string"}
                    }});
                }
            }
            if limited {
                add_rate_limit_headers(responses);
            }
            if paginated {
                if let Some(ok) = responses.get_mut("200").and_then(Value::as_object_mut) {
                    ok.insert(
                        "headers".into(),
                        json!({"Link": {
                            "description": "`<next URL>; rel=\"next\"` when another page follows.",
                            "schema": {"type": "string"}
                        }}),
                    );
                }
            }
        }
    }
}

/// The optional `Idempotency-Key` header of a creating operation.
fn add_idempotency_key(operation: &mut Map<String, Value>) {
    let params = operation.entry("parameters").or_insert_with(|| json!([]));
    if let Some(params) = params.as_array_mut() {
        params.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "A retry with the same key and body returns the first answer \
                (with `Idempotent-Replayed: true`) and creates nothing new; kept 24 h.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}
        }));
    }
}

/// A limited operation's answers carry its quota; a `429` also `Retry-After`.
fn add_rate_limit_headers(responses: &mut Map<String, Value>) {
    let quota = json!({
        "RateLimit-Limit": {"description": "Requests allowed in the window.", "schema": {"type": "integer"}},
        "RateLimit-Remaining": {"description": "Requests left in the window.", "schema": {"type": "integer"}},
        "RateLimit-Reset": {"description": "Seconds until the window ends.", "schema": {"type": "integer"}},
    });
    for (status, response) in responses.iter_mut() {
        let mut headers = quota.clone();
        if status == "429" {
            headers["Retry-After"] = json!({
                "description": "Seconds to wait before trying again.", "schema": {"type": "integer"}
            });
        }
        if let Some(response) = response.as_object_mut() {
            let existing = response.entry("headers").or_insert_with(|| json!({}));
            if let (Some(existing), Some(headers)) = (existing.as_object_mut(), headers.as_object())
            {
                existing.extend(headers.clone());
            }
        }
    }
}

fn operation_reads_input(operation: &Map<String, Value>) -> bool {
    operation.contains_key("requestBody")
        || operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|params| params.iter().any(|p| p["in"] == "query"))
}

/// `{name}` in the path becomes a required path parameter, unless the operation names it.
fn add_path_parameters(path: &str, operation: &mut Map<String, Value>) {
    let params = operation.entry("parameters").or_insert_with(|| json!([]));
    let Some(params) = params.as_array_mut() else {
        return;
    };
    for name in path
        .split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
    {
        if params
            .iter()
            .any(|p| p["name"] == name && p["in"] == "path")
        {
            continue;
        }
        let description = match name {
            "user" => "The user's id or username.",
            "file" => "A file of the documentation page.",
            _ => "An id: 24 lowercase hex characters.",
        };
        params.push(json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": description,
            "schema": {"type": "string"}
        }));
    }
    if params.is_empty() {
        operation.remove("parameters");
    }
}

/// A `200` whose body is a page gets `limit` and `cursor`; true when it did.
fn add_page_parameters(operation: &mut Map<String, Value>) -> bool {
    let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
    let paginated = schema
        .as_str()
        .is_some_and(|r| r.starts_with("#/components/schemas/Page"));
    if !paginated {
        return false;
    }
    let params = operation.entry("parameters").or_insert_with(|| json!([]));
    if let Some(params) = params.as_array_mut() {
        params.push(json!({
            "name": "limit", "in": "query", "required": false,
            "description": "Items per page.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
        }));
        params.push(json!({
            "name": "cursor", "in": "query", "required": false,
            "description": "Where the page starts: copied from the previous page's `next`.",
            "schema": {"type": "string"}
        }));
    }
    true
}

fn default_error(responses: &mut Map<String, Value>, status: u16) {
    let description = match status {
        400 => "Bad input: `validation_error` (with `errors`) or `invalid_json`.",
        401 => "`not_authenticated`, `token_invalid` or `token_expired`.",
        404 => "`not_found`: no such resource, or the viewer may not know it exists.",
        409 => "`idempotency_key_in_use`: the first request with this key is still running.",
        422 => "`idempotency_key_reused`: the key was used for a different request.",
        429 => "`rate_limited`: too many requests; wait `Retry-After` seconds.",
        503 => "`service_unavailable`: the database does not answer; try again shortly.",
        _ => "An error.",
    };
    responses
        .entry(status.to_string())
        .or_insert_with(|| json!({ "description": description }));
}

/// Every error response carries the error body of API.md §1, with an example.
fn error_content(status: &str, response: &mut Value) {
    if response.get("content").is_some() {
        return;
    }
    let (code, detail) = match status {
        "400" => ("validation_error", "Invalid input."),
        "401" => (
            "not_authenticated",
            "Authentication credentials were not provided.",
        ),
        "403" => (
            "permission_denied",
            "You do not have permission to perform this action.",
        ),
        "404" => ("not_found", "Not found."),
        "409" => (
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        ),
        "413" => ("payload_too_large", "The request body is too large."),
        "415" => ("unsupported_media_type", "Unsupported media type."),
        "416" => (
            "range_not_satisfiable",
            "The requested range is not satisfiable.",
        ),
        "422" => (
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
        ),
        "429" => ("rate_limited", "Too many requests."),
        "503" => (
            "service_unavailable",
            "The service is temporarily unavailable; try again shortly.",
        ),
        _ => ("internal_error", "An internal error occurred."),
    };
    response["content"] = json!({
        "application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorBody"},
            "example": {"detail": detail, "code": code}
        }
    });
}

/// The OpenAPI 3.1 description of this API.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "ops",
    responses((status = 200, description = "The OpenAPI document.", content_type = "application/json"))
)]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// The interactive documentation (Swagger UI): redirects to its page.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "ops",
    responses((status = 302, description = "To `/api/docs/index.html`."))
)]
async fn docs_page() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/api/docs/index.html"))
        .finish()
}

/// A file of the documentation page.
#[utoipa::path(
    get,
    path = "/api/docs/{file}",
    tag = "ops",
    responses((status = 200, description = "The file.", content_type = "text/html"))
)]
async fn docs_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| Arc::new(Config::from("/api/openapi.json")));
    let served = utoipa_swagger_ui::serve(&file, config.clone())
        .map_err(|err| ApiError::internal(err.to_string()))?
        .ok_or(ApiError::NotFound)?;
    let mut response = HttpResponse::Ok();
    response
        .content_type(served.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    if served.gzpipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    Ok(response.body(served.bytes.into_owned()))
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
        for (method, path, canonical_method, canonical_path) in ALIASES {
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
            if crate::rate_limit::is_limited(&method, &path) {
                limited += 1;
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
            limited, 20,
            "every route of rate_limit::LIMITED is documented"
        );
    }
}
