//! Hashtags: the recent ones of an author, and the trending ones of a window.

use super::base::*;
use super::lists::{page_published, PostFilter};
use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use serde::Deserialize;

use crate::db::Db;

/// The hashtags of an author's newest posts, most recent first, unique.
pub async fn recent_hashtags_of(
    db: &Db,
    author_id: ObjectId,
    posts: i64,
) -> mongodb::error::Result<Vec<String>> {
    let filter = PostFilter {
        author_id: Some(author_id),
        ..PostFilter::default()
    };
    let mut tags: Vec<String> = Vec::new();
    for post in page_published(db, &filter, None, None, posts).await? {
        for tag in post.hashtags {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    Ok(tags)
}

#[derive(Debug, Deserialize)]
pub struct TrendingTag {
    #[serde(rename = "_id")]
    pub tag: String,
    pub posts: i64,
    pub last_used_at: DateTime,
}

/// Hashtags of the posts published since `since`, by number of posts.
pub async fn trending(
    db: &Db,
    since: DateTime,
    limit: i64,
) -> mongodb::error::Result<Vec<TrendingTag>> {
    let mut matched = listed();
    matched.insert(
        "published_at",
        doc! { "$gte": since, "$lte": DateTime::now() },
    );
    let pipeline = vec![
        doc! { "$match": matched },
        doc! { "$unwind": "$hashtags" },
        doc! { "$group": { "_id": "$hashtags", "posts": { "$sum": 1 }, "last_used_at": { "$max": "$published_at" } } },
        doc! { "$sort": { "posts": -1, "last_used_at": -1, "_id": 1 } },
        doc! { "$limit": limit },
    ];
    let docs: Vec<Document> = collection(db)
        .aggregate(pipeline)
        .await?
        .try_collect()
        .await?;
    docs.into_iter()
        .map(|d| bson::from_document(d).map_err(Into::into))
        .collect()
}
