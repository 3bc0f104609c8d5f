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
//! The first window's size comes from the list's pace: microseconds of time per item,
//! carried in the cursor of the page before (`Cursor::pace`). A first page starts where
//! this instance's last full first page of the list ended (`FirstPages`). A guess that is
//! too small costs a command more, not a wrong page: a short window is followed by one
//! below it, sized by what was found, and after `WINDOWS` of them the rest of the list is
//! read without a bound. A list with nothing known (first read here, or short enough to
//! end within a page) is read without a bound, as before.

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

/// The first window holds about this many pages at the list's pace. A window that comes
/// back short costs a command more and the rows of the next window, below it; one that
/// holds too much costs its extra rows (on the grown bench set about 0.25 ms of database
/// time a command against 0.005 ms a row). Of two, three and four pages with the later
/// windows as below, three cost least across the public list's first 40 pages there.
const PAGES_PER_WINDOW: i64 = 3;
/// How many windows a page reads at most, each below the one before, before it reads the
/// rest of the list without a lower bound.
pub(crate) const WINDOWS: usize = 6;
/// How much further back the next window reaches after one that held nothing: a gap in
/// the list is crossed in a command or two, not a command per window's width.
const EMPTY_GROWTH: i64 = 16;
/// After this many windows in a row that held nothing the rest of the list is read
/// without a bound: most often it has ended (a list's last page costs this many commands
/// more than one window).
pub(crate) const EMPTY_WINDOWS: usize = 2;
/// A window after windows that held part of the page reaches this many times as far as
/// the rest of the page needs at the density found so far…
const MARGIN: i64 = 3;
/// …but at most this many times as far as the windows so far (a density read from one
/// or two items is a poor guess, and a window too wide reads every row in it).
const MAX_GROWTH: i64 = 4;

/// What sizes a page's window.
#[derive(Debug, Clone, Copy)]
pub enum Hint {
    /// Microseconds per item (a cursor's pace): the first window reaches
    /// `PAGES_PER_WINDOW` pages back from the cursor.
    Pace(i64),
    /// A first page: the window starts where the list's last full first page ended.
    Since(DateTime),
}

/// A page and the pace it showed (µs per item), for the next cursor.
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Microseconds of the list's time per item across the page; `None` for a short page
    /// (the end of the list: the next first page reads it whole).
    pub pace: Option<i64>,
}

