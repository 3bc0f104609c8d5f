//! The `notifications` collection: one document per recipient and event. Lists are keyset
//! on `_id` (newest first); a reconnecting socket reads those after the last id it saw.

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::store::{insert_all_once, newest_by_id};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationType {
    Follow,
    Like,
    Comment,
    Mention,
    GroupAdd,
    PostPublished,
    /// One's upload finished processing (`media_id`); the actor is oneself.
    MediaReady,
    /// One's upload could not be processed (`media_id`); the actor is oneself.
    MediaFailed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The recipient.
    pub user_id: ObjectId,
    #[serde(rename = "type")]
    pub kind: NotificationType,
    pub actor_id: ObjectId,
    #[serde(default)]
    pub post_id: Option<ObjectId>,
    #[serde(default)]
    pub comment_id: Option<ObjectId>,
    #[serde(default)]
    pub group_id: Option<ObjectId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<ObjectId>,
    pub created_at: DateTime,
    #[serde(default)]
    pub read: bool,
}

/// What a notification points at, besides its actor.
#[derive(Debug, Default, Clone, Copy)]
pub struct Subject {
    pub post_id: Option<ObjectId>,
    pub comment_id: Option<ObjectId>,
    pub group_id: Option<ObjectId>,
    pub media_id: Option<ObjectId>,
}

impl NotificationDoc {
    pub fn new(
        user_id: ObjectId,
        kind: NotificationType,
        actor_id: ObjectId,
        subject: Subject,
    ) -> Self {
        Self {
            id: ObjectId::new(),
            user_id,
            kind,
            actor_id,
            post_id: subject.post_id,
            comment_id: subject.comment_id,
            group_id: subject.group_id,
            media_id: subject.media_id,
            created_at: DateTime::now(),
            read: false,
        }
    }
}

impl NotificationDoc {
    /// A notification whose `_id` follows from what it is about (`about`, its recipient
    /// and type) rather than from the moment it is made, so a job that runs twice makes
    /// the same one twice and writes it once. The id's time part is `at`, which keeps
    /// lists in order.
    pub fn derived(
        about: ObjectId,
        at: DateTime,
        user_id: ObjectId,
        kind: NotificationType,
        actor_id: ObjectId,
        subject: Subject,
    ) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(about.bytes());
        hash.update(user_id.bytes());
        hash.update(format!("{kind:?}").as_bytes());
        let hash = hash.finalize();
        let mut rest = [0u8; 8];
        rest.copy_from_slice(&hash[..8]);
        Self {
            id: super::object_id_at(at, rest),
            created_at: at,
            ..Self::new(user_id, kind, actor_id, subject)
        }
    }
}

/// Writes a batch of notifications in one command; a retried batch writes each once.
pub async fn insert_many(db: &Db, notifications: &[NotificationDoc]) -> mongodb::error::Result<()> {
    insert_all_once(collection(db), notifications).await
}

/// A recipient's notifications, newest first, optionally unread only.
pub async fn page(
    db: &Db,
    user_id: ObjectId,
    unread_only: bool,
    before: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<NotificationDoc>> {
    let mut filter = doc! { "user_id": user_id };
    if unread_only {
        filter.insert("read", false);
    }
    newest_by_id(collection(db), filter, before, limit).await
}

/// Those after `after`, oldest first: what a reconnecting client missed.
pub async fn after(
    db: &Db,
    user_id: ObjectId,
    after: ObjectId,
    limit: i64,
) -> mongodb::error::Result<Vec<NotificationDoc>> {
    collection(db)
        .find(doc! { "user_id": user_id, "_id": { "$gt": after } })
        .sort(doc! { "_id": 1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// A recipient's notifications of `kinds`, newest first, between `after` and `before`
/// (ids; the Mastodon API's `min_id`/`since_id` and `max_id`). Index `user_newest`.
pub async fn page_of_kinds(
    db: &Db,
    user_id: ObjectId,
    kinds: &[NotificationType],
    before: Option<ObjectId>,
    after: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<NotificationDoc>> {
    let kinds: Vec<bson::Bson> = kinds.iter().filter_map(|k| bson::to_bson(k).ok()).collect();
    let mut filter = doc! { "user_id": user_id, "type": { "$in": kinds } };
    if let Some(after) = after {
        filter.insert("_id", doc! { "$gt": after });
    }
    newest_by_id(collection(db), filter, before, limit).await
}

/// One of the recipient's notifications.
pub async fn find_for(
    db: &Db,
    user_id: ObjectId,
    id: ObjectId,
) -> mongodb::error::Result<Option<NotificationDoc>> {
    collection(db)
        .find_one(doc! { "_id": id, "user_id": user_id })
        .await
}

/// Deletes one (`Some`) or all of the recipient's notifications; how many went.
pub async fn dismiss(
    db: &Db,
    user_id: ObjectId,
    id: Option<ObjectId>,
) -> mongodb::error::Result<u64> {
    let mut filter = doc! { "user_id": user_id };
    if let Some(id) = id {
        filter.insert("_id", id);
    }
    Ok(collection(db).delete_many(filter).await?.deleted_count)
}

pub async fn unread_count(db: &Db, user_id: ObjectId) -> mongodb::error::Result<u64> {
    collection(db)
        .count_documents(doc! { "user_id": user_id, "read": false })
        .await
}

/// Marks some (or, with `None`, all) of the recipient's notifications read.
pub async fn mark_read(
    db: &Db,
    user_id: ObjectId,
    ids: Option<&[ObjectId]>,
) -> mongodb::error::Result<()> {
    let mut filter = doc! { "user_id": user_id, "read": false };
    if let Some(ids) = ids {
        filter.insert("_id", doc! { "$in": ids });
    }
    collection(db)
        .update_many(filter, doc! { "$set": { "read": true } })
        .await?;
    Ok(())
}

pub async fn delete_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "$or": [{ "user_id": user_id }, { "actor_id": user_id }] })
        .await?;
    Ok(())
}

/// The `notifications` collection.
pub fn collection(db: &Db) -> Collection<NotificationDoc> {
    db.collection("notifications")
}
