//! Views, counted in memory and written in batches.
//!
//! Reading a post is reads only: a write per view (the post's `view_count`, then the day's
//! views and the unique viewers for analytics) would cost more than the read itself.
//! Instead each instance counts them here and, every `posts.view_flush_ms`, writes what
//! it counted as one `views` job (`jobs::spawn_view_flusher`), which a worker turns into
//! one `update` command for the posts' `view_count`s, one of upserts for the days and one
//! insert of new viewers. Once the job is written the views are durable; a crash loses at
//! most the last interval's views. `GET /api/posts/{id}/analytics` writes and runs this
//! instance's batch first, so an author sees their own instance's latest views at once.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::store::post_stats;

#[derive(Default)]
struct Pending {
    /// (post, date) → views
    daily: HashMap<(ObjectId, String), i64>,
    viewers: HashSet<(ObjectId, ObjectId)>,
}

#[derive(Default)]
pub struct ViewCounter {
    pending: Mutex<Pending>,
}

/// Views counted for analytics, as a `views` job carries them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ViewBatch {
    /// (post, date, views)
    pub daily: Vec<(ObjectId, String, i64)>,
    /// (post, viewer)
    pub viewers: Vec<(ObjectId, ObjectId)>,
}

impl ViewCounter {
    /// Counts one view of `post_id` today, by `viewer` when signed in.
    pub fn record(&self, post_id: ObjectId, viewer: Option<ObjectId>) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        *pending
            .daily
            .entry((post_id, post_stats::today()))
            .or_default() += 1;
        if let Some(viewer) = viewer {
            pending.viewers.insert((post_id, viewer));
        }
    }

    /// What was counted since the last call, if anything.
    pub fn take(&self) -> Option<ViewBatch> {
        let taken = std::mem::take(&mut *self.pending.lock().ok()?);
        if taken.daily.is_empty() && taken.viewers.is_empty() {
            return None;
        }
        Some(ViewBatch {
            daily: taken
                .daily
                .into_iter()
                .map(|((post, date), views)| (post, date, views))
                .collect(),
            viewers: taken.viewers.into_iter().collect(),
        })
    }

    /// Puts back a batch that could not be written, to go with the next one.
    pub fn restore(&self, batch: ViewBatch) {
        if let Ok(mut pending) = self.pending.lock() {
            for (post, date, views) in batch.daily {
                *pending.daily.entry((post, date)).or_default() += views;
            }
            pending.viewers.extend(batch.viewers);
        }
    }
}

impl ViewBatch {
    /// Writes the batch; returns the day counts that could not be written (for another
    /// job). Unique viewers are written once however often; a day's count is added once
    /// per run, so a job run twice (its instance died between writing and closing it)
    /// counts its batch twice.
    pub async fn write(&self, db: &Db) -> mongodb::error::Result<Option<ViewBatch>> {
        let daily = self
            .daily
            .iter()
            .map(|(post, date, views)| ((*post, date.clone()), *views))
            .collect();
        let left = post_stats::add_views(db, daily).await?;
        // The posts' counts move with the days written (those left go with the next job).
        let mut per_post: HashMap<ObjectId, i64> = HashMap::new();
        for (post, date, views) in &self.daily {
            if !left.iter().any(|((p, d), _)| p == post && d == date) {
                *per_post.entry(*post).or_default() += views;
            }
        }
        let per_post: Vec<(ObjectId, i64)> = per_post.into_iter().collect();
        crate::store::posts::add_views(db, &per_post).await?;
        post_stats::add_viewers(db, self.viewers.iter().copied()).await?;
        if left.is_empty() {
            return Ok(None);
        }
        Ok(Some(ViewBatch {
            daily: left.into_iter().map(|((p, d), v)| (p, d, v)).collect(),
            viewers: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_of_a_post_on_a_day_become_one_increment_and_viewers_are_unique() {
        let counter = ViewCounter::default();
        let (post, other, viewer) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
        counter.record(post, Some(viewer));
        counter.record(post, Some(viewer));
        counter.record(post, None);
        counter.record(other, Some(viewer));
        let pending = counter.pending.lock().unwrap();
        let today = post_stats::today();
        assert_eq!(pending.daily[&(post, today.clone())], 3);
        assert_eq!(pending.daily[&(other, today)], 1);
        assert_eq!(pending.viewers.len(), 2);
    }
}
