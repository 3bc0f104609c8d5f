//! Authentication as extractors: an `AuthUser` in a handler's signature means the route
//! needs a valid bearer token; `MaybeUser` is for public routes that personalise.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use bson::oid::ObjectId;
use futures::future::LocalBoxFuture;

use crate::api::state::AppState;
use crate::auth::jwt::JwtError;
use crate::error::ApiError;
use crate::store::sessions;
use crate::store::users::UserDoc;

pub use crate::core::viewer::AuthUser;

impl AuthUser {
    /// Proof that the account's owner is at the keyboard, for a sensitive change (email,
    /// password, and whatever else could lock them out): the current password, or a
    /// session signed in at most `auth.reauth_window_secs` ago ("sudo mode"). A stolen
    /// access token alone is neither. `403 reauthentication_required` otherwise, also for
    /// a wrong password (so it cannot be told apart from a missing one).
    pub async fn require_presence(
        &self,
        state: &AppState,
        user: &UserDoc,
        current_password: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(password) = current_password.filter(|p| !p.is_empty()) {
            return if state
                .passwords
                .verify(password, &user.password_hash)
                .await?
            {
                Ok(())
            } else {
                Err(ApiError::reauthentication_required())
            };
        }
        let session = sessions::find_live(&state.db, self.session_id, self.user_id)
            .await?
            .ok_or(ApiError::TokenInvalid)?;
        let window_ms = state.settings.auth.reauth_window_secs.saturating_mul(1000);
        let age_ms =
            bson::DateTime::now().timestamp_millis() - session.created_at.timestamp_millis();
        if age_ms <= window_ms {
            Ok(())
        } else {
            Err(ApiError::reauthentication_required())
        }
    }
}

/// The token of a request, if it sent an `Authorization` header at all: `Bearer <jwt>`,
/// or `Token <jwt>` as RealWorld clients send it.
pub fn bearer_token(req: &HttpRequest) -> Option<Result<String, ApiError>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            ["Bearer ", "bearer ", "Token ", "token "]
                .iter()
                .find_map(|scheme| v.strip_prefix(scheme))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    Some(token.map(str::to_owned).ok_or(ApiError::TokenInvalid))
}

/// Checks the JWT (signature, expiry), then its session with one indexed lookup, so that
/// a revoked session is refused at once on every instance.
pub async fn authenticate(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let user = verify_jwt(state, token)?;
    sessions::find_live(&state.db, user.session_id, user.user_id)
        .await?
        .ok_or(ApiError::TokenInvalid)?;
    Ok(user)
}

/// The account a token belongs to, for what counts per account before the handler runs
/// (rate limits, idempotency keys): a JWT by its signature, a Mastodon app's opaque token
/// (which names its account unsigned) only once its session is found, one `_id` lookup,
/// so that nobody can act on another's count with a made-up token.
pub async fn token_user(state: &AppState, token: &str) -> Option<ObjectId> {
    match crate::auth::oauth::parse(token) {
        Some(t) if t.kind == crate::auth::oauth::Kind::Access => {
            sessions::find_oauth(&state.db, t.first, t.second, &t.hash)
                .await
                .ok()
                .flatten()
                .map(|s| s.user_id)
        }
        Some(_) => None,
        None => verify_jwt(state, token).ok().map(|u| u.user_id),
    }
}

/// The JWT's signature and expiry alone; its session still has to be checked.
pub fn verify_jwt(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let identity = state.jwt.verify(token).map_err(|e| match e {
        JwtError::Expired => ApiError::TokenExpired,
        JwtError::Invalid => ApiError::TokenInvalid,
    })?;
    Ok(AuthUser {
        user_id: identity.user_id,
        session_id: identity.session_id,
    })
}

pub(crate) fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState is not registered"))
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = app_state(req);
        Box::pin(async move {
            let token = token.ok_or(ApiError::NotAuthenticated)??;
            authenticate(&*state?, &token).await
        })
    }
}
