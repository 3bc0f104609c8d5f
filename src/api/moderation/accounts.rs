//! Staff actions on accounts: roles (admins only) and disabling.

use actix_web::{web, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::api::auth_user::AuthUser;
use crate::api::extract::Json;
use crate::api::viewer::named_user;
use crate::auth::sessions::revoke_all_sessions;
use crate::error::{ApiError, FieldErrors};
use crate::store::users::{self, Role};
use crate::views::MeView;

use super::*;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RoleRequest {
    /// `user`, `moderator` or `admin`.
    #[schema(value_type = String, required = true, example = "moderator")]
    role: Option<String>,
}

pub(super) fn target_other(auth: AuthUser, target: ObjectId) -> Result<(), ApiError> {
    if auth.user_id == target {
        Err(FieldErrors::single(
            "user",
            "You cannot change your own account here.",
        ))
    } else {
        Ok(())
    }
}

/// Set a user's role (admins only)
#[utoipa::path(
    patch,
    path = "/api/users/{user}/role",
    tag = "moderation",
    request_body = RoleRequest,
    responses(
        (status = 200, description = "User (me) of that account.", body = crate::views::MeView),
        (status = 403, description = "`permission_denied`: not an admin."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn set_role(
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

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct StatusRequest {
    #[schema(value_type = bool, required = true)]
    disabled: Option<bool>,
}

/// Disable or enable an account (moderators and admins)
///
/// A moderator cannot disable staff. Disabling revokes every session at once.
#[utoipa::path(
    patch,
    path = "/api/users/{user}/status",
    tag = "moderation",
    request_body = StatusRequest,
    responses(
        (status = 200, description = "User (me) of that account.", body = crate::views::MeView),
        (status = 403, description = "`permission_denied`: not a moderator or an admin."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn set_status(
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
        revoke_all_sessions(&state.db, target.id).await?;
    }
    Ok(HttpResponse::Ok().json(MeView::new(&user)))
}
