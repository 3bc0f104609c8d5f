//! The `users` collection. Indexes (db.rs): unique `username_key`, unique `email`.

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::domain::accounts::{looks_like_object_id, username_key};
use crate::store::newest_by_id;

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
    #[serde(default)]
    pub interests: Vec<String>,
    #[serde(default)]
    pub role: Role,
    pub email_verified: bool,
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
        interests: Vec::new(),
        role: new.role,
        email_verified: new.email_verified,
        disabled: false,
        followers_count: 0,
        following_count: 0,
        posts_count: 0,
        created_at: now,
        updated_at: now,
    };
    db.users().insert_one(&user).await?;
    Ok(user)
}

pub async fn find_by_id(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<UserDoc>> {
    db.users().find_one(doc! { "_id": id }).await
}

pub async fn find_by_email(db: &Db, email: &str) -> mongodb::error::Result<Option<UserDoc>> {
    db.users().find_one(doc! { "email": email }).await
}

/// Login accepts a username or an email address in one field.
pub async fn find_by_login(db: &Db, login: &str) -> mongodb::error::Result<Option<UserDoc>> {
    let login = login.trim();
    if login.contains('@') {
        find_by_email(db, &login.to_lowercase()).await
    } else {
        db.users()
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
        db.users()
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

pub async fn mark_email_verified(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    db.users()
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "email_verified": true, "updated_at": DateTime::now() } },
        )
        .await?;
    Ok(())
}

pub async fn set_password_hash(
    db: &Db,
    id: ObjectId,
    password_hash: &str,
    verify_email: bool,
) -> mongodb::error::Result<()> {
    let mut set = doc! { "password_hash": password_hash, "updated_at": DateTime::now() };
    if verify_email {
        set.insert("email_verified", true);
    }
    db.users()
        .update_one(doc! { "_id": id }, doc! { "$set": set })
        .await?;
    Ok(())
}

/// The profile fields a user may change about themselves; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub bio: Option<String>,
    pub interests: Option<Vec<String>>,
}

pub async fn update_profile(
    db: &Db,
    id: ObjectId,
    change: ProfileChange,
) -> mongodb::error::Result<Option<UserDoc>> {
    let mut set = doc! { "updated_at": DateTime::now() };
    if let Some(username) = change.username {
        set.insert("username_key", username_key(&username));
        set.insert("username", username);
    }
    if let Some(full_name) = change.full_name {
        set.insert("full_name", full_name);
    }
    if let Some(bio) = change.bio {
        set.insert("bio", bio);
    }
    if let Some(interests) = change.interests {
        set.insert("interests", interests);
    }
    db.users()
        .find_one_and_update(doc! { "_id": id }, doc! { "$set": set })
        .return_document(ReturnDocument::After)
        .await
}

/// Makes an existing account a verified admin with the given password hash.
pub async fn promote_to_admin(
    db: &Db,
    id: ObjectId,
    password_hash: &str,
) -> mongodb::error::Result<()> {
    db.users()
        .update_one(
            doc! { "_id": id },
            doc! { "$set": {
                "role": "admin",
                "email_verified": true,
                "disabled": false,
                "password_hash": password_hash,
                "updated_at": DateTime::now(),
            } },
        )
        .await?;
    Ok(())
}

/// Users by id, in any order: one `$in` for every author on a page.
pub async fn find_many(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<Vec<UserDoc>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    db.users()
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
    db.users()
        .find(doc! { "username_key": { "$in": keys } })
        .await?
        .try_collect()
        .await
}

pub async fn add_to_posts_count(db: &Db, id: ObjectId, delta: i64) -> mongodb::error::Result<()> {
    db.users()
        .update_one(
            doc! { "_id": id },
            doc! { "$inc": { "posts_count": delta } },
        )
        .await?;
    Ok(())
}

/// Accounts with at least `threshold` followers (few by design).
pub async fn ids_with_followers_at_least(
    db: &Db,
    threshold: i64,
) -> mongodb::error::Result<Vec<ObjectId>> {
    db.database()
        .collection::<Document>("users")
        .find(doc! { "followers_count": { "$gte": threshold } })
        .projection(doc! { "_id": 1 })
        .limit(10_000)
        .await?
        .map_ok(|d| d.get_object_id("_id").ok())
        .try_filter_map(|id| async move { Ok(id) })
        .try_collect()
        .await
}

