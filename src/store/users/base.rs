//! The `users` collection. Indexes (db.rs): unique `username_key`, unique `email`.

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use mongodb::Collection;

use crate::db::Db;
use crate::domain::accounts::{looks_like_object_id, username_key};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Moderator,
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Role::User),
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn is_staff(self) -> bool {
        matches!(self, Role::Moderator | Role::Admin)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub username: String,
    /// `username` lowercased: what uniqueness and lookups use.
    pub username_key: String,
    pub email: String,
    pub password_hash: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub bio: String,
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The media file behind `avatar_url`.
    #[serde(default)]
    pub avatar_media_id: Option<ObjectId>,
    /// The profile's header image (Mastodon apps show it above the profile).
    #[serde(default)]
    pub header_url: Option<String>,
    /// The media file behind `header_url`.
    #[serde(default)]
    pub header_media_id: Option<ObjectId>,
    #[serde(default)]
    pub interests: Vec<String>,
    #[serde(default)]
    pub role: Role,
    pub email_verified: bool,
    /// An address the owner asked to change to, in use only once its emailed link is
    /// opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub followers_count: i64,
    #[serde(default)]
    pub following_count: i64,
    #[serde(default)]
    pub posts_count: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

/// Unique index name → the request field a duplicate-key error on it is about.
pub const UNIQUE_FIELDS: &[(&str, &str)] = &[
    ("username_key_unique", "username"),
    ("email_unique", "email"),
];

pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub full_name: String,
    pub role: Role,
    pub email_verified: bool,
}

pub async fn insert(db: &Db, new: NewUser) -> mongodb::error::Result<UserDoc> {
    let now = DateTime::now();
    let user = UserDoc {
        id: ObjectId::new(),
        username_key: username_key(&new.username),
        username: new.username,
        email: new.email,
        password_hash: new.password_hash,
        full_name: new.full_name,
        bio: String::new(),
        avatar_url: None,
        avatar_media_id: None,
        header_url: None,
        header_media_id: None,
        interests: Vec::new(),
        role: new.role,
        email_verified: new.email_verified,
        pending_email: None,
        disabled: false,
        followers_count: 0,
        following_count: 0,
        posts_count: 0,
        created_at: now,
        updated_at: now,
    };
    collection(db).insert_one(&user).await?;
    Ok(user)
}

pub async fn find_by_id(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<UserDoc>> {
    collection(db).find_one(doc! { "_id": id }).await
}

pub async fn find_by_email(db: &Db, email: &str) -> mongodb::error::Result<Option<UserDoc>> {
    collection(db).find_one(doc! { "email": email }).await
}

/// Login accepts a username or an email address in one field.
pub async fn find_by_login(db: &Db, login: &str) -> mongodb::error::Result<Option<UserDoc>> {
    let login = login.trim();
    if login.contains('@') {
        find_by_email(db, &login.to_lowercase()).await
    } else {
        collection(db)
            .find_one(doc! { "username_key": username_key(login) })
            .await
    }
}

/// `{user}` in a path: an id when it is 24 hex characters (usernames never are), else a
/// username, ignoring case.
pub async fn find_by_ref(db: &Db, user_ref: &str) -> mongodb::error::Result<Option<UserDoc>> {
    if looks_like_object_id(user_ref) {
        match ObjectId::parse_str(user_ref) {
            Ok(id) => find_by_id(db, id).await,
            Err(_) => Ok(None),
        }
    } else {
        collection(db)
            .find_one(doc! { "username_key": username_key(user_ref) })
            .await
    }
}

/// Which of `username_key` and `email` another account already holds, in one query, so a
/// registration can name every taken field at once.
pub async fn taken_fields(
    db: &Db,
    username_key: Option<&str>,
    email: Option<&str>,
    except: Option<ObjectId>,
) -> mongodb::error::Result<(bool, bool)> {
    let mut alternatives = Vec::new();
    if let Some(key) = username_key {
        alternatives.push(doc! { "username_key": key });
    }
    if let Some(email) = email {
        alternatives.push(doc! { "email": email });
    }
    if alternatives.is_empty() {
        return Ok((false, false));
    }
    let mut filter = doc! { "$or": alternatives };
    if let Some(id) = except {
        filter.insert("_id", doc! { "$ne": id });
    }
    let found: Vec<Document> = db
        .database()
        .collection::<Document>("users")
        .find(filter)
        .projection(doc! { "username_key": 1, "email": 1 })
        .limit(2)
        .await?
        .try_collect()
        .await?;
    let username_taken = username_key.is_some_and(|key| {
        found
            .iter()
            .any(|d| d.get_str("username_key").is_ok_and(|v| v == key))
    });
    let email_taken = email.is_some_and(|email| {
        found
            .iter()
            .any(|d| d.get_str("email").is_ok_and(|v| v == email))
    });
    Ok((username_taken, email_taken))
}

/// Users by id, in any order: one `$in` for every author on a page.
pub async fn find_many(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<Vec<UserDoc>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    collection(db)
        .find(doc! { "_id": { "$in": ids } })
        .await?
        .try_collect()
        .await
}

/// The accounts among lowercased usernames (for mentions), in one query.
pub async fn find_by_username_keys(
    db: &Db,
    keys: &[String],
) -> mongodb::error::Result<Vec<UserDoc>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    collection(db)
        .find(doc! { "username_key": { "$in": keys } })
        .await?
        .try_collect()
        .await
}

