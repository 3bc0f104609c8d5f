//! Post analytics: `post_stats` holds one document per post and day counting views, moved
//! with atomic upserts (`$inc`, never read-modify-write); `post_viewers` one per (post,
//! viewer), so unique viewers are a count of an index range. Likes and comments per day
//! are counted from their own collections when asked, so they cost the write path nothing.

use bson::oid::ObjectId;
use std::collections::{BTreeMap, HashMap};

use bson::{doc, Document};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::store::delete_in;
use crate::store::{count_of, integer_of, DUPLICATE_KEY};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DayStats {
    /// `{post id}:{date}`, so that concurrent upserts meet on the `_id` index.
    #[serde(rename = "_id")]
    pub id: String,
    pub post_id: ObjectId,
    pub date: String,
    #[serde(default)]
    pub views: i64,
}

/// Today's date as analytics keys it.
pub fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Adds views to many posts' counts for a day, `(post, date) → views`, in one `update`
/// command of upserts, however many posts there are. Two first upserts of a day can race
/// to insert; the loser's statement is sent once more and finds the document there.
/// Returns what could not be written, for the caller to try again later.
pub async fn add_views(
    db: &Db,
    views: Vec<((ObjectId, String), i64)>,
) -> mongodb::error::Result<Vec<((ObjectId, String), i64)>> {
    let mut pending = views;
    let mut unwritten = Vec::new();
    for attempt in 0..2 {
        if pending.is_empty() {
            break;
        }
        let updates: Vec<Document> = pending
            .iter()
            .map(|((post_id, date), views)| {
                doc! {
                    "q": { "_id": format!("{}:{date}", post_id.to_hex()) },
                    "u": {
                        "$inc": { "views": views },
                        "$setOnInsert": { "post_id": post_id, "date": date },
                    },
                    "upsert": true,
                }
            })
            .collect();
        let reply = db
            .database()
            .run_command(doc! {
                "update": "post_stats",
                "updates": updates,
                "ordered": false,
            })
            .await?;
        // Failed statements by index, and whether each lost an insert race.
        let failed: HashMap<usize, bool> = reply
            .get_array("writeErrors")
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e.as_document())
                    .filter_map(|e| {
                        let index = usize::try_from(integer_of(e, "index")?).ok()?;
                        Some((
                            index,
                            integer_of(e, "code") == Some(i64::from(DUPLICATE_KEY)),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        // A lost race is sent once more; anything else goes back to the caller.
        for (index, entry) in std::mem::take(&mut pending).into_iter().enumerate() {
            match failed.get(&index) {
                Some(true) if attempt == 0 => pending.push(entry),
                Some(_) => unwritten.push(entry),
                None => {}
            }
        }
    }
    unwritten.extend(pending);
    Ok(unwritten)
}

/// Records each `(post, viewer)` pair among the post's unique viewers, in one command;
/// pairs already there are left as they are.
pub async fn add_viewers(
    db: &Db,
    pairs: impl IntoIterator<Item = (ObjectId, ObjectId)>,
) -> mongodb::error::Result<()> {
    let docs: Vec<Document> = pairs
        .into_iter()
        .map(|(post_id, viewer)| {
            doc! { "_id": format!("{}:{}", post_id.to_hex(), viewer.to_hex()), "post_id": post_id }
        })
        .collect();
    if docs.is_empty() {
        return Ok(());
    }
    super::insert_all_once(viewers_collection(db), &docs).await
}

pub async fn unique_viewers(db: &Db, post_id: ObjectId) -> mongodb::error::Result<u64> {
    viewers_collection(db)
        .count_documents(doc! { "post_id": post_id })
        .await
}

/// One day of a post's analytics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Day {
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
}

/// The post's days with any view, like or comment, oldest first.
pub async fn daily(db: &Db, post_id: ObjectId) -> mongodb::error::Result<Vec<(String, Day)>> {
    let mut days: BTreeMap<String, Day> = BTreeMap::new();
    let mut views = collection(db).find(doc! { "post_id": post_id }).await?;
    while let Some(day) = views.try_next().await? {
        days.entry(day.date).or_default().views = day.views;
    }
    for (date, count) in per_day(
        crate::store::likes::collection(db).clone_with_type(),
        post_id,
    )
    .await?
    {
        days.entry(date).or_default().likes = count;
    }
    for (date, count) in per_day(
        crate::store::comments::collection(db).clone_with_type(),
        post_id,
    )
    .await?
    {
        days.entry(date).or_default().comments = count;
    }
    Ok(days.into_iter().collect())
}

/// How many of the post's documents in `collection` were created on each day (UTC).
async fn per_day(
    collection: mongodb::Collection<Document>,
    post_id: ObjectId,
) -> mongodb::error::Result<Vec<(String, i64)>> {
    let pipeline = vec![
        doc! { "$match": { "post_id": post_id } },
        doc! { "$group": {
            "_id": { "$dateToString": { "format": "%Y-%m-%d", "date": "$created_at" } },
            "count": { "$sum": 1 },
        } },
    ];
    let rows: Vec<Document> = collection.aggregate(pipeline).await?.try_collect().await?;
    Ok(rows
        .iter()
        .filter_map(|row| Some((row.get_str("_id").ok()?.to_owned(), count_of(row)?)))
        .collect())
}

pub async fn delete_for_posts(db: &Db, post_ids: &[ObjectId]) -> mongodb::error::Result<()> {
    delete_in(collection(db), "post_id", post_ids).await?;
    delete_in(viewers_collection(db), "post_id", post_ids).await
}

/// The `post_stats` collection.
pub fn collection(db: &Db) -> Collection<DayStats> {
    db.collection("post_stats")
}

/// The `post_viewers` collection.
pub fn viewers_collection(db: &Db) -> Collection<bson::Document> {
    db.collection("post_viewers")
}
