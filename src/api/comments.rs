//! Comments: API.md §4. A comment is one write; `comment_count` moves when a worker writes
//! its effects (`jobs::effects`), and back only for a counted comment deleted.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::state::AppState;
use crate::api::viewer::{is_staff, visible_post};
use crate::api::viewer::{PostAction, SignedIn, Viewer};
use crate::domain::posts::{parse_body, COMMENT_MAX};
use crate::error::{ApiError, FieldErrors};
use crate::events::{Activity, Events};
use crate::pagination::{Page, PageParams};
use crate::store::comments::{self, CommentDoc};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::posts::PostDoc;
use crate::store::{date_cursor, posts};
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

/// Writes a validated comment on the action's post and notifies its author: the one path
/// of the native and the RealWorld API.
pub(crate) async fn add_comment(
    state: &AppState,
    action: &PostAction,
    content: String,
) -> Result<CommentDoc, ApiError> {
    let post = action.post_to_interact_with()?;
    let me = action.me.user_id;
    let id = ObjectId::new();
    let subject = Subject {
        post_id: Some(post.id),
        comment_id: Some(id),
        ..Subject::default()
    };
    // The author is notified (a like or comment across a block is refused before it is
    // written), and the action goes in the actor's log: both on the comment itself, with
    // the post's `comment_count` (`jobs::effects`).
    let events = Events::new()
        .notify([post.author_id], NotificationType::Comment, me, subject)
        .record(me, Activity::on("comment.create", "comment", id));
    let comment = comments::insert(&state.db, id, post.id, me, content, events).await?;
    state.jobs.wake_effects();
    Ok(comment)
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
    if comment.author_id != auth.user_id {
        return Err(ApiError::permission_denied());
    }
    let content = parse_comment(&body)?;
    let updated = comments::update_content(&state.db, comment.id, &content)
        .await?
        .ok_or(ApiError::NotFound)?;
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

/// Deletes `comment` of `post` when `by` wrote either or is staff.
pub(crate) async fn remove_comment(
    state: &AppState,
    by: ObjectId,
    post: &PostDoc,
    comment: &CommentDoc,
) -> Result<(), ApiError> {
    let allowed = comment.author_id == by || post.author_id == by || is_staff(state, by).await?;
    if !allowed {
        return Err(ApiError::permission_denied());
    }
    if let Some(deleted) = comments::delete(&state.db, comment.post_id, comment.id).await? {
        state
            .jobs
            .record(by, Activity::on("comment.delete", "comment", comment.id))
            .await?;
        // One whose effects were not written yet was never counted.
        if deleted.effects.is_none() {
            posts::add_to_counter(&state.db, post.id, "comment_count", -1).await?;
        }
    }
    Ok(())
}
