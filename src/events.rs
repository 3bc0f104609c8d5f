//! What actions leave behind for others (notifications) and for their actor (the activity
//! log), API.md §7. Each instance's change streams (`realtime`) carry them from the
//! database to the WebSockets.
//!
//! They are side effects of an action that already succeeded, so they leave the request
//! path: a request puts them in the instance's [`Outbox`] and answers, and one task writes
//! whatever has gathered in one command per collection. While a batch is being written,
//! the next one gathers, so the busier the instance, the fewer commands per action; an
//! idle instance writes at once. Reads of one's own notifications or activity flush first,
//! so a client sees its instance's events at once. A graceful stop flushes; a crash loses
//! only what had not yet been written (a few milliseconds' worth), never the action
//! itself. A failed write is logged and retried with the next batch.

use std::sync::{Arc, Mutex};

use bson::oid::ObjectId;
use bson::{DateTime, Document};

use crate::db::Db;
use crate::store::activities::{self, ActivityDoc};
use crate::store::blocks;
use crate::store::notifications::{self, NotificationDoc, NotificationType, Subject};

#[derive(Default)]
struct Pending {
    notifications: Vec<NotificationDoc>,
    activities: Vec<ActivityDoc>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.notifications.is_empty() && self.activities.is_empty()
    }
}

/// Notifications and activity entries not yet written.
#[derive(Default)]
pub struct Outbox {
    pending: Mutex<Pending>,
    /// Held while a batch is written, so a flush returns only once everything queued
    /// before it is in the database.
    writing: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
}

impl Outbox {
    fn push(&self, add: impl FnOnce(&mut Pending)) {
        if let Ok(mut pending) = self.pending.lock() {
            add(&mut pending);
        }
        self.wake.notify_one();
    }

    /// Writes everything queued so far. What fails to be written goes back to the front
    /// of the queue for the next flush (its inserts are safe to repeat).
    pub async fn flush(&self, db: &Db) -> mongodb::error::Result<()> {
        let _writing = self.writing.lock().await;
        let taken = match self.pending.lock() {
            Ok(mut pending) if !pending.is_empty() => std::mem::take(&mut *pending),
            _ => return Ok(()),
        };
        let Pending {
            notifications,
            activities,
        } = taken;
        let mut failed = Pending::default();
        let mut result = Ok(());
        if let Err(err) = notifications::insert_many(db, &notifications).await {
            failed.notifications = notifications;
            result = Err(err);
        }
        if let Err(err) = activities::insert_many(db, &activities).await {
            failed.activities = activities;
            result = Err(err);
        }
        if !failed.is_empty() {
            if let Ok(mut pending) = self.pending.lock() {
                failed.notifications.append(&mut pending.notifications);
                failed.activities.append(&mut pending.activities);
                *pending = failed;
            }
        }
        result
    }
}

impl Outbox {
    /// Before a read of notifications or activity: what this instance queued is written
    /// first, so a client reads its own events. A failure is only logged: the read goes
    /// on, and the writer retries.
    pub async fn flush_before_read(&self, db: &Db) {
        if let Err(err) = self.flush(db).await {
            log::warn!("writing queued notifications and activity before a read failed: {err}");
        }
    }
}

/// Writes the outbox whenever something is queued; after a failure, waits a little so a
/// database outage is not met with a busy loop.
pub fn spawn_writer(db: Db, outbox: Arc<Outbox>) {
    tokio::spawn(async move {
        loop {
            outbox.wake.notified().await;
            if let Err(err) = outbox.flush(&db).await {
                log::warn!("writing notifications and activity failed, retrying: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                outbox.wake.notify_one();
            }
        }
    });
}

/// Notifies `recipient` of `actor`'s action, unless it is their own or either blocked the
/// other.
pub async fn notify(
    db: &Db,
    outbox: &Outbox,
    recipient: ObjectId,
    kind: NotificationType,
    actor: ObjectId,
    subject: Subject,
) {
    if recipient == actor {
        return;
    }
    match blocks::between(db, recipient, actor).await {
        Ok(false) => queue_notifications(outbox, [recipient], kind, actor, subject),
        Ok(true) => {}
        Err(err) => log::warn!("could not store a {kind:?} notification: {err}"),
    }
}

/// Notifies many recipients of one action (mentions, a scheduled post's followers, the
/// author of a liked or commented post). The caller has left out blocked accounts
/// (followers cannot be blocked; mentions drop them; a like or comment across a block is
/// refused before it is written).
pub fn notify_many(
    outbox: &Outbox,
    recipients: impl IntoIterator<Item = ObjectId>,
    kind: NotificationType,
    actor: ObjectId,
    subject: Subject,
) {
    queue_notifications(outbox, recipients, kind, actor, subject);
}

fn queue_notifications(
    outbox: &Outbox,
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
    if !batch.is_empty() {
        outbox.push(|pending| pending.notifications.extend(batch));
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

pub fn record(outbox: &Outbox, actor: ObjectId, activity: Activity<'_>) {
    let entry = ActivityDoc {
        id: ObjectId::new(),
        user_id: actor,
        action: activity.action.to_owned(),
        target_type: activity.target_type.to_owned(),
        target_id: activity.target_id,
        created_at: DateTime::now(),
        meta: activity.meta,
    };
    outbox.push(|pending| pending.activities.push(entry));
}
