//! The `likes` collection: one document per (post, user). The unique pair index decides
//! idempotency, and counters move only when an insert or delete actually happened.

use std::collections::HashSet;

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::error::duplicate_key_index;
use crate::store::delete_in;
use crate::store::newest_first;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LikeDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub post_id: ObjectId,
    pub user_id: ObjectId,
    pub created_at: DateTime,
}

/// `true` when this call created the like, `false` when it already existed.
pub async fn insert(db: &Db, post_id: ObjectId, user_id: ObjectId) -> mongodb::error::Result<bool> {
    let like = LikeDoc {
        id: ObjectId::new(),
        post_id,
        user_id,
        created_at: DateTime::now(),
    };
    match collection(db).insert_one(like).await {
        Ok(_) => Ok(true),
        Err(err) if duplicate_key_index(&err).is_some() => Ok(false),
        Err(err) => Err(err),
    }
}

/// `true` when this call removed the like.
pub async fn delete(db: &Db, post_id: ObjectId, user_id: ObjectId) -> mongodb::error::Result<bool> {
    let result = collection(db)
        .delete_one(doc! { "post_id": post_id, "user_id": user_id })
        .await?;
    Ok(result.deleted_count == 1)
}

pub async fn exists(db: &Db, post_id: ObjectId, user_id: ObjectId) -> mongodb::error::Result<bool> {
    Ok(collection(db)
        .find_one(doc! { "post_id": post_id, "user_id": user_id })
        .await?
        .is_some())
}

/// Which of `post_ids` the user liked: one `$in` for a whole page.
pub async fn liked_among(
    db: &Db,
    user_id: ObjectId,
    post_ids: &[ObjectId],
) -> mongodb::error::Result<HashSet<ObjectId>> {
    if post_ids.is_empty() {
        return Ok(HashSet::new());
    }
    collection(db)
        .find(doc! { "user_id": user_id, "post_id": { "$in": post_ids } })
        .await?
        .map_ok(|like| like.post_id)
        .try_collect()
        .await
}

/// Likes of a post, newest first.
pub async fn page_for_post(
    db: &Db,
    post_id: ObjectId,
    hidden_users: &[ObjectId],
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<LikeDoc>> {
    let filter = doc! { "post_id": post_id, "user_id": { "$nin": hidden_users } };
    newest_first(collection(db), filter, cursor, limit).await
}

/// Likes by a user, most recent first.
pub async fn page_by_user(
    db: &Db,
    user_id: ObjectId,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<LikeDoc>> {
    newest_first(collection(db), doc! { "user_id": user_id }, cursor, limit).await
}

/// The posts `user_id` liked, most recently liked first, at most `cap` of them (one
/// read of the `user_id` index, only the post ids).
pub async fn liked_newest_first(
    db: &Db,
    user_id: ObjectId,
    cap: i64,
) -> mongodb::error::Result<Vec<ObjectId>> {
    collection(db)
        .find(doc! { "user_id": user_id })
        .sort(doc! { "created_at": -1, "_id": -1 })
        .limit(cap)
        .await?
        .map_ok(|like| like.post_id)
        .try_collect()
        .await
}

pub async fn delete_for_posts(db: &Db, post_ids: &[ObjectId]) -> mongodb::error::Result<()> {
    delete_in(collection(db), "post_id", post_ids).await
}

/// Every post the user liked (each at most once, by the unique index).
pub async fn post_ids_liked_by(
    db: &Db,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<ObjectId>> {
    collection(db)
        .find(doc! { "user_id": user_id })
        .await?
        .map_ok(|like| like.post_id)
        .try_collect()
        .await
}

pub async fn delete_by_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "user_id": user_id })
        .await?;
    Ok(())
}

/// The `likes` collection.
pub fn collection(db: &Db) -> Collection<LikeDoc> {
    db.collection("likes")
}
