//! Reports: a user's report on a post, for moderators to decide.

use bson::oid::ObjectId;

use crate::core::Services;
use crate::error::{ApiError, FieldErrors};
use crate::feed;
use crate::store::events::Activity;
use crate::store::posts::PostDoc;
use crate::store::reports::{self, ReportDoc};

/// A report's reason: one of `REASONS`, any case.
pub(crate) fn parse_reason(raw: &str) -> Result<String, String> {
    let reason = raw.trim().to_lowercase();
    if REASONS.contains(&reason.as_str()) {
        Ok(reason)
    } else {
        Err(format!("Choose one of: {}.", REASONS.join(", ")))
    }
}

/// Files `reporter`'s report on `post` (a reason from `parse_reason`, details checked),
/// or returns the one they filed before (`false`). A new report is recorded as the
/// reporter's activity, and once `moderation.hide_after_reports` distinct users have open
/// reports on the post it leaves the lists until a moderator decides. One's own post
/// cannot be reported (`422`).
pub(crate) async fn file_report(
    state: &Services,
    reporter: ObjectId,
    post: &PostDoc,
    reason: String,
    details: String,
) -> Result<(ReportDoc, bool), ApiError> {
    if post.author_id == reporter {
        return Err(FieldErrors::single(
            "post",
            "You cannot report your own post.",
        ));
    }
    let (report, created) = reports::file(&state.db, post.id, reporter, reason, details).await?;
    if created {
        state
            .jobs
            .record(reporter, Activity::on("post.report", "post", post.id))
            .await?;
        if reports::open_reporters(&state.db, post.id).await?
            >= state.settings.moderation.hide_after_reports
        {
            feed::set_hidden(&state.db, post.id, true).await?;
        }
    }
    Ok((report, created))
}

/// The reasons a report may give.
pub(crate) const REASONS: &[&str] = &[
    "spam",
    "harassment",
    "hate",
    "violence",
    "nudity",
    "misinformation",
    "other",
];

/// The longest details of a report, in characters.
pub(crate) const DETAILS_MAX: usize = 1000;
