//! Finding people: user search and follow suggestions, API.md §3.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::api::state::AppState;
use crate::api::viewer::{user_views, SignedIn, Viewer};
use crate::core::suggestions::suggest;
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Cursor, Page, PageParams};
use crate::store::users;
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
    let page = Page::from_items(&req, params, found, |u| Cursor::at(u.id), |u| u);
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
