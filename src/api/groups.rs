//! Groups: API.md §6. A private group exists only for its members (`404` for anyone else).

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use bson::DateTime;
use serde::{Deserialize, Serialize};

use crate::api::auth::required;
use crate::api::extract::Json;
use crate::api::post_views::{minis, post_views};
use crate::api::posts::visible_post;
use crate::api::viewer::{named_user, SignedIn, Viewer};
use crate::api::views::{created_or_ok, rfc3339, UserMini};
use crate::auth::AuthUser;
use crate::cascade::remove_posts;
use crate::domain::accounts::parse_text;
use crate::error::{ApiError, FieldErrors};
use crate::events::{self, Activity};
use crate::pagination::{Page, PageParams};
use crate::startup::AppState;
use crate::store::groups::{self, GroupChange, GroupDoc, MemberDoc, MemberRole, Visibility};
use crate::store::notifications::{NotificationType, Subject};
use crate::store::{date_cursor, posts, timelines, users};

type State = web::Data<AppState>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/groups")
            .route(web::get().to(list_groups))
            .route(web::post().to(create_group)),
    )
    .service(
        web::resource("/groups/{id}")
            .route(web::get().to(get_group))
            .route(web::patch().to(update_group))
            .route(web::put().to(update_group))
            .route(web::delete().to(delete_group)),
    )
    .service(web::resource("/groups/{id}/join").route(web::post().to(join_group)))
    .service(web::resource("/groups/{id}/leave").route(web::post().to(leave_group)))
    .service(
        web::resource("/groups/{id}/members")
            .route(web::get().to(list_members))
            .route(web::post().to(add_member)),
    )
    .service(web::resource("/groups/{id}/members/{user}").route(web::delete().to(remove_member)))
    .service(web::resource("/groups/{id}/posts").route(web::get().to(group_posts)))
    .service(web::resource("/groups/{id}/share").route(web::post().to(share_post)));
}

const NAME_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 1000;
/// Members shown inside a group's detail.
const DETAIL_MEMBERS: i64 = 20;

#[derive(Serialize, utoipa::ToSchema)]
struct GroupView {
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
struct MemberView {
    user: UserMini,
    role: MemberRole,
}

#[derive(Serialize, utoipa::ToSchema)]
struct GroupDetail {
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
    let owners = minis(state, groups.iter().map(|g| g.owner_id)).await?;
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
    let users = minis(state, members.iter().map(|m| m.user_id)).await?;
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

#[derive(Deserialize, utoipa::ToSchema)]
struct GroupRequest {
    /// 1–100 characters; required to create.
    #[schema(example = "Birdwatchers")]
    name: Option<String>,
    /// Up to 1 000 characters.
    description: Option<String>,
    /// `public` (default) or `private`.
    #[schema(example = "public")]
    visibility: Option<String>,
}

/// Create a group; its creator is its owner
#[utoipa::path(
    post,
    path = "/api/groups",
    tag = "groups",
    request_body = GroupRequest,
    responses(
        (status = 201, description = "The group.", body = GroupView),
    ),
    security(("bearerAuth" = []))
)]
async fn create_group(
    state: State,
    auth: AuthUser,
    Json(body): Json<GroupRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let name = required(&mut errors, "name", &body.name)
        .and_then(|raw| errors.check("name", parse_name(raw)));
    let description = errors.check(
        "description",
        parse_text(body.description.as_deref().unwrap_or(""), DESCRIPTION_MAX),
    );
    let visibility = errors.check(
        "visibility",
        parse_visibility(body.visibility.as_deref().unwrap_or("public")),
    );
    errors.into_result()?;
    let (Some(name), Some(description), Some(visibility)) = (name, description, visibility) else {
        return Err(ApiError::internal("validated group lost a field"));
    };
    let now = DateTime::now();
    let group = GroupDoc {
        id: ObjectId::new(),
        name,
        description,
        visibility,
        owner_id: auth.user_id,
        member_count: 0,
        created_at: now,
        updated_at: now,
    };
    groups::insert(&state.db, &group).await?;
    groups::add_member(&state.db, &group, auth.user_id, MemberRole::Owner).await?;
    events::record(
        &state,
        auth.user_id,
        Activity::on("group.create", "group", group.id),
    );
    let group = groups::find(&state.db, group.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Created().json(group_view(&state, &group, Some(auth.user_id)).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only the groups the viewer belongs to.
    mine: Option<bool>,
}

/// Public groups and the viewer's groups, newest first
#[utoipa::path(
    get,
    path = "/api/groups",
    tag = "groups",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of groups.", body = Page<GroupView>),
    ),
    security((), ("bearerAuth" = []))
)]
async fn list_groups(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mine = match viewer.id() {
        Some(user) => groups::group_ids_of(&state.db, user).await?,
        None => Vec::new(),
    };
    let only_mine = query.mine.unwrap_or(false);
    if only_mine {
        viewer.require()?;
    }
    let items = groups::page_visible(
        &state.db,
        &mine,
        only_mine,
        params.cursor,
        params.fetch_limit(),
    )
    .await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |g| crate::pagination::Cursor {
            key: None,
            id: g.id,
        },
        |g| g,
    );
    let results = group_views(&state, &page.results, viewer.id()).await?;
    Ok(Page {
        results,
        next: page.next,
    }
    .into_response())
}

