//! Creating, editing and deleting posts.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::viewer::{visible_post, SignedIn, SignedInAccount};
use crate::domain::posts::{parse_body, parse_title, CONTENT_MAX};
use crate::error::{ApiError, FieldErrors};
use crate::views::posts::{post_view, post_view_liked};

use super::*;
use crate::core::posts::{
    edit_post, member_group, parse_media_ids, parse_publish_at, remove_post, write_post, Draft,
    OwnPost, PostEdit,
};

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
    let own = OwnPost::of(&viewer, visible_post(&state, &path, &viewer).await?)?;
    let post = own.post();
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
    let edit = PostEdit {
        title,
        content,
        description: post.description.clone(),
        media_ids,
    };
    let updated = edit_post(&state, &viewer, own, edit).await?;
    Ok(HttpResponse::Ok().json(post_view(&state.db, Some(auth.user_id), updated).await?))
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
