//! RealWorld objects: User, Profile, Article, Comment (camelCase), built a page at a time
//! with one `$in` per related kind (authors, follows, favourites).

use std::collections::{HashMap, HashSet};

use bson::oid::ObjectId;
use serde::Serialize;

use crate::api::state::AppState;
use crate::api::viewer::Viewer;
use crate::domain::rfc3339;
use crate::error::ApiError;
use crate::store::comments::CommentDoc;
use crate::store::likes::Liked;
use crate::store::posts::PostDoc;
use crate::store::users::UserDoc;
use crate::store::{follows, likes, users};

use super::slug_of;

/// The signed-in user, with the token to send as `Authorization: Token <token>`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    pub email: String,
    /// `null` from registration while the deployment requires a verified email address
    /// before signing in.
    pub token: Option<String>,
    pub username: String,
    pub bio: Option<String>,
    pub image: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserEnvelope {
    pub user: User,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub username: String,
    pub bio: Option<String>,
    pub image: Option<String>,
    pub following: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfileEnvelope {
    pub profile: Profile,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// Left out of lists, as the RealWorld spec has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Sorted by name.
    pub tag_list: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub favorited: bool,
    pub favorites_count: i64,
    pub author: Profile,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArticleEnvelope {
    pub article: Article,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArticleList {
    pub articles: Vec<Article>,
    pub articles_count: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// The comment's id (a string: Rookery ids are not numbers).
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub body: String,
    pub author: Profile,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentEnvelope {
    pub comment: Comment,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentList {
    pub comments: Vec<Comment>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagList {
    pub tags: Vec<String>,
}

/// An avatar as an absolute URL: a front end on another origin loads it as it is.
fn image_of(state: &AppState, user: &UserDoc) -> Option<String> {
    let url = user.avatar_url.as_deref()?;
    if url.starts_with('/') {
        Some(format!(
            "{}{url}",
            state.settings.server.public_url.trim_end_matches('/')
        ))
    } else {
        Some(url.to_owned())
    }
}

fn bio_of(user: &UserDoc) -> Option<String> {
    (!user.bio.is_empty()).then(|| user.bio.clone())
}

pub fn user(state: &AppState, user: &UserDoc, token: Option<String>) -> UserEnvelope {
    UserEnvelope {
        user: User {
            email: user.email.clone(),
            token,
            username: user.username.clone(),
            bio: bio_of(user),
            image: image_of(state, user),
        },
    }
}

pub fn profile(state: &AppState, user: &UserDoc, following: bool) -> Profile {
    Profile {
        username: user.username.clone(),
        bio: bio_of(user),
        image: image_of(state, user),
        following,
    }
}

/// Whether the viewer follows `user`.
pub async fn follows_user(
    state: &AppState,
    viewer: &Viewer,
    user: ObjectId,
) -> Result<bool, ApiError> {
    Ok(following_among(state, viewer, &[user])
        .await?
        .contains(&user))
}

async fn following_among(
    state: &AppState,
    viewer: &Viewer,
    ids: &[ObjectId],
) -> Result<HashSet<ObjectId>, ApiError> {
    match viewer.id() {
        Some(me) => Ok(follows::followed_among(&state.db, me, ids)
            .await?
            .into_iter()
            .collect()),
        None => Ok(HashSet::new()),
    }
}

/// Profiles of the authors of `ids`, relative to the viewer.
async fn profiles(
    state: &AppState,
    viewer: &Viewer,
    ids: impl Iterator<Item = ObjectId>,
) -> Result<HashMap<ObjectId, Profile>, ApiError> {
    let ids: Vec<ObjectId> = ids.collect::<HashSet<_>>().into_iter().collect();
    let (authors, following) = futures::try_join!(
        async {
            users::find_many(&state.db, &ids)
                .await
                .map_err(ApiError::from)
        },
        following_among(state, viewer, &ids),
    )?;
    Ok(authors
        .iter()
        .map(|u| (u.id, profile(state, u, following.contains(&u.id))))
        .collect())
}

/// Articles for `posts`, in order; a post whose author is gone is left out.
pub async fn articles(
    state: &AppState,
    viewer: &Viewer,
    posts: Vec<PostDoc>,
    with_body: bool,
) -> Result<Vec<Article>, ApiError> {
    let ids: Vec<ObjectId> = posts.iter().map(|p| p.id).collect();
    let (authors, liked) = futures::try_join!(
        profiles(state, viewer, posts.iter().map(|p| p.author_id)),
        async {
            match viewer.id() {
                Some(me) => likes::liked_among(&state.db, me, &ids)
                    .await
                    .map_err(ApiError::from),
                None => Ok(Liked::default()),
            }
        },
    )?;
    Ok(posts
        .into_iter()
        .filter_map(|mut post| {
            let author = authors.get(&post.author_id)?.clone();
            let favorited = liked.contains(&post.id);
            post.like_count = liked.like_count(&post);
            Some(article(post, author, favorited, with_body))
        })
        .collect())
}

pub fn article(post: PostDoc, author: Profile, favorited: bool, with_body: bool) -> Article {
    let mut tag_list = post.hashtags.clone();
    tag_list.sort();
    Article {
        slug: slug_of(&post),
        title: post.title,
        description: post.description,
        body: with_body.then_some(post.content),
        tag_list,
        created_at: rfc3339(post.published_at),
        updated_at: rfc3339(post.updated_at),
        favorited,
        favorites_count: post.like_count,
        author,
    }
}

/// One article, with its body.
pub async fn one_article(
    state: &AppState,
    viewer: &Viewer,
    post: PostDoc,
) -> Result<ArticleEnvelope, ApiError> {
    let article = articles(state, viewer, vec![post], true)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(ArticleEnvelope { article })
}

pub async fn comments(
    state: &AppState,
    viewer: &Viewer,
    comments: Vec<CommentDoc>,
) -> Result<Vec<Comment>, ApiError> {
    let authors = profiles(state, viewer, comments.iter().map(|c| c.author_id)).await?;
    Ok(comments
        .into_iter()
        .filter_map(|c| {
            Some(Comment {
                id: c.id.to_hex(),
                created_at: rfc3339(c.created_at),
                updated_at: rfc3339(c.updated_at),
                body: c.content,
                author: authors.get(&c.author_id)?.clone(),
            })
        })
        .collect())
}
