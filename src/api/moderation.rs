//! Moderation (API.md §8) and reports and analytics of posts (§4).

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::api::auth::required;
use crate::api::extract::Json;
use crate::api::post_views::minis;
use crate::api::posts::visible_post;
use crate::api::viewer::{named_user, Viewer};
use crate::api::views::{created_or_ok, rfc3339, MeView, UserMini};
use crate::auth::sessions::revoke_all_sessions;
use crate::auth::AuthUser;
use crate::cascade::remove_posts;
use crate::domain::accounts::parse_text;
use crate::error::{ApiError, FieldErrors};
use crate::events::{self, Activity};
use crate::pagination::{Cursor, Page, PageParams};
use crate::startup::AppState;
use crate::store::reports::{self, ReportDoc, ReportStatus};
use crate::store::users::{self, Role};
use crate::store::{post_stats, posts};

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/posts/{id}/report").route(web::post().to(report_post)))
        .service(web::resource("/posts/{id}/analytics").route(web::get().to(post_analytics)))
        .service(web::resource("/reports").route(web::get().to(list_reports)))
        .service(web::resource("/reports/{id}").route(web::patch().to(decide_report)))
        .service(web::resource("/users/{user}/role").route(web::patch().to(set_role)))
        .service(web::resource("/users/{user}/status").route(web::patch().to(set_status)));
}

const STAFF: &[Role] = &[Role::Moderator, Role::Admin];
const REASONS: &[&str] = &[
    "spam",
    "harassment",
    "hate",
    "violence",
    "nudity",
    "misinformation",
    "other",
];
const DETAILS_MAX: usize = 1000;

