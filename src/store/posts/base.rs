//! The `posts` collection and `post_versions` (earlier versions of edited posts).
//!
//! Lists sort by `(published_at, _id)`: a scheduled post gets its `published_at` when it is
//! written, so once published it sits in every list where its time puts it.

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::store::delete_in;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PostStatus {
    Published,
    Scheduled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub author_id: ObjectId,
    pub title: String,
    pub content: String,
    /// A summary shown in lists (RealWorld's article `description`); empty for most posts.
    #[serde(default)]
    pub description: String,
    /// Tags the author gave explicitly (RealWorld's `tagList`), lowercased. `hashtags`
    /// holds them with the `#tags` of the text: what lists and filters use.
    #[serde(default)]
    pub tags: Vec<String>,
    pub hashtags: Vec<String>,
    /// Usernames of the existing accounts mentioned, as they were spelled then.
    pub mentions: Vec<String>,
    /// Lowercased words of title and content, for `?q=` search. Written with the post and
    /// left out of every read (`shown()`): nothing reads them back but the search filter.
    #[serde(default, skip_deserializing)]
    pub terms: Vec<String>,
    #[serde(default)]
    pub media_ids: Vec<ObjectId>,
    #[serde(default)]
    pub group_id: Option<ObjectId>,
    /// The post belongs to a private group: only its members ever see it.
    #[serde(default)]
    pub group_private: bool,
    /// Reported by enough distinct users: out of every list until a moderator acts.
    #[serde(default)]
    pub hidden: bool,
    pub status: PostStatus,
    #[serde(default)]
    pub publish_at: Option<DateTime>,
    pub published_at: DateTime,
    #[serde(default)]
    pub like_count: i64,
    #[serde(default)]
    pub comment_count: i64,
    #[serde(default)]
    pub view_count: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    #[serde(default)]
    pub edited: bool,
    /// The author as shown on the post, kept current when they change their name or
    /// avatar (`refresh_author`), so a page of posts needs no author lookup. Absent on
    /// posts stored before it existed: those look the author up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<AuthorSnapshot>,
    /// False from creation until its publication job has counted, fanned out and
    /// notified (`jobs::publish`); posts stored before the job queue read as done.
    #[serde(default = "done")]
    pub fanned_out: bool,
    /// Its publication's record while the workers have not taken it over, when the post
    /// itself is that record instead of a job (`jobs::publish::posted`): when a worker may
    /// take it (the end of the writing instance's hand-off, then of each claim's lease),
    /// the claim that holds it, and the creating request's activity entry. Absent
    /// otherwise, and once taken over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effects: Option<crate::store::deferred::Effects>,
}

fn done() -> bool {
    true
}

/// What a post shows of its author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorSnapshot {
    pub username: String,
    pub full_name: String,
    #[serde(default)]
    pub avatar_url: Option<String>,
}

impl AuthorSnapshot {
    pub fn of(user: &crate::store::users::UserDoc) -> Self {
        Self {
            username: user.username.clone(),
            full_name: user.full_name.clone(),
            avatar_url: user.avatar_url.clone(),
        }
    }
}

/// Puts the author's current name and avatar on all their posts.
pub async fn refresh_author(
    db: &Db,
    user: &crate::store::users::UserDoc,
) -> mongodb::error::Result<()> {
    let snapshot = bson::to_bson(&AuthorSnapshot::of(user))?;
    collection(db)
        .update_many(
            doc! { "author_id": user.id, "author": { "$ne": &snapshot } },
            doc! { "$set": { "author": snapshot } },
        )
        .await?;
    Ok(())
}

/// Changes the avatar URL posts show for their author: to another URL when the avatar's
/// file got a new key, to none when it was deleted.
pub async fn replace_author_avatar(
    db: &Db,
    author_id: ObjectId,
    avatar_url: &str,
    now: Option<&str>,
) -> mongodb::error::Result<()> {
    collection(db)
        .update_many(
            doc! { "author_id": author_id, "author.avatar_url": avatar_url },
            doc! { "$set": { "author.avatar_url": now } },
        )
        .await?;
    Ok(())
}

