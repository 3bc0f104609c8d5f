//! The `markers` collection: where each user stopped reading their home timeline and
//! their notifications (the Mastodon API's markers), one document per user (`_id`).

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use mongodb::options::ReturnDocument;
use mongodb::Collection;

use crate::db::Db;

/// The timelines a marker can be kept for.
pub const TIMELINES: &[&str] = &["home", "notifications"];

pub fn collection(db: &Db) -> Collection<Document> {
    db.collection("markers")
}

/// The user's markers (an empty document when none was ever set).
pub async fn find(db: &Db, user_id: ObjectId) -> mongodb::error::Result<Document> {
    Ok(collection(db)
        .find_one(doc! { "_id": user_id })
        .await?
        .unwrap_or_default())
}

/// Sets `timeline`'s marker to `last_read_id`, counting its version up; the markers after.
pub async fn set(
    db: &Db,
    user_id: ObjectId,
    timeline: &str,
    last_read_id: &str,
) -> mongodb::error::Result<Document> {
    Ok(collection(db)
        .find_one_and_update(
            doc! { "_id": user_id },
            doc! {
                "$set": {
                    format!("{timeline}.last_read_id"): last_read_id,
                    format!("{timeline}.updated_at"): DateTime::now(),
                },
                "$inc": { format!("{timeline}.version"): 1 },
            },
        )
        .upsert(true)
        .return_document(ReturnDocument::After)
        .await?
        .unwrap_or_default())
}
