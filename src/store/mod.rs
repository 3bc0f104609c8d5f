//! One module per collection: its document struct and the queries on it. Every filter
//! here is served by an index created in `db::Db::ensure_indexes`.

pub mod blocks;
pub mod comments;
pub mod follows;
pub mod likes;
pub mod posts;
pub mod sessions;
pub mod timelines;
pub mod tokens;
pub mod users;

use bson::{doc, Document};

use crate::pagination::Cursor;

/// Keyset filter for a list sorted by `(field, _id)` descending: the items after `cursor`.
pub fn after_desc(field: &str, cursor: Option<Cursor>) -> Document {
    keyset(field, cursor, "$lt")
}

/// Keyset filter for a list sorted by `(field, _id)` ascending.
pub fn after_asc(field: &str, cursor: Option<Cursor>) -> Document {
    keyset(field, cursor, "$gt")
}

fn keyset(field: &str, cursor: Option<Cursor>, op: &str) -> Document {
    let Some(cursor) = cursor else {
        return doc! {};
    };
    let key = bson::DateTime::from_millis(cursor.key.unwrap_or_default());
    doc! { "$or": [
        { field: { op: key } },
        { field: key, "_id": { op: cursor.id } },
    ] }
}

/// The cursor after an item sorted by a date field.
pub fn date_cursor(key: bson::DateTime, id: bson::oid::ObjectId) -> Cursor {
    Cursor {
        key: Some(key.timestamp_millis()),
        id,
    }
}
