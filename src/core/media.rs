//! Taking in an uploaded file: the one pipeline of every upload (a post's media, an
//! avatar, a header; native or Mastodon). The bytes are hostile: the type is read from
//! them, the size is checked as they arrive, an image's metadata is taken out and its
//! variants made on a blocking thread, a turn at a time.

use bson::oid::ObjectId;
use bytes::Bytes;
use futures::AsyncWriteExt;

use crate::core::Services;
use crate::domain::image_metadata::strip_metadata;
use crate::domain::image_variants::{process_image, Purpose};
use crate::domain::media::{new_media_id, new_media_key, sniff, MediaKind, SNIFF_BYTES};
use crate::error::ApiError;
use crate::store::media::{self, MediaDoc, MediaMeta, MediaStatus};

/// A file's bytes as they arrive (a multipart field), chunk by chunk; `None` at its end.
pub(crate) trait Chunks {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError>;

    /// Reads until `buffer` holds at least `want` bytes or the file ends.
    async fn fill(&mut self, buffer: &mut Vec<u8>, want: usize) -> Result<(), ApiError> {
        while buffer.len() < want {
            match self.next_chunk().await? {
                Some(chunk) => buffer.extend_from_slice(&chunk),
                None => break,
            }
        }
        Ok(())
    }
}

/// A turn at decoding an image: at most `media.image_slots` at once on one instance (each
/// may take a few hundred megabytes while it is), waited for at most
/// `media.image_slot_wait_ms`; after that `503` with `Retry-After`, so a burst of large
/// images queues no request for long.
async fn image_slot(services: &Services) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    let wait = std::time::Duration::from_millis(services.settings.media.image_slot_wait_ms);
    match tokio::time::timeout(wait, services.image_slots.acquire()).await {
        Ok(permit) => permit.map_err(ApiError::internal),
        Err(_) => Err(ApiError::busy(wait.as_secs().max(1))),
    }
}

/// Stores an uploaded file: its type from its bytes (`415` unless one of `allowed`, or an
/// image that does not decode), its size checked while it streams (`413` past the kind's
/// limit, with every chunk already written removed). An image's metadata is taken out
/// first (`domain::image_metadata`) and its variants made before it is stored
/// (`domain::image_variants`), so it is `ready` at once; a video is stored `processing`
/// with a `media` job that probes and transcodes it (`jobs::media`).
pub(crate) async fn store_file(
    services: &Services,
    owner: ObjectId,
    file: &mut impl Chunks,
    allowed: &[MediaKind],
    purpose: Purpose,
) -> Result<MediaDoc, ApiError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.fill(&mut head, SNIFF_BYTES).await?;
    let (content_type, kind) = sniff(&head)
        .filter(|(_, kind)| allowed.contains(kind))
        .ok_or(ApiError::UnsupportedMediaType)?;
    let limit = match kind {
        MediaKind::Image => services.settings.media.max_image_bytes,
        MediaKind::Video => services.settings.media.max_video_bytes,
    };
    let id = new_media_id();
    let mut meta = MediaMeta::new(owner, kind, content_type);
    meta.key = Some(new_media_key());
    if kind == MediaKind::Image {
        // An image is held whole (at most its limit) to take its metadata out and make its
        // variants before any byte is stored; a video streams through.
        while let Some(chunk) = file.next_chunk().await? {
            if u64::try_from(head.len() + chunk.len()).unwrap_or(u64::MAX) > limit {
                return Err(ApiError::PayloadTooLarge);
            }
            head.extend_from_slice(&chunk);
        }
    }
    // What was read as it was sent (the first read may have taken the whole file).
    let mut written = u64::try_from(head.len()).unwrap_or(u64::MAX);
    if written > limit {
        return Err(ApiError::PayloadTooLarge);
    }
    if kind == MediaKind::Image {
        let (cleaned, processed) = {
            let _slot = image_slot(services).await?;
            tokio::task::spawn_blocking(move || {
                let cleaned = strip_metadata(content_type, head).map_err(|_| ())?;
                let processed = process_image(&cleaned, purpose).map_err(|_| ())?;
                Ok::<_, ()>((cleaned, processed))
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(|()| ApiError::UnsupportedMediaType)?
        };
        head = cleaned;
        meta.width = Some(processed.width);
        meta.height = Some(processed.height);
        meta.blurhash = Some(processed.blurhash);
        for variant in processed.variants {
            let size = Some((variant.width, variant.height));
            let stored = media::store_variant(
                &services.db,
                id,
                &variant.name,
                variant.content_type,
                size,
                variant.bytes.as_slice(),
            )
            .await;
            match stored {
                Ok(stored) => meta.variants.push(stored),
                Err(err) => {
                    media::delete_variants_of(&services.db, id).await?;
                    return Err(err.into());
                }
            }
        }
    } else {
        meta.status = MediaStatus::Processing;
    }
    let mut upload = media::open_upload(&services.db, id, &meta).await?;
    let outcome: Result<(), ApiError> = async {
        upload.write_all(&head).await.map_err(ApiError::internal)?;
        drop(head);
        while let Some(chunk) = file.next_chunk().await? {
            written += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
            if written > limit {
                return Err(ApiError::PayloadTooLarge);
            }
            upload.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        upload.close().await.map_err(ApiError::internal)
    }
    .await;
    if let Err(err) = outcome {
        if let Err(abort) = upload.abort().await {
            log::warn!("could not remove the chunks of an aborted upload: {abort}");
        }
        media::delete_variants_of(&services.db, id).await?;
        return Err(err);
    }
    if meta.status == MediaStatus::Processing {
        // The job's id is the file's: written once, however often it is asked for.
        let queued = services.jobs.enqueue_media(id, owner).await;
        if let Err(err) = queued {
            media::delete(&services.db, id).await?;
            return Err(err);
        }
    }
    media::find(&services.db, id)
        .await?
        .ok_or_else(|| ApiError::internal("an uploaded file vanished"))
}
