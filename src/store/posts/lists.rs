//! Lists of published posts (newest first, keyset pages) and the public list's
//! learned horizon; an author's scheduled posts.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::store::window::{self, pace_of, paged, FirstPages, Hint, Paged, Timed, Window};
use crate::store::{after_asc, after_desc};

use super::base::*;

/// What a published-post list is narrowed to.
#[derive(Debug, Default, Clone)]
pub struct PostFilter {
    pub author_id: Option<ObjectId>,
    pub hashtag: Option<String>,
    /// Every one of these words must appear.
    pub terms: Vec<String>,
    /// Only posts by one of these authors, when not empty.
    pub authors: Vec<ObjectId>,
    /// Authors hidden from the viewer (blocks).
    pub hidden_authors: Vec<ObjectId>,
    /// With `author_id`: that author's `posts_count`, the length of the list (less what
    /// is in private groups, which it reads too). With a cursor's count of what came
    /// before (`Cursor::seen`) it tells when few are left.
    pub author_posts: Option<i64>,
}

impl PostFilter {
    /// Whether this is the public list: nothing narrows it to an author, a hashtag, words
    /// or a set of authors (a reader's hidden authors may still be left out of it).
    pub fn is_public_list(&self) -> bool {
        self.author_id.is_none()
            && self.hashtag.is_none()
            && self.terms.is_empty()
            && self.authors.is_empty()
    }
}

