//! Background work: publishing scheduled posts, and what happens when any post is
//! published (the hook later features — feed fan-out, notifications — hang on).

use std::time::Duration;

use actix_web::web;
use bson::oid::ObjectId;

use crate::api::state::AppState;
use crate::error::ApiError;
use crate::events;
use crate::store::notifications::{NotificationType, Subject};
use crate::store::posts::{self, PostDoc};
use crate::store::{follows, users};

/// Runs once for every post at the moment it becomes published, whether at creation or
/// when its scheduled time comes.
pub async fn on_published(state: &AppState, post: &PostDoc) -> Result<(), ApiError> {
    if crate::cascade::counts_for_author(post) {
        users::add_to_posts_count(&state.db, post.author_id, 1).await?;
    }
    crate::feed::fan_out(state, post).await?;
    // `mentions` already holds only accounts outside any block with the author.
    let keys: Vec<String> = post.mentions.iter().map(|m| m.to_lowercase()).collect();
    let mentioned: Vec<ObjectId> = users::find_by_username_keys(&state.db, &keys)
        .await?
        .iter()
        .map(|u| u.id)
        .collect();
    let mentioned = crate::feed::who_may_read(state, post, mentioned).await?;
    let subject = Subject {
        post_id: Some(post.id),
        ..Subject::default()
    };
    events::notify_many(
        &state.outbox,
        mentioned,
        NotificationType::Mention,
        post.author_id,
        subject,
    );
    Ok(())
}

/// Publishes every due scheduled post, one atomic claim at a time; returns how many.
pub async fn publish_due_posts(state: &AppState) -> Result<usize, ApiError> {
    let mut published = 0;
    while let Some(post) = posts::claim_due(&state.db).await? {
        on_published(state, &post).await?;
        // API.md §4: a scheduled post's followers are told when it appears — for a private
        // group's post, only those who belong to the group.
        let followers = follows::follower_ids(&state.db, post.author_id).await?;
        let followers = crate::feed::who_may_read(state, &post, followers).await?;
        let subject = Subject {
            post_id: Some(post.id),
            ..Subject::default()
        };
        events::notify_many(
            &state.outbox,
            followers,
            NotificationType::PostPublished,
            post.author_id,
            subject,
        );
        published += 1;
    }
    Ok(published)
}

/// The scheduler loop: checks for due posts every `posts.scheduler_interval_ms`. Errors
/// (the database being away) are logged and retried on the next tick.
pub fn spawn_scheduler(state: web::Data<AppState>) {
    let interval = Duration::from_millis(state.settings.posts.scheduler_interval_ms.max(10));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match publish_due_posts(&state).await {
                Ok(0) => {}
                Ok(n) => log::info!("published {n} scheduled post(s)"),
                Err(err) => log::warn!("scheduled publishing failed, retrying: {err}"),
            }
        }
    });
}
