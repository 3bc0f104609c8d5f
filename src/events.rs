//! What actions leave behind for others (notifications) and for their actor (the activity
//! log), API.md §7. Both are written to the database; each instance's change streams
//! (`realtime`) carry them to the WebSockets.
//!
//! They are side effects of an action that already succeeded, so a failure to write one is
//! logged, not turned into a failed request.

use bson::oid::ObjectId;
use bson::{DateTime, Document};

use crate::startup::AppState;
use crate::store::activities::{self, ActivityDoc};
use crate::store::blocks;
use crate::store::notifications::{self, NotificationDoc, NotificationType, Subject};

/// Notifies `recipient` of `actor`'s action, unless it is their own or either blocked the
/// other.
pub async fn notify(
    state: &AppState,
    recipient: ObjectId,
    kind: NotificationType,
    actor: ObjectId,
    subject: Subject,
) {
    if recipient == actor {
        return;
    }
    let result = async {
        if blocks::between(&state.db, recipient, actor).await? {
            return Ok(());
        }
        notifications::insert_many(
            &state.db,
            vec![NotificationDoc::new(recipient, kind, actor, subject)],
        )
        .await
    }
    .await;
    if let Err(err) = result {
        log::warn!("could not store a {kind:?} notification: {err}");
    }
}

/// Notifies many recipients of one action (mentions, a scheduled post's followers). The
/// caller has left out blocked accounts (followers cannot be blocked; mentions drop them).
pub async fn notify_many(
    state: &AppState,
    recipients: impl IntoIterator<Item = ObjectId>,
    kind: NotificationType,
    actor: ObjectId,
    subject: Subject,
) {
    let batch: Vec<NotificationDoc> = recipients
        .into_iter()
        .filter(|r| *r != actor)
        .map(|r| NotificationDoc::new(r, kind, actor, subject))
        .collect();
    if let Err(err) = notifications::insert_many(&state.db, batch).await {
        log::warn!("could not store {kind:?} notifications: {err}");
    }
}

/// An entry of the activity log (API.md §7 lists the `action`s).
pub struct Activity<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<ObjectId>,
    pub meta: Document,
}

impl<'a> Activity<'a> {
    pub fn on(action: &'a str, target_type: &'a str, target_id: ObjectId) -> Self {
        Self {
            action,
            target_type,
            target_id: Some(target_id),
            meta: Document::new(),
        }
    }
}

pub async fn record(state: &AppState, actor: ObjectId, activity: Activity<'_>) {
    let entry = ActivityDoc {
        id: ObjectId::new(),
        user_id: actor,
        action: activity.action.to_owned(),
        target_type: activity.target_type.to_owned(),
        target_id: activity.target_id,
        created_at: DateTime::now(),
        meta: activity.meta,
    };
    if let Err(err) = activities::insert(&state.db, &entry).await {
        log::warn!("could not record activity {}: {err}", entry.action);
    }
}
