//! The `activities` collection: what each user did, kept for `activity.retention_days`
//! (a TTL index on `created_at`).

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::store::{insert_all_once, newest_by_id};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivityDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub action: String,
    pub target_type: String,
    #[serde(default)]
    pub target_id: Option<ObjectId>,
    pub created_at: DateTime,
    #[serde(default)]
    pub meta: Document,
}

/// Writes a batch of entries in one command; a retried batch writes each once.
pub async fn insert_many(db: &Db, entries: &[ActivityDoc]) -> mongodb::error::Result<()> {
    insert_all_once(collection(db), entries).await
}

/// A user's activity, newest first, optionally one action only.
pub async fn page(
    db: &Db,
    user_id: ObjectId,
    action: Option<&str>,
    before: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<ActivityDoc>> {
    let mut filter = doc! { "user_id": user_id };
    if let Some(action) = action {
        filter.insert("action", action);
    }
    newest_by_id(collection(db), filter, before, limit).await
}

pub async fn delete_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "user_id": user_id })
        .await?;
    Ok(())
}

/// The `activities` collection.
pub fn collection(db: &Db) -> Collection<ActivityDoc> {
    db.collection("activities")
}
