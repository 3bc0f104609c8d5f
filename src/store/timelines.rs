//! The `timelines` collection: the home feed, fanned out on write. One entry per (owner,
//! post), keyed for one range scan per page: `(owner_id, published_at, post_id)`.

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use mongodb::options::InsertManyOptions;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::error::duplicate_key_index;
use crate::store::delete_in;
use crate::store::posts::PostDoc;
use crate::store::window::{FirstPages, Hint, Paged, Timed, Window};

/// How many entries one `insert_many` carries during fan-out.
pub const FAN_OUT_BATCH: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub owner_id: ObjectId,
    pub post_id: ObjectId,
    pub author_id: ObjectId,
    #[serde(default)]
    pub group_id: Option<ObjectId>,
    pub published_at: DateTime,
    /// The post is hidden by reports: the entry stays, out of the feed, until a moderator
    /// acts (API.md §8).
    #[serde(default)]
    pub hidden: bool,
}

impl TimelineDoc {
    pub fn new(owner_id: ObjectId, post: &PostDoc) -> Self {
        Self {
            id: ObjectId::new(),
            owner_id,
            post_id: post.id,
            author_id: post.author_id,
            group_id: post.group_id,
            published_at: post.published_at,
            hidden: post.hidden,
        }
    }
}

/// Inserts entries, ignoring those already there (fan-out may be retried).
pub async fn insert_many(db: &Db, entries: Vec<TimelineDoc>) -> mongodb::error::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let options = InsertManyOptions::builder().ordered(false).build();
    match collection(db)
        .insert_many(entries)
        .with_options(options)
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if duplicate_key_index(&err).is_some() => Ok(()),
        Err(err) => Err(err),
    }
}

/// One page of an owner's timeline, newest first, through a window of time
/// (`store::window`): a first page from where this instance's last full first page of the
/// timeline ended (new entries are all inside), a later one sized by the cursor's pace.
/// Index `owner_published`: {owner_id, published_at, post_id}.
pub async fn page(
    db: &Db,
    first_pages: &FirstPages,
    owner_id: ObjectId,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Paged<TimelineDoc>> {
    let list = format!("feed:{owner_id}");
    let hint = match cursor {
        Some(cursor) => cursor.pace.map(Hint::Pace),
        None => first_pages.get(&list).map(Hint::Since),
    };
    let page = window(owner_id)
        .newest(&collection(db), None, cursor, limit, hint)
        .await?;
    if cursor.is_none() {
        first_pages.learn(list, &page, limit);
    }
    Ok(page)
}

/// An owner's timeline as a window: `owner_published` covers the owner and the time;
/// entries hidden by reports are left out on the rows read.
pub fn window(owner_id: ObjectId) -> Window {
    Window {
        covered: doc! { "owner_id": owner_id },
        time: "published_at",
        tie: "post_id",
        rest: vec![doc! { "hidden": { "$ne": true } }],
    }
}

impl Timed for TimelineDoc {
    fn time(&self) -> DateTime {
        self.published_at
    }
}

/// Takes a post out of every feed, or puts it back (moderation). The rare hidden entries
/// are skipped by the page scan, so a page stays full.
pub async fn set_hidden(db: &Db, post_id: ObjectId, hidden: bool) -> mongodb::error::Result<()> {
    collection(db)
        .update_many(
            doc! { "post_id": post_id },
            doc! { "$set": { "hidden": hidden } },
        )
        .await?;
    Ok(())
}

/// Removes `author`'s posts from `owner`'s timeline (unfollow, block): the owner's
/// entries, through an index on `owner_id` (`owner_post_unique` or `owner_published`),
/// checked for the author. No index of its own: every fanned-out entry would pay for it.
pub async fn remove_author(
    db: &Db,
    owner_id: ObjectId,
    author_id: ObjectId,
) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "owner_id": owner_id, "author_id": author_id })
        .await?;
    Ok(())
}

pub async fn remove_posts(db: &Db, post_ids: &[ObjectId]) -> mongodb::error::Result<()> {
    delete_in(collection(db), "post_id", post_ids).await
}

/// Removes a group's posts from one member's timeline (they left or were removed).
pub async fn remove_group(
    db: &Db,
    owner_id: ObjectId,
    group_id: ObjectId,
) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "owner_id": owner_id, "group_id": group_id })
        .await?;
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

/// The `timelines` collection.
/// How many posts `owner_id`'s feed holds (not counting those hidden by reports).
pub async fn count(db: &Db, owner_id: ObjectId) -> mongodb::error::Result<u64> {
    collection(db)
        .count_documents(doc! { "owner_id": owner_id, "hidden": { "$ne": true } })
        .await
}

pub fn collection(db: &Db) -> Collection<TimelineDoc> {
    db.collection("timelines")
}
