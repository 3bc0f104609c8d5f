//! RealWorld accounts: `POST /users`, `POST /users/login`, `GET`/`PUT /user`.
//!
//! RealWorld clients keep one token and have no refresh flow, so their token is a session
//! of its own that lives as long as a native session (`auth.refresh_token_ttl_secs`):
//! it is checked against the session on every request, and logging out
//! (`POST /api/auth/logout` with it) or revoking the session ends it at once.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer};

use crate::api::auth::sessions::{client_info, issuer};
use crate::api::auth_user::{bearer_token, AuthUser};
use crate::api::extract::{required, Json};
use crate::api::state::AppState;
use crate::auth::sessions::start_token_session;
use crate::core::accounts::{account_for_login, create_account, Registration};
use crate::core::profile::check_taken;
use crate::domain::accounts::{parse_bio, Email, Password, Username};
use crate::error::{ApiError, FieldErrors};
use crate::jobs::{MailTask, Task};
use crate::store::events::Activity;
use crate::store::sessions;
use crate::store::tokens::{self, TokenKind};
use crate::store::users::{self, ProfileChange, UserDoc};

use super::unwrap;
use super::views::{self, UserEnvelope};

type State = web::Data<AppState>;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewUser {
    #[schema(value_type = String, required = true, example = "jake")]
    username: Option<String>,
    #[schema(value_type = String, required = true, example = "jake@jake.jake")]
    email: Option<String>,
    /// 8–72 bytes, not too common, not all digits, not like the username or email.
    #[schema(value_type = String, required = true, example = "correct horse battery")]
    password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewUserRequest {
    #[schema(value_type = NewUser, required = true)]
    user: Option<NewUser>,
}

/// Register
///
/// The verification email goes out as for `POST /api/auth/register`. While the
/// deployment requires a verified address before signing in, `token` is `null` and
/// login answers `403` until the emailed link is opened.
#[utoipa::path(
    post,
    path = "/realworld/api/users",
    tag = "realworld",
    operation_id = "realworld_register",
    request_body = NewUserRequest,
    responses((status = 201, description = "The new account.", body = UserEnvelope))
)]
pub(crate) async fn register(
    state: State,
    req: HttpRequest,
    Json(body): Json<NewUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = unwrap(body.user, "user")?;
    let request = Registration {
        username: user.username,
        email: user.email,
        password: user.password,
        password2: None,
        full_name: None,
    };
    let account = create_account(&state, &request).await?;
    let token = if state.settings.auth.require_email_verification {
        None
    } else {
        Some(sign_in(&state, &req, &account).await?)
    };
    Ok(HttpResponse::Created().json(views::user(&state, &account, token)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginUser {
    /// The email address (a username works too).
    #[schema(value_type = String, required = true, example = "jake@jake.jake")]
    email: Option<String>,
    #[schema(value_type = String, required = true)]
    password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginRequest {
    #[schema(value_type = LoginUser, required = true)]
    user: Option<LoginUser>,
}

/// Log in
///
/// The same checks as `POST /api/auth/login`: `401` for a wrong email or password,
/// `403` for a disabled account or (when required) an unverified address.
#[utoipa::path(
    post,
    path = "/realworld/api/users/login",
    tag = "realworld",
    operation_id = "realworld_login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "The user, with a token.", body = UserEnvelope),
        (status = 401, description = "Wrong email or password."),
        (status = 403, description = "The account is disabled or its email address not verified yet."),
    )
)]
pub(crate) async fn login(
    state: State,
    req: HttpRequest,
    Json(body): Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = unwrap(body.user, "user")?;
    let mut errors = FieldErrors::new();
    let email = required(&mut errors, "email", &user.email);
    let password = required(&mut errors, "password", &user.password);
    errors.into_result()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::internal("validated login lost a field"));
    };
    let account = account_for_login(&state, email.trim(), password).await?;
    let token = sign_in(&state, &req, &account).await?;
    Ok(HttpResponse::Ok().json(views::user(&state, &account, Some(token))))
}

/// A new RealWorld session for `account`, logged like a native login.
async fn sign_in(
    state: &AppState,
    req: &HttpRequest,
    account: &UserDoc,
) -> Result<String, ApiError> {
    let token = start_token_session(issuer(state), account.id, client_info(req)).await?;
    state
        .jobs
        .record(account.id, Activity::on("auth.login", "user", account.id))
        .await?;
    Ok(token)
}

/// The token the request came with, to hand back in the User object.
fn token_of(req: &HttpRequest) -> Option<String> {
    bearer_token(req).and_then(Result::ok)
}

/// The current user
#[utoipa::path(
    get,
    path = "/realworld/api/user",
    tag = "realworld",
    operation_id = "realworld_current_user",
    responses((status = 200, description = "The signed-in user.", body = UserEnvelope)),
    security(("realWorldToken" = []))
)]
pub(crate) async fn current_user(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let account = auth.load(&state).await?;
    Ok(HttpResponse::Ok().json(views::user(&state, &account, token_of(&req))))
}

