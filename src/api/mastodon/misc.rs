//! The rest of what apps ask at start and in passing: markers, preferences, trending tags,
//! suggestions, and the empty-but-valid answers for what Rookery does not have (lists,
//! filters, custom emojis, announcements, follow requests, mutes, domain blocks,
//! bookmarks, conversations, featured and followed tags), so that apps do not break on
//! them.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::Document;
use serde_json::{json, Map, Value};

use super::accounts::account;
use super::auth::{User, UserWithAccount};
use super::params::Params;
use crate::api::state::AppState;
use crate::core::suggestions::{suggest, Ranked, SuggestionSource};
use crate::domain::rfc3339;
use crate::error::{ApiError, FieldErrors};
use crate::store::{markers, posts};

type State = web::Data<AppState>;

/// `[]`, for the lists Rookery does not keep.
pub async fn empty_list() -> HttpResponse {
    HttpResponse::Ok().json(json!([]))
}

/// `GET /api/v1/preferences` (`read:accounts`): what Rookery's statuses are.
pub async fn preferences(user: User) -> Result<HttpResponse, ApiError> {
    user.need("read:accounts")?;
    Ok(HttpResponse::Ok().json(json!({
        "posting:default:visibility": "public",
        "posting:default:sensitive": false,
        "posting:default:language": null,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    })))
}

fn marker_json(name: &str, doc: &Document) -> Option<(String, Value)> {
    let marker = doc.get_document(name).ok()?;
    Some((
        name.to_owned(),
        json!({
            "last_read_id": marker.get_str("last_read_id").unwrap_or_default(),
            "version": marker.get_i32("version").map(i64::from).or_else(|_| marker.get_i64("version")).unwrap_or(0),
            "updated_at": marker.get_datetime("updated_at").map(|d| rfc3339(*d)).unwrap_or_default(),
        }),
    ))
}

/// `GET /api/v1/markers?timeline[]=home&timeline[]=notifications` (`read:statuses`).
pub async fn get_markers(
    state: State,
    req: HttpRequest,
    user: User,
) -> Result<HttpResponse, ApiError> {
    user.need("read:statuses")?;
    let query = Params::of_query(&req).0;
    let wanted: Vec<String> = match query.get("timeline") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => markers::TIMELINES.iter().map(|t| (*t).to_owned()).collect(),
    };
    let doc = markers::find(&state.db, user.me.user_id).await?;
    let body: Map<String, Value> = wanted
        .iter()
        .filter(|t| markers::TIMELINES.contains(&t.as_str()))
        .filter_map(|t| marker_json(t, &doc))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/markers` (`write:statuses`): `home[last_read_id]`,
/// `notifications[last_read_id]`, as a form or JSON.
pub async fn set_markers(state: State, user: User, form: Params) -> Result<HttpResponse, ApiError> {
    user.need("write:statuses")?;
    let mut body = Map::new();
    for timeline in markers::TIMELINES {
        let Some(value) = form.0.get(*timeline) else {
            continue;
        };
        let id = value
            .get("last_read_id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|id| bson::oid::ObjectId::parse_str(id).is_ok())
            .ok_or_else(|| {
                FieldErrors::single(timeline, "needs last_read_id, a status or notification id")
            })?;
        let doc = markers::set(&state.db, user.me.user_id, timeline, id).await?;
        if let Some((name, marker)) = marker_json(timeline, &doc) {
            body.insert(name, marker);
        }
    }
    if body.is_empty() {
        return Err(FieldErrors::single(
            "home",
            "send home[last_read_id] or notifications[last_read_id]",
        ));
    }
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/trends/tags` (and `/api/v1/trends`): the native trending hashtags, as
/// Mastodon's `Tag` with this window's use.
pub async fn trending_tags(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let limit = Params::of_query(&req)
        .0
        .get("limit")
        .and_then(Value::as_str)
        .and_then(|l| l.parse::<i64>().ok())
        .unwrap_or(10)
        .clamp(1, 20);
    let window_ms = state
        .settings
        .posts
        .trending_window_hours
        .saturating_mul(3_600_000);
    let since = crate::store::millis_from_now(-window_ms);
    let base = super::base_url(&state);
    let day = (bson::DateTime::now().timestamp_millis() / 86_400_000) * 86_400;
    let tags: Vec<Value> = posts::trending(&state.db, since, limit)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "name": t.tag,
                "url": format!("{base}/tags/{}", t.tag),
                "history": [{ "day": day.to_string(), "uses": t.posts.to_string(), "accounts": t.posts.to_string() }],
                "following": false,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(tags))
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default, deserialize_with = "super::params::text")]
    q: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "super::params::text")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "super::params::text")]
    limit: Option<String>,
}

