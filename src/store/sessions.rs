//! The `sessions` collection: one document per login. Deleting it revokes the session: the
//! auth extractor looks it up by `_id` on every request, so this works on every instance.

use bson::oid::ObjectId;
use bson::{doc, DateTime, RawDocumentBuf};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use mongodb::Collection;
use tokio::sync::mpsc;

use crate::db::Db;
use crate::store::group_write::{gather, Pending, Queue};
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
    /// A session an OAuth app signed into (the Mastodon API): its app, scopes and tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthSession>,
}

/// What an OAuth app holds of a session: opaque tokens (`auth::oauth`), stored hashed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthSession {
    pub app_id: ObjectId,
    pub app_name: String,
    pub scopes: Vec<String>,
    pub token_hash: String,
    pub refresh_hash: String,
}

/// How a request proved its session: a signed JWT names it, an opaque OAuth token names it
/// and must also hash to the session's `oauth.token_hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof<'a> {
    Jwt,
    OAuth(&'a str),
}

/// The filter of a live session `id` of `user_id`, proved by `proof`: one `_id` lookup.
fn live(id: ObjectId, user_id: ObjectId, proof: Proof<'_>) -> bson::Document {
    let mut filter =
        doc! { "_id": id, "user_id": user_id, "expires_at": { "$gt": DateTime::now() } };
    if let Proof::OAuth(hash) = proof {
        filter.insert("oauth.token_hash", hash);
    }
    filter
}

pub async fn insert(db: &Db, session: &SessionDoc) -> mongodb::error::Result<()> {
    collection(db).insert_one(session).await?;
    Ok(())
}

/// The live session `id` of `user_id`: one lookup on the `_id` index.
pub async fn find_live(
    db: &Db,
    id: ObjectId,
    user_id: ObjectId,
) -> mongodb::error::Result<Option<SessionDoc>> {
    collection(db).find_one(live(id, user_id, Proof::Jwt)).await
}

/// The live session an OAuth access token names, when the token is its current one.
pub async fn find_oauth(
    db: &Db,
    id: ObjectId,
    user_id: ObjectId,
    token_hash: &str,
) -> mongodb::error::Result<Option<SessionDoc>> {
    collection(db)
        .find_one(live(id, user_id, Proof::OAuth(token_hash)))
        .await
}

