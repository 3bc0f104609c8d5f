//! Posts: the rules every post route shares (who may see or change a post, its text,
//! media and group); the routes in `read` and `write`.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;

use crate::api::state::AppState;
use crate::api::viewer::Viewer;
use crate::domain::posts::{hashtags, mention_candidates, search_terms};
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Page, PageParams};
use crate::store::groups::GroupDoc;
use crate::store::posts::{self, PostDoc, PostFilter, PostText};
use crate::store::{date_cursor, groups, media, users};
use crate::views::posts::post_views;

pub mod read;
pub mod write;

type State = web::Data<AppState>;

/// Title, content and what is derived from them; mentions keep only existing accounts.
/// The text of a post with what is derived from it: mentions of existing accounts (not
/// across a block), the hashtags (the explicit `tags` first, then the text's `#tags`),
/// the search terms.
pub(crate) async fn post_text(
    state: &AppState,
    author: &Viewer,
    title: String,
    content: String,
    description: String,
    tags: &[String],
) -> Result<PostText, ApiError> {
    let limits = &state.settings.posts;
    let candidates = mention_candidates(&title, &content);
    if candidates.len() > limits.max_mentions {
        return Err(FieldErrors::single(
            "content",
            format!(
                "Mention at most {} accounts in one post.",
                limits.max_mentions
            ),
        ));
    }
    let found = users::find_by_username_keys(&state.db, &candidates).await?;
    // Nobody mentions across a block, either way (API.md §3).
    let mentions = candidates
        .iter()
        .filter_map(|key| found.iter().find(|u| &u.username_key == key))
        .filter(|u| !author.hides(u.id))
        .map(|u| u.username.clone())
        .collect();
    let mut all_tags = tags.to_vec();
    for tag in hashtags(&title, &content) {
        if !all_tags.contains(&tag) {
            all_tags.push(tag);
        }
    }
    if all_tags.len() > limits.max_hashtags {
        return Err(FieldErrors::single(
            "content",
            format!("Use at most {} hashtags in one post.", limits.max_hashtags),
        ));
    }
    Ok(PostText {
        hashtags: all_tags,
        terms: search_terms(&[&title, &description, &content]),
        mentions,
        title,
        content,
        description,
    })
}

/// `media_ids` as sent: each must name one of the author's own uploads (API.md §5).
pub(crate) async fn parse_media_ids(
    state: &AppState,
    errors: &mut FieldErrors,
    author: ObjectId,
    raw: &Option<Vec<String>>,
) -> Result<Option<Vec<ObjectId>>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let max = state.settings.posts.max_media;
    if raw.len() > max {
        errors.add("media_ids", format!("Attach at most {max} files."));
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

async fn posts_page(
    state: &AppState,
    req: &HttpRequest,
    params: PageParams,
    viewer: &Viewer,
    mut filter: PostFilter,
) -> Result<HttpResponse, ApiError> {
    filter.hidden_authors = viewer.hidden();
    let page = posts::page_listed(
        &state.db,
        &state.list_horizon,
        &state.feed.first_pages,
        &filter,
        params.cursor,
        params.fetch_limit(),
    )
    .await?;
    let pace = page.pace;
    page_of_posts(state, req, params, viewer.id(), page.items, |p| {
        date_cursor(p.published_at, p.id).with_pace(pace)
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
    let results = post_views(&state.db, viewer, page.results).await?;
    Ok(Page::respond(results, page.next))
}