/// `GET /api/v2/search?q=`: accounts (the native user search), statuses (posts with every
/// word of `q`, the native post search) and hashtags (`q` as a hashtag, when it is one);
/// `type` narrows it; `resolve` changes nothing (there is nothing remote to resolve).
pub async fn search(
    state: State,
    req: HttpRequest,
    caller: super::auth::Caller,
) -> Result<HttpResponse, ApiError> {
    let query: SearchQuery = Params::of_query(&req).take()?;
    let q = query.q.unwrap_or_default();
    let q = q.trim();
    let limit = query
        .limit
        .as_deref()
        .and_then(|l| l.parse::<i64>().ok())
        .unwrap_or(20)
        .clamp(1, 40);
    let wants = |kind: &str| query.kind.as_deref().is_none_or(|k| k == kind);
    let accounts = if wants("accounts") {
        super::accounts::search_accounts(&state, &caller, q, limit).await?
    } else {
        Vec::new()
    };
    let terms = crate::domain::posts::search_terms(&[q]);
    let statuses = if wants("statuses") && !terms.is_empty() {
        let viewer = caller.viewer();
        let filter = posts::PostFilter {
            terms,
            hidden_authors: viewer.hidden(),
            ..posts::PostFilter::default()
        };
        let page = posts::page_listed(
            &state.db,
            &state.list_horizon,
            &state.feed.first_pages,
            &filter,
            None,
            limit,
        )
        .await?;
        super::statuses::statuses(&state, viewer.id(), page.items).await?
    } else {
        Vec::new()
    };
    let base = super::base_url(&state);
    let hashtags: Vec<Value> = match crate::domain::posts::normalise_tag(q) {
        Some(tag) if wants("hashtags") => vec![json!({
            "name": tag,
            "url": format!("{base}/tags/{tag}"),
            "history": [],
            "following": false,
        })],
        _ => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(json!({
        "accounts": accounts,
        "statuses": statuses,
        "hashtags": hashtags,
    })))
}

/// The native suggestions (`core::suggestions::suggest`) for the caller.
async fn suggested(
    state: &AppState,
    req: &HttpRequest,
    me: &UserWithAccount,
) -> Result<Vec<Ranked>, ApiError> {
    me.user.need("read")?;
    let (limit, _) = super::params::page_params(req, 40, 80)?;
    let limit = usize::try_from(limit).unwrap_or(40);
    suggest(state, &me.user.viewer, &me.account, limit).await
}

/// `GET /api/v2/suggestions` (`read`): accounts to follow, best first, as the native
/// suggestions rank them; `sources` says why (`friends_of_friends`,
/// `similar_to_recently_followed` for shared interests, `most_followed`).
pub async fn suggestions(
    state: State,
    req: HttpRequest,
    me: UserWithAccount,
) -> Result<HttpResponse, ApiError> {
    let ranked = suggested(&state, &req, &me).await?;
    let body: Vec<Value> = ranked
        .iter()
        .map(|r| {
            let (source, sources) = match r.source {
                SuggestionSource::FriendsOfFriends => ("past_interactions", "friends_of_friends"),
                SuggestionSource::Interests => {
                    ("past_interactions", "similar_to_recently_followed")
                }
                SuggestionSource::Popular => ("global", "most_followed"),
            };
            json!({
                "source": source,
                "sources": [sources],
                "account": account(&state, &r.user),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/suggestions` (`read`): the same accounts, without why.
pub async fn suggestions_v1(
    state: State,
    req: HttpRequest,
    me: UserWithAccount,
) -> Result<HttpResponse, ApiError> {
    let ranked = suggested(&state, &req, &me).await?;
    let body: Vec<Value> = ranked.iter().map(|r| account(&state, &r.user)).collect();
    Ok(HttpResponse::Ok().json(body))
}