impl Window {
    /// The filter for items below `before` (a cursor, or none for the first page), below
    /// `upper` (exclusive: the time a window before this one started at, if any) and at or
    /// after `since` (none: unbounded below). The covered part is the first conjunct; the
    /// rest sits in a nested `$and`, so that SecantusDB routes by the first alone instead
    /// of merging everything into a filter no index covers.
    pub fn filter(
        &self,
        before: Option<Cursor>,
        upper: Option<DateTime>,
        since: Option<DateTime>,
    ) -> Document {
        let mut range = Document::new();
        if let Some(since) = since {
            range.insert("$gte", since);
        }
        let mut parts = Vec::with_capacity(3);
        let mut covered = self.covered.clone();
        if let Some(upper) = upper {
            range.insert("$lt", upper);
        }
        if let Some(cursor) = before {
            let key = DateTime::from_millis(cursor.key.unwrap_or_default());
            if upper.is_none() {
                range.insert("$lte", key);
            }
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

    /// One page, newest first: `limit` items (fewer only at the end of the list). Read
    /// through windows of time, each below the one before: the first from the hint, the
    /// next sized by what the windows so far held (`next_span`), and after `WINDOWS` of
    /// them the rest of the list without a lower bound. No row is read twice.
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
        let first = first_since(hint, top, limit);
        let mut items = Vec::new();
        // Where the last window started: the next one reads below it.
        let mut upper: Option<DateTime> = None;
        if let Some(mut since) = first {
            let mut empty = 0;
            for _ in 0..WINDOWS {
                let wanted = limit.saturating_sub(items.len() as i64);
                let found = self
                    .find(
                        collection,
                        projection.clone(),
                        before,
                        upper,
                        Some(DateTime::from_millis(since)),
                        wanted,
                    )
                    .await?;
                let held = found.len() as i64;
                items.extend(found);
                if items.len() as i64 >= limit {
                    return Ok(paged(items, before, limit));
                }
                upper = Some(DateTime::from_millis(since));
                empty = if held == 0 { empty + 1 } else { 0 };
                if empty >= EMPTY_WINDOWS {
                    break;
                }
                let read = top.saturating_sub(since);
                since = since.saturating_sub(next_span(read, items.len() as i64, held, limit));
            }
        }
        let wanted = limit.saturating_sub(items.len() as i64);
        let rest = self
            .find(collection, projection, before, upper, None, wanted)
            .await?;
        items.extend(rest);
        Ok(paged(items, before, limit))
    }

    async fn find<T>(
        &self,
        collection: &Collection<T>,
        projection: Option<Document>,
        before: Option<Cursor>,
        upper: Option<DateTime>,
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
        let filter = self.filter(before, upper, since);
        // `RUST_LOG=rookery::store::window=debug`: each window's filter and what it held
        // (how a page's commands and rows were spent).
        let shown = log::log_enabled!(log::Level::Debug).then(|| filter.clone());
        let found: Vec<T> = collection
            .find(filter)
            .with_options(options)
            .await?
            .try_collect()
            .await?;
        if let Some(filter) = shown {
            log::debug!("window {filter} limit {limit}: {} items", found.len());
        }
        Ok(found)
    }
}

/// Where a page's first window starts (ms), for a page from `top` down: where the list's
/// last full first page ended (new items are all inside), or `PAGES_PER_WINDOW` pages
/// at the cursor's pace; `None` when nothing is known (a list not read yet on this
/// instance, one short enough to be read whole), to read it without a bound.
pub(crate) fn first_since(hint: Option<Hint>, top: i64, limit: i64) -> Option<i64> {
    match hint {
        Some(Hint::Since(since)) => Some(since.timestamp_millis()),
        Some(Hint::Pace(pace)) => Some(top.saturating_sub(span_of(pace, limit))),
        None => None,
    }
}

/// What a windowed list is sorted by.
pub trait Timed {
    fn time(&self) -> DateTime;
}

fn now_millis() -> i64 {
    DateTime::now().timestamp_millis()
}

/// Whether `left` items (the rest of a list, as far as its length and a cursor's count of
/// what came before tell) are few enough to read without a bound: no more than a first
/// window at the list's pace reads.
pub fn few_enough(left: i64, limit: i64) -> bool {
    left <= limit.saturating_mul(PAGES_PER_WINDOW)
}

/// The first window's width in milliseconds at `pace` (µs per item): `PAGES_PER_WINDOW`
/// pages, at least a millisecond (the list's time is in milliseconds).
fn span_of(pace: i64, limit: i64) -> i64 {
    (pace
        .saturating_mul(limit.max(1))
        .saturating_mul(PAGES_PER_WINDOW)
        / 1_000)
        .max(1)
}

/// How far back the next window reaches (ms) after windows spanning `read` ms held
/// `found` of the page's `limit` items, `last` of them in the last window: `MARGIN` times
/// what the rest needs at that density, between as far as the windows so far and
/// `MAX_GROWTH` times that; `EMPTY_GROWTH` times as far when the last held nothing.
pub(crate) fn next_span(read: i64, found: i64, last: i64, limit: i64) -> i64 {
    let read = read.max(1);
    if last <= 0 || found <= 0 {
        return read.saturating_mul(EMPTY_GROWTH);
    }
    let needed = limit.saturating_sub(found).max(1);
    (read.saturating_mul(MARGIN).saturating_mul(needed) / found)
        .clamp(read, read.saturating_mul(MAX_GROWTH))
}

/// How much sparser than the pace a list was last learned at a cursor may say it is.
/// A cursor's pace is the client's to forge, and on SecantusDB a window as wide as the
/// list reads every row of it; held here, a forged one reads at most 16 × three pages at
/// the list's pace. A list truly sparser below (night under a busy top) pays with
/// windows that widen: a few commands more while the first or second window still holds
/// an item (up to several thousand times sparser at ten a page); beyond that, two empty
/// windows and then the rest read without a bound.
const MAX_PACE_OVER_LEARNED: i64 = 16;

/// A cursor's pace held within `MAX_PACE_OVER_LEARNED` times the pace the list itself
/// was learned at (`learned`: `None` when not known here, then the cursor's stands). A
/// pace held too low only costs a command or two more: the next windows widen.
pub fn bounded_pace(brought: Option<i64>, learned: Option<i64>) -> Option<i64> {
    match (brought, learned) {
        (Some(brought), Some(learned)) => {
            Some(brought.min(learned.saturating_mul(MAX_PACE_OVER_LEARNED)))
        }
        (brought, _) => brought,
    }
}

/// A page as read, with the pace for the next cursor when it is full (`limit` items): the
/// mean of this page's and the pace the cursor brought, so that a page denser than the
/// list around it does not leave the next window short; but at most twice this page's,
/// so that a sparse stretch behind does not make the windows of a dense one read many
/// pages. Simulated on the grown bench set's lists, it cost 0.78 ms of database time a
/// page against 0.87 from this page's pace alone and 0.91 from the plain mean, which
/// doubled a hashtag's cost after a gap. A short page is the end of its list, read
/// whole, and has none.
pub fn paged<T: Timed>(items: Vec<T>, before: Option<Cursor>, limit: i64) -> Paged<T> {
    if (items.len() as i64) < limit {
        return Paged { items, pace: None };
    }
    let top = before
        .and_then(|c| c.key)
        .or_else(|| items.first().map(|i| i.time().timestamp_millis()));
    let pace = match (top, items.last()) {
        (Some(top), Some(last)) => {
            let page = pace_of(top, last.time().timestamp_millis(), items.len());
            Some(match before.and_then(|c| c.pace) {
                Some(brought) => (brought.saturating_add(page) / 2).min(page.saturating_mul(2)),
                None => page,
            })
        }
        _ => None,
    };
    Paged { items, pace }
}

/// Microseconds per item when `count` items span `top` down to `bottom` (milliseconds);
/// at least 1. Finer than the list's milliseconds, so that a list written faster than an
/// item a millisecond is not read through windows many pages too wide.
pub fn pace_of(top: i64, bottom: i64, count: usize) -> i64 {
    let count = i64::try_from(count.max(1)).unwrap_or(i64::MAX);
    (top.saturating_sub(bottom).saturating_mul(1_000) / count).max(1)
}

/// How many lists' first pages an instance keeps; past that it starts again from none.
const KEPT_LISTS: usize = 100_000;

/// Where each list's last full first page ended and the pace it showed, as this instance
/// read it (the public list has its own, learned in the background: `posts::ListHorizon`):
/// keyed by the list (`"feed:<owner>"`, `"author:<id>"`, `"tag:rust"`).
#[derive(Default)]
pub struct FirstPages {
    learned: Mutex<HashMap<String, FirstPage>>,
}

#[derive(Clone, Copy)]
struct FirstPage {
    ended: DateTime,
    /// µs per item across it.
    pace: Option<i64>,
}

impl FirstPages {
    pub fn get(&self, list: &str) -> Option<DateTime> {
        Some(self.learned.lock().ok()?.get(list)?.ended)
    }

