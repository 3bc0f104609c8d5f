//! Reading posts: one post, its history, the public list, search, trending hashtags,
//! a user's posts and one's scheduled posts.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::api::auth_user::AuthUser;
use crate::api::viewer::PostRead;
use crate::api::viewer::{visible_post, visible_user, Viewer};
use crate::domain::posts::{normalise_tag, search_terms};
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Page, PageParams, MAX_LIMIT};
use crate::store::posts::{self, PostFilter, PostStatus};
use crate::store::{date_cursor, users};
use crate::views::posts::{post_view_liked, PostView};
use crate::views::rfc3339;

use super::*;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this user's posts (id or username).
    author: Option<String>,
    /// Only posts with this hashtag (`#` optional, any case).
    hashtag: Option<String>,
}

pub(super) fn tag_filter(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|raw| {
        normalise_tag(raw)
            .ok_or_else(|| FieldErrors::single("hashtag", "Enter a hashtag such as #rust."))
    })
    .transpose()
}

/// Published posts of all authors, newest first
#[utoipa::path(
    get,
    path = "/api/posts",
    tag = "posts",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of posts.", body = Page<crate::views::posts::PostView>),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn list_posts(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut filter = PostFilter {
        hashtag: tag_filter(query.hashtag.as_deref())?,
        ..PostFilter::default()
    };
    if let Some(author) = &query.author {
        match users::find_by_ref(&state.db, author).await? {
            Some(user) => {
                filter.author_id = Some(user.id);
                filter.author_posts = Some(user.posts_count);
            }
            None => {
                return Ok(Page::<PostView> {
                    results: Vec::new(),
                    next: None,
                }
                .into_response())
            }
        }
    }
    posts_page(&state, &req, params, &viewer, filter).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// Posts with this hashtag (`#` optional, any case).
    hashtag: Option<String>,
    /// Posts containing all these words.
    q: Option<String>,
}

/// Search posts by hashtag or words
///
/// Give `hashtag` or `q`.
#[utoipa::path(
    get,
    path = "/api/posts/search",
    tag = "posts",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of posts, newest first.", body = Page<crate::views::posts::PostView>),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn search_posts(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let terms = query
        .q
        .as_deref()
        .map(|q| search_terms(&[q]))
        .unwrap_or_default();
    if query.q.is_some() && terms.is_empty() {
        return Err(FieldErrors::single(
            "q",
            "Enter at least one word to search for.",
        ));
    }
    let filter = PostFilter {
        hashtag: tag_filter(query.hashtag.as_deref())?,
        terms,
        ..PostFilter::default()
    };
    if filter.hashtag.is_none() && filter.terms.is_empty() {
        return Err(FieldErrors::single(
            "q",
            "Search by hashtag= or by q= (words).",
        ));
    }
    posts_page(&state, &req, params, &viewer, filter).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TrendingQuery {
    /// How many, 1..100 (default 10).
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TrendingView {
    tag: String,
    posts: i64,
    last_used_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TrendingList {
    results: Vec<TrendingView>,
}

/// Trending hashtags over the last 24 hours
#[utoipa::path(
    get,
    path = "/api/hashtags/trending",
    tag = "posts",
    params(TrendingQuery),
    responses(
        (status = 200, description = "Tags, most used first.", body = TrendingList),
    )
)]
pub(crate) async fn trending_hashtags(
    state: State,
    query: web::Query<TrendingQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(FieldErrors::single(
            "limit",
            format!("Ensure this value is a whole number from 1 to {MAX_LIMIT}."),
        ));
    }
    let window_ms = state
        .settings
        .posts
        .trending_window_hours
        .saturating_mul(3_600_000);
    let since = crate::store::millis_from_now(-window_ms);
    let results = posts::trending(&state.db, since, limit)
        .await?
        .into_iter()
        .map(|t| TrendingView {
            tag: t.tag,
            posts: t.posts,
            last_used_at: rfc3339(t.last_used_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(TrendingList { results }))
}

/// A post
///
/// Counts one view when the viewer is not the author.
#[utoipa::path(
    get,
    path = "/api/posts/{id}",
    tag = "posts",
    responses(
        (status = 200, description = "The post.", body = crate::views::posts::PostView),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn get_post(state: State, read: PostRead) -> Result<HttpResponse, ApiError> {
    let PostRead {
        viewer,
        id,
        post,
        liked,
    } = read;
    let post = match post {
        Some(post) => Some(post),
        // Anonymous: a published post outside private groups, in one command.
        None if viewer.id().is_none() => posts::find_public(&state.db, id).await?,
        None => None,
    };
    let mut post = post
        .filter(|post| viewer.can_see_post(post))
        .ok_or(ApiError::NotFound)?;
    // A view by anyone but its author counts; `view_count` moves with the instance's next
    // batch of views (`view_counter`), and this reader sees theirs in it now.
    if post.status == PostStatus::Published && Some(post.author_id) != viewer.id() {
        state.views.record(post.id, viewer.id());
        post.view_count += 1;
    }
    Ok(HttpResponse::Ok().json(post_view_liked(&state.db, post, liked).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct VersionView {
    title: String,
    content: String,
    edited_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct VersionList {
    results: Vec<VersionView>,
}

/// A post's earlier versions, newest first
#[utoipa::path(
    get,
    path = "/api/posts/{id}/history",
    tag = "posts",
    responses(
        (status = 200, description = "Earlier versions.", body = VersionList),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn post_history(
    state: State,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    let results = posts::versions(&state.db, post.id)
        .await?
        .into_iter()
        .map(|v| VersionView {
            title: v.title,
            content: v.content,
            edited_at: rfc3339(v.edited_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(VersionList { results }))
}

/// A user's published posts, newest first
#[utoipa::path(
    get,
    path = "/api/users/{user}/posts",
    tag = "posts",
    responses(
        (status = 200, description = "A page of posts.", body = Page<crate::views::posts::PostView>),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn user_posts(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = visible_user(&state, &path, &viewer).await?;
    let filter = PostFilter {
        author_id: Some(user.id),
        ..PostFilter::default()
    };
    posts_page(&state, &req, params, &viewer, filter).await
}

/// The viewer's scheduled posts, soonest first
#[utoipa::path(
    get,
    path = "/api/users/me/scheduled",
    tag = "posts",
    responses(
        (status = 200, description = "A page of posts.", body = Page<crate::views::posts::PostView>),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn my_scheduled_posts(
    state: State,
    auth: AuthUser,
    req: HttpRequest,
    params: PageParams,
) -> Result<HttpResponse, ApiError> {
    let items =
        posts::page_scheduled(&state.db, auth.user_id, params.cursor, params.fetch_limit()).await?;
    page_of_posts(&state, &req, params, Some(auth.user_id), items, |p| {
        date_cursor(p.published_at, p.id)
    })
    .await
}
