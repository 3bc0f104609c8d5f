//! The media pipeline: an image's variants made before the answer, a video's poster,
//! duration and web rendition made by a `media` job with FFmpeg, the `processing` →
//! `ready`/`failed` lifecycle, its notification, and the variants served like the file.
//! The videos are made here with FFmpeg; without it (`ROOKERY_TEST_FFMPEG=0`, or no
//! `ffmpeg` on the PATH) only the video tests are skipped, loudly.

use std::process::Command;
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, ETAG, IF_NONE_MATCH, RANGE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{created, TestApp, TestUser};
use crate::media::{app, png, upload, uploaded};

/// Whether FFmpeg is here to make and process videos; says so loudly when not.
fn ffmpeg_available(test: &str) -> bool {
    let wanted = std::env::var("ROOKERY_TEST_FFMPEG").map_or(true, |v| v != "0");
    let found = wanted
        && Command::new("ffmpeg")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "\n!!! SKIPPED {test}: FFmpeg is not installed, so videos can be neither made nor \
             processed here (make test installs it with apt-get when run as root) !!!\n"
        );
    }
    found
}

/// A video made by FFmpeg from its test pattern: `args` between the inputs and the output
/// file `name` (its extension picks the container).
fn make_video(seconds: u32, audio: bool, args: &[&str], name: &str) -> Vec<u8> {
    let folder = tempfile::tempdir().expect("a folder");
    let out = folder.path().join(name);
    let mut command = Command::new("ffmpeg");
    command.args(["-v", "error", "-y", "-f", "lavfi", "-i"]);
    command.arg(format!("testsrc=size=320x240:rate=10:duration={seconds}"));
    if audio {
        command.args(["-f", "lavfi", "-i"]);
        command.arg(format!("sine=frequency=440:duration={seconds}"));
    }
    let made = command.args(args).arg(&out).output().expect("ffmpeg runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    std::fs::read(out).expect("the video")
}

fn h264_mp4(faststart: bool) -> Vec<u8> {
    let mut args = vec![
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
    ];
    if faststart {
        args.extend(["-movflags", "+faststart"]);
    }
    make_video(2, true, &args, "clip.mp4")
}

/// The media's state once its processing is over (polled, up to a minute).
async fn settled(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let response = app.get(&format!("/api/media/{id}/info"), Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let media: Value = response.json().await.unwrap();
        if media["status"] != "processing" {
            return media;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still processing: {media}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn notifications(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let response = app.get("/api/notifications", Some(&user.access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    page["results"].as_array().cloned().unwrap_or_default()
}

async fn bytes_of(app: &TestApp, url: &str) -> Vec<u8> {
    let response = app.get(url, None).await;
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.bytes().await.unwrap().to_vec()
}

fn probe(bytes: &[u8]) -> Value {
    let folder = tempfile::tempdir().expect("a folder");
    let path = folder.path().join("probe.mp4");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn an_avatar_gets_its_sizes_and_they_keep_its_key() {
    let app = app().await;
    let user = app.create_user("portrait").await;
    let response = app
        .request(Method::PUT, "/api/users/me/avatar")
        .bearer_auth(&user.access)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(png(300, 200, 0)).file_name("me.png"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    let avatar_url = me["avatar_url"].as_str().expect("an avatar").to_owned();
    let id = avatar_url
        .strip_prefix("/api/media/")
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .to_owned();
    let key = avatar_url.split("key=").nth(1).unwrap().to_owned();

    let info: Value = app
        .get(&format!("/api/media/{id}/info"), Some(&user.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["status"], "ready");
    for size in [64u64, 128, 256] {
        let variant = &info["variants"][format!("avatar_{size}")];
        assert_eq!(
            (variant["width"].as_u64(), variant["height"].as_u64()),
            (Some(size), Some(size))
        );
        assert_eq!(variant["content_type"], "image/webp");
        let url = variant["url"].as_str().unwrap();
        assert!(url.ends_with(&format!("?key={key}")), "{url}");
        let bytes = bytes_of(&app, url).await;
        let decoded = image::load_from_memory(&bytes).expect("a WebP");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (size as u32, size as u32)
        );
    }
    assert_eq!(info["variants"]["preview"]["width"], 300, "never enlarged");

    // The state is its owner's, or the key holder's; a variant needs the key.
    let other = app.create_user("stranger").await;
    let info_path = format!("/api/media/{id}/info");
    assert_eq!(
        app.get(&info_path, Some(&other.access)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&info_path, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let with_key = app.get(&format!("{info_path}?key={key}"), None).await;
    assert_eq!(with_key.status(), StatusCode::OK);
    let wrong = format!("/api/media/{id}/avatar_64?key=AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(app.get(&wrong, None).await.status(), StatusCode::NOT_FOUND);
    let unknown = format!("/api/media/{id}/poster?key={key}");
    assert_eq!(
        app.get(&unknown, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/media/not-an-id/info", Some(&user.access))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_image_that_does_not_decode_is_refused() {
    let app = app().await;
    let user = app.create_user("glitch").await;
    let mut broken = png(64, 64, 0);
    let at = broken.len() - 30;
    broken[at..at + 10].copy_from_slice(&[0xAB; 10]);
    let response = upload(
        &app,
        "/api/media",
        Some(&user.access),
        "x.png",
        "image/png",
        broken,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn an_mp4_gets_a_poster_and_its_duration_and_a_post_shows_it_when_ready() {
    if !ffmpeg_available("an_mp4_gets_a_poster_and_its_duration") {
        return;
    }
    let app = app_for_videos().await;
    let user = app.create_user("filmmaker").await;
    let media = uploaded(&app, &user.access, "clip.mp4", h264_mp4(true)).await;
    assert_eq!(media["status"], "processing");
    let id = media["id"].as_str().unwrap().to_owned();
    // A post may take it while it is processing, and shows it once it is ready.
    let post = created(
        &app,
        &user,
        "/api/posts",
        json!({ "content": "my film", "media_ids": [id] }),
    )
    .await;

    let ready = settled(&app, &user.access, &id).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let duration = ready["duration"].as_f64().expect("a duration");
    assert!((duration - 2.0).abs() < 0.2, "{duration}");
    assert_eq!(
        (ready["video_codec"].as_str(), ready["audio_codec"].as_str()),
        (Some("h264"), Some("aac"))
    );
    assert_eq!(
        (ready["width"].as_u64(), ready["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert!(ready["blurhash"].is_string());
    let poster = &ready["variants"]["poster"];
    assert_eq!(poster["content_type"], "image/webp");
    let frame = image::load_from_memory(&bytes_of(&app, poster["url"].as_str().unwrap()).await)
        .expect("a poster");
    assert_eq!((frame.width(), frame.height()), (320, 240));
    assert_eq!(ready["content_type"], "video/mp4");
    let played = probe(&bytes_of(&app, ready["url"].as_str().unwrap()).await);
    assert_eq!(
        played["streams"][0]["codec_name"], "h264",
        "copied as it was"
    );

    let shown: Value = app
        .get(
            &format!("/api/posts/{}", post["id"].as_str().unwrap()),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["media"][0]["id"], id.as_str());
    assert_eq!(shown["media"][0]["status"], "ready");
    let told = notifications(&app, &user).await;
    assert!(
        told.iter()
            .any(|n| n["type"] == "media_ready" && n["media_id"] == id.as_str()),
        "{told:?}"
    );
}

/// The video stream's bits per second, as ffprobe reads them.
fn video_bit_rate(bytes: &[u8]) -> u64 {
    let probed = probe(bytes);
    let video = probed["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .find(|s| s["codec_type"] == "video")
        .cloned()
        .expect("a video stream");
    video["bit_rate"]
        .as_str()
        .and_then(|b| b.parse().ok())
        .expect("a bit rate")
}

#[tokio::test]
async fn a_web_playable_mp4_above_the_bit_rate_bound_is_transcoded_not_copied() {
    if !ffmpeg_available("a_web_playable_mp4_above_the_bit_rate_bound") {
        return;
    }
    let clip = h264_mp4(true);
    let uploaded_rate = video_bit_rate(&clip);
    let bound_kbps = u32::try_from(uploaded_rate / 4000).expect("a small rate");
    assert!(bound_kbps > 0, "{uploaded_rate}");
    let app = crate::helpers::spawn_app_with(|s| {
        s.media.max_video_bytes = 8 * 1024 * 1024;
        s.media.video_max_kbps = bound_kbps;
    })
    .await;
    let user = app.create_user("heavy").await;
    let media = uploaded(&app, &user.access, "clip.mp4", clip).await;
    let id = media["id"].as_str().expect("an id").to_owned();
    let ready = settled(&app, &user.access, &id).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let rendition = bytes_of(&app, ready["url"].as_str().expect("a url")).await;
    let served_rate = video_bit_rate(&rendition);
    assert!(
        served_rate < uploaded_rate / 2,
        "transcoded within {bound_kbps} kb/s: {served_rate} b/s served, {uploaded_rate} b/s uploaded"
    );
}

#[tokio::test]
async fn a_webm_gets_a_playable_h264_rendition_served_with_ranges() {
    if !ffmpeg_available("a_webm_gets_a_playable_h264_rendition") {
        return;
    }
    let app = app_for_videos().await;
    let user = app.create_user("webmer").await;
    let webm = make_video(
        2,
        false,
        &[
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "200k",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
        "clip.webm",
    );
    let media = uploaded(&app, &user.access, "clip.webm", webm).await;
    assert_eq!(media["content_type"], "video/webm");
    let id = media["id"].as_str().unwrap().to_owned();
    let ready = settled(&app, &user.access, &id).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(
        ready["content_type"], "video/mp4",
        "the URL now serves the rendition"
    );
    assert_eq!(ready["video_codec"], "vp9", "as uploaded");
    let rendition = &ready["variants"]["video"];
    let url = rendition["url"].as_str().unwrap().to_owned();
    let bytes = bytes_of(&app, &url).await;
    assert_eq!(rendition["size"], bytes.len());
    let probed = probe(&bytes);
    let video = probed["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("a video stream");
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(video["pix_fmt"], "yuv420p");
    assert!(
        rookery::domain::video::index_at_front(&bytes, bytes.len() as u64),
        "the index comes first"
    );
    assert_eq!(bytes_of(&app, ready["url"].as_str().unwrap()).await, bytes);

    // Ranges, as a player seeks.
    let partial = app
        .request(Method::GET, &url)
        .header(RANGE, "bytes=100-1099")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        partial.headers()[CONTENT_RANGE],
        format!("bytes 100-1099/{}", bytes.len()).as_str()
    );
    let etag = partial.headers()[ETAG].clone();
    assert_eq!(partial.bytes().await.unwrap().as_ref(), &bytes[100..1100]);
    let tail = app
        .request(Method::GET, &url)
        .header(RANGE, "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        tail.bytes().await.unwrap().as_ref(),
        &bytes[bytes.len() - 10..]
    );
    let again = app
        .request(Method::GET, &url)
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let outside = app
        .request(Method::GET, &url)
        .header(RANGE, format!("bytes={}-", bytes.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn a_truncated_video_fails_with_a_reason_and_the_service_stays_healthy() {
    if !ffmpeg_available("a_truncated_video_fails_with_a_reason") {
        return;
    }
    let app = app_for_videos().await;
    let user = app.create_user("unlucky").await;
    let mut video = h264_mp4(false);
    video.truncate(video.len() * 6 / 10);
    let media = uploaded(&app, &user.access, "cut.mp4", video).await;
    let id = media["id"].as_str().unwrap().to_owned();
    let post = created(
        &app,
        &user,
        "/api/posts",
        json!({ "content": "oops", "media_ids": [id] }),
    )
    .await;

    let failed = settled(&app, &user.access, &id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed["failure"].as_str().expect("a reason");
    assert!(!reason.is_empty() && !reason.contains("/tmp"), "{reason}");
    assert_eq!(failed["variants"], json!({}));
    assert_eq!(app.get("/health", None).await.status(), StatusCode::OK);
    let shown: Value = app
        .get(
            &format!("/api/posts/{}", post["id"].as_str().unwrap()),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["media"], json!([]), "a failed video is never shown");
    let told = notifications(&app, &user).await;
    assert!(told
        .iter()
        .any(|n| n["type"] == "media_failed" && n["media_id"] == id.as_str()));
    // The service goes on processing the next one.
    let next = uploaded(&app, &user.access, "ok.mp4", h264_mp4(true)).await;
    let next = settled(&app, &user.access, next["id"].as_str().unwrap()).await;
    assert_eq!(next["status"], "ready");
}

/// FFmpeg is told the container the bytes were sniffed as and may open only the upload:
/// a DASH manifest behind `<!--ftypjp2 -->` (which FFmpeg would otherwise probe as DASH
/// and follow to a local file), an HLS playlist and a concat list, bare or behind a
/// well-formed `ftyp` box, each either is refused at the upload or ends `failed`; none
/// becomes a video made of the file they name.
#[tokio::test]
async fn ffmpeg_reads_nothing_but_the_upload_whatever_the_upload_claims() {
    if !ffmpeg_available("ffmpeg_reads_nothing_but_the_upload") {
        return;
    }
    let app = app_for_videos().await;
    let user = app.create_user("prober").await;
    // A real video outside the upload, which a manifest or a playlist could name.
    let folder = tempfile::tempdir().expect("a folder");
    let secret = folder.path().join("secret.mp4");
    std::fs::write(&secret, h264_mp4(true)).expect("the secret video");
    let url = format!("file://{}", secret.display());
    let mpd = format!(
        r#"<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" mediaPresentationDuration="PT2S" minBufferTime="PT1S"><Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="100000" codecs="avc1.42c00d" width="320" height="240"><BaseURL>{url}</BaseURL></Representation></AdaptationSet></Period></MPD>"#
    );
    let hls = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{url}\n#EXT-X-ENDLIST\n"
    );
    let concat = format!("ffconcat version 1.0\nfile '{}'\n", secret.display());
    let ftyp = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    let refused = [
        (
            "a manifest in a comment",
            [b"<!--ftypjp2 -->\n".to_vec(), mpd.clone().into_bytes()].concat(),
        ),
        ("a playlist", hls.clone().into_bytes()),
        ("a concat list", concat.clone().into_bytes()),
    ];
    let send = |bytes: Vec<u8>| {
        upload(
            &app,
            "/api/media",
            Some(&user.access),
            "clip.mp4",
            "video/mp4",
            bytes,
        )
    };
    for (what, bytes) in refused {
        let response = send(bytes).await;
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{what}"
        );
    }
    let processed = [
        (
            "a manifest after a box",
            [ftyp.clone(), mpd.into_bytes()].concat(),
        ),
        (
            "a playlist after a box",
            [ftyp.clone(), hls.into_bytes()].concat(),
        ),
        (
            "a concat list after a box",
            [ftyp, concat.into_bytes()].concat(),
        ),
    ];
    for (what, bytes) in processed {
        let response = send(bytes).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{what}");
        let media: Value = response.json().await.unwrap();
        let done = settled(&app, &user.access, media["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "failed", "{what}: {done}");
        assert_eq!(done["variants"], json!({}), "{what}");
    }
}

/// One owner's batch does not hold back another owner's video: user A queues ten, user B
/// then uploads one, and B's is ready before A's third (claimed in fair order between
/// owners, not oldest first). The uploads are taken by an instance that runs no jobs, so
/// all eleven wait before a worker instance starts.
#[tokio::test]
async fn one_owners_batch_of_videos_does_not_hold_back_another_owners_video() {
    if !ffmpeg_available("one_owners_batch_of_videos_does_not_hold_back") {
        return;
    }
    let uri = crate::helpers::test_mongodb_uri();
    let (db, database) = crate::helpers::fresh_database().await;
    crate::helpers::seed_user(&db, "batcher").await;
    crate::helpers::seed_user(&db, "single").await;
    let videos = |s: &mut rookery::config::Settings| s.media.max_video_bytes = 8 * 1024 * 1024;
    let front = crate::helpers::spawn_app_on(&uri, &database, |s| {
        videos(s);
        s.jobs.workers = false;
    })
    .await;
    let a = crate::helpers::log_in_at(&front.address, "batcher").await;
    let b = crate::helpers::log_in_at(&front.address, "single").await;
    let clip = h264_mp4(true);
    let mut a_ids = Vec::new();
    for _ in 0..10 {
        let media = uploaded(&front, &a, "a.mp4", clip.clone()).await;
        a_ids.push(media["id"].as_str().unwrap().to_owned());
    }
    let b_media = uploaded(&front, &b, "b.mp4", clip).await;
    let b_id = b_media["id"].as_str().unwrap().to_owned();

    let worker = crate::helpers::spawn_instance_of(&front, &uri, videos).await;
    let mut ready_at = std::collections::HashMap::new();
    for (token, id) in a_ids.iter().map(|id| (&a, id)).chain([(&b, &b_id)]) {
        let done = settled(&worker, token, id).await;
        assert_eq!(done["status"], "ready", "{done}");
    }
    // When each became ready: the time of its media_ready notification.
    let notes = db.database().collection::<bson::Document>("notifications");
    for id in a_ids.iter().chain([&b_id]) {
        let media_id = bson::oid::ObjectId::parse_str(id).unwrap();
        let note = notes
            .find_one(bson::doc! { "media_id": media_id, "type": "media_ready" })
            .await
            .unwrap()
            .expect("a media_ready notification");
        ready_at.insert(id.clone(), *note.get_datetime("created_at").unwrap());
    }
    let b_ready = ready_at[&b_id];
    let a_before_b = a_ids.iter().filter(|id| ready_at[*id] < b_ready).count();
    assert!(
        a_before_b < 3,
        "{a_before_b} of A's videos were ready before B's one"
    );
}

/// A video beyond the probe's caps (here, longer than allowed) fails with its reason
/// before any transcoding.
#[tokio::test]
async fn a_video_beyond_the_caps_fails_saying_why() {
    if !ffmpeg_available("a_video_beyond_the_caps_fails_saying_why") {
        return;
    }
    let app = crate::helpers::spawn_app_with(|s| {
        s.media.max_video_bytes = 8 * 1024 * 1024;
        s.media.video_max_duration_secs = 1;
    })
    .await;
    let user = app.create_user("longwinded").await;
    let media = uploaded(&app, &user.access, "long.mp4", h264_mp4(true)).await;
    let done = settled(&app, &user.access, media["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["failure"].as_str().unwrap().contains("at most 1 s"),
        "{done}"
    );
}

/// The media tests' app with room for real videos.
async fn app_for_videos() -> TestApp {
    crate::helpers::spawn_app_with(|s| {
        s.media.max_video_bytes = 8 * 1024 * 1024;
    })
    .await
}

#[tokio::test]
async fn a_video_left_processing_without_its_job_gets_one_at_start_up() {
    // As if the instance died between storing the video and writing its job: the file is
    // `processing` and no job is queued. `rookery migrate`, as `serve` does first, writes
    // the job again, and a worker takes it.
    let app = app().await;
    let user = app.create_user("orphan").await;
    let mut bytes = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    bytes.extend([7u8; 1000]);
    let media = uploaded(&app, &user.access, "v.mp4", bytes).await;
    let id = bson::oid::ObjectId::parse_str(media["id"].as_str().unwrap()).unwrap();
    crate::helpers::wait_for_jobs(&app.db, 30).await;
    let jobs = app.db.database().collection::<bson::Document>("jobs");
    jobs.delete_many(bson::doc! { "_id": id }).await.unwrap();
    let files = app
        .db
        .database()
        .collection::<bson::Document>("media.files");
    let reset = files
        .update_one(
            bson::doc! { "_id": id },
            bson::doc! { "$set": { "metadata.status": "processing" } },
        )
        .await
        .unwrap();
    assert_eq!(reset.matched_count, 1);

    let migrated = crate::media_privacy::migrate(&app).await;
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let queued = jobs
            .count_documents(bson::doc! { "_id": id })
            .await
            .unwrap();
        let file = files
            .find_one(bson::doc! { "_id": id })
            .await
            .unwrap()
            .expect("the file");
        let status = file
            .get_document("metadata")
            .unwrap()
            .get_str("status")
            .unwrap()
            .to_owned();
        if queued == 1 || status != "processing" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no job for the file"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
