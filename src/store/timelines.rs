//! The home feed's storage, fanned out on write: the `timeline_batches` collection. A
//! document is a batch of one owner's entries (a post in their feed each), all published
//! within `SPAN_MS` of the batch's newest, `top`. Fan-out writes one batch per follower
//! for all the posts a publication run brings them, so under load a post costs a share of
//! a document per follower instead of a document each (SecantusDB charges about as much
//! for a document as for eight index entries, `bench/QUICK.md`). Sharded by `owner_id`,
//! like the entries were: a feed read goes to one shard.
//!
//! A page reads batches by `(owner_id, top)` (index `owner_top`) through windows of time,
//! as `store::window` reads other lists: every entry older than a cursor's time lies in a
//! batch whose `top` is at most `SPAN_MS` above it, so a window of batches down to a time
//! holds every entry from that time up to the cursor. Entries are unique per owner and post
//! on reading (a retried fan-out may write one twice); the multikey index `post` finds a
//! post's entries in every feed (deletion, moderation).

use std::collections::HashSet;

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use mongodb::Collection;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::store::insert_all_once;
use crate::store::posts::PostDoc;
use crate::store::window::{self, FirstPages, Hint, Paged, Timed, Window};

/// How many entries one `insert_many` carries during fan-out.
pub const FAN_OUT_BATCH: usize = 1000;

/// The most a batch's entries are apart in time (ms). A page after a cursor reads the
/// batches up to this far above the cursor's time; a wider span makes fewer batches of a
/// slow stream of posts but more read above the cursor.
pub const SPAN_MS: i64 = 1_000;

/// The most entries one batch holds (a follow's backfill, a busy publication run), so a
/// document stays small.
const MOST_ENTRIES: usize = 500;

/// A post in an owner's feed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub post_id: ObjectId,
    pub author_id: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<ObjectId>,
    pub published_at: DateTime,
    /// The post is hidden by reports: the entry stays, out of the feed, until a moderator
    /// acts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

impl Entry {
    pub fn of(post: &PostDoc) -> Self {
        Self {
            post_id: post.id,
            author_id: post.author_id,
            group_id: post.group_id,
            published_at: post.published_at,
            hidden: post.hidden,
        }
    }

    fn key(&self) -> (DateTime, ObjectId) {
        (self.published_at, self.post_id)
    }
}

impl Timed for Entry {
    fn time(&self) -> DateTime {
        self.published_at
    }
}

/// One owner's entries written together, newest first; `top` is the newest's time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineBatch {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub owner_id: ObjectId,
    pub top: DateTime,
    pub entries: Vec<Entry>,
}

impl TimelineBatch {
    /// A batch of one entry: the author's own, as the creating request writes it.
    pub fn one(owner_id: ObjectId, post: &PostDoc) -> Self {
        Self::of(owner_id, vec![Entry::of(post)])
    }

    /// A batch of `entries` (newest first), its `_id` following from the owner and the
    /// posts, so that the same batch written twice (a retried run, the author's own entry
    /// that the request wrote and the job writes again) is written once, and a change
    /// stream sees it once.
    fn of(owner_id: ObjectId, entries: Vec<Entry>) -> Self {
        use sha2::{Digest, Sha256};
        let top = entries
            .first()
            .map_or_else(DateTime::now, |e| e.published_at);
        let mut hash = Sha256::new();
        hash.update(owner_id.bytes());
        for entry in &entries {
            hash.update(entry.post_id.bytes());
        }
        let hash = hash.finalize();
        let mut rest = [0u8; 8];
        rest.copy_from_slice(&hash[..8]);
        Self {
            id: crate::store::object_id_at(top, rest),
            owner_id,
            top,
            entries,
        }
    }
}

