//! The `media` job: an uploaded video made ready for the web. FFmpeg (`media.ffmpeg`,
//! `media.ffprobe`) runs as a subprocess in a throwaway folder, each run bounded in wall
//! time, CPU time, memory and output size (`media.video_*`) and killed when the job is
//! dropped. The job probes the video (duration, size, codecs), makes a WebP `poster`
//! from a frame, and writes a `video` rendition: the stream copied into a fresh MP4
//! when it already plays in browsers (H.264/AAC MP4, within the size bound), else
//! transcoded to H.264/AAC MP4; the index at the front either way, and no metadata of the
//! upload kept. The media's URL then serves the rendition; the upload's own bytes are
//! dropped unless `media.keep_original_video`.
//!
//! A file FFmpeg cannot read fails its media (`failed`, with the reason) and the job ends;
//! only what may pass (the database, a missing FFmpeg) fails the job, to be retried. A
//! rerun starts over: the variants of a run cut short are deleted first, and a media no
//! longer `processing` is left alone.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bson::oid::ObjectId;
use futures::TryStreamExt;
use tokio::io::AsyncWriteExt;

use crate::config::MediaSettings;
use crate::domain::image_variants::{blurhash_of, decode_upright, preview_variant};
use crate::domain::media::{demuxer_for, ByteRange};
use crate::domain::video::{index_at_front, parse_probe, reason_from, scale_filter, Caps, Probe};
use crate::error::ApiError;
use crate::store::media::{self, MediaDoc, MediaStatus, Outcome, Stored};
use crate::store::notifications::{self, NotificationDoc, NotificationType, Subject};

use super::Run;

/// Why a run of a tool did not give its output.
#[derive(Debug)]
enum ToolError {
    /// Not the file's fault: the tool is not installed, or the database or the disk
    /// failed. The job is retried.
    Transient(String),
    /// The file is at fault: the media fails with this reason.
    Failed(String),
}

/// Gives every file still `processing` its job, unless it has one (the job's id is the
/// file's): what `serve` and `rookery migrate` do first, so a file stored just before its
/// instance died is still processed. Returns how many jobs were written.
pub async fn adopt_processing(db: &crate::db::Db) -> Result<usize, ApiError> {
    let mut adopted = 0;
    for media_id in media::ids_processing(db).await? {
        let job = super::Task::Media { media_id }.job(media_id, bson::DateTime::now())?;
        if crate::store::jobs::insert(db, &job).await? {
            adopted += 1;
        }
    }
    Ok(adopted)
}

pub async fn run(run: &Run<'_>, media_id: ObjectId) -> Result<(), ApiError> {
    let db = &run.jobs.db;
    let Some(file) = media::find(db, media_id).await? else {
        return Ok(());
    };
    if file.metadata.status != MediaStatus::Processing {
        return Ok(());
    }
    media::delete_variants_of(db, media_id).await?;
    let settings = &run.jobs.settings.media;
    let started = Instant::now();
    let folder = tempfile::Builder::new()
        .prefix("rookery-media-")
        .tempdir()
        .map_err(ApiError::internal)?;
    let outcome = process(run, &file, settings, folder.path()).await;
    let (status, kind) = match outcome {
        Ok(outcome) => {
            if !media::set_ready(db, media_id, outcome).await? {
                // Deleted (or settled by another run) meanwhile: what this run made goes.
                if media::find(db, media_id).await?.is_none() {
                    media::delete_variants_of(db, media_id).await?;
                }
                return Ok(());
            }
            if !settings.keep_original_video {
                media::delete_original_bytes(db, media_id).await?;
            }
            ("ready", NotificationType::MediaReady)
        }
        Err(ToolError::Failed(reason)) => {
            log::info!("media {media_id} failed: {reason}");
            if !media::set_failed(db, media_id, &reason).await? {
                return Ok(());
            }
            ("failed", NotificationType::MediaFailed)
        }
        Err(ToolError::Transient(what)) => {
            return Err(ApiError::internal(format!("cannot process videos: {what}")));
        }
    };
    log::info!(
        "media {media_id} {status} in {} ms (FFmpeg peak memory {} KiB)",
        started.elapsed().as_millis(),
        children_peak_kib()
    );
    let owner = file.metadata.owner_id;
    let subject = Subject {
        media_id: Some(media_id),
        ..Subject::default()
    };
    let note =
        NotificationDoc::derived(media_id, bson::DateTime::now(), owner, kind, owner, subject);
    notifications::insert_many(db, &[note]).await?;
    Ok(())
}

