//! Post and Comment objects, built a page at a time with one `$in` per related
//! kind (authors, the viewer's likes), never one query per item.

use std::collections::{HashMap, HashSet};

use bson::oid::ObjectId;
use futures::TryFutureExt;
use serde::Serialize;

use crate::db::Db;
use crate::error::ApiError;
use crate::store::comments::CommentDoc;
use crate::store::likes::Liked;
use crate::store::media::MediaStatus;
use crate::store::posts::{PostDoc, PostStatus};
use crate::store::{likes, media, users};
use crate::views::{rfc3339, MediaView, UserMini};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PostView {
    pub id: String,
    pub title: String,
    pub content: String,
    pub author: UserMini,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub media: Vec<MediaView>,
    pub group_id: Option<String>,
    pub status: PostStatus,
    pub publish_at: Option<String>,
    pub like_count: i64,
    pub comment_count: i64,
    pub view_count: i64,
    pub liked_by_me: bool,
    /// When the post appeared: for a scheduled post, its publication time ("as if posted
    /// then", API.md §4).
    pub created_at: String,
    pub updated_at: String,
    pub edited: bool,
}

impl PostView {
    fn new(post: PostDoc, author: UserMini, liked_by_me: bool, media: Vec<MediaView>) -> Self {
        Self {
            id: post.id.to_hex(),
            title: post.title,
            content: post.content,
            author,
            hashtags: post.hashtags,
            mentions: post.mentions,
            media,
            group_id: post.group_id.map(|id| id.to_hex()),
            status: post.status,
            publish_at: post.publish_at.map(rfc3339),
            like_count: post.like_count,
            comment_count: post.comment_count,
            view_count: post.view_count,
            liked_by_me,
            created_at: rfc3339(post.published_at),
            updated_at: rfc3339(post.updated_at),
            edited: post.edited,
        }
    }
}

/// The authors of `ids`, by id.
pub async fn minis(
    db: &Db,
    ids: impl Iterator<Item = ObjectId>,
) -> Result<HashMap<ObjectId, UserMini>, ApiError> {
    let ids: Vec<ObjectId> = ids.collect::<HashSet<_>>().into_iter().collect();
    Ok(users::find_many(db, &ids)
        .await?
        .iter()
        .map(|u| (u.id, UserMini::new(u)))
        .collect())
}

/// Views of `posts` for `viewer`, in the same order. A post whose author is gone is left
/// out rather than shown without one.
pub async fn post_views(
    db: &Db,
    viewer: Option<ObjectId>,
    posts: Vec<PostDoc>,
) -> Result<Vec<PostView>, ApiError> {
    let ids: Vec<ObjectId> = posts.iter().map(|p| p.id).collect();
    let liked = liked_by(db, viewer, &ids).await?;
    post_views_liked(db, posts, liked).await
}

/// Which of `post_ids` `viewer` likes; none for an anonymous reader. Callers that know the
/// ids before they have the posts ask for this alongside them (`post_views_liked`).
pub async fn liked_by(
    db: &Db,
    viewer: Option<ObjectId>,
    post_ids: &[ObjectId],
) -> Result<Liked, ApiError> {
    Ok(match viewer {
        Some(viewer) => likes::liked_among(db, viewer, post_ids).await?,
        None => Liked::default(),
    })
}

/// `post_views` with the viewer's likes already known.
pub async fn post_views_liked(
    db: &Db,
    posts: Vec<PostDoc>,
    liked: Liked,
) -> Result<Vec<PostView>, ApiError> {
    // Authors come with the posts; only posts stored before that look theirs up. Only pages
    // that show media pay for that lookup. Both are usually no command at all.
    let media_ids: Vec<ObjectId> = posts
        .iter()
        .flat_map(|p| p.media_ids.iter().copied())
        .collect();
    let (authors, files) = futures::try_join!(
        minis(
            db,
            posts
                .iter()
                .filter(|p| p.author.is_none())
                .map(|p| p.author_id),
        ),
        media::find_many(db, &media_ids).err_into::<ApiError>(),
    )?;
    // A post shows its media once they are ready: never a video still being processed
    // (its original may carry metadata) nor one that failed.
    let files: HashMap<ObjectId, MediaView> = files
        .iter()
        .filter(|m| m.metadata.status == MediaStatus::Ready)
        .map(|m| (m.id, MediaView::new(m)))
        .collect();
    Ok(posts
        .into_iter()
        .filter_map(|mut post| {
            post.like_count = liked.like_count(&post);
            let author = match &post.author {
                Some(snapshot) => UserMini {
                    id: post.author_id.to_hex(),
                    username: snapshot.username.clone(),
                    full_name: snapshot.full_name.clone(),
                    avatar_url: snapshot.avatar_url.clone(),
                },
                None => authors.get(&post.author_id)?.clone(),
            };
            let liked_by_me = liked.contains(&post.id);
            let media = post
                .media_ids
                .iter()
                .filter_map(|id| files.get(id).cloned())
                .collect();
            Some(PostView::new(post, author, liked_by_me, media))
        })
        .collect())
}

pub async fn post_view(
    db: &Db,
    viewer: Option<ObjectId>,
    post: PostDoc,
) -> Result<PostView, ApiError> {
    let liked = liked_by(db, viewer, &[post.id]).await?;
    post_view_liked(db, post, liked).await
}

/// `post_view` with the viewer's like already known.
pub async fn post_view_liked(db: &Db, post: PostDoc, liked: Liked) -> Result<PostView, ApiError> {
    post_views_liked(db, vec![post], liked)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    pub id: String,
    pub post_id: String,
    pub author: UserMini,
    pub content: String,
    pub created_at: String,
    pub updated_at: String,
}

impl CommentView {
    pub fn new(comment: CommentDoc, author: UserMini) -> Self {
        Self {
            id: comment.id.to_hex(),
            post_id: comment.post_id.to_hex(),
            author,
            content: comment.content,
            created_at: rfc3339(comment.created_at),
            updated_at: rfc3339(comment.updated_at),
        }
    }
}

/// Views of `comments`, their authors looked up in one query; a comment whose author is
/// gone is left out.
pub async fn comment_views(
    db: &Db,
    comments: Vec<CommentDoc>,
) -> Result<Vec<CommentView>, ApiError> {
    let authors = minis(db, comments.iter().map(|c| c.author_id)).await?;
    Ok(comments
        .into_iter()
        .filter_map(|c| {
            let author = authors.get(&c.author_id)?.clone();
            Some(CommentView::new(c, author))
        })
        .collect())
}
