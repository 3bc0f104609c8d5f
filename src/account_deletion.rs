//! `DELETE /api/users/me` (API.md §3): the account and everything it owns go, and every
//! other account's counters stay exact. Sessions go first (the user is signed out at once)
//! and the user document last, so a deletion interrupted half-way can simply be retried.

use bson::oid::ObjectId;

use crate::auth::sessions::revoke_all_sessions;
use crate::cascade::remove_posts;
use crate::db::Db;
use crate::error::ApiError;
use crate::store::{
    activities, add_to_counter_of_many, blocks, comments, follows, groups, likes, media,
    notifications, posts, timelines, tokens, users,
};

pub async fn delete_account(db: &Db, user: ObjectId) -> Result<(), ApiError> {
    revoke_all_sessions(db, user).await?;

    // Their posts, and everything pointing at them.
    let own_posts = posts::ids_by_author(db, user).await?;
    remove_posts(db, &own_posts).await?;

    // Their likes and comments on other people's posts, with those posts' counters.
    let liked = likes::post_ids_liked_by(db, user).await?;
    add_to_counter_of_many(
        crate::store::posts::collection(db),
        &liked,
        "like_count",
        -1,
    )
    .await?;
    likes::delete_by_user(db, user).await?;
    for (post, count) in comments::counts_by_post_of_author(db, user).await? {
        posts::add_to_counter(db, post, "comment_count", -count).await?;
    }
    comments::delete_by_author(db, user).await?;

    // Follows both ways, with the other side's counters; blocks; feed entries.
    let (followees, followers) = follows::delete_all_of(db, user).await?;
    add_to_counter_of_many(
        crate::store::users::collection(db),
        &followees,
        "followers_count",
        -1,
    )
    .await?;
    add_to_counter_of_many(
        crate::store::users::collection(db),
        &followers,
        "following_count",
        -1,
    )
    .await?;
    blocks::delete_all_of(db, user).await?;
    for group in groups::ids_owned_by(db, user).await? {
        remove_posts(db, &posts::ids_in_group(db, group).await?).await?;
        groups::delete(db, group).await?;
    }
    groups::leave_all(db, user).await?;
    timelines::remove_user(db, user).await?;
    tokens::delete_all_for_user(db, user).await?;
    notifications::delete_for_user(db, user).await?;
    activities::delete_for_user(db, user).await?;
    for file in media::ids_of_owner(db, user).await? {
        media::delete(db, file).await?;
    }
    users::delete(db, user).await?;
    Ok(())
}
