//! One module per collection: its document struct and the queries on it. Every filter
//! here is served by an index created in `db::Db::ensure_indexes`.

pub mod sessions;
pub mod tokens;
pub mod users;