#[derive(Serialize)]
struct ReportView {
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

async fn report_views(
    state: &AppState,
    reports: Vec<ReportDoc>,
) -> Result<Vec<ReportView>, ApiError> {
    let people = minis(
        state,
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

#[derive(Deserialize)]
struct ReportRequest {
    reason: Option<String>,
    details: Option<String>,
}

#[derive(Serialize)]
struct ReportReceipt {
    id: String,
    status: ReportStatus,
}

// POST /api/posts/{id}/report — 201, or 200 when this user already reported it. Once
// `moderation.hide_after_reports` distinct users have open reports, the post leaves lists.
async fn report_post(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
    Json(body): Json<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let viewer = Viewer::load(&state, Some(auth)).await?;
    let post = visible_post(&state, &path, &viewer).await?;
    let mut errors = FieldErrors::new();
    let reason = required(&mut errors, "reason", &body.reason).and_then(|raw| {
        let reason = raw.trim().to_lowercase();
        errors.check(
            "reason",
            if REASONS.contains(&reason.as_str()) {
                Ok(reason)
            } else {
                Err(format!("Choose one of: {}.", REASONS.join(", ")))
            },
        )
    });
    let details = errors.check(
        "details",
        parse_text(body.details.as_deref().unwrap_or(""), DETAILS_MAX),
    );
    if post.author_id == auth.user_id {
        errors.add("post", "You cannot report your own post.");
    }
    errors.into_result()?;
    let (Some(reason), Some(details)) = (reason, details) else {
        return Err(ApiError::internal("validated report lost a field"));
    };
    let (report, created) =
        reports::file(&state.db, post.id, auth.user_id, reason, details).await?;
    if created {
        events::record(
            &state,
            auth.user_id,
            Activity::on("post.report", "post", post.id),
        )
        .await;
        if reports::open_reporters(&state.db, post.id).await?
            >= state.settings.moderation.hide_after_reports
        {
            posts::set_hidden(&state.db, post.id, true).await?;
        }
    }
    let receipt = ReportReceipt {
        id: report.id.to_hex(),
        status: report.status,
    };
    Ok(created_or_ok(created).json(receipt))
}

#[derive(Deserialize)]
struct ReportQuery {
    status: Option<String>,
}

fn parse_status(raw: &str) -> Option<ReportStatus> {
    match raw {
        "open" => Some(ReportStatus::Open),
        "resolved" => Some(ReportStatus::Resolved),
        "dismissed" => Some(ReportStatus::Dismissed),
        _ => None,
    }
}

// GET /api/reports?status= — moderators and admins.
async fn list_reports(
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
    let page = Page::from_items(
        &req,
        params,
        items,
        |r| Cursor {
            key: None,
            id: r.id,
        },
        |r| r,
    );
    let results = report_views(&state, page.results).await?;
    Ok(Page {
        results,
        next: page.next,
    }
    .into_response())
}

#[derive(Deserialize)]
struct DecisionRequest {
    status: Option<String>,
    remove_post: Option<bool>,
}

// PATCH /api/reports/{id} {status: resolved|dismissed, remove_post?} — moderators and admins.
// The decision covers every open report of the post; unless the post is removed, it
// returns to the lists.
async fn decide_report(
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
        remove_posts(&state, &[report.post_id]).await?;
    } else {
        posts::set_hidden(&state.db, report.post_id, false).await?;
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

#[derive(Deserialize)]
struct RoleRequest {
    role: Option<String>,
}

fn target_other(auth: AuthUser, target: ObjectId) -> Result<(), ApiError> {
    if auth.user_id == target {
        Err(FieldErrors::single(
            "user",
            "You cannot change your own account here.",
        ))
    } else {
        Ok(())
    }
}

// PATCH /api/users/{user}/role {role} — admins only.
async fn set_role(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
    Json(body): Json<RoleRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&state, &[Role::Admin]).await?;
    let target = named_user(&state, &path).await?;
    target_other(auth, target.id)?;
    let role = body
        .role
        .as_deref()
        .and_then(Role::parse)
        .ok_or_else(|| FieldErrors::single("role", "Choose user, moderator or admin."))?;
    let user = users::set_role(&state.db, target.id, role)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(MeView::new(&user)))
}

#[derive(Deserialize)]
struct StatusRequest {
    disabled: Option<bool>,
}

// PATCH /api/users/{user}/status {disabled} — moderators and admins; a moderator cannot
// disable staff. Disabling revokes every session at once.
async fn set_status(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
    Json(body): Json<StatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let me = auth.require_role(&state, STAFF).await?;
    let target = named_user(&state, &path).await?;
    target_other(auth, target.id)?;
    if target.role.is_staff() && me.role != Role::Admin {
        return Err(ApiError::permission_denied());
    }
    let disabled = body
        .disabled
        .ok_or_else(|| FieldErrors::single("disabled", "This field is required."))?;
    let user = users::set_disabled(&state.db, target.id, disabled)
        .await?
        .ok_or(ApiError::NotFound)?;
    if disabled {
        revoke_all_sessions(&state, target.id).await?;
    }
    Ok(HttpResponse::Ok().json(MeView::new(&user)))
}

#[derive(Serialize)]
struct DayView {
    date: String,
    views: i64,
    likes: i64,
    comments: i64,
}

#[derive(Serialize)]
struct Analytics {
    post_id: String,
    views: i64,
    unique_viewers: u64,
    likes: i64,
    comments: i64,
    daily: Vec<DayView>,
}

// GET /api/posts/{id}/analytics — its author only.
async fn post_analytics(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let viewer = Viewer::load(&state, Some(auth)).await?;
    let post = visible_post(&state, &path, &viewer).await?;
    if post.author_id != auth.user_id {
        return Err(ApiError::permission_denied());
    }
    let daily = post_stats::daily(&state.db, post.id)
        .await?
        .into_iter()
        .map(|(date, d)| DayView {
            date,
            views: d.views,
            likes: d.likes,
            comments: d.comments,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Analytics {
        post_id: post.id.to_hex(),
        views: post.view_count,
        unique_viewers: post_stats::unique_viewers(&state.db, post.id).await?,
        likes: post.like_count,
        comments: post.comment_count,
        daily,
    }))
}
