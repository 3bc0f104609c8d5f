//! API.md §10: the `rookery` binary's subcommands and its start-up checks.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_error, rookery_command, spawn_app, test_mongodb_uri};

#[tokio::test]
async fn create_admin_creates_a_verified_admin_and_promotes_an_existing_account() {
    let app = spawn_app().await;
    let created = rookery_command(&app.database_name)
        .args([
            "create-admin",
            "--username",
            "boss",
            "--email",
            "boss@example.com",
            "--password",
            "admin-pass-123",
        ])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let login = app.login("boss", "admin-pass-123").await;
    assert_eq!(login.status(), StatusCode::OK);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["email_verified"], true);

    app.register("worker").await;
    let promoted = rookery_command(&app.database_name)
        .args([
            "create-admin",
            "--username",
            "worker",
            "--email",
            "worker@example.com",
            "--password",
            "promoted-pass-1",
        ])
        .output()
        .unwrap();
    assert!(
        promoted.status.success(),
        "{}",
        String::from_utf8_lossy(&promoted.stderr)
    );
    let body: Value = app
        .login("worker", "promoted-pass-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(
        rookery::store::users::collection(&app.db)
            .count_documents(bson::doc! {})
            .await
            .unwrap(),
        2
    );

    let weak = rookery_command(&app.database_name)
        .args([
            "create-admin",
            "--username",
            "weak",
            "--email",
            "weak@example.com",
            "--password",
            "123",
        ])
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert_error(
        app.login("weak", "123").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn migrate_creates_the_indexes_and_exits() {
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    let output = rookery_command(&database).arg("migrate").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let client = mongodb::Client::with_uri_str(test_mongodb_uri())
        .await
        .unwrap();
    let names = client
        .database(&database)
        .collection::<bson::Document>("users")
        .list_index_names()
        .await
        .unwrap();
    assert!(
        names.contains(&"username_key_unique".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"email_unique".to_string()), "{names:?}");
}

#[tokio::test]
async fn migrate_moves_feed_entries_an_older_version_stored_into_batches() {
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    let client = mongodb::Client::with_uri_str(test_mongodb_uri())
        .await
        .unwrap();
    let db = client.database(&database);
    let old = db.collection::<bson::Document>("timelines");
    let index = mongodb::IndexModel::builder()
        .keys(bson::doc! { "owner_id": 1, "post_id": 1 })
        .options(
            mongodb::options::IndexOptions::builder()
                .name("owner_post_unique".to_owned())
                .unique(true)
                .build(),
        )
        .build();
    old.create_index(index).await.expect("an old index");
    let (owner, author) = (bson::oid::ObjectId::new(), bson::oid::ObjectId::new());
    let now = bson::DateTime::now().timestamp_millis();
    let posts: Vec<bson::oid::ObjectId> = (0..3).map(|_| bson::oid::ObjectId::new()).collect();
    let entries: Vec<bson::Document> = posts
        .iter()
        .enumerate()
        .map(|(i, post)| {
            bson::doc! {
                "_id": bson::oid::ObjectId::new(), "owner_id": owner, "post_id": post,
                "author_id": author,
                "published_at": bson::DateTime::from_millis(now - 3_600_000 * i as i64),
                "hidden": i == 2,
            }
        })
        .collect();
    old.insert_many(entries).await.expect("old entries");
    for run in 0..2 {
        let output = rookery_command(&database).arg("migrate").output().unwrap();
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let names = db.list_collection_names().await.unwrap();
    assert!(!names.contains(&"timelines".to_owned()), "{names:?}");
    let batches = db.collection::<bson::Document>("timeline_batches");
    let indexes = batches.list_index_names().await.unwrap();
    assert!(indexes.contains(&"owner_top".to_owned()), "{indexes:?}");
    let mut moved = Vec::new();
    let mut cursor = batches
        .find(bson::doc! { "owner_id": owner })
        .sort(bson::doc! { "top": -1 })
        .await
        .unwrap();
    while let Some(batch) = futures::TryStreamExt::try_next(&mut cursor).await.unwrap() {
        for entry in batch.get_array("entries").unwrap() {
            let entry = entry.as_document().unwrap();
            moved.push((
                entry.get_object_id("post_id").unwrap(),
                entry.get_bool("hidden").unwrap_or(false),
            ));
        }
    }
    assert_eq!(
        moved,
        vec![(posts[0], false), (posts[1], false), (posts[2], true)],
        "each entry once, newest first, an hour apart so in batches of their own"
    );
}

#[test]
fn production_refuses_to_start_without_a_strong_secret() {
    let output = rookery_command("unused")
        .env("ROOKERY_ENV", "production")
        .env("JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JWT_SECRET") && stderr.contains("32"),
        "{stderr}"
    );
    assert!(!stderr.contains("too-short"), "the secret is never printed");
}

fn check(database: &str, repair: bool) -> (bool, String) {
    let mut command = rookery_command(database);
    command.arg("check");
    if repair {
        command.arg("--repair");
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn check_finds_counter_drift_and_orphans_and_repair_fixes_them() {
    let app = spawn_app().await;
    let author = app.create_user("drifter").await;
    let fan = app.create_user("drift_fan").await;
    app.post(
        "/api/users/drifter/follow",
        Some(&fan.access),
        &serde_json::json!({}),
    )
    .await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&author.access),
            &serde_json::json!({ "content": "count me" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = post["id"].as_str().unwrap().to_owned();
    for user in [&author, &fan] {
        app.post(
            &format!("/api/posts/{id}/like"),
            Some(&user.access),
            &serde_json::json!({}),
        )
        .await;
    }
    app.settle().await;
    let (clean, report) = check(&app.database_name, false);
    assert!(clean, "{report}");
    assert!(report.contains("everything is consistent"), "{report}");

    // What a process killed between two writes leaves behind.
    let post_id = bson::oid::ObjectId::parse_str(&id).unwrap();
    let author_id = bson::oid::ObjectId::parse_str(&author.id).unwrap();
    let db = app.db.database();
    db.collection::<bson::Document>("posts")
        .update_one(
            bson::doc! { "_id": post_id },
            bson::doc! { "$set": { "like_count": 99 } },
        )
        .await
        .unwrap();
    db.collection::<bson::Document>("users")
        .update_one(
            bson::doc! { "_id": author_id },
            bson::doc! { "$inc": { "followers_count": 1 } },
        )
        .await
        .unwrap();
    let gone = bson::oid::ObjectId::new();
    db.collection::<bson::Document>("likes")
        .insert_one(bson::doc! { "post_id": gone, "user_id": author_id, "created_at": bson::DateTime::now() })
        .await
        .unwrap();
    let now = bson::DateTime::now();
    db.collection::<bson::Document>("timeline_batches")
        .insert_one(bson::doc! {
            "_id": bson::oid::ObjectId::new(), "owner_id": author_id, "top": now,
            "entries": [
                { "post_id": post_id, "author_id": author_id, "published_at": now },
                { "post_id": gone, "author_id": author_id, "published_at": now },
            ],
        })
        .await
        .unwrap();

    let (clean, report) = check(&app.database_name, false);
    assert!(!clean, "{report}");
    assert!(
        report.contains("1 found: likes of deleted posts"),
        "{report}"
    );
    assert!(
        report.contains("1 found: feed batches holding deleted posts"),
        "{report}"
    );
    assert!(
        report.contains("1 found: posts with a wrong like_count"),
        "{report}"
    );
    assert!(
        report.contains("1 found: users with a wrong followers_count"),
        "{report}"
    );
    assert_eq!(
        json_of(&app, &format!("/api/posts/{id}")).await["like_count"],
        99,
        "check alone changes nothing"
    );

    let (repaired, report) = check(&app.database_name, true);
    assert!(repaired, "{report}");
    assert!(report.contains("4 repaired in all"), "{report}");
    assert_eq!(
        json_of(&app, &format!("/api/posts/{id}")).await["like_count"],
        2
    );
    assert_eq!(
        json_of(&app, "/api/users/drifter").await["followers_count"],
        1
    );
    assert_eq!(
        db.collection::<bson::Document>("likes")
            .count_documents(bson::doc! { "post_id": gone })
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.collection::<bson::Document>("timeline_batches")
            .count_documents(bson::doc! { "entries.post_id": gone })
            .await
            .unwrap(),
        0,
        "the deleted post's entry is taken out"
    );
    assert_eq!(
        db.collection::<bson::Document>("timeline_batches")
            .count_documents(bson::doc! { "entries.post_id": post_id, "owner_id": author_id })
            .await
            .unwrap(),
        2,
        "the live post's entries stay: the author's own, and the one beside the deleted post"
    );
    let (clean, report) = check(&app.database_name, false);
    assert!(clean, "{report}");
}

async fn json_of(app: &crate::helpers::TestApp, path: &str) -> Value {
    app.get(path, None).await.json().await.unwrap()
}

/// An ObjectId made `days` ago: what a crash that long ago left carries.
fn id_days_ago(days: i64) -> bson::oid::ObjectId {
    let at = bson::DateTime::from_millis(chrono::Utc::now().timestamp_millis() - days * 86_400_000);
    let fresh = bson::oid::ObjectId::new().bytes();
    let mut rest = [0u8; 8];
    rest.copy_from_slice(&fresh[4..]);
    rookery::store::object_id_at(at, rest)
}

/// A GridFS file of `bucket` as an upload writes it: a chunk, then (when `closed`) the
/// file document.
async fn stored_file(
    db: &mongodb::Database,
    bucket: &str,
    id: bson::oid::ObjectId,
    metadata: bson::Document,
    closed: bool,
) {
    db.collection::<bson::Document>(&format!("{bucket}.chunks"))
        .insert_one(bson::doc! {
            "files_id": id,
            "n": 0,
            "data": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![7; 64] },
        })
        .await
        .expect("chunk written");
    if closed {
        db.collection::<bson::Document>(&format!("{bucket}.files"))
            .insert_one(bson::doc! {
                "_id": id, "length": 64_i64, "chunkSize": 261_120, "uploadDate": bson::DateTime::now(),
                "filename": "left-behind", "metadata": metadata,
            })
            .await
            .expect("file written");
    }
}

#[tokio::test]
async fn check_finds_media_bytes_nothing_serves_and_repair_deletes_them() {
    let app = spawn_app().await;
    let user = app.create_user("uploader").await;
    let media =
        crate::media::uploaded(&app, &user.access, "p.png", crate::media::png(900, 600, 0)).await;
    let media_id =
        bson::oid::ObjectId::parse_str(media["id"].as_str().expect("an id")).expect("an ObjectId");
    let preview = media["variants"]["preview"]["url"]
        .as_str()
        .expect("a preview")
        .to_owned();
    let (clean, report) = check(&app.database_name, false);
    assert!(clean, "{report}");

    let db = app.db.database();
    // Two days ago a process died uploading an image: its preview was written and closed,
    // the original's chunks were written, its file document never was.
    let never_closed = id_days_ago(2);
    stored_file(&db, "media", never_closed, bson::doc! {}, false).await;
    let variant_meta = |parent| bson::doc! { "parent_id": parent, "name": "preview", "content_type": "image/webp" };
    stored_file(
        &db,
        "media_variants",
        id_days_ago(2),
        variant_meta(never_closed),
        true,
    )
    .await;
    // A processing run that lost its lease wrote a variant its media does not list.
    stored_file(
        &db,
        "media_variants",
        id_days_ago(2),
        variant_meta(media_id),
        true,
    )
    .await;
    // A variant being written now, of a media not closed yet, is nobody's drift.
    let uploading = bson::oid::ObjectId::new();
    stored_file(
        &db,
        "media_variants",
        bson::oid::ObjectId::new(),
        variant_meta(uploading),
        true,
    )
    .await;
    stored_file(&db, "media", uploading, bson::doc! {}, false).await;

    let (clean, report) = check(&app.database_name, false);
    assert!(!clean, "{report}");
    assert!(
        report.contains("2 found: media variants nothing serves"),
        "{report}"
    );
    assert!(
        report.contains("1 found: uploads never finished (their chunks)"),
        "{report}"
    );

    let (repaired, report) = check(&app.database_name, true);
    assert!(repaired, "{report}");
    assert!(report.contains("3 repaired in all"), "{report}");
    let (clean, report) = check(&app.database_name, false);
    assert!(clean, "{report}");
    let count = |bucket: &str, filter: bson::Document| {
        let collection = db.collection::<bson::Document>(bucket);
        async move { collection.count_documents(filter).await.expect("counted") }
    };
    assert_eq!(
        count("media.chunks", bson::doc! { "files_id": never_closed }).await,
        0
    );
    assert_eq!(
        count(
            "media_variants.files",
            bson::doc! { "metadata.parent_id": never_closed }
        )
        .await,
        0
    );
    assert_eq!(
        count(
            "media_variants.files",
            bson::doc! { "metadata.parent_id": uploading }
        )
        .await,
        1,
        "what is under way stays"
    );
    assert_eq!(
        count("media.chunks", bson::doc! { "files_id": uploading }).await,
        1
    );
    // What the media lists is still served.
    let served = app.get(&preview, None).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(
        count(
            "media_variants.files",
            bson::doc! { "metadata.parent_id": media_id }
        )
        .await,
        1
    );
}