/// Entries `(owner, entry)` as batches: by owner, newest first, each post once per owner,
/// a new batch where the next entry is more than `SPAN_MS` below the batch's newest or
/// the batch is full. An author's own entry is a batch of its own, the one the creating
/// request writes (`TimelineBatch::one`).
pub fn batches(mut entries: Vec<(ObjectId, Entry)>) -> Vec<TimelineBatch> {
    entries.sort_by(|(a_owner, a), (b_owner, b)| {
        a_owner.cmp(b_owner).then_with(|| b.key().cmp(&a.key()))
    });
    entries.dedup_by(|(b_owner, b), (a_owner, a)| a_owner == b_owner && a.post_id == b.post_id);
    let mut out: Vec<(ObjectId, Vec<Entry>)> = Vec::new();
    let mut own = Vec::new();
    for (owner, entry) in entries {
        if entry.author_id == owner {
            own.push((owner, vec![entry]));
            continue;
        }
        match out.last_mut() {
            Some((batch_owner, batch))
                if *batch_owner == owner
                    && batch.len() < MOST_ENTRIES
                    && batch.first().is_some_and(|top| {
                        top.published_at.timestamp_millis() - entry.published_at.timestamp_millis()
                            <= SPAN_MS
                    }) =>
            {
                batch.push(entry);
            }
            _ => out.push((owner, vec![entry])),
        }
    }
    out.into_iter()
        .chain(own)
        .map(|(owner, entries)| TimelineBatch::of(owner, entries))
        .collect()
}

/// Writes entries `(owner, entry)` as batches (`batches`), an unordered `insert_many` of
/// `FAN_OUT_BATCH` at most; a batch already there is left as it is.
pub async fn insert(db: &Db, entries: Vec<(ObjectId, Entry)>) -> mongodb::error::Result<()> {
    for chunk in batches(entries).chunks(FAN_OUT_BATCH) {
        insert_all_once(collection(db), chunk).await?;
    }
    Ok(())
}

/// As `insert`, each `insert_many` carrying batches of at most `most` entries in all (one
/// batch at least): a command holds the collection for about as long as its entries take,
/// so many posts fanned out together go in commands no longer than one post's.
pub async fn insert_by_entries(
    db: &Db,
    entries: Vec<(ObjectId, Entry)>,
    most: usize,
) -> mongodb::error::Result<()> {
    let mut chunk: Vec<TimelineBatch> = Vec::new();
    let mut held = 0;
    for batch in batches(entries) {
        if !chunk.is_empty() && held + batch.entries.len() > most {
            insert_all_once(collection(db), &chunk).await?;
            chunk.clear();
            held = 0;
        }
        held += batch.entries.len();
        chunk.push(batch);
    }
    if !chunk.is_empty() {
        insert_all_once(collection(db), &chunk).await?;
    }
    Ok(())
}

