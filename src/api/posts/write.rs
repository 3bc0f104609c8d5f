//! Creating, editing and deleting posts.

use actix_web::{web, HttpResponse};
use bson::oid::ObjectId;
use bson::DateTime;
use serde::Deserialize;

use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::state::AppState;
use crate::api::viewer::Viewer;
use crate::api::viewer::{is_staff, visible_post, SignedIn, SignedInAccount};
use crate::domain::posts::{parse_body, parse_title, CONTENT_MAX};
use crate::error::{ApiError, FieldErrors};
use crate::events::{Activity, Events};
use crate::jobs::{publish, Cascade};
use crate::store::groups;
use crate::store::groups::Visibility;
use crate::store::posts::{self, AuthorSnapshot, PostDoc, PostStatus};
use crate::store::timelines::{self, TimelineDoc};
use crate::store::users::{self, UserDoc};
use crate::views::posts::{post_view, post_view_liked};

use super::*;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CreatePostRequest {
    /// Up to 200 characters.
    #[schema(example = "Sunday walk")]
    title: Option<String>,
    /// 1–10 000 characters; `#tags` and `@mentions` in it are found.
    #[schema(value_type = String, required = true, example = "Down by the river #spring with @bob")]
    content: Option<String>,
    /// Up to 10 of the author's own uploads (`POST /api/media`).
    media_ids: Option<Vec<String>>,
    /// A group the author belongs to.
    group_id: Option<String>,
    /// RFC 3339, in the future: the post stays `scheduled` until then.
    #[schema(example = "2030-01-01T09:00:00Z")]
    publish_at: Option<String>,
}

pub(crate) fn parse_publish_at(raw: &str) -> Result<DateTime, String> {
    let at = chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| "Enter a valid RFC 3339 date-time, e.g. 2026-11-22T10:15:30Z.".to_owned())?;
    let at = DateTime::from_chrono(at.with_timezone(&chrono::Utc));
    if at <= DateTime::now() {
        return Err("The publication time must be in the future.".into());
    }
    Ok(at)
}

