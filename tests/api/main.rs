//! HTTP integration tests: each test starts the real app against its own database.

mod auth;
mod cli;
mod comments;
mod cors;
mod docs;
mod faults;
mod feed;
mod groups;
mod helpers;
mod hostile;
mod idempotency;
mod jobs;
mod likes;
mod limits;
mod media;
mod media_pipeline;
mod media_privacy;
mod moderation;
mod ops;
mod posts;
mod realtime;
mod realworld;
mod sessions;
mod social;
mod users;
mod visibility;
