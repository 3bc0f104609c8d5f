//! Statuses: a Rookery post is a status, and a comment on it is a reply to it (Rookery's
//! comments are flat: a reply to a reply is one more comment on the post, and its
//! `in_reply_to_id` is the post). A status's id is its post's or comment's id.
//!
//! Endpoints: create, get, delete, `/context`, favourite, unfavourite. Every one goes
//! through the native path (`write_post`, `add_comment`, `like`, `remove_post`…) so the
//! same rules apply.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::accounts::{escape, DEFAULT_AVATAR};
use super::auth::{caller_future, user_of, Caller, User, UserWithAccount};
use super::params::{self, Params};
use super::{absolute, base_url};
use crate::api::state::AppState;
use crate::api::viewer::{PostAction, Viewer};
use crate::core::comments::{add_comment, remove_comment};
use crate::core::likes::{like, unlike};
use crate::core::posts::{parse_publish_at, remove_post, write_post, Draft};
use crate::domain::posts::{parse_body, COMMENT_MAX, CONTENT_MAX};
use crate::domain::rfc3339;
use crate::error::{ApiError, FieldErrors};
use crate::store::comments::{self, CommentDoc};
use crate::store::likes::Liked;
use crate::store::posts::{self, PostDoc, PostStatus};
use crate::store::sessions::Also;
use crate::views::posts::{minis, post_views, post_views_liked, PostView};
use crate::views::{MediaView, UserMini};

type State = web::Data<AppState>;

/// Text as a status's HTML: escaped, in paragraphs, with its `#hashtags` and `@mentions`
/// (those Rookery found in it) as links.
pub fn status_html(base: &str, text: &str, hashtags: &[String], mentions: &[String]) -> String {
    let linked = |word: &str| -> Option<String> {
        let (sigil, name) = word.split_at(1);
        let key = name.to_lowercase();
        match sigil {
            "#" if hashtags.iter().any(|h| h.to_lowercase() == key) => Some(format!(
                "<a href=\"{base}/tags/{key}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                escape(name)
            )),
            "@" if mentions.iter().any(|m| m.to_lowercase() == key) => Some(format!(
                "<span class=\"h-card\"><a href=\"{base}/@{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
                escape(name),
                escape(name)
            )),
            _ => None,
        }
    };
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|paragraph| {
            let mut out = String::new();
            let mut rest = paragraph.trim();
            while let Some(at) = rest.find(['#', '@']) {
                let (before, from) = rest.split_at(at);
                out.push_str(&escape(before).replace('\n', "<br>"));
                let boundary = before
                    .chars()
                    .last()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                let end = from[1..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .map_or(from.len(), |i| i + 1);
                let word = &from[..end];
                match (boundary && end > 1).then(|| linked(word)).flatten() {
                    Some(link) => out.push_str(&link),
                    None => out.push_str(&escape(word)),
                }
                rest = &from[end..];
            }
            out.push_str(&escape(rest).replace('\n', "<br>"));
            format!("<p>{out}</p>")
        })
        .collect();
    paragraphs.concat()
}

/// The `Account` of a status's author, from what the post carries of them (no lookup):
/// its counts are not there (`0`); `GET /api/v1/accounts/{id}` has them.
#[derive(Debug, Serialize)]
pub struct MiniAccount {
    id: String,
    username: String,
    acct: String,
    display_name: String,
    locked: bool,
    bot: bool,
    discoverable: bool,
    group: bool,
    created_at: String,
    note: &'static str,
    url: String,
    uri: String,
    avatar: String,
    avatar_static: String,
    header: String,
    header_static: String,
    followers_count: i64,
    following_count: i64,
    statuses_count: i64,
    last_status_at: Option<()>,
    emojis: Vec<Value>,
    fields: Vec<Value>,
}

