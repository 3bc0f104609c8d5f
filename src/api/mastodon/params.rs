//! Parameters as Mastodon apps send them: a JSON body, a form (`application/x-www-form-
//! urlencoded` or `multipart/form-data`, text fields), or a query string, with Rails-style
//! arrays (`id[]=1&id[]=2`) and one level of nesting (`source[privacy]=public`). All of them
//! become one JSON object, read into a handler's struct by `Params::take`.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The most a non-file body may hold.
const MOST_BYTES: usize = 64 * 1024;

/// A request's parameters, as one JSON object.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// The parameters as `T`; `422` naming what did not fit.
    pub fn take<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        serde_path_to_error::deserialize(Value::Object(self.0))
            .map_err(|e| ApiError::BadRequest(format!("{}: {}", e.path(), e.inner())))
    }

    /// The query string's parameters.
    pub fn of_query(req: &HttpRequest) -> Self {
        Params(from_pairs(
            url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned(),
        ))
    }
}

/// Pairs as a form sends them, as a JSON object: `a[]` and a repeated `a` make arrays,
/// `a[b]` makes an object.
pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in pairs {
        let value = Value::String(value);
        if let Some(name) = key.strip_suffix("[]") {
            match map
                .entry(name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(items) => items.push(value),
                other => *other = Value::Array(vec![other.take(), value]),
            }
        } else if let Some((name, inner)) = key
            .strip_suffix(']')
            .and_then(|k| k.split_once('['))
            .filter(|(_, inner)| !inner.contains(['[', ']']))
        {
            if let Value::Object(object) = map
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()))
            {
                object.insert(inner.to_owned(), value);
            }
        } else {
            match map.get_mut(&key) {
                Some(Value::Array(items)) => items.push(value),
                Some(other) => *other = Value::Array(vec![other.take(), value]),
                None => {
                    map.insert(key, value);
                }
            }
        }
    }
    map
}

impl FromRequest for Params {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    /// The body's parameters (none for an empty body); `415` for a body of another type.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mime = req.mime_type().ok().flatten();
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let essence = mime.as_ref().map(|m| m.essence_str().to_owned());
            if essence.as_deref() == Some("multipart/form-data") {
                let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
                let mut pairs = Vec::new();
                let mut total = 0usize;
                while let Some(field) = multipart.next().await {
                    let mut field = field.map_err(|e| ApiError::BadRequest(e.to_string()))?;
                    let name = field.name().unwrap_or_default().to_owned();
                    let mut bytes = Vec::new();
                    while let Some(chunk) = field.next().await {
                        let chunk = chunk.map_err(|e| ApiError::BadRequest(e.to_string()))?;
                        total += chunk.len();
                        if total > MOST_BYTES {
                            return Err(ApiError::PayloadTooLarge);
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    let text = String::from_utf8(bytes)
                        .map_err(|_| ApiError::BadRequest(format!("{name}: not a text field")))?;
                    pairs.push((name, text));
                }
                return Ok(Params(from_pairs(pairs)));
            }
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest(e.to_string()))?;
                if body.len() + chunk.len() > MOST_BYTES {
                    return Err(ApiError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Params::default());
            }
            match essence.as_deref() {
                Some("application/json") => match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(map)) => Ok(Params(map)),
                    Ok(_) => Err(ApiError::BadRequest(
                        "the body must be a JSON object".into(),
                    )),
                    Err(e) => Err(ApiError::InvalidJson(e.to_string())),
                },
                Some("application/x-www-form-urlencoded") | None => Ok(Params(from_pairs(
                    url::form_urlencoded::parse(&body).into_owned(),
                ))),
                Some(_) => Err(ApiError::UnsupportedMediaType),
            }
        })
    }
}

/// A text parameter that JSON may send as a number or a boolean.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(items)) => items.into_iter().next().map(|v| match v {
            Value::String(s) => s,
            other => other.to_string(),
        }),
        Some(other) => Some(other.to_string()),
    })
}

/// A list parameter that may come as one value or as an array.
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => vec![s],
        Some(other) => vec![other.to_string()],
    })
}

/// A boolean parameter as forms send it (`true`, `1`, `on`…) or as JSON.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Number(n)) => Some(n.as_i64() != Some(0)),
        Some(Value::String(s)) => Some(matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "1" | "on" | "yes" | "t"
        )),
        Some(_) => None,
    })
}

/// A page's `limit` (`default` unless asked, from 1 to `most`) and the native `cursor`
/// that `Link` URLs carry; `422` for either unreadable.
pub fn page_params(
    req: &HttpRequest,
    default: i64,
    most: i64,
) -> Result<(i64, Option<crate::domain::cursor::Cursor>), ApiError> {
    let query = Params::of_query(req).0;
    let limit = match query.get("limit").and_then(Value::as_str) {
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .map_err(|_| crate::error::FieldErrors::single("limit", "is not a number"))?,
        None => default,
    }
    .clamp(1, most);
    let cursor = match query.get("cursor").and_then(Value::as_str) {
        Some(raw) => Some(
            crate::domain::cursor::Cursor::decode(raw)
                .ok_or_else(|| crate::error::FieldErrors::single("cursor", "is not valid"))?,
        ),
        None => None,
    };
    Ok((limit, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rails_arrays_repeats_and_nesting() {
        let map = from_pairs(pairs(&[
            ("id[]", "1"),
            ("id[]", "2"),
            ("scope", "read"),
            ("redirect_uris", "a"),
            ("redirect_uris", "b"),
            ("source[privacy]", "public"),
        ]));
        assert_eq!(map["id"], serde_json::json!(["1", "2"]));
        assert_eq!(map["scope"], "read");
        assert_eq!(map["redirect_uris"], serde_json::json!(["a", "b"]));
        assert_eq!(map["source"]["privacy"], "public");
    }
}
