//! Posts, search, trending hashtags and post lists: API.md §4 and the post lists of §3.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use bson::DateTime;
use futures::TryFutureExt;
use serde::{Deserialize, Serialize};

use crate::api::auth::required;
use crate::api::extract::Json;
use crate::api::post_views::{liked_by, post_view, post_view_liked, post_views, PostView};
use crate::api::viewer::{visible_user, SignedIn, Viewer};
use crate::api::views::rfc3339;
use crate::auth::AuthUser;
use crate::cascade;
use crate::domain::posts::{
    hashtags, mention_candidates, normalise_tag, parse_body, parse_title, search_terms, CONTENT_MAX,
};
use crate::error::{ApiError, FieldErrors};
use crate::events::{self, Activity};
use crate::jobs::on_published;
use crate::pagination::{Page, PageParams, MAX_LIMIT};
use crate::startup::AppState;
use crate::store::groups::{GroupDoc, Visibility};
use crate::store::posts::{self, AuthorSnapshot, PostDoc, PostFilter, PostStatus, PostText};
use crate::store::{date_cursor, groups, media, users};

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Fixed paths before `/posts/{id}`, which would otherwise take them.
    cfg.service(
        web::resource("/posts")
            .route(web::get().to(list_posts))
            .route(web::post().to(create_post)),
    )
    .service(web::resource("/posts/search").route(web::get().to(search_posts)))
    .service(web::resource("/hashtags/trending").route(web::get().to(trending_hashtags)))
    .service(
        web::resource("/posts/{id}")
            .route(web::get().to(get_post))
            .route(web::patch().to(update_post))
            .route(web::put().to(update_post))
            .route(web::delete().to(delete_post)),
    )
    .service(web::resource("/posts/{id}/history").route(web::get().to(post_history)))
    .service(web::resource("/users/me/scheduled").route(web::get().to(my_scheduled_posts)))
    .service(web::resource("/users/{user}/posts").route(web::get().to(user_posts)));
}

/// The post `id` names, if the viewer may see it; otherwise `404`, so that neither a
/// scheduled post nor a blocked author's post reveals that it exists.
pub async fn visible_post(
    state: &AppState,
    id: &str,
    viewer: &Viewer,
) -> Result<PostDoc, ApiError> {
    let id = ObjectId::parse_str(id)?;
    posts::find(&state.db, id)
        .await?
        .filter(|post| viewer.can_see_post(post))
        .ok_or(ApiError::NotFound)
}

/// Whether the user is a moderator or an admin.
pub async fn is_staff(state: &AppState, user_id: ObjectId) -> Result<bool, ApiError> {
    Ok(users::find_by_id(&state.db, user_id)
        .await?
        .is_some_and(|u| u.role.is_staff()))
}

/// Title, content and what is derived from them; mentions keep only existing accounts.
async fn post_text(
    state: &AppState,
    author: &Viewer,
    title: String,
    content: String,
) -> Result<PostText, ApiError> {
    let candidates = mention_candidates(&title, &content);
    let found = users::find_by_username_keys(&state.db, &candidates).await?;
    // Nobody mentions across a block, either way (API.md §3).
    let mentions = candidates
        .iter()
        .filter_map(|key| found.iter().find(|u| &u.username_key == key))
        .filter(|u| !author.hides(u.id))
        .map(|u| u.username.clone())
        .collect();
    Ok(PostText {
        hashtags: hashtags(&title, &content),
        terms: search_terms(&[&title, &content]),
        mentions,
        title,
        content,
    })
}

pub const MEDIA_PER_POST: usize = 10;

