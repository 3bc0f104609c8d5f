//! The `follows` collection: one document per (follower, followee). The unique pair index
//! makes following idempotent; counters move only when an insert or delete happened.

use std::collections::HashSet;

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::error::duplicate_key_index;
use crate::store::{count_of, newest_first};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FollowDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub follower_id: ObjectId,
    pub followee_id: ObjectId,
    pub created_at: DateTime,
}

/// `true` when this call created the follow.
pub async fn insert(
    db: &Db,
    follower_id: ObjectId,
    followee_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let follow = FollowDoc {
        id: ObjectId::new(),
        follower_id,
        followee_id,
        created_at: DateTime::now(),
    };
    match collection(db).insert_one(follow).await {
        Ok(_) => Ok(true),
        Err(err) if duplicate_key_index(&err).is_some() => Ok(false),
        Err(err) => Err(err),
    }
}

/// `true` when this call removed the follow.
pub async fn delete(
    db: &Db,
    follower_id: ObjectId,
    followee_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let result = collection(db)
        .delete_one(doc! { "follower_id": follower_id, "followee_id": followee_id })
        .await?;
    Ok(result.deleted_count == 1)
}

/// Of `others`, whom `viewer` follows and who follow `viewer`: one query for a whole page.
pub async fn relations(
    db: &Db,
    viewer: ObjectId,
    others: &[ObjectId],
) -> mongodb::error::Result<(HashSet<ObjectId>, HashSet<ObjectId>)> {
    let (mut following, mut followed_by) = (HashSet::new(), HashSet::new());
    if others.is_empty() {
        return Ok((following, followed_by));
    }
    let filter = doc! { "$or": [
        { "follower_id": viewer, "followee_id": { "$in": others } },
        { "followee_id": viewer, "follower_id": { "$in": others } },
    ] };
    let mut cursor = collection(db).find(filter).await?;
    while let Some(follow) = cursor.try_next().await? {
        if follow.follower_id == viewer {
            following.insert(follow.followee_id);
        } else {
            followed_by.insert(follow.follower_id);
        }
    }
    Ok((following, followed_by))
}

/// Who follows `user`, newest first.
pub async fn page_followers(
    db: &Db,
    user: ObjectId,
    hidden: &[ObjectId],
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<FollowDoc>> {
    let filter = doc! { "followee_id": user, "follower_id": { "$nin": hidden } };
    newest_first(collection(db), filter, cursor, limit).await
}

/// Whom `user` follows, newest first.
pub async fn page_following(
    db: &Db,
    user: ObjectId,
    hidden: &[ObjectId],
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<FollowDoc>> {
    let filter = doc! { "follower_id": user, "followee_id": { "$nin": hidden } };
    newest_first(collection(db), filter, cursor, limit).await
}

/// Every account `user` follows (bounded by `limit`).
pub async fn followee_ids(
    db: &Db,
    user: ObjectId,
    limit: i64,
) -> mongodb::error::Result<Vec<ObjectId>> {
    collection(db)
        .find(doc! { "follower_id": user })
        .limit(limit)
        .await?
        .map_ok(|f| f.followee_id)
        .try_collect()
        .await
}

/// Every follower of `user`, streamed (for fan-out).
pub async fn follower_stream(
    db: &Db,
    user: ObjectId,
) -> mongodb::error::Result<mongodb::Cursor<FollowDoc>> {
    collection(db).find(doc! { "followee_id": user }).await
}

/// Up to `limit` of `user`'s followers after `after`, by id: the fan-out's pages, which a
/// new run of its job resumes after the last one written.
pub async fn follower_ids_after(
    db: &Db,
    user: ObjectId,
    after: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let mut filter = doc! { "followee_id": user };
    if let Some(after) = after {
        filter.insert("follower_id", doc! { "$gt": after });
    }
    collection(db)
        .find(filter)
        .sort(doc! { "follower_id": 1 })
        .limit(limit)
        .await?
        .map_ok(|f| f.follower_id)
        .try_collect()
        .await
}

/// Every (followee, follower) pair of `followees`, in one command (index
/// `followee_follower`): the followers of a batch of authors whose posts fan out together.
pub async fn followers_of_many(
    db: &Db,
    followees: &[ObjectId],
) -> mongodb::error::Result<Vec<(ObjectId, ObjectId)>> {
    if followees.is_empty() {
        return Ok(Vec::new());
    }
    collection(db)
        .find(doc! { "followee_id": { "$in": followees } })
        .await?
        .map_ok(|f| (f.followee_id, f.follower_id))
        .try_collect()
        .await
}

pub async fn follower_ids(db: &Db, user: ObjectId) -> mongodb::error::Result<Vec<ObjectId>> {
    follower_stream(db, user)
        .await?
        .map_ok(|f| f.follower_id)
        .try_collect()
        .await
}

/// Of `candidates`, those `user` follows.
pub async fn followed_among(
    db: &Db,
    user: ObjectId,
    candidates: &[ObjectId],
) -> mongodb::error::Result<Vec<ObjectId>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    collection(db)
        .find(doc! { "follower_id": user, "followee_id": { "$in": candidates } })
        .await?
        .map_ok(|f| f.followee_id)
        .try_collect()
        .await
}

/// Accounts followed by `via` (the viewer's followees), with how many of them follow each:
/// friends of friends, most shared first.
pub async fn followed_by_many(
    db: &Db,
    via: &[ObjectId],
    exclude: &[ObjectId],
    limit: i64,
) -> mongodb::error::Result<Vec<(ObjectId, i64, Vec<ObjectId>)>> {
    if via.is_empty() {
        return Ok(Vec::new());
    }
    let pipeline = vec![
        doc! { "$match": { "follower_id": { "$in": via }, "followee_id": { "$nin": exclude } } },
        doc! { "$group": { "_id": "$followee_id", "count": { "$sum": 1 }, "via": { "$push": "$follower_id" } } },
        doc! { "$sort": { "count": -1, "_id": 1 } },
        doc! { "$limit": limit },
    ];
    let mut cursor = collection(db).aggregate(pipeline).await?;
    let mut out = Vec::new();
    while let Some(row) = cursor.try_next().await? {
        let (Ok(id), Some(count)) = (row.get_object_id("_id"), count_of(&row)) else {
            continue;
        };
        let via = row
            .get_array("via")
            .map(|a| a.iter().filter_map(|b| b.as_object_id()).collect())
            .unwrap_or_default();
        out.push((id, count, via));
    }
    Ok(out)
}

/// Removes every follow to or from `user`; returns (whom they followed, who followed them).
pub async fn delete_all_of(
    db: &Db,
    user: ObjectId,
) -> mongodb::error::Result<(Vec<ObjectId>, Vec<ObjectId>)> {
    let followees = followee_ids(db, user, i64::MAX).await?;
    let followers = follower_ids(db, user).await?;
    collection(db)
        .delete_many(doc! { "$or": [{ "follower_id": user }, { "followee_id": user }] })
        .await?;
    Ok((followees, followers))
}

/// The `follows` collection.
pub fn collection(db: &Db) -> Collection<FollowDoc> {
    db.collection("follows")
}
