//! The operations every façade shares — the native API, RealWorld and Mastodon — with
//! their rules: posting, editing and removing posts, commenting, liking, following and
//! blocking, reporting, suggesting accounts, changing one's pictures and profile,
//! signing up and the sign-in check, counting rate limits, taking in uploaded files.
//! Each is written once here and called by every façade that offers it; `api/` parses a
//! request, calls one of these and shapes the answer.
//!
//! They take `Services` (the database, settings, feed, job queue, password hashing and
//! image-decoding turns) and the `Viewer` (who asks, and what they may see), both
//! defined here: `core` imports nothing from `api` (`tests/architecture.rs`).

pub mod accounts;
pub mod comments;
pub mod likes;
pub mod limits;
pub mod media;
pub mod pictures;
pub mod posts;
pub mod profile;
pub mod reports;
pub mod services;
pub mod social;
pub mod suggestions;
pub mod viewer;

pub use services::Services;
