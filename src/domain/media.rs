//! Upload types decided from the bytes, never from the filename or the declared type
//! (API.md §5), and HTTP byte ranges.

use base64::Engine;
use bson::oid::ObjectId;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
}

/// A file's id: 96 random bits, so no id can be derived from another (an `ObjectId::new()`
/// is a timestamp, a per-process constant and a counter). Still an ObjectId, as every id.
pub fn new_media_id() -> ObjectId {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    ObjectId::from_bytes(bytes)
}

/// A file's capability key: 128 random bits, URL-safe. Whoever holds a media URL holds the
/// key; the API hands URLs only to readers who may see the file, and a new key (which
/// retires every URL handed out before) is drawn when a post showing the file is removed.
pub fn new_media_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The download URL the API hands out: the path `/api/media/{id}` with the file's key.
pub fn media_url(id: ObjectId, key: &str) -> String {
    format!("/api/media/{}?key={key}", id.to_hex())
}

/// The URL of a file's variant `name` (`preview`, `poster`, `video`, `avatar_128`…).
pub fn variant_url(id: ObjectId, name: &str, key: &str) -> String {
    format!("/api/media/{}/{name}?key={key}", id.to_hex())
}

/// Whether a key presented with a download is the file's, compared through digests so the
/// time taken tells nothing about how much of it matched.
pub fn key_matches(presented: Option<&str>, stored: Option<&str>) -> bool {
    match (presented, stored) {
        (Some(presented), Some(stored)) => {
            Sha256::digest(presented.as_bytes()) == Sha256::digest(stored.as_bytes())
        }
        _ => false,
    }
}

/// How many leading bytes `sniff` needs to decide.
pub const SNIFF_BYTES: usize = 64;

/// The content type and kind of a file from its first bytes, if it is one we accept:
/// JPEG, PNG, GIF, WebP images; MP4, QuickTime, WebM videos.
pub fn sniff(head: &[u8]) -> Option<(&'static str, MediaKind)> {
    use MediaKind::{Image, Video};
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(("image/jpeg", Image));
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(("image/png", Image));
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some(("image/gif", Image));
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(("image/webp", Image));
    }
    if is_ftyp_box(head) {
        return Some(if &head[8..12] == b"qt  " {
            ("video/quicktime", Video)
        } else {
            ("video/mp4", Video)
        });
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) && head.windows(4).any(|w| w == b"webm") {
        return Some(("video/webm", Video));
    }
    None
}

/// Whether the file starts with a well-formed ISO BMFF `ftyp` box: a size that fits the
/// box (the header, a major brand, a minor version, whole compatible brands, at most a
/// few hundred of them) and a printable brand. `ftyp` at bytes 4–8 alone is not enough:
/// `<!--ftypjp2 -->` opens an XML comment, and what follows (a DASH manifest) would be
/// handed to FFmpeg as a "video".
fn is_ftyp_box(head: &[u8]) -> bool {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let brand_ok = head[8..12]
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ');
    (16..=1024).contains(&size) && size.is_multiple_of(4) && brand_ok
}

/// The FFmpeg demuxer for a content type `sniff` gave: FFmpeg is always told the
/// container, never left to guess it (its guess can be a playlist or a manifest that
/// opens other files).
pub fn demuxer_for(content_type: &str) -> Option<&'static str> {
    match content_type {
        "video/mp4" | "video/quicktime" => Some("mov"),
        "video/webm" => Some("matroska"),
        _ => None,
    }
}

/// A single satisfiable byte range, inclusive, of a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable `Range` header (absent, malformed or several ranges): send it all.
    Whole,
    Partial(ByteRange),
    Unsatisfiable,
}

/// Reads a `Range` header (RFC 9110 §14.2). Only one range is served; a header asking for
/// several, or one that does not parse, is ignored as the RFC allows.
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => (start, end.min(len.saturating_sub(1))),
        (Ok(start), Err(_)) if last.is_empty() => (start, len.saturating_sub(1)),
        (Err(_), Ok(suffix)) if first.is_empty() => {
            if suffix == 0 {
                return RangeRequest::Unsatisfiable;
            }
            (len.saturating_sub(suffix), len.saturating_sub(1))
        }
        _ => return RangeRequest::Whole,
    };
    if len == 0 || range.0 >= len {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial(ByteRange {
        start: range.0,
        end: range.1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_magic_numbers() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest").unwrap().0, "image/jpeg");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").unwrap().0, "image/png");
        assert_eq!(sniff(b"GIF89a..").unwrap().0, "image/gif");
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().0, "image/webp");
        assert_eq!(
            sniff(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2").unwrap(),
            ("video/mp4", MediaKind::Video)
        );
        assert_eq!(
            sniff(b"\0\0\0\x14ftypqt  \0\0\0\0qt  ").unwrap().0,
            "video/quicktime"
        );
        // `ftyp` in the right place is not enough: the box must be one.
        for hostile in [
            &b"<!--ftypjp2 -->\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\">"[..],
            b"\0\0\0\x18ftyp\x01\x02\x03\x04\0\0\0\0isom",
            b"\0\0\0\x11ftypisom\0\0\0\0isom",
            b"\0\0\0\x08ftypisom",
        ] {
            assert_eq!(
                sniff(hostile),
                None,
                "{:?}",
                String::from_utf8_lossy(hostile)
            );
        }
        assert_eq!(demuxer_for("video/mp4"), Some("mov"));
        assert_eq!(demuxer_for("video/webm"), Some("matroska"));
        assert_eq!(demuxer_for("application/dash+xml"), None);
        assert_eq!(
            sniff(b"\x1A\x45\xDF\xA3\x9F\x42\x82\x84webm").unwrap().0,
            "video/webm"
        );
    }

    #[test]
    fn media_ids_and_keys_are_random_and_keys_must_match_exactly() {
        let (a, b) = (new_media_id(), new_media_id());
        assert_ne!(a, b);
        assert_ne!(
            a.bytes()[4..9],
            b.bytes()[4..9],
            "no shared process constant"
        );
        let key = new_media_key();
        assert_eq!(key.len(), 22, "128 bits in base64url");
        assert_ne!(key, new_media_key());
        assert!(key_matches(Some(&key), Some(&key)));
        assert!(!key_matches(Some(&key[1..]), Some(&key)));
        assert!(!key_matches(None, Some(&key)));
        assert!(!key_matches(Some(""), None));
        assert_eq!(
            media_url(a, &key),
            format!("/api/media/{}?key={key}", a.to_hex())
        );
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(sniff(b"hello, I am a text file renamed .png").is_none());
        assert!(sniff(b"%PDF-1.7").is_none());
        assert!(sniff(b"").is_none());
        assert!(sniff(b"\x1A\x45\xDF\xA3matroska").is_none());
    }

    #[test]
    fn ranges_parse_like_rfc_9110() {
        use RangeRequest::*;
        let r = |start, end| Partial(ByteRange { start, end });
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), r(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), r(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), r(90, 99));
        assert_eq!(parse_range(Some("bytes=-500"), 100), r(0, 99));
        assert_eq!(parse_range(Some("bytes=50-500"), 100), r(50, 99));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Whole);
        assert_eq!(parse_range(Some("items=0-3"), 100), Whole);
    }
}
