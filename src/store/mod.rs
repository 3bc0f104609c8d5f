//! One module per collection: its document struct and the queries on it. Every filter
//! here is served by an index created in `indexes::ensure_indexes`.

pub mod activities;
pub mod blocks;
pub mod comments;
pub mod consistency;
pub mod deferred;
pub mod events;
pub mod follows;
pub mod group_write;
pub mod groups;
pub mod idempotency;
pub mod indexes;
pub mod jobs;
pub mod likes;
pub mod markers;
pub mod media;
pub mod notifications;
pub mod oauth;
pub mod post_stats;
pub mod posts;
pub mod rate_limits;
pub mod reports;
pub mod sessions;
pub mod sharding;
pub mod timelines;
pub mod tokens;
pub mod users;
pub mod window;

use bson::oid::ObjectId;
use bson::{doc, Document};
use futures::TryStreamExt;
use mongodb::Collection;
use serde::de::DeserializeOwned;

use crate::domain::cursor::Cursor;

/// The server's code for a write that would duplicate a unique key.
pub const DUPLICATE_KEY: i32 = 11000;

/// Inserts `docs` in one unordered command, where a document already there (same `_id`
/// or unique key) counts as inserted: what makes a retried batch safe to send again.
pub async fn insert_all_once<T: serde::Serialize + Send + Sync>(
    collection: Collection<T>,
    docs: &[T],
) -> mongodb::error::Result<()> {
    if docs.is_empty() {
        return Ok(());
    }
    match collection.insert_many(docs).ordered(false).await {
        Ok(_) => Ok(()),
        Err(err) => match err.kind.as_ref() {
            mongodb::error::ErrorKind::InsertMany(failure)
                if failure.write_concern_error.is_none()
                    && failure
                        .write_errors
                        .iter()
                        .flatten()
                        .all(|e| e.code == DUPLICATE_KEY) =>
            {
                Ok(())
            }
            _ => Err(err),
        },
    }
}

/// The `_id`s of the documents of `collection` that `filter` matches, read as ids only.
pub async fn ids_matching<T: Send + Sync>(
    collection: &Collection<T>,
    filter: Document,
) -> mongodb::error::Result<Vec<ObjectId>> {
    Ok(collection
        .clone_with_type::<Document>()
        .find(filter)
        .projection(doc! { "_id": 1 })
        .await?
        .try_collect::<Vec<_>>()
        .await?
        .iter()
        .filter_map(|d| d.get_object_id("_id").ok())
        .collect())
}

/// Keyset filter for a list sorted by `(field, _id)` descending: the items after `cursor`.
pub fn after_desc(field: &str, cursor: Option<Cursor>) -> Document {
    keyset(field, cursor, "$lt")
}

/// Keyset filter for a list sorted by `(field, _id)` ascending.
pub fn after_asc(field: &str, cursor: Option<Cursor>) -> Document {
    keyset(field, cursor, "$gt")
}

fn keyset(field: &str, cursor: Option<Cursor>, op: &str) -> Document {
    let Some(cursor) = cursor else {
        return doc! {};
    };
    let key = bson::DateTime::from_millis(cursor.key.unwrap_or_default());
    doc! { "$or": [
        { field: { op: key } },
        { field: key, "_id": { op: cursor.id } },
    ] }
}

/// The cursor after an item sorted by a date field.
pub fn date_cursor(key: bson::DateTime, id: bson::oid::ObjectId) -> Cursor {
    Cursor {
        key: Some(key.timestamp_millis()),
        id,
        pace: None,
        seen: None,
    }
}

/// Deletes the documents of `collection` whose `field` is one of `ids`; with no ids, sends
/// nothing.
pub async fn delete_in<T: Send + Sync>(
    collection: Collection<T>,
    field: &str,
    ids: &[bson::oid::ObjectId],
) -> mongodb::error::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    collection
        .delete_many(doc! { field: { "$in": ids } })
        .await?;
    Ok(())
}

/// One page of `collection` matching `filter`, newest first by `(created_at, _id)`.
pub async fn newest_first<T>(
    collection: Collection<T>,
    mut filter: Document,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<T>>
where
    T: DeserializeOwned + Send + Sync,
{
    filter.extend(after_desc("created_at", cursor));
    collection
        .find(filter)
        .sort(doc! { "created_at": -1, "_id": -1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// One page of `collection` matching `filter`, newest first by `_id` (which orders by
/// creation), before the id `before`.
pub async fn newest_by_id<T>(
    collection: Collection<T>,
    mut filter: Document,
    before: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<T>>
where
    T: DeserializeOwned + Send + Sync,
{
    if let Some(before) = before {
        filter = doc! { "$and": [filter, { "_id": { "$lt": before } }] };
    }
    collection
        .find(filter)
        .sort(doc! { "_id": -1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// One page of `collection` matching `filter`, oldest first by `(created_at, _id)`.
pub async fn oldest_first<T>(
    collection: Collection<T>,
    mut filter: Document,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<T>>
where
    T: DeserializeOwned + Send + Sync,
{
    filter.extend(after_asc("created_at", cursor));
    collection
        .find(filter)
        .sort(doc! { "created_at": 1, "_id": 1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// Adds `delta` to a counter of each document in `ids`, in one command; how many of them
/// were there.
pub async fn add_to_counter_of_many<T: Send + Sync>(
    collection: Collection<T>,
    ids: &[ObjectId],
    counter: &str,
    delta: i64,
) -> mongodb::error::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(collection
        .update_many(
            doc! { "_id": { "$in": ids } },
            doc! { "$inc": { counter: delta } },
        )
        .await?
        .matched_count)
}

/// The `_id`s a cursor of projected documents brings.
pub async fn ids_in(cursor: mongodb::Cursor<Document>) -> mongodb::error::Result<Vec<ObjectId>> {
    cursor
        .try_filter_map(|d| async move { Ok(d.get_object_id("_id").ok()) })
        .try_collect()
        .await
}

/// The moment `millis` from now (before now when negative).
pub fn millis_from_now(millis: i64) -> bson::DateTime {
    bson::DateTime::from_millis(
        bson::DateTime::now()
            .timestamp_millis()
            .saturating_add(millis),
    )
}

/// An ObjectId whose time part is `at` (to the second) and whose other eight bytes are
/// `rest`: ids made before `at` sort below `object_id_at(at, [0; 8])`.
pub fn object_id_at(at: bson::DateTime, rest: [u8; 8]) -> ObjectId {
    let seconds = u32::try_from(at.timestamp_millis() / 1000).unwrap_or(0);
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..].copy_from_slice(&rest);
    ObjectId::from_bytes(bytes)
}

/// The `count` of an aggregation row: `$sum` gives an Int32 or, past its range, an Int64.
pub fn count_of(row: &Document) -> Option<i64> {
    integer_of(row, "count")
}

/// An integer field, whether stored as Int32 or Int64 (`$inc` keeps what it found).
pub fn integer_of(row: &Document, field: &str) -> Option<i64> {
    row.get_i32(field)
        .map(i64::from)
        .or_else(|_| row.get_i64(field))
        .ok()
}
