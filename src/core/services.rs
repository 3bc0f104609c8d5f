//! The parts of the service the core operations use: the database, the settings, the
//! feed, the job queue, the group writers, password hashing and the image-decoding turns.
//! `api::state::AppState` holds them beside what only HTTP needs (token keys, mail, the
//! read limiter, sockets) and derefs to them, so a handler passes `&state` where an
//! operation asks for `&Services`.

use std::sync::Arc;

use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::Db;
use crate::feed::Feed;
use crate::jobs::Jobs;
use crate::store::group_write::{GroupInc, GroupInsert};
use crate::store::posts::PostDoc;
use crate::store::timelines::TimelineBatch;

pub struct Services {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub feed: Arc<Feed>,
    pub jobs: Arc<Jobs>,
    /// bcrypt, on its own threads.
    pub passwords: PasswordHasher,
    /// Turns at decoding an image (`media.image_slots`).
    pub image_slots: tokio::sync::Semaphore,
    /// The writes of a new post, several requests' to a command under load.
    pub writes: Writes,
    /// The session checks, several requests' to a command under load.
    pub checks: crate::store::sessions::GroupCheck,
}

/// The group writers (`store::group_write`) of what creating a post writes besides its job.
pub struct Writes {
    pub posts: GroupInsert<PostDoc>,
    /// The authors' own timeline entries.
    pub own_entries: GroupInsert<TimelineBatch>,
    /// `posts_count` plus one.
    pub posts_counts: GroupInc,
}

impl Writes {
    pub fn new(db: &Db, counted: bool) -> Self {
        Self {
            posts: GroupInsert::new(crate::store::posts::collection(db), counted),
            own_entries: GroupInsert::new(crate::store::timelines::collection(db), counted),
            posts_counts: GroupInc::new(
                crate::store::users::collection(db).clone_with_type(),
                "posts_count",
                1,
                counted,
            ),
        }
    }
}