/// Moves the follower and following counters of one follow, by `delta` (±1).
pub async fn count_follow(
    db: &Db,
    follower: ObjectId,
    followee: ObjectId,
    delta: i64,
) -> mongodb::error::Result<()> {
    db.users()
        .update_one(
            doc! { "_id": follower },
            doc! { "$inc": { "following_count": delta } },
        )
        .await?;
    db.users()
        .update_one(
            doc! { "_id": followee },
            doc! { "$inc": { "followers_count": delta } },
        )
        .await?;
    Ok(())
}

/// A term as a literal regular expression: every character that is not a letter or a
/// digit is escaped, so user input can never be a pattern.
pub fn escape_regex(term: &str) -> String {
    let mut escaped = String::with_capacity(term.len() * 2);
    for c in term.chars() {
        if !c.is_alphanumeric() {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Username or full name containing `term` ignoring case, or email equal to it; newest
/// accounts first, keyset on `_id`.
pub async fn search_page(
    db: &Db,
    term: &str,
    hidden: &[ObjectId],
    before: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<UserDoc>> {
    let pattern = escape_regex(&term.to_lowercase());
    let filter = doc! {
        "_id": { "$nin": hidden },
        "$or": [
            { "username_key": { "$regex": &pattern } },
            { "full_name": { "$regex": &pattern, "$options": "i" } },
            { "email": term.to_lowercase() },
        ],
    };
    newest_by_id(db.users(), filter, before, limit).await
}

/// Accounts sharing any of `topics` as an interest.
pub async fn with_interests(
    db: &Db,
    topics: &[String],
    exclude: &[ObjectId],
    limit: i64,
) -> mongodb::error::Result<Vec<UserDoc>> {
    if topics.is_empty() {
        return Ok(Vec::new());
    }
    db.users()
        .find(doc! { "interests": { "$in": topics }, "_id": { "$nin": exclude }, "disabled": { "$ne": true } })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// The most followed accounts.
pub async fn most_followed(
    db: &Db,
    exclude: &[ObjectId],
    limit: i64,
) -> mongodb::error::Result<Vec<UserDoc>> {
    db.users()
        .find(doc! { "_id": { "$nin": exclude }, "disabled": { "$ne": true } })
        .sort(doc! { "followers_count": -1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

pub async fn delete(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    db.users().delete_one(doc! { "_id": id }).await?;
    Ok(())
}

/// Sets (or with `None` clears) the avatar; returns the account as it was before.
pub async fn set_avatar(
    db: &Db,
    id: ObjectId,
    avatar: Option<(ObjectId, String)>,
) -> mongodb::error::Result<Option<UserDoc>> {
    let update = match avatar {
        Some((media_id, url)) => {
            doc! { "$set": { "avatar_media_id": media_id, "avatar_url": url, "updated_at": DateTime::now() } }
        }
        None => {
            doc! { "$set": { "avatar_media_id": null, "avatar_url": null, "updated_at": DateTime::now() } }
        }
    };
    db.users()
        .find_one_and_update(doc! { "_id": id }, update)
        .return_document(ReturnDocument::Before)
        .await
}

/// Points the account whose avatar is `media_id` at the file's new URL (it got a new key);
/// `false` when the file is not that account's avatar.
pub async fn set_avatar_url(
    db: &Db,
    user: ObjectId,
    media_id: ObjectId,
    url: &str,
) -> mongodb::error::Result<bool> {
    let result = db
        .users()
        .update_one(
            doc! { "_id": user, "avatar_media_id": media_id },
            doc! { "$set": { "avatar_url": url } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

/// Forgets an avatar whose file is being deleted.
pub async fn clear_avatar_media(db: &Db, media_id: ObjectId) -> mongodb::error::Result<()> {
    db.users()
        .update_many(
            doc! { "avatar_media_id": media_id },
            doc! { "$set": { "avatar_media_id": null, "avatar_url": null } },
        )
        .await?;
    Ok(())
}

pub async fn set_role(
    db: &Db,
    id: ObjectId,
    role: Role,
) -> mongodb::error::Result<Option<UserDoc>> {
    db.users()
        .find_one_and_update(
            doc! { "_id": id },
            doc! { "$set": { "role": bson::to_bson(&role)?, "updated_at": DateTime::now() } },
        )
        .return_document(ReturnDocument::After)
        .await
}

pub async fn set_disabled(
    db: &Db,
    id: ObjectId,
    disabled: bool,
) -> mongodb::error::Result<Option<UserDoc>> {
    db.users()
        .find_one_and_update(
            doc! { "_id": id },
            doc! { "$set": { "disabled": disabled, "updated_at": DateTime::now() } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Newest accounts first, keyset on `_id` (which orders by creation).
pub async fn list_page(
    db: &Db,
    before: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<UserDoc>> {
    newest_by_id(db.users(), doc! {}, before, limit).await
}
