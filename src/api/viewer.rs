//! Who is asking, read from a request: the extractors that check the session and bring
//! the viewer's relations (and what a route needs beside them) in one command. The
//! viewer and its visibility rules are `core::viewer`'s.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use bson::oid::ObjectId;
use futures::future::LocalBoxFuture;

use crate::api::auth_user::{app_state, bearer_token, verify_jwt};
use crate::api::state::AppState;
pub use crate::core::viewer::{visible_post, AuthUser, PostAction, Viewer};
use crate::error::ApiError;
use crate::store::likes::{self, Liked};
use crate::store::posts::PostDoc;
use crate::store::sessions::{self, Also, Proof, Relations};
use crate::store::users::UserDoc;
use crate::store::{follows, users};
use crate::views::{Relation, UserView};

/// Checks the token's session and loads the viewer's relations in the same command,
/// with what `also` asks for (returned in the remaining `Relations`).
async fn authenticate(
    state: &AppState,
    token: &str,
    also: Also,
) -> Result<(Viewer, Relations), ApiError> {
    let me = verify_jwt(state, token)?;
    Viewer::of_session(state, me, Proof::Jwt, also).await
}

impl FromRequest for Viewer {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    /// Anonymous without an `Authorization` header; with one, the token must be good
    /// (`401` otherwise).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = app_state(req);
        Box::pin(async move {
            let Some(token) = token else {
                return Ok(Viewer::default());
            };
            let state = state?;
            Ok(authenticate(&state, &token?, Also::default()).await?.0)
        })
    }
}

/// A signed-in caller and their relations: the session check and the relations (blocks
/// both ways, private groups) in the one command `Viewer` costs. `401` without a token.
pub struct SignedIn {
    pub viewer: Viewer,
    pub me: AuthUser,
}

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    /// The `Viewer`, which without a token is anonymous, and so `401` here.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let viewer = Viewer::from_request(req, payload);
        Box::pin(async move {
            let viewer = viewer.await?;
            Ok(SignedIn {
                me: viewer.require()?,
                viewer,
            })
        })
    }
}

/// A signed-in caller with their relations and their own account (to show them as the
/// author of what they write), all in the one command of the session check.
pub struct SignedInAccount {
    pub viewer: Viewer,
    pub me: AuthUser,
    pub account: UserDoc,
}

impl FromRequest for SignedInAccount {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = app_state(req);
        Box::pin(async move {
            let token = token.ok_or(ApiError::NotAuthenticated)??;
            let (viewer, me, account, _) = with_account(state, &token, None).await?;
            Ok(SignedInAccount {
                viewer,
                me,
                account,
            })
        })
    }
}

/// The session check with the caller's relations, their account and (when asked for)
/// a post, in one command.
async fn with_account(
    state: Result<web::Data<AppState>, ApiError>,
    token: &str,
    post: Option<ObjectId>,
) -> Result<(Viewer, AuthUser, UserDoc, Option<PostDoc>), ApiError> {
    let also = Also { post, me: true };
    let (viewer, mut found) = authenticate(&*state?, token, also).await?;
    let me = viewer.require()?;
    let account = found.me.pop().ok_or(ApiError::TokenInvalid)?;
    Ok((viewer, me, account, found.post.pop()))
}

impl FromRequest for PostAction {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = app_state(req);
        // `/api/posts/{id}/…`, or a RealWorld `/articles/{slug}/…`.
        let post_id = match req.match_info().get("id") {
            Some(id) => Some(ObjectId::parse_str(id)),
            None => req
                .match_info()
                .get("slug")
                .map(crate::api::realworld::post_id_of_slug),
        };
        Box::pin(async move {
            let token = token.ok_or(ApiError::NotAuthenticated)??;
            let post_id = post_id.ok_or_else(|| ApiError::internal("route without {id}"))??;
            let (viewer, me, account, post) = with_account(state, &token, Some(post_id)).await?;
            Ok(PostAction::new(viewer, me, account, post))
        })
    }
}