/// Published posts, newest first. `since` bounds the first page from below (see
/// `ListHorizon`); a bounded query names `published_at` first, so SecantusDB reads it
/// through the `published_newest` index instead of every published post's entry.
pub async fn page_published(
    db: &Db,
    filter: &PostFilter,
    cursor: Option<Cursor>,
    since: Option<DateTime>,
    limit: i64,
) -> mongodb::error::Result<Vec<PostDoc>> {
    collection(db)
        .find(published_query(filter, cursor, since))
        .projection(shown())
        .sort(doc! { "published_at": -1, "_id": -1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// The longest offset an offset page may ask for (RealWorld's `offset`): the server walks
/// that many index entries before the page, so it is bounded like a page size.
pub const MAX_OFFSET: u64 = 10_000;

/// `page_published` by offset instead of a cursor: the same query and index order, with
/// the first `offset` posts skipped (at most `MAX_OFFSET`).
pub async fn page_published_at(
    db: &Db,
    filter: &PostFilter,
    offset: u64,
    limit: i64,
) -> mongodb::error::Result<Vec<PostDoc>> {
    collection(db)
        .find(published_query(filter, None, None))
        .projection(shown())
        .sort(doc! { "published_at": -1, "_id": -1 })
        .skip(offset.min(MAX_OFFSET))
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// How many posts `page_published` lists for `filter`.
pub async fn count_published(db: &Db, filter: &PostFilter) -> mongodb::error::Result<u64> {
    collection(db)
        .count_documents(published_query(filter, None, None))
        .await
}

fn published_query(
    filter: &PostFilter,
    cursor: Option<Cursor>,
    since: Option<DateTime>,
) -> Document {
    let mut query = match since {
        Some(since) => doc! { "published_at": { "$gte": since } },
        None => doc! {},
    };
    query.extend(after_desc("published_at", cursor));
    query.extend(listed());
    if !filter.hidden_authors.is_empty() || filter.author_id.is_some() || !filter.authors.is_empty()
    {
        let mut author = doc! {};
        if !filter.hidden_authors.is_empty() {
            author.insert("$nin", &filter.hidden_authors);
        }
        if let Some(id) = filter.author_id {
            author.insert("$eq", id);
        }
        if !filter.authors.is_empty() {
            author.insert("$in", &filter.authors);
        }
        query.insert("author_id", author);
    }
    if let Some(tag) = &filter.hashtag {
        query.insert("hashtags", tag);
    }
    if !filter.terms.is_empty() {
        query.insert("terms", doc! { "$all": &filter.terms });
    }
    query
}

/// How long a learned horizon or count is used before it is learned again (in the
/// background).
const HORIZON_TTL: Duration = Duration::from_secs(10);

/// A value this instance learns from the database and uses for `HORIZON_TTL`, then
/// relearns in the background, one relearn at a time, serving the last value meanwhile.
#[derive(Default)]
struct Learned<T> {
    value: Option<T>,
    learned_at: Option<Instant>,
    learning: bool,
}

impl<T> Learned<T> {
    /// Whether a relearn is due and none is under way; if so, it is now under way.
    fn start_relearning(&mut self) -> bool {
        let fresh = self.learned_at.is_some_and(|at| at.elapsed() < HORIZON_TTL);
        if fresh || self.learning {
            return false;
        }
        self.learning = true;
        true
    }

    /// Keeps what a learn found; after a failure (logged as `what`) the last value stays
    /// and the next use starts another.
    fn keep(&mut self, found: mongodb::error::Result<T>, what: &str) {
        self.learning = false;
        match found {
            Ok(value) => {
                self.value = Some(value);
                self.learned_at = Some(Instant::now());
            }
            Err(err) => log::warn!("{what} failed: {err}"),
        }
    }
}

/// Where the newest `posts` listed posts begin (`feed.list_horizon_posts`, more than a
/// page holds), as each instance last learned it.
/// The first page of the public list asks only for posts published since then: every
/// post not yet learned is newer, so the window only grows, and a page that comes back
/// full is exactly the page the unbounded query gives (whatever it leaves out is older
/// than all of it). A page that comes back short (posts removed or hidden since, a reader
/// who blocks many authors) is asked again without the bound, and the horizon relearned.
/// This matters on SecantusDB, which reads every row a filter matches before applying
/// `limit`: the public list's first page went from all published posts to about 250.
/// MongoDB serves both forms from an index and stops at the limit.
pub struct ListHorizon {
    /// 0: never bound.
    posts: u64,
    learned: Mutex<Learned<Horizon>>,
}

#[derive(Default)]
struct Horizon {
    /// `None` also when fewer than `posts` are listed: then there is nothing to bound.
    since: Option<DateTime>,
    /// The public list's pace across those posts (µs per item), from the newest to the
    /// oldest of them.
    pace: Option<i64>,
}

impl ListHorizon {
    pub fn new(posts: u64) -> Self {
        Self {
            posts,
            learned: Mutex::default(),
        }
    }

    /// The bound to use now, if one is known, starting a relearn when it is stale.
    fn current(self: &Arc<Self>, db: &Db) -> Option<DateTime> {
        if self.posts == 0 {
            return None;
        }
        let mut horizon = self.learned.lock().ok()?;
        if horizon.start_relearning() {
            let (this, db) = (Arc::clone(self), db.clone());
            tokio::spawn(async move { this.learn(&db).await });
        }
        horizon.value.as_ref()?.since
    }

    /// The public list's pace near its top (µs per item), as last learned.
    fn pace(self: &Arc<Self>, db: &Db) -> Option<i64> {
        self.current(db)?;
        self.learned.lock().ok()?.value.as_ref()?.pace
    }

    fn forget(&self) {
        if let Ok(mut horizon) = self.learned.lock() {
            horizon.learned_at = None;
        }
    }

    /// Learns the bound and the pace from the newest `posts` listed posts' times: those
    /// since the bound learned before, through its window (about `posts` rows and the ones
    /// published since), or the whole list when that holds fewer (the first time, or after
    /// removals).
    async fn learn(&self, db: &Db) {
        let previous = self
            .learned
            .lock()
            .ok()
            .and_then(|h| h.value.as_ref()?.since);
        let posts = i64::try_from(self.posts).unwrap_or(i64::MAX);
        let mut times = match previous {
            Some(since) => self.times(db, Some(since), posts).await,
            None => Ok(Vec::new()),
        };
        if times.as_ref().is_ok_and(|t| (t.len() as i64) < posts) {
            times = self.times(db, None, posts).await;
        }
        let found = times.map(|times| {
            let last = usize::try_from(posts)
                .ok()
                .and_then(|n| times.get(n.checked_sub(1)?));
            Horizon {
                since: last.copied(),
                pace: times.first().zip(last).map(|(newest, since)| {
                    pace_of(
                        newest.timestamp_millis(),
                        since.timestamp_millis(),
                        times.len(),
                    )
                }),
            }
        });
        if let Ok(mut horizon) = self.learned.lock() {
            horizon.keep(found, "learning the public list's horizon");
        }
    }

    /// The times of the newest `posts` listed posts at or after `since`, newest first.
    async fn times(
        &self,
        db: &Db,
        since: Option<DateTime>,
        posts: i64,
    ) -> mongodb::error::Result<Vec<DateTime>> {
        let filter = match window_of(&PostFilter::default()) {
            Some((window, _)) => window.filter(None, None, since),
            None => listed(),
        };
        let found: Vec<Document> = collection(db)
            .clone_with_type::<Document>()
            .find(filter)
            .projection(doc! { "published_at": 1 })
            .sort(doc! { "published_at": -1, "_id": -1 })
            .limit(posts)
            .await?
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .filter_map(|d| d.get_datetime("published_at").ok().copied())
            .collect())
    }
}

/// How many posts the public list holds, as this instance last counted them: RealWorld's
/// `articlesCount` for its unfiltered list. A count reads every listed post on SecantusDB
/// (about 65 ms at 20 000), so it is taken at most once every `HORIZON_TTL` here: the
/// first read counts, a later one gets the last count and, when that is older, starts a
/// new one in the background. A count stays the public list's: it is not lowered for a
/// reader's blocks, and it may miss posts of the last few seconds (the RealWorld list
/// raises it to what its pages have shown).
#[derive(Default)]
pub struct ListCount {
    learned: Mutex<Learned<u64>>,
}

impl ListCount {
    pub async fn get(self: &Arc<Self>, db: &Db) -> mongodb::error::Result<u64> {
        if let Some(count) = self.known(db) {
            return Ok(count);
        }
        let count = count_published(db, &PostFilter::default()).await?;
        self.keep(Ok(count));
        Ok(count)
    }

    /// The last count, starting a new one in the background when it is stale.
    fn known(self: &Arc<Self>, db: &Db) -> Option<u64> {
        let mut counted = self.learned.lock().ok()?;
        if counted.value.is_some() && counted.start_relearning() {
            let (this, db) = (Arc::clone(self), db.clone());
            tokio::spawn(async move {
                let count = count_published(&db, &PostFilter::default()).await;
                this.keep(count);
            });
        }
        counted.value
    }

    fn keep(&self, count: mongodb::error::Result<u64>) {
        if let Ok(mut counted) = self.learned.lock() {
            counted.keep(count, "counting the public list");
        }
    }
}

impl Timed for PostDoc {
    fn time(&self) -> DateTime {
        self.published_at
    }
}

/// The window a list is read through (`store::window`), and the name its pace is kept
/// under, when one index covers its filter: the public list (`published`), an author's
/// posts (`author_published`) or a hashtag's (`hashtag_published`). Word search and the
/// followed celebrities' merge (`authors`) read as before.
fn window_of(filter: &PostFilter) -> Option<(Window, String)> {
    if !filter.terms.is_empty() || !filter.authors.is_empty() {
        return None;
    }
    let (covered, list) = match (filter.author_id, &filter.hashtag) {
        // Index `author_published`: {author_id, status, published_at, _id}.
        (Some(author), None) => (
            doc! { "author_id": author, "status": "published" },
            format!("author:{author}"),
        ),
        // Index `hashtag_published`: {hashtags, status, published_at, _id}.
        (None, Some(tag)) => (
            doc! { "hashtags": tag, "status": "published" },
            format!("tag:{tag}"),
        ),
        // Index `published`: {status, published_at, _id}.
        (None, None) => (doc! { "status": "published" }, "public".to_owned()),
        (Some(_), Some(_)) => return None,
    };
    // What `listed()` asks beyond the status the index covers.
    let mut shown = listed();
    shown.remove("status");
    let mut rest = vec![shown];
    if !filter.hidden_authors.is_empty() {
        rest.push(doc! { "author_id": { "$nin": &filter.hidden_authors } });
    }
    let window = Window {
        covered,
        time: "published_at",
        tie: "_id",
        rest,
    };
    Some((window, list))
}

/// The filter a page of `filter` after `cursor` is asked with, bounded below by `since`
/// and, for a window below an earlier one, above by `upper`: what `page_listed` sends
/// (for tests that check its plan with `explain`).
pub fn listed_page_filter(
    filter: &PostFilter,
    cursor: Option<Cursor>,
    upper: Option<DateTime>,
    since: Option<DateTime>,
) -> Document {
    match window_of(filter) {
        Some((window, _)) => window.filter(cursor, upper, since),
        None => published_query(filter, cursor, since),
    }
}

/// `page_published` for the lists readers page through: the public list, an author's
/// posts and a hashtag's. An unfiltered first page is asked for within the horizon first
/// (`ListHorizon`); every other page one index covers is read through a window of time
/// (`store::window`) sized by the cursor's pace, or for a first page starting where this
/// instance's last full first page of the list ended. Returns the page and its pace, for
/// the next cursor.
pub async fn page_listed(
    db: &Db,
    horizon: &Arc<ListHorizon>,
    first_pages: &FirstPages,
    filter: &PostFilter,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Paged<PostDoc>> {
    let everything = filter.is_public_list();
    // A horizon that no longer fills the page is a window that came back short: the page
    // is read without a bound, as after a short window.
    let mut tried_horizon = false;
    if everything && cursor.is_none() {
        if let Some(since) = horizon.current(db) {
            tried_horizon = true;
            let page = page_published(db, filter, None, Some(since), limit).await?;
            if page.len() as i64 == limit {
                return Ok(paged(page, None, limit));
            }
            horizon.forget();
        }
    }
    let Some((window, list)) = window_of(filter) else {
        let page = page_published(db, filter, cursor, None, limit).await?;
        return Ok(paged(page, cursor, limit));
    };
    // No cursor's pace far sparser than the list's own is taken: a forged one would make
    // a window of all of it. Other lists are held to the pace of their last full first
    // page here (`FirstPages::hint`); the public list's first pages go through the
    // horizon, which learns its pace.
    let cursor = match cursor {
        Some(mut cursor) if everything && cursor.pace.is_some() => {
            cursor.pace = window::bounded_pace(cursor.pace, horizon.pace(db));
            Some(cursor)
        }
        cursor => cursor,
    };
    // When few of an author's posts are left below the cursor, the rest is read whole: one
    // command that reads about what a first window would, however the rest is spread
    // (windows would cross each gap in it at a command or two each).
    let few_left = |cursor: Cursor| {
        let left = filter
            .author_posts
            .zip(cursor.seen)
            .map(|(n, seen)| n.saturating_sub(seen));
        left.is_some_and(|left| window::few_enough(left, limit))
    };
    // A cursor without a pace (a Mastodon `max_id`) is paged at the list's own pace if
    // known, else at the public list's: no list is denser, so its first window holds at
    // most what one at the list's own pace would, and it widens from there.
    let hint = match cursor {
        None if tried_horizon => None,
        Some(cursor) if few_left(cursor) => None,
        _ => first_pages.hint(&list, cursor, || horizon.pace(db)),
    };
    let page = window
        .newest(&collection(db), Some(shown()), cursor, limit, hint)
        .await?;
    if cursor.is_none() {
        first_pages.learn(list, &page, limit);
    }
    Ok(page)
}

/// `page_listed` by offset (RealWorld's `offset`, at most `MAX_OFFSET`): the list's
/// first `offset + limit` posts and the page after the first `offset` of them. They are
/// read as the lists readers page through are: the public list's within its horizon when
/// that holds them, else through windows from the top at the list's pace (this
/// instance's last full first page of it, or the public list's), instead of a `skip` over
/// a filter no bound narrows (every post it matches, on SecantusDB). Lists no index
/// covers skip as before (`page_published_at`).
pub async fn page_listed_at(
    db: &Db,
    horizon: &Arc<ListHorizon>,
    first_pages: &FirstPages,
    filter: &PostFilter,
    offset: u64,
    limit: i64,
) -> mongodb::error::Result<Vec<PostDoc>> {
    let Some((window, list)) = window_of(filter) else {
        return page_published_at(db, filter, offset, limit).await;
    };
    let skip = offset.min(MAX_OFFSET);
    let wanted = limit.saturating_add(i64::try_from(skip).unwrap_or(i64::MAX));
    let within_horizon =
        filter.is_public_list() && u64::try_from(wanted).is_ok_and(|n| n <= horizon.posts);
    let since = within_horizon.then(|| horizon.current(db)).flatten();
    let hint = match since {
        Some(since) => Some(Hint::Since(since)),
        None => first_pages
            .pace_or(&list, || horizon.pace(db))
            .map(Hint::Pace),
    };
    let page = window
        .newest(&collection(db), Some(shown()), None, wanted, hint)
        .await?;
    Ok(page
        .items
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .collect())
}

/// An author's scheduled posts, soonest first.
pub async fn page_scheduled(
    db: &Db,
    author_id: ObjectId,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<PostDoc>> {
    let mut query = after_asc("published_at", cursor);
    query.insert("status", "scheduled");
    query.insert("author_id", author_id);
    collection(db)
        .find(query)
        .projection(shown())
        .sort(doc! { "published_at": 1, "_id": 1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}
