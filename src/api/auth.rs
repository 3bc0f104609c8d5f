//! Accounts and sessions: API.md §2.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::api::extract::{Json, MaybeJson};
use crate::api::verify_page;
use crate::api::views::{rfc3339, Detail, MeView};
use crate::auth::sessions::{self, expires_in, hash_secret, new_secret, ClientInfo, TokenPair};
use crate::auth::AuthUser;
use crate::domain::accounts::{parse_full_name, Email, Password, Username, REQUIRED};
use crate::email;
use crate::error::{ApiError, FieldErrors};
use crate::events::{self, Activity};
use crate::rate_limit::{self, Bucket};
use crate::startup::AppState;
use crate::store::tokens::{self, TokenKind};
use crate::store::users::{self, NewUser, Role, UserDoc};

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(register)))
        .service(web::resource("/register").route(web::post().to(register)))
        .service(
            web::resource("/auth/verify-email")
                .route(web::get().to(verify_email_link))
                .route(web::post().to(verify_email)),
        )
        .service(
            web::resource("/auth/resend-verification").route(web::post().to(resend_verification)),
        )
        .service(web::resource("/auth/login").route(web::post().to(login)))
        .service(web::resource("/login").route(web::post().to(login)))
        .service(web::resource("/users/login").route(web::post().to(login)))
        .service(web::resource("/auth/token/refresh").route(web::post().to(refresh_token)))
        .service(web::resource("/token/refresh").route(web::post().to(refresh_token)))
        .service(web::resource("/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/auth/logout-all").route(web::post().to(logout_all)))
        .service(web::resource("/auth/sessions").route(web::get().to(list_sessions)))
        .service(web::resource("/auth/sessions/{id}").route(web::delete().to(revoke_session)))
        .service(web::resource("/auth/password/change").route(web::post().to(change_password)))
        .service(web::resource("/auth/password/forgot").route(web::post().to(forgot_password)))
        .service(web::resource("/auth/password/reset").route(web::post().to(reset_password)));
}

/// A required string field: present and not blank.
pub fn required<'a>(
    errors: &mut FieldErrors,
    field: &str,
    value: &'a Option<String>,
) -> Option<&'a str> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Some(v),
        _ => {
            errors.add(field, REQUIRED);
            None
        }
    }
}

pub fn taken_message(field: &str) -> String {
    format!("A user with that {field} already exists.")
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    /// 3–30 letters, digits, `_`, `.` or `-`; unique ignoring case.
    #[schema(value_type = String, required = true, example = "alice")]
    username: Option<String>,
    #[schema(value_type = String, required = true, example = "alice@example.com")]
    email: Option<String>,
    /// 8–72 bytes, not too common, not all digits, not like the username or email.
    #[schema(value_type = String, required = true, example = "correct horse battery")]
    password: Option<String>,
    /// When sent, it must equal `password`.
    password2: Option<String>,
    #[schema(example = "Alice Liddell")]
    full_name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RegisterResponse {
    user: MeView,
    detail: &'static str,
}

/// Create an account
///
/// Sends an email whose link verifies the address; logging in needs a verified address.
#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses((status = 201, description = "The account exists; a verification email is on its way.", body = RegisterResponse))
)]
pub async fn register(
    state: State,
    Json(body): Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let username = required(&mut errors, "username", &body.username)
        .and_then(|raw| errors.check("username", Username::parse(raw)));
    let email = required(&mut errors, "email", &body.email)
        .and_then(|raw| errors.check("email", Email::parse(raw)));
    let password = required(&mut errors, "password", &body.password).and_then(|raw| {
        let similar_to = (
            body.username.as_deref().unwrap_or(""),
            body.email.as_deref().unwrap_or(""),
        );
        errors.check("password", Password::parse(raw, similar_to.0, similar_to.1))
    });
    if let (Some(password), Some(password2)) = (&body.password, &body.password2) {
        if password != password2 {
            errors.add("password2", "The two password fields didn't match.");
        }
    }
    let full_name = match &body.full_name {
        Some(raw) => errors.check("full_name", parse_full_name(raw)),
        None => Some(String::new()),
    };
    if let Some(email) = &email {
        rate_limit::check_account(&state, Bucket::Register, email.as_str()).await?;
    }
    let (username_taken, email_taken) = users::taken_fields(
        &state.db,
        username.as_ref().map(Username::key).as_deref(),
        email.as_ref().map(Email::as_str),
        None,
    )
    .await?;
    if username_taken {
        errors.add("username", taken_message("username"));
    }
    if email_taken {
        errors.add("email", taken_message("email"));
    }
    errors.into_result()?;
    let (Some(username), Some(email), Some(password), Some(full_name)) =
        (username, email, password, full_name)
    else {
        return Err(ApiError::internal("validated registration lost a field"));
    };

    let password_hash = state.passwords.hash(password.expose()).await?;
    let user = users::insert(
        &state.db,
        NewUser {
            username: username.as_str().to_owned(),
            email: email.as_str().to_owned(),
            password_hash,
            full_name,
            role: Role::User,
            email_verified: false,
        },
    )
    .await
    .map_err(|e| ApiError::from_duplicate(e, users::UNIQUE_FIELDS, taken_message))?;

    send_verification(&state, &user).await;
    Ok(HttpResponse::Created().json(RegisterResponse {
        user: MeView::new(&user),
        detail: "Account created. We sent you an email: open its link to confirm your \
                 address, then log in.",
    }))
}

