//! Sessions: login, refresh, logout, and listing or revoking one's sessions.

use crate::api::auth_user::AuthUser;
use crate::api::extract::{required, Json, MaybeJson};
use crate::api::state::AppState;
use crate::auth::sessions::{self, hash_secret, ClientInfo, TokenPair};
use crate::core::accounts::account_for_login;
use crate::error::{ApiError, FieldErrors};
use crate::store::events::Activity;
use crate::store::tokens::{self, TokenKind};
use crate::views::{rfc3339, MeView};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

type State = web::Data<AppState>;

/// One of `login`, `username` or `email` names the account (each accepts a username or
/// an email address).
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginRequest {
    login: Option<String>,
    #[schema(example = "alice")]
    username: Option<String>,
    email: Option<String>,
    #[schema(value_type = String, required = true, example = "correct horse battery")]
    password: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LoginResponse {
    #[serde(flatten)]
    tokens: TokenPair,
    user: MeView,
}

pub(crate) fn client_info(req: &HttpRequest) -> ClientInfo {
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
pub(crate) async fn login(
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
    let user = account_for_login(&state, &identifier, password).await?;
    let tokens = sessions::start_session(issuer(&state), user.id, client_info(&req)).await?;
    state
        .jobs
        .record(user.id, Activity::on("auth.login", "user", user.id))
        .await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        tokens,
        user: MeView::new(&user),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RefreshRequest {
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
pub(crate) async fn refresh_token(
    state: State,
    Json(body): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let refresh = required(&mut errors, "refresh", &body.refresh);
    errors.into_result()?;
    let pair = sessions::rotate(issuer(&state), refresh.unwrap_or_default().trim()).await?;
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
pub(crate) async fn logout(
    state: State,
    auth: AuthUser,
    MaybeJson(body): MaybeJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    sessions::revoke_session(&state.db, auth.session_id, auth.user_id).await?;
    state
        .jobs
        .record(
            auth.user_id,
            Activity::on("auth.logout", "user", auth.user_id),
        )
        .await?;
    if let Some(refresh) = body.and_then(|b| b.refresh) {
        if let Some(token) = tokens::find_any(&state.db, &hash_secret(refresh.trim())).await? {
            if let (TokenKind::Refresh, Some(session_id)) = (token.kind, token.session_id) {
                if token.user_id == auth.user_id {
                    sessions::revoke_session(&state.db, session_id, auth.user_id).await?;
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
pub(crate) async fn logout_all(state: State, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    sessions::revoke_all_sessions(&state.db, auth.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SessionView {
    id: String,
    created_at: String,
    last_used_at: String,
    user_agent: String,
    ip: String,
    /// The app signed in with this session (the Mastodon API's OAuth), if any.
    #[schema(example = "Tusky")]
    app: Option<String>,
    current: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SessionList {
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
pub(crate) async fn list_sessions(state: State, auth: AuthUser) -> Result<HttpResponse, ApiError> {
    let results = crate::store::sessions::list_for_user(&state.db, auth.user_id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            id: s.id.to_hex(),
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            user_agent: s.user_agent,
            ip: s.ip,
            app: s.oauth.map(|o| o.app_name),
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
pub(crate) async fn revoke_session(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ObjectId::parse_str(path.as_str())?;
    if !sessions::revoke_session(&state.db, id, auth.user_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The parts of the app state that issue tokens.
pub(crate) fn issuer(state: &AppState) -> sessions::Issuer<'_> {
    sessions::Issuer {
        db: &state.db,
        jwt: &state.jwt,
        refresh_ttl_secs: state.settings.auth.refresh_token_ttl_secs,
    }
}
