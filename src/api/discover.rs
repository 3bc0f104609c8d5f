//! Finding people: user search and follow suggestions, API.md §3.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::api::state::AppState;
use crate::api::viewer::{user_views, SignedIn, Viewer};
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Cursor, Page, PageParams};
use crate::store::{follows, posts, users};
use crate::views::UserView;

type State = web::Data<AppState>;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// The term: part of a username or full name (ignoring case). Email addresses are
    /// never matched.
    q: Option<String>,
    /// Same as `q`.
    query: Option<String>,
}

const SEARCH_MAX_CHARS: usize = 100;

/// Search users
///
/// Usernames or full names containing the term, ignoring case. The term is matched
/// literally, never as a pattern, and never against email addresses (so a search cannot
/// tell whether an address has an account).
#[utoipa::path(
    get,
    path = "/api/users/search",
    tag = "users",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of users.", body = Page<UserView>),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn search_users(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let term = query
        .q
        .as_deref()
        .or(query.query.as_deref())
        .unwrap_or("")
        .trim()
        .to_owned();
    if term.is_empty() || term.chars().count() > SEARCH_MAX_CHARS {
        return Err(FieldErrors::single(
            "q",
            format!("Enter a search term of 1 to {SEARCH_MAX_CHARS} characters."),
        ));
    }
    let found = users::search_page(
        &state.db,
        &term,
        &viewer.hidden(),
        params.cursor.map(|c| c.id),
        params.fetch_limit(),
    )
    .await?;
    let page = Page::from_items(
        &req,
        params,
        found,
        |u| Cursor {
            key: None,
            id: u.id,
            pace: None,
        },
        |u| u,
    );
    let results = user_views(&state, &viewer, &page.results).await?;
    Ok(Page::respond(results, page.next))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SuggestionQuery {
    /// How many, 1..50 (default 10).
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Suggestion {
    user: UserView,
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SuggestionList {
    results: Vec<Suggestion>,
}

/// How far the friends-of-friends walk looks.
const FOLLOWEES_CONSIDERED: i64 = 500;
const CANDIDATES: i64 = 50;

fn names(list: &[String]) -> String {
    match list {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!(
            "{first} and {} other{}",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

/// Why an account is suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SuggestionSource {
    /// Followed by accounts the viewer follows.
    FriendsOfFriends,
    /// Interested in what the viewer is interested in or writes about.
    Interests,
    /// Among the most followed.
    Popular,
}

/// A suggested account, why, and the reason in words.
pub(crate) struct Ranked {
    pub user: users::UserDoc,
    pub source: SuggestionSource,
    pub reason: String,
}

/// Accounts for `me` to follow, best first, at most `limit`: those `me` does not follow
/// and has no block with, ranked by followers in common (friends of friends), then shared
/// interests and the hashtags `me` writes; popular accounts fill the rest. The ranking
/// the native and the Mastodon suggestions share.
pub(crate) async fn suggest(
    state: &AppState,
    viewer: &Viewer,
    me: &users::UserDoc,
    limit: usize,
) -> Result<Vec<Ranked>, ApiError> {
    let followees = follows::followee_ids(&state.db, me.id, FOLLOWEES_CONSIDERED).await?;
    let mut exclude = viewer.hidden();
    exclude.extend(&followees);
    exclude.push(me.id);

    // (score, source, reason) per candidate.
    let mut ranked: HashMap<ObjectId, (i64, SuggestionSource, String)> = HashMap::new();
    let friends_of_friends =
        follows::followed_by_many(&state.db, &followees, &exclude, CANDIDATES).await?;
    let via_ids: Vec<ObjectId> = friends_of_friends
        .iter()
        .flat_map(|(_, _, via)| via.iter().copied())
        .collect();
    let via_names: HashMap<ObjectId, String> = users::find_many(&state.db, &via_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    for (id, count, via) in &friends_of_friends {
        let named: Vec<String> = via
            .iter()
            .filter_map(|v| via_names.get(v).cloned())
            .collect();
        ranked.insert(
            *id,
            (
                count * 10,
                SuggestionSource::FriendsOfFriends,
                format!("Followed by {} whom you follow", names(&named)),
            ),
        );
    }

    let mut topics = me.interests.clone();
    for tag in posts::recent_hashtags_of(&state.db, me.id, 50).await? {
        if !topics.contains(&tag) {
            topics.push(tag);
        }
    }
    for user in users::with_interests(&state.db, &topics, &exclude, CANDIDATES).await? {
        let shared: Vec<String> = user
            .interests
            .iter()
            .filter(|t| topics.contains(t))
            .cloned()
            .collect();
        let entry =
            ranked
                .entry(user.id)
                .or_insert((0, SuggestionSource::Interests, String::new()));
        entry.0 += i64::try_from(shared.len()).unwrap_or(0);
        if entry.2.is_empty() {
            entry.2 = format!("Interested in {}", shared.join(", "));
        }
    }
    if ranked.len() < limit {
        for user in users::most_followed(&state.db, &exclude, CANDIDATES).await? {
            ranked.entry(user.id).or_insert((
                0,
                SuggestionSource::Popular,
                "Popular on Rookery".to_owned(),
            ));
        }
    }

    let mut order: Vec<(ObjectId, i64, SuggestionSource, String)> = ranked
        .into_iter()
        .map(|(id, (score, source, reason))| (id, score, source, reason))
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(limit);
    let ids: Vec<ObjectId> = order.iter().map(|(id, ..)| *id).collect();
    let mut found: HashMap<ObjectId, users::UserDoc> = users::find_many(&state.db, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(order
        .into_iter()
        .filter_map(|(id, _, source, reason)| {
            found.remove(&id).map(|user| Ranked {
                user,
                source,
                reason,
            })
        })
        .collect())
}

/// Accounts to follow
///
/// Accounts the viewer does not follow and has no block with, ranked by followers in
/// common (friends of friends), then shared interests and the hashtags the viewer writes;
/// popular accounts fill the rest. Each comes with its `reason`.
#[utoipa::path(
    get,
    path = "/api/users/suggestions",
    tag = "users",
    params(SuggestionQuery),
    responses(
        (status = 200, description = "Suggestions, best first.", body = SuggestionList),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn suggestions(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    query: web::Query<SuggestionQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(FieldErrors::single(
            "limit",
            "Ensure this value is a whole number from 1 to 50.",
        ));
    }
    let limit = usize::try_from(limit).unwrap_or(10);
    let me = auth.load(&state).await?;
    let ranked = suggest(&state, &viewer, &me, limit).await?;
    let docs: Vec<users::UserDoc> = ranked.iter().map(|r| r.user.clone()).collect();
    let views = user_views(&state, &viewer, &docs).await?;
    let results = ranked
        .into_iter()
        .zip(views)
        .map(|(ranked, user)| Suggestion {
            user,
            reason: ranked.reason,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SuggestionList { results }))
}
