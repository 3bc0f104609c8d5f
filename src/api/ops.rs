//! Operations: API.md §9.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::api::state::AppState;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Status {
    #[schema(example = "ok")]
    status: String,
    /// `/ready` only.
    #[schema(example = "ok")]
    database: Option<String>,
}

/// Liveness: the process runs
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, description = "Alive.", body = Status)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers
#[utoipa::path(
    get,
    path = "/ready",
    tag = "ops",
    responses(
        (status = 200, description = "Ready.", body = Status),
        (status = 503, description = "`service_unavailable`: the database does not answer."),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.db.ping().await {
        HttpResponse::Ok().json(json!({ "status": "ok", "database": "ok" }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "detail": "The database does not answer.",
            "code": "service_unavailable",
            "status": "unavailable",
        }))
    }
}

/// Prometheus metrics: requests and latency by route and status, database commands
///
/// Also the job queue, read from the database at each scrape: `rookery_jobs{kind,state}`
/// (`queued`, `running`, `failed` — waiting for a retry — and `dead`) and
/// `rookery_jobs_oldest_due_seconds`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses((status = 200, description = "Prometheus text format 0.0.4.", content_type = "text/plain"))
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut text = state.metrics.render();
    // The queue as the database holds it (all instances); left out, with a warning,
    // when the database does not answer: the process metrics are still worth serving.
    match crate::jobs::gauges(&state.db).await {
        Ok(gauges) => text.push_str(&gauges),
        Err(err) => log::warn!("job metrics unavailable: {err}"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
