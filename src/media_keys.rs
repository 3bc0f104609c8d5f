//! Who may download a file: whoever holds its URL. Every URL the API hands out carries the
//! file's capability key (128 random bits), and the API hands a file's URL only to readers
//! who may see it: the uploader, and the readers of the posts (and the profile) that show
//! it. A download without the right key is a `404`, whatever the id.
//!
//! When a post that showed a file is removed, the file gets a new key, which retires every
//! URL handed out before; the posts that still show it hand out the new one.

use bson::oid::ObjectId;

use crate::db::Db;
use crate::domain::media::{media_url, new_media_key};
use crate::store::users::{self, Picture};
use crate::store::{media, posts};

/// Gives each file a new key. An avatar's URL, stored on its owner's account and posts,
/// follows, as does a header's on the account.
pub async fn rekey(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<()> {
    for id in ids {
        let key = new_media_key();
        let Some(before) = media::replace_key(db, *id, &key).await? else {
            continue;
        };
        let owner = before.metadata.owner_id;
        let url = media_url(*id, &key);
        if users::set_picture_url(db, owner, Picture::Avatar, *id, &url).await? {
            posts::replace_author_avatar(db, owner, &before.url(), Some(&url)).await?;
        } else {
            users::set_picture_url(db, owner, Picture::Header, *id, &url).await?;
        }
    }
    Ok(())
}

/// The upgrade to keyed URLs (`rookery migrate`, and the start of `serve`): every file
/// stored before keys existed gets one, and the avatar URLs stored for it follow, so
/// existing files keep working through the URLs the API now hands out. Returns how many
/// files it keyed; a second run finds none.
pub async fn key_files_without_one(db: &Db) -> mongodb::error::Result<usize> {
    let ids = media::ids_without_key(db).await?;
    rekey(db, &ids).await?;
    Ok(ids.len())
}
