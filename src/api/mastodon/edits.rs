//! Editing statuses: `PUT /api/v1/statuses/{id}`, its `/history` and its `/source`, over
//! Rookery's post edits (which keep every earlier text) and comment edits (which keep
//! none).
//!
//! A post's status text is its title (when it has one), a blank line, then its content.
//! An edit whose text still starts with that title and a blank line keeps the title and
//! changes the content; any other text becomes the content, and the title is cleared.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{Caller, UserWithAccount};
use super::base_url;
use super::params::{self, Params};
use super::statuses::{
    comment_statuses, find_status, refuse_unsupported, status_html, statuses, unprocessable, Found,
    Unsupported,
};
use crate::api::state::AppState;
use crate::core::comments::edit_comment;
use crate::core::posts::{edit_post, OwnPost, PostEdit};
use crate::domain::posts::{hashtags, parse_body, COMMENT_MAX, CONTENT_MAX};
use crate::domain::rfc3339;
use crate::error::{ApiError, FieldErrors};
use crate::store::posts;

type State = web::Data<AppState>;

#[derive(Deserialize)]
struct EditForm {
    #[serde(default, deserialize_with = "params::text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "params::list")]
    media_ids: Vec<String>,
    #[serde(default, deserialize_with = "params::flag")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "params::text")]
    spoiler_text: Option<String>,
    #[serde(default)]
    poll: Option<Value>,
}

/// A post's text as its status shows it and its author edits it.
pub fn post_text(title: &str, content: &str) -> String {
    if title.trim().is_empty() {
        content.to_owned()
    } else {
        format!("{title}\n\n{content}")
    }
}

/// The title and content an edited status text gives a post titled `title` (see the
/// module's comment).
pub fn split_text(title: &str, text: &str) -> (String, String) {
    match text.strip_prefix(&format!("{title}\n\n")) {
        Some(rest) if !title.trim().is_empty() => (title.to_owned(), rest.to_owned()),
        _ => (String::new(), text.to_owned()),
    }
}

/// `PUT /api/v1/statuses/{id}` (`write:statuses`): its author changes a status's text and,
/// for a post, its media (as Mastodon, the `media_ids` sent are the post's files after the
/// edit: none sent, none kept). The answer is the status as edited.
pub async fn edit_status(
    state: State,
    me: UserWithAccount,
    path: web::Path<String>,
    form: Params,
) -> Result<HttpResponse, ApiError> {
    me.user.need("write:statuses")?;
    let body: EditForm = form.take()?;
    refuse_unsupported(&Unsupported {
        visibility: None,
        poll: body.poll.as_ref(),
        sensitive: body.sensitive,
        spoiler_text: body.spoiler_text.as_deref(),
        quoted: false,
    })?;
    let text = body.status.unwrap_or_default();
    let author = me.account.id;
    match find_status(&state, &path, &me.user.viewer).await? {
        Found::Post(post) => {
            let own = OwnPost::of(&me.user.viewer, post)?;
            let post = own.post();
            let (title, content) = split_text(&post.title, &text);
            let mut errors = FieldErrors::new();
            let content = errors.check("status", parse_body(&content, CONTENT_MAX));
            let ids = Some(body.media_ids.clone());
            let media_ids =
                crate::core::posts::parse_media_ids(&state, &mut errors, author, &ids).await?;
            errors.into_result()?;
            let content = content.ok_or_else(|| ApiError::internal("validated edit lost"))?;
            let edit = PostEdit {
                title,
                content,
                description: post.description.clone(),
                media_ids,
            };
            let post = edit_post(&state, &me.user.viewer, own, edit).await?;
            let shown = statuses(&state, Some(author), vec![post])
                .await?
                .pop()
                .ok_or(ApiError::NotFound)?;
            Ok(HttpResponse::Ok().json(shown))
        }
        Found::Comment(comment, post) => {
            if !body.media_ids.is_empty() {
                return Err(unprocessable(
                    "media_ids",
                    "replies are Rookery comments: text only",
                ));
            }
            let content =
                parse_body(&text, COMMENT_MAX).map_err(|m| unprocessable("status", &m))?;
            let comment = edit_comment(&state, author, &comment, &content).await?;
            let shown = comment_statuses(&state, std::slice::from_ref(&comment), &post)
                .await?
                .pop()
                .ok_or(ApiError::NotFound)?;
            Ok(HttpResponse::Ok().json(shown))
        }
    }
}

