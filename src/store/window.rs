//! Keyset pages of a newest-first list read through a window of time: the page after a
//! position asks only for items between the position and a lower bound chosen so that
//! the window holds about four pages, and only widens it when it comes back short.
//!
//! Why: SecantusDB reads every row a filter matches before it sorts and applies `limit`,
//! and it reads an index by key range only when one index covers the whole filter
//! (equalities, then one range). A page after a cursor used to match every older item
//! (page 20 of the public list read all 2 000 posts below it); an author's or a hashtag's
//! page went through one field's index and read every published post. Here the covered
//! part of the filter is its own conjunct — the index's equalities and a two-sided range
//! on the time — so the database reads about four pages of index keys, and the rest of the
//! filter (visibility, blocks, the cursor's tie on `_id`) is checked on those rows only.
//! MongoDB serves the same query from the same index and stops at the limit either way.
//!
//! The window's size comes from the list's pace: milliseconds of time per item, carried
//! in the cursor of the page before (`Cursor::pace`). A first page starts where this
//! instance's last full first page of the list ended (`FirstPages`). A guess that is too
//! small costs a command more, not a wrong page: a short window is widened (`WIDENINGS`
//! times) and then read without a bound. A list with nothing known (first read here, or
//! short enough to end within a page) is read without a bound, as before.

use std::collections::HashMap;
use std::sync::Mutex;

use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use mongodb::Collection;
use serde::de::DeserializeOwned;

use crate::domain::cursor::Cursor;

/// A list read through windows: the index-covered equalities, the time and tie fields
/// the list is sorted by (both descending), and the conditions no index covers.
pub struct Window {
    /// The leading equalities of the list's index (`{author_id, status}` for
    /// `author_published`); with the time range after them, the whole filter the index
    /// covers.
    pub covered: Document,
    pub time: &'static str,
    pub tie: &'static str,
    /// Every other condition, checked on the rows the window reads.
    pub rest: Vec<Document>,
}

/// How many times a short window is widened before it is read without a lower bound: at
/// the end of a list a page costs this many commands more.
const WIDENINGS: usize = 1;
/// The window holds about this many pages at the list's pace: room for a page that
/// spans more time than the one before (with two, page 20 of the bench's bursty list
/// measured 3 164 and then 1 615 req/s; a short window costs a command more).
const PAGES_PER_WINDOW: i64 = 4;

/// What sizes a page's window.
#[derive(Debug, Clone, Copy)]
pub enum Hint {
    /// Milliseconds per item (a cursor's pace): the window reaches `PAGES_PER_WINDOW`
    /// pages back from the cursor.
    Pace(i64),
    /// A first page: the window starts where the list's last full first page ended.
    Since(DateTime),
}

/// A page and the pace it showed (ms per item), for the next cursor.
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Milliseconds of the list's time per item across the page; `None` for a short page
    /// (the end of the list: the next first page reads it whole).
    pub pace: Option<i64>,
}

impl Window {
    /// The filter for items below `before` (a cursor, or none for the first page) and at
    /// or after `since` (none: unbounded below). The covered part is the first conjunct;
    /// the rest sits in a nested `$and`, so that SecantusDB routes by the first alone
    /// instead of merging everything into a filter no index covers.
    pub fn filter(&self, before: Option<Cursor>, since: Option<DateTime>) -> Document {
        let mut range = Document::new();
        if let Some(since) = since {
            range.insert("$gte", since);
        }
        let mut parts = Vec::with_capacity(3);
        let mut covered = self.covered.clone();
        if let Some(cursor) = before {
            let key = DateTime::from_millis(cursor.key.unwrap_or_default());
            range.insert("$lte", key);
            parts.push(doc! { "$or": [
                { self.time: { "$lt": key } },
                { self.time: key, self.tie: { "$lt": cursor.id } },
            ] });
        }
        if !range.is_empty() {
            covered.insert(self.time, range);
        }
        if !self.rest.is_empty() {
            parts.insert(0, doc! { "$and": self.rest.clone() });
        }
        parts.insert(0, covered);
        doc! { "$and": parts }
    }

    /// One page, newest first: `limit` items (fewer only at the end of the list).
    pub async fn newest<T>(
        &self,
        collection: &Collection<T>,
        projection: Option<Document>,
        before: Option<Cursor>,
        limit: i64,
        hint: Option<Hint>,
    ) -> mongodb::error::Result<Paged<T>>
    where
        T: DeserializeOwned + Send + Sync + Timed,
    {
        let top = before.and_then(|c| c.key).unwrap_or_else(now_millis);
        // A first page since where the list's last full first page ended: new items are
        // all inside; short (items removed or hidden since) it is read without a bound.
        if let Some(Hint::Since(since)) = hint {
            let items = self
                .find(collection, projection.clone(), before, Some(since), limit)
                .await?;
            if items.len() as i64 >= limit {
                return Ok(paged(items, before, limit));
            }
        }
        // A cursor's pace: `PAGES_PER_WINDOW` pages back from the cursor, widened once.
        if let Some(Hint::Pace(pace)) = hint {
            let mut pace = pace.max(1);
            for _ in 0..=WIDENINGS {
                let span = pace
                    .saturating_mul(limit.max(1))
                    .saturating_mul(PAGES_PER_WINDOW);
                let since = DateTime::from_millis(top.saturating_sub(span));
                let items = self
                    .find(collection, projection.clone(), before, Some(since), limit)
                    .await?;
                if items.len() as i64 >= limit {
                    return Ok(paged(items, before, limit));
                }
                // Short: the next window holds what this one held, scaled to a full page
                // twice over (sixteen times when it held nothing).
                let found = items.len() as i64;
                let grow = if found == 0 {
                    16
                } else {
                    (2 * limit / found).max(2)
                };
                pace = pace.saturating_mul(grow);
            }
        }
        // Nothing known (a list not read yet on this instance, one short enough to be
        // read whole), or every window came back short: read it as before.
        let items = self
            .find(collection, projection, before, None, limit)
            .await?;
        Ok(paged(items, before, limit))
    }

