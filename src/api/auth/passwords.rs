//! Passwords: changing one's own, and the forgot / reset pair by emailed token.

use super::signup::{parse_email_body, send_mail, EmailBody};
use crate::api::auth_user::AuthUser;
use crate::api::extract::{required, Json};
use crate::api::rate_limit;
use crate::api::routes::Bucket;
use crate::api::state::AppState;
use crate::auth::sessions::{self, hash_secret};
use crate::domain::accounts::Password;
use crate::error::{ApiError, FieldErrors};
use crate::jobs::MailTask;
use crate::store::tokens::{self, TokenKind};
use crate::store::users::{self};
use crate::views::Detail;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

type State = web::Data<AppState>;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ChangePasswordRequest {
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
pub(crate) async fn change_password(
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
    sessions::revoke_all_sessions(&state.db, user.id).await?;
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
pub(crate) async fn forgot_password(
    state: State,
    Json(body): Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let email = parse_email_body(&body)?;
    rate_limit::check_account(&state, Bucket::PasswordForgot, email.as_str()).await?;
    let email = email.as_str().to_owned();
    send_mail(&state, MailTask::PasswordReset { email }).await?;
    Ok(HttpResponse::Accepted().json(Detail {
        detail: "If an account uses this address, an email with a reset token is on its way.",
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ResetPasswordRequest {
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
pub(crate) async fn reset_password(
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
        .filter(|user| {
            pending
                .email
                .as_deref()
                .is_none_or(|sent| sent == user.email)
        })
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
    sessions::revoke_all_sessions(&state.db, user.id).await?;
    Ok(HttpResponse::Ok().json(Detail {
        detail: "Your password has been reset. Log in with the new one.",
    }))
}
