//! Media bytes in GridFS (bucket `media`): owner, kind, type, dimensions and processing
//! state in each file's metadata. The sizes and renditions made of a file (its variants)
//! are files of their own in the bucket `media_variants`, listed in the parent's
//! metadata once all of them are written. Downloads read a bucket's chunks directly, one
//! batch at a time, so a range starts at its chunk and memory stays flat whatever the
//! file size.

use std::collections::{HashMap, HashSet};

use bson::oid::ObjectId;
use bson::{doc, Binary, Bson, DateTime};
use futures::{AsyncWriteExt, Stream, TryStreamExt};
use mongodb::gridfs::{GridFsBucket, GridFsUploadStream};
use mongodb::options::GridFsBucketOptions;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::db::Db;
use crate::domain::media::{media_url, ByteRange, MediaKind};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaMeta {
    pub owner_id: ObjectId,
    pub kind: MediaKind,
    pub content_type: String,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    /// The capability key every URL of the file carries (`domain::media::new_media_key`).
    /// Absent only on files stored before keys existed, until `rookery migrate` (or the
    /// start of `serve`) gives them one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Files stored before processing existed are `ready` as they are.
    #[serde(default)]
    pub status: MediaStatus,
    /// Why processing failed, in words a client may show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// Alternative text for those who cannot see it (the Mastodon API's `description`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A video's length in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// A video's codecs, as probed (`h264`, `aac`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_codec: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_codec: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantRef>,
    /// The variant the file's own URL serves instead of the original, whose bytes are no
    /// longer kept (a video's web rendition when `media.keep_original_video` is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_variant: Option<String>,
}

impl MediaMeta {
    pub fn new(owner_id: ObjectId, kind: MediaKind, content_type: &str) -> Self {
        Self {
            owner_id,
            kind,
            content_type: content_type.to_owned(),
            width: None,
            height: None,
            key: None,
            status: MediaStatus::Ready,
            failure: None,
            blurhash: None,
            description: None,
            duration: None,
            video_codec: None,
            audio_codec: None,
            variants: Vec::new(),
            served_variant: None,
        }
    }

    pub fn variant(&self, name: &str) -> Option<&VariantRef> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// The variant the file's own URL serves instead of the original, if any.
    pub fn served(&self) -> Option<&VariantRef> {
        self.served_variant
            .as_deref()
            .and_then(|name| self.variant(name))
    }
}

/// Where a file is in its processing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaStatus {
    /// Its variants are still being made; a post shows it once it is `ready`.
    Processing,
    #[default]
    Ready,
    /// It could not be processed (`failure` says why); only its owner sees it.
    Failed,
}

/// A variant of a file: its own GridFS file in `media_variants`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantRef {
    pub name: String,
    pub id: ObjectId,
    pub content_type: String,
    pub length: i64,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
}

/// What processing found out about a file, set together with its variants.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub blurhash: Option<String>,
    pub duration: Option<f64>,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub variants: Vec<VariantRef>,
    pub served_variant: Option<String>,
}

/// A stored file: GridFS's files document with our metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct MediaDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub length: i64,
    #[serde(rename = "chunkSize")]
    pub chunk_size: i64,
    #[serde(rename = "uploadDate")]
    pub upload_date: DateTime,
    pub metadata: MediaMeta,
}

