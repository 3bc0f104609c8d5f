//! Comments: API.md §4. A comment is one write; `comment_count` moves when a worker writes
//! its effects (`jobs::effects`), and back only for a counted comment deleted.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::state::AppState;
use crate::api::viewer::visible_post;
use crate::api::viewer::{PostAction, SignedIn, Viewer};
use crate::core::comments::{add_comment, edit_comment, remove_comment};
use crate::domain::posts::{parse_body, COMMENT_MAX};
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Page, PageParams};
use crate::store::comments::{self, CommentDoc};
use crate::store::date_cursor;
use crate::views::posts::{comment_views, CommentView};
use crate::views::UserMini;

type State = web::Data<AppState>;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CommentRequest {
    /// 1–5 000 characters.
    #[schema(value_type = String, required = true, example = "Lovely shot!")]
    content: Option<String>,
}

fn parse_comment(body: &CommentRequest) -> Result<String, ApiError> {
    let mut errors = FieldErrors::new();
    let content = required(&mut errors, "content", &body.content)
        .and_then(|raw| errors.check("content", parse_body(raw, COMMENT_MAX)));
    errors.into_result()?;
    content.ok_or_else(|| ApiError::internal("validated comment lost"))
}

async fn one_view(state: &AppState, comment: CommentDoc) -> Result<CommentView, ApiError> {
    comment_views(&state.db, vec![comment])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

async fn find_comment(state: &AppState, id: &str) -> Result<CommentDoc, ApiError> {
    comments::find(&state.db, ObjectId::parse_str(id)?)
        .await?
        .ok_or(ApiError::NotFound)
}

/// A post's comments, oldest first
#[utoipa::path(
    get,
    path = "/api/posts/{id}/comments",
    tag = "comments",
    responses(
        (status = 200, description = "A page of comments.", body = Page<crate::views::posts::CommentView>),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn list_comments(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    let items = comments::page_for_post(
        &state.db,
        post.id,
        &viewer.hidden(),
        params.cursor,
        params.fetch_limit(),
    )
    .await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |c| date_cursor(c.created_at, c.id),
        |c| c,
    );
    let results = comment_views(&state.db, page.results).await?;
    Ok(Page::respond(results, page.next))
}

/// Comment on a post
#[utoipa::path(
    post,
    path = "/api/posts/{id}/comments",
    tag = "comments",
    request_body = CommentRequest,
    responses(
        (status = 201, description = "The comment.", body = crate::views::posts::CommentView),
        (status = 403, description = "`blocked`: a block stands between you and the author."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn create_comment(
    action: PostAction,
    state: State,
    Json(body): Json<CommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let content = parse_comment(&body)?;
    let comment = add_comment(&state, &action, content).await?;
    let view = CommentView::new(comment, UserMini::new(&action.account));
    Ok(HttpResponse::Created().json(view))
}

/// Edit a comment (its author only)
#[utoipa::path(
    patch,
    path = "/api/comments/{id}",
    tag = "comments",
    request_body = CommentRequest,
    responses(
        (status = 200, description = "The comment, changed.", body = crate::views::posts::CommentView),
        (status = 403, description = "`permission_denied`: not its author."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn update_comment(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
    Json(body): Json<CommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let comment = find_comment(&state, &path).await?;
    visible_post(&state, &comment.post_id.to_hex(), &viewer).await?;
    let content = parse_comment(&body)?;
    let updated = edit_comment(&state, auth.user_id, &comment, &content).await?;
    Ok(HttpResponse::Ok().json(one_view(&state, updated).await?))
}

/// Delete a comment
///
/// Its author, the post's author, a moderator or an admin may.
#[utoipa::path(
    delete,
    path = "/api/comments/{id}",
    tag = "comments",
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn delete_comment(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let comment = find_comment(&state, &path).await?;
    let post = visible_post(&state, &comment.post_id.to_hex(), &viewer).await?;
    remove_comment(&state, auth.user_id, &post, &comment).await?;
    Ok(HttpResponse::NoContent().finish())
}