impl PostDoc {
    /// A scheduled post is visible only to its author until it is published.
    pub fn visible_to(&self, viewer: Option<ObjectId>) -> bool {
        self.status == PostStatus::Published || viewer == Some(self.author_id)
    }

    /// Whether the post may appear in a list at all: published, and not hidden by reports.
    /// `listed()` is the same rule as a query; readers' blocks and groups come on top
    /// (`Viewer::can_list_post`).
    pub fn is_listed(&self) -> bool {
        self.status == PostStatus::Published && !self.hidden
    }
}

/// The part of every list query that does not depend on the reader: published, not hidden
/// by reports (API.md §8), and not a private group's (those are listed only in their
/// group). `PostDoc::is_listed` is the same rule for posts already fetched.
pub fn listed() -> Document {
    doc! {
        "status": "published",
        "group_private": { "$ne": true },
        "hidden": { "$ne": true },
    }
}

/// The text of a post and what is derived from it.
pub struct PostText {
    pub title: String,
    pub content: String,
    pub description: String,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub terms: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostVersionDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub post_id: ObjectId,
    pub title: String,
    pub content: String,
    /// When this version was replaced.
    pub edited_at: DateTime,
}

/// What reads of posts fetch: all but the search terms, which are as long as the text
/// and only ever matched against.
pub fn shown() -> Document {
    doc! { "terms": 0 }
}

