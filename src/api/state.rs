//! What every request can reach: the service's parts, assembled once by `startup`. Only
//! `api/` and `startup` see it; the operations below take the parts they use (`core`'s
//! take `Services`, which this derefs to).

use std::ops::Deref;
use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::core::Services;
use crate::email::Mailer;

/// What every request can reach: the core's services (`state.db`, `state.settings`,
/// `state.feed`, `state.jobs`, `state.passwords`… through `Deref`) and what only the
/// HTTP side uses.
pub struct AppState {
    pub services: Services,
    pub jwt: JwtKeys,
    pub mailer: Mailer,
    pub hub: Arc<crate::realtime::Hub>,
    /// The Mastodon sockets of this instance and the change streams they read.
    pub mastodon_streams: Arc<crate::api::mastodon::streaming::Streams>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub views: Arc<crate::view_counter::ViewCounter>,
    pub list_horizon: Arc<crate::store::posts::ListHorizon>,
    /// The public list's count, for RealWorld's unfiltered `articlesCount`.
    pub list_count: Arc<crate::store::posts::ListCount>,
    /// The per-user limit on reads of notifications and activity.
    pub read_limiter: crate::api::rate_limit::ReadLimiter,
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}