/// Write a post
///
/// With `publish_at` in the future it is `scheduled` and appears then.
#[utoipa::path(
    post,
    path = "/api/posts",
    tag = "posts",
    request_body = CreatePostRequest,
    responses(
        (status = 201, description = "The post.", body = crate::views::posts::PostView),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn create_post(
    state: State,
    SignedInAccount {
        viewer: author,
        me: auth,
        account: author_doc,
    }: SignedInAccount,
    Json(body): Json<CreatePostRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let title = errors.check("title", parse_title(body.title.as_deref().unwrap_or("")));
    let content = required(&mut errors, "content", &body.content)
        .and_then(|raw| errors.check("content", parse_body(raw, CONTENT_MAX)));
    let media_ids = parse_media_ids(&state, &mut errors, auth.user_id, &body.media_ids).await?;
    let group = match &body.group_id {
        Some(raw) => member_group(&state, &mut errors, auth.user_id, raw).await?,
        None => None,
    };
    let publish_at = body
        .publish_at
        .as_deref()
        .and_then(|raw| errors.check("publish_at", parse_publish_at(raw)));
    errors.into_result()?;
    let (Some(title), Some(content)) = (title, content) else {
        return Err(ApiError::internal("validated post lost a field"));
    };
    let draft = Draft {
        title,
        content,
        description: String::new(),
        tags: Vec::new(),
        media_ids: media_ids.unwrap_or_default(),
        group,
        publish_at,
    };
    let post = write_post(&state, &author, &author_doc, draft).await?;
    // Nobody has liked a post that did not exist a moment ago.
    let view = post_view_liked(&state.db, post, Default::default()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// A new post, validated.
pub(crate) struct Draft {
    pub title: String,
    pub content: String,
    pub description: String,
    pub tags: Vec<String>,
    pub media_ids: Vec<ObjectId>,
    pub group: Option<groups::GroupDoc>,
    pub publish_at: Option<DateTime>,
}

/// Writes a validated post and what publishing it needs: the one path of the native and
/// the RealWorld API.
pub(crate) async fn write_post(
    state: &AppState,
    author: &Viewer,
    author_doc: &UserDoc,
    draft: Draft,
) -> Result<PostDoc, ApiError> {
    let Draft {
        title,
        content,
        description,
        tags,
        media_ids,
        group,
        publish_at,
    } = draft;
    let author_id = author_doc.id;
    let text = post_text(state, author, title, content, description, &tags).await?;
    let now = DateTime::now();
    let post = PostDoc {
        id: ObjectId::new(),
        author_id,
        title: text.title,
        content: text.content,
        description: text.description,
        tags,
        hashtags: text.hashtags,
        mentions: text.mentions,
        terms: text.terms,
        media_ids,
        group_id: group.as_ref().map(|g| g.id),
        group_private: group
            .as_ref()
            .is_some_and(|g| g.visibility == Visibility::Private),
        hidden: false,
        status: if publish_at.is_some() {
            PostStatus::Scheduled
        } else {
            PostStatus::Published
        },
        publish_at,
        published_at: publish_at.unwrap_or(now),
        like_count: 0,
        comment_count: 0,
        view_count: 0,
        created_at: now,
        updated_at: now,
        edited: false,
        author: Some(AuthorSnapshot::of(author_doc)),
        fanned_out: false,
    };
    // The publication job (count, fan-out, notifications; for a scheduled post at its
    // time) is written first, so no failure can leave the post without it. The author's
    // own timeline entry is written here, so one sees one's post at once.
    let created = Events::new().record(author_id, Activity::on("post.create", "post", post.id));
    publish::enqueue(&state.jobs, &post, created).await?;
    posts::insert(&state.db, &post).await?;
    if let Some(group) = &group {
        groups::share(&state.db, group.id, post.id, author_id).await?;
    }
    if post.status == PostStatus::Published {
        // Read-your-writes: the author's feed and count show the post on their next read
        // (the publication job sets the count to a recount after, which agrees).
        let counted = crate::cascade::counts_for_author(&post);
        futures::try_join!(
            timelines::insert_many(&state.db, vec![TimelineDoc::new(post.author_id, &post)]),
            async {
                if counted {
                    users::add_to_posts_count(&state.db, author_id, 1).await?;
                }
                Ok(())
            },
        )?;
    }
    Ok(post)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdatePostRequest {
    title: Option<String>,
    content: Option<String>,
    media_ids: Option<Vec<String>>,
}

/// Edit a post (its author only)
///
/// The earlier version is kept in its history.
#[utoipa::path(
    patch,
    path = "/api/posts/{id}",
    tag = "posts",
    request_body = UpdatePostRequest,
    responses(
        (status = 200, description = "The post, changed.", body = crate::views::posts::PostView),
        (status = 403, description = "`permission_denied`: not its author."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn update_post(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
    Json(body): Json<UpdatePostRequest>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    if post.author_id != auth.user_id {
        return Err(ApiError::permission_denied());
    }
    let mut errors = FieldErrors::new();
    let title = match &body.title {
        Some(raw) => errors.check("title", parse_title(raw)),
        None => Some(post.title.clone()),
    };
    let content = match &body.content {
        Some(raw) => errors.check("content", parse_body(raw, CONTENT_MAX)),
        None => Some(post.content.clone()),
    };
    let media_ids = parse_media_ids(&state, &mut errors, auth.user_id, &body.media_ids).await?;
    errors.into_result()?;
    let (Some(title), Some(content)) = (title, content) else {
        return Err(ApiError::internal("validated edit lost a field"));
    };
    let description = post.description.clone();
    let updated = change_media(&state, post, media_ids).await?;
    let updated = edit_post(&state, &viewer, updated, title, content, description).await?;
    Ok(HttpResponse::Ok().json(post_view(&state.db, Some(auth.user_id), updated).await?))
}

/// Sets a post's files to `media_ids` (checked by the caller) when they differ; the files
/// it no longer shows get new keys, so whoever was handed their URL through it loses them.
pub(crate) async fn change_media(
    state: &AppState,
    post: PostDoc,
    media_ids: Option<Vec<ObjectId>>,
) -> Result<PostDoc, ApiError> {
    let Some(media_ids) = media_ids.filter(|ids| *ids != post.media_ids) else {
        return Ok(post);
    };
    let removed: Vec<ObjectId> = post
        .media_ids
        .iter()
        .filter(|id| !media_ids.contains(id))
        .copied()
        .collect();
    let updated = posts::set_media(&state.db, post.id, media_ids)
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::media_keys::rekey(&state.db, &removed).await?;
    Ok(updated)
}

/// Changes a post's text (its author's edit, checked by the caller), keeping the earlier
/// version, and logs the edit: the one path of the native and the RealWorld API.
pub(crate) async fn edit_post(
    state: &AppState,
    viewer: &Viewer,
    post: PostDoc,
    title: String,
    content: String,
    description: String,
) -> Result<PostDoc, ApiError> {
    let author_id = post.author_id;
    let mut updated = post;
    if title != updated.title || content != updated.content || description != updated.description {
        let tags = updated.tags.clone();
        let text = post_text(state, viewer, title, content, description, &tags).await?;
        updated = posts::update_text(&state.db, &updated, text)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    state
        .jobs
        .record(author_id, Activity::on("post.update", "post", updated.id))
        .await?;
    Ok(updated)
}

/// Delete a post
///
/// Its author, a moderator or an admin may; its likes, comments and versions go with it.
#[utoipa::path(
    delete,
    path = "/api/posts/{id}",
    tag = "posts",
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn delete_post(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    remove_post(&state, auth.user_id, &post).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Moves one's scheduled post to `at` (checked by `parse_publish_at`), and its
/// publication job with it; `404` for a post that is not one's own or no longer
/// scheduled. A job already running when it moves finds the post not yet due and runs
/// again later.
pub(crate) async fn reschedule_post(
    state: &AppState,
    by: ObjectId,
    id: ObjectId,
    at: DateTime,
) -> Result<PostDoc, ApiError> {
    let post = posts::reschedule(&state.db, id, by, at)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The publication job is keyed by the post (`publish::enqueue`).
    crate::store::jobs::set_due(&state.db, post.id, at).await?;
    Ok(post)
}

/// Deletes a post with everything that hangs on it, when `by` is its author or staff.
pub(crate) async fn remove_post(
    state: &AppState,
    by: ObjectId,
    post: &PostDoc,
) -> Result<(), ApiError> {
    if post.author_id != by && !is_staff(state, by).await? {
        return Err(ApiError::permission_denied());
    }
    let ids = vec![post.id];
    if state.jobs.cascade(Cascade::Posts { ids }).await? == 0 {
        return Err(ApiError::NotFound);
    }
    state
        .jobs
        .record(by, Activity::on("post.delete", "post", post.id))
        .await?;
    Ok(())
}
