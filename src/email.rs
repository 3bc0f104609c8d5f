//! Outgoing email: SMTP through lettre, or (development, no `SMTP_URL`) `.eml` files in
//! `var/mail/` with their links logged, so a newcomer needs no mail server.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::EmailSettings;

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// The last emails sent, when `email.dev_outbox` is on (development only).
    outbox: Option<Arc<Mutex<VecDeque<SentEmail>>>>,
}

/// How many emails the development outbox keeps.
const OUTBOX_SIZE: usize = 200;

/// An email as the development outbox shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SentEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The one-time token the email carries (verification or password reset).
    pub token: String,
    pub sent_at: String,
}

#[derive(Debug, thiserror::Error)]
#[error("email: {0}")]
pub struct EmailError(String);

pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The one-time token the message carries.
    pub token: String,
    /// The link or token the message carries, logged only when writing to files.
    pub dev_hint: String,
}

impl Mailer {
    pub fn new(settings: &EmailSettings) -> Result<Self, EmailError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| EmailError(format!("EMAIL_FROM is not an address: {e}")))?;
        let transport = match settings.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| EmailError(format!("SMTP_URL is not usable: {e}")))?
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&settings.mail_dir).map_err(|e| {
                    EmailError(format!(
                        "cannot create {}: {e}",
                        settings.mail_dir.display()
                    ))
                })?;
                Transport::Files(
                    AsyncFileTransport::new(&settings.mail_dir),
                    settings.mail_dir.clone(),
                )
            }
        };
        let outbox = settings
            .dev_outbox
            .then(|| Arc::new(Mutex::new(VecDeque::new())));
        Ok(Self {
            transport,
            from,
            outbox,
        })
    }

    /// The emails sent to `to` (all when `None`), newest first; `None` when the
    /// development outbox is off.
    pub fn outbox(&self, to: Option<&str>) -> Option<Vec<SentEmail>> {
        let outbox = self.outbox.as_ref()?.lock().ok()?;
        Some(
            outbox
                .iter()
                .rev()
                .filter(|sent| to.is_none_or(|to| sent.to.eq_ignore_ascii_case(to.trim())))
                .cloned()
                .collect(),
        )
    }

    fn keep(&self, email: &Email) {
        let Some(mut outbox) = self.outbox.as_ref().and_then(|o| o.lock().ok()) else {
            return;
        };
        if outbox.len() == OUTBOX_SIZE {
            outbox.pop_front();
        }
        outbox.push_back(SentEmail {
            to: email.to.clone(),
            subject: email.subject.clone(),
            body: email.body.clone(),
            token: email.token.clone(),
            sent_at: crate::domain::rfc3339(bson::DateTime::now()),
        });
    }

    pub async fn send(&self, email: Email) -> Result<(), EmailError> {
        self.keep(&email);
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| EmailError(format!("bad recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(email.body)
            .map_err(|e| EmailError(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map_err(|e| EmailError(e.to_string()))?;
            }
            Transport::Files(files, dir) => {
                let id = files
                    .send(message)
                    .await
                    .map_err(|e| EmailError(e.to_string()))?;
                log::info!(
                    "email to {} written to {}/{id}.eml: {}",
                    email.to,
                    dir.display(),
                    email.dev_hint
                );
            }
        }
        Ok(())
    }
}

pub fn verification_email(to: &str, username: &str, link: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Confirm your Rookery email address".into(),
        body: format!(
            "Hello {username},\n\nConfirm your email address to finish creating your Rookery \
             account by opening this link:\n\n{link}\n\nThe link works once and expires in 24 \
             hours. If you did not create an account, ignore this message.\n"
        ),
        token: link.rsplit("token=").next().unwrap_or_default().to_owned(),
        dev_hint: format!("verification link {link}"),
    }
}

pub fn email_change_email(to: &str, username: &str, link: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Confirm your new Rookery email address".into(),
        body: format!(
            "Hello {username},\n\nYou asked to use this address for your Rookery account. \
             Confirm it by opening this link:\n\n{link}\n\nUntil then your account keeps its \
             old address. The link works once and expires in 24 hours. If you did not ask for \
             this, ignore this message.\n"
        ),
        token: link.rsplit("token=").next().unwrap_or_default().to_owned(),
        dev_hint: format!("email change link {link}"),
    }
}

pub fn email_change_notice(to: &str, username: &str, new_address: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Your Rookery email address is being changed".into(),
        body: format!(
            "Hello {username},\n\nSomeone signed in to your Rookery account asked to change \
             its email address to {new_address}. The change takes effect only once a link sent \
             to that address is opened; until then this address stays in use.\n\nIf this was \
             not you, change your password now and sign out your other sessions.\n"
        ),
        token: String::new(),
        dev_hint: format!("notice of a change of address to {new_address}"),
    }
}

pub fn password_reset_email(to: &str, username: &str, token: &str, ttl_minutes: i64) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Reset your Rookery password".into(),
        body: format!(
            "Hello {username},\n\nSomeone asked to reset the password of your Rookery account. \
             To choose a new one, send this token with your new password to \
             POST /api/auth/password/reset:\n\n{token}\n\nThe token works once and expires in \
             {ttl_minutes} minutes. If you did not ask for this, ignore this message: your \
             password stays as it is.\n"
        ),
        token: token.to_owned(),
        dev_hint: format!("password reset token {token}"),
    }
}
