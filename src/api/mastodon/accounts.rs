//! The `Account` entity and the account endpoints. An account is a Rookery user: its
//! `display_name` the full name (or the username), its `note` the bio as HTML.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use bson::oid::ObjectId;

use super::auth::{Caller, User};
use super::params::{self, Params};
use super::{absolute, domain};
use crate::api::state::AppState;
use crate::api::viewer::visible_user;
use crate::core::social::{add_block, add_follow, drop_block, drop_follow};
use crate::domain::rfc3339;
use crate::error::{ApiError, FieldErrors};
use crate::store::follows;
use crate::store::posts::PostFilter;
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
    let header = absolute(state, user.header_url.as_deref().unwrap_or(DEFAULT_HEADER));
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

/// `GET /api/v1/accounts/{id}/featured_tags`: `[]` (Rookery has no featured tags) for an
/// account the caller may see, `404` otherwise.
pub async fn featured_tags(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    bson::oid::ObjectId::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    visible_user(&state, &id, &caller.viewer()).await?;
    Ok(HttpResponse::Ok().json(json!([])))
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
    let name = local_username(&state, &acct).ok_or(ApiError::NotFound)?;
    let user = users::find_by_ref(&state.db, name)
        .await?
        .filter(|u| !caller.viewer().is_blocked_by(u.id))
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(account(&state, &user)))
}

/// The username an account address names on this instance: `name`, `@name`,
/// `name@<this host>`, with or without `acct:`; `None` for another host, or an id.
pub fn local_username<'a>(state: &AppState, acct: &'a str) -> Option<&'a str> {
    let acct = acct.trim();
    let acct = acct
        .strip_prefix("acct:")
        .unwrap_or(acct)
        .trim_start_matches('@');
    let name = match acct.split_once('@') {
        Some((name, host)) if host.eq_ignore_ascii_case(&domain(state)) => name,
        Some(_) => return None,
        None => acct,
    };
    (!name.is_empty() && bson::oid::ObjectId::parse_str(name).is_err()).then_some(name)
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

/// Mastodon's `Relationship` of the caller to each of `ids`, in order.
pub async fn relationships_of(
    state: &AppState,
    viewer: &crate::api::viewer::Viewer,
    me: ObjectId,
    ids: &[ObjectId],
) -> Result<Vec<Value>, ApiError> {
    let (following, followed_by) = follows::relations(&state.db, me, ids).await?;
    Ok(ids
        .iter()
        .map(|id| {
            json!({
                "id": id.to_hex(),
                "following": following.contains(id),
                "showing_reblogs": following.contains(id),
                "notifying": false,
                "languages": null,
                "followed_by": followed_by.contains(id),
                "blocking": viewer.has_blocked(*id),
                "blocked_by": viewer.is_blocked_by(*id),
                "muting": false,
                "muting_notifications": false,
                "requested": false,
                "requested_by": false,
                "domain_blocking": false,
                "endorsed": false,
                "note": "",
            })
        })
        .collect())
}

fn account_id(raw: &str) -> Result<ObjectId, ApiError> {
    ObjectId::parse_str(raw.trim()).map_err(|_| ApiError::NotFound)
}

