//! Timelines: `home` (the native home feed), `public` (the public list; `local` changes
//! nothing, every account is local) and `tag/{hashtag}`, paged with `max_id`, `since_id`,
//! `min_id` and `limit`, and `Link` headers with absolute URLs.
//!
//! Going back (`max_id`) reads through the native cursor, so every page costs what the
//! native page does: the `next` link carries the cursor beside `max_id` (an app that builds
//! its own `max_id` from a status id costs one more lookup, of that post). Going forward
//! (`since_id`, `min_id`) reads the newest page and keeps what is newer than the id, so
//! `min_id` past a gap of more than one page gives the newest page, not the one right
//! after the id.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;

use super::auth::{Caller, Session};
use super::params::{self, Params};
use super::statuses::status_entities;
use crate::api::state::AppState;
use crate::domain::cursor::Cursor;
use crate::domain::posts::normalise_tag;
use crate::error::{ApiError, FieldErrors};
use crate::feed::home_feed;
use crate::store::date_cursor;
use crate::store::likes::Liked;
use crate::store::posts::{self, PostDoc, PostFilter};

type State = web::Data<AppState>;

const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 40;

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default, deserialize_with = "params::text")]
    max_id: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    since_id: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    min_id: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    limit: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "params::flag")]
    only_media: Option<bool>,
}

/// Where a page starts, read from the query.
struct Paging {
    limit: i64,
    /// Older than this (from `cursor`, or `max_id`'s post).
    before: Option<Cursor>,
    /// Newer than this (`since_id` or `min_id`): `(published_at ms, id)`.
    after: Option<(i64, ObjectId)>,
    only_media: bool,
}

/// A status id's place in time: its post's `published_at` (one lookup), or the time in
/// the id itself when it names no post.
async fn place_of(state: &AppState, raw: &str) -> Result<(i64, ObjectId), ApiError> {
    let id = ObjectId::parse_str(raw.trim())
        .map_err(|_| FieldErrors::single("max_id", "is not a status id"))?;
    Ok(match posts::find(&state.db, id).await? {
        Some(post) => (post.published_at.timestamp_millis(), post.id),
        None => (id.timestamp().timestamp_millis(), id),
    })
}

async fn paging(state: &AppState, req: &HttpRequest) -> Result<Paging, ApiError> {
    let query: PageQuery = Params::of_query(req).take()?;
    let limit = match query.limit.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<i64>()
            .map(|n| n.clamp(1, MAX_LIMIT))
            .map_err(|_| FieldErrors::single("limit", "is not a number"))?,
    };
    let before = match (query.cursor.as_deref(), query.max_id.as_deref()) {
        (Some(raw), _) => {
            Some(Cursor::decode(raw).ok_or_else(|| FieldErrors::single("cursor", "is not valid"))?)
        }
        (None, Some(max_id)) if !max_id.trim().is_empty() => {
            let (ms, id) = place_of(state, max_id).await?;
            Some(date_cursor(bson::DateTime::from_millis(ms), id))
        }
        _ => None,
    };
    let after = match query.min_id.as_deref().or(query.since_id.as_deref()) {
        Some(raw) if !raw.trim().is_empty() && before.is_none() => {
            Some(place_of(state, raw).await?)
        }
        _ => None,
    };
    Ok(Paging {
        limit,
        before,
        after,
        only_media: query.only_media.unwrap_or(false),
    })
}

/// The page's statuses and `Link` header: `next` (older, through the cursor) when more
/// follow, `prev` (newer) when the page has any.
async fn respond(
    state: &AppState,
    req: &HttpRequest,
    paging: &Paging,
    viewer: Option<ObjectId>,
    mut items: Vec<PostDoc>,
    liked: Option<Liked>,
    pace: Option<i64>,
) -> Result<HttpResponse, ApiError> {
    if let Some((ms, id)) = paging.after {
        items.retain(|p| (p.published_at.timestamp_millis(), p.id) > (ms, id));
    }
    if paging.only_media {
        items.retain(|p| !p.media_ids.is_empty());
    }
    let limit = usize::try_from(paging.limit).unwrap_or(20);
    let more = items.len() > limit;
    items.truncate(limit);
    let base = format!("{}{}", super::base_url(state), req.path());
    let mut links = Vec::new();
    if let (true, Some(last)) = (more, items.last()) {
        let cursor = date_cursor(last.published_at, last.id).with_pace(pace);
        links.push(format!(
            "<{base}?limit={}&max_id={}&cursor={}>; rel=\"next\"",
            paging.limit,
            last.id.to_hex(),
            cursor.encode()
        ));
    }
    if let Some(first) = items.first() {
        links.push(format!(
            "<{base}?limit={}&min_id={}>; rel=\"prev\"",
            paging.limit,
            first.id.to_hex()
        ));
    }
    let body = status_entities(state, viewer, items, liked).await?;
    let mut response = HttpResponse::Ok();
    if !links.is_empty() {
        response.insert_header((header::LINK, links.join(", ")));
    }
    Ok(response.json(body))
}

/// `GET /api/v1/timelines/home` (`read:statuses`).
pub async fn home(state: State, req: HttpRequest, user: Session) -> Result<HttpResponse, ApiError> {
    user.need("read:statuses")?;
    let paging = paging(&state, &req).await?;
    let fetch = if paging.after.is_some() || paging.only_media {
        MAX_LIMIT + 1
    } else {
        paging.limit + 1
    };
    let page = home_feed(&state.feed, user.me.user_id, paging.before, fetch).await?;
    let me = Some(user.me.user_id);
    respond(
        &state,
        &req,
        &paging,
        me,
        page.posts,
        Some(page.liked),
        page.pace,
    )
    .await
}

/// A page of the public list through `filter`, as the native list reads it.
pub(super) async fn listed(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    mut filter: PostFilter,
) -> Result<HttpResponse, ApiError> {
    if let Caller::User(user) = caller {
        user.need("read:statuses")?;
    }
    let viewer = caller.viewer();
    filter.hidden_authors = viewer.hidden();
    let paging = paging(state, req).await?;
    let fetch = if paging.after.is_some() || paging.only_media {
        MAX_LIMIT + 1
    } else {
        paging.limit + 1
    };
    let page = posts::page_listed(
        &state.db,
        &state.list_horizon,
        &state.feed.first_pages,
        &filter,
        paging.before,
        fetch,
    )
    .await?;
    respond(
        state,
        req,
        &paging,
        viewer.id(),
        page.items,
        None,
        page.pace,
    )
    .await
}

/// `GET /api/v1/timelines/public`: public, every account's published posts.
pub async fn public(
    state: State,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    listed(&state, &req, &caller, PostFilter::default()).await
}

/// `GET /api/v1/timelines/tag/{hashtag}`: public.
pub async fn tag(
    state: State,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tag = normalise_tag(&path).ok_or(ApiError::NotFound)?;
    let filter = PostFilter {
        hashtag: Some(tag),
        ..PostFilter::default()
    };
    listed(&state, &req, &caller, filter).await
}