/// A group with its first members
#[utoipa::path(
    get,
    path = "/api/groups/{id}",
    tag = "groups",
    responses(
        (status = 200, description = "The group.", body = GroupDetail),
        (status = 404, description = "`not_found`: no such group, or a private one the viewer is not in."),
    ),
    security((), ("bearerAuth" = []))
)]
async fn get_group(
    state: State,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (group, _) = visible_group(&state, &path, viewer.id()).await?;
    let members = groups::page_members(&state.db, group.id, None, DETAIL_MEMBERS).await?;
    Ok(HttpResponse::Ok().json(GroupDetail {
        group: group_view(&state, &group, viewer.id()).await?,
        members: member_views(&state, members).await?,
    }))
}

/// Edit a group (its owner only)
#[utoipa::path(
    patch,
    path = "/api/groups/{id}",
    tag = "groups",
    request_body = GroupRequest,
    responses(
        (status = 200, description = "The group, changed.", body = GroupView),
        (status = 403, description = "`permission_denied`: not its owner."),
    ),
    security(("bearerAuth" = []))
)]
async fn update_group(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
    Json(body): Json<GroupRequest>,
) -> Result<HttpResponse, ApiError> {
    let group = owned_group(&state, &path, auth).await?;
    let mut errors = FieldErrors::new();
    let change = GroupChange {
        name: body
            .name
            .as_deref()
            .and_then(|raw| errors.check("name", parse_name(raw))),
        description: body
            .description
            .as_deref()
            .and_then(|raw| errors.check("description", parse_text(raw, DESCRIPTION_MAX))),
        visibility: body
            .visibility
            .as_deref()
            .and_then(|raw| errors.check("visibility", parse_visibility(raw))),
    };
    errors.into_result()?;
    let group = groups::update(&state.db, group.id, change)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(group_view(&state, &group, Some(auth.user_id)).await?))
}

