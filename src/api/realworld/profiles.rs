//! RealWorld profiles and follows: `GET /profiles/{username}`,
//! `POST`/`DELETE /profiles/{username}/follow`.

use actix_web::{web, HttpResponse};

use crate::api::state::AppState;
use crate::api::viewer::{named_user, visible_user, SignedIn, Viewer};
use crate::core::social::{add_follow, drop_follow};
use crate::error::ApiError;

use super::views::{self, ProfileEnvelope};

type State = web::Data<AppState>;

/// A profile
///
/// `404` for an account that blocked the viewer.
#[utoipa::path(
    get,
    path = "/realworld/api/profiles/{username}",
    tag = "realworld",
    operation_id = "realworld_get_profile",
    responses((status = 200, description = "The profile.", body = ProfileEnvelope)),
    security((), ("realWorldToken" = []))
)]
pub(crate) async fn get_profile(
    state: State,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = visible_user(&state, &path, &viewer).await?;
    let following = views::follows_user(&state, &viewer, user.id).await?;
    let profile = views::profile(&state, &user, following);
    Ok(HttpResponse::Ok().json(ProfileEnvelope { profile }))
}

/// Follow a user
///
/// As `POST /api/users/{user}/follow`: `403` across a block, `422` for oneself.
#[utoipa::path(
    post,
    path = "/realworld/api/profiles/{username}/follow",
    tag = "realworld",
    operation_id = "realworld_follow",
    responses(
        (status = 200, description = "The profile, followed.", body = ProfileEnvelope),
        (status = 403, description = "A block stands between you."),
        (status = 422, description = "You cannot follow yourself."),
    ),
    security(("realWorldToken" = []))
)]
pub(crate) async fn follow(
    state: State,
    SignedIn { viewer, me }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = named_user(&state, &path).await?;
    add_follow(&state, &viewer, me.user_id, &target).await?;
    let profile = views::profile(&state, &target, true);
    Ok(HttpResponse::Ok().json(ProfileEnvelope { profile }))
}

/// Unfollow a user
#[utoipa::path(
    delete,
    path = "/realworld/api/profiles/{username}/follow",
    tag = "realworld",
    operation_id = "realworld_unfollow",
    responses((status = 200, description = "The profile, not followed.", body = ProfileEnvelope)),
    security(("realWorldToken" = []))
)]
pub(crate) async fn unfollow(
    state: State,
    SignedIn { viewer, me }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = visible_user(&state, &path, &viewer).await?;
    drop_follow(&state, me.user_id, target.id).await?;
    let profile = views::profile(&state, &target, false);
    Ok(HttpResponse::Ok().json(ProfileEnvelope { profile }))
}
