//! RealWorld articles (Rookery posts), favourites (likes), the feed and tags.
//!
//! Lists are offset-paginated, as RealWorld clients page: the first `offset + limit`
//! posts in the index order the native keyset pages read (`published_at`, `_id`, newest
//! first), through the same windows (`posts::page_listed_at`), less the first `offset`.
//! `offset` is bounded (`MAX_OFFSET`; the feed `FEED_MAX_OFFSET`) like a page size.
//! `articlesCount` counts the same filter from the same index (the unfiltered list's is
//! the public list's count, `posts::ListCount`).

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;

use crate::api::extract::{required, Json};
use crate::api::state::AppState;
use crate::api::viewer::{visible_post, PostAction, SignedIn, SignedInAccount, Viewer};
use crate::core::likes::{like, unlike};
use crate::core::posts::{edit_post, remove_post, write_post, Draft, OwnPost, PostEdit};
use crate::domain::accounts::parse_text;
use crate::domain::posts::{parse_body, parse_title, CONTENT_MAX};
use crate::error::{ApiError, FieldErrors};
use crate::feed::{home_feed, FeedPage};
use crate::store::posts::{self, PostDoc, PostFilter};
use crate::store::{likes, timelines, users};

use super::views::{self, ArticleEnvelope, ArticleList, TagList};
use super::{post_id_of_slug, unwrap, OffsetParams};

type State = web::Data<AppState>;

pub const DESCRIPTION_MAX: usize = 1000;
pub const TAGS_MAX: usize = 10;
pub const TAG_MAX_CHARS: usize = 50;
/// The feed merges several sources, so an offset page reads `offset + limit` entries.
pub const FEED_MAX_OFFSET: u64 = 1000;
/// `GET /tags`: the most used tags of this many days.
pub const TAG_WINDOW_DAYS: i64 = 30;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// Only articles by this username.
    pub author: Option<String>,
    /// Only articles this username favourited, most recently favourited first.
    pub favorited: Option<String>,
}

fn list(articles: Vec<views::Article>, articles_count: u64) -> HttpResponse {
    HttpResponse::Ok().json(ArticleList {
        articles,
        articles_count,
    })
}

/// A tag as stored and matched: trimmed, without a leading `#`, lowercased.
fn parse_tag(raw: &str) -> Result<String, String> {
    let tag = raw.trim().trim_start_matches('#').trim().to_lowercase();
    if tag.is_empty() || tag.chars().count() > TAG_MAX_CHARS || tag.chars().any(char::is_control) {
        return Err(format!(
            "each tag must have 1 to {TAG_MAX_CHARS} characters"
        ));
    }
    Ok(tag)
}

fn parse_tags(raw: &[String]) -> Result<Vec<String>, String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = parse_tag(tag)?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > TAGS_MAX {
        return Err(format!("at most {TAGS_MAX} tags"));
    }
    Ok(tags)
}

/// Recent articles
///
/// Newest first, filtered by `tag`, `author` and `favorited`. Articles of accounts
/// blocked either way, of private groups, scheduled or hidden by reports are never listed.
#[utoipa::path(
    get,
    path = "/realworld/api/articles",
    tag = "realworld",
    operation_id = "realworld_list_articles",
    params(ArticleQuery, OffsetParams),
    responses((status = 200, description = "A page of articles (without `body`).", body = ArticleList)),
    security((), ("realWorldToken" = []))
)]
pub(crate) async fn list_articles(
    state: State,
    viewer: Viewer,
    query: web::Query<ArticleQuery>,
    page: web::Query<OffsetParams>,
) -> Result<HttpResponse, ApiError> {
    let (offset, limit) = page.parse()?;
    let mut filter = PostFilter {
        hidden_authors: viewer.hidden(),
        ..PostFilter::default()
    };
    if let Some(tag) = query.tag.as_deref().filter(|t| !t.trim().is_empty()) {
        match parse_tag(tag) {
            Ok(tag) => filter.hashtag = Some(tag),
            Err(_) => return Ok(list(Vec::new(), 0)),
        }
    }
    if let Some(author) = query.author.as_deref().filter(|a| !a.trim().is_empty()) {
        match users::find_by_ref(&state.db, author.trim()).await? {
            Some(user) => filter.author_id = Some(user.id),
            None => return Ok(list(Vec::new(), 0)),
        }
    }
    if let Some(fan) = query.favorited.as_deref().filter(|f| !f.trim().is_empty()) {
        // Whom the viewer blocked, or who blocked them, is found by no filter.
        let Some(fan) = users::find_by_ref(&state.db, fan.trim())
            .await?
            .filter(|fan| !viewer.hides(fan.id))
        else {
            return Ok(list(Vec::new(), 0));
        };
        return favorited_by(&state, &viewer, &filter, fan.id, offset, limit).await;
    }
    // The unfiltered list's count is the public list's, counted at most every few
    // seconds (`posts::ListCount`); a filtered one is counted through its own index.
    let count = async {
        if filter.is_public_list() {
            state.list_count.get(&state.db).await
        } else {
            posts::count_published(&state.db, &filter).await
        }
    };
    let (found, count) = futures::try_join!(
        posts::page_listed_at(
            &state.db,
            &state.list_horizon,
            &state.feed.first_pages,
            &filter,
            offset,
            limit
        ),
        count,
    )?;
    let shown: Vec<PostDoc> = found
        .into_iter()
        .filter(|p| viewer.can_list_post(p))
        .collect();
    // Never fewer than the pages up to this one have shown (a count a few seconds old).
    let count = count.max(offset.saturating_add(shown.len() as u64));
    Ok(list(
        views::articles(&state, &viewer, shown, false).await?,
        count,
    ))
}

