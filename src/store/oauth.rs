//! OAuth apps and authorization grants (`api::mastodon::oauth`).
//!
//! - `oauth_apps`: one document per registered app: its public `client_id`, the SHA-256 of
//!   its secret, its redirect URIs and scopes, and the hashes of its own (client
//!   credentials) tokens, the newest `APP_TOKENS_KEPT`.
//! - `oauth_grants`: one document per sign-in on the authorization page, first waiting for
//!   the user's approval (found by the hash of the page's ticket), then, approved, by the
//!   hash of the code it handed out, until the code is exchanged once or expires (TTL).
//!
//! A user's tokens live in their session (`store::sessions`, `oauth`), so that the session
//! list shows them and every way of ending sessions ends them.

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use mongodb::options::ReturnDocument;
use mongodb::Collection;
use serde::{Deserialize, Serialize};

use crate::db::Db;

/// How many client-credentials tokens an app keeps: a new one pushes out the oldest.
pub const APP_TOKENS_KEPT: i32 = 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub client_id: String,
    /// Hex SHA-256 of the client secret.
    pub secret_hash: String,
    pub name: String,
    #[serde(default)]
    pub website: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub created_at: DateTime,
    /// Hex SHA-256 of each live client-credentials token, newest last.
    #[serde(default)]
    pub app_tokens: Vec<String>,
}

pub fn apps(db: &Db) -> Collection<AppDoc> {
    db.collection("oauth_apps")
}

pub async fn insert_app(db: &Db, app: &AppDoc) -> mongodb::error::Result<()> {
    apps(db).insert_one(app).await?;
    Ok(())
}

/// Index `client_id_unique`.
pub async fn app_by_client_id(db: &Db, client_id: &str) -> mongodb::error::Result<Option<AppDoc>> {
    apps(db).find_one(doc! { "client_id": client_id }).await
}

/// The app whose client-credentials token hashes to `hash` (`_id`).
pub async fn app_with_token(
    db: &Db,
    id: ObjectId,
    hash: &str,
) -> mongodb::error::Result<Option<AppDoc>> {
    apps(db)
        .find_one(doc! { "_id": id, "app_tokens": hash })
        .await
}

/// Keeps a new client-credentials token (and the newest `APP_TOKENS_KEPT` before it).
pub async fn add_app_token(db: &Db, id: ObjectId, hash: &str) -> mongodb::error::Result<()> {
    apps(db)
        .update_one(
            doc! { "_id": id },
            doc! { "$push": { "app_tokens": { "$each": [hash], "$slice": -APP_TOKENS_KEPT } } },
        )
        .await?;
    Ok(())
}

/// Ends one client-credentials token of the app; whether it had it.
pub async fn remove_app_token(db: &Db, id: ObjectId, hash: &str) -> mongodb::error::Result<bool> {
    let result = apps(db)
        .update_one(
            doc! { "_id": id, "app_tokens": hash },
            doc! { "$pull": { "app_tokens": hash } },
        )
        .await?;
    Ok(result.modified_count == 1)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub app_id: ObjectId,
    pub user_id: ObjectId,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    /// PKCE `S256` challenge, when the app sent one.
    #[serde(default)]
    pub code_challenge: Option<String>,
    /// Hex SHA-256 of the approval page's ticket, until approved.
    #[serde(default)]
    pub ticket_hash: Option<String>,
    /// Hex SHA-256 of the code, once approved.
    #[serde(default)]
    pub code_hash: Option<String>,
    pub created_at: DateTime,
    /// TTL: a grant left unapproved, or a code not exchanged, goes.
    pub expires_at: DateTime,
}

pub fn grants(db: &Db) -> Collection<GrantDoc> {
    db.collection("oauth_grants")
}

pub async fn insert_grant(db: &Db, grant: &GrantDoc) -> mongodb::error::Result<()> {
    grants(db).insert_one(grant).await?;
    Ok(())
}

/// Approves the grant whose ticket hashes to `ticket_hash`: it now answers to the code
/// hashed as `code_hash`, until `expires_at`. Once only. Index `ticket`.
pub async fn approve(
    db: &Db,
    ticket_hash: &str,
    code_hash: &str,
    expires_at: DateTime,
) -> mongodb::error::Result<Option<GrantDoc>> {
    grants(db)
        .find_one_and_update(
            doc! { "ticket_hash": ticket_hash, "expires_at": { "$gt": DateTime::now() } },
            doc! {
                "$set": { "code_hash": code_hash, "expires_at": expires_at },
                "$unset": { "ticket_hash": "" },
            },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Takes back the grant whose ticket hashes to `ticket_hash` (the user denied it).
pub async fn deny(db: &Db, ticket_hash: &str) -> mongodb::error::Result<Option<GrantDoc>> {
    grants(db)
        .find_one_and_delete(doc! { "ticket_hash": ticket_hash })
        .await
}

/// The approved grant whose code hashes to `code_hash`, taken: a code works once.
/// Index `code`.
pub async fn take_code(db: &Db, code_hash: &str) -> mongodb::error::Result<Option<GrantDoc>> {
    grants(db)
        .find_one_and_delete(
            doc! { "code_hash": code_hash, "expires_at": { "$gt": DateTime::now() } },
        )
        .await
}
