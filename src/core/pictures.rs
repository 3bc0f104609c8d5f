//! One's pictures: the avatar and the header, each an uploaded image.

use crate::core::viewer::AuthUser;
use crate::core::Services;
use crate::error::ApiError;
use crate::store::media::{self, MediaDoc};
use crate::store::posts;
use crate::store::users::{self, Picture};

/// Sets (or with `None` removes) one of the caller's pictures, deletes the file it
/// replaced, and returns the account as it is now; an avatar's change reaches the posts
/// that show it.
pub(crate) async fn change_picture(
    state: &Services,
    auth: AuthUser,
    picture: Picture,
    file: Option<&MediaDoc>,
) -> Result<users::UserDoc, ApiError> {
    let before = users::set_picture(
        &state.db,
        auth.user_id,
        picture,
        file.map(|m| (m.id, m.url())),
    )
    .await?
    .ok_or(ApiError::TokenInvalid)?;
    let user = auth.load(state).await?;
    let replaced = match picture {
        Picture::Avatar => {
            posts::refresh_author(&state.db, &user).await?;
            before.avatar_media_id
        }
        Picture::Header => before.header_media_id,
    };
    if let Some(old) = replaced.filter(|old| file.is_none_or(|m| m.id != *old)) {
        media::delete(&state.db, old).await?;
    }
    Ok(user)
}
