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

pub const DB_QUERIES_HEADER: HeaderName = HeaderName::from_static("x-db-queries");

/// What the task serving a request knows about it: its id (read by the log formatter) and
/// how many database commands it issued (counted by the driver's command monitoring).
struct RequestScope {
    id: String,
    db_commands: AtomicU32,
    /// The shape of each command (`query_shape`), kept only with the debug headers on.
    db_queries: Option<std::sync::Mutex<Vec<String>>>,
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

/// Called by the driver for every command started; counts it against the current request
/// and, with the debug headers on, notes its shape for `X-Db-Queries`.
pub fn count_db_command(name: &str, command: &bson::Document) {
    let _ = REQUEST.try_with(|scope| {
        scope.db_commands.fetch_add(1, Ordering::Relaxed);
        if let Some(queries) = &scope.db_queries {
            if let Ok(mut queries) = queries.lock() {
                queries.extend(query_shapes(name, command));
            }
        }
    });
}

/// What a command asks of which collections, as `"<command> <collection> <field>,…"`: the
/// fields its filter names at the top level (through `$and`, and those every branch of an
/// `$or` names), which say whether a sharded
/// cluster can send it to one shard (`docs/SCALING.md`). An aggregation adds a line per
/// `$lookup` (`lookup <collection> <foreignField>`). Commands that filter nothing
/// (`getMore`, handshakes) give none; an insert gives `insert <collection>` (an insert
/// goes to the shard its document's key names).
pub fn query_shapes(name: &str, command: &bson::Document) -> Vec<String> {
    use bson::{Bson, Document};
    fn fields(filter: &Document, out: &mut Vec<String>) {
        for (key, value) in filter {
            match (key.as_str(), value) {
                ("$and", Bson::Array(parts)) => {
                    for part in parts {
                        if let Bson::Document(part) = part {
                            fields(part, out);
                        }
                    }
                }
                // A field every branch names is named (each branch goes to its shards).
                ("$or", Bson::Array(branches)) => {
                    let mut each = branches.iter().filter_map(Bson::as_document).map(|b| {
                        let mut names = Vec::new();
                        fields(b, &mut names);
                        names
                    });
                    if let Some(first) = each.next() {
                        let rest: Vec<Vec<String>> = each.collect();
                        for name in first {
                            if rest.iter().all(|r| r.contains(&name)) && !out.contains(&name) {
                                out.push(name);
                            }
                        }
                    }
                }
                (key, _) if !key.starts_with('$') && !out.iter().any(|k| k == key) => {
                    out.push(key.to_owned())
                }
                _ => {}
            }
        }
    }
    let shape = |collection: &str, filter: Option<&Document>| {
        let mut names = Vec::new();
        if let Some(filter) = filter {
            fields(filter, &mut names);
        }
        format!("{name} {collection} {}", names.join(","))
    };
    let Ok(collection) = command.get_str(name) else {
        return Vec::new();
    };
    let first = |list: &str, key: &str| {
        command
            .get_array(list)
            .ok()
            .and_then(|a| a.first())
            .and_then(Bson::as_document)
            .and_then(|d| d.get_document(key).ok())
    };
    match name {
        "find" => vec![shape(collection, command.get_document("filter").ok())],
        "count" | "findAndModify" | "distinct" => {
            vec![shape(collection, command.get_document("query").ok())]
        }
        "update" => vec![shape(collection, first("updates", "q"))],
        "delete" => vec![shape(collection, first("deletes", "q"))],
        "insert" => vec![format!("insert {collection}")],
        "aggregate" => {
            let stages: Vec<&Document> = command
                .get_array("pipeline")
                .map(|p| p.iter().filter_map(Bson::as_document).collect())
                .unwrap_or_default();
            let matched = stages.first().and_then(|s| s.get_document("$match").ok());
            let mut shapes = vec![shape(collection, matched)];
            for lookup in stages.iter().filter_map(|s| s.get_document("$lookup").ok()) {
                if let (Ok(from), Ok(field)) =
                    (lookup.get_str("from"), lookup.get_str("foreignField"))
                {
                    shapes.push(format!("lookup {from} {field}"));
                }
            }
            shapes
        }
        _ => Vec::new(),
    }
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
        db_queries: debug_headers.then(Default::default),
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
                let queries = scope
                    .db_queries
                    .as_ref()
                    .and_then(|q| q.lock().ok().map(|q| q.join("; ")));
                if let Some(Ok(value)) = queries.map(HeaderValue::try_from) {
                    response.headers_mut().insert(DB_QUERIES_HEADER, value);
                }
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

#[cfg(test)]
mod tests {
    use super::query_shapes;
    use bson::doc;

    #[test]
    fn a_query_shape_names_the_filter_fields_through_and_and_common_or_branches() {
        let find = doc! {
            "find": "posts",
            "filter": { "$and": [ { "author_id": 1, "published_at": { "$gte": 1 } },
                                  { "$or": [ { "_id": 1, "x": 1 }, { "_id": 2 } ] } ] },
        };
        assert_eq!(
            query_shapes("find", &find),
            ["find posts author_id,published_at,_id"]
        );
        let aggregate = doc! {
            "aggregate": "sessions",
            "pipeline": [ { "$match": { "_id": 1 } },
                          { "$lookup": { "from": "posts", "localField": "p", "foreignField": "_id", "as": "post" } } ],
        };
        assert_eq!(
            query_shapes("aggregate", &aggregate),
            ["aggregate sessions _id", "lookup posts _id"]
        );
        let delete =
            doc! { "delete": "likes", "deletes": [ { "q": { "post_id": 1, "user_id": 2 } } ] };
        assert_eq!(
            query_shapes("delete", &delete),
            ["delete likes post_id,user_id"]
        );
        assert_eq!(
            query_shapes("insert", &doc! { "insert": "likes" }),
            ["insert likes"]
        );
        assert!(query_shapes("getMore", &doc! { "getMore": 1_i64 }).is_empty());
    }
}