    async fn find<T>(
        &self,
        collection: &Collection<T>,
        projection: Option<Document>,
        before: Option<Cursor>,
        since: Option<DateTime>,
        limit: i64,
    ) -> mongodb::error::Result<Vec<T>>
    where
        T: DeserializeOwned + Send + Sync,
    {
        let options = mongodb::options::FindOptions::builder()
            .projection(projection)
            .sort(doc! { self.time: -1, self.tie: -1 })
            .limit(limit)
            .build();
        collection
            .find(self.filter(before, since))
            .with_options(options)
            .await?
            .try_collect()
            .await
    }
}

/// What a windowed list is sorted by.
pub trait Timed {
    fn time(&self) -> DateTime;
}

fn now_millis() -> i64 {
    DateTime::now().timestamp_millis()
}

/// A page as read, with the pace it shows when it is full (`limit` items); a short page is
/// the end of its list, read whole, and has none.
pub fn paged<T: Timed>(items: Vec<T>, before: Option<Cursor>, limit: i64) -> Paged<T> {
    if (items.len() as i64) < limit {
        return Paged { items, pace: None };
    }
    let top = before
        .and_then(|c| c.key)
        .or_else(|| items.first().map(|i| i.time().timestamp_millis()));
    let pace = match (top, items.last()) {
        (Some(top), Some(last)) => Some(pace_of(top, last.time().timestamp_millis(), items.len())),
        _ => None,
    };
    Paged { items, pace }
}

/// Milliseconds per item when `count` items span `top` down to `bottom`; at least 1.
pub fn pace_of(top: i64, bottom: i64, count: usize) -> i64 {
    let count = i64::try_from(count.max(1)).unwrap_or(i64::MAX);
    (top.saturating_sub(bottom) / count).max(1)
}

/// How many lists' first pages an instance keeps; past that it starts again from none.
const KEPT_LISTS: usize = 100_000;

/// Where each list's last full first page ended, as this instance read it (the public
/// list has its own, learned in the background: `posts::ListHorizon`): keyed by the list
/// (`"feed:<owner>"`, `"author:<id>"`, `"tag:rust"`).
#[derive(Default)]
pub struct FirstPages {
    learned: Mutex<HashMap<String, DateTime>>,
}

impl FirstPages {
    pub fn get(&self, list: &str) -> Option<DateTime> {
        self.learned.lock().ok()?.get(list).copied()
    }

    /// Keeps where a full first page ended, or forgets the list after a short one (read
    /// whole next time).
    pub fn learn<T: Timed>(&self, list: String, page: &Paged<T>, limit: i64) {
        let Ok(mut learned) = self.learned.lock() else {
            return;
        };
        match page.items.last() {
            Some(last) if page.items.len() as i64 >= limit => {
                if learned.len() >= KEPT_LISTS && !learned.contains_key(&list) {
                    learned.clear();
                }
                learned.insert(list, last.time());
            }
            _ => {
                learned.remove(&list);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::oid::ObjectId;

    fn window() -> Window {
        Window {
            covered: doc! { "author_id": 1, "status": "published" },
            time: "published_at",
            tie: "_id",
            rest: vec![doc! { "hidden": { "$ne": true } }],
        }
    }

    #[test]
    fn the_covered_part_comes_first_with_both_bounds() {
        let id = ObjectId::new();
        let cursor = Cursor {
            key: Some(5_000),
            id,
            pace: None,
        };
        let filter = window().filter(Some(cursor), Some(DateTime::from_millis(1_000)));
        let parts = filter.get_array("$and").unwrap();
        assert_eq!(
            parts[0].as_document().unwrap(),
            &doc! { "author_id": 1, "status": "published", "published_at": {
                "$gte": DateTime::from_millis(1_000), "$lte": DateTime::from_millis(5_000),
            } }
        );
        assert_eq!(
            parts[1].as_document().unwrap(),
            &doc! { "$and": [{ "hidden": { "$ne": true } }] }
        );
        assert!(parts[2].as_document().unwrap().contains_key("$or"));
    }

    #[test]
    fn a_first_page_is_bounded_below_only() {
        let filter = window().filter(None, Some(DateTime::from_millis(1_000)));
        let parts = filter.get_array("$and").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0]
                .as_document()
                .unwrap()
                .get_document("published_at")
                .unwrap(),
            &doc! { "$gte": DateTime::from_millis(1_000) }
        );
    }

    #[test]
    fn pace_is_time_per_item_and_never_zero() {
        assert_eq!(pace_of(10_000, 0, 10), 1_000);
        assert_eq!(pace_of(5, 5, 3), 1);
        assert_eq!(pace_of(5, 0, 0), 5);
    }

    struct At(i64);

    impl Timed for At {
        fn time(&self) -> DateTime {
            DateTime::from_millis(self.0)
        }
    }

    #[test]
    fn a_first_page_is_kept_where_it_ended_and_forgotten_when_short() {
        let lists = FirstPages::default();
        let full = paged(vec![At(30), At(20), At(10)], None, 3);
        lists.learn("tag:a".into(), &full, 3);
        assert_eq!(lists.get("tag:a"), Some(DateTime::from_millis(10)));
        let short = paged(vec![At(30)], None, 3);
        lists.learn("tag:a".into(), &short, 3);
        assert_eq!(lists.get("tag:a"), None);
    }
}