impl MiniAccount {
    fn new(base: &str, author: &UserMini) -> Self {
        let avatar = match author.avatar_url.as_deref() {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.to_owned()
            }
            Some(path) => format!("{base}/{}", path.trim_start_matches('/')),
            None => format!("{base}{DEFAULT_AVATAR}"),
        };
        let header = format!("{base}{}", super::accounts::DEFAULT_HEADER);
        let created_at = ObjectId::parse_str(&author.id)
            .map(|id| rfc3339(id.timestamp()))
            .unwrap_or_default();
        let display_name = if author.full_name.trim().is_empty() {
            author.username.clone()
        } else {
            author.full_name.clone()
        };
        MiniAccount {
            id: author.id.clone(),
            username: author.username.clone(),
            acct: author.username.clone(),
            display_name,
            locked: false,
            bot: false,
            discoverable: true,
            group: false,
            created_at,
            note: "",
            url: format!("{base}/@{}", author.username),
            uri: format!("{base}/users/{}", author.username),
            avatar_static: avatar.clone(),
            avatar,
            header_static: header.clone(),
            header,
            followers_count: 0,
            following_count: 0,
            statuses_count: 0,
            last_status_at: None,
            emojis: Vec::new(),
            fields: Vec::new(),
        }
    }
}

pub fn mini_account(state: &AppState, author: &UserMini) -> Value {
    serde_json::to_value(MiniAccount::new(&base_url(state), author)).unwrap_or_default()
}

/// A `MediaAttachment` of a ready file.
pub fn attachment(state: &AppState, media: &MediaView) -> Value {
    let kind = match media.kind {
        crate::domain::media::MediaKind::Image if media.content_type == "image/gif" => "gifv",
        crate::domain::media::MediaKind::Image => "image",
        crate::domain::media::MediaKind::Video => "video",
    };
    let url = absolute(state, &media.url);
    let preview = media
        .variants
        .get("preview")
        .or_else(|| media.variants.get("poster"))
        .map_or_else(|| url.clone(), |v| absolute(state, &v.url));
    let size = |w: Option<u32>, h: Option<u32>| match (w, h) {
        (Some(w), Some(h)) if h > 0 => json!({
            "width": w, "height": h, "size": format!("{w}x{h}"), "aspect": f64::from(w) / f64::from(h),
        }),
        _ => json!({}),
    };
    let small = media
        .variants
        .get("preview")
        .map_or_else(|| json!({}), |v| size(v.width, v.height));
    let mut meta = json!({ "original": size(media.width, media.height), "small": small });
    if let Some(duration) = media.duration {
        meta["original"]["duration"] = json!(duration);
    }
    json!({
        "id": media.id,
        "type": kind,
        "url": url,
        "preview_url": preview,
        "remote_url": null,
        "preview_remote_url": null,
        "text_url": null,
        "meta": meta,
        "description": media.description,
        "blurhash": media.blurhash,
    })
}

fn visibility_of(group_private: bool) -> &'static str {
    if group_private {
        "private"
    } else {
        "public"
    }
}

#[derive(Debug, Serialize)]
pub struct TagRef {
    name: String,
    url: String,
}

/// The `Status` of a post, as the native view shows it to the viewer: a typed entity, so
/// that a page of them is written straight out.
#[derive(Debug, Serialize)]
pub struct StatusEntity {
    id: String,
    uri: String,
    url: String,
    created_at: String,
    edited_at: Option<String>,
    account: MiniAccount,
    content: String,
    visibility: &'static str,
    sensitive: bool,
    spoiler_text: &'static str,
    media_attachments: Vec<Value>,
    application: Option<()>,
    mentions: Vec<Value>,
    tags: Vec<TagRef>,
    emojis: Vec<Value>,
    reblogs_count: i64,
    favourites_count: i64,
    replies_count: i64,
    in_reply_to_id: Option<()>,
    in_reply_to_account_id: Option<()>,
    reblog: Option<()>,
    poll: Option<()>,
    card: Option<()>,
    language: Option<()>,
    text: Option<()>,
    favourited: bool,
    reblogged: bool,
    muted: bool,
    bookmarked: bool,
    pinned: bool,
    filtered: Vec<Value>,
}