/// Issues a fresh verification token (superseding older ones) and mails its link. A mail
/// failure is logged, not returned: the account exists and resend-verification recovers.
async fn send_verification(state: &AppState, user: &UserDoc) {
    let result: Result<(), String> = async {
        tokens::delete_for_user(&state.db, user.id, TokenKind::VerifyEmail)
            .await
            .map_err(|e| e.to_string())?;
        let secret = new_secret();
        let ttl = state.settings.auth.email_verification_ttl_secs;
        tokens::insert(
            &state.db,
            TokenKind::VerifyEmail,
            hash_secret(&secret),
            user.id,
            None,
            expires_in(ttl),
        )
        .await
        .map_err(|e| e.to_string())?;
        let link = format!(
            "{}/api/auth/verify-email?token={secret}",
            state.settings.server.public_url.trim_end_matches('/')
        );
        state
            .mailer
            .send(email::verification_email(
                &user.email,
                &user.username,
                &link,
            ))
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    if let Err(err) = result {
        log::error!(
            "could not send the verification email to user {}: {err}",
            user.id
        );
    }
}

#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TokenBody {
    /// The token from the emailed link.
    #[schema(value_type = String, required = true)]
    #[param(value_type = String, required = true)]
    token: Option<String>,
}

async fn confirm_email(state: &AppState, token: &Option<String>) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let token = required(&mut errors, "token", token);
    errors.into_result()?;
    let hash = hash_secret(token.unwrap_or_default().trim());
    let consumed = tokens::take_one_time(&state.db, TokenKind::VerifyEmail, &hash)
        .await?
        .ok_or(ApiError::InvalidOneTimeToken)?;
    users::mark_email_verified(&state.db, consumed.user_id).await?;
    Ok(HttpResponse::Ok().json(Detail {
        detail: "Your email address is confirmed. You can now log in.",
    }))
}

/// Verify an email address (the emailed link)
#[utoipa::path(
    get,
    path = "/api/auth/verify-email",
    tag = "auth",
    params(TokenBody),
    responses(
        (status = 200, description = "The address is verified. A browser (`Accept` naming `text/html` before JSON) gets a small HTML page instead.", body = Detail),
        (status = 303, description = "To a browser, when `email.verified_redirect_url` is set: to that URL with `?status=verified` or `?status=invalid_token`."),
        (status = 400, description = "`invalid_token`: unknown, used or expired (to a browser, an HTML page saying so)."),
    )
)]
async fn verify_email_link(
    state: State,
    req: HttpRequest,
    query: web::Query<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    let outcome = confirm_email(&state, &query.token).await;
    if !verify_page::prefers_html(&req) {
        return outcome;
    }
    let redirect = state.settings.email.verified_redirect_url.as_deref();
    match outcome {
        Ok(_) => Ok(verify_page::answer(redirect, true)),
        Err(ApiError::InvalidOneTimeToken | ApiError::Validation(_)) => {
            Ok(verify_page::answer(redirect, false))
        }
        Err(other) => Err(other),
    }
}

