//! Media bytes in GridFS (bucket `media`): owner, kind, type and dimensions in each file's
//! metadata. Downloads read `media.chunks` directly, one chunk at a time, so a range
//! starts at its chunk and memory stays flat whatever the file size.

use bson::oid::ObjectId;
use bson::{doc, Binary, Bson, DateTime};
use futures::{Stream, TryStreamExt};
use mongodb::gridfs::{GridFsBucket, GridFsUploadStream};
use mongodb::options::GridFsBucketOptions;
use serde::{Deserialize, Serialize};

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

pub fn bucket(db: &Db) -> GridFsBucket {
    db.database().gridfs_bucket(
        GridFsBucketOptions::builder()
            .bucket_name("media".to_owned())
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

/// The files stored before keys existed (index `key`).
pub async fn ids_without_key(db: &Db) -> mongodb::error::Result<Vec<ObjectId>> {
    let found: Vec<bson::Document> = db
        .database()
        .collection("media.files")
        .find(doc! { "metadata.key": null })
        .projection(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found
        .iter()
        .filter_map(|d| d.get_object_id("_id").ok())
        .collect())
}

pub async fn delete(db: &Db, id: ObjectId) -> mongodb::error::Result<()> {
    bucket(db).delete(Bson::ObjectId(id)).await
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

/// The bytes `range` covers, as a stream of slices of the chunks that hold them.
pub async fn stream_range(
    db: &Db,
    media: &MediaDoc,
    range: ByteRange,
) -> mongodb::error::Result<impl Stream<Item = mongodb::error::Result<bytes::Bytes>> + 'static> {
    let chunk = u64::try_from(media.chunk_size.max(1)).unwrap_or(1);
    let (first, last) = (range.start / chunk, range.end / chunk);
    let chunks = db
        .database()
        .collection::<ChunkDoc>("media.chunks")
        .find(doc! {
            "files_id": media.id,
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