async fn process(
    run: &Run<'_>,
    file: &MediaDoc,
    settings: &MediaSettings,
    folder: &Path,
) -> Result<Outcome, ToolError> {
    let input = folder.join("input");
    let head = copy_out(run, file, &input).await?;
    let demuxer = demuxer_for(&file.metadata.content_type).ok_or_else(|| {
        ToolError::Failed(format!(
            "{} is not a video type this service processes",
            file.metadata.content_type
        ))
    })?;
    let probe = probe(settings, folder, demuxer).await?;
    let caps = Caps {
        duration_secs: settings.video_max_duration_secs,
        edge: settings.video_max_input_edge,
        fps: settings.video_max_fps,
    };
    if let Some(why) = probe.beyond(caps) {
        return Err(ToolError::Failed(why));
    }
    let poster = poster(settings, folder, demuxer, &probe).await?;
    let file_len = u64::try_from(file.length).unwrap_or(0);
    let transcode = !(probe.is_web_playable(settings.video_max_edge, settings.video_max_kbps)
        && index_at_front(&head, file_len));
    let rendition = rendition(settings, folder, demuxer, transcode).await?;
    let db = &run.jobs.db;
    let stored_poster = media::store_variant(
        db,
        file.id,
        &poster.0.name,
        poster.0.content_type,
        Some((poster.0.width, poster.0.height)),
        poster.0.bytes.as_slice(),
    )
    .await
    .map_err(|e| ToolError::Transient(format!("storing the poster: {e}")))?;
    let source = tokio::fs::File::open(&rendition)
        .await
        .map_err(|e| ToolError::Transient(format!("reading the rendition: {e}")))?;
    let stored_video = media::store_variant(db, file.id, "video", "video/mp4", None, source)
        .await
        .map_err(|e| ToolError::Transient(format!("storing the video: {e}")))?;
    Ok(Outcome {
        width: Some(probe.width),
        height: Some(probe.height),
        blurhash: Some(poster.1),
        duration: probe.duration,
        video_codec: Some(probe.video_codec.clone()),
        audio_codec: probe.audio_codec.clone(),
        variants: vec![stored_poster, stored_video],
        served_variant: Some("video".into()),
    })
}

/// How much of the file's start is kept to find its index (`moov` after a large `ftyp`
/// or `free` box is still found).
const HEAD_BYTES: usize = 64 * 1024;