    /// What sizes a page of `list`: the cursor's pace (within `MAX_PACE_OVER_LEARNED`
    /// times the list's, when known here); for a cursor without one (a
    /// Mastodon `max_id`, a cursor handed out before cursors carried paces) the pace of
    /// the list's last full first page here, else `fallback`; for a first page, where the
    /// last full one ended. `None`: read the list without a bound.
    pub fn hint(
        &self,
        list: &str,
        cursor: Option<Cursor>,
        fallback: impl FnOnce() -> Option<i64>,
    ) -> Option<Hint> {
        match cursor {
            Some(cursor) => bounded_pace(cursor.pace, self.pace(list))
                .or_else(|| self.pace_or(list, fallback))
                .map(Hint::Pace),
            None => self.get(list).map(Hint::Since),
        }
    }

    /// The pace of the list's last full first page here (µs per item), if known.
    fn pace(&self, list: &str) -> Option<i64> {
        self.learned.lock().ok()?.get(list)?.pace
    }

    /// `pace`, else `fallback` (the public list's pace: no list is denser).
    pub fn pace_or(&self, list: &str, fallback: impl FnOnce() -> Option<i64>) -> Option<i64> {
        self.pace(list).or_else(fallback)
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
                let ended = last.time();
                learned.insert(
                    list,
                    FirstPage {
                        ended,
                        pace: page.pace,
                    },
                );
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
            seen: None,
        };
        let filter = window().filter(Some(cursor), None, Some(DateTime::from_millis(1_000)));
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

    /// The range the covered first conjunct puts on the time.
    fn time_range(filter: &Document) -> Document {
        let parts = filter.get_array("$and").unwrap();
        let covered = parts[0].as_document().unwrap();
        covered.get_document("published_at").unwrap().clone()
    }

    #[test]
    fn a_first_page_is_bounded_below_only() {
        let filter = window().filter(None, None, Some(DateTime::from_millis(1_000)));
        assert_eq!(filter.get_array("$and").unwrap().len(), 2);
        assert_eq!(
            time_range(&filter),
            doc! { "$gte": DateTime::from_millis(1_000) }
        );
    }

    #[test]
    fn a_window_below_another_is_bounded_by_where_that_one_started() {
        let cursor = Cursor {
            key: Some(5_000),
            id: ObjectId::new(),
            pace: None,
            seen: None,
        };
        let filter = window().filter(
            Some(cursor),
            Some(DateTime::from_millis(3_000)),
            Some(DateTime::from_millis(1_000)),
        );
        assert_eq!(
            time_range(&filter),
            doc! {
                "$gte": DateTime::from_millis(1_000), "$lt": DateTime::from_millis(3_000),
            }
        );
    }