/// Verify an email address
#[utoipa::path(
    post,
    path = "/api/auth/verify-email",
    tag = "auth",
    request_body = TokenBody,
    responses(
        (status = 200, description = "The address is verified.", body = Detail),
        (status = 400, description = "`invalid_token`: unknown, used or expired; or `validation_error`."),
    )
)]
async fn verify_email(state: State, Json(body): Json<TokenBody>) -> Result<HttpResponse, ApiError> {
    confirm_email(&state, &body.token).await
}

#[derive(Deserialize, utoipa::ToSchema)]
struct EmailBody {
    #[schema(value_type = String, required = true, example = "alice@example.com")]
    email: Option<String>,
}

fn parse_email_body(body: &EmailBody) -> Result<Email, ApiError> {
    let mut errors = FieldErrors::new();
    let email = required(&mut errors, "email", &body.email)
        .and_then(|raw| errors.check("email", Email::parse(raw)));
    errors.into_result()?;
    email.ok_or_else(|| ApiError::internal("validated email lost"))
}

/// Runs `work` after the response is sent, so the answer takes the same time whether or
/// not the address has an account (no user enumeration through timing).
fn in_background(work: impl std::future::Future<Output = Result<(), ApiError>> + 'static) {
    actix_web::rt::spawn(async move {
        if let Err(err) = work.await {
            log::error!("background email task failed: {err}");
        }
    });
}

/// Send the verification email again
///
/// The same answer whether or not the address has an account, verified or not.
#[utoipa::path(
    post,
    path = "/api/auth/resend-verification",
    tag = "auth",
    request_body = EmailBody,
    responses((status = 202, description = "If an unverified account uses the address, an email is on its way.", body = Detail))
)]
async fn resend_verification(
    state: State,
    Json(body): Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let email = parse_email_body(&body)?;
    rate_limit::check_account(&state, Bucket::ResendVerification, email.as_str()).await?;
    in_background(async move {
        if let Some(user) = users::find_by_email(&state.db, email.as_str()).await? {
            if !user.email_verified && !user.disabled {
                send_verification(&state, &user).await;
            }
        }
        Ok(())
    });
    Ok(HttpResponse::Accepted().json(Detail {
        detail:
            "If an unconfirmed account uses this address, a new confirmation email is on its way.",
    }))
}

