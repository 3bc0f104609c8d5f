//! The `rate_limits` collection: one counter per rule, key and time window, shared by every
//! instance. A TTL index on `expires_at` removes windows that have passed.

use bson::{doc, DateTime};
use mongodb::options::ReturnDocument;

use mongodb::Collection;

use crate::db::Db;
use crate::error::duplicate_key_index;

/// Counts one request in the window `id` (created on first use, gone after `expires_at`)
/// and returns the window's count so far, this one included.
pub async fn hit(db: &Db, id: &str, expires_at: DateTime) -> mongodb::error::Result<i64> {
    let update = doc! { "$inc": { "count": 1_i64 }, "$setOnInsert": { "expires_at": expires_at } };
    let mut retried = false;
    loop {
        let result = collection(db)
            .find_one_and_update(doc! { "_id": id }, update.clone())
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        match result {
            Ok(found) => return Ok(found.as_ref().and_then(super::count_of).unwrap_or(1)),
            // Two first requests of a window raced to create it: the loser counts again.
            Err(err) if !retried && duplicate_key_index(&err).is_some() => retried = true,
            Err(err) => return Err(err),
        }
    }
}

/// The `rate_limits` collection.
pub fn collection(db: &Db) -> Collection<bson::Document> {
    db.collection("rate_limits")
}
