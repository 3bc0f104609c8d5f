//! Post text rules (API.md §4): limits, and the hashtags, mentions and search terms found in
//! a post's title and content.

use crate::domain::accounts::parse_text;

pub const TITLE_MAX: usize = 200;
pub const CONTENT_MAX: usize = 10_000;
pub const COMMENT_MAX: usize = 5_000;
const TAG_MAX_CHARS: usize = 100;

pub fn parse_title(raw: &str) -> Result<String, String> {
    let title = parse_text(raw, TITLE_MAX)?;
    if title.contains('\n') {
        return Err("A title must be on one line.".into());
    }
    Ok(title)
}

/// Required, not blank, at most `max` characters.
pub fn parse_body(raw: &str, max: usize) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Err("This field may not be blank.".into());
    }
    parse_text(raw, max)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The words that follow `sigil` where it starts a word ("#rust", not "c#" or "a@b").
fn sigil_words<'a>(text: &'a str, sigil: char) -> impl Iterator<Item = &'a str> + 'a {
    text.char_indices().filter_map(move |(i, c)| {
        if c != sigil || text[..i].chars().next_back().is_some_and(is_word_char) {
            return None;
        }
        let rest = &text[i + c.len_utf8()..];
        let end = rest
            .find(|ch: char| !is_word_char(ch))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Lowercase `#tags` of title then content, without `#`, unique, in order of appearance.
pub fn hashtags(title: &str, content: &str) -> Vec<String> {
    let mut tags = Vec::new();
    for text in [title, content] {
        for tag in sigil_words(text, '#') {
            if tag.chars().count() <= TAG_MAX_CHARS && !tag.chars().all(|c| c.is_ascii_digit()) {
                push_unique(&mut tags, tag.to_lowercase());
            }
        }
    }
    tags
}

/// Lowercased `@names` that could be usernames, unique, in order; the caller keeps those
/// that exist.
pub fn mention_candidates(title: &str, content: &str) -> Vec<String> {
    let mut names = Vec::new();
    for text in [title, content] {
        for name in sigil_words(text, '@') {
            if (3..=30).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                push_unique(&mut names, name.to_ascii_lowercase());
            }
        }
    }
    names
}

/// The lowercased words of a text, unique: what `?q=` search matches against (a `$text`
/// index is not available on every server we support).
pub fn search_terms(texts: &[&str]) -> Vec<String> {
    let mut terms = Vec::new();
    for text in texts {
        for word in text
            .split(|c: char| !is_word_char(c))
            .filter(|w| !w.is_empty())
        {
            if word.chars().count() <= TAG_MAX_CHARS {
                push_unique(&mut terms, word.to_lowercase());
            }
        }
    }
    terms
}

/// A hashtag as a client sends it in a filter: `#` optional, any case.
pub fn normalise_tag(raw: &str) -> Option<String> {
    let tag = raw.trim().trim_start_matches('#').to_lowercase();
    (!tag.is_empty() && tag.chars().all(is_word_char)).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_lowercase_unique_and_in_order() {
        assert_eq!(
            hashtags("Hello #Rust", "more #rust and #Go, #tokio_rs! #rust"),
            vec!["rust", "go", "tokio_rs"]
        );
    }

    #[test]
    fn a_hash_inside_a_word_or_alone_is_no_tag() {
        assert!(hashtags("", "c# is not a tag, nor is # alone, nor #123").is_empty());
        assert_eq!(hashtags("", "(#café)"), vec!["café"]);
    }

    #[test]
    fn mentions_skip_email_addresses() {
        assert_eq!(
            mention_candidates("", "hi @Alice and @bob_2, mail bob@example.com, @al"),
            vec!["alice", "bob_2"]
        );
    }

    #[test]
    fn search_terms_are_lowercase_words() {
        assert_eq!(
            search_terms(&["Hello, World!", "#rust hello"]),
            vec!["hello", "world", "rust"]
        );
    }

    #[test]
    fn bodies_must_not_be_blank_or_too_long() {
        assert!(parse_body("  \n ", CONTENT_MAX).is_err());
        assert!(parse_body(&"x".repeat(CONTENT_MAX + 1), CONTENT_MAX).is_err());
        assert_eq!(parse_body(" hi ", CONTENT_MAX).unwrap(), "hi");
        assert!(parse_title(&"x".repeat(TITLE_MAX + 1)).is_err());
    }

    #[test]
    fn filter_tags_are_normalised() {
        assert_eq!(normalise_tag("#Rust").as_deref(), Some("rust"));
        assert_eq!(normalise_tag("rust").as_deref(), Some("rust"));
        assert_eq!(normalise_tag("#").as_deref(), None);
        assert_eq!(normalise_tag("a b").as_deref(), None);
    }
}
