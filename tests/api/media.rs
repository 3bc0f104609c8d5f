//! API.md §5 and the avatar routes of §3, with real files made here.

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app_with, TestApp};

const IMAGE_LIMIT: u64 = 64 * 1024;
const VIDEO_LIMIT: u64 = 1024 * 1024;

pub(crate) async fn app() -> TestApp {
    spawn_app_with(|s| {
        s.media.max_image_bytes = IMAGE_LIMIT;
        s.media.max_video_bytes = VIDEO_LIMIT;
    })
    .await
}

/// A picture `width`×`height` of a gradient (so resizing and orientation show).
pub(crate) fn picture(width: u32, height: u32) -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            90,
        ])
    }))
}

fn encoded(picture: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, format)
        .expect("an encoded picture");
    out.into_inner()
}

/// A real PNG with `extra` chunks after its header and, when `padding` is over 12, a
/// private chunk making the file exactly `padding` bytes longer.
pub(crate) fn png_with(
    width: u32,
    height: u32,
    padding: usize,
    extra: &[(&[u8; 4], &[u8])],
) -> Vec<u8> {
    let bytes = encoded(&picture(width, height), image::ImageFormat::Png);
    let mut png = img_parts::png::Png::from_bytes(bytes.into()).expect("a PNG");
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        img_parts::png::PngChunk::new(*kind, img_parts::Bytes::copy_from_slice(data))
    };
    let chunks = png.chunks_mut();
    for (at, (kind, data)) in extra.iter().enumerate() {
        chunks.insert(1 + at, chunk(kind, data));
    }
    if padding >= 12 {
        chunks.insert(1, chunk(b"rkPd", &vec![0u8; padding - 12]));
    }
    png.encoder().bytes().to_vec()
}

pub(crate) fn png(width: u32, height: u32, padding: usize) -> Vec<u8> {
    png_with(width, height, padding, &[])
}

pub(crate) fn jpeg(width: u16, height: u16) -> Vec<u8> {
    encoded(
        &picture(u32::from(width), u32::from(height)),
        image::ImageFormat::Jpeg,
    )
}

pub(crate) fn gif(width: u16, height: u16) -> Vec<u8> {
    encoded(
        &picture(u32::from(width), u32::from(height)),
        image::ImageFormat::Gif,
    )
}

/// A minimal MP4 `ftyp` box followed by `len` bytes of a recognisable pattern.
fn mp4(len: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    bytes.extend((0..len).map(|i| (i % 251) as u8));
    bytes
}