/// One page of an owner's timeline, newest first, through windows of time (module
/// comment): a first page from where this instance's last full first page of the
/// timeline ended (new entries are all inside), a later one sized by the cursor's pace.
pub async fn page(
    db: &Db,
    first_pages: &FirstPages,
    owner_id: ObjectId,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Paged<Entry>> {
    let list = format!("feed:{owner_id}");
    let hint = first_pages.hint(&list, cursor, || None);
    let page = newest(&collection(db), owner_id, cursor, limit, hint).await?;
    if cursor.is_none() {
        first_pages.learn(list, &page, limit);
    }
    Ok(page)
}

/// An owner's batches as a window: `owner_top` covers the owner and `top`.
pub fn window(owner_id: ObjectId) -> Window {
    Window {
        covered: doc! { "owner_id": owner_id },
        time: "top",
        tie: "_id",
        rest: Vec::new(),
    }
}

/// The entries a page has found so far: below its cursor, not hidden, each post once.
struct Found {
    before: Option<Cursor>,
    seen: HashSet<ObjectId>,
    entries: Vec<Entry>,
}

impl Found {
    fn new(before: Option<Cursor>) -> Self {
        Self {
            before,
            seen: HashSet::new(),
            entries: Vec::new(),
        }
    }

    fn below_cursor(&self, entry: &Entry) -> bool {
        match self.before {
            Some(cursor) => {
                let key = DateTime::from_millis(cursor.key.unwrap_or_default());
                entry.key() < (key, cursor.id)
            }
            None => true,
        }
    }

    fn add(&mut self, batch: TimelineBatch) {
        for entry in batch.entries {
            if !entry.hidden && self.below_cursor(&entry) && self.seen.insert(entry.post_id) {
                self.entries.push(entry);
            }
        }
    }

    /// How many found entries are at or after `since` (ms): all there are from there up to
    /// the cursor, once every batch with its `top` at or after `since` is read.
    fn since(&self, since: i64) -> i64 {
        self.entries
            .iter()
            .filter(|e| e.published_at.timestamp_millis() >= since)
            .count() as i64
    }

    fn sort(&mut self) {
        self.entries.sort_by_key(|e| std::cmp::Reverse(e.key()));
    }

    /// The time of the `limit`-th newest entry found, if there are that many.
    fn nth_time(&mut self, limit: i64) -> Option<DateTime> {
        self.sort();
        let at = usize::try_from(limit).ok()?.checked_sub(1)?;
        self.entries.get(at).map(|e| e.published_at)
    }

    fn page(mut self, limit: i64) -> Paged<Entry> {
        self.sort();
        self.entries
            .truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        window::paged(self.entries, self.before, limit)
    }
}

/// `limit` entries below `before`, newest first: windows of batches as
/// `Window::newest` reads items (`window::first_since`, `window::next_span`), then, if
/// they did not hold the page, the batches below them newest first, read until no later
/// batch can hold an entry newer than the page's last.
async fn newest(
    collection: &Collection<TimelineBatch>,
    owner_id: ObjectId,
    before: Option<Cursor>,
    limit: i64,
    hint: Option<Hint>,
) -> mongodb::error::Result<Paged<Entry>> {
    let window = window(owner_id);
    let top = before
        .and_then(|c| c.key)
        .unwrap_or_else(|| DateTime::now().timestamp_millis());
    let mut found = Found::new(before);
    // Every entry below the cursor is in a batch whose `top` is at most `SPAN_MS` above.
    let mut upper = before
        .and_then(|c| c.key)
        .map(|key| DateTime::from_millis(key.saturating_add(SPAN_MS + 1)));
    if let Some(mut since) = window::first_since(hint, top, limit) {
        let (mut empty, mut held_before) = (0, 0);
        for _ in 0..window::WINDOWS {
            let filter = window.filter(None, upper, Some(DateTime::from_millis(since)));
            let mut batches = collection.find(filter).await?;
            while let Some(batch) = batches.try_next().await? {
                found.add(batch);
            }
            let held = found.since(since);
            if held >= limit {
                return Ok(found.page(limit));
            }
            upper = Some(DateTime::from_millis(since));
            empty = if held == held_before { empty + 1 } else { 0 };
            if empty >= window::EMPTY_WINDOWS {
                break;
            }
            let read = top.saturating_sub(since);
            since = since.saturating_sub(window::next_span(read, held, held - held_before, limit));
            held_before = held;
        }
    }
    // The rest, newest first, `limit + 1` batches a command (a command with a limit ends
    // its cursor; one left open would cost another to close), until no later batch can
    // hold an entry newer than the page's last: with a batch of one entry each, the one
    // after the page's last tells.
    let mut after: Option<(DateTime, ObjectId)> = None;
    loop {
        let mut filter = window.filter(None, upper, None);
        if let Some((top, id)) = after {
            filter = doc! { "$and": [filter, { "$or": [
                { "top": { "$lt": top } },
                { "top": top, "_id": { "$lt": id } },
            ] }] };
        }
        let batches: Vec<TimelineBatch> = collection
            .find(filter)
            .sort(doc! { "top": -1, "_id": -1 })
            .limit(limit.saturating_add(1).max(1))
            .await?
            .try_collect()
            .await?;
        let full = batches.len() as i64 > limit;
        for batch in batches {
            if found.nth_time(limit).is_some_and(|last| batch.top < last) {
                return Ok(found.page(limit));
            }
            after = Some((batch.top, batch.id));
            found.add(batch);
        }
        if !full {
            break;
        }
    }
    Ok(found.page(limit))
}

/// Takes a post out of every feed, or puts it back (moderation). The rare hidden entries
/// are skipped by the page read, so a page stays full.
pub async fn set_hidden(db: &Db, post_id: ObjectId, hidden: bool) -> mongodb::error::Result<()> {
    collection(db)
        .update_many(
            doc! { "entries.post_id": post_id },
            doc! { "$set": { "entries.$.hidden": hidden } },
        )
        .await?;
    Ok(())
}

/// Removes `author`'s posts from `owner`'s timeline (unfollow, block): the owner's
/// batches, through `owner_top`, checked for the author.
pub async fn remove_author(
    db: &Db,
    owner_id: ObjectId,
    author_id: ObjectId,
) -> mongodb::error::Result<()> {
    pull(
        db,
        doc! { "owner_id": owner_id, "entries.author_id": author_id },
        doc! { "author_id": author_id },
    )
    .await
}

/// Removes posts from every feed (index `post`).
pub async fn remove_posts(db: &Db, post_ids: &[ObjectId]) -> mongodb::error::Result<()> {
    if post_ids.is_empty() {
        return Ok(());
    }
    pull(
        db,
        doc! { "entries.post_id": { "$in": post_ids } },
        doc! { "post_id": { "$in": post_ids } },
    )
    .await
}

/// Removes a group's posts from one member's timeline (they left or were removed).
pub async fn remove_group(
    db: &Db,
    owner_id: ObjectId,
    group_id: ObjectId,
) -> mongodb::error::Result<()> {
    pull(
        db,
        doc! { "owner_id": owner_id, "entries.group_id": group_id },
        doc! { "group_id": group_id },
    )
    .await
}

/// Takes the entries matching `entry` out of the batches matching `batches`, and drops
/// the batches that leaves empty: a batch's `_id` follows from its posts, so an entry
/// written again later (a follow after an unfollow) must not find its old batch there.
async fn pull(db: &Db, batches: Document, entry: Document) -> mongodb::error::Result<()> {
    let touched = crate::store::ids_matching(&collection(db), batches.clone()).await?;
    if touched.is_empty() {
        return Ok(());
    }
    // With the owner, when the filter names one: one shard on a sharded cluster.
    let mut these = doc! { "_id": { "$in": &touched } };
    if let Ok(owner) = batches.get_object_id("owner_id") {
        these.insert("owner_id", owner);
    }
    collection(db)
        .update_many(these.clone(), doc! { "$pull": { "entries": entry } })
        .await?;
    these.insert("entries", doc! { "$size": 0 });
    collection(db).delete_many(these).await?;
    Ok(())
}

/// Removes a user's own timeline (account deletion; the entries of their posts went with
/// the posts, by `post_id`).
pub async fn remove_user(db: &Db, user: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "owner_id": user })
        .await?;
    Ok(())
}