/// `media_ids` as sent: each must name one of the author's own uploads (API.md §5).
async fn parse_media_ids(
    state: &AppState,
    errors: &mut FieldErrors,
    author: ObjectId,
    raw: &Option<Vec<String>>,
) -> Result<Option<Vec<ObjectId>>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    if raw.len() > MEDIA_PER_POST {
        errors.add(
            "media_ids",
            format!("Attach at most {MEDIA_PER_POST} files."),
        );
        return Ok(None);
    }
    const NOT_YOURS: &str = "Each media id must name one of your own uploads.";
    let mut ids: Vec<ObjectId> = Vec::with_capacity(raw.len());
    for raw_id in raw {
        let Ok(id) = ObjectId::parse_str(raw_id.trim()) else {
            errors.add("media_ids", NOT_YOURS);
            return Ok(None);
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let owned = media::count_owned(&state.db, author, &ids).await?;
    if usize::try_from(owned).ok() != Some(ids.len()) {
        errors.add("media_ids", NOT_YOURS);
        return Ok(None);
    }
    Ok(Some(ids))
}

/// The group a new post goes to: it must exist and the author must belong to it.
async fn member_group(
    state: &AppState,
    errors: &mut FieldErrors,
    author: ObjectId,
    raw: &str,
) -> Result<Option<GroupDoc>, ApiError> {
    let Ok(id) = ObjectId::parse_str(raw.trim()) else {
        errors.add("group_id", NOT_A_MEMBER);
        return Ok(None);
    };
    let group = groups::find(&state.db, id).await?;
    let is_member = groups::membership(&state.db, id, author).await?.is_some();
    match group {
        Some(group) if is_member => Ok(Some(group)),
        _ => {
            errors.add("group_id", NOT_A_MEMBER);
            Ok(None)
        }
    }
}

const NOT_A_MEMBER: &str = "No such group, or you are not a member.";

#[derive(Deserialize, utoipa::ToSchema)]
struct CreatePostRequest {
    /// Up to 200 characters.
    #[schema(example = "Sunday walk")]
    title: Option<String>,
    /// 1–10 000 characters; `#tags` and `@mentions` in it are found.
    #[schema(value_type = String, required = true, example = "Down by the river #spring with @bob")]
    content: Option<String>,
    /// Up to 10 of the author's own uploads (`POST /api/media`).
    media_ids: Option<Vec<String>>,
    /// A group the author belongs to.
    group_id: Option<String>,
    /// RFC 3339, in the future: the post stays `scheduled` until then.
    #[schema(example = "2030-01-01T09:00:00Z")]
    publish_at: Option<String>,
}

fn parse_publish_at(raw: &str) -> Result<DateTime, String> {
    let at = chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| "Enter a valid RFC 3339 date-time, e.g. 2026-11-22T10:15:30Z.".to_owned())?;
    let at = DateTime::from_chrono(at.with_timezone(&chrono::Utc));
    if at <= DateTime::now() {
        return Err("The publication time must be in the future.".into());
    }
    Ok(at)
}

