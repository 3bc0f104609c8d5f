//! Follows and blocks: API.md §3, over `core::social`.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;

use crate::api::auth_user::AuthUser;
use crate::api::extract::created_or_ok;
use crate::api::state::AppState;
use crate::api::viewer::{
    named_user, ordered_user_views, user_view, visible_user, SignedIn, Viewer,
};
use crate::error::ApiError;
use crate::pagination::{Page, PageParams};
use crate::store::{blocks, date_cursor, follows, users};

use crate::core::social::{add_block, add_follow, drop_block, drop_follow};

type State = web::Data<AppState>;

/// The account acted on, as it is now (its counters moved): `201` when the action was new,
/// `200` when it was already done.
async fn answer_with_user(
    state: &AppState,
    viewer: &Viewer,
    user_id: ObjectId,
    created: bool,
) -> Result<HttpResponse, ApiError> {
    let user = users::find_by_id(&state.db, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(created_or_ok(created).json(user_view(state, viewer, &user).await?))
}

/// Follow a user
#[utoipa::path(
    post,
    path = "/api/users/{user}/follow",
    tag = "social",
    responses(
        (status = 201, description = "Now following: the followed User.", body = crate::views::UserView),
        (status = 200, description = "Already following.", body = crate::views::UserView),
        (status = 400, description = "`validation_error`: following yourself."),
        (status = 403, description = "`blocked`: a block stands between you."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn follow(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Not `visible_user`: across a block, following is `403 blocked` (API.md §3).
    let target = named_user(&state, &path).await?;
    let created = add_follow(&state, &viewer, auth.user_id, &target).await?;
    answer_with_user(&state, &viewer, target.id, created).await
}

/// Unfollow a user
#[utoipa::path(
    delete,
    path = "/api/users/{user}/follow",
    tag = "social",
    responses(
        (status = 204, description = "Not following (also when you were not)."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn unfollow(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = named_user(&state, &path).await?;
    drop_follow(&state, auth.user_id, target.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn follow_list(
    state: &AppState,
    viewer: &Viewer,
    req: &HttpRequest,
    params: PageParams,
    user_ref: &str,
    followers: bool,
) -> Result<HttpResponse, ApiError> {
    let user = visible_user(state, user_ref, viewer).await?;
    let hidden = viewer.hidden();
    let (cursor, limit) = (params.cursor, params.fetch_limit());
    let items = if followers {
        follows::page_followers(&state.db, user.id, &hidden, cursor, limit).await?
    } else {
        follows::page_following(&state.db, user.id, &hidden, cursor, limit).await?
    };
    let page = Page::from_items(
        req,
        params,
        items,
        |f| date_cursor(f.created_at, f.id),
        |f| {
            if followers {
                f.follower_id
            } else {
                f.followee_id
            }
        },
    );
    let results = ordered_user_views(state, viewer, &page.results).await?;
    Ok(Page::respond(results, page.next))
}

/// A user's followers, newest first
#[utoipa::path(
    get,
    path = "/api/users/{user}/followers",
    tag = "social",
    responses(
        (status = 200, description = "A page of users.", body = Page<crate::views::UserView>),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn followers(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    follow_list(&state, &viewer, &req, params, &path, true).await
}

/// The accounts a user follows, newest first
#[utoipa::path(
    get,
    path = "/api/users/{user}/following",
    tag = "social",
    responses(
        (status = 200, description = "A page of users.", body = Page<crate::views::UserView>),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn following(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    follow_list(&state, &viewer, &req, params, &path, false).await
}

/// Block a user
///
/// Follows in both directions end, and with them each one's posts in the other's feed.
#[utoipa::path(
    post,
    path = "/api/users/{user}/block",
    tag = "social",
    responses(
        (status = 201, description = "Blocked: the blocked User.", body = crate::views::UserView),
        (status = 200, description = "Already blocked.", body = crate::views::UserView),
        (status = 400, description = "`validation_error`: blocking yourself."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn block(
    state: State,
    SignedIn {
        mut viewer,
        me: auth,
    }: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = named_user(&state, &path).await?;
    let created = add_block(&state, &mut viewer, auth.user_id, target.id).await?;
    answer_with_user(&state, &viewer, target.id, created).await
}

/// Unblock a user
#[utoipa::path(
    delete,
    path = "/api/users/{user}/block",
    tag = "social",
    responses(
        (status = 204, description = "Not blocked (also when it was not)."),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn unblock(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = named_user(&state, &path).await?;
    drop_block(&state, auth.user_id, target.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The accounts the viewer blocked, newest first
#[utoipa::path(
    get,
    path = "/api/users/me/blocks",
    tag = "social",
    responses(
        (status = 200, description = "A page of users.", body = Page<crate::views::UserView>),
    ),
    security(("bearerAuth" = []))
)]
pub(crate) async fn my_blocks(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    req: HttpRequest,
    params: PageParams,
) -> Result<HttpResponse, ApiError> {
    let items =
        blocks::page_blocked_by(&state.db, auth.user_id, params.cursor, params.fetch_limit())
            .await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |b| date_cursor(b.created_at, b.id),
        |b| b.blocked_id,
    );
    let results = ordered_user_views(&state, &viewer, &page.results).await?;
    Ok(Page::respond(results, page.next))
}