/// One of `login`, `username` or `email` names the account (each accepts a username or
/// an email address).
#[derive(Deserialize, utoipa::ToSchema)]
struct LoginRequest {
    login: Option<String>,
    #[schema(example = "alice")]
    username: Option<String>,
    email: Option<String>,
    #[schema(value_type = String, required = true, example = "correct horse battery")]
    password: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LoginResponse {
    #[serde(flatten)]
    tokens: TokenPair,
    user: MeView,
}

fn client_info(req: &HttpRequest) -> ClientInfo {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(256)
        .collect();
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    ClientInfo { user_agent, ip }
}

/// Log in
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A new session: an access and a refresh token.", body = LoginResponse),
        (status = 401, description = "`invalid_credentials`: no such account or a wrong password."),
        (status = 403, description = "`email_not_verified` or `account_disabled` (told only to a caller who knows the password)."),
    )
)]
async fn login(
    state: State,
    req: HttpRequest,
    Json(body): Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let identifier = body
        .login
        .as_ref()
        .or(body.username.as_ref())
        .or(body.email.as_ref())
        .cloned();
    let identifier = required(&mut errors, "username", &identifier).map(str::to_owned);
    let password = required(&mut errors, "password", &body.password);
    errors.into_result()?;
    let (Some(identifier), Some(password)) = (identifier, password) else {
        return Err(ApiError::internal("validated login lost a field"));
    };
    rate_limit::check_account(&state, Bucket::Login, &identifier).await?;

    let Some(user) = users::find_by_login(&state.db, &identifier).await? else {
        state.passwords.verify_dummy(password).await?;
        return Err(ApiError::InvalidCredentials);
    };
    if !state
        .passwords
        .verify(password, &user.password_hash)
        .await?
    {
        return Err(ApiError::InvalidCredentials);
    }
    // Only a caller who knows the password learns the account's state.
    if user.disabled {
        return Err(ApiError::Forbidden {
            code: "account_disabled",
            detail: "This account has been disabled.",
        });
    }
    if !user.email_verified {
        return Err(ApiError::Forbidden {
            code: "email_not_verified",
            detail: "Please confirm your email address first: open the link we emailed you. \
                     Lost it? Ask for a new one with POST /api/auth/resend-verification.",
        });
    }
    let tokens = sessions::start_session(&state, user.id, client_info(&req)).await?;
    events::record(&state, user.id, Activity::on("auth.login", "user", user.id));
    Ok(HttpResponse::Ok().json(LoginResponse {
        tokens,
        user: MeView::new(&user),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RefreshRequest {
    /// A refresh token; each can be used once.
    #[schema(value_type = String, required = true)]
    refresh: Option<String>,
}

/// Exchange a refresh token for a new token pair
///
/// The refresh token is used up; reusing one revokes its whole session.
#[utoipa::path(
    post,
    path = "/api/auth/token/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access and refresh token for the same session.", body = TokenPair),
        (status = 401, description = "`token_invalid` or `token_expired`."),
    )
)]
async fn refresh_token(
    state: State,
    Json(body): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let refresh = required(&mut errors, "refresh", &body.refresh);
    errors.into_result()?;
    let pair = sessions::rotate(&state, refresh.unwrap_or_default().trim()).await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Log out
///
/// Revokes the session of this access token, and the session of the refresh token sent
/// with it if that is another session of the same user.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    request_body(content = Option<RefreshRequest>, description = "Optional."),
    responses((status = 204, description = "Logged out.")),
    security(("bearerAuth" = []))
)]
async fn logout(
    state: State,
    auth: AuthUser,
    MaybeJson(body): MaybeJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    sessions::revoke_session(&state, auth.session_id, auth.user_id).await?;
    events::record(
        &state,
        auth.user_id,
        Activity::on("auth.logout", "user", auth.user_id),
    );
    if let Some(refresh) = body.and_then(|b| b.refresh) {
        if let Some(token) = tokens::find_any(&state.db, &hash_secret(refresh.trim())).await? {
            if let (TokenKind::Refresh, Some(session_id)) = (token.kind, token.session_id) {
                if token.user_id == auth.user_id {
                    sessions::revoke_session(&state, session_id, auth.user_id).await?;
                }
            }
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Log out everywhere: revoke every session of the account
#[utoipa::path(
    post,
    path = "/api/auth/logout-all",
    tag = "auth",
    responses((status = 204, description = "Every session is revoked.")),
    security(("bearerAuth" = []))
)]
async fn logout_all(state: State, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    sessions::revoke_all_sessions(&state, auth.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, utoipa::ToSchema)]
struct SessionView {
    id: String,
    created_at: String,
    last_used_at: String,
    user_agent: String,
    ip: String,
    current: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct SessionList {
    results: Vec<SessionView>,
}

/// The account's active sessions
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    tag = "auth",
    responses((status = 200, description = "Active sessions, `current` marking this one.", body = SessionList)),
    security(("bearerAuth" = []))
)]
async fn list_sessions(state: State, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let results = crate::store::sessions::list_for_user(&state.db, auth.user_id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            id: s.id.to_hex(),
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            user_agent: s.user_agent,
            ip: s.ip,
            current: s.id == auth.session_id,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SessionList { results }))
}

