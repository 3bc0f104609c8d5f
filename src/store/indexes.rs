//! The indexes every query in `store/` relies on, created at start (`ensure_indexes`).

use std::time::Duration;

use bson::doc;
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

use crate::db::Db;
use crate::store::{
    activities, blocks, comments, follows, groups, idempotency, jobs, likes, notifications, oauth,
    post_stats, posts, rate_limits, reports, sessions, timelines, tokens, users,
};

/// Creates every index the queries in `store/` rely on. Idempotent: creating an index
/// that exists with the same definition is a no-op.
pub async fn ensure_indexes(
    db: &Db,
    activity_retention: Duration,
) -> Result<(), mongodb::error::Error> {
    users::collection(db)
        .create_indexes([
            unique("username_key_unique", doc! { "username_key": 1 }),
            unique("email_unique", doc! { "email": 1 }),
        ])
        .await?;
    tokens::collection(db)
        .create_indexes([
            unique("hash_unique", doc! { "hash": 1 }),
            plain("user_kind", doc! { "user_id": 1, "kind": 1 }),
            plain("session", doc! { "session_id": 1 }),
            expiring("expires", doc! { "expires_at": 1 }),
        ])
        .await?;
    oauth::apps(db)
        .create_indexes([unique("client_id_unique", doc! { "client_id": 1 })])
        .await?;
    // Hashes of 256-bit secrets: unique in practice, and absent while not yet (or no
    // longer) in use, which a unique index would count as one shared value.
    oauth::grants(db)
        .create_indexes([
            plain("ticket", doc! { "ticket_hash": 1 }),
            plain("code", doc! { "code_hash": 1 }),
            expiring("expires", doc! { "expires_at": 1 }),
        ])
        .await?;
    sessions::collection(db)
        .create_indexes([
            plain("user_last_used", doc! { "user_id": 1, "last_used_at": -1 }),
            expiring("expires", doc! { "expires_at": 1 }),
        ])
        .await?;
    posts::collection(db)
        .create_indexes([
            plain(
                "published",
                doc! { "status": 1, "published_at": -1, "_id": -1 },
            ),
            // The public list's first page, bounded by time (`posts::ListHorizon`).
            plain("published_newest", doc! { "published_at": -1, "_id": -1 }),
            plain(
                "author_published",
                doc! { "author_id": 1, "status": 1, "published_at": -1, "_id": -1 },
            ),
            plain(
                "hashtag_published",
                doc! { "hashtags": 1, "status": 1, "published_at": -1, "_id": -1 },
            ),
            plain("terms_published", doc! { "terms": 1, "published_at": -1 }),
            plain("scheduled_due", doc! { "status": 1, "publish_at": 1 }),
            // Posts whose publication is due to a worker (`store::deferred::claim_due`);
            // sparse: all but the newest few have none.
            sparse("effects_due", doc! { "effects.due": 1 }),
        ])
        .await?;
    posts::versions_collection(db)
        .create_indexes([plain("post_edited", doc! { "post_id": 1, "edited_at": -1 })])
        .await?;
    likes::collection(db)
        .create_indexes([
            unique("post_user_unique", doc! { "post_id": 1, "user_id": 1 }),
            plain(
                "post_created",
                doc! { "post_id": 1, "created_at": -1, "_id": -1 },
            ),
            plain(
                "user_created",
                doc! { "user_id": 1, "created_at": -1, "_id": -1 },
            ),
            // Likes whose effects are due (`store::deferred::claim`).
            plain("effects_due", doc! { "effects.due": 1 }),
        ])
        .await?;
    comments::collection(db)
        .create_indexes([
            plain(
                "post_created",
                doc! { "post_id": 1, "created_at": 1, "_id": 1 },
            ),
            plain("effects_due", doc! { "effects.due": 1 }),
        ])
        .await?;
    follows::collection(db)
        .create_indexes([
            unique(
                "follower_followee_unique",
                doc! { "follower_id": 1, "followee_id": 1 },
            ),
            plain(
                "follower_created",
                doc! { "follower_id": 1, "created_at": -1, "_id": -1 },
            ),
            plain(
                "followee_created",
                doc! { "followee_id": 1, "created_at": -1, "_id": -1 },
            ),
            // Fan-out pages through a post author's followers by id, so a new run of
            // the job resumes after the last batch written.
            plain(
                "followee_follower",
                doc! { "followee_id": 1, "follower_id": 1 },
            ),
        ])
        .await?;
    jobs::collection(db)
        .create_indexes([
            // Claims: the longest-due job of a kind.
            plain(
                "kind_state_due",
                doc! { "kind": 1, "state": 1, "due_at": 1 },
            ),
            // The poller and /metrics: is anything due, and since when.
            plain("state_due", doc! { "state": 1, "due_at": 1 }),
            // Leases that ran out.
            plain("state_lease", doc! { "state": 1, "lease_until": 1 }),
            // An owner's place in a fairly shared queue (`jobs::fair_order`): their last
            // media job still waiting or running.
            plain(
                "kind_fair_state_order",
                doc! { "kind": 1, "fair_key": 1, "state": 1, "order_at": -1 },
            ),
        ])
        .await?;
    blocks::collection(db)
        .create_indexes([
            unique(
                "blocker_blocked_unique",
                doc! { "blocker_id": 1, "blocked_id": 1 },
            ),
            plain(
                "blocker_created",
                doc! { "blocker_id": 1, "created_at": -1, "_id": -1 },
            ),
            plain("blocked", doc! { "blocked_id": 1 }),
        ])
        .await?;
    timelines::collection(db)
        .create_indexes([
            plain("owner_top", doc! { "owner_id": 1, "top": -1, "_id": -1 }),
            plain("post", doc! { "entries.post_id": 1 }),
        ])
        .await?;
    groups::collection(db)
        .create_indexes([
            plain("visibility_newest", doc! { "visibility": 1, "_id": -1 }),
            plain("owner", doc! { "owner_id": 1 }),
        ])
        .await?;
    groups::members_collection(db)
        .create_indexes([
            unique("group_user_unique", doc! { "group_id": 1, "user_id": 1 }),
            plain(
                "group_created",
                doc! { "group_id": 1, "created_at": -1, "_id": -1 },
            ),
            plain("user_private", doc! { "user_id": 1, "private": 1 }),
        ])
        .await?;
    groups::shares_collection(db)
        .create_indexes([
            unique("group_post_unique", doc! { "group_id": 1, "post_id": 1 }),
            plain(
                "group_created",
                doc! { "group_id": 1, "created_at": -1, "_id": -1 },
            ),
            plain("post", doc! { "post_id": 1 }),
        ])
        .await?;
    reports::collection(db)
        .create_indexes([
            unique(
                "post_reporter_unique",
                doc! { "post_id": 1, "reporter_id": 1 },
            ),
            plain("post_status", doc! { "post_id": 1, "status": 1 }),
            plain("status_newest", doc! { "status": 1, "_id": -1 }),
        ])
        .await?;
    post_stats::collection(db)
        .create_indexes([plain("post_date", doc! { "post_id": 1, "date": 1 })])
        .await?;
    post_stats::viewers_collection(db)
        .create_indexes([plain("post", doc! { "post_id": 1 })])
        .await?;
    notifications::collection(db)
        .create_indexes([
            plain("user_newest", doc! { "user_id": 1, "_id": -1 }),
            plain("user_unread", doc! { "user_id": 1, "read": 1 }),
            plain("actor", doc! { "actor_id": 1 }),
        ])
        .await?;
    activities::collection(db)
        .create_indexes([
            plain("user_newest", doc! { "user_id": 1, "_id": -1 }),
            plain(
                "user_action_newest",
                doc! { "user_id": 1, "action": 1, "_id": -1 },
            ),
            IndexModel::builder()
                .keys(doc! { "created_at": 1 })
                .options(
                    IndexOptions::builder()
                        .name("retention".to_owned())
                        .expire_after(activity_retention)
                        .build(),
                )
                .build(),
        ])
        .await?;
    rate_limits::collection(db)
        .create_indexes([expiring("window_end", doc! { "expires_at": 1 })])
        .await?;
    idempotency::collection(db)
        .create_indexes([expiring("expiry", doc! { "expires_at": 1 })])
        .await?;
    users::collection(db)
        .create_indexes([
            plain("followers_count", doc! { "followers_count": -1 }),
            plain("interests", doc! { "interests": 1 }),
        ])
        .await?;
    // GridFS's files collection of the `media` bucket: an owner's files (account
    // deletion) and the files still without a capability key (the start-up migration,
    // asked as `metadata.key: null` so the index answers it), and the files still being
    // processed (the start-up's adoption of their jobs).
    db.database()
        .collection::<bson::Document>("media.files")
        .create_indexes([
            plain("owner", doc! { "metadata.owner_id": 1 }),
            plain("key", doc! { "metadata.key": 1 }),
            plain("status", doc! { "metadata.status": 1 }),
        ])
        .await?;
    // The `media_variants` bucket: the variants of one file (its deletion, a job's rerun).
    db.database()
        .collection::<bson::Document>("media_variants.files")
        .create_indexes([plain("parent", doc! { "metadata.parent_id": 1 })])
        .await?;
    Ok(())
}

fn plain(name: &str, keys: bson::Document) -> IndexModel {
    with_options(keys, IndexOptions::builder().name(name.to_owned()).build())
}

fn sparse(name: &str, keys: bson::Document) -> IndexModel {
    with_options(
        keys,
        IndexOptions::builder()
            .name(name.to_owned())
            .sparse(true)
            .build(),
    )
}

fn unique(name: &str, keys: bson::Document) -> IndexModel {
    with_options(
        keys,
        IndexOptions::builder()
            .name(name.to_owned())
            .unique(true)
            .build(),
    )
}

/// A TTL index: the server deletes each document once its `expires_at` has passed.
fn expiring(name: &str, keys: bson::Document) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .expire_after(Duration::ZERO)
        .build();
    with_options(keys, options)
}

fn with_options(keys: bson::Document, options: IndexOptions) -> IndexModel {
    IndexModel::builder().keys(keys).options(options).build()
}
