//! The `jobs` collection: the durable queue of background work (docs/OPERATIONS.md "Background
//! jobs"). A job is `queued` until a worker claims it (`running`, with an `owner` and a
//! `lease_until` its heartbeats push forward), then deleted when done, put back `queued`
//! with a later `due_at` when it failed, or left `dead` with its `last_error` once it has
//! failed `jobs.max_attempts` times. Claims are single atomic updates, so of several
//! instances exactly one gets each job; a lease that runs out (its instance died) puts the
//! job back in the queue.

use bson::oid::ObjectId;
use bson::{doc, Bson, DateTime, Document};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use mongodb::Collection;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::store::notifications::NotificationDoc;
use crate::store::{ids_in, integer_of, DUPLICATE_KEY};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// What to do (`events`, `publish`, `email`, `views`, `cascade`) …
    pub kind: String,
    /// … and with what.
    pub payload: Bson,
    pub state: JobState,
    /// When it may run (next).
    pub due_at: DateTime,
    /// Runs started so far.
    pub attempts: i32,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub lease_until: Option<DateTime>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Where a long job got to (the fan-out's last follower), so a new run resumes there.
    #[serde(default)]
    pub progress: Option<ObjectId>,
    /// Notifications the job made (ids and all) before writing them, so a new run writes
    /// the same ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared: Option<Vec<NotificationDoc>>,
    /// Whose job it is, for kinds shared fairly between owners (`media`): at most so many
    /// of an owner's run at once …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_key: Option<ObjectId>,
    /// … and due jobs are claimed in this order (the owner's place in the queue), not by
    /// `due_at` alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_at: Option<DateTime>,
    pub created_at: DateTime,
}

impl JobDoc {
    pub fn new(id: ObjectId, kind: &str, payload: Bson, due_at: DateTime) -> Self {
        Self {
            id,
            kind: kind.to_owned(),
            payload,
            state: JobState::Queued,
            due_at,
            attempts: 0,
            owner: None,
            lease_until: None,
            last_error: None,
            progress: None,
            prepared: None,
            fair_key: None,
            order_at: None,
            created_at: DateTime::now(),
        }
    }
}

pub fn collection(db: &Db) -> Collection<JobDoc> {
    db.collection("jobs")
}

