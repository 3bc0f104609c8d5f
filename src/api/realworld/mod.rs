//! The RealWorld ("Conduit") API under `/realworld/api`: the blogging-social API that
//! RealWorld front ends and its test suite speak, mapped onto Rookery's own data. An
//! article is a post (its `slug` is the post's title in words and its id), a favourite is
//! a like, a profile is a user, tags are hashtags: what one API does, the other shows.
//!
//! Every handler goes through the same paths as its native counterpart (`write_post`,
//! `like`, `add_comment`, `add_follow`, `create_account`, `account_for_login`…), so
//! rate limits, blocks, private groups, moderation and the visibility rule apply alike.
//! Only the shapes differ: envelopes (`{"article": …}`), camelCase, offset pagination, and
//! errors as `{"errors": {field: [message]}}` (`errors::realworld_errors`), `422` for bad
//! input.

use bson::oid::ObjectId;
use serde::Deserialize;

use crate::error::{ApiError, FieldErrors};
use crate::store::posts::{PostDoc, MAX_OFFSET};

pub mod articles;
pub mod comments;
pub mod errors;
pub mod profiles;
pub mod users;
pub mod views;

pub use errors::realworld_errors;

/// Where the RealWorld API is served: its `APIURL`.
pub const PREFIX: &str = "/realworld/api";

/// The OpenAPI tag of every RealWorld operation.
pub const TAG: &str = "realworld";

/// An article's slug: its title in lowercase words, then its post id. Only the id is
/// read back, so a slug keeps working after the title changes.
pub fn slug_of(post: &PostDoc) -> String {
    let words: Vec<String> = post
        .title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        post.id.to_hex()
    } else {
        format!("{}-{}", words.join("-"), post.id.to_hex())
    }
}

/// The post id a slug ends with (the whole slug may be the id).
pub fn post_id_of_slug(slug: &str) -> Result<ObjectId, bson::oid::Error> {
    let id = slug.rsplit('-').next().unwrap_or(slug);
    ObjectId::parse_str(id)
}

/// `limit` and `offset` of a RealWorld list, as sent (numbers in a query string).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OffsetParams {
    /// Articles per page, 1–100 (default 20).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// Articles to skip, 0–10 000 (default 0).
    #[param(value_type = Option<u32>)]
    pub offset: Option<String>,
}

impl OffsetParams {
    /// `(offset, limit)`, checked: `422` naming the parameter otherwise.
    pub fn parse(&self) -> Result<(u64, i64), ApiError> {
        let mut errors = FieldErrors::new();
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => Some(20),
            Some(raw) => errors.check(
                "limit",
                raw.parse::<i64>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| "must be a whole number from 1 to 100".to_owned()),
            ),
        };
        let offset = match self.offset.as_deref().map(str::trim) {
            None | Some("") => Some(0),
            Some(raw) => errors.check(
                "offset",
                raw.parse::<u64>()
                    .ok()
                    .filter(|n| *n <= MAX_OFFSET)
                    .ok_or_else(|| format!("must be a whole number from 0 to {MAX_OFFSET}")),
            ),
        };
        errors.into_result()?;
        Ok((offset.unwrap_or(0), limit.unwrap_or(20)))
    }
}

/// The object a RealWorld body wraps (`{"user": {…}}`), or `422` naming the envelope.
pub fn unwrap<T>(envelope: Option<T>, name: &str) -> Result<T, ApiError> {
    envelope.ok_or_else(|| FieldErrors::single(name, format!("send the fields inside \"{name}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_is_words_then_the_id_and_only_the_id_is_read_back() {
        let id = ObjectId::new();
        let mut post: PostDoc = bson::from_document(bson::doc! {
            "_id": id, "author_id": ObjectId::new(), "title": "How to train: your Dragon!",
            "content": "x", "hashtags": [], "mentions": [], "status": "published",
            "published_at": bson::DateTime::now(), "created_at": bson::DateTime::now(),
            "updated_at": bson::DateTime::now(),
        })
        .unwrap();
        let slug = slug_of(&post);
        assert_eq!(slug, format!("how-to-train-your-dragon-{}", id.to_hex()));
        assert_eq!(post_id_of_slug(&slug).unwrap(), id);
        assert_eq!(post_id_of_slug(&id.to_hex()).unwrap(), id);
        assert_eq!(
            post_id_of_slug(&format!("other-words-{}", id.to_hex())).unwrap(),
            id
        );
        assert!(post_id_of_slug("no-id-here").is_err());
        post.title = "!!!".into();
        assert_eq!(slug_of(&post), id.to_hex());
    }

    #[test]
    fn offsets_and_limits_are_bounded() {
        let params = |limit: Option<&str>, offset: Option<&str>| OffsetParams {
            limit: limit.map(str::to_owned),
            offset: offset.map(str::to_owned),
        };
        assert_eq!(params(None, None).parse().unwrap(), (0, 20));
        assert_eq!(params(Some("5"), Some("10")).parse().unwrap(), (10, 5));
        for (limit, offset) in [
            (Some("0"), None),
            (Some("101"), None),
            (Some("x"), None),
            (None, Some("-1")),
            (None, Some("10001")),
        ] {
            assert!(
                params(limit, offset).parse().is_err(),
                "{limit:?} {offset:?}"
            );
        }
    }
}