pub(crate) async fn upload(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    name: &str,
    declared: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(declared)
        .unwrap();
    let mut request = app
        .request(Method::POST, path)
        .multipart(Form::new().part("file", part));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

pub(crate) async fn uploaded(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> Value {
    let response = upload(
        app,
        "/api/media",
        Some(token),
        name,
        "application/octet-stream",
        bytes,
    )
    .await;
    let status = response.status();
    let media: Value = response.json().await.unwrap();
    // An image is processed before the answer; a video after it.
    let expected = match media["status"].as_str() {
        Some("processing") => StatusCode::ACCEPTED,
        _ => StatusCode::CREATED,
    };
    assert_eq!(status, expected, "{name}: {media}");
    assert_eq!(
        media["kind"] == "video",
        status == StatusCode::ACCEPTED,
        "{name}: {media}"
    );
    media
}

async fn stored_files(app: &TestApp) -> (u64, u64) {
    let db = app.db.database();
    let files = db
        .collection::<bson::Document>("media.files")
        .count_documents(bson::doc! {})
        .await
        .unwrap();
    let chunks = db
        .collection::<bson::Document>("media.chunks")
        .count_documents(bson::doc! {})
        .await
        .unwrap();
    (files, chunks)
}

#[tokio::test]
async fn images_are_typed_by_their_bytes_and_report_their_size() {
    let app = app().await;
    let user = app.create_user("uploader").await;
    for (name, bytes, content_type, (w, h)) in [
        ("a.png", png(640, 480, 0), "image/png", (640, 480)),
        ("photo.bin", jpeg(800, 600), "image/jpeg", (800, 600)),
        ("anim.jpg", gif(32, 16), "image/gif", (32, 16)),
    ] {
        let media = uploaded(&app, &user.access, name, bytes.clone()).await;
        assert_eq!(media["kind"], "image", "{name}");
        assert_eq!(media["content_type"], content_type, "{name}");
        assert_eq!(
            (media["width"].as_u64(), media["height"].as_u64()),
            (Some(w), Some(h)),
            "{name}"
        );
        assert_eq!(media["size"], bytes.len());
        let id = media["id"].as_str().unwrap();
        let url = media["url"].as_str().unwrap();
        let key = url
            .strip_prefix(&format!("/api/media/{id}?key="))
            .expect("the download path with the file's key");
        assert_eq!(key.len(), 22, "128 bits, base64url: {url}");
        let download = app.get(url, None).await;
        assert_eq!(download.status(), StatusCode::OK);
        assert_eq!(download.headers()["content-type"], content_type);
        assert_eq!(
            download.headers()["content-length"],
            bytes.len().to_string().as_str()
        );
        assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    let video = uploaded(&app, &user.access, "clip.txt", mp4(1000)).await;
    assert_eq!(
        (video["kind"].as_str(), video["content_type"].as_str()),
        (Some("video"), Some("video/mp4"))
    );
    assert!(video["width"].is_null());
}

#[tokio::test]
async fn anything_that_is_not_an_allowed_type_is_a_415_and_stores_nothing() {
    let app = app().await;
    let user = app.create_user("uploader").await;
    let text = upload(
        &app,
        "/api/media",
        Some(&user.access),
        "cat.png",
        "image/png",
        b"I am text pretending to be a PNG".to_vec(),
    )
    .await;
    assert_error(
        text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let pdf = upload(
        &app,
        "/api/media",
        Some(&user.access),
        "doc.mp4",
        "video/mp4",
        b"%PDF-1.7 ...".to_vec(),
    )
    .await;
    assert_error(
        pdf,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(stored_files(&app).await, (0, 0));

    let no_file = app
        .request(Method::POST, "/api/media")
        .bearer_auth(&user.access)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    let body = assert_error(no_file, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["file"].is_array());
    let not_multipart = app
        .post("/api/media", Some(&user.access), &json!({ "file": "x" }))
        .await;
    assert_error(not_multipart, StatusCode::BAD_REQUEST, "validation_error").await;
    let anonymous = upload(&app, "/api/media", None, "a.png", "image/png", png(1, 1, 0)).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

#[tokio::test]
async fn one_byte_over_the_limit_is_a_413_that_leaves_no_chunks() {
    let app = app().await;
    let user = app.create_user("uploader").await;
    let exact = png(10, 10, 0);
    let at_limit = png(10, 10, IMAGE_LIMIT as usize - exact.len());
    assert_eq!(at_limit.len() as u64, IMAGE_LIMIT);
    uploaded(&app, &user.access, "max.png", at_limit).await;
    let over = png(10, 10, IMAGE_LIMIT as usize - exact.len() + 1);
    let response = upload(
        &app,
        "/api/media",
        Some(&user.access),
        "over.png",
        "image/png",
        over,
    )
    .await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let video_over = mp4(VIDEO_LIMIT as usize); // the 24-byte header makes it just over
    let response = upload(
        &app,
        "/api/media",
        Some(&user.access),
        "big.mp4",
        "video/mp4",
        video_over,
    )
    .await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let (files, chunks) = stored_files(&app).await;
    assert_eq!(files, 1, "only the upload at the limit");
    assert_eq!(chunks, 1, "no orphaned chunks from the refused uploads");
}

#[tokio::test]
async fn downloads_answer_ranges_etags_and_conditional_requests() {
    let app = app().await;
    let user = app.create_user("streamer").await;
    let bytes = mp4(700_000); // three GridFS chunks of 255 KiB
    let media = uploaded(&app, &user.access, "movie.mp4", bytes.clone()).await;
    let path = media["url"].as_str().unwrap().to_owned();
    let len = bytes.len();

    let whole = app.get(&path, None).await;
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert!(whole.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(whole.bytes().await.unwrap().len(), len);

    let chunk = 255 * 1024;
    for (range, start, end) in [
        ("bytes=0-99".to_string(), 0, 99),
        (
            format!("bytes={}-{}", chunk - 10, chunk + 10),
            chunk - 10,
            chunk + 10,
        ),
        ("bytes=-100".to_string(), len - 100, len - 1),
        (format!("bytes={}-", len - 5), len - 5, len - 1),
        (format!("bytes=10-{}", len + 1000), 10, len - 1),
    ] {
        let response = app
            .request(Method::GET, &path)
            .header("Range", &range)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes {start}-{end}/{len}").as_str(),
            "{range}"
        );
        assert_eq!(
            response.headers()["content-length"],
            (end - start + 1).to_string().as_str()
        );
        assert_eq!(
            response.bytes().await.unwrap().as_ref(),
            &bytes[start..=end],
            "{range}"
        );
    }
    let unsatisfiable = app
        .request(Method::GET, &path)
        .header("Range", format!("bytes={len}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unsatisfiable.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
    assert_error(
        unsatisfiable,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
    )
    .await;

    let cached = app
        .request(Method::GET, &path)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert!(cached.bytes().await.unwrap().is_empty());
    let alias = app
        .get(&path.replace("/api/media/", "/api/posts/videos/"), None)
        .await;
    assert_eq!(alias.status(), StatusCode::OK);
    assert_error(
        app.get("/api/media/ffffffffffffffffffffffff", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/api/media/nope", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn posts_embed_only_their_authors_own_media() {
    let app = app().await;
    let author = app.create_user("author").await;
    let other = app.create_user("other").await;
    let mine = uploaded(&app, &author.access, "a.png", png(4, 3, 0)).await;
    let theirs = uploaded(&app, &other.access, "b.png", png(4, 3, 0)).await;

    let stolen = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "x", "media_ids": [theirs["id"]] }),
        )
        .await;
    let body = assert_error(stolen, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["media_ids"].is_array());
    let bad = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "x", "media_ids": ["zzz"] }),
        )
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "validation_error").await;

    let post: Value = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "pic", "media_ids": [mine["id"]] }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(post["media"], json!([mine]));
    let listed: Value = app.get("/api/posts", None).await.json().await.unwrap();
    assert_eq!(listed["results"][0]["media"][0]["id"], mine["id"]);

    // Only the owner deletes a file; posts let go of it.
    let media_path = format!("/api/media/{}", mine["id"].as_str().unwrap());
    let by_other = app
        .request(Method::DELETE, &media_path)
        .bearer_auth(&other.access)
        .send()
        .await
        .unwrap();
    assert_error(by_other, StatusCode::FORBIDDEN, "permission_denied").await;
    let by_owner = app
        .request(Method::DELETE, &media_path)
        .bearer_auth(&author.access)
        .send()
        .await
        .unwrap();
    assert_eq!(by_owner.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get(&media_path, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let after: Value = app
        .get(
            &format!("/api/posts/{}", post["id"].as_str().unwrap()),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["media"], json!([]));
}

#[tokio::test]
async fn a_video_uploaded_through_the_alias_can_attach_to_the_callers_post() {
    let app = app().await;
    let author = app.create_user("author").await;
    let other = app.create_user("other").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "watch" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let post_id = post["id"].as_str().unwrap().to_owned();
    let form = |id: &str| {
        Form::new()
            .text("post_id", id.to_owned())
            .part("file", Part::bytes(mp4(100)).file_name("v.mp4"))
    };
    let attached = app
        .request(Method::POST, "/api/posts/videos")
        .bearer_auth(&author.access)
        .multipart(form(&post_id))
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), StatusCode::ACCEPTED);
    let video: Value = attached.json().await.unwrap();
    assert_eq!(video["status"], "processing");
    // Attached at once; shown by the post once processed (media_pipeline.rs).
    let stored = app
        .db
        .database()
        .collection::<bson::Document>("posts")
        .find_one(bson::doc! { "_id": bson::oid::ObjectId::parse_str(&post_id).unwrap() })
        .await
        .unwrap()
        .expect("the post");
    let attached_ids: Vec<String> = stored
        .get_array("media_ids")
        .unwrap()
        .iter()
        .filter_map(|id| id.as_object_id().map(|id| id.to_hex()))
        .collect();
    assert_eq!(attached_ids, vec![video["id"].as_str().unwrap().to_owned()]);
    let fresh: Value = app
        .get(&format!("/api/posts/{post_id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["media"], json!([]), "not shown while processing");

    let foreign = app
        .request(Method::POST, "/api/posts/videos")
        .bearer_auth(&other.access)
        .multipart(form(&post_id))
        .send()
        .await
        .unwrap();
    let body = assert_error(foreign, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["post_id"].is_array());
    assert_eq!(
        stored_files(&app).await.0,
        1,
        "the refused upload was removed"
    );
}

async fn author_avatar(app: &TestApp, post_path: &str) -> Value {
    let post: Value = app.get(post_path, None).await.json().await.unwrap();
    post["author"]["avatar_url"].clone()
}

#[tokio::test]
async fn avatars_are_images_and_replace_each_other() {
    let app = app().await;
    let user = app.create_user("faceful").await;
    let put = |bytes: Vec<u8>| {
        let form = Form::new().part("file", Part::bytes(bytes).file_name("me.png"));
        app.request(Method::PUT, "/api/users/me/avatar")
            .bearer_auth(&user.access)
            .multipart(form)
            .send()
    };
    let post = app
        .post(
            "/api/posts",
            Some(&user.access),
            &json!({ "content": "Before" }),
        )
        .await;
    let post_path = format!(
        "/api/posts/{}",
        post.json::<Value>().await.unwrap()["id"].as_str().unwrap()
    );
    assert!(author_avatar(&app, &post_path).await.is_null());
    let first: Value = put(png(64, 64, 0)).await.unwrap().json().await.unwrap();
    let first_url = first["avatar_url"].as_str().unwrap().to_owned();
    assert_eq!(
        author_avatar(&app, &post_path).await,
        first["avatar_url"],
        "posts show it"
    );
    assert!(first_url.starts_with("/api/media/"));
    assert_eq!(app.get(&first_url, None).await.status(), StatusCode::OK);

    let second: Value = put(gif(8, 8)).await.unwrap().json().await.unwrap();
    assert_ne!(second["avatar_url"], first["avatar_url"]);
    assert_error(
        app.get(&first_url, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let public: Value = app
        .get("/api/users/faceful", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["avatar_url"], second["avatar_url"]);

    assert_error(
        put(mp4(10)).await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let removed = app
        .request(Method::DELETE, "/api/users/me/avatar")
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(removed.json::<Value>().await.unwrap()["avatar_url"].is_null());
    assert!(
        author_avatar(&app, &post_path).await.is_null(),
        "posts let it go"
    );
    assert_eq!(stored_files(&app).await, (0, 0));
}