/// Replaces an OAuth session's tokens, if `refresh_hash` is still its refresh token's:
/// of two uses of one refresh token, one succeeds.
pub async fn rotate_oauth(
    db: &Db,
    id: ObjectId,
    refresh_hash: &str,
    token_hash: &str,
    new_refresh_hash: &str,
) -> mongodb::error::Result<Option<SessionDoc>> {
    collection(db)
        .find_one_and_update(
            doc! { "_id": id, "oauth.refresh_hash": refresh_hash, "expires_at": { "$gt": DateTime::now() } },
            doc! { "$set": {
                "oauth.token_hash": token_hash,
                "oauth.refresh_hash": new_refresh_hash,
                "last_used_at": DateTime::now(),
            } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await
}

/// Ends the OAuth session whose access or refresh token hashes to `hash`, if it belongs
/// to `app_id`; whether one ended.
pub async fn delete_oauth(
    db: &Db,
    id: ObjectId,
    app_id: ObjectId,
    hash: &str,
) -> mongodb::error::Result<bool> {
    let result = collection(db)
        .delete_one(doc! {
            "_id": id,
            "oauth.app_id": app_id,
            "$or": [{ "oauth.token_hash": hash }, { "oauth.refresh_hash": hash }],
        })
        .await?;
    Ok(result.deleted_count == 1)
}

/// Who a viewer must not see and which private groups they see: their blocks both ways
/// and their private group memberships.
#[derive(Debug, Default)]
pub struct Relations {
    pub blocks: Vec<BlockPair>,
    pub private_groups: Vec<GroupRef>,
    /// With [`Also::post`]: that post, when it exists.
    pub post: Vec<PostDoc>,
    /// With [`Also::me`]: the user's own account.
    pub me: Vec<UserDoc>,
    /// The session's OAuth scopes, for a session an app signed into.
    pub scopes: Option<Vec<String>>,
}

/// What else an action needs, joined onto the session check so that it costs no command
/// of its own: the post it acts on, and the actor's account (to show them as an author).
#[derive(Debug, Default, Clone, Copy)]
pub struct Also {
    pub post: Option<ObjectId>,
    pub me: bool,
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

/// A group membership as the join brings it: the user's memberships, of which only the
/// private ones are kept.
#[derive(Debug, Deserialize)]
struct Membership {
    group_id: ObjectId,
    #[serde(default)]
    private: bool,
}

/// The joined document, as the database answers it.
#[derive(Debug, Deserialize)]
struct Joined {
    /// The session's account and token hash (`GroupCheck` checks them here).
    #[serde(default)]
    user: Option<ObjectId>,
    #[serde(default)]
    token_hash: Option<String>,
    #[serde(default)]
    blocks_out: Vec<BlockPair>,
    #[serde(default)]
    blocks_in: Vec<BlockPair>,
    #[serde(default)]
    memberships: Vec<Membership>,
    #[serde(default)]
    post: Vec<PostDoc>,
    #[serde(default)]
    me: Vec<UserDoc>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

impl From<Joined> for Relations {
    fn from(joined: Joined) -> Self {
        Relations {
            blocks: joined
                .blocks_out
                .into_iter()
                .chain(joined.blocks_in)
                .collect(),
            private_groups: joined
                .memberships
                .into_iter()
                .filter(|m| m.private)
                .map(|m| GroupRef {
                    group_id: m.group_id,
                })
                .collect(),
            post: joined.post,
            me: joined.me,
            scopes: joined.scopes,
        }
    }
}

/// An equality join in the simple `localField`/`foreignField` form, which both MongoDB and
/// SecantusDB serve with one index probe per outer document. (The `pipeline` form is not
/// used: SecantusDB materialises the whole foreign collection for it, 65 ms for 3 447
/// posts against under 1 ms for this form.)
fn join(from: &str, local: &str, foreign: &str, to: &str) -> bson::Document {
    doc! { "$lookup": { "from": from, "localField": local, "foreignField": foreign, "as": to } }
}

/// The stages that join a user's relations and what `also` asks for onto a one-document
/// pipeline whose document carries the user's id in `user`: blocks each way (indexes
/// `blocker_blocked_unique`, `blocked`), memberships (`user_private`), the post and the
/// account (`_id`).
fn relation_joins(user_id: ObjectId, also: Also) -> Vec<bson::Document> {
    // On a session, its OAuth scopes come along (absent elsewhere).
    joins_onto(
        doc! { "user": { "$literal": user_id }, "scopes": "$oauth.scopes" },
        also,
    )
}

/// `relation_joins` from the fields `refs` projects (`user` among them).
fn joins_onto(mut refs: bson::Document, also: Also) -> Vec<bson::Document> {
    if let Some(post) = also.post {
        refs.insert("post_ref", doc! { "$literal": post });
    }
    let mut stages = vec![
        doc! { "$project": refs },
        join("blocks", "user", "blocker_id", "blocks_out"),
        join("blocks", "user", "blocked_id", "blocks_in"),
        join("group_members", "user", "user_id", "memberships"),
    ];
    if also.post.is_some() {
        stages.push(join("posts", "post_ref", "_id", "post"));
    }
    if also.me {
        stages.push(join("users", "user", "_id", "me"));
    }
    stages
}

/// The first row of a relations aggregation, read straight from its bytes.
async fn first_joined(
    mut cursor: mongodb::Cursor<RawDocumentBuf>,
) -> mongodb::error::Result<Option<Relations>> {
    match cursor.try_next().await? {
        Some(found) => Ok(Some(joined(&found)?.into())),
        None => Ok(None),
    }
}

/// A row of a relations aggregation, deserialized from its bytes (no `Document` built on
/// the way: every signed-in request reads one).
fn joined(row: &RawDocumentBuf) -> mongodb::error::Result<Joined> {
    Ok(bson::from_slice(row.as_bytes())?)
}

/// The live session `id` of `user_id` and the user's relations (and what `also` asks
/// for), in one command: what a signed-in request needs before it can filter anything.
pub async fn find_live_with_relations(
    db: &Db,
    id: ObjectId,
    user_id: ObjectId,
    proof: Proof<'_>,
    also: Also,
) -> mongodb::error::Result<Option<Relations>> {
    let mut pipeline = vec![doc! { "$match": live(id, user_id, proof) }];
    pipeline.extend(relation_joins(user_id, also));
    first_joined(collection(db).aggregate(pipeline).with_type().await?).await
}

/// The session checks of concurrent requests, read together: a request's check waits
/// while the previous one of its kind is under way, then goes with the others waiting,
/// one aggregation over their sessions' `_id`s with the same joins
/// (`store::group_write`'s queue). Each request is answered from its own session's row,
/// read after the request arrived, so a revoked session is refused as at once as by a
/// check of its own; alone, a check goes at once. A check that also brings a post goes
/// alone (`find_live_with_relations`): the post differs from request to request.
pub struct GroupCheck {
    db: Db,
    /// Without and with the account (`Also::me`).
    plain: Queue<Check, Option<Relations>>,
    with_me: Queue<Check, Option<Relations>>,
    /// Commands are counted per request (`database.command_monitoring`), as a group
    /// write's are.
    counted: bool,
}

/// One request's session check.
struct Check {
    id: ObjectId,
    user_id: ObjectId,
    /// An OAuth token's hash, which the session must hold.
    hash: Option<String>,
}

impl GroupCheck {
    pub fn new(db: Db, counted: bool) -> Self {
        Self {
            db,
            plain: Queue::new(),
            with_me: Queue::new(),
            counted,
        }
    }

    /// The live session `id` of `user_id` proved by `proof`, with the user's relations
    /// and what `also` asks for (`find_live_with_relations`).
    pub async fn check(
        &self,
        id: ObjectId,
        user_id: ObjectId,
        proof: Proof<'_>,
        also: Also,
    ) -> mongodb::error::Result<Option<Relations>> {
        if also.post.is_some() {
            return find_live_with_relations(&self.db, id, user_id, proof, also).await;
        }
        if self.counted {
            crate::telemetry::count_db_command(
                "aggregate",
                &doc! { "aggregate": "sessions", "pipeline": [{ "$match": { "_id": id } }] },
            );
        }
        let check = Check {
            id,
            user_id,
            hash: match proof {
                Proof::Jwt => None,
                Proof::OAuth(hash) => Some(hash.to_owned()),
            },
        };
        let queue = if also.me { &self.with_me } else { &self.plain };
        let db = self.db.clone();
        let start = move |receiver| check_batches(db, also, receiver);
        match queue.submit(check, start).await {
            Ok(answer) => answer,
            // The reader is gone (the runtime is stopping): checked here.
            Err(_) => find_live_with_relations(&self.db, id, user_id, proof, also).await,
        }
    }
}

async fn check_batches(
    db: Db,
    also: Also,
    mut receiver: mpsc::UnboundedReceiver<Pending<Check, Option<Relations>>>,
) {
    while let Some(first) = receiver.recv().await {
        let batch = gather(first, &mut receiver);
        let mut ids: Vec<ObjectId> = batch.iter().map(|p| p.item.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut pipeline = vec![doc! { "$match": {
            "_id": { "$in": ids },
            "expires_at": { "$gt": DateTime::now() },
        } }];
        pipeline.extend(joins_onto(
            doc! {
                "user": "$user_id",
                "scopes": "$oauth.scopes",
                "token_hash": "$oauth.token_hash",
            },
            also,
        ));
        let rows: mongodb::error::Result<Vec<RawDocumentBuf>> = async {
            collection(&db)
                .aggregate(pipeline)
                .with_type()
                .await?
                .try_collect()
                .await
        }
        .await;
        match rows {
            Ok(rows) => {
                for pending in batch {
                    let answer = answer_of(&rows, &pending.item);
                    let _ = pending.done.send(answer);
                }
            }
            Err(err) => {
                for pending in batch {
                    let _ = pending.done.send(Err(err.clone()));
                }
            }
        }
    }
}

/// A request's answer from the rows of its batch: its session's row, when the session
/// belongs to the account its token names and holds the token's hash.
fn answer_of(rows: &[RawDocumentBuf], check: &Check) -> mongodb::error::Result<Option<Relations>> {
    let Some(row) = rows
        .iter()
        .find(|r| r.get_object_id("_id").is_ok_and(|id| id == check.id))
    else {
        return Ok(None);
    };
    let joined = joined(row)?;
    let proved = match &check.hash {
        None => true,
        Some(hash) => joined.token_hash.as_deref() == Some(hash.as_str()),
    };
    if joined.user != Some(check.user_id) || !proved {
        return Ok(None);
    }
    Ok(Some(joined.into()))
}

/// The relations of a user whose session is already checked, in one command.
pub async fn relations_of(db: &Db, user_id: ObjectId) -> mongodb::error::Result<Relations> {
    let mut pipeline = vec![doc! { "$match": { "_id": user_id } }];
    pipeline.extend(relation_joins(user_id, Also::default()));
    Ok(first_joined(
        crate::store::users::collection(db)
            .aggregate(pipeline)
            .with_type()
            .await?,
    )
    .await?
    .unwrap_or_default())
}

/// Records a refresh: the session stays alive for another `expires_at` window.
pub async fn touch(db: &Db, id: ObjectId, expires_at: DateTime) -> mongodb::error::Result<bool> {
    let result = collection(db)
        .update_one(
            doc! { "_id": id, "expires_at": { "$gt": DateTime::now() } },
            doc! { "$set": { "last_used_at": DateTime::now(), "expires_at": expires_at } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

pub async fn list_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<Vec<SessionDoc>> {
    collection(db)
        .find(doc! { "user_id": user_id, "expires_at": { "$gt": DateTime::now() } })
        .sort(doc! { "last_used_at": -1 })
        .await?
        .try_collect()
        .await
}

/// Deletes one session of the user; `false` when there was none.
pub async fn delete_one(db: &Db, id: ObjectId, user_id: ObjectId) -> mongodb::error::Result<bool> {
    let result = collection(db)
        .delete_one(doc! { "_id": id, "user_id": user_id })
        .await?;
    Ok(result.deleted_count == 1)
}

/// Deletes every session of the user.
pub async fn delete_all_for_user(db: &Db, user_id: ObjectId) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "user_id": user_id })
        .await?;
    Ok(())
}

/// The `sessions` collection.
pub fn collection(db: &Db) -> Collection<SessionDoc> {
    db.collection("sessions")
}

/// Deletes every session of the user but `keep`.
pub async fn delete_others(
    db: &Db,
    user_id: ObjectId,
    keep: ObjectId,
) -> mongodb::error::Result<()> {
    collection(db)
        .delete_many(doc! { "user_id": user_id, "_id": { "$ne": keep } })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(session: ObjectId, user: ObjectId, hash: Option<&str>) -> RawDocumentBuf {
        let mut row = doc! { "_id": session, "user": user, "blocks_out": [], "blocks_in": [] };
        if let Some(hash) = hash {
            row.insert("token_hash", hash);
        }
        RawDocumentBuf::from_document(&row).expect("a row")
    }

    #[test]
    fn a_grouped_check_is_answered_from_its_own_session_only() {
        let (s1, s2, u1, u2) = (
            ObjectId::new(),
            ObjectId::new(),
            ObjectId::new(),
            ObjectId::new(),
        );
        let rows = [row(s1, u1, None), row(s2, u2, Some("right"))];
        let check = |id, user_id, hash: Option<&str>| Check {
            id,
            user_id,
            hash: hash.map(str::to_owned),
        };
        let found = |c: Check| answer_of(&rows, &c).expect("decoded").is_some();
        assert!(found(check(s1, u1, None)));
        assert!(!found(check(s1, u2, None)), "another account's session");
        assert!(!found(check(ObjectId::new(), u1, None)), "no such session");
        assert!(found(check(s2, u2, Some("right"))));
        assert!(
            !found(check(s2, u2, Some("wrong"))),
            "a token it does not hold"
        );
        assert!(
            !found(check(s1, u1, Some("right"))),
            "an OAuth proof of a JWT session"
        );
    }
}