impl StatusEntity {
    pub fn new(state: &AppState, base: &str, view: &PostView, group_private: bool) -> Self {
        let text = super::edits::post_text(&view.title, &view.content);
        let content = status_html(base, &text, &view.hashtags, &view.mentions);
        let url = format!("{base}/@{}/{}", view.author.username, view.id);
        StatusEntity {
            id: view.id.clone(),
            uri: url.clone(),
            url,
            created_at: view.created_at.clone(),
            edited_at: view.edited.then(|| view.updated_at.clone()),
            account: MiniAccount::new(base, &view.author),
            content,
            visibility: visibility_of(group_private),
            sensitive: false,
            spoiler_text: "",
            media_attachments: view.media.iter().map(|m| attachment(state, m)).collect(),
            application: None,
            mentions: Vec::new(),
            tags: view
                .hashtags
                .iter()
                .map(|t| TagRef {
                    name: t.clone(),
                    url: format!("{base}/tags/{t}"),
                })
                .collect(),
            emojis: Vec::new(),
            reblogs_count: 0,
            favourites_count: view.like_count.max(0),
            replies_count: view.comment_count.max(0),
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            reblog: None,
            poll: None,
            card: None,
            language: None,
            text: None,
            favourited: view.liked_by_me,
            reblogged: false,
            muted: false,
            bookmarked: false,
            pinned: false,
            filtered: Vec::new(),
        }
    }
}

pub fn status(state: &AppState, view: &PostView, group_private: bool) -> Value {
    serde_json::to_value(StatusEntity::new(
        state,
        &base_url(state),
        view,
        group_private,
    ))
    .unwrap_or_default()
}

/// The `Status` of a comment: a reply to its post.
pub fn comment_status(
    state: &AppState,
    comment: &CommentDoc,
    author: &UserMini,
    post: &PostDoc,
) -> Value {
    let base = base_url(state);
    let url = absolute(
        state,
        &format!("/@{}/{}", author.username, comment.id.to_hex()),
    );
    json!({
        "id": comment.id.to_hex(),
        "uri": url,
        "url": url,
        "created_at": rfc3339(comment.created_at),
        "edited_at": if comment.updated_at != comment.created_at { json!(rfc3339(comment.updated_at)) } else { Value::Null },
        "account": mini_account(state, author),
        "content": status_html(&base, &comment.content, &[], &[]),
        "visibility": visibility_of(post.group_private),
        "sensitive": false,
        "spoiler_text": "",
        "media_attachments": [],
        "application": null,
        "mentions": [],
        "tags": [],
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": 0,
        "replies_count": 0,
        "in_reply_to_id": post.id.to_hex(),
        "in_reply_to_account_id": post.author_id.to_hex(),
        "reblog": null,
        "poll": null,
        "card": null,
        "language": null,
        "text": null,
        "favourited": false,
        "reblogged": false,
        "muted": false,
        "bookmarked": false,
        "pinned": false,
        "filtered": [],
    })
}

/// Statuses of `posts` for `viewer`, in order (a post whose author is gone is left out).
pub async fn statuses(
    state: &AppState,
    viewer: Option<ObjectId>,
    posts: Vec<PostDoc>,
) -> Result<Vec<Value>, ApiError> {
    statuses_liked(state, viewer, posts, None).await
}

/// `statuses`, with the viewer's likes of the posts when they were read beside them.
pub async fn statuses_liked(
    state: &AppState,
    viewer: Option<ObjectId>,
    posts: Vec<PostDoc>,
    liked: Option<Liked>,
) -> Result<Vec<Value>, ApiError> {
    Ok(status_entities(state, viewer, posts, liked)
        .await?
        .into_iter()
        .filter_map(|s| serde_json::to_value(s).ok())
        .collect())
}

/// The typed statuses of `posts`, in order (a post whose author is gone is left out).
pub async fn status_entities(
    state: &AppState,
    viewer: Option<ObjectId>,
    posts: Vec<PostDoc>,
    liked: Option<Liked>,
) -> Result<Vec<StatusEntity>, ApiError> {
    let private: HashMap<ObjectId, bool> = posts.iter().map(|p| (p.id, p.group_private)).collect();
    let views = match liked {
        Some(liked) => post_views_liked(&state.db, posts, liked).await?,
        None => post_views(&state.db, viewer, posts).await?,
    };
    let base = base_url(state);
    Ok(views
        .iter()
        .map(|v| {
            let private = ObjectId::parse_str(&v.id)
                .ok()
                .and_then(|id| private.get(&id).copied())
                .unwrap_or(false);
            StatusEntity::new(state, &base, v, private)
        })
        .collect())
}

pub(super) async fn comment_statuses(
    state: &AppState,
    comments: &[CommentDoc],
    post: &PostDoc,
) -> Result<Vec<Value>, ApiError> {
    let authors = minis(&state.db, comments.iter().map(|c| c.author_id)).await?;
    Ok(comments
        .iter()
        .filter_map(|c| {
            authors
                .get(&c.author_id)
                .map(|a| comment_status(state, c, a, post))
        })
        .collect())
}

