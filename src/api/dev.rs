//! Development helpers, off unless `email.dev_outbox` is on (never in production).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::api::state::AppState;
use crate::email::SentEmail;
use crate::error::ApiError;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OutboxQuery {
    /// Only the emails sent to this address.
    to: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Outbox {
    results: Vec<SentEmail>,
}

/// The last emails the service sent (development only)
///
/// Lets a client that cannot read mail (the Postman collection, a front end in
/// development) follow the verification and password-reset flows. Answers only when
/// `email.dev_outbox` is on, which `config/development.toml` does and production refuses.
/// Emails due to be sent are sent first, so an email asked for just before is there.
#[utoipa::path(
    get,
    path = "/api/dev/outbox",
    tag = "ops",
    params(OutboxQuery),
    responses(
        (status = 200, description = "Emails, newest first, each with the token it carries.", body = Outbox),
        (status = 404, description = "`not_found`: the development outbox is off."),
    )
)]
pub(crate) async fn outbox(
    state: web::Data<AppState>,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, ApiError> {
    if state.settings.email.dev_outbox {
        // Emails are sent by jobs: those due are sent before the outbox is read.
        state.jobs.drain(crate::jobs::JobKind::Email).await;
    }
    let results = state
        .mailer
        .outbox(query.to.as_deref())
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(Outbox { results }))
}
