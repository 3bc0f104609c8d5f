//! One's profile: name, username, bio and interests.

use bson::oid::ObjectId;

use crate::core::Services;
use crate::domain::accounts::{Email, Username};
use crate::error::{ApiError, FieldErrors};
use crate::store::posts;
use crate::store::users::{self, ProfileChange, UserDoc};

/// Applies a checked change to `user`'s profile and returns the account as it is now. A
/// username taken meanwhile is `422` on `username`. Posts show their author's username
/// and full name, so a change of either reaches them.
pub(crate) async fn change_profile(
    state: &Services,
    user: ObjectId,
    change: ProfileChange,
) -> Result<UserDoc, ApiError> {
    let renamed = change.username.is_some() || change.full_name.is_some();
    let account = users::update_profile(&state.db, user, change)
        .await
        .map_err(|e| ApiError::from_duplicate(e, users::UNIQUE_FIELDS, taken_message))?
        .ok_or(ApiError::TokenInvalid)?;
    if renamed {
        posts::refresh_author(&state.db, &account).await?;
    }
    Ok(account)
}

/// The error of a username or email that another account has.
pub fn taken_message(field: &str) -> String {
    format!("A user with that {field} already exists.")
}

/// Adds to `errors` the username and the email (each when given) that an account other
/// than `except` already has: one query for both.
pub async fn check_taken(
    services: &Services,
    errors: &mut FieldErrors,
    username: Option<&Username>,
    email: Option<&Email>,
    except: Option<ObjectId>,
) -> Result<(), ApiError> {
    let (username_taken, email_taken) = users::taken_fields(
        &services.db,
        username.map(Username::key).as_deref(),
        email.map(Email::as_str),
        except,
    )
    .await?;
    if username_taken {
        errors.add("username", taken_message("username"));
    }
    if email_taken {
        errors.add("email", taken_message("email"));
    }
    Ok(())
}
