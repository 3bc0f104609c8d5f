//! What the generated document gains after utoipa: the route aliases, and the
//! conventions every operation shares (error bodies, page and path parameters, rate-limit
//! and idempotency headers).

use serde_json::{json, Map, Value};

/// Another path or method for a canonical operation: `(method, path, canonical method,
/// canonical path)`, from the route table. The seeds' paths live on as aliases; `PUT` is
/// `PATCH`.
pub fn aliases() -> impl Iterator<Item = (&'static str, &'static str, &'static str, &'static str)> {
    crate::api::routes::table().iter().filter_map(|r| {
        r.alias_of
            .as_ref()
            .map(|(method, path)| (r.method, r.path.as_str(), *method, path.as_str()))
    })
}

pub(super) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub(super) fn add_aliases(doc: &mut Value) {
    for (method, path, canonical_method, canonical_path) in aliases() {
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
        if method == "head" {
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

pub(super) fn slug(path: &str) -> String {
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
pub(super) fn add_conventions(doc: &mut Value) {
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
            let idempotent = crate::api::idempotency::applies_to(method, path);
            if idempotent {
                add_idempotency_key(operation);
            }
            let paginated = add_page_parameters(operation);
            let reads_input = operation_reads_input(operation);
            // A token is read wherever security is declared: a bad one is a 401 even on
            // public routes.
            let reads_token = operation.contains_key("security");
            let realworld = path.starts_with("/realworld/");
            let mastodon = operation["tags"][0] == "mastodon";
            let needs_database = realworld
                || path.starts_with("/api/")
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
            if reads_input && realworld {
                responses.entry("422").or_insert_with(|| {
                    json!({ "description": "Bad input: `errors` names each field with its messages." })
                });
            } else if reads_input {
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
            let limited = crate::api::rate_limit::is_limited(method, path);
            let read_limited = crate::api::rate_limit::is_read_limited(method, path);
            if limited || read_limited {
                default_error(responses, 429);
            }
            if idempotent {
                default_error(responses, 409);
                default_error(responses, 422);
            }
            for (status, response) in responses.iter_mut() {
                if status.starts_with(['4', '5']) && realworld {
                    realworld_error_content(response);
                } else if status.starts_with(['4', '5']) && mastodon {
                    mastodon_error_content(response);
                } else if status.starts_with(['4', '5']) {
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
            if limited || read_limited {
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
pub(super) fn add_idempotency_key(operation: &mut Map<String, Value>) {
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
pub(super) fn add_rate_limit_headers(responses: &mut Map<String, Value>) {
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

pub(super) fn operation_reads_input(operation: &Map<String, Value>) -> bool {
    operation.contains_key("requestBody")
        || operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|params| params.iter().any(|p| p["in"] == "query"))
}

/// `{name}` in the path becomes a required path parameter, unless the operation names it.
pub(super) fn add_path_parameters(path: &str, operation: &mut Map<String, Value>) {
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
            "variant" => {
                "A variant of the file: `preview`, `avatar_64`, `avatar_128`, `avatar_256`, `poster` or `video`."
            }
            "slug" => "The article's slug, as its `slug` field gives it.",
            "username" => "A username.",
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
pub(super) fn add_page_parameters(operation: &mut Map<String, Value>) -> bool {
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

pub(super) fn default_error(responses: &mut Map<String, Value>, status: u16) {
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
pub(super) fn error_content(status: &str, response: &mut Value) {
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

/// A Mastodon API error response: `{"error": "…"}` (the OAuth endpoints add
/// `error_description`, as RFC 6749 says).
fn mastodon_error_content(response: &mut Value) {
    if response.get("content").is_some() {
        return;
    }
    response["content"] = json!({
        "application/json": {
            "schema": {"$ref": "#/components/schemas/MastodonError"},
            "example": {"error": "Record not found"}
        }
    });
}

/// A RealWorld error response: `{"errors": {field: [message]}}`.
pub(super) fn realworld_error_content(response: &mut Value) {
    if response.get("content").is_some() {
        return;
    }
    response["content"] = json!({
        "application/json": {
            "schema": {"$ref": "#/components/schemas/RealWorldErrors"},
            "example": {"errors": {"body": ["Not found."]}}
        }
    });
}
