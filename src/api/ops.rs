//! Operations: API.md §9.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::api::state::AppState;
use crate::error::ApiError;

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
/// Also the job queue: `rookery_jobs{kind,state}` (`queued`, `running`, `failed` —
/// waiting for a retry — and `dead`) and `rookery_jobs_oldest_due_seconds`, read from the
/// database at most every 10 seconds per instance, so scrapes cost the database nothing
/// in between. With `server.metrics_token` set, send it as `Authorization: Bearer …`;
/// unset, only the machine itself (loopback, through no proxy) may read this.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4.", content_type = "text/plain"),
        (status = 401, description = "`not_authenticated`: the metrics token is missing or wrong."),
    ),
    security((), ("metricsToken" = []))
)]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !may_scrape(&state, &req) {
        return Err(ApiError::NotAuthenticated);
    }
    let mut text = state.metrics.render();
    // The queue as the database holds it (all instances); left out, with a warning,
    // when the database does not answer: the process metrics are still worth serving.
    match state
        .metrics
        .job_gauges(crate::jobs::gauges(&state.db))
        .await
    {
        Ok(gauges) => text.push_str(&gauges),
        Err(err) => log::warn!("job metrics unavailable: {err}"),
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// The configured metrics token (compared as media keys are, through digests, so timing
/// tells nothing), or without one a request from loopback that no proxy forwarded.
fn may_scrape(state: &AppState, req: &HttpRequest) -> bool {
    match &state.settings.server.metrics_token {
        Some(token) => {
            let sent = crate::api::auth_user::bearer_token(req).and_then(Result::ok);
            crate::domain::media::key_matches(sent.as_deref(), Some(&token.0))
        }
        None => {
            let forwarded = req.headers().contains_key("x-forwarded-for")
                || req.headers().contains_key("forwarded");
            let local = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
            local && !forwarded
        }
    }
}
