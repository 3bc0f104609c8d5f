//! A keyset position in a list: the sort key of the last item seen and its `_id`, opaque
//! to clients (URL-safe base64). Stores query "after this position"; the HTTP layer
//! (`pagination`) reads and writes it in `cursor` parameters and `next` links.

use base64::Engine;
use bson::oid::ObjectId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The sort key of the last item seen (milliseconds, a count…), if the list has one.
    pub key: Option<i64>,
    pub id: ObjectId,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl Cursor {
    pub fn encode(&self) -> String {
        let raw = match self.key {
            Some(key) => format!("{key}:{}", self.id.to_hex()),
            None => self.id.to_hex(),
        };
        B64.encode(raw)
    }

    pub fn decode(encoded: &str) -> Option<Self> {
        let raw = String::from_utf8(B64.decode(encoded).ok()?).ok()?;
        match raw.split_once(':') {
            Some((key, id)) => Some(Self {
                key: Some(key.parse().ok()?),
                id: ObjectId::parse_str(id).ok()?,
            }),
            None => Some(Self {
                key: None,
                id: ObjectId::parse_str(&raw).ok()?,
            }),
        }
    }
}
