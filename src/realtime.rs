//! Real time (API.md §7, DESIGN.md "Real time"): each instance watches change streams on
//! `notifications` and `activities` (inserts) and on `sessions` (deletes), and pushes to
//! the sockets connected to it. An event that happened on any instance reaches every
//! socket; a logout anywhere closes that session's sockets everywhere. A dropped stream
//! resumes from the token of the last event it delivered, so nothing is lost or repeated.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::doc;
use bson::oid::ObjectId;
use futures::StreamExt;
use mongodb::change_stream::event::{ChangeStreamEvent, ResumeToken};
use mongodb::change_stream::ChangeStream;
use mongodb::Collection;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::db::Db;
use crate::store::activities::ActivityDoc;
use crate::store::notifications::NotificationDoc;
use crate::store::sessions::SessionDoc;
use crate::views::posts::minis;
use crate::views::{ActivityView, NotificationView};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Notifications,
    Activity,
    /// A Mastodon streaming socket: told the ids of its user's new notifications (it
    /// builds Mastodon's entity itself).
    Mastodon,
}

/// What a socket task is told.
#[derive(Debug)]
pub enum Push {
    /// A JSON text frame about the event `id`.
    Message { id: ObjectId, text: String },
    /// The socket's session was revoked.
    Close,
}

struct Subscriber {
    id: u64,
    session_id: ObjectId,
    sender: UnboundedSender<Push>,
}

/// The sockets connected to this instance, by user and channel.
#[derive(Default)]
pub struct Hub {
    subscribers: Mutex<HashMap<(ObjectId, Channel), Vec<Subscriber>>>,
    next_id: AtomicU64,
}

impl Hub {
    pub fn subscribe(
        &self,
        user: ObjectId,
        session_id: ObjectId,
        channel: Channel,
    ) -> (u64, UnboundedReceiver<Push>) {
        let (sender, receiver) = unbounded_channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut all) = self.subscribers.lock() {
            all.entry((user, channel)).or_default().push(Subscriber {
                id,
                session_id,
                sender,
            });
        }
        (id, receiver)
    }

    pub fn unsubscribe(&self, user: ObjectId, channel: Channel, id: u64) {
        if let Ok(mut all) = self.subscribers.lock() {
            if let Some(list) = all.get_mut(&(user, channel)) {
                list.retain(|s| s.id != id);
                if list.is_empty() {
                    all.remove(&(user, channel));
                }
            }
        }
    }

    fn is_listening(&self, user: ObjectId, channel: Channel) -> bool {
        self.subscribers
            .lock()
            .is_ok_and(|all| all.contains_key(&(user, channel)))
    }

    fn deliver(&self, user: ObjectId, channel: Channel, id: ObjectId, text: &str) {
        if let Ok(all) = self.subscribers.lock() {
            for subscriber in all.get(&(user, channel)).into_iter().flatten() {
                let _ = subscriber.sender.send(Push::Message {
                    id,
                    text: text.to_owned(),
                });
            }
        }
    }

    fn close_session(&self, session_id: ObjectId) {
        if let Ok(all) = self.subscribers.lock() {
            for subscriber in all
                .values()
                .flatten()
                .filter(|s| s.session_id == session_id)
            {
                let _ = subscriber.sender.send(Push::Close);
            }
        }
    }
}

/// The text frame for a notification: `{"type":"notification","data":Notification}`.
pub fn notification_frame(view: &NotificationView) -> String {
    serde_json::json!({ "type": "notification", "data": view }).to_string()
}

fn activity_frame(view: &ActivityView) -> String {
    serde_json::json!({ "type": "activity", "data": view }).to_string()
}

async fn open<T>(
    collection: &Collection<T>,
    operation: &str,
    resume: Option<ResumeToken>,
) -> mongodb::error::Result<ChangeStream<ChangeStreamEvent<T>>>
where
    T: DeserializeOwned + Unpin + Send + Sync,
{
    collection
        .watch()
        .pipeline([doc! { "$match": { "operationType": operation } }])
        .resume_after(resume)
        .await
}

/// Runs `handle` on every event of an open stream, for as long as the process lives,
/// reopening the stream after the last delivered event whenever it drops.
fn follow<T, H, F>(
    collection: Collection<T>,
    operation: &'static str,
    first: ChangeStream<ChangeStreamEvent<T>>,
    handle: H,
) where
    T: DeserializeOwned + Unpin + Send + Sync + 'static,
    H: Fn(ChangeStreamEvent<T>) -> F + Send + 'static,
    F: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut stream = first;
        loop {
            match stream.next().await {
                Some(Ok(event)) => handle(event).await,
                other => {
                    if let Some(Err(err)) = other {
                        log::warn!("change stream on {} dropped: {err}", collection.name());
                    }
                    let token = stream.resume_token();
                    stream = loop {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        match open(&collection, operation, token.clone()).await {
                            Ok(reopened) => break reopened,
                            Err(err) => log::warn!(
                                "cannot reopen the change stream on {}: {err}",
                                collection.name()
                            ),
                        }
                    };
                }
            }
        }
    });
}

/// What the followers of the change streams push with.
struct Pushing {
    db: Db,
    hub: Arc<Hub>,
}

/// Opens the change streams (so that no event after start-up is missed) and follows them,
/// pushing what they bring through `hub`.
pub async fn start(db: Db, hub: Arc<Hub>) -> mongodb::error::Result<()> {
    let state = Arc::new(Pushing { db, hub });
    let notifications = crate::store::notifications::collection(&state.db);
    let first = open(&notifications, "insert", None).await?;
    let hub_state = state.clone();
    follow(
        notifications,
        "insert",
        first,
        move |event: ChangeStreamEvent<NotificationDoc>| {
            let state = hub_state.clone();
            async move {
                let Some(doc) = event.full_document else {
                    return;
                };
                if state.hub.is_listening(doc.user_id, Channel::Mastodon) {
                    state
                        .hub
                        .deliver(doc.user_id, Channel::Mastodon, doc.id, "");
                }
                if !state.hub.is_listening(doc.user_id, Channel::Notifications) {
                    return;
                }
                match minis(&state.db, std::iter::once(doc.actor_id)).await {
                    Ok(actors) => {
                        if let Some(actor) = actors.get(&doc.actor_id) {
                            let frame =
                                notification_frame(&NotificationView::new(&doc, actor.clone()));
                            state
                                .hub
                                .deliver(doc.user_id, Channel::Notifications, doc.id, &frame);
                        }
                    }
                    Err(err) => log::warn!("cannot load a notification's actor: {err}"),
                }
            }
        },
    );

    let activities = crate::store::activities::collection(&state.db);
    let first = open(&activities, "insert", None).await?;
    let hub_state = state.clone();
    follow(
        activities,
        "insert",
        first,
        move |event: ChangeStreamEvent<ActivityDoc>| {
            let state = hub_state.clone();
            async move {
                if let Some(doc) = event.full_document {
                    let frame = activity_frame(&ActivityView::new(&doc));
                    state
                        .hub
                        .deliver(doc.user_id, Channel::Activity, doc.id, &frame);
                }
            }
        },
    );

    let sessions = crate::store::sessions::collection(&state.db);
    let first = open(&sessions, "delete", None).await?;
    let hub_state = state.clone();
    follow(
        sessions,
        "delete",
        first,
        move |event: ChangeStreamEvent<SessionDoc>| {
            let state = hub_state.clone();
            async move {
                if let Some(id) = event
                    .document_key
                    .and_then(|key| key.get_object_id("_id").ok())
                {
                    state.hub.close_session(id);
                }
            }
        },
    );
    Ok(())
}
