//! HTTP integration tests: each test starts the real app against its own database.

mod auth;
mod cli;
mod helpers;
mod ops;
mod sessions;
mod users;
