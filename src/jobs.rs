//! Background work: publishing scheduled posts, and what happens when any post is
//! published (the hook later features — feed fan-out, notifications — hang on).

use std::sync::Arc;
use std::time::Duration;

use bson::oid::ObjectId;

use crate::error::ApiError;
use crate::events;
use crate::events::Outbox;
use crate::feed::Feed;
use crate::store::notifications::{NotificationType, Subject};
use crate::store::posts::{self, PostDoc};
use crate::store::{follows, users};

/// Runs once for every post at the moment it becomes published, whether at creation or
/// when its scheduled time comes.
pub async fn on_published(feed: &Feed, outbox: &Outbox, post: &PostDoc) -> Result<(), ApiError> {
    if crate::cascade::counts_for_author(post) {
        users::add_to_posts_count(&feed.db, post.author_id, 1).await?;
    }
    crate::feed::fan_out(feed, post).await?;
    // `mentions` already holds only accounts outside any block with the author.
    let keys: Vec<String> = post.mentions.iter().map(|m| m.to_lowercase()).collect();
    let mentioned: Vec<ObjectId> = users::find_by_username_keys(&feed.db, &keys)
        .await?
        .iter()
        .map(|u| u.id)
        .collect();
    let mentioned = crate::feed::who_may_read(feed, post, mentioned).await?;
    let subject = Subject {
        post_id: Some(post.id),
        ..Subject::default()
    };
    events::notify_many(
        outbox,
        mentioned,
        NotificationType::Mention,
        post.author_id,
        subject,
    );
    Ok(())
}

/// Publishes every due scheduled post, one atomic claim at a time; returns how many.
pub async fn publish_due_posts(feed: &Feed, outbox: &Outbox) -> Result<usize, ApiError> {
    let mut published = 0;
    while let Some(post) = posts::claim_due(&feed.db).await? {
        on_published(feed, outbox, &post).await?;
        // API.md §4: a scheduled post's followers are told when it appears — for a private
        // group's post, only those who belong to the group.
        let followers = follows::follower_ids(&feed.db, post.author_id).await?;
        let followers = crate::feed::who_may_read(feed, &post, followers).await?;
        let subject = Subject {
            post_id: Some(post.id),
            ..Subject::default()
        };
        events::notify_many(
            outbox,
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
pub fn spawn_scheduler(feed: Arc<Feed>, outbox: Arc<Outbox>, interval_ms: u64) {
    let interval = Duration::from_millis(interval_ms.max(10));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match publish_due_posts(&feed, &outbox).await {
                Ok(0) => {}
                Ok(n) => log::info!("published {n} scheduled post(s)"),
                Err(err) => log::warn!("scheduled publishing failed, retrying: {err}"),
            }
        }
    });
}
