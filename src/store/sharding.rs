//! The shard key of each collection that a sharded cluster splits across shards
//! (`docs/SCALING.md`; `docker compose --profile sharded` shards them with these keys).
//! Every other collection stays whole on the database's primary shard: they are small
//! (users, sessions, groups, blocks…) or are read by fields no single key serves (jobs).
//! `tests/api/sharding.rs` checks that each hot query names its collection's key, so the
//! plan cannot drift from the code.

/// A sharded collection and its key.
pub struct ShardKey {
    pub collection: &'static str,
    /// The field the key is on: a query that names it (equality or `$in`) goes to the
    /// shards that hold those values; one that does not goes to every shard.
    pub field: &'static str,
    /// The key as `sh.shardCollection` takes it. Hashed where no unique index needs the
    /// key as its prefix (writes spread evenly); ranged where one does (MongoDB enforces
    /// a unique index on a sharded collection only with the key as its prefix).
    pub key: &'static str,
}

pub const SHARD_KEYS: &[ShardKey] = &[
    ShardKey {
        collection: "posts",
        field: "_id",
        key: r#"{ _id: "hashed" }"#,
    },
    ShardKey {
        collection: "timeline_batches",
        field: "owner_id",
        key: "{ owner_id: 1 }",
    },
    ShardKey {
        collection: "likes",
        field: "post_id",
        key: "{ post_id: 1 }",
    },
    ShardKey {
        collection: "comments",
        field: "post_id",
        key: "{ post_id: 1 }",
    },
    ShardKey {
        collection: "follows",
        field: "follower_id",
        key: "{ follower_id: 1 }",
    },
    ShardKey {
        collection: "notifications",
        field: "user_id",
        key: r#"{ user_id: "hashed" }"#,
    },
    ShardKey {
        collection: "activities",
        field: "user_id",
        key: r#"{ user_id: "hashed" }"#,
    },
];

/// The key of `collection`, if it is sharded.
pub fn shard_key_of(collection: &str) -> Option<&'static ShardKey> {
    SHARD_KEYS.iter().find(|k| k.collection == collection)
}
