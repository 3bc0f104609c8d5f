//! Notifications, as Mastodon types them: a like is `favourite`, a follow `follow`, a
//! mention `mention`, a comment on one's post `mention` too (a reply mentions whom it
//! answers), and a scheduled post of someone one follows going out `status`. Rookery's
//! own kinds with no Mastodon meaning (group invitations, media processing) are left out.
//! Dismissing deletes; markers are in `markers`.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::User;
use super::params::{self, Params};
use super::statuses::{comment_status, mini_account, statuses};
use crate::api::state::AppState;
use crate::domain::rfc3339;
use crate::error::{ApiError, FieldErrors};
use crate::store::notifications::{self, NotificationDoc, NotificationType};
use crate::store::{comments, posts};
use crate::views::posts::minis;

type State = web::Data<AppState>;

/// Mastodon's name of a Rookery notification kind, for those that have one.
fn mastodon_type(kind: NotificationType) -> Option<&'static str> {
    match kind {
        NotificationType::Like => Some("favourite"),
        NotificationType::Follow => Some("follow"),
        NotificationType::Mention | NotificationType::Comment => Some("mention"),
        NotificationType::PostPublished => Some("status"),
        NotificationType::GroupAdd
        | NotificationType::MediaReady
        | NotificationType::MediaFailed => None,
    }
}

/// The Rookery kinds a Mastodon type stands for.
fn kinds_of(mastodon: &str) -> &'static [NotificationType] {
    match mastodon {
        "favourite" => &[NotificationType::Like],
        "follow" => &[NotificationType::Follow],
        "mention" => &[NotificationType::Mention, NotificationType::Comment],
        "status" => &[NotificationType::PostPublished],
        _ => &[],
    }
}

const SHOWN: &[&str] = &["favourite", "follow", "mention", "status"];

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "params::text")]
    max_id: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    since_id: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    min_id: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    limit: Option<String>,
    #[serde(default, deserialize_with = "params::list")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "params::list")]
    exclude_types: Vec<String>,
}

fn id_param(field: &str, raw: Option<&str>) -> Result<Option<ObjectId>, ApiError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(raw) => ObjectId::parse_str(raw)
            .map(Some)
            .map_err(|_| FieldErrors::single(field, "is not a notification id")),
    }
}

/// The entities of `docs`, in order (one whose actor or status is gone is left out).
pub(super) async fn entities(
    state: &AppState,
    me: ObjectId,
    docs: &[NotificationDoc],
) -> Result<Vec<Value>, ApiError> {
    let post_ids: Vec<ObjectId> = docs
        .iter()
        .filter(|n| n.kind != NotificationType::Comment)
        .filter_map(|n| n.post_id)
        .collect();
    let comment_ids: Vec<ObjectId> = docs
        .iter()
        .filter(|n| n.kind == NotificationType::Comment)
        .filter_map(|n| n.comment_id)
        .collect();
    let (actors, found_posts, found_comments) = futures::try_join!(
        minis(&state.db, docs.iter().map(|n| n.actor_id)),
        async { Ok::<_, ApiError>(posts::find_many(&state.db, &post_ids).await?) },
        async { Ok::<_, ApiError>(comments::find_many(&state.db, &comment_ids).await?) },
    )?;
    // The posts the comments are on, for their `in_reply_to_id`.
    let parents: Vec<ObjectId> = found_comments.iter().map(|c| c.post_id).collect();
    let parent_posts = posts::find_many(&state.db, &parents).await?;
    let parents: HashMap<ObjectId, _> = parent_posts.into_iter().map(|p| (p.id, p)).collect();
    let shown_posts: HashMap<String, Value> = statuses(state, Some(me), found_posts)
        .await?
        .into_iter()
        .filter_map(|s| Some((s["id"].as_str()?.to_owned(), s)))
        .collect();
    let comment_authors = minis(&state.db, found_comments.iter().map(|c| c.author_id)).await?;
    let shown_comments: HashMap<ObjectId, Value> = found_comments
        .iter()
        .filter_map(|c| {
            let post = parents.get(&c.post_id)?;
            let author = comment_authors.get(&c.author_id)?;
            Some((c.id, comment_status(state, c, author, post)))
        })
        .collect();
    Ok(docs
        .iter()
        .filter_map(|n| {
            let kind = mastodon_type(n.kind)?;
            let actor = actors.get(&n.actor_id)?;
            let status = match n.kind {
                NotificationType::Follow => Value::Null,
                NotificationType::Comment => shown_comments.get(&n.comment_id?)?.clone(),
                _ => shown_posts.get(&n.post_id?.to_hex())?.clone(),
            };
            let mut entity = json!({
                "id": n.id.to_hex(),
                "type": kind,
                "created_at": rfc3339(n.created_at),
                "account": mini_account(state, actor),
                "group_key": format!("ungrouped-{}", n.id.to_hex()),
            });
            if !status.is_null() {
                entity["status"] = status;
            }
            Some(entity)
        })
        .collect())
}