/// What a status id names, as the viewer may see it.
pub(super) enum Found {
    Post(PostDoc),
    Comment(CommentDoc, PostDoc),
}

pub(super) async fn find_status(
    state: &AppState,
    id: &str,
    viewer: &Viewer,
) -> Result<Found, ApiError> {
    let id = ObjectId::parse_str(id).map_err(|_| ApiError::NotFound)?;
    if let Some(post) = posts::find(&state.db, id).await? {
        return if viewer.can_see_post(&post) && post.status == PostStatus::Published {
            Ok(Found::Post(post))
        } else {
            Err(ApiError::NotFound)
        };
    }
    let comment = comments::find(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if viewer.hides(comment.author_id) {
        return Err(ApiError::NotFound);
    }
    let post = posts::find(&state.db, comment.post_id)
        .await?
        .filter(|p| viewer.can_see_post(p))
        .ok_or(ApiError::NotFound)?;
    Ok(Found::Comment(comment, post))
}

async fn found_status(
    state: &AppState,
    found: &Found,
    viewer: Option<ObjectId>,
) -> Result<Value, ApiError> {
    match found {
        Found::Post(post) => statuses(state, viewer, vec![post.clone()])
            .await?
            .pop()
            .ok_or(ApiError::NotFound),
        Found::Comment(comment, post) => {
            comment_statuses(state, std::slice::from_ref(comment), post)
                .await?
                .pop()
                .ok_or(ApiError::NotFound)
        }
    }
}

/// `GET /api/v1/statuses/{id}`: public, `404` for what the caller may not see.
pub async fn get_status(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.reader("read:statuses")?;
    let found = find_status(&state, &path, &viewer).await?;
    Ok(HttpResponse::Ok().json(found_status(&state, &found, viewer.id()).await?))
}

/// `GET /api/v1/statuses/{id}/context`: a post's replies (its comments, oldest first, the
/// first 200), or a reply's post.
pub async fn context(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.reader("read:statuses")?;
    match find_status(&state, &path, &viewer).await? {
        Found::Post(post) => {
            let replies =
                comments::page_for_post(&state.db, post.id, &viewer.hidden(), None, 200).await?;
            let descendants = comment_statuses(&state, &replies, &post).await?;
            Ok(HttpResponse::Ok().json(json!({ "ancestors": [], "descendants": descendants })))
        }
        Found::Comment(_, post) => {
            let ancestors = statuses(&state, viewer.id(), vec![post]).await?;
            Ok(HttpResponse::Ok().json(json!({ "ancestors": ancestors, "descendants": [] })))
        }
    }
}

#[derive(Deserialize)]
struct NewStatus {
    #[serde(default, deserialize_with = "params::text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "params::list")]
    media_ids: Vec<String>,
    #[serde(default, deserialize_with = "params::text")]
    in_reply_to_id: Option<String>,
    #[serde(default, deserialize_with = "params::flag")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "params::text")]
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    scheduled_at: Option<String>,
    #[serde(default)]
    poll: Option<Value>,
    #[serde(default, deserialize_with = "params::text")]
    quoted_status_id: Option<String>,
}

/// `422` with Mastodon's sentence.
pub(super) fn unprocessable(field: &str, message: &str) -> ApiError {
    FieldErrors::single(field, message)
}

/// What a status may ask for that Rookery has no meaning for.
pub(super) struct Unsupported<'a> {
    pub visibility: Option<&'a str>,
    pub poll: Option<&'a Value>,
    pub sensitive: Option<bool>,
    pub spoiler_text: Option<&'a str>,
    pub quoted: bool,
}

/// `422` for any visibility but public, a poll, a content warning or a quote: refused,
/// never dropped.
pub(super) fn refuse_unsupported(what: &Unsupported) -> Result<(), ApiError> {
    if let Some(visibility) = what.visibility.filter(|v| *v != "public") {
        return Err(unprocessable(
            "visibility",
            &format!("is {visibility}: Rookery statuses are public (only public is supported)"),
        ));
    }
    if what.poll.is_some_and(|p| !p.is_null()) {
        return Err(unprocessable(
            "poll",
            "is not supported: Rookery has no polls",
        ));
    }
    if what.sensitive == Some(true) || what.spoiler_text.is_some_and(|s| !s.trim().is_empty()) {
        return Err(unprocessable(
            "spoiler_text",
            "is not supported: Rookery has no content warnings (send sensitive=false and no spoiler_text)",
        ));
    }
    if what.quoted {
        return Err(unprocessable(
            "quoted_status_id",
            "is not supported: Rookery has no quotes",
        ));
    }
    Ok(())
}

