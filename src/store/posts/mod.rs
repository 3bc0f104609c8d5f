//! The `posts` collection and `post_versions` (earlier versions of edited posts): the
//! documents and single-post queries in `base`, lists in `lists`, hashtags in `trending`.

pub mod base;
pub mod lists;
pub mod trending;

pub use base::*;
pub use lists::*;
pub use trending::*;
