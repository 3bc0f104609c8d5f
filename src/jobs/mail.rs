//! The `email` job: every email the service sends. The job holds whom to write to, never
//! a token: the one-time token is made (and only its hash stored) when the mail is sent,
//! so a retry after an SMTP failure sends a fresh link and the earlier one is void.

use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use super::Run;
use crate::auth::sessions::{expires_in, hash_secret, new_secret};
use crate::email;
use crate::error::ApiError;
use crate::store::tokens::{self, TokenKind};
use crate::store::users::{self, UserDoc};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mail", rename_all = "snake_case")]
pub enum MailTask {
    /// The link that confirms an account's address (at registration, and on request).
    Verification { user_id: ObjectId },
    /// The same, asked for again by address: to the unconfirmed account using `email`,
    /// if there is one.
    VerificationResend { email: String },
    /// A password-reset token, to the account using `email` if there is one: the request
    /// answers the same either way, and only the job looks.
    PasswordReset { email: String },
    /// The link that confirms a new address, to that address, while it is still the
    /// account's pending change (a later change voids it).
    EmailChange { user_id: ObjectId, email: String },
    /// To the address in use: a change to `email` was asked for.
    EmailChangeNotice { user_id: ObjectId, email: String },
}

pub(super) async fn run(run: &Run<'_>, mail: MailTask) -> Result<(), ApiError> {
    let jobs = run.jobs;
    let db = &jobs.db;
    let settings = &jobs.settings;
    match mail {
        MailTask::Verification { user_id } => match users::find_by_id(db, user_id).await? {
            Some(user) if !user.email_verified => {
                verification(run, &user, &user.email, email::verification_email).await
            }
            _ => Ok(()),
        },
        MailTask::VerificationResend { email } => match users::find_by_email(db, &email).await? {
            Some(user) if !user.email_verified && !user.disabled => {
                verification(run, &user, &user.email, email::verification_email).await
            }
            _ => Ok(()),
        },
        MailTask::EmailChange { user_id, email } => match users::find_by_id(db, user_id).await? {
            Some(user) if user.pending_email.as_deref() == Some(email.as_str()) => {
                verification(run, &user, &email, email::email_change_email).await
            }
            _ => Ok(()),
        },
        MailTask::EmailChangeNotice { user_id, email } => {
            let Some(user) = users::find_by_id(db, user_id).await? else {
                return Ok(());
            };
            let message = email::email_change_notice(&user.email, &user.username, &email);
            jobs.mailer.send(message).await.map_err(ApiError::internal)
        }
        MailTask::PasswordReset { email } => {
            let Some(user) = users::find_by_email(db, &email).await? else {
                return Ok(());
            };
            if user.disabled {
                return Ok(());
            }
            let ttl = settings.auth.password_reset_ttl_secs;
            let secret = issue(run, &user, TokenKind::PasswordReset, &user.email, ttl).await?;
            let message =
                email::password_reset_email(&user.email, &user.username, &secret, ttl / 60);
            jobs.mailer.send(message).await.map_err(ApiError::internal)
        }
    }
}

/// A link that confirms `address` for `user`, written to that address by `compose`.
async fn verification(
    run: &Run<'_>,
    user: &UserDoc,
    address: &str,
    compose: fn(&str, &str, &str) -> email::Email,
) -> Result<(), ApiError> {
    let settings = &run.jobs.settings;
    let ttl = settings.auth.email_verification_ttl_secs;
    let secret = issue(run, user, TokenKind::VerifyEmail, address, ttl).await?;
    let link = format!(
        "{}/api/auth/verify-email?token={secret}",
        settings.server.public_url.trim_end_matches('/')
    );
    let message = compose(address, &user.username, &link);
    run.jobs
        .mailer
        .send(message)
        .await
        .map_err(ApiError::internal)
}

/// A fresh one-time token of `kind` for `user`, bound to the address it is sent to and
/// superseding earlier ones; returns the secret, of which only the hash is stored.
async fn issue(
    run: &Run<'_>,
    user: &UserDoc,
    kind: TokenKind,
    address: &str,
    ttl_secs: i64,
) -> Result<String, ApiError> {
    let db = &run.jobs.db;
    tokens::delete_for_user(db, user.id, kind).await?;
    let secret = new_secret();
    tokens::insert(
        db,
        kind,
        hash_secret(&secret),
        user.id,
        None,
        Some(address),
        expires_in(ttl_secs),
    )
    .await?;
    Ok(secret)
}