/// `POST /api/v1/statuses` (`write:statuses`): a post, a reply (a comment on the post
/// `in_reply_to_id` names, or on the post of the comment it names), or with `scheduled_at`
/// a scheduled post (answered as a `ScheduledStatus`). Only public statuses without
/// content warnings or polls exist in Rookery; anything else is `422`, never dropped.
pub async fn create_status(
    state: State,
    me: UserWithAccount,
    form: Params,
) -> Result<HttpResponse, ApiError> {
    me.user.need("write:statuses")?;
    let body: NewStatus = form.take()?;
    refuse_unsupported(&Unsupported {
        visibility: body.visibility.as_deref(),
        poll: body.poll.as_ref(),
        sensitive: body.sensitive,
        spoiler_text: body.spoiler_text.as_deref(),
        quoted: body.quoted_status_id.is_some(),
    })?;
    let text = body.status.unwrap_or_default();
    if let Some(reply_to) = body.in_reply_to_id.filter(|r| !r.trim().is_empty()) {
        if !body.media_ids.is_empty() || body.scheduled_at.is_some() {
            return Err(unprocessable(
                "in_reply_to_id",
                "replies are Rookery comments: text only, published at once",
            ));
        }
        return reply(&state, me, &reply_to, &text).await;
    }
    let mut errors = FieldErrors::new();
    let content = errors.check("status", parse_body(&text, CONTENT_MAX));
    let ids = (!body.media_ids.is_empty()).then(|| body.media_ids.clone());
    let media_ids =
        crate::core::posts::parse_media_ids(&state, &mut errors, me.account.id, &ids).await?;
    let publish_at = body
        .scheduled_at
        .as_deref()
        .and_then(|raw| errors.check("scheduled_at", parse_publish_at(raw)));
    errors.into_result()?;
    let content = content.ok_or_else(|| ApiError::internal("validated status lost"))?;
    let draft = Draft {
        title: String::new(),
        content,
        description: String::new(),
        tags: Vec::new(),
        media_ids: media_ids.unwrap_or_default(),
        group: None,
        publish_at,
    };
    let post = write_post(&state, &me.user.viewer, &me.account, draft).await?;
    if post.status == PostStatus::Scheduled {
        let shown = super::scheduled::scheduled_statuses(&state, me.account.id, vec![post])
            .await?
            .pop()
            .ok_or_else(|| ApiError::internal("a new scheduled post without a view"))?;
        return Ok(HttpResponse::Ok().json(shown));
    }
    let status = statuses(&state, Some(me.account.id), vec![post])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("a new post without a view"))?;
    Ok(HttpResponse::Ok().json(status))
}

async fn reply(
    state: &AppState,
    me: UserWithAccount,
    reply_to: &str,
    text: &str,
) -> Result<HttpResponse, ApiError> {
    let content = parse_body(text, COMMENT_MAX).map_err(|m| unprocessable("status", &m))?;
    let target = ObjectId::parse_str(reply_to.trim()).map_err(|_| ApiError::NotFound)?;
    // A reply to a reply is one more comment on the post.
    let post_id = match comments::find(&state.db, target).await? {
        Some(comment) => comment.post_id,
        None => target,
    };
    let post = posts::find(&state.db, post_id).await?;
    let UserWithAccount { user, account } = me;
    let action = PostAction::new(user.viewer, user.me, account, post);
    let comment = add_comment(state, &action, content).await?;
    let post = action.reachable_post()?;
    let author = UserMini::new(&action.account);
    Ok(HttpResponse::Ok().json(comment_status(state, &comment, &author, post)))
}

