//! OAuth 2 as Mastodon apps speak it (`api::mastodon::oauth`): opaque tokens, scopes and
//! PKCE, as pure functions.
//!
//! A token is 57 random-looking bytes, URL-safe base64 (76 characters): a kind byte, two
//! ids (for a user's token its session and account, for an app's token the app twice)
//! and a 256-bit secret. Only the SHA-256 of the whole token is stored, beside the ids,
//! so checking one is a lookup on `_id` and a comparison of hashes, as for a JWT's
//! session, and nothing stored can be used as a token.

use base64::Engine;
use bson::oid::ObjectId;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::auth::sessions::hash_secret;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A user's access token: `Authorization: Bearer …` on the Mastodon API.
    Access,
    /// Exchanged once at `POST /oauth/token` (`grant_type=refresh_token`) for a new pair.
    Refresh,
    /// An app's own token (`grant_type=client_credentials`): no account behind it.
    App,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Access => b'a',
            Kind::Refresh => b'r',
            Kind::App => b'c',
        }
    }

    fn of(byte: u8) -> Option<Self> {
        match byte {
            b'a' => Some(Kind::Access),
            b'r' => Some(Kind::Refresh),
            b'c' => Some(Kind::App),
            _ => None,
        }
    }
}

const LEN: usize = 1 + 12 + 12 + 32;

/// A token as read back: what it names, and the hash to compare with the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    /// The session (user tokens) or the app (app tokens).
    pub first: ObjectId,
    /// The account (user tokens) or the app again (app tokens).
    pub second: ObjectId,
    /// Hex SHA-256 of the whole token.
    pub hash: String,
}

/// A new token of `kind` naming `first` and `second`: the string for the client and the
/// hash to store.
pub fn issue(kind: Kind, first: ObjectId, second: ObjectId) -> (String, String) {
    let mut bytes = [0u8; LEN];
    bytes[0] = kind.byte();
    bytes[1..13].copy_from_slice(&first.bytes());
    bytes[13..25].copy_from_slice(&second.bytes());
    rand::rng().fill_bytes(&mut bytes[25..]);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_secret(&token);
    (token, hash)
}

/// Reads a token a client sent; `None` for anything that is not one (a JWT, noise).
pub fn parse(token: &str) -> Option<Token> {
    if token.len() != 76 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let bytes: [u8; LEN] = bytes.try_into().ok()?;
    let id = |range: std::ops::Range<usize>| -> Option<ObjectId> {
        let raw: [u8; 12] = bytes[range].try_into().ok()?;
        Some(ObjectId::from_bytes(raw))
    };
    Some(Token {
        kind: Kind::of(bytes[0])?,
        first: id(1..13)?,
        second: id(13..25)?,
        hash: hash_secret(token),
    })
}

/// The scopes Rookery grants, as Mastodon names them: the three top-level ones (`push`
/// is accepted and grants nothing: Rookery has no Web Push) and their parts.
pub const SCOPES: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
];

/// What the legacy `follow` scope stands for.
const FOLLOW_PARTS: &[&str] = &[
    "read:follows",
    "write:follows",
    "read:blocks",
    "write:blocks",
    "read:mutes",
    "write:mutes",
];

/// Scopes as sent: separated by spaces or pluses; none means `read`. Unknown ones are
/// refused by name.
pub fn parse_scopes(raw: Option<&str>) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw
        .unwrap_or_default()
        .split([' ', '+'])
        .filter(|s| !s.is_empty())
    {
        if !SCOPES.contains(&scope) {
            return Err(format!("unknown scope: {scope}"));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        scopes.push("read".to_owned());
    }
    Ok(scopes)
}

/// Whether `granted` scopes allow what needs `needed`: the scope itself, its top-level
/// scope (`read` for `read:statuses`), or `follow` for the parts it stands for.
pub fn allows(granted: &[String], needed: &str) -> bool {
    granted.iter().any(|g| {
        g == needed
            || needed
                .strip_prefix(g.as_str())
                .is_some_and(|rest| rest.starts_with(':'))
            || (g == "follow" && FOLLOW_PARTS.contains(&needed))
    })
}

/// Whether every scope in `requested` is within `registered` (an app asks for no more
/// than it registered for).
pub fn within(requested: &[String], registered: &[String]) -> bool {
    requested.iter().all(|r| allows(registered, r))
}

/// PKCE (RFC 7636) with `S256`: whether `verifier` is 43–128 unreserved characters whose
/// SHA-256, URL-safe base64 without padding, is `challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return false;
    }
    let digest = Sha256::digest(verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    // Both sides are public once the code is used; no timing matters here.
    computed == challenge
}

/// A client secret or an authorization code: 256 random bits, URL-safe.
pub fn new_secret() -> String {
    crate::auth::sessions::new_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back_and_noise_does_not() {
        let (a, b) = (ObjectId::new(), ObjectId::new());
        let (token, hash) = issue(Kind::Access, a, b);
        assert_eq!(token.len(), 76);
        let read = parse(&token).expect("a token reads back");
        assert_eq!(read.kind, Kind::Access);
        assert_eq!((read.first, read.second), (a, b));
        assert_eq!(read.hash, hash);
        let (other, _) = issue(Kind::Access, a, b);
        assert_ne!(token, other, "the secret differs each time");
        assert!(parse("eyJhbGciOiJIUzI1NiJ9.e30.x").is_none());
        assert!(parse(&"A".repeat(76)).is_none(), "no such kind");
        assert!(parse(&token[..75]).is_none());
    }

    #[test]
    fn scopes_parse_with_spaces_or_pluses() {
        assert_eq!(parse_scopes(None).unwrap(), vec!["read"]);
        assert_eq!(
            parse_scopes(Some("read+write:statuses follow read")).unwrap(),
            vec!["read", "write:statuses", "follow"]
        );
        assert!(parse_scopes(Some("read admin:write")).is_err());
    }

    #[test]
    fn top_level_scopes_cover_their_parts() {
        let granted = vec!["read".to_owned(), "follow".to_owned()];
        assert!(allows(&granted, "read:statuses"));
        assert!(allows(&granted, "write:follows"));
        assert!(!allows(&granted, "write:statuses"));
        let narrow = vec!["write:media".to_owned()];
        assert!(!allows(&narrow, "write"));
        assert!(within(&narrow, &["write".to_owned()]));
        assert!(!within(&["write".to_owned()], &narrow));
    }

    #[test]
    fn pkce_s256_as_in_rfc_7636() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_matches("short", "x"));
    }
}
