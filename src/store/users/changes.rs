//! Changing an account: profile, avatar, role, status, verification, password.

use super::base::*;
use bson::oid::ObjectId;
use bson::{doc, DateTime};
use mongodb::options::ReturnDocument;

use crate::db::Db;
use crate::domain::accounts::username_key;

/// Marks `address` verified, if the account still uses it; whether it did.
pub async fn mark_email_verified(
    db: &Db,
    id: ObjectId,
    address: &str,
) -> mongodb::error::Result<bool> {
    let result = collection(db)
        .update_one(
            doc! { "_id": id, "email": address },
            doc! { "$set": { "email_verified": true, "updated_at": DateTime::now() } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

pub async fn set_password_hash(
    db: &Db,
    id: ObjectId,
    password_hash: &str,
    verify_email: bool,
) -> mongodb::error::Result<()> {
    let mut set = doc! { "password_hash": password_hash, "updated_at": DateTime::now() };
    if verify_email {
        set.insert("email_verified", true);
    }
    collection(db)
        .update_one(doc! { "_id": id }, doc! { "$set": set })
        .await?;
    Ok(())
}

/// The profile fields a user may change about themselves; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub bio: Option<String>,
    pub interests: Option<Vec<String>>,
}

pub async fn update_profile(
    db: &Db,
    id: ObjectId,
    change: ProfileChange,
) -> mongodb::error::Result<Option<UserDoc>> {
    let mut set = doc! { "updated_at": DateTime::now() };
    if let Some(username) = change.username {
        set.insert("username_key", username_key(&username));
        set.insert("username", username);
    }
    if let Some(full_name) = change.full_name {
        set.insert("full_name", full_name);
    }
    if let Some(bio) = change.bio {
        set.insert("bio", bio);
    }
    if let Some(interests) = change.interests {
        set.insert("interests", interests);
    }
    collection(db)
        .find_one_and_update(doc! { "_id": id }, doc! { "$set": set })
        .return_document(ReturnDocument::After)
        .await
}

/// Makes an existing account a verified admin with the given password hash.
pub async fn promote_to_admin(
    db: &Db,
    id: ObjectId,
    password_hash: &str,
) -> mongodb::error::Result<()> {
    collection(db)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": {
                "role": "admin",
                "email_verified": true,
                "disabled": false,
                "password_hash": password_hash,
                "updated_at": DateTime::now(),
            } },
        )
        .await?;
    Ok(())
}

/// An account's pictures: each an image file and its URL, kept on the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    Avatar,
    Header,
}

impl Picture {
    pub const ALL: [Picture; 2] = [Picture::Avatar, Picture::Header];

    /// The account's fields for the file and for its URL.
    fn fields(self) -> (&'static str, &'static str) {
        match self {
            Picture::Avatar => ("avatar_media_id", "avatar_url"),
            Picture::Header => ("header_media_id", "header_url"),
        }
    }
}

/// Sets (or with `None` clears) a picture; returns the account as it was before.
pub async fn set_picture(
    db: &Db,
    id: ObjectId,
    picture: Picture,
    file: Option<(ObjectId, String)>,
) -> mongodb::error::Result<Option<UserDoc>> {
    let (media_field, url_field) = picture.fields();
    let (media_id, url) = match file {
        Some((media_id, url)) => (bson::Bson::ObjectId(media_id), bson::Bson::String(url)),
        None => (bson::Bson::Null, bson::Bson::Null),
    };
    collection(db)
        .find_one_and_update(
            doc! { "_id": id },
            doc! { "$set": { media_field: media_id, url_field: url, "updated_at": DateTime::now() } },
        )
        .return_document(ReturnDocument::Before)
        .await
}

/// Points the account whose `picture` is `media_id` at the file's new URL (it got a new
/// key); `false` when the file is not that picture of that account.
pub async fn set_picture_url(
    db: &Db,
    user: ObjectId,
    picture: Picture,
    media_id: ObjectId,
    url: &str,
) -> mongodb::error::Result<bool> {
    let (media_field, url_field) = picture.fields();
    let result = collection(db)
        .update_one(
            doc! { "_id": user, media_field: media_id },
            doc! { "$set": { url_field: url } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

/// Forgets a picture whose file is being deleted.
pub async fn clear_picture_media(db: &Db, media_id: ObjectId) -> mongodb::error::Result<()> {
    for picture in Picture::ALL {
        let (media_field, url_field) = picture.fields();
        collection(db)
            .update_many(
                doc! { media_field: media_id },
                doc! { "$set": { media_field: null, url_field: null } },
            )
            .await?;
    }
    Ok(())
}

pub async fn set_role(
    db: &Db,
    id: ObjectId,
    role: Role,
) -> mongodb::error::Result<Option<UserDoc>> {
    collection(db)
        .find_one_and_update(
            doc! { "_id": id },
            doc! { "$set": { "role": bson::to_bson(&role)?, "updated_at": DateTime::now() } },
        )
        .return_document(ReturnDocument::After)
        .await
}

pub async fn set_disabled(
    db: &Db,
    id: ObjectId,
    disabled: bool,
) -> mongodb::error::Result<Option<UserDoc>> {
    collection(db)
        .find_one_and_update(
            doc! { "_id": id },
            doc! { "$set": { "disabled": disabled, "updated_at": DateTime::now() } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Asks to change the address to `email`: kept aside until its link is opened (a later
/// request replaces it).
pub async fn set_pending_email(db: &Db, id: ObjectId, email: &str) -> mongodb::error::Result<()> {
    collection(db)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "pending_email": email, "updated_at": DateTime::now() } },
        )
        .await?;
    Ok(())
}

/// The pending address `email` becomes the account's, verified, if it is still the one
/// pending; whether it did. A duplicate-key error means another account took it meanwhile.
pub async fn confirm_pending_email(
    db: &Db,
    id: ObjectId,
    email: &str,
) -> mongodb::error::Result<bool> {
    let result = collection(db)
        .update_one(
            doc! { "_id": id, "pending_email": email },
            doc! {
                "$set": { "email": email, "email_verified": true, "updated_at": DateTime::now() },
                "$unset": { "pending_email": "" },
            },
        )
        .await?;
    Ok(result.matched_count == 1)
}

/// An avatar given as a URL (RealWorld's `image`), or none; it replaces an uploaded one.
/// Returns the account as it was before (the caller deletes the replaced file).
pub async fn set_image_url(
    db: &Db,
    id: ObjectId,
    url: Option<&str>,
) -> mongodb::error::Result<Option<UserDoc>> {
    collection(db)
        .find_one_and_update(
            doc! { "_id": id },
            doc! { "$set": { "avatar_url": url, "avatar_media_id": bson::Bson::Null, "updated_at": DateTime::now() } },
        )
        .return_document(ReturnDocument::Before)
        .await
}