/// A read of the post its path names (`GET /api/posts/{id}`), signed in or not. For a
/// signed-in reader the post comes with the session check, and the reader's like of it is
/// asked for beside it (the JWT names the reader before the session is checked; the answer
/// is used only once it is): two commands at once, not three one after another.
pub struct PostRead {
    pub viewer: Viewer,
    pub id: ObjectId,
    /// The post as the session check brought it (signed in), not yet checked against the
    /// viewer; `None` for an anonymous reader.
    pub post: Option<PostDoc>,
    pub liked: Liked,
}

impl FromRequest for PostRead {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = app_state(req);
        let id = req.match_info().get("id").map(ObjectId::parse_str);
        Box::pin(async move {
            let id = id.ok_or_else(|| ApiError::internal("route without {id}"))??;
            let Some(token) = token else {
                return Ok(PostRead {
                    viewer: Viewer::default(),
                    id,
                    post: None,
                    liked: Liked::default(),
                });
            };
            let (state, token) = (state?, token?);
            let me = verify_jwt(&state, &token)?;
            let also = Also {
                post: Some(id),
                me: false,
            };
            let ids = [id];
            let (relations, liked) = futures::try_join!(
                sessions::find_live_with_relations(
                    &state.db,
                    me.session_id,
                    me.user_id,
                    Proof::Jwt,
                    also
                ),
                likes::liked_among(&state.db, me.user_id, &ids),
            )?;
            let mut relations = relations.ok_or(ApiError::TokenInvalid)?;
            let viewer = Viewer::with_relations(me, &mut relations);
            Ok(PostRead {
                viewer,
                id,
                post: relations.post.pop(),
                liked,
            })
        })
    }
}

/// The account `{user}` names (an id or a username), or `404`.
pub async fn named_user(state: &AppState, user_ref: &str) -> Result<UserDoc, ApiError> {
    users::find_by_ref(&state.db, user_ref)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The account `{user}` names, unless it blocked the viewer (then it does not exist for
/// them, API.md §3).
pub async fn visible_user(
    state: &AppState,
    user_ref: &str,
    viewer: &Viewer,
) -> Result<UserDoc, ApiError> {
    users::find_by_ref(&state.db, user_ref)
        .await?
        .filter(|u| !viewer.is_blocked_by(u.id))
        .ok_or(ApiError::NotFound)
}

/// User objects with the viewer-relative booleans, for a whole page in one query.
pub async fn user_views(
    state: &AppState,
    viewer: &Viewer,
    users: &[UserDoc],
) -> Result<Vec<UserView>, ApiError> {
    let (following, followed_by) = match viewer.id() {
        Some(me) => {
            let ids: Vec<ObjectId> = users.iter().map(|u| u.id).collect();
            follows::relations(&state.db, me, &ids).await?
        }
        None => Default::default(),
    };
    Ok(users
        .iter()
        .map(|u| {
            let relation = Relation {
                is_following: following.contains(&u.id),
                follows_you: followed_by.contains(&u.id),
                is_blocked: viewer.has_blocked(u.id),
            };
            UserView::new(u, relation)
        })
        .collect())
}

pub async fn user_view(
    state: &AppState,
    viewer: &Viewer,
    user: &UserDoc,
) -> Result<UserView, ApiError> {
    user_views(state, viewer, std::slice::from_ref(user))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// Users by id in the given order (lists of followers, likers…; their queries already
/// leave hidden accounts out).
pub async fn ordered_user_views(
    state: &AppState,
    viewer: &Viewer,
    ids: &[ObjectId],
) -> Result<Vec<UserView>, ApiError> {
    let found: HashMap<ObjectId, UserDoc> = users::find_many(&state.db, ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let ordered: Vec<UserDoc> = ids.iter().filter_map(|id| found.get(id).cloned()).collect();
    user_views(state, viewer, &ordered).await
}