/// Mastodon's `StatusEdit`: one version of a status.
#[derive(Serialize)]
struct StatusEdit {
    content: String,
    spoiler_text: &'static str,
    sensitive: bool,
    created_at: String,
    account: Value,
    poll: Option<()>,
    media_attachments: Value,
    emojis: Vec<Value>,
}

/// `GET /api/v1/statuses/{id}/history` (`read:statuses`): a status's versions, oldest
/// first, the current one last. Rookery keeps earlier texts, not earlier files: every
/// version shows the files the post has now. A reply (a comment) has one version.
pub async fn history(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.reader("read:statuses")?;
    let (post, current) = match find_status(&state, &path, &viewer).await? {
        Found::Post(post) => {
            let current = statuses(&state, viewer.id(), vec![post.clone()])
                .await?
                .pop()
                .ok_or(ApiError::NotFound)?;
            (post, current)
        }
        Found::Comment(comment, post) => {
            let current = comment_statuses(&state, std::slice::from_ref(&comment), &post)
                .await?
                .pop()
                .ok_or(ApiError::NotFound)?;
            return Ok(HttpResponse::Ok().json([edit_of(&current, None)]));
        }
    };
    let mut earlier = posts::versions(&state.db, post.id).await?;
    earlier.reverse();
    let base = base_url(&state);
    let mut since = post.created_at;
    let mut edits: Vec<StatusEdit> = Vec::with_capacity(earlier.len() + 1);
    for version in &earlier {
        let tags = hashtags(&version.title, &version.content);
        let text = post_text(&version.title, &version.content);
        let mut edit = edit_of(&current, Some(rfc3339(since)));
        edit.content = status_html(&base, &text, &tags, &post.mentions);
        edits.push(edit);
        since = version.edited_at;
    }
    edits.push(edit_of(&current, Some(rfc3339(since))));
    Ok(HttpResponse::Ok().json(edits))
}

/// A `StatusEdit` with `status`'s content, account and files, made at `created_at` (by
/// default the status's own time).
fn edit_of(status: &Value, created_at: Option<String>) -> StatusEdit {
    StatusEdit {
        content: status["content"].as_str().unwrap_or_default().to_owned(),
        spoiler_text: "",
        sensitive: false,
        created_at: created_at
            .unwrap_or_else(|| status["created_at"].as_str().unwrap_or_default().to_owned()),
        account: status["account"].clone(),
        poll: None,
        media_attachments: status["media_attachments"].clone(),
        emojis: Vec::new(),
    }
}

/// `GET /api/v1/statuses/{id}/source` (`read:statuses`): the plain text to edit a status
/// from, for whoever may see it.
pub async fn source(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let viewer = caller.reader("read:statuses")?;
    let (id, text) = match find_status(&state, &path, &viewer).await? {
        Found::Post(post) => (post.id, post_text(&post.title, &post.content)),
        Found::Comment(comment, _) => (comment.id, comment.content),
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": id.to_hex(),
        "text": text,
        "spoiler_text": "",
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_keeps_the_title_it_starts_with() {
        assert_eq!(
            post_text("Sunset", "over the river"),
            "Sunset\n\nover the river"
        );
        assert_eq!(
            split_text("Sunset", "Sunset\n\nover the sea"),
            ("Sunset".to_owned(), "over the sea".to_owned())
        );
        assert_eq!(
            split_text("Sunset", "Dawn over the sea"),
            (String::new(), "Dawn over the sea".to_owned())
        );
        assert_eq!(post_text("", "just text"), "just text");
        assert_eq!(
            split_text("", "\n\nstill text"),
            (String::new(), "\n\nstill text".to_owned())
        );
    }
}
