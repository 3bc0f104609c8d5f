//! HTTP resources, one file each, each with `routes(cfg)`.

pub mod activity;
pub mod auth;
pub mod auth_user;
pub mod comments;
pub mod dev;
pub mod discover;
pub mod docs;
pub mod extract;
pub mod feed;
pub mod groups;
pub mod idempotency;
pub mod likes;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod ops;

pub mod posts;
pub mod rate_limit;
pub mod social;
pub mod sockets;
pub mod state;
pub mod users;
pub mod verify_page;
pub mod viewer;

use actix_web::web;

/// Everything under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .configure(docs::routes)
            .configure(dev::routes)
            .configure(auth::routes)
            // Fixed paths (`/users/search`, `/posts/feed`…) before the `{user}` and `{id}`
            // patterns that would otherwise take them.
            .configure(discover::routes)
            .configure(feed::routes)
            .configure(media::routes)
            .configure(social::routes)
            .configure(users::routes)
            .configure(posts::routes)
            .configure(likes::routes)
            .configure(comments::routes)
            .configure(notifications::routes)
            .configure(activity::routes)
            .configure(groups::routes)
            .configure(moderation::routes),
    );
}
