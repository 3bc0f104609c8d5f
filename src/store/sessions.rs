//! The `sessions` collection: one document per login. Deleting it revokes the session: the
//! auth extractor looks it up by `_id` on every request, so this works on every instance.

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::db::Db;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub created_at: DateTime,
    pub last_used_at: DateTime,
    pub expires_at: DateTime,
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub ip: String,
}

pub async fn insert(db: &Db, session: &SessionDoc) -> mongodb::error::Result<()> {
    db.sessions().insert_one(session).await?;
    Ok(())
}

/// The live session `id` of `user_id`: one lookup on the `_id` index.
pub async fn find_live(
    db: &Db,
    id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<Option<SessionDoc>> {
    db.sessions()
        .find_one(doc! { "_id": id, "user_id": user_id, "expires_at": { "$gt": DateTime::now() } })
        .await
}

/// Records a refresh: the session stays alive for another `expires_at` window.
pub async fn touch(db: &Db, id: ObjectId, expires_at: DateTime) -> mongodb::error::Result<bool> {
    let result = db
        .sessions()
        .update_one(
            doc! { "_id": id, "expires_at": { "$gt": DateTime::now() } },
            doc! { "$set": { "last_used_at": DateTime::now(), "expires_at": expires_at } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

pub async fn list_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<Vec<SessionDoc>> {
    db.sessions()
        .find(doc! { "user_id": user_id, "expires_at": { "$gt": DateTime::now() } })
        .sort(doc! { "last_used_at": -1 })
        .await?
        .try_collect()
        .await
}

/// Deletes one session of the user; `false` when there was none.
pub async fn delete_one(db: &Db, id: ObjectId, user_id: ObjectId) -> mongodb::error::Result<bool> {
    let result = db
        .sessions()
        .delete_one(doc! { "_id": id, "user_id": user_id })
        .await?;
    Ok(result.deleted_count == 1)
}

/// Deletes every session of the user.
pub async fn delete_all_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<()> {
    db.sessions()
        .delete_many(doc! { "user_id": user_id })
        .await?;
    Ok(())
}
