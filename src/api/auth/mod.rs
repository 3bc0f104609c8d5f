//! Accounts and sessions: signing up and verifying (`signup`), logging in and out
//! (`sessions`), passwords (`passwords`).

pub mod passwords;
pub mod sessions;
pub mod signup;
