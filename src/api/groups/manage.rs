//! Creating, listing, reading, changing and deleting groups.

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use bson::DateTime;
use serde::Deserialize;

use crate::api::auth_user::AuthUser;
use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::viewer::Viewer;
use crate::domain::accounts::parse_text;
use crate::error::{ApiError, FieldErrors};
use crate::jobs::Cascade;
use crate::pagination::{Page, PageParams};
use crate::store::events::Activity;
use crate::store::groups::{self, GroupChange, GroupDoc, MemberRole};

use super::*;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct GroupRequest {
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
pub(crate) async fn create_group(
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
    state
        .jobs
        .record(
            auth.user_id,
            Activity::on("group.create", "group", group.id),
        )
        .await?;
    let group = groups::find(&state.db, group.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Created().json(group_view(&state, &group, Some(auth.user_id)).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
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
pub(crate) async fn list_groups(
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
        |g| crate::pagination::Cursor::at(g.id),
        |g| g,
    );
    let results = group_views(&state, &page.results, viewer.id()).await?;
    Ok(Page::respond(results, page.next))
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
pub(crate) async fn get_group(
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
pub(crate) async fn update_group(
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
    let going_private =
        group.visibility != Visibility::Private && change.visibility == Some(Visibility::Private);
    let group = groups::update(&state.db, group.id, change)
        .await?
        .ok_or(ApiError::NotFound)?;
    if going_private {
        // URLs handed out while the group was public must stop working: its files get
        // new keys, which only its members are handed from now on.
        let shown = crate::store::posts::media_ids_in_group(&state.db, group.id).await?;
        crate::media_keys::rekey(&state.db, &shown).await?;
    }
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
pub(crate) async fn delete_group(
    state: State,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let group = owned_group(&state, &path, auth).await?;
    state.jobs.cascade(Cascade::Group { id: group.id }).await?;
    Ok(HttpResponse::NoContent().finish())
}
