//! The operations every façade shares — the native API, RealWorld and Mastodon — with
//! their rules: posting, editing and removing posts, commenting, liking, following and
//! blocking, reporting, suggesting accounts, changing one's pictures. Each is written
//! once here and called by all three; `api/` parses a request, calls one of these and
//! shapes the answer.
//!
//! They still take the app state and the viewer from `api` (the next step is the
//! narrower set of services each uses).

pub mod comments;
pub mod likes;
pub mod pictures;
pub mod posts;
pub mod profile;
pub mod reports;
pub mod social;
pub mod suggestions;
