//! Writes what likes and comments leave behind, from the documents themselves
//! (`store::deferred`): a request writes its like or comment with its effects on it and
//! answers; a worker of each instance claims the due ones in batches and, per batch, moves
//! the posts' counters (one update per distinct count), writes the notifications and
//! activity entries (one insert per collection) and marks the batch done (one update).
//!
//! Counters: a post's `like_count` / `comment_count` counts the documents whose effects are
//! written. Taking one back (unlike, deleting a comment) moves the counter only if its
//! effects were written; one taken back while its batch was under way, or taken over by
//! another claim after this one's lease ran out, is counted back out by the batch (only the
//! claim that settles a document keeps its count). A worker that stops between the
//! counters and the mark leaves its batch to be claimed again once its lease ends, and
//! those counters one too high until `rookery check --repair` recounts them (the events
//! are written once either way).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bson::doc;
use bson::oid::ObjectId;

use super::Jobs;
use crate::store::deferred::{self, Claimed};
use crate::store::events::Events;
use crate::store::{add_to_counter_of_many, ids_in, posts};

/// A collection whose documents carry their effects, and the post counter they move.
pub(super) struct Deferred {
    pub collection: &'static str,
    pub counter: &'static str,
}

pub(super) const DEFERRED: [Deferred; 2] = [
    Deferred {
        collection: "likes",
        counter: "like_count",
    },
    Deferred {
        collection: "comments",
        counter: "comment_count",
    },
];

