//! Sessions and their tokens (API.md §2): a login opens a session; its refresh tokens
//! rotate on every use; a refresh token used twice revokes the whole session (theft
//! detection); revoking deletes the session, which the auth extractor checks on every
//! request, so a logout takes effect at once on every instance.

use base64::Engine;
use bson::oid::ObjectId;
use bson::DateTime;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::jwt::JwtKeys;
use crate::db::Db;
use crate::error::ApiError;
use crate::store::sessions::{self, SessionDoc};
use crate::store::tokens::{self, TokenKind};

/// A fresh 256-bit secret, URL-safe.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored in place of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn expires_in(secs: i64) -> DateTime {
    secs_after(DateTime::now(), secs)
}

/// `secs` seconds after `start`.
fn secs_after(start: DateTime, secs: i64) -> DateTime {
    DateTime::from_millis(
        start
            .timestamp_millis()
            .saturating_add(secs.saturating_mul(1000)),
    )
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// A JWT for `Authorization: Bearer …`.
    pub access: String,
    /// Exchanged once for a new pair at `POST /api/auth/token/refresh`.
    pub refresh: String,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds the access token lives.
    #[schema(example = 900)]
    pub expires_in: i64,
}

/// Where a login came from, shown in the session list.
pub struct ClientInfo {
    pub user_agent: String,
    pub ip: String,
}

/// What issuing a token pair needs: the database, the signing keys and how long a
/// session lives without use (`auth.refresh_token_ttl_secs`).
#[derive(Clone, Copy)]
pub struct Issuer<'a> {
    pub db: &'a Db,
    pub jwt: &'a JwtKeys,
    pub refresh_ttl_secs: i64,
}

/// Writes a new session of `user_id`, expiring after `auth.refresh_token_ttl_secs`.
async fn insert_session(
    issuer: Issuer<'_>,
    user_id: ObjectId,
    client: ClientInfo,
) -> Result<SessionDoc, ApiError> {
    let now = DateTime::now();
    let session = SessionDoc {
        id: ObjectId::new(),
        user_id,
        created_at: now,
        last_used_at: now,
        expires_at: secs_after(now, issuer.refresh_ttl_secs),
        user_agent: client.user_agent,
        ip: client.ip,
        oauth: None,
    };
    sessions::insert(issuer.db, &session).await?;
    Ok(session)
}

pub async fn start_session(
    issuer: Issuer<'_>,
    user_id: ObjectId,
    client: ClientInfo,
) -> Result<TokenPair, ApiError> {
    let session = insert_session(issuer, user_id, client).await?;
    issue_pair(issuer, user_id, session.id, session.expires_at).await
}

/// A session for a client with no refresh flow (RealWorld): one access token that lives
/// as long as the session (`auth.refresh_token_ttl_secs`), checked against the session on
/// every request like any other, so logging out or revoking the session ends it at once.
pub async fn start_token_session(
    issuer: Issuer<'_>,
    user_id: ObjectId,
    client: ClientInfo,
) -> Result<String, ApiError> {
    let session = insert_session(issuer, user_id, client).await?;
    issuer
        .jwt
        .issue_for(
            user_id,
            session.id,
            session.created_at.timestamp_millis() / 1000,
            session.expires_at.timestamp_millis() / 1000,
        )
        .map_err(ApiError::internal)
}

async fn issue_pair(
    issuer: Issuer<'_>,
    user_id: ObjectId,
    session_id: ObjectId,
    expires_at: DateTime,
) -> Result<TokenPair, ApiError> {
    let refresh = new_secret();
    tokens::insert(
        issuer.db,
        TokenKind::Refresh,
        hash_secret(&refresh),
        user_id,
        Some(session_id),
        None,
        expires_at,
    )
    .await?;
    let access = issuer
        .jwt
        .issue(user_id, session_id)
        .map_err(ApiError::internal)?;
    Ok(TokenPair {
        access,
        refresh,
        token_type: "Bearer",
        expires_in: issuer.jwt.ttl_secs,
    })
}

/// Exchanges a refresh token for a new pair. The old token is marked used atomically, so
/// of two concurrent uses exactly one succeeds and the other revokes the session.
pub async fn rotate(issuer: Issuer<'_>, refresh: &str) -> Result<TokenPair, ApiError> {
    let hash = hash_secret(refresh);
    if let Some(token) = tokens::use_refresh(issuer.db, &hash).await? {
        let session_id = token.session_id.ok_or(ApiError::TokenInvalid)?;
        let expires_at = expires_in(issuer.refresh_ttl_secs);
        if !sessions::touch(issuer.db, session_id, expires_at).await? {
            return Err(ApiError::TokenInvalid);
        }
        return issue_pair(issuer, token.user_id, session_id, expires_at).await;
    }
    match tokens::find_any(issuer.db, &hash).await? {
        Some(token) if token.kind == TokenKind::Refresh && token.used => {
            if let Some(session_id) = token.session_id {
                log::warn!("refresh token reused: revoking session {session_id}");
                revoke_session(issuer.db, session_id, token.user_id).await?;
            }
            Err(ApiError::TokenInvalid)
        }
        Some(token) if token.kind == TokenKind::Refresh => Err(ApiError::TokenExpired),
        _ => Err(ApiError::TokenInvalid),
    }
}

pub async fn revoke_session(
    db: &Db,
    session_id: ObjectId,
    user_id: ObjectId,
) -> Result<bool, ApiError> {
    let deleted = sessions::delete_one(db, session_id, user_id).await?;
    tokens::delete_for_sessions(db, &[session_id]).await?;
    Ok(deleted)
}

pub async fn revoke_all_sessions(db: &Db, user_id: ObjectId) -> Result<(), ApiError> {
    sessions::delete_all_for_user(db, user_id).await?;
    tokens::delete_for_user(db, user_id, TokenKind::Refresh).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_url_safe() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
