//! The `users` collection: the document and lookups in `base`, changes to an account in
//! `changes`, bulk reads in `search`.

pub mod base;
pub mod changes;
pub mod search;

pub use base::*;
pub use changes::*;
pub use search::*;
