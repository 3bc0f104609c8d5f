//! Account fields, valid by construction (API.md §2 "Rules", §3 profile limits).
//!
//! Each `parse` returns the message a client sees under the field's name.

use validator::ValidateEmail;

pub const REQUIRED: &str = "This field is required.";

/// 3–30 characters of `A–Z a–z 0–9 _`, and never 24 hex characters, so that `{user}` in a
/// path is unambiguously an id or a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.chars().count();
        if !(3..=30).contains(&len) {
            return Err("Ensure this field has 3 to 30 characters.".into());
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("Use only letters, digits and underscores.".into());
        }
        if looks_like_object_id(raw) {
            return Err("A username cannot be 24 hexadecimal characters.".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is decided on: usernames are unique ignoring case.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

pub fn username_key(raw: &str) -> String {
    raw.to_ascii_lowercase()
}

pub fn looks_like_object_id(raw: &str) -> bool {
    raw.len() == 24 && raw.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A valid address, trimmed and stored lowercase (unique ignoring case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.len() > 254 || !email.validate_email() {
            return Err("Enter a valid email address.".into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At least 8 characters, not all digits, not the username or email. bcrypt reads only the
/// first 72 bytes, so longer passwords are refused rather than silently truncated.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str, username: &str, email: &str) -> Result<Self, String> {
        if raw.chars().count() < 8 {
            return Err(
                "This password is too short. It must contain at least 8 characters.".into(),
            );
        }
        if raw.len() > 72 {
            return Err("This password is too long. It must be at most 72 bytes.".into());
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err("This password is entirely numeric.".into());
        }
        let lower = raw.to_lowercase();
        if (!username.is_empty() && lower == username.to_lowercase())
            || (!email.is_empty() && lower == email.to_lowercase())
        {
            return Err("The password is too similar to the username or email.".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Trimmed free text of at most `max` characters with no control characters.
pub fn parse_text(raw: &str, max: usize) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("Control characters are not allowed.".into());
    }
    if text.chars().any(is_bidi_control) {
        return Err("Text direction controls are not allowed.".into());
    }
    Ok(text.to_owned())
}

/// Embeddings, overrides and isolates reorder what a reader sees ("gnp.exe" shown as
/// "exe.png"): the trick of impersonating names and links.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

pub const FULL_NAME_MAX: usize = 100;
pub const BIO_MAX: usize = 500;
pub const INTERESTS_MAX: usize = 20;
pub const INTEREST_MAX_CHARS: usize = 40;

pub fn parse_full_name(raw: &str) -> Result<String, String> {
    let name = parse_text(raw, FULL_NAME_MAX)?;
    if name.contains('\n') || name.contains('\t') {
        return Err("A name must be on one line.".into());
    }
    Ok(name)
}

pub fn parse_bio(raw: &str) -> Result<String, String> {
    parse_text(raw, BIO_MAX)
}

/// Interests are short tags: trimmed, lowercased, without a leading `#`, unique, in order.
pub fn parse_interests(raw: &[String]) -> Result<Vec<String>, String> {
    if raw.len() > INTERESTS_MAX {
        return Err(format!(
            "Ensure this list has no more than {INTERESTS_MAX} items."
        ));
    }
    let mut interests: Vec<String> = Vec::with_capacity(raw.len());
    for item in raw {
        let tag = parse_text(item, INTEREST_MAX_CHARS)?
            .trim_start_matches('#')
            .to_lowercase();
        if tag.is_empty() || tag.contains('\n') {
            return Err("Each interest must be a non-empty single line.".into());
        }
        if !interests.contains(&tag) {
            interests.push(tag);
        }
    }
    Ok(interests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        assert!(Username::parse("alice_01").is_ok());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(31)).is_err());
        assert!(Username::parse(&"a".repeat(30)).is_ok());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse("alicé").is_err());
        assert!(Username::parse("al.ice").is_err());
        assert!(Username::parse("0123456789abcdef01234567").is_err());
        assert!(Username::parse("0123456789abcdef0123456g").is_ok());
    }

    #[test]
    fn username_keys_ignore_case() {
        assert_eq!(Username::parse("Alice").unwrap().key(), "alice");
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Bob@Example.COM ").unwrap().as_str(),
            "bob@example.com"
        );
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse("a@").is_err());
        assert!(Email::parse("").is_err());
    }

    #[test]
    fn passwords_follow_the_rules() {
        assert!(Password::parse("s3cure-pass", "alice", "a@x.io").is_ok());
        assert!(Password::parse("short1", "alice", "a@x.io").is_err());
        assert!(Password::parse("1234567890", "alice", "a@x.io").is_err());
        assert!(Password::parse("AliceAlice", "alicealice", "a@x.io").is_err());
        assert!(Password::parse("a@x.io.long", "alice", "A@X.IO.LONG").is_err());
        assert!(Password::parse(&"x".repeat(73), "alice", "a@x.io").is_err());
    }

    #[test]
    fn passwords_are_redacted_in_debug_output() {
        let password = Password::parse("s3cure-pass", "alice", "a@x.io").unwrap();
        assert!(!format!("{password:?}").contains("s3cure"));
    }

    #[test]
    fn bios_are_limited_to_500_characters() {
        assert!(parse_bio(&"é".repeat(500)).is_ok());
        assert!(parse_bio(&"é".repeat(501)).is_err());
        assert!(parse_bio("line\u{0007}bell").is_err());
    }

    #[test]
    fn text_may_not_reorder_itself_but_may_be_right_to_left() {
        assert!(parse_full_name("Evil\u{202E}gnp.exe").is_err());
        assert!(parse_bio("a \u{2066}isolated\u{2069} word").is_err());
        assert!(parse_full_name("שלום עולם").is_ok());
        assert!(parse_bio("family 👨\u{200D}👩\u{200D}👧").is_ok());
    }

    #[test]
    fn interests_are_normalised() {
        let parsed = parse_interests(&["Rust".into(), "#rust".into(), " Go ".into()]).unwrap();
        assert_eq!(parsed, vec!["rust", "go"]);
        assert!(parse_interests(&[" ".into()]).is_err());
        assert!(parse_interests(&vec!["x".to_string(); 21]).is_err());
    }
}
