//! Validated domain types and the pure rules of the service.

pub mod accounts;
pub mod cursor;
pub mod image_metadata;
pub mod image_variants;
pub mod media;
pub mod posts;
pub mod video;

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-22T10:15:30.123Z`.
pub fn rfc3339(dt: bson::DateTime) -> String {
    dt.to_chrono()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