    #[test]
    fn pace_is_microseconds_per_item_and_never_zero() {
        assert_eq!(pace_of(10_000, 0, 10), 1_000_000);
        assert_eq!(pace_of(10, 0, 40), 250);
        assert_eq!(pace_of(5, 5, 3), 1);
        assert_eq!(pace_of(5, 0, 0), 5_000);
    }

    #[test]
    fn the_first_window_holds_three_pages_and_at_least_a_millisecond() {
        assert_eq!(span_of(1_000, 10), 30);
        assert_eq!(span_of(250, 20), 15);
        assert_eq!(span_of(1, 10), 1);
    }

    #[test]
    fn the_next_window_follows_what_the_last_ones_held() {
        // 5 of 10 in 100 ms: the other 5 need 100 ms more at that density, three times that.
        assert_eq!(next_span(100, 5, 5, 10), 300);
        // 9 of 10: never less than what was read.
        assert_eq!(next_span(100, 9, 2, 10), 100);
        // 1 of 10: a guess from one item reaches at most four times as far.
        assert_eq!(next_span(100, 1, 1, 10), 400);
        // The last window held nothing (a gap, or the list's end): sixteen times as far.
        assert_eq!(next_span(100, 0, 0, 10), 1_600);
        assert_eq!(next_span(100, 5, 0, 10), 1_600);
        assert_eq!(next_span(0, 0, 0, 10), 16);
        assert_eq!(next_span(i64::MAX, 0, 0, 10), i64::MAX);
    }

    struct At(i64);

    impl Timed for At {
        fn time(&self) -> DateTime {
            DateTime::from_millis(self.0)
        }
    }

    #[test]
    fn the_next_pace_is_the_mean_of_the_page_and_the_one_brought_within_twice_the_page() {
        let page = || vec![At(1_000), At(900), At(800), At(600)];
        let cursor = |pace| Cursor {
            key: Some(1_000),
            id: ObjectId::new(),
            pace,
            seen: None,
        };
        // 400 ms over 4 items: 100 000 µs an item.
        assert_eq!(paged(page(), Some(cursor(None)), 4).pace, Some(100_000));
        assert_eq!(
            paged(page(), Some(cursor(Some(300_000))), 4).pace,
            Some(200_000)
        );
        assert_eq!(
            paged(page(), Some(cursor(Some(2_000))), 4).pace,
            Some(51_000)
        );
        assert_eq!(
            paged(page(), Some(cursor(Some(i64::MAX))), 4).pace,
            Some(200_000)
        );
        assert_eq!(paged(page(), Some(cursor(Some(1))), 5).pace, None);
    }

    #[test]
    fn a_cursors_pace_is_held_within_sixteen_times_the_learned_one() {
        assert_eq!(bounded_pace(Some(i64::MAX), Some(1_000)), Some(16_000));
        assert_eq!(bounded_pace(Some(5_000), Some(1_000)), Some(5_000));
        assert_eq!(bounded_pace(Some(i64::MAX), None), Some(i64::MAX));
        assert_eq!(bounded_pace(None, Some(1_000)), None);
        assert_eq!(bounded_pace(Some(7), Some(i64::MAX)), Some(7));
    }

    #[test]
    fn a_cursor_without_a_pace_takes_the_lists_own_else_the_fallback() {
        let lists = FirstPages::default();
        let cursor = |pace| Cursor {
            key: Some(1_000),
            id: ObjectId::new(),
            pace,
            seen: None,
        };
        let pace = |hint: Option<Hint>| match hint {
            Some(Hint::Pace(pace)) => Some(pace),
            _ => None,
        };
        assert_eq!(pace(lists.hint("tag:a", Some(cursor(None)), || None)), None);
        assert_eq!(
            pace(lists.hint("tag:a", Some(cursor(None)), || Some(7))),
            Some(7)
        );
        // 20 ms over 3 items.
        let full = paged(vec![At(30), At(20), At(10)], None, 3);
        lists.learn("tag:a".into(), &full, 3);
        assert_eq!(
            pace(lists.hint("tag:a", Some(cursor(None)), || Some(7))),
            Some(6_666)
        );
        // A cursor's own pace comes first, within 16 times the list's; a first page
        // starts where the last one ended.
        assert_eq!(
            pace(lists.hint("tag:a", Some(cursor(Some(9))), || Some(7))),
            Some(9)
        );
        assert_eq!(
            pace(lists.hint("tag:a", Some(cursor(Some(i64::MAX))), || Some(7))),
            Some(6_666 * 16)
        );
        assert_eq!(
            pace(lists.hint("tag:b", Some(cursor(Some(i64::MAX))), || Some(7))),
            Some(i64::MAX)
        );
        assert!(matches!(
            lists.hint("tag:a", None, || Some(7)),
            Some(Hint::Since(since)) if since == DateTime::from_millis(10)
        ));
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
