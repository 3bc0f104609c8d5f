//! Views for post analytics, counted in memory and written in batches.
//!
//! A post's `view_count` moves in the same command that reads the post (API.md §4); what
//! analytics adds on top (views per day, unique viewers) would cost two more commands per
//! read. Instead each instance keeps them here and writes them every
//! `posts.view_flush_ms`: one `update` command holding an upsert per post and day, however
//! many posts and views there were, and one insert for all new viewers. A crash loses at
//! most that interval of analytics, never a post's `view_count`;
//! `GET /api/posts/{id}/analytics` flushes first, so an author sees their own instance's
//! latest views at once and other instances' within the interval.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::oid::ObjectId;

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
    /// Held while a flush writes, so a flush that finds nothing pending because another
    /// took it (the background one, say) still returns only once those views are written:
    /// what lets the analytics read see its own views.
    writing: tokio::sync::Mutex<()>,
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

    /// Writes what is pending. On failure the views are put back, to go with the next try.
    pub async fn flush(&self, db: &Db) -> mongodb::error::Result<()> {
        let _writing = self.writing.lock().await;
        let taken = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        let mut failed = Pending::default();
        let mut result = Ok(());
        let daily: Vec<_> = taken.daily.into_iter().collect();
        match post_stats::add_views(db, daily.clone()).await {
            Ok(left) => {
                if !left.is_empty() {
                    log::warn!(
                        "{} view counts not written, kept for the next flush",
                        left.len()
                    );
                }
                failed.daily.extend(left);
            }
            Err(err) => {
                failed.daily.extend(daily);
                result = Err(err);
            }
        }
        if let Err(err) = post_stats::add_viewers(db, taken.viewers.iter().copied()).await {
            failed.viewers = taken.viewers;
            result = Err(err);
        }
        if !failed.daily.is_empty() || !failed.viewers.is_empty() {
            if let Ok(mut pending) = self.pending.lock() {
                for (key, views) in failed.daily {
                    *pending.daily.entry(key).or_default() += views;
                }
                pending.viewers.extend(failed.viewers);
            }
        }
        result
    }
}

/// Flushes the counter every `posts.view_flush_ms`.
pub fn spawn_flusher(db: Db, views: Arc<ViewCounter>, flush_ms: u64) {
    let interval = Duration::from_millis(flush_ms.max(10));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = views.flush(&db).await {
                log::warn!("writing view analytics failed, retrying: {err}");
            }
        }
    });
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
