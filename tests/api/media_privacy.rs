//! Who can download a file: only whoever was handed its URL by a read they were allowed
//! (the capability key in every media URL). Ids are random, so counting finds nothing.

use bson::oid::ObjectId;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{created, rookery_command, TestApp};
use crate::media::{app, jpeg, png, png_with, uploaded};

/// The ids `distance` either side of `id`, counting as a client would: the 12 bytes as
/// one number.
fn neighbours(id: &str, distance: u128) -> Vec<String> {
    let n = u128::from_str_radix(id, 16).unwrap();
    (1..=distance)
        .flat_map(|d| [n.wrapping_add(d), n.wrapping_sub(d)])
        .map(|m| format!("{:024x}", m & ((1u128 << 96) - 1)))
        .collect()
}

/// The key of a media URL.
fn key_of(url: &str) -> String {
    url.split_once("?key=").unwrap().1.to_owned()
}

/// A media URL without its key.
fn without_key(url: &str) -> String {
    url.split_once("?key=").unwrap().0.to_owned()
}

/// Every way `token` (or nobody) might try to get file `id` without its key: bare path,
/// the alias, someone else's key, a made-up key. All must be `404`.
async fn assert_unreachable(app: &TestApp, id: &str, wrong_key: &str, token: Option<&str>) {
    for path in [
        format!("/api/media/{id}"),
        format!("/api/posts/videos/{id}"),
        format!("/api/media/{id}?key={wrong_key}"),
        format!("/api/media/{id}?key=AAAAAAAAAAAAAAAAAAAAAA"),
        format!("/api/media/{id}?key="),
    ] {
        let response = app.get(&path, token).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn a_private_groups_media_cannot_be_found_by_counting_ids_or_guessing_keys() {
    let app = app().await;
    let owner = app.create_user("owner").await;
    let member = app.create_user("member").await;
    let outsider = app.create_user("outsider").await;
    let group = created(
        &app,
        &owner,
        "/api/groups",
        json!({ "name": "Family", "visibility": "private" }),
    )
    .await;
    let group_id = group["id"].as_str().unwrap();
    created(
        &app,
        &owner,
        &format!("/api/groups/{group_id}/members"),
        json!({ "user_id": member.id }),
    )
    .await;

    // The outsider uploads just before and just after the owner.
    let before = uploaded(&app, &outsider.access, "a.jpg", jpeg(4, 4)).await;
    let secret = uploaded(&app, &owner.access, "family.jpg", jpeg(8, 8)).await;
    let after = uploaded(&app, &outsider.access, "b.jpg", jpeg(4, 4)).await;
    let post = created(
        &app,
        &owner,
        "/api/posts",
        json!({ "content": "our holiday", "group_id": group_id, "media_ids": [secret["id"]] }),
    )
    .await;
    let secret_id = secret["id"].as_str().unwrap();
    let secret_url = post["media"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(secret_url, secret["url"].as_str().unwrap());

    // A member is handed the URL with the post, and it works without a token, as in <img>.
    let seen: Value = app
        .get(
            &format!("/api/posts/{}", post["id"].as_str().unwrap()),
            Some(&member.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["media"][0]["url"], secret_url.as_str());
    let download = app.get(&secret_url, None).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        jpeg(8, 8).as_slice()
    );

    // Nothing about the outsider's own uploads leads to the owner's.
    let outsider_key = key_of(after["url"].as_str().unwrap());
    for id in [
        before["id"].as_str().unwrap(),
        after["id"].as_str().unwrap(),
    ] {
        let mut candidates = neighbours(id, 40);
        candidates.push(secret_id.to_owned());
        for candidate in candidates {
            let own = candidate == before["id"] || candidate == after["id"];
            if !own {
                assert_unreachable(&app, &candidate, &outsider_key, Some(&outsider.access)).await;
            }
        }
    }
    // Not around the owner's id either, signed in or anonymous.
    for candidate in neighbours(secret_id, 5)
        .into_iter()
        .chain([secret_id.to_owned()])
    {
        assert_unreachable(&app, &candidate, &outsider_key, Some(&outsider.access)).await;
        assert_unreachable(&app, &candidate, &outsider_key, None).await;
    }
    // Ids share no timestamp, process constant or counter.
    let ids: Vec<ObjectId> = [&before, &secret, &after]
        .iter()
        .map(|m| ObjectId::parse_str(m["id"].as_str().unwrap()).unwrap())
        .collect();
    assert_ne!(ids[0].bytes()[4..9], ids[2].bytes()[4..9]);
    // And the outsider is never handed the URL: the post is not theirs to see.
    let refused = app
        .get(
            &format!("/api/posts/{}", post["id"].as_str().unwrap()),
            Some(&outsider.access),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_scheduled_posts_media_stay_with_its_author_and_a_removed_posts_urls_stop_working() {
    let app = app().await;
    let author = app.create_user("author").await;
    let reader = app.create_user("reader").await;
    let moderator = app.create_user("moderator").await;
    app.make_admin(&moderator).await;

    // Scheduled: the author has the URL; the reader never sees the post or the file.
    let early = uploaded(&app, &author.access, "soon.png", png(2, 2, 0)).await;
    let publish_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let scheduled = created(
        &app,
        &author,
        "/api/posts",
        json!({ "content": "not yet", "publish_at": publish_at, "media_ids": [early["id"]] }),
    )
    .await;
    assert_eq!(scheduled["status"], "scheduled");
    let scheduled_path = format!("/api/posts/{}", scheduled["id"].as_str().unwrap());
    assert_eq!(
        app.get(&scheduled_path, Some(&reader.access))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_unreachable(
        &app,
        early["id"].as_str().unwrap(),
        "x",
        Some(&reader.access),
    )
    .await;
    assert_eq!(
        app.get(early["url"].as_str().unwrap(), None).await.status(),
        StatusCode::OK,
        "the author's own URL works"
    );

    // Removed by a moderator, or deleted by its author: the URLs readers were handed die.
    for remove_by_moderator in [true, false] {
        let file = uploaded(&app, &author.access, "shown.png", png(2, 2, 0)).await;
        let public = created(
            &app,
            &author,
            "/api/posts",
            json!({ "content": "look", "media_ids": [file["id"]] }),
        )
        .await;
        let post_id = public["id"].as_str().unwrap();
        let read: Value = app
            .get(&format!("/api/posts/{post_id}"), Some(&reader.access))
            .await
            .json()
            .await
            .unwrap();
        let handed = read["media"][0]["url"].as_str().unwrap().to_owned();
        assert_eq!(app.get(&handed, None).await.status(), StatusCode::OK);

        if remove_by_moderator {
            let report = created(
                &app,
                &reader,
                &format!("/api/posts/{post_id}/report"),
                json!({ "reason": "spam" }),
            )
            .await;
            let decided = app
                .send_json(
                    Method::PATCH,
                    &format!("/api/reports/{}", report["id"].as_str().unwrap()),
                    Some(&moderator.access),
                    &json!({ "status": "resolved", "remove_post": true }),
                )
                .await;
            assert_eq!(decided.status(), StatusCode::OK);
        } else {
            let deleted = app
                .request(Method::DELETE, &format!("/api/posts/{post_id}"))
                .bearer_auth(&author.access)
                .send()
                .await
                .unwrap();
            assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        }
        for token in [
            None,
            Some(reader.access.as_str()),
            Some(author.access.as_str()),
        ] {
            assert_eq!(
                app.get(&handed, token).await.status(),
                StatusCode::NOT_FOUND,
                "moderator: {remove_by_moderator}"
            );
        }
        // The file is still its owner's to delete.
        let gone = app
            .request(
                Method::DELETE,
                &format!("/api/media/{}", file["id"].as_str().unwrap()),
            )
            .bearer_auth(&author.access)
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    }
}

/// `rookery migrate` on the app's database, off the test's runtime, so the runtime keeps
/// tending the client's pooled connections (a blocked one would reuse a connection the
/// server had closed meanwhile).
pub(crate) async fn migrate(app: &TestApp) -> std::process::Output {
    let mut command = rookery_command(&app.database_name);
    command.arg("migrate");
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn migrate_gives_files_stored_before_keys_a_key_and_their_avatar_urls_follow() {
    let app = app().await;
    let user = app.create_user("oldtimer").await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png(3, 3, 0)).file_name("me.png"),
    );
    let me: Value = app
        .request(Method::PUT, "/api/users/me/avatar")
        .bearer_auth(&user.access)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created(&app, &user, "/api/posts", json!({ "content": "hello" })).await;
    let file = uploaded(&app, &user.access, "old.jpg", jpeg(5, 5)).await;

    // Make the database what an older release left: no keys, bare paths stored.
    let db = app.db.database();
    db.collection::<bson::Document>("media.files")
        .update_many(
            bson::doc! {},
            bson::doc! { "$unset": { "metadata.key": "" } },
        )
        .await
        .unwrap();
    let avatar_media = without_key(me["avatar_url"].as_str().unwrap());
    let user_id = ObjectId::parse_str(&user.id).unwrap();
    db.collection::<bson::Document>("users")
        .update_one(
            bson::doc! { "_id": user_id },
            bson::doc! { "$set": { "avatar_url": &avatar_media } },
        )
        .await
        .unwrap();
    db.collection::<bson::Document>("posts")
        .update_many(
            bson::doc! { "author_id": user_id },
            bson::doc! { "$set": { "author.avatar_url": &avatar_media } },
        )
        .await
        .unwrap();
    let file_id = file["id"].as_str().unwrap();
    assert_unreachable(&app, file_id, "x", None).await;

    let output = migrate(&app).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("2 media files were given their key"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let profile: Value = app
        .get("/api/users/oldtimer", None)
        .await
        .json()
        .await
        .unwrap();
    let avatar_url = profile["avatar_url"].as_str().unwrap();
    assert!(
        avatar_url.starts_with(&format!("{avatar_media}?key=")),
        "{avatar_url}"
    );
    assert_eq!(app.get(avatar_url, None).await.status(), StatusCode::OK);
    let posts: Value = app
        .get("/api/users/oldtimer/posts", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(posts["results"][0]["author"]["avatar_url"], avatar_url);
    let post = created(
        &app,
        &user,
        "/api/posts",
        json!({ "content": "with the old file", "media_ids": [file_id] }),
    )
    .await;
    let url = post["media"][0]["url"].as_str().unwrap();
    assert_eq!(app.get(url, None).await.status(), StatusCode::OK);
    let again = migrate(&app).await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 media files"));
}

/// Raw EXIF (little-endian TIFF) as a phone writes it: camera make, orientation, and a GPS
/// position (51° 30' N, 0° 7' W).
fn phone_exif(orientation: u16) -> Vec<u8> {
    fn entry(t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        t.extend(tag.to_le_bytes());
        t.extend(kind.to_le_bytes());
        t.extend(count.to_le_bytes());
        t.extend(value);
    }
    let mut t = b"II\x2a\0\x08\0\0\0".to_vec();
    t.extend(3u16.to_le_bytes());
    entry(&mut t, 0x010F, 2, 8, 50u32.to_le_bytes()); // Make, at 50
    entry(
        &mut t,
        0x0112,
        3,
        1,
        [orientation.to_le_bytes()[0], 0, 0, 0],
    );
    entry(&mut t, 0x8825, 4, 1, 58u32.to_le_bytes()); // GPS IFD, at 58
    t.extend(0u32.to_le_bytes());
    t.extend(b"PhoneCo\0");
    // GPS IFD: latitude ref, latitude (3 rationals at 112), longitude ref, longitude (at 136).
    t.extend(4u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, 5, 3, 112u32.to_le_bytes());
    entry(&mut t, 0x0003, 2, 2, *b"W\0\0\0");
    entry(&mut t, 0x0004, 5, 3, 136u32.to_le_bytes());
    t.extend(0u32.to_le_bytes());
    assert_eq!(t.len(), 112);
    for (degrees, minutes) in [(51u32, 30u32), (0, 7)] {
        for (n, d) in [(degrees, 1u32), (minutes, 1), (0, 1)] {
            t.extend(n.to_le_bytes());
            t.extend(d.to_le_bytes());
        }
    }
    t
}

/// A real 16×8 JPEG (a gradient) around `exif`: JFIF, EXIF, XMP, the frame and scan, EOI,
/// and a trailer appended after it (as phones append motion clips and depth maps).
fn phone_jpeg(exif: &[u8]) -> Vec<u8> {
    let plain = crate::media::jpeg(16, 8);
    let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(plain.into()).expect("a JPEG");
    let segment = |marker: u8, contents: Vec<u8>| {
        img_parts::jpeg::JpegSegment::new_with_contents(marker, contents.into())
    };
    let segments = jpeg.segments_mut();
    let at = usize::from(segments.first().is_some_and(|s| s.marker() == 0xE0));
    segments.insert(at, segment(0xE1, [b"Exif\0\0".as_slice(), exif].concat()));
    segments.insert(
        at + 1,
        segment(
            0xE1,
            b"http://ns.adobe.com/xap/1.0/\0<exif:GPSLatitude>51,30N</exif:GPSLatitude>".to_vec(),
        ),
    );
    let mut bytes = jpeg.encoder().bytes().to_vec();
    bytes.extend(b"MotionPhoto PhoneCo GPS trailer");
    bytes
}

fn mentions(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn uploaded_photos_lose_their_location_and_camera_but_keep_their_orientation() {
    let app = app().await;
    let user = app.create_user("traveller").await;
    let photo = phone_jpeg(&phone_exif(6));
    assert!(exif::Reader::new()
        .read_raw(phone_exif(6))
        .unwrap()
        .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .is_some());

    let media = uploaded(&app, &user.access, "IMG_0001.jpg", photo.clone()).await;
    assert_eq!(media["status"], "ready");
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(8), Some(16)),
        "the size as shown: the 16×8 photo turned by its orientation"
    );
    assert!(
        media["blurhash"].as_str().is_some_and(|h| h.len() >= 6),
        "{media}"
    );
    let download = app.get(media["url"].as_str().unwrap(), None).await;
    assert_eq!(download.status(), StatusCode::OK);
    let stored = download.bytes().await.unwrap().to_vec();
    assert_eq!(media["size"], stored.len(), "the size is the stored file's");
    for told in [
        &b"PhoneCo"[..],
        b"GPSLatitude",
        b"MotionPhoto",
        b"ns.adobe.com",
    ] {
        assert!(
            !mentions(&stored, told),
            "{}",
            String::from_utf8_lossy(told)
        );
    }
    let exif_at = stored
        .windows(6)
        .position(|w| w == b"Exif\0\0")
        .expect("the orientation is still recorded");
    let exif = exif::Reader::new()
        .read_raw(stored[exif_at + 6..].to_vec())
        .unwrap();
    let fields: Vec<exif::Tag> = exif.fields().map(|f| f.tag).collect();
    assert_eq!(fields, [exif::Tag::Orientation]);
    assert_eq!(
        exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0)),
        Some(6)
    );
    let plain = crate::media::jpeg(16, 8);
    assert!(
        stored.ends_with(&plain[plain.len() - 16..]),
        "the image data is untouched"
    );

    // Its preview is upright, WebP, and carries nothing but pixels.
    let preview = &media["variants"]["preview"];
    assert_eq!(preview["content_type"], "image/webp", "{media}");
    assert_eq!(
        (preview["width"].as_u64(), preview["height"].as_u64()),
        (Some(8), Some(16))
    );
    let download = app.get(preview["url"].as_str().unwrap(), None).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "image/webp");
    let bytes = download.bytes().await.unwrap().to_vec();
    assert_eq!(preview["size"], bytes.len());
    for told in [
        &b"Exif"[..],
        b"EXIF",
        b"XMP",
        b"GPS",
        b"PhoneCo",
        b"MotionPhoto",
    ] {
        assert!(!mentions(&bytes, told), "{}", String::from_utf8_lossy(told));
    }
    let shown = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(shown.dimensions(), (8, 16));
    // Turned a quarter clockwise: the photo's bottom-left corner (no red, most green) is
    // now the top-left one, its top-left (neither) the top-right.
    let [r, g, _] = shown.get_pixel(0, 0).0;
    assert!(r < 70 && g > 140, "top-left {r},{g}");
    let [r, g, _] = shown.get_pixel(7, 0).0;
    assert!(r < 70 && g < 70, "top-right {r},{g}");
    // Without its key, neither the file nor its preview is anyone's.
    let keyless = without_key(preview["url"].as_str().unwrap());
    assert_eq!(
        app.get(&keyless, None).await.status(),
        StatusCode::NOT_FOUND
    );

    // A PNG's EXIF and text chunks go the same way; a broken container is refused.
    let png = png_with(
        2,
        2,
        4,
        &[
            (b"eXIf", &phone_exif(1)),
            (b"tEXt", b"Location\0Piccadilly"),
        ],
    );
    let media = uploaded(&app, &user.access, "screen.png", png).await;
    let stored = app
        .get(media["url"].as_str().unwrap(), None)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), png_with(2, 2, 0, &[]).as_slice());
    let mut broken = photo;
    broken.truncate(30);
    let refused = crate::media::upload(
        &app,
        "/api/media",
        Some(&user.access),
        "broken.jpg",
        "image/jpeg",
        broken,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
