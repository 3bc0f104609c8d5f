//! The `reports` collection: one per (post, reporter); the unique pair index makes a
//! report idempotent per reporter.

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::error::duplicate_key_index;
use crate::store::newest_by_id;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Open,
    Resolved,
    Dismissed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub post_id: ObjectId,
    pub reporter_id: ObjectId,
    pub reason: String,
    #[serde(default)]
    pub details: String,
    pub status: ReportStatus,
    pub created_at: DateTime,
    #[serde(default)]
    pub resolved_at: Option<DateTime>,
    #[serde(default)]
    pub resolved_by: Option<ObjectId>,
}

/// Files the report, or returns the one this reporter already filed (`false`).
pub async fn file(
    db: &Db,
    post_id: ObjectId,
    reporter_id: ObjectId,
    reason: String,
    details: String,
) -> mongodb::error::Result<(ReportDoc, bool)> {
    let report = ReportDoc {
        id: ObjectId::new(),
        post_id,
        reporter_id,
        reason,
        details,
        status: ReportStatus::Open,
        created_at: DateTime::now(),
        resolved_at: None,
        resolved_by: None,
    };
    match collection(db).insert_one(&report).await {
        Ok(_) => Ok((report, true)),
        Err(err) if duplicate_key_index(&err).is_some() => {
            let existing = collection(db)
                .find_one(doc! { "post_id": post_id, "reporter_id": reporter_id })
                .await?;
            Ok((existing.unwrap_or(report), false))
        }
        Err(err) => Err(err),
    }
}

/// How many distinct users have an open report on the post.
pub async fn open_reporters(db: &Db, post_id: ObjectId) -> mongodb::error::Result<u64> {
    collection(db)
        .count_documents(doc! { "post_id": post_id, "status": "open" })
        .await
}

pub async fn find(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<ReportDoc>> {
    collection(db).find_one(doc! { "_id": id }).await
}

/// Reports, newest first, optionally of one status.
pub async fn page(
    db: &Db,
    status: Option<ReportStatus>,
    before: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<ReportDoc>> {
    let mut filter = doc! {};
    if let Some(status) = status {
        filter.insert("status", bson::to_bson(&status)?);
    }
    newest_by_id(collection(db), filter, before, limit).await
}

/// A moderator's decision on every open report of the post: acting on one acts on the post.
pub async fn decide(
    db: &Db,
    report: ObjectId,
    post_id: ObjectId,
    status: ReportStatus,
    moderator: ObjectId,
) -> mongodb::error::Result<Option<ReportDoc>> {
    let set = doc! { "status": bson::to_bson(&status)?, "resolved_at": DateTime::now(), "resolved_by": moderator };
    collection(db)
        .update_many(
            doc! { "post_id": post_id, "status": "open", "_id": { "$ne": report } },
            doc! { "$set": set.clone() },
        )
        .await?;
    collection(db)
        .find_one_and_update(doc! { "_id": report }, doc! { "$set": set })
        .return_document(ReturnDocument::After)
        .await
}

/// The `reports` collection.
pub fn collection(db: &Db) -> Collection<ReportDoc> {
    db.collection("reports")
}
