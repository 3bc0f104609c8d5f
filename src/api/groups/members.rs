//! Membership: joining and leaving, and an owner adding or removing members.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::api::auth_user::AuthUser;
use crate::api::extract::created_or_ok;
use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::state::AppState;
use crate::api::viewer::{named_user, Viewer};
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Page, PageParams};
use crate::store::events::{Activity, Events};
use crate::store::groups::{self, GroupDoc, MemberRole, Visibility};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::{date_cursor, timelines, users};

use super::*;

/// Join a public group
#[utoipa::path(
    post,
    path = "/api/groups/{id}/join",
    tag = "groups",
    responses(
        (status = 200, description = "The group, as a member sees it.", body = GroupView),
        (status = 403, description = "`permission_denied`: the group is private."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn join_group(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let group = groups::find(&state.db, ObjectId::parse_str(path.as_str())?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let membership = groups::membership(&state.db, group.id, auth.user_id).await?;
    if membership.is_none() {
        if group.visibility == Visibility::Private {
            return Err(ApiError::permission_denied());
        }
        if groups::add_member(&state.db, &group, auth.user_id, MemberRole::Member).await? {
            state
                .jobs
                .record(auth.user_id, Activity::on("group.join", "group", group.id))
                .await?;
        }
    }
    let group = groups::find(&state.db, group.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(group_view(&state, &group, Some(auth.user_id)).await?))
}

/// Takes a member out of a group, with the group's posts out of their feed.
pub(super) async fn take_out(
    state: &AppState,
    group: &GroupDoc,
    user: ObjectId,
) -> Result<bool, ApiError> {
    let removed = groups::remove_member(&state.db, group.id, user).await?;
    if removed && group.visibility == Visibility::Private {
        timelines::remove_group(&state.db, user, group.id).await?;
    }
    Ok(removed)
}

/// Leave a group
///
/// The owner cannot leave; they delete the group instead.
#[utoipa::path(
    post,
    path = "/api/groups/{id}/leave",
    tag = "groups",
    responses(
        (status = 200, description = "The group.", body = GroupView),
        (status = 400, description = "`validation_error`: the owner cannot leave."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn leave_group(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (group, membership) = visible_group(&state, &path, Some(auth.user_id)).await?;
    if membership
        .as_ref()
        .is_some_and(|m| m.role == MemberRole::Owner)
    {
        return Err(FieldErrors::single(
            "group",
            "The owner cannot leave; delete the group instead.",
        ));
    }
    if take_out(&state, &group, auth.user_id).await? {
        state
            .jobs
            .record(auth.user_id, Activity::on("group.leave", "group", group.id))
            .await?;
    }
    let group = groups::find(&state.db, group.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(group_view(&state, &group, Some(auth.user_id)).await?))
}

/// A group's members, newest first
#[utoipa::path(
    get,
    path = "/api/groups/{id}/members",
    tag = "groups",
    responses(
        (status = 200, description = "A page of members.", body = Page<MemberView>),
        (status = 404, description = "`not_found`: no such group, or a private one the viewer is not in."),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn list_members(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (group, _) = visible_group(&state, &path, viewer.id()).await?;
    let items =
        groups::page_members(&state.db, group.id, params.cursor, params.fetch_limit()).await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |m| date_cursor(m.created_at, m.id),
        |m| m,
    );
    let results = member_views(&state, page.results).await?;
    Ok(Page::respond(results, page.next))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct AddMemberRequest {
    #[schema(value_type = String, required = true)]
    user_id: Option<String>,
}

/// Add a member (the owner only)
#[utoipa::path(
    post,
    path = "/api/groups/{id}/members",
    tag = "groups",
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Added.", body = MemberView),
        (status = 200, description = "Already a member.", body = MemberView),
        (status = 403, description = "`permission_denied`: not the owner."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn add_member(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
    Json(body): Json<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let group = owned_group(&state, &path, auth).await?;
    let mut errors = FieldErrors::new();
    let raw = required(&mut errors, "user_id", &body.user_id).map(str::to_owned);
    errors.into_result()?;
    let user = users::find_by_ref(&state.db, raw.as_deref().unwrap_or_default())
        .await?
        .ok_or_else(|| FieldErrors::single("user_id", "No such user."))?;
    let added = groups::add_member(&state.db, &group, user.id, MemberRole::Member).await?;
    if added {
        let subject = Subject {
            group_id: Some(group.id),
            ..Subject::default()
        };
        let events = Events::new()
            .notify_unless_blocked(
                &state.db,
                user.id,
                NotificationType::GroupAdd,
                auth.user_id,
                subject,
            )
            .await?;
        state.jobs.events(events).await?;
    }
    let member = groups::membership(&state.db, group.id, user.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let view = member_views(&state, vec![member])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(created_or_ok(added).json(view))
}

/// Remove a member (the owner only; never the owner)
#[utoipa::path(
    delete,
    path = "/api/groups/{id}/members/{user}",
    tag = "groups",
    responses(
        (status = 204, description = "Removed."),
        (status = 403, description = "`permission_denied`: not the owner."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn remove_member(
    state: State,
    auth: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group_id, user_ref) = path.into_inner();
    let group = owned_group(&state, &group_id, auth).await?;
    let user = named_user(&state, &user_ref).await?;
    if user.id == group.owner_id {
        return Err(FieldErrors::single("user", "The owner cannot be removed."));
    }
    take_out(&state, &group, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
