//! RealWorld comments: `GET`/`POST /articles/{slug}/comments`,
//! `DELETE /articles/{slug}/comments/{id}`.

use actix_web::{web, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::api::extract::{required, Json};
use crate::api::state::AppState;
use crate::api::viewer::{visible_post, PostAction, SignedIn, Viewer};
use crate::core::comments::{add_comment, remove_comment};
use crate::domain::posts::{parse_body, COMMENT_MAX};
use crate::error::{ApiError, FieldErrors};
use crate::store::comments;

use super::views::{self, CommentEnvelope, CommentList};
use super::{post_id_of_slug, unwrap};

type State = web::Data<AppState>;

/// The most comments one article lists (oldest first).
pub const COMMENTS_LISTED: i64 = 500;

/// The post a slug names, if the viewer may see it.
async fn article_post(
    state: &AppState,
    slug: &str,
    viewer: &Viewer,
) -> Result<crate::store::posts::PostDoc, ApiError> {
    visible_post(state, &post_id_of_slug(slug)?.to_hex(), viewer).await
}

/// An article's comments
///
/// Oldest first, at most 500; comments by accounts blocked either way are left out.
#[utoipa::path(
    get,
    path = "/realworld/api/articles/{slug}/comments",
    tag = "realworld",
    operation_id = "realworld_list",
    responses((status = 200, description = "The comments.", body = CommentList)),
    security((), ("realWorldToken" = []))
)]
pub(crate) async fn list(
    state: State,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = article_post(&state, &path, &viewer).await?;
    let found =
        comments::page_for_post(&state.db, post.id, &viewer.hidden(), None, COMMENTS_LISTED)
            .await?;
    let comments = views::comments(&state, &viewer, found).await?;
    Ok(HttpResponse::Ok().json(CommentList { comments }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewComment {
    #[schema(value_type = String, required = true, example = "Thank you so much!")]
    body: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewCommentRequest {
    #[schema(value_type = NewComment, required = true)]
    comment: Option<NewComment>,
}

/// Comment on an article
///
/// As `POST /api/posts/{id}/comments`: `403` across a block with the author.
#[utoipa::path(
    post,
    path = "/realworld/api/articles/{slug}/comments",
    tag = "realworld",
    operation_id = "realworld_create_comment",
    request_body = NewCommentRequest,
    responses(
        (status = 200, description = "The comment.", body = CommentEnvelope),
        (status = 403, description = "A block stands between you and the author."),
    ),
    security(("realWorldToken" = []))
)]
pub(crate) async fn create(
    state: State,
    action: PostAction,
    Json(body): Json<NewCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let comment = unwrap(body.comment, "comment")?;
    let mut errors = FieldErrors::new();
    let content = required(&mut errors, "body", &comment.body)
        .and_then(|raw| errors.check("body", parse_body(raw, COMMENT_MAX)));
    errors.into_result()?;
    let content = content.ok_or_else(|| ApiError::internal("validated comment lost"))?;
    let written = add_comment(&state, &action, content).await?;
    let comment = views::comments(&state, &action.viewer, vec![written])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(CommentEnvelope { comment }))
}

/// Delete a comment
///
/// Its author, the article's author, a moderator or an admin may.
#[utoipa::path(
    delete,
    path = "/realworld/api/articles/{slug}/comments/{id}",
    tag = "realworld",
    operation_id = "realworld_delete_comment",
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Not yours to delete."),
    ),
    security(("realWorldToken" = []))
)]
pub(crate) async fn delete(
    state: State,
    SignedIn { viewer, me }: SignedIn,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let post = article_post(&state, &slug, &viewer).await?;
    let comment = comments::find(&state.db, ObjectId::parse_str(&id)?)
        .await?
        .filter(|c| c.post_id == post.id)
        .ok_or(ApiError::NotFound)?;
    remove_comment(&state, me.user_id, &post, &comment).await?;
    Ok(HttpResponse::NoContent().finish())
}
