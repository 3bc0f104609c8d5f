//! Reports: `POST /api/v1/reports` files the native report on each reported status.
//! Rookery's reports are about posts, which moderators decide one by one; a Mastodon
//! report names an account and, optionally, some of its statuses, so Rookery asks for at
//! least one status and files one native report per post.

use actix_web::{web, HttpResponse};
use bson::oid::ObjectId;
use serde::Deserialize;
use serde_json::json;

use super::accounts::account;
use super::auth::User;
use super::params::{self, Params};
use super::statuses::{find_status, Found};
use crate::api::state::AppState;
use crate::api::viewer::visible_user;
use crate::core::reports::{file_report, parse_reason, DETAILS_MAX};
use crate::domain::accounts::parse_text;
use crate::domain::rfc3339;
use crate::error::{ApiError, FieldErrors};

type State = web::Data<AppState>;

/// The most statuses one report may name.
const MOST_STATUSES: usize = 40;

#[derive(Deserialize)]
struct ReportForm {
    #[serde(default, deserialize_with = "params::text")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "params::list")]
    status_ids: Vec<String>,
    #[serde(default, deserialize_with = "params::text")]
    comment: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    category: Option<String>,
}

/// Mastodon's category as Rookery's reason (`spam` is `spam`; `violation`, `legal` and
/// `other` are `other`, as Rookery has no server rules; Rookery's own reasons are taken
/// as they are), and the category to answer with.
fn reason_of(category: Option<&str>) -> Result<(String, &'static str), String> {
    match category.map(str::trim).unwrap_or("other") {
        "spam" => Ok(("spam".into(), "spam")),
        "violation" | "legal" | "other" | "" => Ok(("other".into(), "other")),
        own => parse_reason(own)
            .map(|reason| (reason, "other"))
            .map_err(|_| {
                "Choose one of: spam, violation, legal, other (or one of Rookery's reasons)."
                    .to_owned()
            }),
    }
}

/// `POST /api/v1/reports` (`write:reports`): `account_id`, `status_ids[]` (at least one
/// of that account's posts the caller can see; a reply cannot be reported), `comment`
/// (up to 1 000 characters), `category`; `forward` and `rule_ids[]` change nothing.
/// Answers the `Report`, whose id is the first post's report.
pub async fn create(state: State, user: User, form: Params) -> Result<HttpResponse, ApiError> {
    user.need("write:reports")?;
    let form: ReportForm = form.take()?;
    let mut errors = FieldErrors::new();
    let (reason, category) = match reason_of(form.category.as_deref()) {
        Ok(pair) => (Some(pair.0), pair.1),
        Err(e) => {
            errors.add("category", e);
            (None, "other")
        }
    };
    let comment = errors.check(
        "comment",
        parse_text(form.comment.as_deref().unwrap_or(""), DETAILS_MAX),
    );
    if form.status_ids.is_empty() {
        errors.add(
            "status_ids",
            "Rookery's reports are about posts: choose at least one of the account's statuses",
        );
    } else if form.status_ids.len() > MOST_STATUSES {
        errors.add(
            "status_ids",
            format!("at most {MOST_STATUSES} statuses a report"),
        );
    }
    let raw_account = form
        .account_id
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if raw_account.is_none() {
        errors.add("account_id", "is required");
    }
    errors.into_result()?;
    let (Some(reason), Some(comment), Some(raw_account)) = (reason, comment, raw_account) else {
        return Err(ApiError::internal("validated report lost a field"));
    };
    ObjectId::parse_str(raw_account).map_err(|_| ApiError::NotFound)?;
    let target = visible_user(&state, raw_account, &user.viewer).await?;

    // Every status first, so a refused one files nothing.
    let mut errors = FieldErrors::new();
    let mut reported = Vec::with_capacity(form.status_ids.len());
    for id in &form.status_ids {
        match find_status(&state, id, &user.viewer).await? {
            Found::Post(post) if post.author_id == target.id => {
                if !reported
                    .iter()
                    .any(|p: &crate::store::posts::PostDoc| p.id == post.id)
                {
                    reported.push(post);
                }
            }
            Found::Post(_) => errors.add("status_ids", format!("{id} is not this account's")),
            Found::Comment(..) => errors.add(
                "status_ids",
                format!("{id} is a reply: Rookery reports are about posts, report the post"),
            ),
        }
    }
    errors.into_result()?;
    let mut first = None;
    for post in &reported {
        let (report, _) = file_report(
            &state,
            user.me.user_id,
            post,
            reason.clone(),
            comment.clone(),
        )
        .await?;
        first.get_or_insert(report);
    }
    let report = first.ok_or_else(|| ApiError::internal("a report without posts"))?;
    Ok(HttpResponse::Ok().json(json!({
        "id": report.id.to_hex(),
        "action_taken": false,
        "action_taken_at": null,
        "category": category,
        "comment": comment,
        "forwarded": false,
        "created_at": rfc3339(report.created_at),
        "status_ids": reported.iter().map(|p| p.id.to_hex()).collect::<Vec<_>>(),
        "rule_ids": null,
        "target_account": account(&state, &target),
    })))
}

#[cfg(test)]
mod tests {
    use super::reason_of;

    #[test]
    fn categories_map_to_rookery_reasons() {
        assert_eq!(reason_of(None), Ok(("other".into(), "other")));
        assert_eq!(reason_of(Some("spam")), Ok(("spam".into(), "spam")));
        assert_eq!(reason_of(Some("violation")), Ok(("other".into(), "other")));
        assert_eq!(reason_of(Some("legal")), Ok(("other".into(), "other")));
        assert_eq!(
            reason_of(Some("Harassment")),
            Ok(("harassment".into(), "other"))
        );
        assert!(reason_of(Some("boring")).is_err());
    }
}