/// Writes a job; one with the same `_id` already there counts as written (a job keyed by
/// what it is about is enqueued once). Returns whether this call wrote it.
pub async fn insert(db: &Db, job: &JobDoc) -> mongodb::error::Result<bool> {
    match collection(db).insert_one(job).await {
        Ok(_) => Ok(true),
        Err(err) if is_duplicate(&err) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Moves a queued job to `due_at`; `false` when it is not queued (running, finished or
/// dead).
pub async fn set_due(db: &Db, id: ObjectId, due_at: DateTime) -> mongodb::error::Result<bool> {
    let result = collection(db)
        .update_one(
            doc! { "_id": id, "state": "queued" },
            doc! { "$set": { "due_at": due_at } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

fn is_duplicate(err: &mongodb::error::Error) -> bool {
    matches!(
        err.kind.as_ref(),
        mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(e))
            if e.code == DUPLICATE_KEY
    )
}

fn claim_update(owner: &str, lease_until: DateTime) -> Document {
    doc! {
        "$set": { "state": "running", "owner": owner, "lease_until": lease_until },
        "$inc": { "attempts": 1 },
    }
}

/// Puts back in the queue the jobs `owner` holds: what an instance does as it stops, so
/// others take them over at once rather than when the leases run out.
pub async fn release_owned(db: &Db, owner: &str) -> mongodb::error::Result<u64> {
    let result = collection(db)
        .update_many(
            doc! { "state": "running", "owner": owner },
            doc! {
                "$set": { "state": "queued", "due_at": DateTime::now() },
                "$unset": { "owner": "", "lease_until": "", "claim": "" },
            },
        )
        .await?;
    Ok(result.modified_count)
}

fn due(kind: &str, now: DateTime) -> Document {
    doc! { "kind": kind, "state": "queued", "due_at": { "$lte": now } }
}

/// Claims the longest-due job of `kind`, if any.
pub async fn claim_one(
    db: &Db,
    kind: &str,
    owner: &str,
    lease_until: DateTime,
) -> mongodb::error::Result<Option<JobDoc>> {
    collection(db)
        .find_one_and_update(due(kind, DateTime::now()), claim_update(owner, lease_until))
        .sort(doc! { "due_at": 1 })
        .return_document(ReturnDocument::After)
        .await
}

/// The place in the queue of `owner`'s next job of `kind`: now, or `share` after the last
/// of their jobs still waiting or running, whichever is later.
pub async fn fair_order(
    db: &Db,
    kind: &str,
    owner: ObjectId,
    share_ms: i64,
) -> mongodb::error::Result<DateTime> {
    let last = db
        .collection::<Document>("jobs")
        .find_one(doc! {
            "kind": kind, "fair_key": owner, "state": { "$in": ["queued", "running"] },
        })
        .sort(doc! { "order_at": -1 })
        .projection(doc! { "order_at": 1 })
        .await?
        .and_then(|d| d.get_datetime("order_at").ok().copied());
    let now = DateTime::now();
    Ok(match last {
        Some(last) if last.timestamp_millis().saturating_add(share_ms) > now.timestamp_millis() => {
            DateTime::from_millis(last.timestamp_millis().saturating_add(share_ms))
        }
        _ => now,
    })
}

/// Claims the due job of `kind` first in fair order (`order_at`) whose owner runs fewer
/// than `per_owner` of that kind already (on any instance).
pub async fn claim_fair(
    db: &Db,
    kind: &str,
    owner: &str,
    lease_until: DateTime,
    per_owner: usize,
) -> mongodb::error::Result<Option<JobDoc>> {
    let running: Vec<Document> = db
        .collection::<Document>("jobs")
        .find(doc! { "kind": kind, "state": "running", "fair_key": { "$exists": true } })
        .projection(doc! { "fair_key": 1 })
        .await?
        .try_collect()
        .await?;
    let mut counts: std::collections::HashMap<ObjectId, usize> = Default::default();
    for key in running
        .iter()
        .filter_map(|d| d.get_object_id("fair_key").ok())
    {
        *counts.entry(key).or_default() += 1;
    }
    let busy: Vec<ObjectId> = counts
        .into_iter()
        .filter(|(_, n)| *n >= per_owner.max(1))
        .map(|(key, _)| key)
        .collect();
    let mut filter = due(kind, DateTime::now());
    if !busy.is_empty() {
        filter.insert("fair_key", doc! { "$nin": busy });
    }
    collection(db)
        .find_one_and_update(filter, claim_update(owner, lease_until))
        .sort(doc! { "order_at": 1, "due_at": 1 })
        .return_document(ReturnDocument::After)
        .await
}

/// Claims up to `limit` due jobs of `kind` in three commands: their ids, one update of
/// those still queued, and what this claim got.
pub async fn claim_many(
    db: &Db,
    kind: &str,
    owner: &str,
    lease_until: DateTime,
    limit: i64,
) -> mongodb::error::Result<Vec<JobDoc>> {
    let ids: Vec<ObjectId> = db
        .collection::<Document>("jobs")
        .find(due(kind, DateTime::now()))
        .sort(doc! { "due_at": 1 })
        .projection(doc! { "_id": 1 })
        .limit(limit)
        .await
        .map(ids_in)?
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // A mark of its own for this batch: the ids another claim took in between are left
    // out by the `state` condition and by the mark read back.
    let claim = ObjectId::new();
    let mut update = claim_update(owner, lease_until);
    if let Ok(set) = update.get_document_mut("$set") {
        set.insert("claim", claim);
    }
    collection(db)
        .update_many(doc! { "_id": { "$in": &ids }, "state": "queued" }, update)
        .await?;
    collection(db)
        .find(doc! { "_id": { "$in": &ids }, "claim": claim })
        .await?
        .try_collect()
        .await
}

/// Whether any job is due: what the poller asks before waking the workers.
pub async fn any_due(db: &Db) -> mongodb::error::Result<bool> {
    Ok(oldest_due(db).await?.is_some())
}

/// When the longest-waiting due job became due.
pub async fn oldest_due(db: &Db) -> mongodb::error::Result<Option<DateTime>> {
    Ok(db
        .collection::<Document>("jobs")
        .find_one(doc! { "state": "queued", "due_at": { "$lte": DateTime::now() } })
        .sort(doc! { "due_at": 1 })
        .projection(doc! { "due_at": 1 })
        .await?
        .and_then(|d| d.get_datetime("due_at").ok().copied()))
}

/// Done: the job goes.
pub async fn finish(db: &Db, ids: &[ObjectId], owner: &str) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "_id": { "$in": ids }, "owner": owner })
        .await?;
    Ok(())
}

/// Failed: back in the queue until `due_at`, or dead when `due_at` is `None`.
pub async fn fail(
    db: &Db,
    id: ObjectId,
    owner: &str,
    due_at: Option<DateTime>,
    error: &str,
) -> mongodb::error::Result<()> {
    let set = match due_at {
        Some(due_at) => doc! { "state": "queued", "due_at": due_at, "last_error": error },
        None => doc! { "state": "dead", "last_error": error },
    };
    collection(db)
        .update_one(
            doc! { "_id": id, "owner": owner },
            doc! { "$set": set, "$unset": { "owner": "", "lease_until": "", "claim": "" } },
        )
        .await?;
    Ok(())
}

/// Extends a running job's lease (and records its progress); false when the job is no
/// longer this worker's (its lease ran out and another took it).
pub async fn heartbeat(
    db: &Db,
    id: ObjectId,
    owner: &str,
    lease_until: DateTime,
    progress: Option<ObjectId>,
) -> mongodb::error::Result<bool> {
    let mut set = doc! { "lease_until": lease_until };
    if let Some(progress) = progress {
        set.insert("progress", progress);
    }
    let result = collection(db)
        .update_one(
            doc! { "_id": id, "owner": owner, "state": "running" },
            doc! { "$set": set },
        )
        .await?;
    Ok(result.matched_count == 1)
}

/// Stores the notifications a running job is about to write; false when the job is no
/// longer `owner`'s.
pub async fn prepare(
    db: &Db,
    id: ObjectId,
    owner: &str,
    notifications: &[NotificationDoc],
) -> mongodb::error::Result<bool> {
    let docs = bson::to_bson(notifications)?;
    let result = collection(db)
        .update_one(
            doc! { "_id": id, "owner": owner, "state": "running" },
            doc! { "$set": { "prepared": docs } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

/// Puts back in the queue every running job whose lease ran out (its worker died or
/// hung), due again when `next_due` says from its attempts so far (each claim counted
/// one), or leaves it dead when `next_due` gives `None`: a job that kills its worker on
/// every run ends after its attempts instead of running forever. Returns how many.
pub async fn release_expired(
    db: &Db,
    next_due: impl Fn(i32) -> Option<DateTime>,
) -> mongodb::error::Result<u64> {
    let now = DateTime::now();
    let expired = doc! { "state": "running", "lease_until": { "$lt": now } };
    let held: Vec<Document> = db
        .collection::<Document>("jobs")
        .find(expired.clone())
        .projection(doc! { "_id": 1, "attempts": 1 })
        .limit(10_000)
        .await?
        .try_collect()
        .await?;
    let mut released = 0;
    for job in held {
        let Ok(id) = job.get_object_id("_id") else {
            continue;
        };
        let attempts = i32::try_from(integer_of(&job, "attempts").unwrap_or(0)).unwrap_or(i32::MAX);
        let set = match next_due(attempts) {
            Some(due_at) => doc! { "state": "queued", "due_at": due_at },
            None => doc! {
                "state": "dead",
                "last_error": format!(
                    "its worker stopped answering during each of {attempts} run(s) (killed, or hung past its lease)"
                ),
            },
        };
        let mut filter = expired.clone();
        filter.insert("_id", id);
        let result = collection(db)
            .update_one(
                filter,
                doc! { "$set": set, "$unset": { "owner": "", "lease_until": "", "claim": "" } },
            )
            .await?;
        released += result.modified_count;
    }
    Ok(released)
}

/// Running jobs whose lease ran out: their instance stopped.
pub async fn count_expired(db: &Db) -> mongodb::error::Result<u64> {
    collection(db)
        .count_documents(doc! { "state": "running", "lease_until": { "$lt": DateTime::now() } })
        .await
}

/// Of `ids`, those that name a job (in any state).
pub async fn existing(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<Vec<ObjectId>> {
    db.collection::<Document>("jobs")
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "_id": 1 })
        .await
        .map(ids_in)?
        .await
}

/// How many jobs there are by kind, state and attempts (a queued job with attempts has
/// failed before and waits for its retry).
pub async fn counts(db: &Db) -> mongodb::error::Result<Vec<(String, JobState, bool, i64)>> {
    let rows: Vec<Document> = db
        .collection::<Document>("jobs")
        .aggregate([doc! { "$group": {
            "_id": { "kind": "$kind", "state": "$state", "attempts": "$attempts" },
            "n": { "$sum": 1 },
        } }])
        .await?
        .try_collect()
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let key = row.get_document("_id").ok()?;
            let state = bson::from_bson(key.get("state")?.clone()).ok()?;
            let attempts = integer_of(key, "attempts").unwrap_or(0);
            let n = integer_of(row, "n").unwrap_or(0);
            Some((key.get_str("kind").ok()?.to_owned(), state, attempts > 0, n))
        })
        .collect())
}

/// The jobs in `state`, oldest first, at most `limit`.
pub async fn list(db: &Db, state: JobState, limit: i64) -> mongodb::error::Result<Vec<JobDoc>> {
    collection(db)
        .find(doc! { "state": state.as_str() })
        .sort(doc! { "due_at": 1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

fn dead(id: Option<ObjectId>) -> Document {
    let mut filter = doc! { "state": "dead" };
    if let Some(id) = id {
        filter.insert("_id", id);
    }
    filter
}

/// Queues dead jobs (one, or all) again with a fresh count of attempts.
pub async fn retry_dead(db: &Db, id: Option<ObjectId>) -> mongodb::error::Result<u64> {
    let result = collection(db)
        .update_many(
            dead(id),
            doc! { "$set": { "state": "queued", "due_at": DateTime::now(), "attempts": 0 } },
        )
        .await?;
    Ok(result.modified_count)
}

/// Deletes dead jobs (one, or all).
pub async fn drop_dead(db: &Db, id: Option<ObjectId>) -> mongodb::error::Result<u64> {
    Ok(collection(db).delete_many(dead(id)).await?.deleted_count)
}