/// How many posts `owner_id`'s feed holds (not counting those hidden by reports).
pub async fn count(db: &Db, owner_id: ObjectId) -> mongodb::error::Result<u64> {
    let pipeline = [
        doc! { "$match": { "owner_id": owner_id } },
        doc! { "$unwind": "$entries" },
        doc! { "$match": { "entries.hidden": { "$ne": true } } },
        doc! { "$group": { "_id": "$entries.post_id" } },
        doc! { "$group": { "_id": null, "count": { "$sum": 1 } } },
    ];
    let counted = collection(db).aggregate(pipeline).await?.try_next().await?;
    Ok(counted
        .as_ref()
        .and_then(crate::store::count_of)
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0))
}

/// The entries of a feed stored before batches (one document per owner and post in the
/// `timelines` collection) become batches; the old collection goes once empty. Returns
/// how many entries moved. A run stopped part way moves the rest next time (an entry moved
/// twice is read once).
pub async fn adopt_entries(db: &Db) -> mongodb::error::Result<usize> {
    #[derive(Deserialize)]
    struct Old {
        #[serde(rename = "_id")]
        id: ObjectId,
        owner_id: ObjectId,
        #[serde(flatten)]
        entry: Entry,
    }
    let old = db.collection::<Old>("timelines");
    let mut moved = 0;
    loop {
        let chunk: Vec<Old> = old.find(doc! {}).limit(1000).await?.try_collect().await?;
        if chunk.is_empty() {
            break;
        }
        let ids: Vec<ObjectId> = chunk.iter().map(|o| o.id).collect();
        moved += chunk.len();
        insert(
            db,
            chunk.into_iter().map(|o| (o.owner_id, o.entry)).collect(),
        )
        .await?;
        old.delete_many(doc! { "_id": { "$in": ids } }).await?;
    }
    let names = db.database().list_collection_names().await?;
    if names.iter().any(|n| n == "timelines") {
        old.drop().await?;
    }
    Ok(moved)
}

