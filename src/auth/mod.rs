//! Authentication: JWT access tokens, bcrypt passwords, sessions. The extractors that
//! apply them to a request are in `api::auth_user` and `api::viewer`.

pub mod jwt;
pub mod oauth;
pub mod password;
pub mod sessions;
