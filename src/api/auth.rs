//! Accounts and sessions: API.md §2.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::api::extract::{Json, MaybeJson};
use crate::api::views::{rfc3339, Detail, MeView};
use crate::auth::sessions::{self, expires_in, hash_secret, new_secret, ClientInfo, TokenPair};
use crate::auth::AuthUser;
use crate::domain::accounts::{parse_full_name, Email, Password, Username, REQUIRED};
use crate::email;
use crate::error::{ApiError, FieldErrors};
use crate::events::{self, Activity};
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

#[derive(Deserialize)]
pub struct RegisterRequest {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    password2: Option<String>,
    full_name: Option<String>,
}

#[derive(Serialize)]
struct RegisterResponse {
    user: MeView,
    detail: &'static str,
}

// POST /api/auth/register (aliases POST /api/register, POST /api/users)
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

#[derive(Deserialize)]
struct TokenBody {
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

// GET /api/auth/verify-email?token=T — the link in the verification email.
async fn verify_email_link(
    state: State,
    query: web::Query<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    confirm_email(&state, &query.token).await
}

// POST /api/auth/verify-email
async fn verify_email(state: State, Json(body): Json<TokenBody>) -> Result<HttpResponse, ApiError> {
    confirm_email(&state, &body.token).await
}

#[derive(Deserialize)]
struct EmailBody {
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

// POST /api/auth/resend-verification
async fn resend_verification(
    state: State,
    Json(body): Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let email = parse_email_body(&body)?;
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

#[derive(Deserialize)]
struct LoginRequest {
    login: Option<String>,
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

#[derive(Serialize)]
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

// POST /api/auth/login (aliases POST /api/login, POST /api/users/login)
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
    events::record(&state, user.id, Activity::on("auth.login", "user", user.id)).await;
    Ok(HttpResponse::Ok().json(LoginResponse {
        tokens,
        user: MeView::new(&user),
    }))
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh: Option<String>,
}

// POST /api/auth/token/refresh (alias POST /api/token/refresh)
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

// POST /api/auth/logout — revokes the session of this access token, and the session of
// the refresh token sent with it if that is another session of the same user.
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
    )
    .await;
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

// POST /api/auth/logout-all
async fn logout_all(state: State, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    sessions::revoke_all_sessions(&state, auth.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct SessionView {
    id: String,
    created_at: String,
    last_used_at: String,
    user_agent: String,
    ip: String,
    current: bool,
}

#[derive(Serialize)]
struct SessionList {
    results: Vec<SessionView>,
}

// GET /api/auth/sessions
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

// DELETE /api/auth/sessions/{id}
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

#[derive(Deserialize)]
struct ChangePasswordRequest {
    old_password: Option<String>,
    new_password: Option<String>,
}

// POST /api/auth/password/change — revokes every session of the user, this one included.
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

// POST /api/auth/password/forgot — the same answer whether or not the address exists.
async fn forgot_password(
    state: State,
    Json(body): Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let email = parse_email_body(&body)?;
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

#[derive(Deserialize)]
struct ResetPasswordRequest {
    token: Option<String>,
    new_password: Option<String>,
}

// POST /api/auth/password/reset — proves the email too, so it also verifies it.
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