pub async fn find(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<PostDoc>> {
    collection(db)
        .find_one(doc! { "_id": id })
        .projection(shown())
        .await
}

/// The post `id` if anyone may read it (published, outside private groups), in one
/// command: the filter stays `_id` plus plain conditions, with no `$or` beside the `_id`
/// (SecantusDB then reads the whole collection instead of one document: 44 ms against
/// 0.5 ms at 80 000 documents).
pub async fn find_public(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<PostDoc>> {
    collection(db)
        .find_one(doc! { "_id": id, "status": "published", "group_private": { "$ne": true } })
        .projection(shown())
        .await
}

/// Adds views to posts' `view_count`s: one `update` command with a statement per post.
pub async fn add_views(db: &Db, views: &[(ObjectId, i64)]) -> mongodb::error::Result<()> {
    if views.is_empty() {
        return Ok(());
    }
    let updates: Vec<Document> = views
        .iter()
        .map(|(id, n)| doc! { "q": { "_id": id }, "u": { "$inc": { "view_count": n } } })
        .collect();
    db.database()
        .run_command(doc! { "update": "posts", "updates": updates, "ordered": false })
        .await?;
    Ok(())
}

/// Posts by id, in any order (the caller orders them).
pub async fn find_many(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<Vec<PostDoc>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    collection(db)
        .find(doc! { "_id": { "$in": ids } })
        .projection(shown())
        .await?
        .try_collect()
        .await
}

/// Replaces the text, keeping the version it replaces in `post_versions`.
pub async fn update_text(
    db: &Db,
    before: &PostDoc,
    text: PostText,
) -> mongodb::error::Result<Option<PostDoc>> {
    let now = DateTime::now();
    let version = PostVersionDoc {
        id: ObjectId::new(),
        post_id: before.id,
        title: before.title.clone(),
        content: before.content.clone(),
        edited_at: now,
    };
    versions_collection(db).insert_one(version).await?;
    collection(db)
        .find_one_and_update(
            doc! { "_id": before.id },
            doc! { "$set": {
                "title": text.title,
                "content": text.content,
                "description": text.description,
                "hashtags": text.hashtags,
                "mentions": text.mentions,
                "terms": text.terms,
                "updated_at": now,
                "edited": true,
            } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Earlier versions, newest first.
pub async fn versions(db: &Db, post_id: ObjectId) -> mongodb::error::Result<Vec<PostVersionDoc>> {
    versions_collection(db)
        .find(doc! { "post_id": post_id })
        .sort(doc! { "edited_at": -1, "_id": -1 })
        .await?
        .try_collect()
        .await
}

/// Adds `delta` to a counter and returns its new value; `None` when the post is gone.
pub async fn add_to_counter(
    db: &Db,
    id: ObjectId,
    counter: &str,
    delta: i64,
) -> mongodb::error::Result<Option<i64>> {
    let post = db
        .database()
        .collection::<Document>("posts")
        .find_one_and_update(doc! { "_id": id }, doc! { "$inc": { counter: delta } })
        .projection(doc! { counter: 1 })
        .return_document(ReturnDocument::After)
        .await?;
    Ok(post.map(|p| p.get_i64(counter).unwrap_or_default()))
}

/// The ids of every post by `author_id`, any status.
pub async fn ids_by_author(db: &Db, author_id: ObjectId) -> mongodb::error::Result<Vec<ObjectId>> {
    collection(db)
        .find(doc! { "author_id": author_id })
        .await?
        .map_ok(|p| p.id)
        .try_collect()
        .await
}

/// Replaces the files a post shows (an edit).
pub async fn set_media(
    db: &Db,
    id: ObjectId,
    media_ids: Vec<ObjectId>,
) -> mongodb::error::Result<Option<PostDoc>> {
    collection(db)
        .find_one_and_update(
            doc! { "_id": id },
            doc! { "$set": { "media_ids": media_ids, "updated_at": DateTime::now(), "edited": true } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Adds an uploaded file to one of the author's posts while it shows fewer than `max`;
/// `false` when the post is not theirs or is full. One conditional update, so concurrent
/// uploads cannot pass the limit between a count and a write.
pub async fn attach_media(
    db: &Db,
    post_id: ObjectId,
    author_id: ObjectId,
    media_id: ObjectId,
    max: usize,
) -> mongodb::error::Result<bool> {
    let Some(last) = max.checked_sub(1) else {
        return Ok(false);
    };
    let mut filter = doc! { "_id": post_id, "author_id": author_id };
    // No element at the last allowed position: fewer than `max` files so far.
    filter.insert(format!("media_ids.{last}"), doc! { "$exists": false });
    let result = collection(db)
        .update_one(
            filter,
            doc! { "$addToSet": { "media_ids": media_id }, "$set": { "updated_at": DateTime::now() } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

/// The files the posts of a group show.
pub async fn media_ids_in_group(
    db: &Db,
    group_id: ObjectId,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let mut ids: Vec<ObjectId> = Vec::new();
    let mut cursor = db
        .collection::<Document>("posts")
        .find(doc! { "group_id": group_id, "media_ids.0": { "$exists": true } })
        .projection(doc! { "media_ids": 1 })
        .await?;
    while let Some(post) = cursor.try_next().await? {
        let shown = post
            .get_array("media_ids")
            .map(|a| a.as_slice())
            .unwrap_or_default();
        for id in shown.iter().filter_map(bson::Bson::as_object_id) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// Removes a deleted file from every post that showed it.
pub async fn detach_media(db: &Db, media_id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .update_many(
            doc! { "media_ids": media_id },
            doc! { "$pull": { "media_ids": media_id } },
        )
        .await?;
    Ok(())
}

/// Hides or shows a post in lists (moderation).
pub async fn set_hidden(db: &Db, id: ObjectId, hidden: bool) -> mongodb::error::Result<()> {
    collection(db)
        .update_one(doc! { "_id": id }, doc! { "$set": { "hidden": hidden } })
        .await?;
    Ok(())
}

/// The ids of a group's posts.
pub async fn ids_in_group(db: &Db, group_id: ObjectId) -> mongodb::error::Result<Vec<ObjectId>> {
    collection(db)
        .find(doc! { "group_id": group_id })
        .await?
        .map_ok(|p| p.id)
        .try_collect()
        .await
}

/// Deletes the post document; the caller removes what points at it.
pub async fn delete(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<PostDoc>> {
    collection(db).find_one_and_delete(doc! { "_id": id }).await
}

pub async fn delete_versions(db: &Db, post_ids: &[ObjectId]) -> mongodb::error::Result<()> {
    delete_in(versions_collection(db), "post_id", post_ids).await
}

/// The posts in their author's public `posts_count`: published, and not a private
/// group's (counts shown to others never include those).
pub fn counted_for_author() -> Document {
    doc! { "status": "published", "group_private": { "$ne": true } }
}

/// Moves `author_id`'s scheduled post `id` to `at` (its publication time, and the time it
/// shows as posted); `None` when it is not theirs or no longer scheduled.
pub async fn reschedule(
    db: &Db,
    id: ObjectId,
    author_id: ObjectId,
    at: DateTime,
) -> mongodb::error::Result<Option<PostDoc>> {
    collection(db)
        .find_one_and_update(
            doc! { "_id": id, "author_id": author_id, "status": "scheduled" },
            doc! { "$set": { "publish_at": at, "published_at": at, "updated_at": DateTime::now() } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Publishes a scheduled post whose time has come, atomically: of several runs of its
/// publication job, one sees the change. `None` when it is not (or no longer) scheduled
/// and due.
pub async fn publish_if_due(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<PostDoc>> {
    collection(db)
        .find_one_and_update(
            doc! { "_id": id, "status": "scheduled", "publish_at": { "$lte": DateTime::now() } },
            doc! { "$set": { "status": "published" } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Scheduled posts stored before publication became a job (they have no `fanned_out`),
/// with when they are due.
pub async fn scheduled_without_job_flag(
    db: &Db,
) -> mongodb::error::Result<Vec<(ObjectId, DateTime)>> {
    collection(db)
        .find(doc! { "status": "scheduled", "fanned_out": { "$exists": false } })
        .await?
        .map_ok(|p| (p.id, p.publish_at.unwrap_or(p.published_at)))
        .try_collect()
        .await
}

/// Marks a post's publication work as still to do.
pub async fn mark_unfinished(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .update_one(doc! { "_id": id }, doc! { "$set": { "fanned_out": false } })
        .await?;
    Ok(())
}

/// Records that everything following a post's publication (count, fan-out,
/// notifications) was done.
pub async fn mark_fanned_out(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .update_one(doc! { "_id": id }, doc! { "$set": { "fanned_out": true } })
        .await?;
    Ok(())
}

/// `mark_fanned_out` for several posts in one command.
pub async fn mark_many_fanned_out(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    collection(db)
        .update_many(
            doc! { "_id": { "$in": ids } },
            doc! { "$set": { "fanned_out": true } },
        )
        .await?;
    Ok(())
}

/// Closes the records of the publications of `ids` that `claim` holds
/// (`jobs::publish::posted`): their work was done (`done`: the posts are marked done too)
/// or handed to a job.
pub async fn take_over_publications(
    db: &Db,
    claim: ObjectId,
    ids: &[ObjectId],
    done: bool,
) -> mongodb::error::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut update = doc! { "$unset": { "effects": "" } };
    if done {
        update.insert("$set", doc! { "fanned_out": true });
    }
    collection(db)
        .update_many(crate::store::deferred::claimed_by(claim, ids), update)
        .await?;
    Ok(())
}

/// Posts whose publication work is not recorded as done though they were due before
/// `before`: what a lost publication job leaves behind (`rookery check`). Scans the
/// collection; an offline check, not a request.
pub async fn unfinished_publications(
    db: &Db,
    before: DateTime,
) -> mongodb::error::Result<Vec<ObjectId>> {
    db.collection::<Document>("posts")
        .find(doc! {
            "fanned_out": false,
            "published_at": { "$lte": before },
            // Its own record: a worker takes it once it is due.
            "effects": { "$exists": false },
        })
        .projection(doc! { "_id": 1 })
        .await
        .map(crate::store::ids_in)?
        .await
}

/// The `posts` collection.
pub fn collection(db: &Db) -> Collection<PostDoc> {
    db.collection("posts")
}

/// The `post_versions` collection.
pub fn versions_collection(db: &Db) -> Collection<PostVersionDoc> {
    db.collection("post_versions")
}
