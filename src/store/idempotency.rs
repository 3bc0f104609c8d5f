//! The `idempotency_keys` collection: what a client's `Idempotency-Key` stands for. A key
//! is claimed (pending) when its first request starts and holds that request's answer once
//! it succeeded; a TTL index on `expires_at` forgets it (24 h after, or soon after a
//! request that never finished).

use bson::spec::BinarySubtype;
use bson::{doc, Binary, DateTime};
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::error::duplicate_key_index;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyDoc {
    /// SHA-256 of the user and the key.
    #[serde(rename = "_id")]
    pub id: String,
    /// Filled in once the first request's answer is stored.
    #[serde(default)]
    pub answer: Option<StoredAnswer>,
    pub expires_at: DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAnswer {
    /// SHA-256 of the first request's method, path and body.
    pub fingerprint: String,
    pub status: u16,
    pub content_type: String,
    pub body: Binary,
}

impl StoredAnswer {
    pub fn new(fingerprint: String, status: u16, content_type: String, body: Vec<u8>) -> Self {
        Self {
            fingerprint,
            status,
            content_type,
            body: Binary {
                subtype: BinarySubtype::Generic,
                bytes: body,
            },
        }
    }
}

/// Claims `id` until `lease_until`; `false` when someone holds it already.
pub async fn claim(db: &Db, id: &str, lease_until: DateTime) -> mongodb::error::Result<bool> {
    let claim = IdempotencyDoc {
        id: id.to_owned(),
        answer: None,
        expires_at: lease_until,
    };
    match collection(db).insert_one(&claim).await {
        Ok(_) => Ok(true),
        Err(err) if duplicate_key_index(&err).is_some() => Ok(false),
        Err(err) => Err(err),
    }
}

pub async fn find(db: &Db, id: &str) -> mongodb::error::Result<Option<IdempotencyDoc>> {
    collection(db).find_one(doc! { "_id": id }).await
}

/// Drops a claim whose request never finished (its lease has passed).
pub async fn drop_stale_claim(db: &Db, id: &str) -> mongodb::error::Result<()> {
    collection(db)
        .delete_one(doc! { "_id": id, "answer": null, "expires_at": { "$lt": DateTime::now() } })
        .await?;
    Ok(())
}

/// Keeps the first request's answer until `expires_at`.
pub async fn store_answer(
    db: &Db,
    id: &str,
    answer: &StoredAnswer,
    expires_at: DateTime,
) -> mongodb::error::Result<()> {
    let answer = bson::to_bson(answer)?;
    collection(db)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "answer": answer, "expires_at": expires_at } },
        )
        .await?;
    Ok(())
}

/// Gives the key up, so that a retry after a failure runs again.
pub async fn release(db: &Db, id: &str) -> mongodb::error::Result<()> {
    collection(db)
        .delete_one(doc! { "_id": id, "answer": null })
        .await?;
    Ok(())
}

/// The `idempotency_keys` collection.
pub fn collection(db: &Db) -> Collection<IdempotencyDoc> {
    db.collection("idempotency_keys")
}
