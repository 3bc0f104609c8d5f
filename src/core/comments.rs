//! Comments: writing one (one write; its effects follow through `jobs::effects`),
//! editing and deleting one.

use bson::oid::ObjectId;

use crate::core::viewer::{is_staff, PostAction};
use crate::core::Services;
use crate::error::ApiError;
use crate::store::comments::{self, CommentDoc};
use crate::store::events::{Activity, Events};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::posts::{self, PostDoc};

/// Writes a validated comment on the action's post and notifies its author: the one path
/// of every façade.
pub(crate) async fn add_comment(
    state: &Services,
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

/// Deletes `comment` of `post` when `by` wrote either or is staff.
pub(crate) async fn remove_comment(
    state: &Services,
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

/// Changes `comment`'s text (checked by the caller) when `by` wrote it.
pub(crate) async fn edit_comment(
    state: &Services,
    by: ObjectId,
    comment: &CommentDoc,
    content: &str,
) -> Result<CommentDoc, ApiError> {
    if comment.author_id != by {
        return Err(ApiError::permission_denied());
    }
    comments::update_content(&state.db, comment.id, content)
        .await?
        .ok_or(ApiError::NotFound)
}
