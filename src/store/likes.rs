//! The `likes` collection: one document per (post, user). The unique pair index decides
//! idempotency. A new like carries its effects (the post's `like_count`, the author's
//! notification, the liker's activity entry) until a worker writes them
//! (`store::deferred`, `jobs::effects`); `like_count` counts the likes without them.

use std::collections::HashSet;

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::error::duplicate_key_index;
use crate::store::deferred::{settled, Effects};
use crate::store::delete_in;
use crate::store::events::Events;
use crate::store::newest_first;
use crate::store::posts::PostDoc;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LikeDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub post_id: ObjectId,
    pub user_id: ObjectId,
    pub created_at: DateTime,
    /// Present until the like's effects are written (then it counts in `like_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effects: Option<Effects>,
}

/// A like with its effects, under the id `id` (the liker's activity entry names nothing
/// else, so the id is free to choose).
pub fn new(id: ObjectId, post_id: ObjectId, user_id: ObjectId, events: Events) -> LikeDoc {
    LikeDoc {
        id,
        post_id,
        user_id,
        created_at: DateTime::now(),
        effects: Some(Effects::new(events)),
    }
}

/// `true` when this call created the like, `false` when it already existed.
pub async fn insert(db: &Db, like: &LikeDoc) -> mongodb::error::Result<bool> {
    match collection(db).insert_one(like).await {
        Ok(_) => Ok(true),
        Err(err) if duplicate_key_index(&err).is_some() => Ok(false),
        Err(err) => Err(err),
    }
}

/// The like this call removed, if there was one.
pub async fn delete(
    db: &Db,
    post_id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<Option<LikeDoc>> {
    collection(db)
        .find_one_and_delete(doc! { "post_id": post_id, "user_id": user_id })
        .await
}

/// The user's like of a post, if there is one.
pub async fn find(
    db: &Db,
    post_id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<Option<LikeDoc>> {
    collection(db)
        .find_one(doc! { "post_id": post_id, "user_id": user_id })
        .await
}

/// The posts a reader likes, among some, and which of those likes are surely not counted
/// yet (their effects not claimed by a worker).
#[derive(Debug, Default)]
pub struct Liked {
    posts: HashSet<ObjectId>,
    uncounted: HashSet<ObjectId>,
}

impl Liked {
    pub fn contains(&self, post_id: &ObjectId) -> bool {
        self.posts.contains(post_id)
    }

    pub fn extend(&mut self, other: Liked) {
        self.posts.extend(other.posts);
        self.uncounted.extend(other.uncounted);
    }

    /// The post's `like_count` as its reader should see it: with their own like, if its
    /// effects are not written yet (read-your-writes).
    pub fn like_count(&self, post: &PostDoc) -> i64 {
        post.like_count + i64::from(self.uncounted.contains(&post.id))
    }
}

/// Which of `post_ids` the user liked: one `$in` for a whole page.
pub async fn liked_among(
    db: &Db,
    user_id: ObjectId,
    post_ids: &[ObjectId],
) -> mongodb::error::Result<Liked> {
    let mut liked = Liked::default();
    if post_ids.is_empty() {
        return Ok(liked);
    }
    let mut found = collection(db)
        .clone_with_type::<Document>()
        .find(doc! { "user_id": user_id, "post_id": { "$in": post_ids } })
        .projection(doc! { "post_id": 1, "effects.claim": 1 })
        .await?;
    while let Some(like) = found.try_next().await? {
        let Ok(post_id) = like.get_object_id("post_id") else {
            continue;
        };
        liked.posts.insert(post_id);
        // Claimed, its count may be written already: shown as the post has it.
        if like
            .get_document("effects")
            .is_ok_and(|effects| !effects.contains_key("claim"))
        {
            liked.uncounted.insert(post_id);
        }
    }
    Ok(liked)
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

/// Every post the user liked whose `like_count` counts it (each at most once, by the
/// unique index).
pub async fn post_ids_liked_by(
    db: &Db,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let mut filter = settled();
    filter.insert("user_id", user_id);
    collection(db)
        .find(filter)
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
