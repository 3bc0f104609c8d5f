//! The `Account` entity and the account endpoints. An account is a Rookery user: its
//! `display_name` the full name (or the username), its `note` the bio as HTML.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{Caller, UserWithAccount};
use super::params::{self, Params};
use super::{absolute, domain};
use crate::api::state::AppState;
use crate::api::viewer::visible_user;
use crate::domain::rfc3339;
use crate::error::ApiError;
use crate::store::users::{self, UserDoc};

type State = web::Data<AppState>;

/// The image of an account without an avatar (Mastodon's own path for it).
pub const DEFAULT_AVATAR: &str = "/avatars/original/missing.png";
/// The image of an account without a header.
pub const DEFAULT_HEADER: &str = "/headers/original/missing.png";

/// Text as Mastodon's HTML: escaped, paragraphs for blank lines, `<br>` for line breaks.
pub fn html_of(text: &str) -> String {
    let escaped = escape(text);
    escaped
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", p.trim().replace('\n', "<br>")))
        .collect()
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `Account` entity of `user`.
pub fn account(state: &AppState, user: &UserDoc) -> Value {
    let avatar = absolute(state, user.avatar_url.as_deref().unwrap_or(DEFAULT_AVATAR));
    let header = absolute(state, DEFAULT_HEADER);
    let display_name = if user.full_name.trim().is_empty() {
        user.username.clone()
    } else {
        user.full_name.clone()
    };
    json!({
        "id": user.id.to_hex(),
        "username": user.username,
        "acct": user.username,
        "display_name": display_name,
        "locked": false,
        "bot": false,
        "discoverable": true,
        "indexable": true,
        "group": false,
        "noindex": false,
        "created_at": rfc3339(user.created_at),
        "note": html_of(&user.bio),
        "url": absolute(state, &format!("/@{}", user.username)),
        "uri": absolute(state, &format!("/users/{}", user.username)),
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": user.followers_count.max(0),
        "following_count": user.following_count.max(0),
        "statuses_count": user.posts_count.max(0),
        "last_status_at": null,
        "emojis": [],
        "fields": [],
        "roles": [],
    })
}

/// `GET /api/v1/accounts/verify_credentials` (`read:accounts`): one's own account, with
/// `source` (the plain text behind `note`).
pub async fn verify_credentials(
    state: State,
    me: UserWithAccount,
) -> Result<HttpResponse, ApiError> {
    me.user.need("read:accounts")?;
    let mut body = account(&state, &me.account);
    body["source"] = json!({
        "note": me.account.bio,
        "fields": [],
        "privacy": "public",
        "sensitive": false,
        "language": null,
        "follow_requests_count": 0,
    });
    body["role"] = json!({
        "id": "-99",
        "name": "",
        "permissions": "0",
        "color": "",
        "highlighted": false,
    });
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/accounts/{id}`: public, `404` for an unknown id or one who blocked the
/// caller.
pub async fn get_account(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.viewer();
    let id = path.into_inner();
    bson::oid::ObjectId::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let user = visible_user(&state, &id, &viewer).await?;
    Ok(HttpResponse::Ok().json(account(&state, &user)))
}

#[derive(Deserialize)]
struct Lookup {
    #[serde(default, deserialize_with = "params::text")]
    acct: Option<String>,
}

/// `GET /api/v1/accounts/lookup?acct=`: by username (`name` or `name@this-domain`).
pub async fn lookup(
    state: State,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: Lookup = Params::of_query(&req).take()?;
    let acct = query.acct.unwrap_or_default();
    let acct = acct.trim().trim_start_matches('@');
    let name = match acct.split_once('@') {
        Some((name, host)) if host.eq_ignore_ascii_case(&domain(&state)) => name,
        Some(_) => return Err(ApiError::NotFound),
        None => acct,
    };
    if name.is_empty() || bson::oid::ObjectId::parse_str(name).is_ok() {
        return Err(ApiError::NotFound);
    }
    let user = users::find_by_ref(&state.db, name)
        .await?
        .filter(|u| !caller.viewer().is_blocked_by(u.id))
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(account(&state, &user)))
}

/// A plain square PNG in Rookery's grey, made once: the default avatar and header.
fn default_png() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| {
        let image = image::RgbImage::from_pixel(96, 96, image::Rgb([0x9a, 0xa3, 0xad]));
        let mut out = std::io::Cursor::new(Vec::new());
        match image.write_to(&mut out, image::ImageFormat::Png) {
            Ok(()) => out.into_inner(),
            Err(err) => {
                log::error!("default avatar not encoded: {err}");
                Vec::new()
            }
        }
    })
}

/// `GET /avatars/original/missing.png` and `/headers/original/missing.png`.
pub async fn default_image() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(default_png())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_escaped_paragraphs() {
        assert_eq!(
            html_of("Hi <b>there</b>\nnext\n\nsecond & last"),
            "<p>Hi &lt;b&gt;there&lt;/b&gt;<br>next</p><p>second &amp; last</p>"
        );
        assert_eq!(html_of(""), "");
    }

    #[test]
    fn the_default_image_is_a_png() {
        assert!(default_png().starts_with(b"\x89PNG"));
    }
}
