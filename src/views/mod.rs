//! What the API answers with: the JSON objects (users, media, notifications, activity
//! entries; posts and comments in `posts`) built from stored documents. Below `api/` so
//! that real-time pushes and emails show the same objects.

pub mod posts;

use serde::Serialize;

use crate::domain::media::{variant_url, MediaKind};
use crate::store::activities::ActivityDoc;
use crate::store::media::{MediaDoc, MediaStatus};
use crate::store::notifications::{NotificationDoc, NotificationType};
use crate::store::users::{Role, UserDoc};

pub use crate::domain::rfc3339;

/// How the viewer stands to a user; all false for an anonymous viewer.
#[derive(Debug, Default, Clone, Copy)]
pub struct Relation {
    pub is_following: bool,
    pub follows_you: bool,
    pub is_blocked: bool,
}

/// User (public).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub interests: Vec<String>,
    pub followers_count: i64,
    pub following_count: i64,
    pub posts_count: i64,
    pub created_at: String,
    pub is_following: bool,
    pub follows_you: bool,
    pub is_blocked: bool,
}

impl UserView {
    pub fn new(user: &UserDoc, relation: Relation) -> Self {
        Self {
            id: user.id.to_hex(),
            username: user.username.clone(),
            full_name: user.full_name.clone(),
            bio: user.bio.clone(),
            avatar_url: user.avatar_url.clone(),
            interests: user.interests.clone(),
            followers_count: user.followers_count,
            following_count: user.following_count,
            posts_count: user.posts_count,
            created_at: rfc3339(user.created_at),
            is_following: relation.is_following,
            follows_you: relation.follows_you,
            is_blocked: relation.is_blocked,
        }
    }
}

/// User (me): the public view plus what only the account holder (or an admin) sees.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub email: String,
    pub email_verified: bool,
    pub role: Role,
}

impl MeView {
    pub fn new(user: &UserDoc) -> Self {
        Self {
            user: UserView::new(user, Relation::default()),
            email: user.email.clone(),
            email_verified: user.email_verified,
            role: user.role,
        }
    }
}

/// `{ "detail": "…" }`, the body of actions that return no object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Detail {
    #[schema(value_type = String)]
    pub detail: &'static str,
}

/// User (mini), embedded in other objects.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserMini {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub avatar_url: Option<String>,
}

impl UserMini {
    pub fn new(user: &UserDoc) -> Self {
        Self {
            id: user.id.to_hex(),
            username: user.username.clone(),
            full_name: user.full_name.clone(),
            avatar_url: user.avatar_url.clone(),
        }
    }
}

/// Media.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MediaView {
    pub id: String,
    pub kind: MediaKind,
    /// The type of what `url` serves: for a video once processed, its web rendition's.
    pub content_type: String,
    pub size: i64,
    /// The download URL, `/api/media/{id}?key=…`: the file's capability key is in it, so
    /// use it as given (without it the file is `404`).
    pub url: String,
    /// Upright size in pixels (images, and videos once probed).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// `processing` until its variants are made (videos), then `ready` or `failed`.
    pub status: MediaStatus,
    /// Why processing failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// A BlurHash placeholder to paint while the image or poster loads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// Alternative text, when its owner gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "A heron at the river's edge")]
    pub description: Option<String>,
    /// A video's length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// A video's codecs as uploaded (`h264`, `vp9`, `hevc`…; `aac`, `opus`…), once probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_codec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_codec: Option<String>,
    /// What was made of the file, by name: `preview` (images, WebP, at most 640 px on the
    /// long side), `avatar_64`/`avatar_128`/`avatar_256` (avatars), `poster` (videos, WebP)
    /// and `video` (a video's H.264/AAC MP4 rendition, when one was made).
    pub variants: std::collections::BTreeMap<String, VariantView>,
    pub created_at: String,
}

/// One variant of a media file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VariantView {
    /// `/api/media/{id}/{name}?key=…`, under the same key as the file.
    pub url: String,
    pub content_type: String,
    pub size: i64,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl MediaView {
    pub fn new(media: &MediaDoc) -> Self {
        let meta = &media.metadata;
        let key = meta.key.as_deref().unwrap_or_default();
        let served = meta.served();
        let variants = meta
            .variants
            .iter()
            .map(|v| {
                let view = VariantView {
                    url: variant_url(media.id, &v.name, key),
                    content_type: v.content_type.clone(),
                    size: v.length,
                    width: v.width,
                    height: v.height,
                };
                (v.name.clone(), view)
            })
            .collect();
        Self {
            id: media.id.to_hex(),
            kind: meta.kind,
            content_type: served
                .map_or_else(|| meta.content_type.clone(), |v| v.content_type.clone()),
            size: served.map_or(media.length, |v| v.length),
            url: media.url(),
            width: meta.width,
            height: meta.height,
            status: meta.status,
            failure: meta.failure.clone(),
            blurhash: meta.blurhash.clone(),
            description: meta.description.clone(),
            duration: meta.duration,
            video_codec: meta.video_codec.clone(),
            audio_codec: meta.audio_codec.clone(),
            variants,
            created_at: rfc3339(media.upload_date),
        }
    }
}

/// Notification.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: NotificationType,
    pub actor: UserMini,
    pub post_id: Option<String>,
    pub comment_id: Option<String>,
    pub group_id: Option<String>,
    /// `media_ready` and `media_failed`: the upload (see `GET /api/media/{id}/info`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    pub created_at: String,
    pub read: bool,
}

impl NotificationView {
    pub fn new(doc: &NotificationDoc, actor: UserMini) -> Self {
        Self {
            id: doc.id.to_hex(),
            kind: doc.kind,
            actor,
            post_id: doc.post_id.map(|id| id.to_hex()),
            comment_id: doc.comment_id.map(|id| id.to_hex()),
            group_id: doc.group_id.map(|id| id.to_hex()),
            media_id: doc.media_id.map(|id| id.to_hex()),
            created_at: rfc3339(doc.created_at),
            read: doc.read,
        }
    }
}

/// Activity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityView {
    pub id: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub created_at: String,
    #[schema(value_type = Object)]
    pub meta: bson::Document,
}

impl ActivityView {
    pub fn new(doc: &ActivityDoc) -> Self {
        Self {
            id: doc.id.to_hex(),
            action: doc.action.clone(),
            target_type: doc.target_type.clone(),
            target_id: doc.target_id.map(|id| id.to_hex()),
            created_at: rfc3339(doc.created_at),
            meta: doc.meta.clone(),
        }
    }
}