/// Writes the upload to `path`; returns its first `HEAD_BYTES`.
async fn copy_out(run: &Run<'_>, file: &MediaDoc, path: &Path) -> Result<Vec<u8>, ToolError> {
    let io = |e: std::io::Error| ToolError::Transient(format!("writing the upload out: {e}"));
    let len = u64::try_from(file.length).unwrap_or(0);
    let mut out = tokio::fs::File::create(path).await.map_err(io)?;
    let mut head = Vec::new();
    if len > 0 {
        let stored = Stored {
            bucket: media::FILES,
            id: file.id,
            chunk_size: file.chunk_size,
        };
        let range = ByteRange {
            start: 0,
            end: len - 1,
        };
        let reading =
            |e: mongodb::error::Error| ToolError::Transient(format!("reading the upload: {e}"));
        let mut chunks = media::stream_range(&run.jobs.db, stored, range)
            .await
            .map_err(reading)?;
        while let Some(chunk) = chunks.try_next().await.map_err(reading)? {
            if head.len() < HEAD_BYTES {
                let take = (HEAD_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            out.write_all(&chunk).await.map_err(io)?;
        }
    }
    out.flush().await.map_err(io)?;
    Ok(head)
}

/// The options that open the upload, and nothing else, for FFmpeg and ffprobe alike: the
/// container named (`demuxer`, from the sniffed type: never FFmpeg's own guess, which can
/// be a DASH manifest, an HLS playlist or a concat list that opens other files), only the
/// `file` protocol, the one file named with it, and (for MP4/QuickTime) no external data
/// references.
fn input_args(demuxer: &'static str) -> Vec<&'static str> {
    let mut args = vec!["-protocol_whitelist", "file", "-f", demuxer];
    if demuxer == "mov" {
        args.extend(["-enable_drefs", "0"]);
    }
    args.extend(["-i", "file:input"]);
    args
}

async fn probe(
    settings: &MediaSettings,
    folder: &Path,
    demuxer: &'static str,
) -> Result<Probe, ToolError> {
    let mut args = vec!["-v", "error"];
    args.extend(input_args(demuxer));
    args.extend(["-print_format", "json", "-show_format", "-show_streams"]);
    let out = tool(settings, &settings.ffprobe, folder, &args).await?;
    parse_probe(&String::from_utf8_lossy(&out))
        .map_err(|e| ToolError::Failed(format!("not a readable video: {e}")))
}

/// A frame a little way in (or the first, for a short video) as a WebP poster, with its
/// BlurHash.
async fn poster(
    settings: &MediaSettings,
    folder: &Path,
    demuxer: &'static str,
    probe: &Probe,
) -> Result<(crate::domain::image_variants::Variant, String), ToolError> {
    let at = probe.duration.map_or(0.0, |d| (d / 3.0).min(1.0));
    let at = format!("{at:.3}");
    let mut args = vec!["-nostdin", "-v", "error", "-y", "-ss", &at];
    args.extend(input_args(demuxer));
    args.extend([
        "-frames:v",
        "1",
        "-f",
        "image2",
        "-c:v",
        "png",
        "file:poster.png",
    ]);
    tool(settings, &settings.ffmpeg, folder, &args).await?;
    let png = tokio::fs::read(folder.join("poster.png"))
        .await
        .map_err(|_| ToolError::Failed("no frame could be read from the video".into()))?;
    let edge = settings.video_max_edge;
    tokio::task::spawn_blocking(move || {
        let image = decode_upright(&png, edge).map_err(ToolError::Failed)?.image;
        let hash = blurhash_of(&image).map_err(ToolError::Failed)?;
        Ok((preview_variant("poster", &image, edge), hash))
    })
    .await
    .map_err(|e| ToolError::Transient(format!("making the poster: {e}")))?
}

/// Writes `video.mp4`: the upload's streams copied (`transcode` false) or transcoded to
/// H.264/AAC, bounded in size and bitrate, index first, without metadata.
async fn rendition(
    settings: &MediaSettings,
    folder: &Path,
    demuxer: &'static str,
    transcode: bool,
) -> Result<std::path::PathBuf, ToolError> {
    let mut args: Vec<String> = ["-nostdin", "-v", "error", "-y"]
        .into_iter()
        .chain(input_args(demuxer))
        .map(str::to_owned)
        .collect();
    args.extend(
        [
            "-map",
            "0:v:0",
            "-map",
            "0:a:0?",
            "-map_metadata",
            "-1",
            "-map_chapters",
            "-1",
            "-sn",
            "-dn",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    if transcode {
        let kbps = settings.video_max_kbps;
        args.extend([
            "-vf".to_owned(),
            scale_filter(settings.video_max_edge),
            "-c:v".into(),
            "libx264".into(),
            "-preset".into(),
            "veryfast".into(),
            "-crf".into(),
            "23".into(),
            "-maxrate".into(),
            format!("{kbps}k"),
            "-bufsize".into(),
            format!("{}k", kbps.saturating_mul(2)),
            "-pix_fmt".into(),
            "yuv420p".into(),
            "-threads".into(),
            "2".into(),
            "-c:a".into(),
            "aac".into(),
            "-b:a".into(),
            "128k".into(),
            "-ac".into(),
            "2".into(),
        ]);
    } else {
        args.extend(["-c".to_owned(), "copy".into()]);
    }
    args.extend([
        "-movflags".to_owned(),
        "+faststart".into(),
        "-f".into(),
        "mp4".into(),
    ]);
    args.push("file:video.mp4".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tool(settings, &settings.ffmpeg, folder, &args).await?;
    Ok(folder.join("video.mp4"))
}

/// Runs `program` with `args` in `folder` under the limits; returns its standard output.
async fn tool(
    settings: &MediaSettings,
    program: &str,
    folder: &Path,
    args: &[&str],
) -> Result<Vec<u8>, ToolError> {
    let timeout = Duration::from_secs(settings.video_timeout_secs.max(1));
    let limits = Limits {
        cpu_secs: settings.video_timeout_secs.max(1),
        memory_bytes: settings.video_memory_mb.saturating_mul(1024 * 1024),
        file_bytes: settings
            .max_video_bytes
            .saturating_mul(4)
            .max(64 * 1024 * 1024),
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args.iter().map(OsString::from))
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    limits.apply(&mut command);
    let child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ToolError::Transient(format!("{program} is not installed"))
        } else {
            ToolError::Transient(format!("{program} could not start: {e}"))
        }
    })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(ToolError::Transient(format!("{program}: {e}"))),
        Err(_) => {
            return Err(ToolError::Failed(format!(
                "processing took longer than {} s",
                timeout.as_secs()
            )))
        }
    };
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let why = match std::os::unix::process::ExitStatusExt::signal(&output.status) {
            Some(signal) => format!("stopped by signal {signal} (over a limit)"),
            None => reason_from(&output.stderr),
        };
        Err(ToolError::Failed(format!(
            "the video could not be processed: {why}"
        )))
    }
}

/// What one FFmpeg run may use.
struct Limits {
    cpu_secs: u64,
    memory_bytes: u64,
    file_bytes: u64,
}

impl Limits {
    fn apply(&self, command: &mut tokio::process::Command) {
        let (cpu, memory, file) = (self.cpu_secs, self.memory_bytes, self.file_bytes);
        // SAFETY: runs in the child between fork and exec, and calls only setrlimit,
        // which is async-signal-safe; nothing is allocated or locked.
        unsafe {
            command.pre_exec(move || {
                set_limit(libc::RLIMIT_CPU, cpu)?;
                set_limit(libc::RLIMIT_AS, memory)?;
                set_limit(libc::RLIMIT_FSIZE, file)?;
                Ok(())
            });
        }
    }
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: a plain system call with a valid pointer to a local.
    if unsafe { libc::setrlimit(resource, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The largest resident memory any finished child of this process had, in KiB.
fn children_peak_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    usage.ru_maxrss
}
