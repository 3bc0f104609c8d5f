//! The `sessions` collection: one document per login. Deleting it revokes the session: the
//! auth extractor looks it up by `_id` on every request, so this works on every instance.

use bson::oid::ObjectId;
use bson::{doc, DateTime};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::store::posts::PostDoc;
use crate::store::users::UserDoc;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub created_at: DateTime,
    pub last_used_at: DateTime,
    pub expires_at: DateTime,
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub ip: String,
}

pub async fn insert(db: &Db, session: &SessionDoc) -> mongodb::error::Result<()> {
    db.sessions().insert_one(session).await?;
    Ok(())
}

/// The live session `id` of `user_id`: one lookup on the `_id` index.
pub async fn find_live(
    db: &Db,
    id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<Option<SessionDoc>> {
    db.sessions()
        .find_one(doc! { "_id": id, "user_id": user_id, "expires_at": { "$gt": DateTime::now() } })
        .await
}

/// Who a viewer must not see and which private groups they see: their blocks both ways
/// and their private group memberships.
#[derive(Debug, Default, Deserialize)]
pub struct Relations {
    #[serde(default)]
    pub blocks: Vec<BlockPair>,
    #[serde(default)]
    pub private_groups: Vec<GroupRef>,
    /// With [`Also::post`]: that post, when it exists.
    #[serde(default)]
    pub post: Vec<PostDoc>,
    /// With [`Also::me`]: the user's own account.
    #[serde(default)]
    pub me: Vec<UserDoc>,
}

/// What else an action needs, joined onto the session check so that it costs no command
/// of its own: the post it acts on, and the actor's account (to show them as an author).
#[derive(Debug, Default, Clone, Copy)]
pub struct Also {
    pub post: Option<ObjectId>,
    pub me: bool,
}

impl Also {
    fn lookups(self, user_id: ObjectId) -> Vec<bson::Document> {
        let by_id = |from: &str, id: ObjectId, to: &str| {
            doc! { "$lookup": { "from": from, "pipeline": [{ "$match": { "_id": id } }], "as": to } }
        };
        let mut stages = Vec::new();
        if let Some(post) = self.post {
            stages.push(by_id("posts", post, "post"));
        }
        if self.me {
            stages.push(by_id("users", user_id, "me"));
        }
        stages
    }
}

#[derive(Debug, Deserialize)]
pub struct BlockPair {
    pub blocker_id: ObjectId,
    pub blocked_id: ObjectId,
}

#[derive(Debug, Deserialize)]
pub struct GroupRef {
    pub group_id: ObjectId,
}

/// The stages that join a user's relations onto a one-document pipeline: two uncorrelated
/// `$lookup`s, each an indexed match on the other collection.
fn relation_lookups(user_id: ObjectId) -> [bson::Document; 2] {
    [
        doc! { "$lookup": {
            "from": "blocks",
            "pipeline": [
                { "$match": { "$or": [{ "blocker_id": user_id }, { "blocked_id": user_id }] } },
                { "$project": { "_id": 0, "blocker_id": 1, "blocked_id": 1 } },
            ],
            "as": "blocks",
        } },
        doc! { "$lookup": {
            "from": "group_members",
            "pipeline": [
                { "$match": { "user_id": user_id, "private": true } },
                { "$project": { "_id": 0, "group_id": 1 } },
            ],
            "as": "private_groups",
        } },
    ]
}

/// The live session `id` of `user_id` and the user's relations (and what `also` asks
/// for), in one command: what a signed-in request needs before it can filter anything.
pub async fn find_live_with_relations(
    db: &Db,
    id: ObjectId,
    user_id: ObjectId,
    also: Also,
) -> mongodb::error::Result<Option<Relations>> {
    let [blocks, groups] = relation_lookups(user_id);
    let mut pipeline = vec![
        doc! { "$match": { "_id": id, "user_id": user_id, "expires_at": { "$gt": DateTime::now() } } },
        doc! { "$project": { "_id": 1 } },
        blocks,
        groups,
    ];
    pipeline.extend(also.lookups(user_id));
    let mut cursor = db.sessions().aggregate(pipeline).await?;
    match cursor.try_next().await? {
        Some(found) => Ok(Some(bson::from_document(found)?)),
        None => Ok(None),
    }
}

/// The relations of a user whose session is already checked, in one command.
pub async fn relations_of(db: &Db, user_id: ObjectId) -> mongodb::error::Result<Relations> {
    let [blocks, groups] = relation_lookups(user_id);
    let pipeline = [
        doc! { "$match": { "_id": user_id } },
        doc! { "$project": { "_id": 1 } },
        blocks,
        groups,
    ];
    let mut cursor = db.users().aggregate(pipeline).await?;
    match cursor.try_next().await? {
        Some(found) => Ok(bson::from_document(found)?),
        None => Ok(Relations::default()),
    }
}

/// Records a refresh: the session stays alive for another `expires_at` window.
pub async fn touch(db: &Db, id: ObjectId, expires_at: DateTime) -> mongodb::error::Result<bool> {
    let result = db
        .sessions()
        .update_one(
            doc! { "_id": id, "expires_at": { "$gt": DateTime::now() } },
            doc! { "$set": { "last_used_at": DateTime::now(), "expires_at": expires_at } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

pub async fn list_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<Vec<SessionDoc>> {
    db.sessions()
        .find(doc! { "user_id": user_id, "expires_at": { "$gt": DateTime::now() } })
        .sort(doc! { "last_used_at": -1 })
        .await?
        .try_collect()
        .await
}

/// Deletes one session of the user; `false` when there was none.
pub async fn delete_one(db: &Db, id: ObjectId, user_id: ObjectId) -> mongodb::error::Result<bool> {
    let result = db
        .sessions()
        .delete_one(doc! { "_id": id, "user_id": user_id })
        .await?;
    Ok(result.deleted_count == 1)
}

/// Deletes every session of the user.
pub async fn delete_all_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<()> {
    db.sessions()
        .delete_many(doc! { "user_id": user_id })
        .await?;
    Ok(())
}
