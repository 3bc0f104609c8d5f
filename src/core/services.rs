//! The parts of the service the core operations use: the database, the settings, the
//! feed, the job queue, password hashing and the image-decoding turns.
//! `api::state::AppState` holds them beside what only HTTP needs (token keys, mail, the
//! read limiter, sockets) and derefs to them, so a handler passes `&state` where an
//! operation asks for `&Services`.

use std::sync::Arc;

use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::Db;
use crate::feed::Feed;
use crate::jobs::Jobs;

pub struct Services {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub feed: Arc<Feed>,
    pub jobs: Arc<Jobs>,
    /// bcrypt, on its own threads.
    pub passwords: PasswordHasher,
    /// Turns at decoding an image (`media.image_slots`).
    pub image_slots: tokio::sync::Semaphore,
}