/// `GET /api/v1/accounts/relationships?id[]=…` (`read:follows`).
pub async fn relationships(
    state: State,
    req: HttpRequest,
    user: User,
) -> Result<HttpResponse, ApiError> {
    user.need("read:follows")?;
    let ids = query_ids(&req)?;
    let found: Vec<ObjectId> = users::find_many(&state.db, &ids)
        .await?
        .iter()
        .map(|u| u.id)
        .collect();
    let ids: Vec<ObjectId> = ids.into_iter().filter(|i| found.contains(i)).collect();
    let body = relationships_of(&state, &user.viewer, user.me.user_id, &ids).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The ids of `id[]` (or one `id`) in the query: at most 100; those that are no id are
/// left out, as Mastodon leaves out ids that name nobody.
fn query_ids(req: &HttpRequest) -> Result<Vec<ObjectId>, ApiError> {
    let query = Params::of_query(req).0;
    let raw: Vec<String> = match query.get("id") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    if raw.len() > 100 {
        return Err(FieldErrors::single("id", "at most 100 ids"));
    }
    Ok(raw
        .iter()
        .filter_map(|r| ObjectId::parse_str(r.trim()).ok())
        .collect())
}

/// `GET /api/v1/accounts/familiar_followers?id[]=…` (`read:follows`): for each account,
/// `accounts: []`. Rookery does not work out which of one's follows follow someone;
/// apps ask on every profile, so the answer is empty rather than an error.
pub async fn familiar_followers(req: HttpRequest, user: User) -> Result<HttpResponse, ApiError> {
    user.need("read:follows")?;
    let body: Vec<Value> = query_ids(&req)?
        .iter()
        .map(|id| json!({ "id": id.to_hex(), "accounts": [] }))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// What a follow, unfollow, block or unblock does, then the `Relationship` after it.
#[derive(Clone, Copy)]
enum Act {
    Follow,
    Unfollow,
    Block,
    Unblock,
}

async fn act(
    state: &AppState,
    user: User,
    raw: &str,
    action: Act,
) -> Result<HttpResponse, ApiError> {
    let scope = match action {
        Act::Follow | Act::Unfollow => "write:follows",
        Act::Block | Act::Unblock => "write:blocks",
    };
    user.need(scope)?;
    let target = users::find_by_id(&state.db, account_id(raw)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let me = user.me.user_id;
    let mut viewer = user.viewer;
    match action {
        Act::Follow => {
            add_follow(state, &viewer, me, &target).await?;
        }
        Act::Unfollow => drop_follow(state, me, target.id).await?,
        Act::Block => {
            add_block(state, &mut viewer, me, target.id).await?;
        }
        Act::Unblock => {
            drop_block(state, me, target.id).await?;
            viewer.remove_block(target.id);
        }
    }
    let relationship = relationships_of(state, &viewer, me, &[target.id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("no relationship"))?;
    Ok(HttpResponse::Ok().json(relationship))
}

/// `POST /api/v1/accounts/{id}/follow` (`write:follows`).
pub async fn follow(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act(&state, user, &path, Act::Follow).await
}

/// `POST /api/v1/accounts/{id}/unfollow` (`write:follows`).
pub async fn unfollow(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act(&state, user, &path, Act::Unfollow).await
}

/// `POST /api/v1/accounts/{id}/block` (`write:blocks`).
pub async fn block(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act(&state, user, &path, Act::Block).await
}

/// `POST /api/v1/accounts/{id}/unblock` (`write:blocks`).
pub async fn unblock(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act(&state, user, &path, Act::Unblock).await
}

/// `GET /api/v1/accounts/{id}/statuses`: public; the account's published posts, as a
/// timeline (`only_media`, `tagged`; `pinned=true` is `[]`: nothing is pinned;
/// `exclude_replies` changes nothing: replies are comments, never in this list).
pub async fn statuses(
    state: State,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.viewer();
    let user = visible_user(&state, &account_id(&path)?.to_hex(), &viewer).await?;
    let query = Params::of_query(&req).0;
    let flag = |name: &str| {
        query
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|v| v == "true" || v == "1")
    };
    if flag("pinned") {
        return Ok(HttpResponse::Ok().json(json!([])));
    }
    let hashtag = query
        .get("tagged")
        .and_then(Value::as_str)
        .and_then(crate::domain::posts::normalise_tag);
    let filter = PostFilter {
        author_id: Some(user.id),
        hashtag,
        ..PostFilter::default()
    };
    super::timelines::listed(&state, &req, &caller, filter).await
}

/// A page of accounts from `items` (read with `limit + 1` to know whether more follow):
/// the account `user_id` names for each, in order, and a `Link` to the next page through
/// the native cursor of the last item (`at`: its date and id).
pub async fn accounts_page<T>(
    state: &AppState,
    req: &HttpRequest,
    limit: i64,
    items: Vec<T>,
    user_id: impl Fn(&T) -> ObjectId,
    at: impl Fn(&T) -> (bson::DateTime, ObjectId),
) -> Result<HttpResponse, ApiError> {
    let more = items.len() as i64 > limit;
    let items = &items[..items.len().min(usize::try_from(limit).unwrap_or(40))];
    let ids: Vec<ObjectId> = items.iter().map(&user_id).collect();
    let found = users::find_many(&state.db, &ids).await?;
    let body: Vec<Value> = ids
        .iter()
        .filter_map(|id| found.iter().find(|u| u.id == *id))
        .map(|u| account(state, u))
        .collect();
    let mut response = HttpResponse::Ok();
    if let (true, Some(last)) = (more, items.last()) {
        let (date, id) = at(last);
        response.insert_header(super::next_link(state, req, limit, id, date));
    }
    Ok(response.json(body))
}

/// A page of follows as accounts, newest first.
async fn follow_page(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    raw: &str,
    followers: bool,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.viewer();
    let user = visible_user(state, &account_id(raw)?.to_hex(), &viewer).await?;
    let (limit, cursor) = params::page_params(req, 40, 80)?;
    let hidden = viewer.hidden();
    let items = if followers {
        follows::page_followers(&state.db, user.id, &hidden, cursor, limit + 1).await?
    } else {
        follows::page_following(&state.db, user.id, &hidden, cursor, limit + 1).await?
    };
    accounts_page(
        state,
        req,
        limit,
        items,
        |f| {
            if followers {
                f.follower_id
            } else {
                f.followee_id
            }
        },
        |f| (f.created_at, f.id),
    )
    .await
}

/// `GET /api/v1/accounts/{id}/followers`: public, newest first.
pub async fn followers(
    state: State,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    follow_page(&state, &req, &caller, &path, true).await
}

/// `GET /api/v1/accounts/{id}/following`: public, newest first.
pub async fn following(
    state: State,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    follow_page(&state, &req, &caller, &path, false).await
}

#[derive(Deserialize)]
struct Search {
    #[serde(default, deserialize_with = "params::text")]
    q: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    limit: Option<String>,
}

/// `GET /api/v1/accounts/search?q=`: accounts by username or name, as the native search
/// finds them (`resolve` changes nothing: there are no remote accounts).
pub async fn search(
    state: State,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let query: Search = Params::of_query(&req).take()?;
    let limit = query
        .limit
        .as_deref()
        .and_then(|l| l.parse::<i64>().ok())
        .unwrap_or(40)
        .clamp(1, 80);
    let found = search_accounts(
        &state,
        &caller,
        query.q.as_deref().unwrap_or_default(),
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Accounts matching `term` (after a leading `@`, before a `@this-host`), for the caller.
pub async fn search_accounts(
    state: &AppState,
    caller: &Caller,
    term: &str,
    limit: i64,
) -> Result<Vec<Value>, ApiError> {
    let term = term.trim().trim_start_matches('@');
    let term = term.split('@').next().unwrap_or_default();
    if term.is_empty() || term.chars().count() > 100 {
        return Ok(Vec::new());
    }
    let viewer = caller.viewer();
    let users = users::search_page(&state.db, term, &viewer.hidden(), None, limit).await?;
    Ok(users.iter().map(|u| account(state, u)).collect())
}
