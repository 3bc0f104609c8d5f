//! What a like or a comment leaves behind (its post's counter, a notification, an entry in
//! its author's activity log), kept on the like or comment document itself until a worker
//! has written it (`jobs::effects`): the request writes one document, not that document
//! and a job beside it. Claimed as jobs are: a batch marked with a lease and a mark of its
//! own, read back by the mark; a worker that stops lets its lease run out and another one
//! takes the batch.

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use mongodb::Collection;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::store::events::Events;
use crate::store::ids_in;

/// The `effects` field of a like or comment whose effects are not written yet. Absent
/// once they are: a document without it is counted in its post's counter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Effects {
    /// When a worker may take it: its creation, then the end of each claim's lease.
    pub due: DateTime,
    /// The claim that holds it, while one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<ObjectId>,
    /// The notifications and activity entries to write (their ids chosen already, so a
    /// batch written twice writes each once).
    #[serde(default)]
    pub events: Events,
}

impl Effects {
    /// Surely not written yet: no worker has claimed them (one that has may have moved
    /// the counter already).
    pub fn unclaimed(&self) -> bool {
        self.claim.is_none()
    }

    /// Effects due at once.
    pub fn new(events: Events) -> Self {
        Self {
            due: DateTime::now(),
            claim: None,
            events,
        }
    }
}

/// The filter of documents whose effects are written (what a post's counter counts).
pub fn settled() -> Document {
    doc! { "effects": { "$exists": false } }
}

/// A claimed document: its id, its post and its effects.
#[derive(Debug, Deserialize)]
pub struct Claimed {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub post_id: ObjectId,
    pub effects: Effects,
}

/// Claims up to `limit` documents of `collection` whose effects are due, until
/// `lease_until` (index `effects_due`).
pub async fn claim(
    collection: &Collection<Document>,
    lease_until: DateTime,
    limit: i64,
) -> mongodb::error::Result<(ObjectId, Vec<Claimed>)> {
    let Some((claim, ids)) = claim_due(collection, lease_until, limit).await? else {
        return Ok((ObjectId::new(), Vec::new()));
    };
    let claimed = collection
        .clone_with_type::<Claimed>()
        .find(claimed_by(claim, &ids))
        .projection(doc! { "post_id": 1, "effects": 1 })
        .await?
        .try_collect()
        .await?;
    Ok((claim, claimed))
}

/// Marks up to `limit` documents of `collection` whose effects are due as held by a new
/// claim until `lease_until` (index `effects_due`): the claim and the ids it may hold,
/// which `claimed_by` finds; `None` when none is due.
pub async fn claim_due(
    collection: &Collection<Document>,
    lease_until: DateTime,
    limit: i64,
) -> mongodb::error::Result<Option<(ObjectId, Vec<ObjectId>)>> {
    let claim = ObjectId::new();
    let now = DateTime::now();
    let ids = collection
        .find(doc! { "effects.due": { "$lte": now } })
        .projection(doc! { "_id": 1 })
        .limit(limit)
        .await
        .map(ids_in)?
        .await?;
    if ids.is_empty() {
        return Ok(None);
    }
    // Another claim that took some of these in between moved their `due` past `now`.
    collection
        .update_many(
            doc! { "_id": { "$in": &ids }, "effects.due": { "$lte": now } },
            doc! { "$set": { "effects.due": lease_until, "effects.claim": claim } },
        )
        .await?;
    Ok(Some((claim, ids)))
}

/// Marks those of `ids` whose effects no claim holds as held by a new claim until
/// `lease_until`, whenever they are due: what the instance that wrote them does at once.
/// The claim, whose documents `claimed_by` finds.
pub async fn claim_given(
    collection: &Collection<Document>,
    ids: &[ObjectId],
    lease_until: DateTime,
) -> mongodb::error::Result<ObjectId> {
    let claim = ObjectId::new();
    collection
        .update_many(
            unclaimed_among(ids),
            doc! { "$set": { "effects.due": lease_until, "effects.claim": claim } },
        )
        .await?;
    Ok(claim)
}

/// The filter of the documents of `ids` whose effects no claim holds.
fn unclaimed_among(ids: &[ObjectId]) -> Document {
    doc! {
        "_id": { "$in": ids },
        "effects": { "$exists": true },
        "effects.claim": { "$exists": false },
    }
}

/// Makes the effects of those of `ids` that no claim holds due at once.
pub async fn due_now(
    collection: &Collection<Document>,
    ids: &[ObjectId],
) -> mongodb::error::Result<()> {
    collection
        .update_many(
            unclaimed_among(ids),
            doc! { "$set": { "effects.due": DateTime::now() } },
        )
        .await?;
    Ok(())
}

/// The filter of the documents of `ids` that `claim` holds.
pub fn claimed_by(claim: ObjectId, ids: &[ObjectId]) -> Document {
    doc! { "_id": { "$in": ids }, "effects.claim": claim }
}

/// Marks the effects of `ids` written, where `claim` still holds them, and leaves the
/// claim's mark on each (`settled_by`), so a batch can tell which of its documents it
/// settled itself; how many it held.
pub async fn settle(
    collection: &Collection<Document>,
    claim: ObjectId,
    ids: &[ObjectId],
) -> mongodb::error::Result<u64> {
    Ok(collection
        .update_many(
            doc! { "_id": { "$in": ids }, "effects.claim": claim },
            doc! { "$unset": { "effects": "" }, "$set": { "settled_by": claim } },
        )
        .await?
        .modified_count)
}

/// The filter of `ids` that `claim` settled.
pub fn settled_by(claim: ObjectId, ids: &[ObjectId]) -> Document {
    doc! { "_id": { "$in": ids }, "settled_by": claim }
}

/// The `likes` or `comments` collection, untyped.
pub fn collection(db: &Db, name: &str) -> Collection<Document> {
    db.collection(name)
}