/// `GET /api/v1/notifications` (`read:notifications`): newest first, `types[]` and
/// `exclude_types[]` (Mastodon's names), `max_id`/`since_id`/`min_id`/`limit` (1–80, default 40),
/// with `Link`.
pub async fn list(state: State, req: HttpRequest, user: User) -> Result<HttpResponse, ApiError> {
    user.need("read:notifications")?;
    let query: ListQuery = Params::of_query(&req).take()?;
    let limit = match query.limit.as_deref().map(str::trim) {
        None | Some("") => 40,
        Some(raw) => raw
            .parse::<i64>()
            .map(|n| n.clamp(1, 80))
            .map_err(|_| FieldErrors::single("limit", "is not a number"))?,
    };
    let before = id_param("max_id", query.max_id.as_deref())?;
    let after = id_param(
        "min_id",
        query.min_id.as_deref().or(query.since_id.as_deref()),
    )?;
    let wanted: Vec<&str> = SHOWN
        .iter()
        .copied()
        .filter(|t| query.types.is_empty() || query.types.iter().any(|q| q == t))
        .filter(|t| !query.exclude_types.iter().any(|q| q == t))
        .collect();
    let kinds: Vec<NotificationType> = wanted
        .iter()
        .flat_map(|t| kinds_of(t).iter().copied())
        .collect();
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    let docs = if kinds.is_empty() {
        Vec::new()
    } else {
        notifications::page_of_kinds(&state.db, user.me.user_id, &kinds, before, after, limit)
            .await?
    };
    let body = entities(&state, user.me.user_id, &docs).await?;
    let mut response = HttpResponse::Ok();
    let base = format!("{}{}", super::base_url(&state), req.path());
    let mut links = Vec::new();
    if let Some(last) = docs.last().filter(|_| docs.len() as i64 == limit) {
        links.push(format!(
            "<{base}?limit={limit}&max_id={}>; rel=\"next\"",
            last.id.to_hex()
        ));
    }
    if let Some(first) = docs.first() {
        links.push(format!(
            "<{base}?limit={limit}&min_id={}>; rel=\"prev\"",
            first.id.to_hex()
        ));
    }
    if !links.is_empty() {
        response.insert_header((header::LINK, links.join(", ")));
    }
    Ok(response.json(body))
}

fn parse_id(raw: &str) -> Result<ObjectId, ApiError> {
    ObjectId::parse_str(raw.trim()).map_err(|_| ApiError::NotFound)
}

/// `GET /api/v1/notifications/{id}` (`read:notifications`): one's own only.
pub async fn get(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.need("read:notifications")?;
    let id = parse_id(&path)?;
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    let doc = notifications::find_for(&state.db, user.me.user_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    entities(&state, user.me.user_id, &[doc])
        .await?
        .pop()
        .map(|e| HttpResponse::Ok().json(e))
        .ok_or(ApiError::NotFound)
}

/// `POST /api/v1/notifications/{id}/dismiss` (`write:notifications`): deletes one's own.
pub async fn dismiss(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.need("write:notifications")?;
    let id = parse_id(&path)?;
    if notifications::dismiss(&state.db, user.me.user_id, Some(id)).await? == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `POST /api/v1/notifications/clear` (`write:notifications`): deletes all of one's own.
pub async fn clear(state: State, user: User) -> Result<HttpResponse, ApiError> {
    user.need("write:notifications")?;
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    notifications::dismiss(&state.db, user.me.user_id, None).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `GET /api/v1/notifications/unread_count` (`read:notifications`).
pub async fn unread_count(state: State, user: User) -> Result<HttpResponse, ApiError> {
    user.need("read:notifications")?;
    state.jobs.drain(crate::jobs::JobKind::Events).await;
    let count = notifications::unread_count(&state.db, user.me.user_id).await?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}
