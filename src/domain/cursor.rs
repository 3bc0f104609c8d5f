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
    /// For a list sorted by time: the microseconds per item of the page it ends, which
    /// sizes the next page's first window (`store::window`). Only a hint: a wrong one
    /// costs a command or some rows, never an item. Written with a `u` after it; a bare
    /// number (a cursor handed out before) is milliseconds.
    pub pace: Option<i64>,
    /// How many items of the list came before this position, as the pages that led here
    /// counted them (written after the pace). Only a hint, like the pace: with a list's
    /// length it tells that few are left, to be read in one command
    /// (`store::posts::page_listed`).
    pub seen: Option<i64>,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl Cursor {
    /// A position in a list sorted by id alone (no sort key, nor hints).
    pub fn at(id: ObjectId) -> Self {
        Self {
            key: None,
            id,
            pace: None,
            seen: None,
        }
    }

    pub fn encode(&self) -> String {
        let raw = match (self.key, self.pace, self.seen) {
            (Some(key), Some(pace), Some(seen)) => {
                format!("{key}:{}:{pace}u:{seen}", self.id.to_hex())
            }
            (Some(key), Some(pace), None) => format!("{key}:{}:{pace}u", self.id.to_hex()),
            (Some(key), None, _) => format!("{key}:{}", self.id.to_hex()),
            (None, _, _) => self.id.to_hex(),
        };
        B64.encode(raw)
    }

    pub fn decode(encoded: &str) -> Option<Self> {
        let raw = String::from_utf8(B64.decode(encoded).ok()?).ok()?;
        let mut parts = raw.split(':');
        let (first, second, third, fourth) =
            (parts.next()?, parts.next(), parts.next(), parts.next());
        if parts.next().is_some() {
            return None;
        }
        match (second, third) {
            (None, _) => Some(Self::at(ObjectId::parse_str(first).ok()?)),
            (Some(id), pace) => Some(Self {
                key: Some(first.parse().ok()?),
                id: ObjectId::parse_str(id).ok()?,
                pace: match pace {
                    Some(pace) => Some(pace_micros(pace)?),
                    None => None,
                },
                seen: match fourth {
                    Some(seen) => Some(seen.parse::<i64>().ok()?.max(0)),
                    None => None,
                },
            }),
        }
    }

    /// The same position, with the pace of the page it ends.
    pub fn with_pace(self, pace: Option<i64>) -> Self {
        Self { pace, ..self }
    }

    /// The same position, with how many items came before it.
    pub fn with_seen(self, seen: Option<i64>) -> Self {
        Self { seen, ..self }
    }
}

/// A cursor's pace in microseconds: `250u`, or a bare number of milliseconds.
fn pace_micros(raw: &str) -> Option<i64> {
    let micros = match raw.strip_suffix('u') {
        Some(micros) => micros.parse::<i64>().ok()?,
        None => raw.parse::<i64>().ok()?.saturating_mul(1_000),
    };
    Some(micros.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pace_round_trips_and_old_cursors_still_read() {
        let id = ObjectId::new();
        let paced = Cursor {
            key: Some(1_700_000_000_000),
            id,
            pace: Some(250),
            seen: None,
        };
        assert_eq!(Cursor::decode(&paced.encode()), Some(paced));
        let old = B64.encode(format!("1700000000000:{}", id.to_hex()));
        assert_eq!(Cursor::decode(&old), Some(paced.with_pace(None)));
        // Milliseconds, as cursors carried their pace before.
        let in_ms = B64.encode(format!("1700000000000:{}:3", id.to_hex()));
        assert_eq!(Cursor::decode(&in_ms), Some(paced.with_pace(Some(3_000))));
        let bad = B64.encode(format!("1:{}:u", id.to_hex()));
        assert_eq!(Cursor::decode(&bad), None);
        let bad = B64.encode(format!("1:{}:x", id.to_hex()));
        assert_eq!(Cursor::decode(&bad), None);
        // How many came before, after the pace.
        let counted = paced.with_seen(Some(190));
        assert_eq!(Cursor::decode(&counted.encode()), Some(counted));
        let bad = B64.encode(format!("1:{}:2u:x", id.to_hex()));
        assert_eq!(Cursor::decode(&bad), None);
        let extra = B64.encode(format!("1:{}:2:3:4", id.to_hex()));
        assert_eq!(Cursor::decode(&extra), None);
    }
}
