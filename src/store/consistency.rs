//! The whole-collection reads and fixes behind `rookery check`: counters recounted from
//! the documents they count, and references to posts that are gone. Offline work for an
//! operator (after a crash, or on a schedule), never on a request path; the scans are
//! what they must be (`$group` over a collection), each streamed, not held.

use std::collections::{HashMap, HashSet};

use bson::oid::ObjectId;
use bson::{doc, Document};
use futures::TryStreamExt;
use mongodb::Collection;

use crate::db::Db;

/// How many documents of `collection` (matching `filter`) point at each value of `field`.
pub async fn counts_by<T: Send + Sync>(
    collection: Collection<T>,
    field: &str,
    filter: Document,
) -> mongodb::error::Result<HashMap<ObjectId, i64>> {
    let pipeline = [
        doc! { "$match": filter },
        doc! { "$group": { "_id": format!("${field}"), "count": { "$sum": 1 } } },
    ];
    let mut cursor = collection.aggregate(pipeline).await?;
    let mut counts = HashMap::new();
    while let Some(group) = cursor.try_next().await? {
        if let (Ok(id), Some(n)) = (group.get_object_id("_id"), super::count_of(&group)) {
            counts.insert(id, n);
        }
    }
    Ok(counts)
}

/// Each document's `_id` and its integer `field` (0 when missing), streamed to `visit`.
pub async fn each_counter<T: Send + Sync>(
    collection: Collection<T>,
    field: &str,
    mut visit: impl FnMut(ObjectId, i64),
) -> mongodb::error::Result<()> {
    let mut cursor = collection
        .clone_with_type::<Document>()
        .find(doc! {})
        .projection(doc! { "_id": 1, field: 1 })
        .await?;
    while let Some(found) = cursor.try_next().await? {
        if let Ok(id) = found.get_object_id("_id") {
            visit(id, super::integer_of(&found, field).unwrap_or(0));
        }
    }
    Ok(())
}

pub async fn set_counter<T: Send + Sync>(
    collection: &Collection<T>,
    id: ObjectId,
    field: &str,
    value: i64,
) -> mongodb::error::Result<()> {
    collection
        .update_one(doc! { "_id": id }, doc! { "$set": { field: value } })
        .await?;
    Ok(())
}

/// The values of `field` in `collection` that name no post.
pub async fn missing_posts<T: Send + Sync>(
    db: &Db,
    collection: &Collection<T>,
    field: &str,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let referenced: Vec<ObjectId> = collection
        .distinct(field, doc! {})
        .await?
        .into_iter()
        .filter_map(|v| v.as_object_id())
        .collect();
    let mut missing = Vec::new();
    for chunk in referenced.chunks(1000) {
        let existing: HashSet<ObjectId> = crate::store::ids_matching(
            &crate::store::posts::collection(db),
            doc! { "_id": { "$in": chunk } },
        )
        .await?
        .into_iter()
        .collect();
        missing.extend(chunk.iter().filter(|id| !existing.contains(id)));
    }
    Ok(missing)
}

/// Deletes the documents of `collection` whose `field` is one of `ids`.
pub async fn delete_pointing_at<T: Send + Sync>(
    collection: &Collection<T>,
    field: &str,
    ids: &[ObjectId],
) -> mongodb::error::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(collection
        .delete_many(doc! { field: { "$in": ids } })
        .await?
        .deleted_count)
}

/// How many documents of `collection` have `field` in `ids`.
pub async fn count_pointing_at<T: Send + Sync>(
    collection: &Collection<T>,
    field: &str,
    ids: &[ObjectId],
) -> mongodb::error::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    collection
        .count_documents(doc! { field: { "$in": ids } })
        .await
}
