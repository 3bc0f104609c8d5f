//! What actions leave behind for others (notifications) and for their actor (the activity
//! log). Each instance's change streams (`realtime`) carry them from the database to the
//! WebSockets.
//!
//! They are side effects of an action that already succeeded, so they leave the request
//! path, durably: a request gathers what its action leaves behind in one [`Events`] and
//! writes it as one `events` job before it answers (`Jobs::events`); the workers write the
//! notifications and entries of many such jobs in one command per collection. Each
//! document's `_id` is chosen when the job is written, so a job run twice writes each once.
//! Reads of one's own notifications or activity run the due `events` jobs first
//! (`Jobs::drain`), so a client reads its own events at once.

use bson::oid::ObjectId;
use bson::{DateTime, Document};
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::store::activities::{self, ActivityDoc};
use crate::store::blocks;
use crate::store::notifications::{self, NotificationDoc, NotificationType, Subject};

/// The notifications and activity entries of one action (or of a batch of jobs).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Events {
    #[serde(default)]
    pub notifications: Vec<NotificationDoc>,
    #[serde(default)]
    pub activities: Vec<ActivityDoc>,
}

impl Events {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.notifications.is_empty() && self.activities.is_empty()
    }

    /// Notifies each of `recipients` of `actor`'s action, except the actor. The caller has
    /// left out blocked accounts (a like or comment across a block is refused before it is
    /// written; mentions and followers drop them) or uses `notify_unless_blocked`.
    pub fn notify(
        mut self,
        recipients: impl IntoIterator<Item = ObjectId>,
        kind: NotificationType,
        actor: ObjectId,
        subject: Subject,
    ) -> Self {
        self.notifications.extend(
            recipients
                .into_iter()
                .filter(|r| *r != actor)
                .map(|r| NotificationDoc::new(r, kind, actor, subject)),
        );
        self
    }

    /// Notifies `recipient`, unless it is the actor or either blocked the other.
    pub async fn notify_unless_blocked(
        self,
        db: &Db,
        recipient: ObjectId,
        kind: NotificationType,
        actor: ObjectId,
        subject: Subject,
    ) -> mongodb::error::Result<Self> {
        if recipient == actor || blocks::between(db, recipient, actor).await? {
            return Ok(self);
        }
        Ok(self.notify([recipient], kind, actor, subject))
    }

    /// Adds an entry to `actor`'s activity log.
    pub fn record(mut self, actor: ObjectId, activity: Activity<'_>) -> Self {
        self.activities.push(ActivityDoc {
            id: ObjectId::new(),
            user_id: actor,
            action: activity.action.to_owned(),
            target_type: activity.target_type.to_owned(),
            target_id: activity.target_id,
            created_at: DateTime::now(),
            meta: activity.meta,
        });
        self
    }

    /// Adds another action's events (a batch of jobs written together).
    pub fn merge(&mut self, other: Events) {
        self.notifications.extend(other.notifications);
        self.activities.extend(other.activities);
    }

    /// Writes everything, one command per collection; what is already there (an earlier
    /// run of the same job) counts as written.
    pub async fn write(&self, db: &Db) -> mongodb::error::Result<()> {
        notifications::insert_many(db, &self.notifications).await?;
        activities::insert_many(db, &self.activities).await
    }
}

/// An entry of the activity log (`docs/API.md` lists the `action`s).
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
