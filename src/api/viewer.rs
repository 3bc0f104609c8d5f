//! Who is asking, and the one visibility rule every read goes through (API.md §3
//! "Blocking A→B", §4 scheduled posts): a block either way hides each from the other.

use std::collections::{HashMap, HashSet};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use bson::oid::ObjectId;
use futures::future::LocalBoxFuture;

use crate::api::auth_user::{app_state, bearer_token, verify_jwt, AuthUser};
use crate::api::state::AppState;
use crate::error::ApiError;
use crate::store::likes::{self, Liked};
use crate::store::posts::PostDoc;
use crate::store::sessions::{self, Also, Proof, Relations};
use crate::store::users::UserDoc;
use crate::store::{follows, posts, users};
use crate::views::{Relation, UserView};

#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub user: Option<AuthUser>,
    /// Accounts the viewer blocked.
    blocked: HashSet<ObjectId>,
    /// Accounts that blocked the viewer.
    blocked_by: HashSet<ObjectId>,
    /// Private groups the viewer belongs to: the only ones whose posts they see.
    private_groups: HashSet<ObjectId>,
}

impl Viewer {
    /// Checks the token's session and loads the viewer's relations in the same command,
    /// with what `also` asks for (returned in the remaining `Relations`).
    async fn authenticate(
        state: &AppState,
        token: &str,
        also: Also,
    ) -> Result<(Self, Relations), ApiError> {
        let me = verify_jwt(state, token)?;
        Self::of_session(state, me, Proof::Jwt, also).await
    }

    /// The viewer whose session `me` names, proved by `proof`, with their relations and
    /// what `also` asks for: one command. (The Mastodon API's OAuth tokens come here.)
    pub async fn of_session(
        state: &AppState,
        me: AuthUser,
        proof: Proof<'_>,
        also: Also,
    ) -> Result<(Self, Relations), ApiError> {
        let mut relations =
            sessions::find_live_with_relations(&state.db, me.session_id, me.user_id, proof, also)
                .await?
                .ok_or(ApiError::TokenInvalid)?;
        Ok((Self::with_relations(me, &mut relations), relations))
    }

    fn with_relations(me: AuthUser, relations: &mut Relations) -> Self {
        let mut viewer = Viewer {
            user: Some(me),
            ..Viewer::default()
        };
        for block in relations.blocks.drain(..) {
            if block.blocker_id == me.user_id {
                viewer.blocked.insert(block.blocked_id);
            } else {
                viewer.blocked_by.insert(block.blocker_id);
            }
        }
        viewer.private_groups = relations
            .private_groups
            .drain(..)
            .map(|g| g.group_id)
            .collect();
        viewer
    }

    pub fn id(&self) -> Option<ObjectId> {
        self.user.map(|u| u.user_id)
    }

    pub fn require(&self) -> Result<AuthUser, ApiError> {
        self.user.ok_or(ApiError::NotAuthenticated)
    }

    /// A block either way.
    pub fn hides(&self, user: ObjectId) -> bool {
        self.blocked.contains(&user) || self.blocked_by.contains(&user)
    }

    /// A block the viewer has just made, for the rest of this request.
    pub fn add_block(&mut self, user: ObjectId) {
        self.blocked.insert(user);
    }

    /// A block the viewer has just taken back, for the rest of this request.
    pub fn remove_block(&mut self, user: ObjectId) {
        self.blocked.remove(&user);
    }

    pub fn has_blocked(&self, user: ObjectId) -> bool {
        self.blocked.contains(&user)
    }

    pub fn is_blocked_by(&self, user: ObjectId) -> bool {
        self.blocked_by.contains(&user)
    }

    /// Everyone hidden from the viewer, for `$nin` filters.
    pub fn hidden(&self) -> Vec<ObjectId> {
        self.blocked.union(&self.blocked_by).copied().collect()
    }

    pub fn private_groups(&self) -> Vec<ObjectId> {
        self.private_groups.iter().copied().collect()
    }

    /// A private group's post only for its members (API.md §6).
    pub fn can_reach_group_of(&self, post: &PostDoc) -> bool {
        !post.group_private
            || post
                .group_id
                .is_some_and(|g| self.private_groups.contains(&g))
    }

    /// May the viewer open the post by its id (its page, comments, likes, media)?
    pub fn can_see_post(&self, post: &PostDoc) -> bool {
        post.visible_to(self.id()) && !self.hides(post.author_id) && self.can_reach_group_of(post)
    }

    /// May the post appear in a list the viewer reads (feed, group posts, liked posts…)?
    /// What they could open, less what is unpublished or hidden by reports. Lists read
    /// with a query apply the same rule through `posts::listed()` and `hidden()`.
    pub fn can_list_post(&self, post: &PostDoc) -> bool {
        post.is_listed() && self.can_see_post(post)
    }

    /// `403 blocked` when the two are in a block relationship (follow, like, comment).
    pub fn ensure_not_blocked(&self, other: ObjectId) -> Result<(), ApiError> {
        if self.hides(other) {
            Err(ApiError::Forbidden {
                code: "blocked",
                detail: "You cannot interact with this account.",
            })
        } else {
            Ok(())
        }
    }
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
            Ok(Viewer::authenticate(&state, &token?, Also::default())
                .await?
                .0)
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
    let (viewer, mut found) = Viewer::authenticate(&*state?, token, also).await?;
    let me = viewer.require()?;
    let account = found.me.pop().ok_or(ApiError::TokenInvalid)?;
    Ok((viewer, me, account, found.post.pop()))
}

/// A signed-in action on the post its path names (`/api/posts/{id}/…`: like, unlike,
/// comment). The session check, the caller's relations, the post and the caller's own
/// account come in one command, so the action itself is all that is left to write.
pub struct PostAction {
    pub viewer: Viewer,
    pub me: AuthUser,
    /// The caller's account, to show them as the author of what they write.
    pub account: UserDoc,
    post: Option<PostDoc>,
}

impl PostAction {
    /// An action whose parts were read elsewhere (the Mastodon API's session check).
    pub fn new(viewer: Viewer, me: AuthUser, account: UserDoc, post: Option<PostDoc>) -> Self {
        Self {
            viewer,
            me,
            account,
            post,
        }
    }

    /// The post, if the caller may like or comment on it: `404` when they may not see it,
    /// `403 blocked` across a block (API.md §3).
    pub fn post_to_interact_with(&self) -> Result<&PostDoc, ApiError> {
        let post = self.reachable_post()?;
        self.viewer.ensure_not_blocked(post.author_id)?;
        Ok(post)
    }

    /// The post, if the caller could see it but for blocks: taking something back (a
    /// like) stays possible across a block.
    pub fn reachable_post(&self) -> Result<&PostDoc, ApiError> {
        self.post
            .as_ref()
            .filter(|p| p.visible_to(Some(self.me.user_id)) && self.viewer.can_reach_group_of(p))
            .ok_or(ApiError::NotFound)
    }
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
            Ok(PostAction {
                viewer,
                me,
                account,
                post,
            })
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