/// Write a post
///
/// With `publish_at` in the future it is `scheduled` and appears then.
#[utoipa::path(
    post,
    path = "/api/posts",
    tag = "posts",
    request_body = CreatePostRequest,
    responses(
        (status = 201, description = "The post.", body = crate::api::post_views::PostView),
    ),
    security(("bearerAuth" = []))
)]
async fn create_post(
    state: State,
    SignedIn {
        viewer: author,
        me: auth,
    }: SignedIn,
    Json(body): Json<CreatePostRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let title = errors.check("title", parse_title(body.title.as_deref().unwrap_or("")));
    let content = required(&mut errors, "content", &body.content)
        .and_then(|raw| errors.check("content", parse_body(raw, CONTENT_MAX)));
    let media_ids = parse_media_ids(&state, &mut errors, auth.user_id, &body.media_ids).await?;
    let group = match &body.group_id {
        Some(raw) => member_group(&state, &mut errors, auth.user_id, raw).await?,
        None => None,
    };
    let publish_at = body
        .publish_at
        .as_deref()
        .and_then(|raw| errors.check("publish_at", parse_publish_at(raw)));
    errors.into_result()?;
    let (Some(title), Some(content)) = (title, content) else {
        return Err(ApiError::internal("validated post lost a field"));
    };
    let author_doc = auth.load(&state).await?;
    let text = post_text(&state, &author, title, content).await?;
    let now = DateTime::now();
    let post = PostDoc {
        id: ObjectId::new(),
        author_id: auth.user_id,
        title: text.title,
        content: text.content,
        hashtags: text.hashtags,
        mentions: text.mentions,
        terms: text.terms,
        media_ids: media_ids.unwrap_or_default(),
        group_id: group.as_ref().map(|g| g.id),
        group_private: group
            .as_ref()
            .is_some_and(|g| g.visibility == Visibility::Private),
        hidden: false,
        status: if publish_at.is_some() {
            PostStatus::Scheduled
        } else {
            PostStatus::Published
        },
        publish_at,
        published_at: publish_at.unwrap_or(now),
        like_count: 0,
        comment_count: 0,
        view_count: 0,
        created_at: now,
        updated_at: now,
        edited: false,
        author: Some(AuthorSnapshot::of(&author_doc)),
    };
    posts::insert(&state.db, &post).await?;
    if let Some(group) = &group {
        groups::share(&state.db, group.id, post.id, auth.user_id).await?;
    }
    events::record(
        &state,
        auth.user_id,
        Activity::on("post.create", "post", post.id),
    );
    if post.status == PostStatus::Published {
        on_published(&state, &post).await?;
    }
    let view = post_view(&state, Some(auth.user_id), post).await?;
    Ok(HttpResponse::Created().json(view))
}

async fn posts_page(
    state: &AppState,
    req: &HttpRequest,
    params: PageParams,
    viewer: &Viewer,
    mut filter: PostFilter,
) -> Result<HttpResponse, ApiError> {
    filter.hidden_authors = viewer.hidden();
    let items = posts::page_listed(
        &state.db,
        &state.list_horizon,
        &filter,
        params.cursor,
        params.fetch_limit(),
    )
    .await?;
    page_of_posts(state, req, params, viewer.id(), items, |p| {
        date_cursor(p.published_at, p.id)
    })
    .await
}