/// Runs for as long as the process lives: the due effects of every deferred collection,
/// batch after batch; then waits to be woken (a like or comment written here) or for
/// `jobs.poll_ms` (one written elsewhere, or a lease that ran out).
pub(super) async fn run(jobs: Arc<Jobs>) {
    let poll = Duration::from_millis(jobs.settings.jobs.poll_ms.max(10));
    loop {
        match run_all(&jobs).await {
            Ok(0) => {
                tokio::select! {
                    () = jobs.effects_wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
            Ok(_) => {}
            Err(err) => {
                log::warn!("writing the effects of likes and comments failed, retrying: {err}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// One batch of each deferred collection; how many documents they took.
pub(super) async fn run_all(jobs: &Jobs) -> mongodb::error::Result<usize> {
    let _running = jobs.effects_runs.begin();
    let mut took = 0;
    for deferred in &DEFERRED {
        took += run_batch(jobs, deferred).await?;
    }
    Ok(took)
}

/// Claims a batch of `deferred`'s due documents and writes their effects.
async fn run_batch(jobs: &Jobs, deferred: &Deferred) -> mongodb::error::Result<usize> {
    let Some(mut batch) = Batch::claim(jobs, deferred, jobs.lease_until()).await? else {
        return Ok(0);
    };
    batch.count().await?;
    batch.settle().await
}

/// A claimed batch of one deferred collection, between its steps.
pub struct Batch<'a> {
    jobs: &'a Jobs,
    deferred: &'a Deferred,
    collection: mongodb::Collection<bson::Document>,
    claim: ObjectId,
    claimed: Vec<Claimed>,
}

impl<'a> Batch<'a> {
    /// Claims up to `jobs.events_batch` due documents until `lease_until`; `None` when
    /// none is due.
    pub(super) async fn claim(
        jobs: &'a Jobs,
        deferred: &'a Deferred,
        lease_until: bson::DateTime,
    ) -> mongodb::error::Result<Option<Batch<'a>>> {
        let collection = deferred::collection(&jobs.db, deferred.collection);
        let limit = jobs.settings.jobs.events_batch.max(1);
        let (claim, claimed) = deferred::claim(&collection, lease_until, limit).await?;
        Ok((!claimed.is_empty()).then_some(Batch {
            jobs,
            deferred,
            collection,
            claim,
            claimed,
        }))
    }

    /// Moves the posts' counters; drops (with their documents) the ones whose post is
    /// gone.
    pub async fn count(&mut self) -> mongodb::error::Result<()> {
        let posts = posts::collection(&self.jobs.db);
        let counts = per_post(&self.claimed);
        let mut matched = 0;
        for (delta, ids) in by_delta(&counts) {
            matched +=
                add_to_counter_of_many(posts.clone(), &ids, self.deferred.counter, delta).await?;
        }
        // A post deleted after the like or comment was written: it goes too, with its events.
        if matched < counts.len() as u64 {
            let ids: Vec<ObjectId> = counts.keys().copied().collect();
            let live = ids_where(&posts.clone_with_type(), doc! { "_id": { "$in": &ids } }).await?;
            let (kept, orphans): (Vec<Claimed>, Vec<Claimed>) = std::mem::take(&mut self.claimed)
                .into_iter()
                .partition(|c| live.contains(&c.post_id));
            let orphan_ids: Vec<ObjectId> = orphans.iter().map(|c| c.id).collect();
            self.collection
                .delete_many(doc! { "_id": { "$in": orphan_ids } })
                .await?;
            self.claimed = kept;
        }
        Ok(())
    }

    /// Writes the events, marks the batch done where this claim still holds it, and
    /// counts back out the rest; how many documents the batch took.
    pub async fn settle(self) -> mongodb::error::Result<usize> {
        let Batch {
            jobs,
            deferred,
            collection,
            claim,
            claimed,
        } = self;
        let mut events = Events::new();
        for claimed in &claimed {
            events.merge(claimed.effects.events.clone());
        }
        events.write(&jobs.db).await?;
        let ids: Vec<ObjectId> = claimed.iter().map(|c| c.id).collect();
        let settled = deferred::settle(&collection, claim, &ids).await?;
        if settled < ids.len() as u64 {
            // Not settled by this batch, so its counting up is taken back here: a document
            // taken back while the batch ran (whoever took it back saw its effects
            // unwritten and left the counter alone), or taken over by another claim once
            // this one's lease ran out (that claim counts it itself, and only the claim
            // that settles a document keeps its count).
            let done = ids_where(&collection, deferred::settled_by(claim, &ids)).await?;
            let undone: Vec<Claimed> = claimed
                .into_iter()
                .filter(|c| !done.contains(&c.id))
                .collect();
            let posts = posts::collection(&jobs.db);
            for (delta, ids) in by_delta(&per_post(&undone)) {
                add_to_counter_of_many(posts.clone(), &ids, deferred.counter, -delta).await?;
            }
        }
        Ok(ids.len())
    }
}

/// The ids of the documents `filter` matches.
async fn ids_where(
    collection: &mongodb::Collection<bson::Document>,
    filter: bson::Document,
) -> mongodb::error::Result<HashSet<ObjectId>> {
    let found = collection
        .find(filter)
        .projection(doc! { "_id": 1 })
        .await
        .map(ids_in)?
        .await?;
    Ok(found.into_iter().collect())
}

/// How many of the batch each post has.
fn per_post(batch: &[Claimed]) -> HashMap<ObjectId, i64> {
    let mut counts = HashMap::new();
    for claimed in batch {
        *counts.entry(claimed.post_id).or_insert(0) += 1;
    }
    counts
}

/// The posts grouped by how much their counter moves: one update per group (almost
/// always one: every post of the batch by one).
fn by_delta(per_post: &HashMap<ObjectId, i64>) -> BTreeMap<i64, Vec<ObjectId>> {
    let mut groups: BTreeMap<i64, Vec<ObjectId>> = BTreeMap::new();
    for (post, delta) in per_post {
        groups.entry(*delta).or_default().push(*post);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::deferred::Effects;

    fn claimed(post: ObjectId) -> Claimed {
        Claimed {
            id: ObjectId::new(),
            post_id: post,
            effects: Effects::new(Events::new()),
        }
    }

    #[test]
    fn a_batch_moves_each_post_by_its_own_count_in_one_update_per_count() {
        let (a, b, c) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
        let batch = vec![claimed(a), claimed(b), claimed(a), claimed(c)];
        let groups = by_delta(&per_post(&batch));
        assert_eq!(groups.len(), 2);
        let mut ones = groups[&1].clone();
        ones.sort();
        let mut expected = vec![b, c];
        expected.sort();
        assert_eq!(ones, expected);
        assert_eq!(groups[&2], vec![a]);
    }
}