/// Revoke one session: its tokens stop working at once
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}",
    tag = "auth",
    responses((status = 204, description = "Revoked.")),
    security(("bearerAuth" = []))
)]
async fn revoke_session(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ObjectId::parse_str(path.as_str())?;
    if !sessions::revoke_session(&state, id, auth.user_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ChangePasswordRequest {
    #[schema(value_type = String, required = true)]
    old_password: Option<String>,
    #[schema(value_type = String, required = true)]
    new_password: Option<String>,
}

/// Change the password
///
/// Revokes every session of the account, this one included.
#[utoipa::path(
    post,
    path = "/api/auth/password/change",
    tag = "auth",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; log in again."),
        (status = 400, description = "`validation_error`, naming `old_password` when it is wrong."),
    ),
    security(("bearerAuth" = []))
)]
async fn change_password(
    state: State,
    auth: AuthUser,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = auth.load(&state).await?;
    let mut errors = FieldErrors::new();
    let old = required(&mut errors, "old_password", &body.old_password);
    let new = required(&mut errors, "new_password", &body.new_password).and_then(|raw| {
        errors.check(
            "new_password",
            Password::parse(raw, &user.username, &user.email),
        )
    });
    if let Some(old) = old {
        if !state.passwords.verify(old, &user.password_hash).await? {
            errors.add("old_password", "Your old password was entered incorrectly.");
        }
    }
    errors.into_result()?;
    let new = new.ok_or_else(|| ApiError::internal("validated password lost"))?;
    let hash = state.passwords.hash(new.expose()).await?;
    users::set_password_hash(&state.db, user.id, &hash, false).await?;
    sessions::revoke_all_sessions(&state, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ask for a password-reset email
///
/// The same answer whether or not the address has an account.
#[utoipa::path(
    post,
    path = "/api/auth/password/forgot",
    tag = "auth",
    request_body = EmailBody,
    responses((status = 202, description = "If an account uses the address, an email with a reset token is on its way.", body = Detail))
)]
async fn forgot_password(
    state: State,
    Json(body): Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let email = parse_email_body(&body)?;
    rate_limit::check_account(&state, Bucket::PasswordForgot, email.as_str()).await?;
    in_background(async move {
        let Some(user) = users::find_by_email(&state.db, email.as_str()).await? else {
            return Ok(());
        };
        if user.disabled {
            return Ok(());
        }
        tokens::delete_for_user(&state.db, user.id, TokenKind::PasswordReset).await?;
        let secret = new_secret();
        let ttl = state.settings.auth.password_reset_ttl_secs;
        tokens::insert(
            &state.db,
            TokenKind::PasswordReset,
            hash_secret(&secret),
            user.id,
            None,
            expires_in(ttl),
        )
        .await?;
        let message = email::password_reset_email(&user.email, &user.username, &secret, ttl / 60);
        state.mailer.send(message).await.map_err(ApiError::internal)
    });
    Ok(HttpResponse::Accepted().json(Detail {
        detail: "If an account uses this address, an email with a reset token is on its way.",
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ResetPasswordRequest {
    /// The token from the reset email.
    #[schema(value_type = String, required = true)]
    token: Option<String>,
    #[schema(value_type = String, required = true)]
    new_password: Option<String>,
}

/// Set a new password with the emailed token
///
/// Revokes every session; proves the address too, so it also verifies it.
#[utoipa::path(
    post,
    path = "/api/auth/password/reset",
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "The password is reset.", body = Detail),
        (status = 400, description = "`invalid_token`, or `validation_error` for a weak `new_password`."),
    )
)]
async fn reset_password(
    state: State,
    Json(body): Json<ResetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let token = required(&mut errors, "token", &body.token);
    let new = required(&mut errors, "new_password", &body.new_password);
    errors.into_result()?;
    let (Some(token), Some(new)) = (token, new) else {
        return Err(ApiError::internal("validated reset lost a field"));
    };
    let hash = hash_secret(token.trim());
    let pending = tokens::find_live(&state.db, TokenKind::PasswordReset, &hash)
        .await?
        .ok_or(ApiError::InvalidOneTimeToken)?;
    let user = users::find_by_id(&state.db, pending.user_id)
        .await?
        .ok_or(ApiError::InvalidOneTimeToken)?;
    rate_limit::check_account(&state, Bucket::PasswordReset, &user.id.to_hex()).await?;
    let new = Password::parse(new, &user.username, &user.email)
        .map_err(|message| FieldErrors::single("new_password", message))?;
    let password_hash = state.passwords.hash(new.expose()).await?;
    // Consumed only now, so a rejected new password does not burn the token.
    tokens::take_one_time(&state.db, TokenKind::PasswordReset, &hash)
        .await?
        .ok_or(ApiError::InvalidOneTimeToken)?;
    users::set_password_hash(&state.db, user.id, &password_hash, true).await?;
    sessions::revoke_all_sessions(&state, user.id).await?;
    Ok(HttpResponse::Ok().json(Detail {
        detail: "Your password has been reset. Log in with the new one.",
    }))
}
