//! The `comments` collection. A new comment carries its effects (the post's
//! `comment_count`, the author's notification, the commenter's activity entry) until a
//! worker writes them (`store::deferred`, `jobs::effects`); `comment_count` counts the
//! comments without them.

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::store::deferred::Effects;
use crate::store::delete_in;
use crate::store::events::Events;
use crate::store::{count_of, oldest_first};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommentDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub post_id: ObjectId,
    pub author_id: ObjectId,
    pub content: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    /// Present until the comment's effects are written (then it counts in
    /// `comment_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effects: Option<Effects>,
}

/// Writes a comment under `id` with the effects `events` (named by that id).
pub async fn insert(
    db: &Db,
    id: ObjectId,
    post_id: ObjectId,
    author_id: ObjectId,
    content: String,
    events: Events,
) -> mongodb::error::Result<CommentDoc> {
    let now = DateTime::now();
    let comment = CommentDoc {
        id,
        post_id,
        author_id,
        content,
        created_at: now,
        updated_at: now,
        effects: Some(Effects::new(events)),
    };
    collection(db).insert_one(&comment).await?;
    Ok(comment)
}

pub async fn find(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<CommentDoc>> {
    collection(db).find_one(doc! { "_id": id }).await
}

/// The comments of `ids` that exist (`_id`).
pub async fn find_many(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<Vec<CommentDoc>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    collection(db)
        .find(doc! { "_id": { "$in": ids } })
        .await?
        .try_collect()
        .await
}

pub async fn update_content(
    db: &Db,
    id: ObjectId,
    content: &str,
) -> mongodb::error::Result<Option<CommentDoc>> {
    collection(db)
        .find_one_and_update(
            doc! { "_id": id },
            doc! { "$set": { "content": content, "updated_at": DateTime::now() } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// The comment this call removed, if it was there (the post named too: the shard key).
pub async fn delete(
    db: &Db,
    post_id: ObjectId,
    id: ObjectId,
) -> mongodb::error::Result<Option<CommentDoc>> {
    collection(db)
        .find_one_and_delete(doc! { "post_id": post_id, "_id": id })
        .await
}

/// A post's comments, oldest first.
pub async fn page_for_post(
    db: &Db,
    post_id: ObjectId,
    hidden_authors: &[ObjectId],
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<CommentDoc>> {
    let filter = doc! { "post_id": post_id, "author_id": { "$nin": hidden_authors } };
    oldest_first(collection(db), filter, cursor, limit).await
}

pub async fn delete_for_posts(db: &Db, post_ids: &[ObjectId]) -> mongodb::error::Result<()> {
    delete_in(collection(db), "post_id", post_ids).await
}

/// How many comments the author wrote on each post.
pub async fn counts_by_post_of_author(
    db: &Db,
    author_id: ObjectId,
) -> mongodb::error::Result<Vec<(ObjectId, i64)>> {
    let pipeline = vec![
        doc! { "$match": { "author_id": author_id, "effects": { "$exists": false } } },
        doc! { "$group": { "_id": "$post_id", "count": { "$sum": 1 } } },
    ];
    let rows: Vec<bson::Document> = collection(db)
        .aggregate(pipeline)
        .await?
        .try_collect()
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| Some((row.get_object_id("_id").ok()?, count_of(row)?)))
        .collect())
}

pub async fn delete_by_author(db: &Db, author_id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "author_id": author_id })
        .await?;
    Ok(())
}

/// The `comments` collection.
pub fn collection(db: &Db) -> Collection<CommentDoc> {
    db.collection("comments")
}
