//! Follows and blocks: API.md §3. Unique pair indexes make both idempotent; counters move
//! only when an insert or delete happened, so `followers_count` and `following_count` stay
//! exact.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;

use crate::api::auth_user::AuthUser;
use crate::api::extract::created_or_ok;
use crate::api::state::AppState;
use crate::api::viewer::{
    named_user, ordered_user_views, user_view, visible_user, SignedIn, Viewer,
};
use crate::error::{ApiError, FieldErrors};
use crate::events::{Activity, Events};
use crate::feed;
use crate::pagination::{Page, PageParams};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::users::UserDoc;
use crate::store::{blocks, date_cursor, follows, timelines, users};

type State = web::Data<AppState>;

fn not_yourself(me: ObjectId, other: ObjectId, action: &str) -> Result<(), ApiError> {
    if me == other {
        Err(FieldErrors::single(
            "user",
            format!("You cannot {action} yourself."),
        ))
    } else {
        Ok(())
    }
}

/// Removes a follow, if there is one, with its counters and its timeline entries.
pub async fn remove_follow(
    state: &AppState,
    follower: ObjectId,
    followee: ObjectId,
) -> Result<(), ApiError> {
    if follows::delete(&state.db, follower, followee).await? {
        users::count_follow(&state.db, follower, followee, -1).await?;
    }
    timelines::remove_author(&state.db, follower, followee).await?;
    Ok(())
}

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

/// Makes `me` follow `target` (once: `false` when they already did), with the feed's
/// backfill and the notification: the one path of the native and the RealWorld API.
pub(crate) async fn add_follow(
    state: &AppState,
    viewer: &Viewer,
    me: ObjectId,
    target: &UserDoc,
) -> Result<bool, ApiError> {
    not_yourself(me, target.id, "follow")?;
    viewer.ensure_not_blocked(target.id)?;
    let created = follows::insert(&state.db, me, target.id).await?;
    if created {
        users::count_follow(&state.db, me, target.id, 1).await?;
        feed::backfill(&state.feed, me, target.id, target.followers_count + 1).await?;
        let events = Events::new()
            .notify_unless_blocked(
                &state.db,
                target.id,
                NotificationType::Follow,
                me,
                Subject::default(),
            )
            .await?
            .record(me, Activity::on("user.follow", "user", target.id));
        state.jobs.events(events).await?;
    }
    Ok(created)
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

/// `me` no longer follows `target` (also when they did not), logged.
pub(crate) async fn drop_follow(
    state: &AppState,
    me: ObjectId,
    target: ObjectId,
) -> Result<(), ApiError> {
    remove_follow(state, me, target).await?;
    state
        .jobs
        .record(me, Activity::on("user.unfollow", "user", target))
        .await?;
    Ok(())
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

/// `me` blocks `target` (once: `false` when they already had), ending the follows both
/// ways: the one path of the native and the Mastodon API.
pub(crate) async fn add_block(
    state: &AppState,
    viewer: &mut Viewer,
    me: ObjectId,
    target: ObjectId,
) -> Result<bool, ApiError> {
    not_yourself(me, target, "block")?;
    let created = blocks::insert(&state.db, me, target).await?;
    if created {
        state
            .jobs
            .record(me, Activity::on("user.block", "user", target))
            .await?;
    }
    remove_follow(state, me, target).await?;
    remove_follow(state, target, me).await?;
    viewer.add_block(target);
    Ok(created)
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

/// `me` no longer blocks `target` (also when they did not), logged.
pub(crate) async fn drop_block(
    state: &AppState,
    me: ObjectId,
    target: ObjectId,
) -> Result<(), ApiError> {
    blocks::delete(&state.db, me, target).await?;
    state
        .jobs
        .record(me, Activity::on("user.unblock", "user", target))
        .await?;
    Ok(())
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