impl MediaDoc {
    /// The URL the API hands out for this file; for a file not yet given a key, the bare
    /// path it was handed out with before keys existed (which no longer downloads it).
    pub fn url(&self) -> String {
        match &self.metadata.key {
            Some(key) => media_url(self.id, key),
            None => format!("/api/media/{}", self.id.to_hex()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ChunkDoc {
    n: i64,
    data: Binary,
}

/// The bucket of uploaded files.
pub const FILES: &str = "media";
/// The bucket of their variants.
pub const VARIANTS: &str = "media_variants";

pub fn bucket(db: &Db) -> GridFsBucket {
    named_bucket(db, FILES)
}

fn named_bucket(db: &Db, name: &str) -> GridFsBucket {
    let chunk_size = (name == VARIANTS).then_some(VARIANT_CHUNK_BYTES as u32);
    db.database().gridfs_bucket(
        GridFsBucketOptions::builder()
            .bucket_name(name.to_owned())
            .chunk_size_bytes(chunk_size)
            .build(),
    )
}

fn files(db: &Db) -> mongodb::Collection<MediaDoc> {
    db.database().collection("media.files")
}

/// Opens the upload of a new file; the caller writes, then closes or aborts.
pub async fn open_upload(
    db: &Db,
    id: ObjectId,
    meta: &MediaMeta,
) -> mongodb::error::Result<GridFsUploadStream> {
    let metadata = bson::to_document(meta)?;
    bucket(db)
        .open_upload_stream(id.to_hex())
        .id(Bson::ObjectId(id))
        .metadata(metadata)
        .await
}

pub async fn find(db: &Db, id: ObjectId) -> mongodb::error::Result<Option<MediaDoc>> {
    files(db).find_one(doc! { "_id": id }).await
}

/// Sets (or with `None` clears) the alternative text of `owner`'s file `id`; the file
/// after, or `None` when it is not theirs.
pub async fn set_description(
    db: &Db,
    id: ObjectId,
    owner: ObjectId,
    description: Option<&str>,
) -> mongodb::error::Result<Option<MediaDoc>> {
    files(db)
        .find_one_and_update(
            doc! { "_id": id, "metadata.owner_id": owner },
            doc! { "$set": { "metadata.description": description } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await
}

/// Media by id, in any order: one `$in` for all the media of a page of posts.
pub async fn find_many(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<Vec<MediaDoc>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    files(db)
        .find(doc! { "_id": { "$in": ids } })
        .await?
        .try_collect()
        .await
}

/// How many of `ids` the owner uploaded.
pub async fn count_owned(
    db: &Db,
    owner: ObjectId,
    ids: &[ObjectId],
) -> mongodb::error::Result<u64> {
    files(db)
        .count_documents(doc! { "_id": { "$in": ids }, "metadata.owner_id": owner })
        .await
}

/// Gives a file a new key; returns the file as it was (`None` when it is gone).
pub async fn replace_key(
    db: &Db,
    id: ObjectId,
    key: &str,
) -> mongodb::error::Result<Option<MediaDoc>> {
    files(db)
        .find_one_and_update(doc! { "_id": id }, doc! { "$set": { "metadata.key": key } })
        .await
}

/// The ids of a files collection's documents matching `filter`.
async fn ids_where(
    db: &Db,
    collection: &str,
    filter: bson::Document,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let cursor = db
        .database()
        .collection::<bson::Document>(collection)
        .find(filter)
        .projection(doc! { "_id": 1 })
        .await?;
    crate::store::ids_in(cursor).await
}

/// The files still being processed (index `status`).
pub async fn ids_processing(db: &Db) -> mongodb::error::Result<Vec<ObjectId>> {
    ids_where(db, "media.files", doc! { "metadata.status": "processing" }).await
}

/// The files stored before keys existed (index `key`).
pub async fn ids_without_key(db: &Db) -> mongodb::error::Result<Vec<ObjectId>> {
    ids_where(db, "media.files", doc! { "metadata.key": null }).await
}

/// Deletes a file with its variants.
pub async fn delete(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    delete_variants_of(db, id).await?;
    match bucket(db).delete(Bson::ObjectId(id)).await {
        Err(err) if is_file_not_found(&err) => Ok(()),
        other => other,
    }
}

fn is_file_not_found(err: &mongodb::error::Error) -> bool {
    matches!(
        *err.kind,
        mongodb::error::ErrorKind::GridFs(mongodb::error::GridFsErrorKind::FileNotFound { .. })
    )
}

/// Writes one variant of `parent` from `source` (its bytes in memory, or a rendition
/// read from disk); returns where it is. What a failed write stored is removed.
pub async fn store_variant(
    db: &Db,
    parent: ObjectId,
    name: &str,
    content_type: &str,
    size: Option<(u32, u32)>,
    mut source: impl tokio::io::AsyncRead + Unpin,
) -> mongodb::error::Result<VariantRef> {
    let id = ObjectId::new();
    let mut upload = named_bucket(db, VARIANTS)
        .open_upload_stream(format!("{}/{name}", parent.to_hex()))
        .id(Bson::ObjectId(id))
        .metadata(doc! { "parent_id": parent, "name": name, "content_type": content_type })
        .await?;
    let mut buffer = vec![0u8; 256 * 1024];
    let mut length: i64 = 0;
    let written: std::io::Result<()> = async {
        loop {
            let n = source.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            length = length.saturating_add(i64::try_from(n).unwrap_or(i64::MAX));
            upload.write_all(&buffer[..n]).await?;
        }
        upload.close().await
    }
    .await;
    if let Err(err) = written {
        let _ = upload.abort().await;
        return Err(mongodb::error::Error::custom(err.to_string()));
    }
    Ok(VariantRef {
        name: name.to_owned(),
        id,
        content_type: content_type.to_owned(),
        length,
        width: size.map(|s| s.0),
        height: size.map(|s| s.1),
    })
}

/// Deletes every variant written for `parent` (a rerun of its processing starts clean).
pub async fn delete_variants_of(db: &Db, parent: ObjectId) -> mongodb::error::Result<()> {
    let found = ids_where(
        db,
        "media_variants.files",
        doc! { "metadata.parent_id": parent },
    )
    .await?;
    delete_variants(db, &found).await
}

/// Deletes the original bytes of a file whose URL now serves a variant; its record stays.
pub async fn delete_original_bytes(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    delete_chunks_of(db, FILES, &[id]).await
}

/// Marks a file `ready` with what its processing made, if it is still processing;
/// returns whether it was.
pub async fn set_ready(db: &Db, id: ObjectId, outcome: Outcome) -> mongodb::error::Result<bool> {
    let variants = bson::to_bson(&outcome.variants)?;
    let mut set = doc! { "metadata.status": "ready", "metadata.variants": variants };
    let optional = [
        (
            "metadata.width",
            outcome.width.map(|w| Bson::Int64(i64::from(w))),
        ),
        (
            "metadata.height",
            outcome.height.map(|h| Bson::Int64(i64::from(h))),
        ),
        ("metadata.blurhash", outcome.blurhash.map(Bson::String)),
        ("metadata.duration", outcome.duration.map(Bson::Double)),
        (
            "metadata.video_codec",
            outcome.video_codec.map(Bson::String),
        ),
        (
            "metadata.audio_codec",
            outcome.audio_codec.map(Bson::String),
        ),
        (
            "metadata.served_variant",
            outcome.served_variant.map(Bson::String),
        ),
    ];
    for (field, value) in optional {
        if let Some(value) = value {
            set.insert(field, value);
        }
    }
    let result = files(db)
        .update_one(
            doc! { "_id": id, "metadata.status": "processing" },
            doc! { "$set": set },
        )
        .await?;
    Ok(result.modified_count == 1)
}

/// Marks a file `failed` with the reason, if it is still processing.
pub async fn set_failed(db: &Db, id: ObjectId, reason: &str) -> mongodb::error::Result<bool> {
    let result = files(db)
        .update_one(
            doc! { "_id": id, "metadata.status": "processing" },
            doc! { "$set": { "metadata.status": "failed", "metadata.failure": reason } },
        )
        .await?;
    Ok(result.modified_count == 1)
}

/// Every file the owner uploaded (account deletion).
pub async fn ids_of_owner(db: &Db, owner: ObjectId) -> mongodb::error::Result<Vec<ObjectId>> {
    files(db)
        .find(doc! { "metadata.owner_id": owner })
        .await?
        .map_ok(|m| m.id)
        .try_collect()
        .await
}

/// Chunks fetched per round trip while streaming: a few hundred kilobytes in memory.
const CHUNKS_PER_BATCH: u32 = 4;

/// Where a stored file's bytes are: its bucket, id and chunk size.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub bucket: &'static str,
    pub id: ObjectId,
    pub chunk_size: i64,
}

/// The chunk size of every variant file.
pub const VARIANT_CHUNK_BYTES: i64 = 255 * 1024;

/// The bytes `range` covers, as a stream of slices of the chunks that hold them.
pub async fn stream_range(
    db: &Db,
    file: Stored,
    range: ByteRange,
) -> mongodb::error::Result<impl Stream<Item = mongodb::error::Result<bytes::Bytes>> + 'static> {
    let chunk = u64::try_from(file.chunk_size.max(1)).unwrap_or(1);
    let (first, last) = (range.start / chunk, range.end / chunk);
    let chunks = db
        .database()
        .collection::<ChunkDoc>(&format!("{}.chunks", file.bucket))
        .find(doc! {
            "files_id": file.id,
            "n": { "$gte": i64::try_from(first).unwrap_or(i64::MAX), "$lte": i64::try_from(last).unwrap_or(i64::MAX) },
        })
        .sort(doc! { "n": 1 })
        .batch_size(CHUNKS_PER_BATCH)
        .await?;
    Ok(chunks.map_ok(move |c| {
        let offset = u64::try_from(c.n).unwrap_or(0) * chunk;
        let from = usize::try_from(range.start.saturating_sub(offset)).unwrap_or(0);
        let to = usize::try_from((range.end + 1).saturating_sub(offset)).unwrap_or(usize::MAX);
        let data = c.data.bytes;
        let to = to.min(data.len());
        bytes::Bytes::from(data).slice(from.min(to)..to)
    }))
}

/// Variant files made before `before` that nothing will serve (`rookery check`): their
/// media is gone or was never closed (a process died between writing an image's
/// variants and closing its upload), or it was processed again and lists others. A
/// media still processing keeps all of its variants.
pub async fn stray_variants(db: &Db, before: DateTime) -> mongodb::error::Result<Vec<ObjectId>> {
    let mut by_parent: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    let mut cursor = db
        .database()
        .collection::<bson::Document>("media_variants.files")
        .find(doc! { "_id": { "$lt": super::object_id_at(before, [0; 8]) } })
        .projection(doc! { "_id": 1, "metadata.parent_id": 1 })
        .await?;
    while let Some(variant) = cursor.try_next().await? {
        let parent = variant
            .get_document("metadata")
            .and_then(|m| m.get_object_id("parent_id"));
        if let (Ok(id), Ok(parent)) = (variant.get_object_id("_id"), parent) {
            by_parent.entry(parent).or_default().push(id);
        }
    }
    let parents: Vec<ObjectId> = by_parent.keys().copied().collect();
    let mut stray = Vec::new();
    for batch in parents.chunks(1000) {
        for parent in find_many(db, batch).await? {
            let variants = by_parent.remove(&parent.id).unwrap_or_default();
            if parent.metadata.status == MediaStatus::Processing {
                continue;
            }
            let listed = &parent.metadata.variants;
            stray.extend(
                variants
                    .into_iter()
                    .filter(|id| !listed.iter().any(|v| v.id == *id)),
            );
        }
    }
    // What is left names media that are gone.
    stray.extend(by_parent.into_values().flatten());
    Ok(stray)
}

/// Deletes variant files (with their chunks).
pub async fn delete_variants(db: &Db, ids: &[ObjectId]) -> mongodb::error::Result<()> {
    let variants = named_bucket(db, VARIANTS);
    for id in ids {
        match variants.delete(Bson::ObjectId(*id)).await {
            Err(err) if is_file_not_found(&err) => {}
            other => other?,
        }
    }
    Ok(())
}

/// The ids, made before `before`, that chunks of `bucket` are stored under with no file
/// document: uploads a process died in the middle of (`rookery check`).
pub async fn unfinished_uploads(
    db: &Db,
    bucket: &str,
    before: DateTime,
) -> mongodb::error::Result<Vec<ObjectId>> {
    let chunked: Vec<ObjectId> = db
        .database()
        .collection::<bson::Document>(&format!("{bucket}.chunks"))
        .distinct(
            "files_id",
            doc! { "files_id": { "$lt": super::object_id_at(before, [0; 8]) } },
        )
        .await?
        .into_iter()
        .filter_map(|v| v.as_object_id())
        .collect();
    let mut unfinished = Vec::new();
    for batch in chunked.chunks(1000) {
        let closed: HashSet<ObjectId> = ids_where(
            db,
            &format!("{bucket}.files"),
            doc! { "_id": { "$in": batch } },
        )
        .await?
        .into_iter()
        .collect();
        unfinished.extend(batch.iter().filter(|id| !closed.contains(id)));
    }
    Ok(unfinished)
}

/// Deletes the chunks stored under `ids` in `bucket` (and not their file documents).
pub async fn delete_chunks_of(
    db: &Db,
    bucket: &str,
    ids: &[ObjectId],
) -> mongodb::error::Result<()> {
    let chunks = db
        .database()
        .collection::<bson::Document>(&format!("{bucket}.chunks"));
    for batch in ids.chunks(1000) {
        chunks
            .delete_many(doc! { "files_id": { "$in": batch } })
            .await?;
    }
    Ok(())
}
