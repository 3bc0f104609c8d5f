//! HTTP: handlers (one file or folder per resource), the route table (`routes`), the
//! extractors, the middleware and the app state.

pub mod activity;
pub mod auth;
pub mod auth_user;
pub mod comments;
pub mod cors;
pub mod dev;
pub mod discover;
pub mod docs;
pub mod extract;
pub mod feed;
pub mod groups;
pub mod idempotency;
pub mod likes;
pub mod mastodon;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod realworld;

pub mod posts;
pub mod rate_limit;
pub mod routes;
pub mod social;
pub mod sockets;
pub mod state;
pub mod users;
pub mod verify_page;
pub mod viewer;
