//! The `blocks` collection: one document per (blocker, blocked).

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::error::duplicate_key_index;
use crate::store::newest_first;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub blocker_id: ObjectId,
    pub blocked_id: ObjectId,
    pub created_at: DateTime,
}

/// `true` when this call created the block.
pub async fn insert(
    db: &Db,
    blocker_id: ObjectId,
    blocked_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let block = BlockDoc {
        id: ObjectId::new(),
        blocker_id,
        blocked_id,
        created_at: DateTime::now(),
    };
    match collection(db).insert_one(block).await {
        Ok(_) => Ok(true),
        Err(err) if duplicate_key_index(&err).is_some() => Ok(false),
        Err(err) => Err(err),
    }
}

pub async fn delete(
    db: &Db,
    blocker_id: ObjectId,
    blocked_id: ObjectId,
) -> mongodb::error::Result<()> {
    collection(db)
        .delete_one(doc! { "blocker_id": blocker_id, "blocked_id": blocked_id })
        .await?;
    Ok(())
}

/// Whether either of the two has blocked the other.
pub async fn between(db: &Db, a: ObjectId, b: ObjectId) -> mongodb::error::Result<bool> {
    Ok(collection(db)
        .find_one(doc! { "$or": [
            { "blocker_id": a, "blocked_id": b },
            { "blocker_id": b, "blocked_id": a },
        ] })
        .await?
        .is_some())
}

/// Whom `user` blocked, newest first.
pub async fn page_blocked_by(
    db: &Db,
    user: ObjectId,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<BlockDoc>> {
    newest_first(collection(db), doc! { "blocker_id": user }, cursor, limit).await
}

pub async fn delete_all_of(db: &Db, user: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "$or": [{ "blocker_id": user }, { "blocked_id": user }] })
        .await?;
    Ok(())
}

/// The `blocks` collection.
pub fn collection(db: &Db) -> Collection<BlockDoc> {
    db.collection("blocks")
}
