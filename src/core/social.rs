//! Follows and blocks. Unique pair indexes make both idempotent; counters move only when
//! an insert or delete happened, so `followers_count` and `following_count` stay exact.

use bson::oid::ObjectId;

use crate::core::viewer::Viewer;
use crate::core::Services;
use crate::error::{ApiError, FieldErrors};
use crate::feed;
use crate::store::events::{Activity, Events};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::users::{self, UserDoc};
use crate::store::{blocks, follows, timelines};

fn not_yourself(me: ObjectId, other: ObjectId, action: &str) -> Result<(), ApiError> {
    if me == other {
        Err(FieldErrors::single(
            "user",
            format!("You cannot {action} yourself."),
        ))
    } else {
        Ok(())
    }
}

/// Removes a follow, if there is one, with its counters and its timeline entries.
pub async fn remove_follow(
    state: &Services,
    follower: ObjectId,
    followee: ObjectId,
) -> Result<(), ApiError> {
    if follows::delete(&state.db, follower, followee).await? {
        users::count_follow(&state.db, follower, followee, -1).await?;
    }
    timelines::remove_author(&state.db, follower, followee).await?;
    Ok(())
}

/// Makes `me` follow `target` (once: `false` when they already did), with the feed's
/// backfill and the notification: the one path of every façade.
pub(crate) async fn add_follow(
    state: &Services,
    viewer: &Viewer,
    me: ObjectId,
    target: &UserDoc,
) -> Result<bool, ApiError> {
    not_yourself(me, target.id, "follow")?;
    viewer.ensure_not_blocked(target.id)?;
    let created = follows::insert(&state.db, me, target.id).await?;
    if created {
        users::count_follow(&state.db, me, target.id, 1).await?;
        feed::backfill(&state.feed, me, target.id, target.followers_count + 1).await?;
        let events = Events::new()
            .notify_unless_blocked(
                &state.db,
                target.id,
                NotificationType::Follow,
                me,
                Subject::default(),
            )
            .await?
            .record(me, Activity::on("user.follow", "user", target.id));
        state.jobs.events(events).await?;
    }
    Ok(created)
}

/// `me` no longer follows `target` (also when they did not), logged.
pub(crate) async fn drop_follow(
    state: &Services,
    me: ObjectId,
    target: ObjectId,
) -> Result<(), ApiError> {
    remove_follow(state, me, target).await?;
    state
        .jobs
        .record(me, Activity::on("user.unfollow", "user", target))
        .await?;
    Ok(())
}

/// `me` blocks `target` (once: `false` when they already had), ending the follows both
/// ways: the one path of every façade.
pub(crate) async fn add_block(
    state: &Services,
    viewer: &mut Viewer,
    me: ObjectId,
    target: ObjectId,
) -> Result<bool, ApiError> {
    not_yourself(me, target, "block")?;
    let created = blocks::insert(&state.db, me, target).await?;
    if created {
        state
            .jobs
            .record(me, Activity::on("user.block", "user", target))
            .await?;
    }
    remove_follow(state, me, target).await?;
    remove_follow(state, target, me).await?;
    viewer.add_block(target);
    Ok(created)
}

/// `me` no longer blocks `target` (also when they did not), logged.
pub(crate) async fn drop_block(
    state: &Services,
    me: ObjectId,
    target: ObjectId,
) -> Result<(), ApiError> {
    blocks::delete(&state.db, me, target).await?;
    state
        .jobs
        .record(me, Activity::on("user.unblock", "user", target))
        .await?;
    Ok(())
}
