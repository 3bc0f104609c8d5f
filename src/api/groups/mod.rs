//! Groups (public or private, owned, with members and shared posts): the objects and
//! rules all group routes share; the routes themselves in `manage`, `members`, `shares`.

use std::collections::HashMap;

use actix_web::web;
use bson::oid::ObjectId;
use serde::Serialize;

use crate::api::auth_user::AuthUser;
use crate::api::state::AppState;
use crate::domain::accounts::parse_text;
use crate::error::ApiError;
use crate::store::groups::{self, GroupDoc, MemberDoc, MemberRole, Visibility};
use crate::views::posts::minis;
use crate::views::{rfc3339, UserMini};

pub mod manage;
pub mod members;
pub mod shares;

type State = web::Data<AppState>;

const NAME_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 1000;
/// Members shown inside a group's detail.
const DETAIL_MEMBERS: i64 = 20;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct GroupView {
    id: String,
    name: String,
    description: String,
    visibility: Visibility,
    owner: Option<UserMini>,
    member_count: i64,
    is_member: bool,
    role: Option<MemberRole>,
    created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct MemberView {
    user: UserMini,
    role: MemberRole,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct GroupDetail {
    #[serde(flatten)]
    group: GroupView,
    members: Vec<MemberView>,
}

/// Group objects for a page: one query for the viewer's roles, one for the owners.
async fn group_views(
    state: &AppState,
    groups: &[GroupDoc],
    viewer: Option<ObjectId>,
) -> Result<Vec<GroupView>, ApiError> {
    let ids: Vec<ObjectId> = groups.iter().map(|g| g.id).collect();
    let roles: HashMap<ObjectId, MemberRole> = match viewer {
        Some(user) => groups::roles_of(&state.db, user, &ids).await?,
        None => HashMap::new(),
    };
    let owners = minis(&state.db, groups.iter().map(|g| g.owner_id)).await?;
    Ok(groups
        .iter()
        .map(|group| {
            let role = roles.get(&group.id).copied();
            GroupView {
                id: group.id.to_hex(),
                name: group.name.clone(),
                description: group.description.clone(),
                visibility: group.visibility,
                owner: owners.get(&group.owner_id).cloned(),
                member_count: group.member_count,
                is_member: role.is_some(),
                role,
                created_at: rfc3339(group.created_at),
            }
        })
        .collect())
}

async fn group_view(
    state: &AppState,
    group: &GroupDoc,
    viewer: Option<ObjectId>,
) -> Result<GroupView, ApiError> {
    group_views(state, std::slice::from_ref(group), viewer)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

async fn member_views(
    state: &AppState,
    members: Vec<MemberDoc>,
) -> Result<Vec<MemberView>, ApiError> {
    let users = minis(&state.db, members.iter().map(|m| m.user_id)).await?;
    Ok(members
        .into_iter()
        .filter_map(|m| {
            Some(MemberView {
                user: users.get(&m.user_id)?.clone(),
                role: m.role,
            })
        })
        .collect())
}

/// The group `id` names, as far as the viewer may know: a private group is `404` for
/// non-members. Returns the viewer's membership too.
async fn visible_group(
    state: &AppState,
    id: &str,
    viewer: Option<ObjectId>,
) -> Result<(GroupDoc, Option<MemberDoc>), ApiError> {
    let group = groups::find(&state.db, ObjectId::parse_str(id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let membership = match viewer {
        Some(user) => groups::membership(&state.db, group.id, user).await?,
        None => None,
    };
    if group.visibility == Visibility::Private && membership.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok((group, membership))
}

/// The group, if the caller owns it (`403` for members, `404` for those who may not know it).
async fn owned_group(state: &AppState, id: &str, auth: AuthUser) -> Result<GroupDoc, ApiError> {
    let (group, membership) = visible_group(state, id, Some(auth.user_id)).await?;
    match membership.map(|m| m.role) {
        Some(MemberRole::Owner) => Ok(group),
        _ => Err(ApiError::permission_denied()),
    }
}

fn parse_visibility(raw: &str) -> Result<Visibility, String> {
    match raw {
        "public" => Ok(Visibility::Public),
        "private" => Ok(Visibility::Private),
        _ => Err("Choose public or private.".into()),
    }
}

fn parse_name(raw: &str) -> Result<String, String> {
    let name = parse_text(raw, NAME_MAX)?;
    if name.is_empty() || name.contains('\n') {
        return Err("Enter a name on one line.".into());
    }
    Ok(name)
}
