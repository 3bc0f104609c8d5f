//! What every request can reach: the service's parts, assembled once by `startup`. Only
//! `api/` and `startup` see it; the services below take the parts they use.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::Db;
use crate::email::Mailer;

/// What every request can reach.
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub jwt: JwtKeys,
    pub passwords: PasswordHasher,
    pub mailer: Mailer,
    pub feed: Arc<crate::feed::Feed>,
    pub hub: Arc<crate::realtime::Hub>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub views: Arc<crate::view_counter::ViewCounter>,
    pub jobs: Arc<crate::jobs::Jobs>,
    pub list_horizon: Arc<crate::store::posts::ListHorizon>,
    /// The per-user limit on reads of notifications and activity.
    pub read_limiter: crate::api::rate_limit::ReadLimiter,
    /// Turns at decoding an image (`media.image_slots`).
    pub image_slots: Arc<tokio::sync::Semaphore>,
}