/// `DELETE /api/v1/statuses/{id}` (`write:statuses`): its author (or staff) deletes a post
/// or a reply; the answer is the status as it was, with `text` to redraft from.
pub async fn delete_status(
    state: State,
    user: User,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.need("write:statuses")?;
    let found = find_status(&state, &path, &user.viewer).await?;
    let mut shown = found_status(&state, &found, Some(user.me.user_id)).await?;
    match &found {
        Found::Post(post) => {
            remove_post(&state, user.me.user_id, post).await?;
            shown["text"] = json!(post.content);
        }
        Found::Comment(comment, post) => {
            remove_comment(&state, user.me.user_id, post, comment).await?;
            shown["text"] = json!(comment.content);
        }
    }
    Ok(HttpResponse::Ok().json(shown))
}

/// A favourite's action: the caller, their account and the post `{id}` names, in the one
/// command of the session check.
pub struct Favourite {
    user_scopes: Vec<String>,
    action: PostAction,
}

impl FromRequest for Favourite {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .match_info()
            .get("id")
            .map(|id| ObjectId::parse_str(id).map_err(|_| ApiError::NotFound));
        let req = req.clone();
        Box::pin(async move {
            let id = id.ok_or_else(|| ApiError::internal("route without {id}"))??;
            let caller = caller_future(
                &req,
                Also {
                    post: Some(id),
                    me: true,
                },
            )
            .await?;
            let mut user = user_of(caller)?;
            let account = user.relations.me.pop().ok_or(ApiError::TokenInvalid)?;
            let post = user.relations.post.pop();
            Ok(Favourite {
                user_scopes: user.scopes.clone(),
                action: PostAction::new(user.viewer, user.me, account, post),
            })
        })
    }
}

impl Favourite {
    async fn answer(
        &self,
        state: &AppState,
        liked: bool,
        count: i64,
    ) -> Result<HttpResponse, ApiError> {
        let mut post = self.action.reachable_post()?.clone();
        post.like_count = count;
        let mut shown = statuses(state, None, vec![post])
            .await?
            .pop()
            .ok_or(ApiError::NotFound)?;
        shown["favourited"] = json!(liked);
        Ok(HttpResponse::Ok().json(shown))
    }

    fn need(&self) -> Result<(), ApiError> {
        if crate::auth::oauth::allows(&self.user_scopes, "write:favourites") {
            Ok(())
        } else {
            Err(super::auth::outside_scopes())
        }
    }
}

/// `POST /api/v1/statuses/{id}/favourite` (`write:favourites`): likes the post (a reply,
/// a Rookery comment, cannot be liked: `422`).
pub async fn favourite(
    state: State,
    fav: Favourite,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    fav.need()?;
    if fav.action.reachable_post().is_err() {
        return not_a_post(&state, &path, &fav.action.viewer).await;
    }
    let (liked, _) = like(&state, &fav.action).await?;
    fav.answer(&state, true, liked.like_count).await
}

/// `POST /api/v1/statuses/{id}/unfavourite` (`write:favourites`).
pub async fn unfavourite(
    state: State,
    fav: Favourite,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    fav.need()?;
    if fav.action.reachable_post().is_err() {
        return not_a_post(&state, &path, &fav.action.viewer).await;
    }
    let liked = unlike(&state, &fav.action).await?;
    fav.answer(&state, false, liked.like_count).await
}

/// `GET /api/v1/statuses/{id}/favourited_by`: who liked a post, most recent first, with
/// `Link` paging (a reply, which cannot be liked, has nobody); `404` for what the caller
/// may not see.
pub async fn favourited_by(
    state: State,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.reader("read:statuses")?;
    let (limit, cursor) = params::page_params(&req, 40, 80)?;
    let post = match find_status(&state, &path, &viewer).await? {
        Found::Post(post) => post,
        Found::Comment(..) => return Ok(HttpResponse::Ok().json(json!([]))),
    };
    let items =
        crate::store::likes::page_for_post(&state.db, post.id, &viewer.hidden(), cursor, limit + 1)
            .await?;
    super::accounts::accounts_page(
        &state,
        &req,
        limit,
        items,
        |l| l.user_id,
        |l| (l.created_at, l.id),
    )
    .await
}

/// `422` for a reply the caller can see (it exists but cannot be liked), `404` otherwise.
async fn not_a_post(state: &AppState, id: &str, viewer: &Viewer) -> Result<HttpResponse, ApiError> {
    match find_status(state, id, viewer).await? {
        Found::Comment(..) => Err(unprocessable(
            "id",
            "is a reply: Rookery replies cannot be favourited",
        )),
        Found::Post(_) => Err(ApiError::NotFound),
    }
}