/// Favourites looked at for one `favorited=` list: the newest this many.
const FAVORITED_MAX: i64 = 10_000;

/// The articles `fan` favourited, most recently first; `filter` narrows the page. The
/// count and the page both come from the favourites the viewer may see listed (not of
/// a private group, hidden by reports, unpublished or by someone hidden from them), so
/// `articlesCount` tells nothing about the others.
async fn favorited_by(
    state: &AppState,
    viewer: &Viewer,
    filter: &PostFilter,
    fan: ObjectId,
    offset: u64,
    limit: i64,
) -> Result<HttpResponse, ApiError> {
    let ids = likes::liked_newest_first(&state.db, fan, FAVORITED_MAX).await?;
    let mut by_id: HashMap<ObjectId, PostDoc> = posts::find_many(&state.db, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let listed: Vec<PostDoc> = ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .filter(|p| viewer.can_list_post(p))
        .filter(|p| filter.author_id.is_none_or(|a| a == p.author_id))
        .filter(|p| {
            filter
                .hashtag
                .as_ref()
                .is_none_or(|t| p.hashtags.contains(t))
        })
        .collect();
    let count = u64::try_from(listed.len()).unwrap_or(u64::MAX);
    let shown = listed
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    Ok(list(
        views::articles(state, viewer, shown, false).await?,
        count,
    ))
}

/// Articles of followed users
///
/// The signed-in user's home feed (it also holds their own articles), newest first;
/// `offset` up to 1000.
#[utoipa::path(
    get,
    path = "/realworld/api/articles/feed",
    tag = "realworld",
    operation_id = "realworld_feed",
    params(OffsetParams),
    responses((status = 200, description = "A page of articles (without `body`).", body = ArticleList)),
    security(("realWorldToken" = []))
)]
pub(crate) async fn feed(
    state: State,
    SignedIn { viewer, me }: SignedIn,
    page: web::Query<OffsetParams>,
) -> Result<HttpResponse, ApiError> {
    let (offset, limit) = page.parse()?;
    if offset > FEED_MAX_OFFSET {
        return Err(FieldErrors::single(
            "offset",
            format!("the feed pages up to offset {FEED_MAX_OFFSET}"),
        ));
    }
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let fetch = i64::try_from(offset)
        .unwrap_or(i64::MAX)
        .saturating_add(limit);
    let (FeedPage { posts: found, .. }, count) =
        futures::try_join!(home_feed(&state.feed, me.user_id, None, fetch), async {
            timelines::count(&state.db, me.user_id)
                .await
                .map_err(ApiError::from)
        },)?;
    let shown: Vec<PostDoc> = found
        .into_iter()
        .skip(offset)
        .filter(|p| viewer.can_list_post(p))
        .collect();
    let count = count.max((offset + shown.len()) as u64);
    Ok(list(
        views::articles(&state, &viewer, shown, false).await?,
        count,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewArticle {
    /// Up to 200 characters.
    #[schema(value_type = String, required = true, example = "How to train your dragon")]
    title: Option<String>,
    /// Up to 1000 characters.
    #[schema(value_type = String, required = true, example = "Ever wonder how?")]
    description: Option<String>,
    /// 1–10 000 characters; `#tags` and `@mentions` in it count as in a post.
    #[schema(value_type = String, required = true, example = "Very carefully.")]
    body: Option<String>,
    /// Up to 10 tags of up to 50 characters; stored lowercased.
    #[schema(example = json!(["dragons", "training"]))]
    tag_list: Option<Vec<String>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewArticleRequest {
    #[schema(value_type = NewArticle, required = true)]
    article: Option<NewArticle>,
}

fn parse_description(raw: &str) -> Result<String, String> {
    parse_body(raw, DESCRIPTION_MAX)
        .map_err(|_| "can't be blank".to_owned())
        .and_then(|d| parse_text(&d, DESCRIPTION_MAX))
}

/// Create an article
///
/// A post with a `description` and explicit tags: it appears in feeds, lists and
/// searches as any post does.
#[utoipa::path(
    post,
    path = "/realworld/api/articles",
    tag = "realworld",
    operation_id = "realworld_create_article",
    request_body = NewArticleRequest,
    responses((status = 201, description = "The article.", body = ArticleEnvelope)),
    security(("realWorldToken" = []))
)]
pub(crate) async fn create(
    state: State,
    SignedInAccount {
        viewer, account, ..
    }: SignedInAccount,
    Json(body): Json<NewArticleRequest>,
) -> Result<HttpResponse, ApiError> {
    let article = unwrap(body.article, "article")?;
    let mut errors = FieldErrors::new();
    let title = required(&mut errors, "title", &article.title)
        .and_then(|raw| errors.check("title", parse_body(raw, 200).and_then(|t| parse_title(&t))));
    let description = required(&mut errors, "description", &article.description)
        .and_then(|raw| errors.check("description", parse_description(raw)));
    let content = required(&mut errors, "body", &article.body)
        .and_then(|raw| errors.check("body", parse_body(raw, CONTENT_MAX)));
    let tags = errors.check(
        "tagList",
        parse_tags(article.tag_list.as_deref().unwrap_or_default()),
    );
    errors.into_result()?;
    let (Some(title), Some(description), Some(content), Some(tags)) =
        (title, description, content, tags)
    else {
        return Err(ApiError::internal("validated article lost a field"));
    };
    let draft = Draft {
        title,
        content,
        description,
        tags,
        media_ids: Vec::new(),
        group: None,
        publish_at: None,
    };
    let post = write_post(&state, &viewer, &account, draft).await?;
    let author = views::profile(&state, &account, false);
    let article = views::article(post, author, false, true);
    Ok(HttpResponse::Created().json(ArticleEnvelope { article }))
}

/// The post a slug names, if the viewer may see it.
async fn article_post(state: &AppState, slug: &str, viewer: &Viewer) -> Result<PostDoc, ApiError> {
    visible_post(state, &post_id_of_slug(slug)?.to_hex(), viewer).await
}

/// An article
#[utoipa::path(
    get,
    path = "/realworld/api/articles/{slug}",
    tag = "realworld",
    operation_id = "realworld_get_article",
    responses((status = 200, description = "The article.", body = ArticleEnvelope)),
    security((), ("realWorldToken" = []))
)]
pub(crate) async fn get_article(
    state: State,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = article_post(&state, &path, &viewer).await?;
    Ok(HttpResponse::Ok().json(views::one_article(&state, &viewer, post).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateArticle {
    title: Option<String>,
    description: Option<String>,
    body: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateArticleRequest {
    #[schema(value_type = UpdateArticle, required = true)]
    article: Option<UpdateArticle>,
}

/// Update an article (its author only)
///
/// Fields left out keep their value; the earlier version is kept in the post's history.
/// The slug follows a new title (the old one still works).
#[utoipa::path(
    put,
    path = "/realworld/api/articles/{slug}",
    tag = "realworld",
    operation_id = "realworld_update_article",
    request_body = UpdateArticleRequest,
    responses(
        (status = 200, description = "The article, changed.", body = ArticleEnvelope),
        (status = 403, description = "Not its author."),
    ),
    security(("realWorldToken" = []))
)]
pub(crate) async fn update(
    state: State,
    SignedIn { viewer, .. }: SignedIn,
    path: web::Path<String>,
    Json(body): Json<UpdateArticleRequest>,
) -> Result<HttpResponse, ApiError> {
    let change = unwrap(body.article, "article")?;
    let own = OwnPost::of(&viewer, article_post(&state, &path, &viewer).await?)?;
    let post = own.post();
    let mut errors = FieldErrors::new();
    let title = match &change.title {
        Some(raw) => errors.check("title", parse_body(raw, 200).and_then(|t| parse_title(&t))),
        None => Some(post.title.clone()),
    };
    let description = match &change.description {
        Some(raw) => errors.check("description", parse_description(raw)),
        None => Some(post.description.clone()),
    };
    let content = match &change.body {
        Some(raw) => errors.check("body", parse_body(raw, CONTENT_MAX)),
        None => Some(post.content.clone()),
    };
    errors.into_result()?;
    let (Some(title), Some(description), Some(content)) = (title, description, content) else {
        return Err(ApiError::internal("validated edit lost a field"));
    };
    let edit = PostEdit {
        title,
        content,
        description,
        media_ids: None,
    };
    let updated = edit_post(&state, &viewer, own, edit).await?;
    Ok(HttpResponse::Ok().json(views::one_article(&state, &viewer, updated).await?))
}

/// Delete an article
///
/// Its author, a moderator or an admin may; its favourites and comments go with it.
#[utoipa::path(
    delete,
    path = "/realworld/api/articles/{slug}",
    tag = "realworld",
    operation_id = "realworld_delete_article",
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Not yours to delete."),
    ),
    security(("realWorldToken" = []))
)]
pub(crate) async fn delete(
    state: State,
    SignedIn { viewer, me }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let post = article_post(&state, &path, &viewer).await?;
    remove_post(&state, me.user_id, &post).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The article after a (un)favourite, with its new count.
async fn after_like(
    state: &AppState,
    action: &PostAction,
    like_count: i64,
    favorited: bool,
) -> Result<HttpResponse, ApiError> {
    let post = action.reachable_post()?.clone();
    let mut article = views::articles(state, &action.viewer, vec![post], true)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    article.favorited = favorited;
    article.favorites_count = like_count;
    Ok(HttpResponse::Ok().json(ArticleEnvelope { article }))
}

/// Favourite an article
///
/// A like, as `POST /api/posts/{id}/like`: its author is notified; `403` across a block.
#[utoipa::path(
    post,
    path = "/realworld/api/articles/{slug}/favorite",
    tag = "realworld",
    operation_id = "realworld_favorite",
    responses(
        (status = 200, description = "The article, favourited.", body = ArticleEnvelope),
        (status = 403, description = "A block stands between you and the author."),
    ),
    security(("realWorldToken" = []))
)]
pub(crate) async fn favorite(state: State, action: PostAction) -> Result<HttpResponse, ApiError> {
    let (liked, _) = like(&state, &action).await?;
    after_like(&state, &action, liked.like_count, true).await
}

/// Unfavourite an article
#[utoipa::path(
    delete,
    path = "/realworld/api/articles/{slug}/favorite",
    tag = "realworld",
    operation_id = "realworld_unfavorite",
    responses((status = 200, description = "The article, not favourited.", body = ArticleEnvelope)),
    security(("realWorldToken" = []))
)]
pub(crate) async fn unfavorite(state: State, action: PostAction) -> Result<HttpResponse, ApiError> {
    let liked = unlike(&state, &action).await?;
    after_like(&state, &action, liked.like_count, false).await
}

/// Popular tags
///
/// The tags (hashtags) of the most articles published in the last 30 days, at most 20.
#[utoipa::path(
    get,
    path = "/realworld/api/tags",
    tag = "realworld",
    operation_id = "realworld_tags",
    responses((status = 200, description = "The tags.", body = TagList))
)]
pub(crate) async fn tags(state: State) -> Result<HttpResponse, ApiError> {
    let since = crate::store::millis_from_now(-TAG_WINDOW_DAYS * 86_400_000);
    let tags = posts::trending(&state.db, since, 20)
        .await?
        .into_iter()
        .map(|t| t.tag)
        .collect();
    Ok(HttpResponse::Ok().json(TagList { tags }))
}
