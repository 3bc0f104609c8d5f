//! Accounts: creating one, and the credential check of every sign-in (the native and
//! RealWorld logins, the Mastodon API's authorization page and password grant).

use crate::core::limits::{check_account, Bucket};
use crate::core::profile::{check_taken, taken_message};
use crate::core::Services;
use crate::domain::accounts::{parse_full_name, Email, Password, Username};
use crate::error::{required, ApiError, FieldErrors};
use crate::jobs::{MailTask, Task};
use crate::store::users::{self, NewUser, Role, UserDoc};

/// A registration as a façade received it: any field may be missing. (No `Debug`: it
/// holds the password.)
pub struct Registration {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    /// When sent, it must equal `password`.
    pub password2: Option<String>,
    pub full_name: Option<String>,
}

/// Checks a registration, creates the account and sends its verification email: the one
/// path of the native and the RealWorld API.
pub async fn create_account(services: &Services, body: &Registration) -> Result<UserDoc, ApiError> {
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
        check_account(services, Bucket::Register, email.as_str()).await?;
    }
    check_taken(
        services,
        &mut errors,
        username.as_ref(),
        email.as_ref(),
        None,
    )
    .await?;
    errors.into_result()?;
    let (Some(username), Some(email), Some(password), Some(full_name)) =
        (username, email, password, full_name)
    else {
        return Err(ApiError::internal("validated registration lost a field"));
    };

    let password_hash = services.passwords.hash(password.expose()).await?;
    let user = users::insert(
        &services.db,
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

    services
        .jobs
        .enqueue(Task::Email(MailTask::Verification { user_id: user.id }))
        .await?;
    Ok(user)
}

/// The account a login names, when the password is right and it may sign in: the one
/// credential check of every sign-in (native, RealWorld, the Mastodon API's). The per-account rate limit is
/// counted first; an unknown account costs a dummy hash, so timing tells nobody which
/// accounts exist.
pub async fn account_for_login(
    services: &Services,
    identifier: &str,
    password: &str,
) -> Result<UserDoc, ApiError> {
    check_account(services, Bucket::Login, identifier).await?;

    let Some(user) = users::find_by_login(&services.db, identifier).await? else {
        services.passwords.verify_dummy(password).await?;
        return Err(ApiError::InvalidCredentials);
    };
    if !services
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
    if services.settings.auth.require_email_verification && !user.email_verified {
        return Err(ApiError::Forbidden {
            code: "email_not_verified",
            detail: "Please confirm your email address first: open the link we emailed you. \
                     Lost it? Ask for a new one with POST /api/auth/resend-verification.",
        });
    }
    Ok(user)
}
