//! Reading accounts in bulk: search by name, suggestions by interest or following,
//! the admin list, the accounts over the celebrity threshold.

use super::base::*;
use bson::oid::ObjectId;
use bson::{doc, Document};
use futures::TryStreamExt;

use crate::db::Db;
use crate::store::newest_by_id;

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

/// Username or full name containing `term` ignoring case; newest accounts first, keyset
/// on `_id`. Never the email: an address must not tell whether it has an account.
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
        ],
    };
    newest_by_id(collection(db), filter, before, limit).await
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
    collection(db)
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
    collection(db)
        .find(doc! { "_id": { "$nin": exclude }, "disabled": { "$ne": true } })
        .sort(doc! { "followers_count": -1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// Newest accounts first, keyset on `_id` (which orders by creation).
pub async fn list_page(
    db: &Db,
    before: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<UserDoc>> {
    newest_by_id(collection(db), doc! {}, before, limit).await
}
