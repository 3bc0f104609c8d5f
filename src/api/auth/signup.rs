//! Signing up: registration, the verification email and its link, resending it.

use crate::api::extract::{required, Json};
use crate::api::rate_limit;
use crate::api::routes::Bucket;
use crate::api::state::AppState;
use crate::api::verify_page;
use crate::auth::sessions::hash_secret;
use crate::core::accounts::{create_account, Registration};
use crate::core::profile::taken_message;
use crate::domain::accounts::Email;
use crate::error::{ApiError, FieldErrors};
use crate::jobs::{MailTask, Task};
use crate::store::tokens::{self, TokenKind};
use crate::store::users::{self};
use crate::views::{Detail, MeView};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

type State = web::Data<AppState>;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    /// 3–30 letters, digits, `_`, `.` or `-`; unique ignoring case.
    #[schema(value_type = String, required = true, example = "alice")]
    pub(crate) username: Option<String>,
    #[schema(value_type = String, required = true, example = "alice@example.com")]
    pub(crate) email: Option<String>,
    /// 8–72 bytes, not too common, not all digits, not like the username or email.
    #[schema(value_type = String, required = true, example = "correct horse battery")]
    pub(crate) password: Option<String>,
    /// When sent, it must equal `password`.
    pub(crate) password2: Option<String>,
    #[schema(example = "Alice Liddell")]
    pub(crate) full_name: Option<String>,
}

impl From<RegisterRequest> for Registration {
    fn from(body: RegisterRequest) -> Self {
        Registration {
            username: body.username,
            email: body.email,
            password: body.password,
            password2: body.password2,
            full_name: body.full_name,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct RegisterResponse {
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
    let user = create_account(&state, &body.into()).await?;
    Ok(HttpResponse::Created().json(RegisterResponse {
        user: MeView::new(&user),
        detail: "Account created. We sent you an email: open its link to confirm your \
                 address, then log in.",
    }))
}

#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TokenBody {
    /// The token from the emailed link.
    #[schema(value_type = String, required = true)]
    #[param(value_type = String, required = true)]
    token: Option<String>,
}

pub(super) async fn confirm_email(
    state: &AppState,
    token: &Option<String>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let token = required(&mut errors, "token", token);
    errors.into_result()?;
    let hash = hash_secret(token.unwrap_or_default().trim());
    let consumed = tokens::take_one_time(&state.db, TokenKind::VerifyEmail, &hash)
        .await?
        .ok_or(ApiError::InvalidOneTimeToken)?;
    let user = users::find_by_id(&state.db, consumed.user_id)
        .await?
        .ok_or(ApiError::InvalidOneTimeToken)?;
    // A link proves the address it was sent to, and only while that address is still the
    // account's (or its pending change): never whatever address the account has now.
    let address = consumed.email.as_deref().unwrap_or(user.email.as_str());
    let confirmed = if user.pending_email.as_deref() == Some(address) {
        let changed = users::confirm_pending_email(&state.db, user.id, address)
            .await
            .map_err(|e| ApiError::from_duplicate(e, users::UNIQUE_FIELDS, taken_message))?;
        if changed {
            // Reset tokens went to the old address: they end with it.
            tokens::delete_for_user(&state.db, user.id, TokenKind::PasswordReset).await?;
        }
        changed
    } else {
        users::mark_email_verified(&state.db, user.id, address).await?
    };
    if !confirmed {
        return Err(ApiError::InvalidOneTimeToken);
    }
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
pub(crate) async fn verify_email_link(
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
pub(crate) async fn verify_email(
    state: State,
    Json(body): Json<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    confirm_email(&state, &body.token).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct EmailBody {
    #[schema(value_type = String, required = true, example = "alice@example.com")]
    email: Option<String>,
}

pub(super) fn parse_email_body(body: &EmailBody) -> Result<Email, ApiError> {
    let mut errors = FieldErrors::new();
    let email = required(&mut errors, "email", &body.email)
        .and_then(|raw| errors.check("email", Email::parse(raw)));
    errors.into_result()?;
    email.ok_or_else(|| ApiError::internal("validated email lost"))
}

/// Writes an email job: the answer waits for the job's insert only, never for SMTP, and
/// takes the same time whether or not the address has an account (the job looks it up),
/// so timing enumerates nobody.
pub(super) async fn send_mail(state: &AppState, mail: MailTask) -> Result<(), ApiError> {
    state.jobs.enqueue(Task::Email(mail)).await
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
pub(crate) async fn resend_verification(
    state: State,
    Json(body): Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let email = parse_email_body(&body)?;
    rate_limit::check_account(&state, Bucket::ResendVerification, email.as_str()).await?;
    let email = email.as_str().to_owned();
    send_mail(&state, MailTask::VerificationResend { email }).await?;
    Ok(HttpResponse::Accepted().json(Detail {
        detail:
            "If an unconfirmed account uses this address, a new confirmation email is on its way.",
    }))
}
