//! Validated domain types and the pure rules of the service.

pub mod accounts;
pub mod media;
pub mod posts;
