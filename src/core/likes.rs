//! Likes: a unique (post, user) index decides each like. A like is one write: the
//! document carries its effects (the post's `like_count`, the author's notification, the
//! liker's activity entry), which a worker writes moments later (`jobs::effects`); until
//! then the liker sees their own like in `like_count` (`likes::Liked`).

use bson::oid::ObjectId;
use serde::Serialize;

use crate::core::viewer::PostAction;
use crate::core::Services;
use crate::error::ApiError;
use crate::store::events::{Activity, Events};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::posts::PostDoc;
use crate::store::{likes, posts};

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LikeState {
    pub like_count: i64,
    pub liked_by_me: bool,
}

/// Likes the action's post (once: `false` when it was liked already), notifying its
/// author: the one path of every façade.
pub(crate) async fn like(
    state: &Services,
    action: &PostAction,
) -> Result<(LikeState, bool), ApiError> {
    let post = action.post_to_interact_with()?;
    let me = action.me.user_id;
    let subject = Subject {
        post_id: Some(post.id),
        ..Subject::default()
    };
    // The author is notified (a like or comment across a block is refused before it is
    // written), and the action goes in the actor's log: both on the like itself.
    let events = Events::new()
        .notify([post.author_id], NotificationType::Like, me, subject)
        .record(me, Activity::on("post.like", "post", post.id));
    let like = likes::new(ObjectId::new(), post.id, me, events);
    if !likes::insert(&state.db, &like).await? {
        let like = LikeState {
            like_count: count_with_mine(state, post, me).await?,
            liked_by_me: true,
        };
        return Ok((like, false));
    }
    state.jobs.wake_effects();
    let like = LikeState {
        like_count: post.like_count + 1,
        liked_by_me: true,
    };
    Ok((like, true))
}

/// The post's `like_count` with the caller's existing like in it: on top of the count
/// read with the post while no worker has taken it; otherwise as the post has it once this
/// instance's workers are done with it.
async fn count_with_mine(state: &Services, post: &PostDoc, me: ObjectId) -> Result<i64, ApiError> {
    let mine = likes::find(&state.db, post.id, me).await?;
    if mine
        .and_then(|like| like.effects)
        .is_some_and(|effects| effects.unclaimed())
    {
        return Ok(post.like_count + 1);
    }
    count_once_written(state, post).await
}

/// The post's `like_count` once this instance's effects batches under way are done: what
/// a like a worker holds (or has just counted) leaves it at.
async fn count_once_written(state: &Services, post: &PostDoc) -> Result<i64, ApiError> {
    state.jobs.wait_for_effects().await;
    Ok(posts::find(&state.db, post.id)
        .await?
        .map_or(post.like_count, |p| p.like_count))
}

/// Takes the caller's like of the action's post back, if there was one.
pub(crate) async fn unlike(state: &Services, action: &PostAction) -> Result<LikeState, ApiError> {
    let post = action.reachable_post()?;
    let me = action.me.user_id;
    let like_count = match likes::delete(&state.db, post.id, me).await? {
        Some(like) => {
            state
                .jobs
                .record(me, Activity::on("post.unlike", "post", post.id))
                .await?;
            if let Some(effects) = like.effects {
                if effects.unclaimed() {
                    // Never counted (nor its notification written): it goes with the like.
                    post.like_count
                } else {
                    // A worker holds it: its batch counts it out again when it finds it
                    // gone.
                    count_once_written(state, post).await?
                }
            } else {
                posts::add_to_counter(&state.db, post.id, "like_count", -1)
                    .await?
                    .ok_or(ApiError::NotFound)?
            }
        }
        None => post.like_count,
    };
    Ok(LikeState {
        like_count,
        liked_by_me: false,
    })
}