pub async fn add_to_posts_count(db: &Db, id: ObjectId, delta: i64) -> mongodb::error::Result<()> {
    collection(db)
        .update_one(
            doc! { "_id": id },
            doc! { "$inc": { "posts_count": delta } },
        )
        .await?;
    Ok(())
}

/// Sets `posts_count` to a recount of the user's posts that count for it (published,
/// not in a private group): what a post's publication job does, so that running it twice,
/// or beside `rookery check --repair`, never counts a post twice.
pub async fn recount_posts(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    let mut filter = crate::store::posts::counted_for_author();
    filter.insert("author_id", id);
    let count = crate::store::posts::collection(db)
        .count_documents(filter)
        .await?;
    collection(db)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "posts_count": i64::try_from(count).unwrap_or(i64::MAX) } },
        )
        .await?;
    Ok(())
}

/// `recount_posts` for several authors in two commands: one aggregation counts their
/// posts, one update sets each count.
pub async fn recount_posts_of_many(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut filter = crate::store::posts::counted_for_author();
    filter.insert("author_id", doc! { "$in": ids });
    let rows: Vec<Document> = crate::store::posts::collection(db)
        .aggregate([
            doc! { "$match": filter },
            doc! { "$group": { "_id": "$author_id", "count": { "$sum": 1 } } },
        ])
        .await?
        .try_collect()
        .await?;
    let branches: Vec<Document> = ids
        .iter()
        .map(|id| {
            let count = rows
                .iter()
                .find(|r| r.get_object_id("_id").ok() == Some(*id))
                .and_then(crate::store::count_of)
                .unwrap_or(0);
            doc! { "case": { "$eq": ["$_id", id] }, "then": count }
        })
        .collect();
    collection(db)
        .update_many(
            doc! { "_id": { "$in": ids } },
            vec![doc! { "$set": { "posts_count": {
                "$switch": { "branches": branches, "default": "$posts_count" },
            } } }],
        )
        .await?;
    Ok(())
}

/// Moves the follower and following counters of one follow, by `delta` (±1).
pub async fn count_follow(
    db: &Db,
    follower: ObjectId,
    followee: ObjectId,
    delta: i64,
) -> mongodb::error::Result<()> {
    collection(db)
        .update_one(
            doc! { "_id": follower },
            doc! { "$inc": { "following_count": delta } },
        )
        .await?;
    collection(db)
        .update_one(
            doc! { "_id": followee },
            doc! { "$inc": { "followers_count": delta } },
        )
        .await?;
    Ok(())
}

pub async fn delete(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    collection(db).delete_one(doc! { "_id": id }).await?;
    Ok(())
}

/// The `users` collection.
pub fn collection(db: &Db) -> Collection<UserDoc> {
    db.collection("users")
}
