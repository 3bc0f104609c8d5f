//! Validated domain types and the pure rules of the service.

pub mod accounts;
pub mod image_metadata;
pub mod media;
pub mod posts;
