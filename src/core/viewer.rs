//! Who is asking, and the one visibility rule every read goes through (a block either way
//! hides each from the other; a scheduled post is its author's alone; a private group's
//! posts are its members'). The extractors that build these from a request are in
//! `api::viewer`.

use std::collections::HashSet;

use bson::oid::ObjectId;

use crate::core::Services;
use crate::error::ApiError;
use crate::store::posts::{self, PostDoc};
use crate::store::sessions::{Also, Proof, Relations};
use crate::store::users::{self, Role, UserDoc};

/// A signed-in caller: the account and the session its token belongs to.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: ObjectId,
    pub session_id: ObjectId,
}

impl AuthUser {
    /// The caller's account; a token whose account is gone is no longer valid.
    pub async fn load(&self, services: &Services) -> Result<UserDoc, ApiError> {
        users::find_by_id(&services.db, self.user_id)
            .await?
            .ok_or(ApiError::TokenInvalid)
    }

    /// The caller's account when its role is one of `roles`, else `403`.
    pub async fn require_role(
        &self,
        services: &Services,
        roles: &[Role],
    ) -> Result<UserDoc, ApiError> {
        let user = self.load(services).await?;
        if roles.contains(&user.role) {
            Ok(user)
        } else {
            Err(ApiError::permission_denied())
        }
    }
}

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
    /// The viewer whose session `me` names, proved by `proof`, with their relations and
    /// what `also` asks for: one command. (The Mastodon API's OAuth tokens come here.)
    pub async fn of_session(
        services: &Services,
        me: AuthUser,
        proof: Proof<'_>,
        also: Also,
    ) -> Result<(Self, Relations), ApiError> {
        let mut relations = services
            .checks
            .check(me.session_id, me.user_id, proof, also)
            .await?
            .ok_or(ApiError::TokenInvalid)?;
        Ok((Self::with_relations(me, &mut relations), relations))
    }

    pub(crate) fn with_relations(me: AuthUser, relations: &mut Relations) -> Self {
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

/// The post `id` names, if the viewer may see it; otherwise `404`, so that neither a
/// scheduled post nor a blocked author's post reveals that it exists.
pub async fn visible_post(
    services: &Services,
    id: &str,
    viewer: &Viewer,
) -> Result<PostDoc, ApiError> {
    let id = ObjectId::parse_str(id)?;
    posts::find(&services.db, id)
        .await?
        .filter(|post| viewer.can_see_post(post))
        .ok_or(ApiError::NotFound)
}

/// Whether the user is a moderator or an admin.
pub async fn is_staff(services: &Services, user_id: ObjectId) -> Result<bool, ApiError> {
    Ok(users::find_by_id(&services.db, user_id)
        .await?
        .is_some_and(|u| u.role.is_staff()))
}
