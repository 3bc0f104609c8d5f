//! A group's posts, and sharing a post into a group.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::api::extract::created_or_ok;
use crate::api::extract::required;
use crate::api::extract::Json;
use crate::api::viewer::visible_post;
use crate::api::viewer::{SignedIn, Viewer};
use crate::error::{ApiError, FieldErrors};
use crate::pagination::{Page, PageParams};
use crate::store::groups::{self};
use crate::store::{date_cursor, posts};
use crate::views::posts::post_views;

use super::*;

/// Posts written in or shared into a group, newest first
#[utoipa::path(
    get,
    path = "/api/groups/{id}/posts",
    tag = "groups",
    responses(
        (status = 200, description = "A page of posts.", body = Page<crate::views::posts::PostView>),
        (status = 404, description = "`not_found`: no such group, or a private one the viewer is not in."),
    ),
    security((), ("bearerAuth" = []))
)]
pub(crate) async fn group_posts(
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
    let results = post_views(&state.db, viewer.id(), visible).await?;
    Ok(Page::respond(results, page.next))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ShareRequest {
    #[schema(value_type = String, required = true)]
    post_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Shared {
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
pub(crate) async fn share_post(
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
