//! The home feed (DESIGN.md "Home feed"): fanned out on write into `timelines`, read with
//! one range scan. Accounts with very many followers are not fanned out; their posts are
//! merged in at read time, so one post never costs a write per follower beyond the
//! threshold.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bson::oid::ObjectId;

use crate::config::FeedSettings;
use crate::db::Db;
use crate::domain::cursor::Cursor;
use crate::error::ApiError;
use crate::store::likes::Liked;
use crate::store::posts::{self, PostDoc, PostFilter};
use crate::store::timelines::{self, Entry};
use crate::store::window::FirstPages;
use crate::store::{date_cursor, follows, groups, likes, users};

/// The feed's parts: the database, its settings, and this instance's caches (who is over
/// the celebrity threshold; where each reader's first page ended).
pub struct Feed {
    pub db: Db,
    pub settings: FeedSettings,
    pub celebrities: CelebrityCache,
    /// Where each timeline's, author's and hashtag's last full first page ended
    /// (`store::window`).
    pub first_pages: FirstPages,
}

impl Feed {
    pub fn new(db: Db, settings: FeedSettings) -> Self {
        Self {
            db,
            settings,
            celebrities: CelebrityCache::default(),
            first_pages: FirstPages::default(),
        }
    }
}

/// Each instance's view of the accounts over the celebrity threshold, so a feed read does
/// not have to ask. A task (`spawn_celebrity_refresher`) reloads it every
/// `feed.celebrity_refresh_secs`; a request only loads it when the instance has none yet.
/// With the interval at 0 every request loads it (tests, where the threshold moves).
#[derive(Default)]
pub struct CelebrityCache {
    ids: RwLock<Option<Vec<ObjectId>>>,
}

impl CelebrityCache {
    pub async fn get(&self, feed: &Feed) -> Result<Vec<ObjectId>, ApiError> {
        if feed.settings.celebrity_refresh_secs > 0 {
            if let Some(ids) = self.ids.read().ok().and_then(|guard| guard.clone()) {
                return Ok(ids);
            }
        }
        self.refresh(feed).await
    }

    async fn refresh(&self, feed: &Feed) -> Result<Vec<ObjectId>, ApiError> {
        let ids =
            users::ids_with_followers_at_least(&feed.db, feed.settings.celebrity_threshold).await?;
        if let Ok(mut guard) = self.ids.write() {
            *guard = Some(ids.clone());
        }
        Ok(ids)
    }
}

/// Reloads the instance's celebrity list every `feed.celebrity_refresh_secs` (unless 0).
pub fn spawn_celebrity_refresher(feed: Arc<Feed>) {
    let secs = feed.settings.celebrity_refresh_secs;
    if secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(secs));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = feed.celebrities.refresh(&feed).await {
                log::warn!("reloading the celebrity list failed, keeping the last: {err}");
            }
        }
    });
}

pub fn is_celebrity(feed: &Feed, followers_count: i64) -> bool {
    followers_count >= feed.settings.celebrity_threshold
}

/// Of `candidates`, those who may read `post`: all of them, or for a private group's post
/// only the group's members (API.md §6). Feed fan-out and notifications go through here.
pub async fn who_may_read(
    feed: &Feed,
    post: &PostDoc,
    candidates: Vec<ObjectId>,
) -> Result<Vec<ObjectId>, ApiError> {
    match (post.group_private, post.group_id) {
        (true, Some(group)) => Ok(groups::members_among(&feed.db, group, &candidates).await?),
        _ => Ok(candidates),
    }
}

/// A new follow copies the followee's newest posts into the follower's timeline (unless the
/// followee is merged at read time anyway).
pub async fn backfill(
    feed: &Feed,
    follower: ObjectId,
    followee: ObjectId,
    followee_followers: i64,
) -> Result<(), ApiError> {
    if is_celebrity(feed, followee_followers) {
        return Ok(());
    }
    let filter = PostFilter {
        author_id: Some(followee),
        ..PostFilter::default()
    };
    let recent =
        posts::page_published(&feed.db, &filter, None, None, feed.settings.backfill_posts).await?;
    let entries = recent.iter().map(|p| (follower, Entry::of(p))).collect();
    timelines::insert(&feed.db, entries).await?;
    Ok(())
}

/// One page of the home feed, with which of its posts the viewer likes and the pace of
/// the timeline page it came from (for the next cursor).
pub struct FeedPage {
    pub posts: Vec<PostDoc>,
    pub liked: Liked,
    pub pace: Option<i64>,
}

/// One page of the viewer's home feed: `limit + 1` posts (to tell whether more follow),
/// newest first, with which of them the viewer likes. Costs one timeline scan, then the
/// posts and the viewer's likes of them asked for together; following a celebrity adds one
/// lookup, one range scan and the likes of what it brought, whatever the number of
/// accounts followed.
pub async fn home_feed(
    feed: &Feed,
    viewer: ObjectId,
    cursor: Option<Cursor>,
    fetch_limit: i64,
) -> Result<FeedPage, ApiError> {
    let timeline =
        timelines::page(&feed.db, &feed.first_pages, viewer, cursor, fetch_limit).await?;
    let pace = timeline.pace;
    let entries = timeline.items;
    let ids: Vec<ObjectId> = entries.iter().map(|e| e.post_id).collect();
    let (mut fanned, mut liked) = futures::try_join!(
        posts::find_many(&feed.db, &ids),
        likes::liked_among(&feed.db, viewer, &ids),
    )?;

    let celebrities = feed.celebrities.get(feed).await?;
    let followed = if celebrities.is_empty() {
        Vec::new()
    } else {
        follows::followed_among(&feed.db, viewer, &celebrities).await?
    };
    if !followed.is_empty() {
        let filter = PostFilter {
            authors: followed,
            ..PostFilter::default()
        };
        let merged = posts::page_published(&feed.db, &filter, cursor, None, fetch_limit).await?;
        let seen: HashSet<ObjectId> = fanned.iter().map(|p| p.id).collect();
        let new: Vec<PostDoc> = merged
            .into_iter()
            .filter(|p| !seen.contains(&p.id))
            .collect();
        let new_ids: Vec<ObjectId> = new.iter().map(|p| p.id).collect();
        liked.extend(likes::liked_among(&feed.db, viewer, &new_ids).await?);
        fanned.extend(new);
    }
    // Newest first by the same key the cursor uses; deleted, unpublished or hidden posts
    // drop out (a hide is written to the post before its timeline entries).
    fanned.retain(PostDoc::is_listed);
    fanned.sort_by_key(|p| std::cmp::Reverse((p.published_at, p.id)));
    fanned.truncate(usize::try_from(fetch_limit).unwrap_or(usize::MAX));
    Ok(FeedPage {
        posts: fanned,
        liked,
        pace,
    })
}

/// Hides a post from every list and feed, or shows it again (moderation, API.md §8). The
/// post's flag and its timeline entries change in the order that never shows a hidden post
/// in between: the post first when hiding (the feed read also drops hidden posts), the
/// entries first when showing.
pub async fn set_hidden(db: &Db, post_id: ObjectId, hidden: bool) -> Result<(), ApiError> {
    if hidden {
        posts::set_hidden(db, post_id, true).await?;
        timelines::set_hidden(db, post_id, true).await?;
    } else {
        timelines::set_hidden(db, post_id, false).await?;
        posts::set_hidden(db, post_id, false).await?;
    }
    Ok(())
}

/// The cursor after `post` on a page read at `pace`.
pub fn cursor_of(post: &PostDoc, pace: Option<i64>) -> Cursor {
    date_cursor(post.published_at, post.id).with_pace(pace)
}