/// A field that may be sent as `null`: `Some(None)`.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateUser {
    /// A new address is used only once the link emailed to it is opened (the old one is
    /// told, and stays in use until then). Needs `current_password` or a recent login.
    email: Option<String>,
    /// Signs out every other session. Needs `current_password` or a recent login.
    password: Option<String>,
    /// The password in use: proof that the owner is there, for a new `email` or
    /// `password` more than `auth.reauth_window_secs` (10 minutes) after signing in.
    #[schema(value_type = Option<String>)]
    current_password: Option<String>,
    username: Option<String>,
    /// At most 500 characters; empty or `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    bio: Option<Option<String>>,
    /// An `http(s)` URL of a picture; empty or `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    image: Option<Option<String>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateUserRequest {
    #[schema(value_type = UpdateUser, required = true)]
    user: Option<UpdateUser>,
}

fn parse_image(raw: &str) -> Result<Option<String>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let url = url::Url::parse(raw).map_err(|_| "must be an http(s) URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") || raw.len() > 2000 {
        return Err("must be an http(s) URL of at most 2000 characters".into());
    }
    Ok(Some(url.to_string()))
}

/// Update the current user
///
/// Fields left out keep their value. Changing `email` or `password` needs proof that the
/// owner is there: `current_password`, or a session signed in within the last
/// `auth.reauth_window_secs` (10 minutes); otherwise `403` (`reauthentication_required`).
/// A new email address takes effect only when the link sent to it is opened.
#[utoipa::path(
    put,
    path = "/realworld/api/user",
    tag = "realworld",
    operation_id = "realworld_update_user",
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user, changed (a new email address shows once confirmed).", body = UserEnvelope),
        (status = 403, description = "`reauthentication_required`: a new email or password without `current_password` and without a recent login."),
    ),
    security(("realWorldToken" = []))
)]
pub(crate) async fn update_user(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
    Json(body): Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let change = unwrap(body.user, "user")?;
    let mut account = auth.load(&state).await?;
    let mut errors = FieldErrors::new();
    let username = change
        .username
        .as_deref()
        .and_then(|raw| errors.check("username", Username::parse(raw)))
        .filter(|u| u.as_str() != account.username);
    let email = change
        .email
        .as_deref()
        .and_then(|raw| errors.check("email", Email::parse(raw)))
        .filter(|e| e.as_str() != account.email);
    let bio = change
        .bio
        .as_ref()
        .and_then(|raw| errors.check("bio", parse_bio(raw.as_deref().unwrap_or_default())));
    let image = change
        .image
        .as_ref()
        .and_then(|raw| errors.check("image", parse_image(raw.as_deref().unwrap_or_default())));
    let password = change.password.as_deref().and_then(|raw| {
        let name = username
            .as_ref()
            .map_or(account.username.as_str(), Username::as_str);
        let address = email.as_ref().map_or(account.email.as_str(), Email::as_str);
        errors.check("password", Password::parse(raw, name, address))
    });
    if email.is_some() || password.is_some() {
        auth.require_presence(&state, &account, change.current_password.as_deref())
            .await?;
    }
    let (new_name, new_email) = (username.as_ref(), email.as_ref());
    check_taken(&state, &mut errors, new_name, new_email, Some(account.id)).await?;
    errors.into_result()?;

    let renamed = username.is_some();
    if renamed || bio.is_some() {
        let profile = ProfileChange {
            username: username.map(|u| u.as_str().to_owned()),
            bio,
            ..ProfileChange::default()
        };
        account = crate::core::profile::change_profile(&state, account.id, profile).await?;
    }
    let mut replaced_avatar = None;
    if let Some(image) = &image {
        let before = users::set_image_url(&state.db, account.id, image.as_deref())
            .await?
            .ok_or(ApiError::TokenInvalid)?;
        replaced_avatar = before.avatar_media_id;
        // The account as the update left it, without reading it again.
        account.avatar_url = image.clone();
        account.avatar_media_id = None;
    }
    if image.is_some() {
        crate::store::posts::refresh_author(&state.db, &account).await?;
    }
    // An uploaded avatar that a URL replaced is deleted, as a replaced upload is: the
    // URLs handed out for it stop working.
    if let Some(old) = replaced_avatar {
        crate::store::media::delete(&state.db, old).await?;
    }
    if let Some(email) = &email {
        // Not in use until the link sent to it is opened; the address in use is told.
        let email = email.as_str().to_owned();
        users::set_pending_email(&state.db, account.id, &email).await?;
        for mail in [
            MailTask::EmailChange {
                user_id: account.id,
                email: email.clone(),
            },
            MailTask::EmailChangeNotice {
                user_id: account.id,
                email,
            },
        ] {
            state.jobs.enqueue(Task::Email(mail)).await?;
        }
    }
    if let Some(password) = password {
        let hash = state.passwords.hash(password.expose()).await?;
        users::set_password_hash(&state.db, account.id, &hash, false).await?;
        sessions::delete_others(&state.db, account.id, auth.session_id).await?;
        tokens::delete_for_user(&state.db, account.id, TokenKind::Refresh).await?;
    }
    Ok(HttpResponse::Ok().json(views::user(&state, &account, token_of(&req))))
}