/// The `timeline_batches` collection.
pub fn collection(db: &Db) -> Collection<TimelineBatch> {
    db.collection("timeline_batches")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(post: u8, at: i64) -> Entry {
        Entry {
            post_id: ObjectId::from_bytes([post; 12]),
            author_id: ObjectId::from_bytes([0; 12]),
            group_id: None,
            published_at: DateTime::from_millis(at),
            hidden: false,
        }
    }

    #[test]
    fn batches_group_by_owner_newest_first_within_the_span() {
        let (a, b) = (ObjectId::from_bytes([1; 12]), ObjectId::from_bytes([2; 12]));
        let made = batches(vec![
            (a, entry(1, 10_000)),
            (b, entry(1, 10_000)),
            (a, entry(2, 10_500)),
            (a, entry(3, 10_500 - SPAN_MS - 1)),
            (a, entry(2, 10_500)),
        ]);
        let shape: Vec<(ObjectId, i64, Vec<u8>)> = made
            .iter()
            .map(|b| {
                (
                    b.owner_id,
                    b.top.timestamp_millis(),
                    b.entries.iter().map(|e| e.post_id.bytes()[0]).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (a, 10_500, vec![2, 1]),
                (a, 10_500 - SPAN_MS - 1, vec![3]),
                (b, 10_000, vec![1]),
            ]
        );
    }

    #[test]
    fn an_authors_own_entry_is_the_batch_the_request_writes() {
        let (author, reader) = (ObjectId::from_bytes([0; 12]), ObjectId::from_bytes([7; 12]));
        let made = batches(vec![(author, entry(1, 5_000)), (reader, entry(1, 5_000))]);
        assert_eq!(made.len(), 2);
        let own = made.iter().find(|b| b.owner_id == author).expect("own");
        let again = batches(vec![(author, entry(1, 5_000))]);
        assert_eq!(again[0].id, own.id, "the same batch, the same id");
        let other = made
            .iter()
            .find(|b| b.owner_id == reader)
            .expect("reader's");
        assert_ne!(other.id, own.id);
    }

    #[test]
    fn a_full_batch_starts_another() {
        let owner = ObjectId::from_bytes([1; 12]);
        let entries = (0..MOST_ENTRIES + 1)
            .map(|i| {
                let mut e = entry(0, 1_000);
                e.post_id = ObjectId::new();
                let _ = i;
                (owner, e)
            })
            .collect();
        let made = batches(entries);
        assert_eq!(made.len(), 2);
        assert_eq!(made[0].entries.len(), MOST_ENTRIES);
    }

    #[test]
    fn found_keeps_each_post_once_below_the_cursor_and_not_hidden() {
        let cursor = Cursor {
            key: Some(2_000),
            id: ObjectId::from_bytes([5; 12]),
            pace: None,
            seen: None,
        };
        let mut found = Found::new(Some(cursor));
        let mut hidden = entry(1, 1_000);
        hidden.hidden = true;
        found.add(TimelineBatch {
            id: ObjectId::new(),
            owner_id: ObjectId::new(),
            top: DateTime::from_millis(2_500),
            entries: vec![
                entry(9, 2_500),
                entry(6, 2_000),
                entry(4, 2_000),
                entry(3, 1_500),
                hidden,
            ],
        });
        found.add(TimelineBatch {
            id: ObjectId::new(),
            owner_id: ObjectId::new(),
            top: DateTime::from_millis(1_500),
            entries: vec![entry(3, 1_500), entry(2, 1_200)],
        });
        assert_eq!(found.since(1_500), 2);
        let page = found.page(10);
        let ids: Vec<u8> = page.items.iter().map(|e| e.post_id.bytes()[0]).collect();
        assert_eq!(ids, vec![4, 3, 2]);
    }
}
