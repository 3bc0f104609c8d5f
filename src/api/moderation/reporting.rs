//! Reports: filing one against a post, and staff listing and deciding them.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::api::auth_user::AuthUser;
use crate::api::extract::created_or_ok;
use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::state::AppState;
use crate::api::viewer::visible_post;
use crate::api::viewer::SignedIn;
use crate::domain::accounts::parse_text;
use crate::error::{ApiError, FieldErrors};
use crate::feed;
use crate::jobs::Cascade;
use crate::pagination::{Cursor, Page, PageParams};
use crate::store::reports::{self, ReportDoc, ReportStatus};
use crate::views::posts::minis;
use crate::views::{rfc3339, UserMini};

use super::*;
use crate::core::reports::{file_report, parse_reason, DETAILS_MAX};

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReportView {
    id: String,
    post_id: String,
    reporter: Option<UserMini>,
    reason: String,
    details: String,
    status: ReportStatus,
    created_at: String,
    resolved_at: Option<String>,
    resolved_by: Option<UserMini>,
}

pub(super) async fn report_views(
    state: &AppState,
    reports: Vec<ReportDoc>,
) -> Result<Vec<ReportView>, ApiError> {
    let people = minis(
        &state.db,
        reports
            .iter()
            .flat_map(|r| std::iter::once(r.reporter_id).chain(r.resolved_by)),
    )
    .await?;
    Ok(reports
        .into_iter()
        .map(|r| ReportView {
            id: r.id.to_hex(),
            post_id: r.post_id.to_hex(),
            reporter: people.get(&r.reporter_id).cloned(),
            reason: r.reason,
            details: r.details,
            status: r.status,
            created_at: rfc3339(r.created_at),
            resolved_at: r.resolved_at.map(rfc3339),
            resolved_by: r.resolved_by.and_then(|id| people.get(&id).cloned()),
        })
        .collect())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ReportRequest {
    /// Why, in a few words (required).
    #[schema(value_type = String, required = true, example = "spam")]
    reason: Option<String>,
    details: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReportReceipt {
    id: String,
    status: ReportStatus,
}

/// Report a post
///
/// Once `moderation.hide_after_reports` distinct users have open reports on it, the post
/// leaves the lists until a moderator decides.
#[utoipa::path(
    post,
    path = "/api/posts/{id}/report",
    tag = "moderation",
    request_body = ReportRequest,
    responses(
        (status = 201, description = "Reported.", body = ReportReceipt),
        (status = 200, description = "This user already reported it.", body = ReportReceipt),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn report_post(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
    Json(body): Json<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    let mut errors = FieldErrors::new();
    let reason = required(&mut errors, "reason", &body.reason)
        .and_then(|raw| errors.check("reason", parse_reason(raw)));
    let details = errors.check(
        "details",
        parse_text(body.details.as_deref().unwrap_or(""), DETAILS_MAX),
    );
    errors.into_result()?;
    let (Some(reason), Some(details)) = (reason, details) else {
        return Err(ApiError::internal("validated report lost a field"));
    };
    let (report, created) = file_report(&state, auth.user_id, &post, reason, details).await?;
    let receipt = ReportReceipt {
        id: report.id.to_hex(),
        status: report.status,
    };
    Ok(created_or_ok(created).json(receipt))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportQuery {
    /// `open`, `resolved` or `dismissed`.
    status: Option<String>,
}

pub(super) fn parse_status(raw: &str) -> Option<ReportStatus> {
    match raw {
        "open" => Some(ReportStatus::Open),
        "resolved" => Some(ReportStatus::Resolved),
        "dismissed" => Some(ReportStatus::Dismissed),
        _ => None,
    }
}

/// Reports (moderators and admins), newest first
#[utoipa::path(
    get,
    path = "/api/reports",
    tag = "moderation",
    params(ReportQuery),
    responses(
        (status = 200, description = "A page of reports.", body = Page<ReportView>),
        (status = 403, description = "`permission_denied`: not a moderator or an admin."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn list_reports(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
    params: PageParams,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&state, STAFF).await?;
    let status =
        match query.status.as_deref() {
            Some(raw) => Some(parse_status(raw).ok_or_else(|| {
                FieldErrors::single("status", "Choose open, resolved or dismissed.")
            })?),
            None => None,
        };
    let items = reports::page(
        &state.db,
        status,
        params.cursor.map(|c| c.id),
        params.fetch_limit(),
    )
    .await?;
    let page = Page::from_items(&req, params, items, |r| Cursor::at(r.id), |r| r);
    let results = report_views(&state, page.results).await?;
    Ok(Page::respond(results, page.next))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct DecisionRequest {
    /// `resolved` or `dismissed`.
    #[schema(value_type = String, required = true, example = "resolved")]
    status: Option<String>,
    /// Also delete the post.
    remove_post: Option<bool>,
}

/// Decide a report (moderators and admins)
///
/// The decision covers every open report of the post; unless the post is removed, it
/// returns to the lists.
#[utoipa::path(
    patch,
    path = "/api/reports/{id}",
    tag = "moderation",
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The report, decided.", body = ReportView),
        (status = 403, description = "`permission_denied`: not a moderator or an admin."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn decide_report(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
    Json(body): Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&state, STAFF).await?;
    let report = reports::find(&state.db, ObjectId::parse_str(path.as_str())?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let status = match body.status.as_deref().map(parse_status) {
        Some(Some(status)) if status != ReportStatus::Open => status,
        _ => {
            return Err(FieldErrors::single(
                "status",
                "Choose resolved or dismissed.",
            ))
        }
    };
    if body.remove_post.unwrap_or(false) {
        let ids = vec![report.post_id];
        state.jobs.cascade(Cascade::Posts { ids }).await?;
    } else {
        feed::set_hidden(&state.db, report.post_id, false).await?;
    }
    let decided = reports::decide(&state.db, report.id, report.post_id, status, auth.user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let view = report_views(&state, vec![decided])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(view))
}