/// A page of post views from `fetch_limit()` documents.
async fn page_of_posts(
    state: &AppState,
    req: &HttpRequest,
    params: PageParams,
    viewer: Option<ObjectId>,
    items: Vec<PostDoc>,
    cursor_of: impl Fn(&PostDoc) -> crate::pagination::Cursor,
) -> Result<HttpResponse, ApiError> {
    let page = Page::from_items(req, params, items, cursor_of, |p| p);
    let results = post_views(state, viewer, page.results).await?;
    Ok(Page {
        results,
        next: page.next,
    }
    .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only this user's posts (id or username).
    author: Option<String>,
    /// Only posts with this hashtag (`#` optional, any case).
    hashtag: Option<String>,
}

fn tag_filter(raw: Option<&str>) -> Result<Option<String>, ApiError> {
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
        (status = 200, description = "A page of posts.", body = Page<crate::api::post_views::PostView>),
    ),
    security((), ("bearerAuth" = []))
)]
async fn list_posts(
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
            Some(user) => filter.author_id = Some(user.id),
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
struct SearchQuery {
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
        (status = 200, description = "A page of posts, newest first.", body = Page<crate::api::post_views::PostView>),
    ),
    security((), ("bearerAuth" = []))
)]
async fn search_posts(
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
struct TrendingQuery {
    /// How many, 1..100 (default 10).
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TrendingView {
    tag: String,
    posts: i64,
    last_used_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TrendingList {
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
async fn trending_hashtags(
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
    let since = DateTime::from_millis(DateTime::now().timestamp_millis() - window_ms);
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
        (status = 200, description = "The post.", body = crate::api::post_views::PostView),
    ),
    security((), ("bearerAuth" = []))
)]
async fn get_post(
    state: State,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = ObjectId::parse_str(path.as_str())?;
    // The viewer's like is asked for alongside the post: one round trip, not two.
    let (ids, hidden, groups) = ([id], viewer.hidden(), viewer.private_groups());
    let (counted, liked) = futures::try_join!(
        posts::find_counting_view(&state.db, id, viewer.id(), &hidden, &groups)
            .err_into::<ApiError>(),
        liked_by(&state, viewer.id(), &ids),
    )?;
    let post = match counted {
        Some(post) => {
            state.views.record(post.id, viewer.id());
            post
        }
        None => visible_post(&state, path.as_str(), &viewer).await?,
    };
    Ok(HttpResponse::Ok().json(post_view_liked(&state, post, liked).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UpdatePostRequest {
    title: Option<String>,
    content: Option<String>,
    media_ids: Option<Vec<String>>,
}

/// Edit a post (its author only)
///
/// The earlier version is kept in its history.
#[utoipa::path(
    patch,
    path = "/api/posts/{id}",
    tag = "posts",
    request_body = UpdatePostRequest,
    responses(
        (status = 200, description = "The post, changed.", body = crate::api::post_views::PostView),
        (status = 403, description = "`permission_denied`: not its author."),
    ),
    security(("bearerAuth" = []))
)]
async fn update_post(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
    Json(body): Json<UpdatePostRequest>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    if post.author_id != auth.user_id {
        return Err(ApiError::permission_denied());
    }
    let mut errors = FieldErrors::new();
    let title = match &body.title {
        Some(raw) => errors.check("title", parse_title(raw)),
        None => Some(post.title.clone()),
    };
    let content = match &body.content {
        Some(raw) => errors.check("content", parse_body(raw, CONTENT_MAX)),
        None => Some(post.content.clone()),
    };
    let media_ids = parse_media_ids(&state, &mut errors, auth.user_id, &body.media_ids).await?;
    errors.into_result()?;
    let (Some(title), Some(content)) = (title, content) else {
        return Err(ApiError::internal("validated edit lost a field"));
    };
    let mut updated = post;
    if let Some(media_ids) = media_ids.filter(|ids| *ids != updated.media_ids) {
        updated = posts::set_media(&state.db, updated.id, media_ids)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    if title != updated.title || content != updated.content {
        let text = post_text(&state, &viewer, title, content).await?;
        updated = posts::update_text(&state.db, &updated, text)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    events::record(
        &state,
        auth.user_id,
        Activity::on("post.update", "post", updated.id),
    );
    Ok(HttpResponse::Ok().json(post_view(&state, Some(auth.user_id), updated).await?))
}

/// Delete a post
///
/// Its author, a moderator or an admin may; its likes, comments and versions go with it.
#[utoipa::path(
    delete,
    path = "/api/posts/{id}",
    tag = "posts",
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`."),
    ),
    security(("bearerAuth" = []))
)]
async fn delete_post(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = visible_post(&state, &path, &viewer).await?;
    if post.author_id != auth.user_id && !is_staff(&state, auth.user_id).await? {
        return Err(ApiError::permission_denied());
    }
    if cascade::remove_posts(&state, &[post.id]).await? == 0 {
        return Err(ApiError::NotFound);
    }
    events::record(
        &state,
        auth.user_id,
        Activity::on("post.delete", "post", post.id),
    );
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, utoipa::ToSchema)]
struct VersionView {
    title: String,
    content: String,
    edited_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct VersionList {
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
async fn post_history(
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
        (status = 200, description = "A page of posts.", body = Page<crate::api::post_views::PostView>),
    ),
    security((), ("bearerAuth" = []))
)]
async fn user_posts(
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
        (status = 200, description = "A page of posts.", body = Page<crate::api::post_views::PostView>),
    ),
    security(("bearerAuth" = []))
)]
async fn my_scheduled_posts(
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
