//! Users, first part: API.md §3 (`/users/me`, profiles, the admin list).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::api::auth_user::AuthUser;
use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::state::AppState;
use crate::api::viewer::{user_view, visible_user, Viewer};
use crate::core::profile::check_taken;
use crate::domain::accounts::{parse_bio, parse_full_name, parse_interests, Username};
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Cursor, Page, PageParams};
use crate::store::users::{self, ProfileChange, Role};
use crate::views::{MeView, UserView};

type State = web::Data<AppState>;

/// The signed-in account
#[utoipa::path(
    get,
    path = "/api/users/me",
    tag = "users",
    responses(
        (status = 200, description = "User (me).", body = MeView),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn get_me(state: State, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let user = auth.load(&state).await?;
    Ok(HttpResponse::Ok().json(MeView::new(&user)))
}

/// Fields left out keep their value.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateMeRequest {
    #[schema(example = "alice")]
    username: Option<String>,
    #[schema(example = "Alice Liddell")]
    full_name: Option<String>,
    /// At most 500 characters.
    #[schema(example = "Curiouser and curiouser.")]
    bio: Option<String>,
    #[schema(example = json!(["rust", "photography"]))]
    interests: Option<Vec<String>>,
}

/// Edit the profile
///
/// Fields left out keep their value, for `PUT` too: clients of the seed APIs send partial
/// bodies to `PUT`.
#[utoipa::path(
    patch,
    path = "/api/users/me",
    tag = "users",
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "User (me), changed.", body = MeView),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn update_me(
    state: State,
    auth: AuthUser,
    Json(body): Json<UpdateMeRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let username = body
        .username
        .as_deref()
        .and_then(|raw| errors.check("username", Username::parse(raw)));
    let change = ProfileChange {
        full_name: body
            .full_name
            .as_deref()
            .and_then(|raw| errors.check("full_name", parse_full_name(raw))),
        bio: body
            .bio
            .as_deref()
            .and_then(|raw| errors.check("bio", parse_bio(raw))),
        interests: body
            .interests
            .as_deref()
            .and_then(|raw| errors.check("interests", parse_interests(raw))),
        username: username.as_ref().map(|u| u.as_str().to_owned()),
    };
    let me = Some(auth.user_id);
    check_taken(&state, &mut errors, username.as_ref(), None, me).await?;
    errors.into_result()?;
    let user = crate::core::profile::change_profile(&state, auth.user_id, change).await?;
    Ok(HttpResponse::Ok().json(MeView::new(&user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct DeleteMeRequest {
    #[schema(value_type = String, required = true)]
    password: Option<String>,
}

/// Delete the account and everything it owns
#[utoipa::path(
    delete,
    path = "/api/users/me",
    tag = "users",
    request_body = DeleteMeRequest,
    responses(
        (status = 204, description = "Gone."),
        (status = 400, description = "`validation_error` naming `password` when it is wrong."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn delete_me(
    state: State,
    auth: AuthUser,
    Json(body): Json<DeleteMeRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = auth.load(&state).await?;
    let mut errors = FieldErrors::new();
    if let Some(password) = required(&mut errors, "password", &body.password) {
        if !state
            .passwords
            .verify(password, &user.password_hash)
            .await?
        {
            errors.add("password", "The password is not correct.");
        }
    }
    errors.into_result()?;
    let cascade = crate::jobs::Cascade::Account { user_id: user.id };
    state.jobs.cascade(cascade).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's profile, by id or username
///
/// `404` for a user who blocked the viewer.
#[utoipa::path(
    get,
    path = "/api/users/{user}",
    tag = "users",
    responses(
        (status = 200, description = "User (public), relative to the viewer.", body = UserView),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn get_user(
    state: State,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = visible_user(&state, &path, &viewer).await?;
    Ok(HttpResponse::Ok().json(user_view(&state, &viewer, &user).await?))
}

/// Every account (admins only)
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    responses(
        (status = 200, description = "A page of User (me).", body = Page<MeView>),
        (status = 403, description = "`permission_denied`: not an admin."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn list_users(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
    params: PageParams,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&state, &[Role::Admin]).await?;
    let items =
        users::list_page(&state.db, params.cursor.map(|c| c.id), params.fetch_limit()).await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |u| Cursor::at(u.id),
        |u| MeView::new(&u),
    );
    Ok(page.into_response())
}
