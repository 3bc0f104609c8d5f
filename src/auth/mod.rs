//! Authentication: JWT access tokens, bcrypt passwords, sessions, and the extractors.

pub mod extract;
pub mod jwt;
pub mod password;
pub mod sessions;

pub use extract::AuthUser;
