//! Removing posts with everything that points at them: likes, comments, earlier versions,
//! feed entries and group shares. Post deletion, moderation, group deletion and account
//! deletion all go through here.

use bson::oid::ObjectId;

use crate::db::Db;
use crate::error::ApiError;
use crate::store::{comments, groups, likes, post_stats, posts, timelines, users};

/// Deletes `ids` and what points at them; returns how many posts this call deleted. Each
/// post is deleted atomically, so of two concurrent deletions one moves the author's
/// `posts_count` (for the published posts that counted, not those of private groups).
pub async fn remove_posts(db: &Db, ids: &[ObjectId]) -> Result<usize, ApiError> {
    if ids.is_empty() {
        return Ok(0);
    }
    // The files stay their owner's, but no URL handed out with the posts may work any
    // more. New keys come first, so a failure after them leaves nothing reachable.
    let shown_media: Vec<ObjectId> = posts::find_many(db, ids)
        .await?
        .iter()
        .flat_map(|p| p.media_ids.iter().copied())
        .collect();
    crate::media_keys::rekey(db, &shown_media).await?;
    let mut deleted = 0;
    for id in ids {
        if let Some(post) = posts::delete(db, *id).await? {
            deleted += 1;
            if counts_for_author(&post) {
                users::add_to_posts_count(db, post.author_id, -1).await?;
            }
        }
    }
    likes::delete_for_posts(db, ids).await?;
    comments::delete_for_posts(db, ids).await?;
    timelines::remove_posts(db, ids).await?;
    groups::remove_shares_of_posts(db, ids).await?;
    posts::delete_versions(db, ids).await?;
    post_stats::delete_for_posts(db, ids).await?;
    Ok(deleted)
}

/// Whether a post is in its author's public `posts_count` (API.md §6: counts shown to
/// others never include a private group's posts).
pub fn counts_for_author(post: &posts::PostDoc) -> bool {
    post.status == posts::PostStatus::Published && !post.group_private
}
