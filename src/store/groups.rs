//! The `groups`, `group_members` and `group_shares` collections.

use std::collections::HashMap;

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::error::duplicate_key_index;
use crate::store::delete_in;
use crate::store::{newest_by_id, newest_first};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    Owner,
    Member,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    pub owner_id: ObjectId,
    pub member_count: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub group_id: ObjectId,
    pub user_id: ObjectId,
    pub role: MemberRole,
    /// Copied from the group, so a viewer's private memberships are one indexed read.
    pub private: bool,
    pub created_at: DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShareDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub group_id: ObjectId,
    pub post_id: ObjectId,
    pub sharer_id: ObjectId,
    pub created_at: DateTime,
}

pub async fn insert(db: &Db, group: &GroupDoc) -> mongodb::error::Result<()> {
    collection(db).insert_one(group).await?;
    Ok(())
}

pub async fn find(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<GroupDoc>> {
    collection(db).find_one(doc! { "_id": id }).await
}

/// Public groups and the given ones (the viewer's), newest first.
pub async fn page_visible(
    db: &Db,
    mine: &[ObjectId],
    only_mine: bool,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<GroupDoc>> {
    let filter = if only_mine {
        doc! { "_id": { "$in": mine } }
    } else {
        doc! { "$or": [{ "visibility": "public" }, { "_id": { "$in": mine } }] }
    };
    newest_by_id(collection(db), filter, cursor.map(|c| c.id), limit).await
}

pub struct GroupChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
}

pub async fn update(
    db: &Db,
    id: ObjectId,
    change: GroupChange,
) -> mongodb::error::Result<Option<GroupDoc>> {
    let mut set = doc! { "updated_at": DateTime::now() };
    if let Some(name) = change.name {
        set.insert("name", name);
    }
    if let Some(description) = change.description {
        set.insert("description", description);
    }
    if let Some(visibility) = change.visibility {
        set.insert("visibility", bson::to_bson(&visibility)?);
        let private = visibility == Visibility::Private;
        members_collection(db)
            .update_many(
                doc! { "group_id": id },
                doc! { "$set": { "private": private } },
            )
            .await?;
        crate::store::posts::collection(db)
            .update_many(
                doc! { "group_id": id },
                doc! { "$set": { "group_private": private } },
            )
            .await?;
    }
    collection(db)
        .find_one_and_update(doc! { "_id": id }, doc! { "$set": set })
        .return_document(ReturnDocument::After)
        .await
}

/// Adds a member; `true` when they were not one (and `member_count` moved).
pub async fn add_member(
    db: &Db,
    group: &GroupDoc,
    user_id: ObjectId,
    role: MemberRole,
) -> mongodb::error::Result<bool> {
    let member = MemberDoc {
        id: ObjectId::new(),
        group_id: group.id,
        user_id,
        role,
        private: group.visibility == Visibility::Private,
        created_at: DateTime::now(),
    };
    match members_collection(db).insert_one(member).await {
        Ok(_) => {
            collection(db)
                .update_one(
                    doc! { "_id": group.id },
                    doc! { "$inc": { "member_count": 1 } },
                )
                .await?;
            Ok(true)
        }
        Err(err) if duplicate_key_index(&err).is_some() => Ok(false),
        Err(err) => Err(err),
    }
}

/// Removes a member; `true` when they were one.
pub async fn remove_member(
    db: &Db,
    group_id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let removed = members_collection(db)
        .delete_one(doc! { "group_id": group_id, "user_id": user_id })
        .await?
        .deleted_count
        == 1;
    if removed {
        collection(db)
            .update_one(
                doc! { "_id": group_id },
                doc! { "$inc": { "member_count": -1 } },
            )
            .await?;
    }
    Ok(removed)
}

pub async fn membership(
    db: &Db,
    group_id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<Option<MemberDoc>> {
    members_collection(db)
        .find_one(doc! { "group_id": group_id, "user_id": user_id })
        .await
}

/// The user's role in each of `group_ids` they belong to, in one query.
pub async fn roles_of(
    db: &Db,
    user_id: ObjectId,
    group_ids: &[ObjectId],
) -> mongodb::error::Result<HashMap<ObjectId, MemberRole>> {
    members_collection(db)
        .find(doc! { "user_id": user_id, "group_id": { "$in": group_ids } })
        .await?
        .map_ok(|m| (m.group_id, m.role))
        .try_collect()
        .await
}

/// The groups `user_id` belongs to. (A viewer's private groups come with the session
/// check: `sessions::find_live_with_relations`.)
pub async fn group_ids_of(db: &Db, user_id: ObjectId) -> mongodb::error::Result<Vec<ObjectId>> {
    members_collection(db)
        .find(doc! { "user_id": user_id })
        .await?
        .map_ok(|m| m.group_id)
        .try_collect()
        .await
}

/// Of `users`, those who belong to the group.
pub async fn members_among(
    db: &Db,
    group_id: ObjectId,
    users: &[ObjectId],
) -> mongodb::error::Result<Vec<ObjectId>> {
    members_collection(db)
        .find(doc! { "group_id": group_id, "user_id": { "$in": users } })
        .await?
        .map_ok(|m| m.user_id)
        .try_collect()
        .await
}

/// Members, newest first.
pub async fn page_members(
    db: &Db,
    group_id: ObjectId,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<MemberDoc>> {
    newest_first(
        members_collection(db),
        doc! { "group_id": group_id },
        cursor,
        limit,
    )
    .await
}

/// Shares a post into the group; `true` when it was not there yet.
pub async fn share(
    db: &Db,
    group_id: ObjectId,
    post_id: ObjectId,
    sharer_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let share = ShareDoc {
        id: ObjectId::new(),
        group_id,
        post_id,
        sharer_id,
        created_at: DateTime::now(),
    };
    match shares_collection(db).insert_one(share).await {
        Ok(_) => Ok(true),
        Err(err) if duplicate_key_index(&err).is_some() => Ok(false),
        Err(err) => Err(err),
    }
}

/// What was shared into the group (its own posts included), newest first.
pub async fn page_shares(
    db: &Db,
    group_id: ObjectId,
    cursor: Option<Cursor>,
    limit: i64,
) -> mongodb::error::Result<Vec<ShareDoc>> {
    newest_first(
        shares_collection(db),
        doc! { "group_id": group_id },
        cursor,
        limit,
    )
    .await
}

pub async fn remove_shares_of_posts(db: &Db, post_ids: &[ObjectId]) -> mongodb::error::Result<()> {
    delete_in(shares_collection(db), "post_id", post_ids).await
}

/// Deletes the group, its memberships and shares (its posts are the caller's to remove).
pub async fn delete(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    shares_collection(db)
        .delete_many(doc! { "group_id": id })
        .await?;
    members_collection(db)
        .delete_many(doc! { "group_id": id })
        .await?;
    collection(db).delete_one(doc! { "_id": id }).await?;
    Ok(())
}

/// The groups a user owns.
pub async fn ids_owned_by(db: &Db, owner_id: ObjectId) -> mongodb::error::Result<Vec<ObjectId>> {
    collection(db)
        .find(doc! { "owner_id": owner_id })
        .await?
        .map_ok(|g| g.id)
        .try_collect()
        .await
}

/// Every membership of a user (account deletion), with the groups' counters.
pub async fn leave_all(db: &Db, user_id: ObjectId) -> mongodb::error::Result<()> {
    for group in group_ids_of(db, user_id).await? {
        remove_member(db, group, user_id).await?;
    }
    Ok(())
}

/// The `groups` collection.
pub fn collection(db: &Db) -> Collection<GroupDoc> {
    db.collection("groups")
}

/// The `group_members` collection.
pub fn members_collection(db: &Db) -> Collection<MemberDoc> {
    db.collection("group_members")
}

/// The `group_shares` collection.
pub fn shares_collection(db: &Db) -> Collection<ShareDoc> {
    db.collection("group_shares")
}
