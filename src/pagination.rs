//! Cursor pagination (API.md §1): `limit` 1..100 (default 20), an opaque `cursor`, and a
//! `{results, next}` body with a matching `Link` header.
//!
//! A cursor is the keyset position after the last item of a page: its sort key (when the
//! list is not sorted by `_id` alone) and its `_id`. Stores query "after this position", so
//! a page costs the same however deep it is and concurrent inserts never shift it.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures::future::{ready, Ready};
use serde::Serialize;

use crate::error::{ApiError, FieldErrors};

pub use crate::domain::cursor::Cursor;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// `limit` and `cursor` from the query string, validated.
#[derive(Debug, Clone, Copy)]
pub struct PageParams {
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

impl PageParams {
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::new();
        let mut limit = DEFAULT_LIMIT;
        let mut cursor = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "limit" => match value.parse::<i64>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                    _ => errors.add(
                        "limit",
                        format!("Ensure this value is a whole number from 1 to {MAX_LIMIT}."),
                    ),
                },
                "cursor" => match Cursor::decode(&value) {
                    Some(c) => cursor = Some(c),
                    None => errors.add("cursor", "Invalid cursor."),
                },
                _ => {}
            }
        }
        errors.into_result()?;
        Ok(Self { limit, cursor })
    }

    /// How many items to fetch: one more than a page, to learn whether another follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

impl FromRequest for PageParams {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req.query_string()))
    }
}

/// A page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub results: Vec<T>,
    /// The URL of the next page, `null` on the last.
    #[schema(example = "/api/posts?cursor=NjczZjFjMmE&limit=20")]
    pub next: Option<String>,
}

impl<T: Serialize> Page<T> {
    /// Builds a page from `fetch_limit()` items: when one more than `limit` came back, the
    /// extra is dropped and `next` points after the last kept item, whose position
    /// `cursor_of` gives.
    pub fn from_items<D>(
        req: &HttpRequest,
        params: PageParams,
        mut items: Vec<D>,
        cursor_of: impl Fn(&D) -> Cursor,
        view: impl FnMut(D) -> T,
    ) -> Self {
        let limit = usize::try_from(params.limit).unwrap_or(usize::MAX);
        let next = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|last| next_url(req, &cursor_of(last), params.limit))
        } else {
            None
        };
        Self {
            results: items.into_iter().map(view).collect(),
            next,
        }
    }

    /// Answers with `results` (a page's items as the client sees them) and its `next`.
    pub fn respond(results: Vec<T>, next: Option<String>) -> HttpResponse {
        Page { results, next }.into_response()
    }

    pub fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        if let Some(next) = &self.next {
            response.insert_header((header::LINK, format!("<{next}>; rel=\"next\"")));
        }
        response.json(self)
    }
}

/// The request's own path and query, with `cursor` and `limit` replaced.
fn next_url(req: &HttpRequest, cursor: &Cursor, limit: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("cursor", &cursor.encode());
    query.append_pair("limit", &limit.to_string());
    for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if name != "cursor" && name != "limit" {
            query.append_pair(&name, &value);
        }
    }
    format!("{}?{}", req.path(), query.finish())
}

#[cfg(test)]
mod tests {
    use bson::oid::ObjectId;

    use super::*;

    #[test]
    fn cursors_round_trip() {
        let with_key = Cursor {
            key: Some(1_700_000_000_123),
            id: ObjectId::new(),
            pace: None,
            seen: None,
        };
        assert_eq!(Cursor::decode(&with_key.encode()), Some(with_key));
        let id_only = Cursor::at(ObjectId::new());
        assert_eq!(Cursor::decode(&id_only.encode()), Some(id_only));
    }

    #[test]
    fn garbage_cursors_are_rejected() {
        assert!(Cursor::decode("!!!").is_none());
        assert!(Cursor::decode("eDp5").is_none()); // "x:y"
        assert!(PageParams::parse("cursor=nonsense").is_err());
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(PageParams::parse("").unwrap().limit, 20);
        assert_eq!(PageParams::parse("limit=100").unwrap().limit, 100);
        assert!(PageParams::parse("limit=0").is_err());
        assert!(PageParams::parse("limit=101").is_err());
        assert!(PageParams::parse("limit=ten").is_err());
    }

    #[test]
    fn next_keeps_other_parameters() {
        let req = actix_web::test::TestRequest::get()
            .uri("/api/users?q=al&limit=5")
            .to_http_request();
        let cursor = Cursor::at(ObjectId::new());
        let url = next_url(&req, &cursor, 5);
        assert!(url.starts_with("/api/users?cursor="));
        assert!(url.contains("&limit=5&q=al"));
    }
}
