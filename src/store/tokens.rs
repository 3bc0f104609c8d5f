//! The `tokens` collection: one-time email-verification and password-reset tokens, and
//! refresh tokens. Only the SHA-256 of a secret is stored; `expires_at` carries a TTL index.

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::store::delete_in;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    VerifyEmail,
    PasswordReset,
    Refresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub kind: TokenKind,
    /// Hex SHA-256 of the secret handed to the client.
    pub hash: String,
    pub user_id: ObjectId,
    #[serde(default)]
    pub session_id: Option<ObjectId>,
    /// The address an emailed token was sent to: it proves that address and no other
    /// (a verification link confirms only it; a reset token works only while the account
    /// still uses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub created_at: DateTime,
    pub expires_at: DateTime,
    /// Refresh tokens are kept once used, so that a second use is recognised as theft.
    #[serde(default)]
    pub used: bool,
}

pub async fn insert(
    db: &Db,
    kind: TokenKind,
    hash: String,
    user_id: ObjectId,
    session_id: Option<ObjectId>,
    email: Option<&str>,
    expires_at: DateTime,
) -> mongodb::error::Result<()> {
    let token = TokenDoc {
        id: ObjectId::new(),
        kind,
        hash,
        user_id,
        session_id,
        email: email.map(str::to_owned),
        created_at: DateTime::now(),
        expires_at,
        used: false,
    };
    collection(db).insert_one(token).await?;
    Ok(())
}

fn live(kind: TokenKind, hash: &str) -> bson::Document {
    doc! {
        "hash": hash,
        "kind": bson::to_bson(&kind).unwrap_or_default(),
        "used": false,
        "expires_at": { "$gt": DateTime::now() },
    }
}

/// An unused, unexpired token, without consuming it.
pub async fn find_live(
    db: &Db,
    kind: TokenKind,
    hash: &str,
) -> mongodb::error::Result<Option<TokenDoc>> {
    collection(db).find_one(live(kind, hash)).await
}

/// Consumes a one-time token atomically: of two concurrent uses, exactly one gets it.
pub async fn take_one_time(
    db: &Db,
    kind: TokenKind,
    hash: &str,
) -> mongodb::error::Result<Option<TokenDoc>> {
    collection(db).find_one_and_delete(live(kind, hash)).await
}

/// Marks a refresh token used, atomically; `None` when it was not live.
pub async fn use_refresh(db: &Db, hash: &str) -> mongodb::error::Result<Option<TokenDoc>> {
    collection(db)
        .find_one_and_update(
            live(TokenKind::Refresh, hash),
            doc! { "$set": { "used": true } },
        )
        .return_document(ReturnDocument::Before)
        .await
}

/// Any token with this hash, used or not (to tell a replayed refresh token from garbage).
pub async fn find_any(db: &Db, hash: &str) -> mongodb::error::Result<Option<TokenDoc>> {
    collection(db).find_one(doc! { "hash": hash }).await
}

/// Drops the user's outstanding tokens of one kind (a new verification supersedes the old).
pub async fn delete_for_user(
    db: &Db,
    user_id: ObjectId,
    kind: TokenKind,
) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "user_id": user_id, "kind": bson::to_bson(&kind).unwrap_or_default() })
        .await?;
    Ok(())
}

pub async fn delete_for_sessions(db: &Db, session_ids: &[ObjectId]) -> mongodb::error::Result<()> {
    delete_in(collection(db), "session_id", session_ids).await
}

/// Every token of the user, of every kind (account deletion).
pub async fn delete_all_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "user_id": user_id })
        .await?;
    Ok(())
}

/// The `tokens` collection.
pub fn collection(db: &Db) -> Collection<TokenDoc> {
    db.collection("tokens")
}