/// Delete a group (its owner only)
///
/// The group's posts go with it.
#[utoipa::path(
    delete,
    path = "/api/groups/{id}",
    tag = "groups",
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`: not its owner."),
    ),
    security(("bearerAuth" = []))
)]
async fn delete_group(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let group = owned_group(&state, &path, auth).await?;
    let group_posts = posts::ids_in_group(&state.db, group.id).await?;
    remove_posts(&state, &group_posts).await?;
    groups::delete(&state.db, group.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Join a public group
#[utoipa::path(
    post,
    path = "/api/groups/{id}/join",
    tag = "groups",
    responses(
        (status = 200, description = "The group, as a member sees it.", body = GroupView),
        (status = 403, description = "`permission_denied`: the group is private."),
    ),
    security(("bearerAuth" = []))
)]
async fn join_group(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let group = groups::find(&state.db, ObjectId::parse_str(path.as_str())?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let membership = groups::membership(&state.db, group.id, auth.user_id).await?;
    if membership.is_none() {
        if group.visibility == Visibility::Private {
            return Err(ApiError::permission_denied());
        }
        if groups::add_member(&state.db, &group, auth.user_id, MemberRole::Member).await? {
            events::record(
                &state,
                auth.user_id,
                Activity::on("group.join", "group", group.id),
            );
        }
    }
    let group = groups::find(&state.db, group.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(group_view(&state, &group, Some(auth.user_id)).await?))
}

/// Takes a member out of a group, with the group's posts out of their feed.
async fn take_out(state: &AppState, group: &GroupDoc, user: ObjectId) -> Result<bool, ApiError> {
    let removed = groups::remove_member(&state.db, group.id, user).await?;
    if removed && group.visibility == Visibility::Private {
        timelines::remove_group(&state.db, user, group.id).await?;
    }
    Ok(removed)
}

/// Leave a group
///
/// The owner cannot leave; they delete the group instead.
#[utoipa::path(
    post,
    path = "/api/groups/{id}/leave",
    tag = "groups",
    responses(
        (status = 200, description = "The group.", body = GroupView),
        (status = 400, description = "`validation_error`: the owner cannot leave."),
    ),
    security(("bearerAuth" = []))
)]
async fn leave_group(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (group, membership) = visible_group(&state, &path, Some(auth.user_id)).await?;
    if membership
        .as_ref()
        .is_some_and(|m| m.role == MemberRole::Owner)
    {
        return Err(FieldErrors::single(
            "group",
            "The owner cannot leave; delete the group instead.",
        ));
    }
    if take_out(&state, &group, auth.user_id).await? {
        events::record(
            &state,
            auth.user_id,
            Activity::on("group.leave", "group", group.id),
        );
    }
    let group = groups::find(&state.db, group.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(group_view(&state, &group, Some(auth.user_id)).await?))
}

/// A group's members, newest first
#[utoipa::path(
    get,
    path = "/api/groups/{id}/members",
    tag = "groups",
    responses(
        (status = 200, description = "A page of members.", body = Page<MemberView>),
        (status = 404, description = "`not_found`: no such group, or a private one the viewer is not in."),
    ),
    security((), ("bearerAuth" = []))
)]
async fn list_members(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (group, _) = visible_group(&state, &path, viewer.id()).await?;
    let items =
        groups::page_members(&state.db, group.id, params.cursor, params.fetch_limit()).await?;
    let page = Page::from_items(
        &req,
        params,
        items,
        |m| date_cursor(m.created_at, m.id),
        |m| m,
    );
    let results = member_views(&state, page.results).await?;
    Ok(Page {
        results,
        next: page.next,
    }
    .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AddMemberRequest {
    #[schema(value_type = String, required = true)]
    user_id: Option<String>,
}

/// Add a member (the owner only)
#[utoipa::path(
    post,
    path = "/api/groups/{id}/members",
    tag = "groups",
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Added.", body = MemberView),
        (status = 200, description = "Already a member.", body = MemberView),
        (status = 403, description = "`permission_denied`: not the owner."),
    ),
    security(("bearerAuth" = []))
)]
async fn add_member(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
    Json(body): Json<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let group = owned_group(&state, &path, auth).await?;
    let mut errors = FieldErrors::new();
    let raw = required(&mut errors, "user_id", &body.user_id).map(str::to_owned);
    errors.into_result()?;
    let user = users::find_by_ref(&state.db, raw.as_deref().unwrap_or_default())
        .await?
        .ok_or_else(|| FieldErrors::single("user_id", "No such user."))?;
    let added = groups::add_member(&state.db, &group, user.id, MemberRole::Member).await?;
    if added {
        let subject = Subject {
            group_id: Some(group.id),
            ..Subject::default()
        };
        events::notify(
            &state,
            user.id,
            NotificationType::GroupAdd,
            auth.user_id,
            subject,
        )
        .await;
    }
    let member = groups::membership(&state.db, group.id, user.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let view = member_views(&state, vec![member])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(created_or_ok(added).json(view))
}

/// Remove a member (the owner only; never the owner)
#[utoipa::path(
    delete,
    path = "/api/groups/{id}/members/{user}",
    tag = "groups",
    responses(
        (status = 204, description = "Removed."),
        (status = 403, description = "`permission_denied`: not the owner."),
    ),
    security(("bearerAuth" = []))
)]
async fn remove_member(
    state: State,
    auth: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group_id, user_ref) = path.into_inner();
    let group = owned_group(&state, &group_id, auth).await?;
    let user = named_user(&state, &user_ref).await?;
    if user.id == group.owner_id {
        return Err(FieldErrors::single("user", "The owner cannot be removed."));
    }
    take_out(&state, &group, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Posts written in or shared into a group, newest first
#[utoipa::path(
    get,
    path = "/api/groups/{id}/posts",
    tag = "groups",
    responses(
        (status = 200, description = "A page of posts.", body = Page<crate::api::post_views::PostView>),
        (status = 404, description = "`not_found`: no such group, or a private one the viewer is not in."),
    ),
    security((), ("bearerAuth" = []))
)]
async fn group_posts(
    state: State,
    viewer: Viewer,
    req: HttpRequest,
    params: PageParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (group, _) = visible_group(&state, &path, viewer.id()).await?;
    let shares =
        groups::page_shares(&state.db, group.id, params.cursor, params.fetch_limit()).await?;
    let page = Page::from_items(
        &req,
        params,
        shares,
        |s| date_cursor(s.created_at, s.id),
        |s| s.post_id,
    );
    let mut found: HashMap<ObjectId, posts::PostDoc> = posts::find_many(&state.db, &page.results)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let visible = page
        .results
        .iter()
        .filter_map(|id| found.remove(id))
        .filter(|p| viewer.can_list_post(p))
        .collect();
    let results = post_views(&state, viewer.id(), visible).await?;
    Ok(Page {
        results,
        next: page.next,
    }
    .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ShareRequest {
    #[schema(value_type = String, required = true)]
    post_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Shared {
    group_id: String,
    post_id: String,
}

/// Share a post into a group (members only)
///
/// A private group's post never leaves its group.
#[utoipa::path(
    post,
    path = "/api/groups/{id}/share",
    tag = "groups",
    request_body = ShareRequest,
    responses(
        (status = 201, description = "Shared.", body = Shared),
        (status = 200, description = "Already shared.", body = Shared),
        (status = 403, description = "`permission_denied`: not a member."),
    ),
    security(("bearerAuth" = []))
)]
async fn share_post(
    state: State,
    SignedIn { viewer, me: auth }: SignedIn,
    path: web::Path<String>,
    Json(body): Json<ShareRequest>,
) -> Result<HttpResponse, ApiError> {
    let (group, membership) = visible_group(&state, &path, Some(auth.user_id)).await?;
    if membership.is_none() {
        return Err(ApiError::permission_denied());
    }
    let mut errors = FieldErrors::new();
    let raw = required(&mut errors, "post_id", &body.post_id).map(str::to_owned);
    errors.into_result()?;
    let post = visible_post(&state, raw.as_deref().unwrap_or_default(), &viewer)
        .await
        .map_err(|_| FieldErrors::single("post_id", "No such post, or you cannot see it."))?;
    if post.group_private && post.group_id != Some(group.id) {
        return Err(FieldErrors::single(
            "post_id",
            "A private group's post stays in its group.",
        ));
    }
    let created = groups::share(&state.db, group.id, post.id, auth.user_id).await?;
    Ok(created_or_ok(created).json(Shared {
        group_id: group.id.to_hex(),
        post_id: post.id.to_hex(),
    }))
}
