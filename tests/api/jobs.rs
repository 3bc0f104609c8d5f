//! The durable job queue (issue 19): what a request sets in motion survives a `SIGKILL`,
//! runs once in effect on any number of instances, retries until SMTP answers, and can be
//! watched (`/metrics`) and steered (`rookery jobs`); `rookery check --repair` finds what
//! lost work left.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bson::doc;
use bson::oid::ObjectId;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    config_dir, db_commands, free_port, fresh_database, log_in_at, path_of, rookery_command,
    seed_followers, seed_user, spawn_app, spawn_app_on, spawn_app_with, spawn_instance_of,
    spawn_process_with, test_env, test_mongodb_uri, wait_for_jobs, Mailbox,
};

const NO_WORKERS: (&str, &str) = ("ROOKERY__JOBS__WORKERS", "false");

async fn post_json(base: &str, path: &str, token: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

async fn get_json(base: &str, path: &str, token: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.expect("JSON")
}

async fn create_post(base: &str, token: &str, content: &str) -> ObjectId {
    let response = post_json(base, "/api/posts", token, json!({ "content": content })).await;
    assert_eq!(response.status(), StatusCode::CREATED, "post {content:?}");
    let post: Value = response.json().await.expect("post");
    ObjectId::parse_str(post["id"].as_str().expect("id")).expect("an id")
}

async fn count(db: &rookery::db::Db, collection: &str, filter: bson::Document) -> u64 {
    db.database()
        .collection::<bson::Document>(collection)
        .count_documents(filter)
        .await
        .expect("count")
}

/// How many timelines hold `post`. (A fan-out resumed after a kill may write a page's
/// entries twice; a feed shows each post once, whatever its batches hold.)
async fn timeline_owners(db: &rookery::db::Db, post: ObjectId) -> usize {
    let mut cursor = rookery::store::timelines::collection(db)
        .find(doc! { "entries.post_id": post })
        .await
        .expect("timelines");
    let mut owners = HashSet::new();
    while let Some(batch) = cursor.next().await {
        owners.insert(batch.expect("batch").owner_id);
    }
    owners.len()
}

/// How many times `owner`'s feed shows `post` on its first page (of 100).
async fn in_feed(db: &rookery::db::Db, owner: ObjectId, post: ObjectId) -> usize {
    let first_pages = rookery::store::window::FirstPages::default();
    rookery::store::timelines::page(db, &first_pages, owner, None, 100)
        .await
        .expect("a page")
        .items
        .iter()
        .filter(|e| e.post_id == post)
        .count()
}

#[tokio::test]
async fn likes_acknowledged_before_a_sigkill_all_notify_after_restart() {
    let (db, name) = fresh_database().await;
    let author = seed_user(&db, "kl_author").await;
    let likers: Vec<String> = (0..5).map(|i| format!("kl_fan_{i}")).collect();
    for liker in &likers {
        seed_user(&db, liker).await;
    }
    // An instance that serves but runs no jobs: what it acknowledges waits in the queue.
    let (mut first, base) = spawn_process_with(&name, &[NO_WORKERS]).await;
    let author_token = log_in_at(&base, "kl_author").await;
    let mut posts = Vec::new();
    for i in 0..10 {
        posts.push(create_post(&base, &author_token, &format!("post {i}")).await);
    }
    // Notification ids order by time, then by process: a mark one second before.
    let second_ago = (chrono::Utc::now().timestamp() - 1) as u32;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&second_ago.to_be_bytes());
    let before_likes = ObjectId::from_bytes(bytes);
    for liker in &likers {
        let token = log_in_at(&base, liker).await;
        for post in &posts {
            let liked =
                post_json(&base, &format!("/api/posts/{post}/like"), &token, json!({})).await;
            assert_eq!(liked.status(), StatusCode::CREATED);
        }
    }
    let likes = doc! { "user_id": author, "type": "like" };
    assert_eq!(
        count(&db, "notifications", likes.clone()).await,
        0,
        "nothing ran yet"
    );
    // The 50 likes carry their notifications; the 6 logins' activity entries are jobs.
    assert_eq!(
        count(&db, "likes", doc! { "effects": { "$exists": true } }).await,
        50
    );
    assert_eq!(count(&db, "jobs", doc! { "kind": "events" }).await, 6);
    first.kill();

    // After the restart the author's socket gets all 50, and the list holds them once.
    let (mut second, base) = spawn_process_with(&name, &[]).await;
    let url = format!(
        "{}/api/notifications/ws?token={author_token}&since={before_likes}",
        base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("socket");
    let mut pushed = HashSet::new();
    let received = tokio::time::timeout(Duration::from_secs(30), async {
        while pushed.len() < 50 {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).expect("JSON frame");
                    if frame["data"]["type"] == "like" {
                        pushed.insert(frame["data"]["id"].as_str().expect("id").to_owned());
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await;
    assert!(
        received.is_ok(),
        "{} of 50 like notifications reached the socket; {} are stored",
        pushed.len(),
        count(&db, "notifications", likes.clone()).await
    );
    let list = get_json(&base, "/api/notifications?limit=100", &author_token).await;
    let listed: Vec<&Value> = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|n| n["type"] == "like")
        .collect();
    assert_eq!(listed.len(), 50);
    let pairs: HashSet<(String, String)> = listed
        .iter()
        .map(|n| (n["actor"]["id"].to_string(), n["post_id"].to_string()))
        .collect();
    assert_eq!(pairs.len(), 50, "one per like");
    assert_eq!(count(&db, "notifications", likes).await, 50);
    // And each post counts its five likes.
    wait_for_jobs(&db, 30).await;
    assert_eq!(count(&db, "posts", doc! { "like_count": 5 }).await, 10);
    second.kill();
}

#[tokio::test]
async fn a_fan_out_killed_half_way_finishes_after_restart_with_each_entry_once() {
    let (db, name) = fresh_database().await;
    let author = seed_user(&db, "fo_author").await;
    let reader = seed_user(&db, "fo_reader").await;
    seed_followers(&db, author, 2999).await;
    rookery::store::follows::collection(&db)
        .insert_one(rookery::store::follows::FollowDoc {
            id: ObjectId::new(),
            follower_id: reader,
            followee_id: author,
            created_at: bson::DateTime::now(),
        })
        .await
        .expect("the reader follows");
    rookery::store::users::collection(&db)
        .update_one(
            doc! { "_id": author },
            doc! { "$inc": { "followers_count": 1 } },
        )
        .await
        .expect("count");
    // Small pages, so the kill lands in the middle.
    let small = ("ROOKERY__JOBS__FAN_OUT_BATCH", "20");
    let (mut first, base) = spawn_process_with(&name, &[small]).await;
    let token = log_in_at(&base, "fo_author").await;
    let post = create_post(&base, &token, "to 3000 followers").await;
    let written = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let entries = timeline_owners(&db, post).await;
            if entries >= 300 {
                return entries;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the fan-out gets going");
    first.kill();
    let at_kill = timeline_owners(&db, post).await;
    assert!(
        at_kill < 3001,
        "the fan-out finished before the kill ({written} then {at_kill} entries)"
    );

    let (mut second, base) = spawn_process_with(&name, &[small]).await;
    wait_for_jobs(&db, 30).await;
    assert_eq!(
        timeline_owners(&db, post).await,
        3001,
        "every follower and the author"
    );
    let reader_token = log_in_at(&base, "fo_reader").await;
    let feed = get_json(&base, "/api/feed", &reader_token).await;
    let ids: Vec<&str> = feed["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, [post.to_hex().as_str()]);
    second.kill();
}

/// A worker that stalls past its lease between moving a batch's counters and marking it
/// done: another takes the batch over and writes it. Only the claim that marks a like done
/// keeps its count, so the post counts the like once (it read 2 before).
#[tokio::test]
async fn a_like_batch_taken_over_after_its_lease_ran_out_is_counted_once() {
    let (db, name) = fresh_database().await;
    seed_user(&db, "st_author").await;
    seed_user(&db, "st_fan").await;
    let (mut serving, base) = spawn_process_with(&name, &[NO_WORKERS]).await;
    let author = log_in_at(&base, "st_author").await;
    let post = create_post(&base, &author, "liked once").await;
    let fan = log_in_at(&base, "st_fan").await;
    let liked = post_json(&base, &format!("/api/posts/{post}/like"), &fan, json!({})).await;
    assert_eq!(liked.status(), StatusCode::CREATED);

    let settings = std::sync::Arc::new(
        rookery::config::Settings::load(&config_dir(), &test_env(&name, 25, &test_mongodb_uri()))
            .expect("settings"),
    );
    let feed = std::sync::Arc::new(rookery::feed::Feed::new(db.clone(), settings.feed.clone()));
    let mailer = rookery::email::Mailer::new(&settings.email).expect("mailer");
    let stalled_worker = rookery::jobs::Jobs::new(db.clone(), feed, mailer, settings);
    let stalled = stalled_worker
        .stalled_likes_batch()
        .await
        .expect("claim")
        .expect("the like's effects are due");
    assert_eq!(
        count(&db, "posts", doc! { "_id": post, "like_count": 1 }).await,
        1
    );

    // A worker takes the batch over and writes it; then the stalled one wakes.
    let (mut working, _) = spawn_process_with(&name, &[]).await;
    wait_for_jobs(&db, 30).await;
    stalled.settle().await.expect("the stalled worker finishes");
    let stored = db
        .database()
        .collection::<bson::Document>("posts")
        .find_one(doc! { "_id": post })
        .await
        .expect("read the post")
        .expect("the post");
    let likes = match stored.get("like_count") {
        Some(bson::Bson::Int32(n)) => i64::from(*n),
        Some(bson::Bson::Int64(n)) => *n,
        other => panic!("like_count: {other:?}"),
    };
    assert_eq!(likes, 1, "the like counted once");
    let likes = doc! { "post_id": post, "type": "like" };
    assert_eq!(count(&db, "notifications", likes).await, 1, "notified once");
    serving.kill();
    working.kill();
}

#[tokio::test]
async fn the_verification_email_arrives_once_smtp_comes_back() {
    let smtp_port = free_port();
    let app = spawn_app_with(|s| {
        s.email.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
        // The production schedule: 0.5-1 s, then twice as long each time.
        s.jobs.retry_base_ms = 1000;
        s.jobs.retry_max_secs = 600;
    })
    .await;
    // Nothing listens on the SMTP port: registration answers all the same.
    let registered = app.register("patient").await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    tokio::time::sleep(Duration::from_secs(20)).await; // the outage the issue names
    let job = app
        .db
        .database()
        .collection::<bson::Document>("jobs")
        .find_one(doc! { "kind": "email" })
        .await
        .expect("read")
        .expect("the email job waits for its retry");
    assert_eq!(job.get_str("state").expect("state"), "queued");
    assert!(job.get_i32("attempts").expect("attempts") >= 2, "{job}");
    assert!(job.get_str("last_error").is_ok_and(|e| !e.is_empty()));

    let mail = Mailbox::start_on(smtp_port).await;
    let sent = mail
        .wait_for_nth_within("patient@example.com", 0, Duration::from_secs(40))
        .await;
    let verified = app.get(&path_of(&sent.link()), None).await;
    assert_eq!(verified.status(), StatusCode::OK, "its link works");
    app.settle().await;
    assert_eq!(mail.count_to("patient@example.com"), 1);
}

/// Two instances serve the requests. Only the other process runs jobs until it is killed
/// holding a lease (on a loaded machine the in-process instance used to take every job
/// before the other had one); then an instance with workers takes over what it left.
#[tokio::test]
async fn two_instances_run_each_job_once_even_when_one_dies_holding_leases() {
    let app = spawn_app_with(|s| s.jobs.workers = false).await;
    let db = &app.db;
    let authors = [seed_user(db, "ti_one").await, seed_user(db, "ti_two").await];
    for author in authors {
        seed_followers(db, author, 600).await;
    }
    let named = seed_user(db, "ti_named").await;
    let small = ("ROOKERY__JOBS__FAN_OUT_BATCH", "20");
    let (mut other, base) = spawn_process_with(&app.database_name, &[small]).await;
    let bases = [app.address.clone(), base.clone()];
    let tokens = [
        log_in_at(&base, "ti_one").await,
        log_in_at(&base, "ti_two").await,
    ];
    let fan = log_in_at(&base, "ti_named").await;
    let mut posts = Vec::new();
    for round in 0..3 {
        for (i, token) in tokens.iter().enumerate() {
            let at = &bases[(round + i) % 2];
            posts.push(create_post(at, token, &format!("round {round} for @ti_named")).await);
        }
    }
    let mut likes = 0;
    for (n, post) in posts.iter().enumerate() {
        let at = &bases[n % 2];
        let liked = post_json(at, &format!("/api/posts/{post}/like"), &fan, json!({})).await;
        assert_eq!(liked.status(), StatusCode::CREATED);
        likes += 1;
    }
    // Kill the process once it holds a lease, whatever it is running.
    let pid = format!(":{}:", other.id());
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let mut running = db
                .database()
                .collection::<bson::Document>("jobs")
                .find(doc! { "state": "running" })
                .await
                .expect("jobs");
            while let Some(job) = running.next().await {
                if job
                    .expect("job")
                    .get_str("owner")
                    .is_ok_and(|o| o.contains(&pid))
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the other instance takes a job");
    other.kill();
    let _survivor = spawn_instance_of(&app, &test_mongodb_uri(), |_| {}).await;

    app.settle().await;
    for post in &posts {
        assert_eq!(timeline_owners(db, *post).await, 601, "post {post}");
    }
    let mut mentions: HashMap<String, u64> = HashMap::new();
    let mut cursor = db
        .database()
        .collection::<bson::Document>("notifications")
        .find(doc! { "user_id": named, "type": "mention" })
        .await
        .expect("notifications");
    while let Some(n) = cursor.next().await {
        let post = n
            .expect("n")
            .get_object_id("post_id")
            .expect("post")
            .to_hex();
        *mentions.entry(post).or_default() += 1;
    }
    assert_eq!(mentions.len(), posts.len(), "each post mentions once");
    assert!(mentions.values().all(|n| *n == 1), "{mentions:?}");
    let liked = count(db, "notifications", doc! { "type": "like" }).await;
    assert_eq!(liked, likes);
    for author in authors {
        let user: Value = app
            .get(&format!("/api/users/{author}"), None)
            .await
            .json()
            .await
            .expect("user");
        assert_eq!(user["posts_count"], 3);
    }
}

/// The session check, the post (its own publication's record) beside the author's own
/// timeline entry, then the author's count: read-your-writes, with fan-out left to the
/// workers.
#[tokio::test]
async fn creating_a_post_costs_four_commands_whatever_the_follower_count() {
    let app = spawn_app().await;
    let author = app.create_user("many_fans").await;
    let id = ObjectId::parse_str(&author.id).expect("id");
    let mut costs = Vec::new();
    for followers in [0, 3000] {
        seed_followers(&app.db, id, followers).await;
        let created = app
            .post(
                "/api/posts",
                Some(&author.access),
                &json!({ "content": format!("after {followers} more") }),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        costs.push(db_commands(&created));
        app.settle().await;
    }
    assert_eq!(costs, [4, 4]);
}

#[tokio::test]
async fn dead_jobs_show_in_metrics_and_rookery_jobs_retries_or_drops_them() {
    let smtp_port = free_port();
    let app = spawn_app_with(|s| {
        s.email.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
        s.jobs.max_attempts = 1;
    })
    .await;
    for name in ["kept", "dropped"] {
        assert_eq!(app.register(name).await.status(), StatusCode::CREATED);
    }
    let jobs = app.db.database().collection::<bson::Document>("jobs");
    tokio::time::timeout(Duration::from_secs(20), async {
        while jobs
            .count_documents(doc! { "state": "dead" })
            .await
            .expect("count")
            < 2
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("both emails fail once and die");
    let metrics = app.get("/metrics", None).await.text().await.expect("text");
    assert!(
        metrics.contains("rookery_jobs{kind=\"email\",state=\"dead\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("rookery_jobs_oldest_due_seconds "));

    let listed = rookery_command(&app.database_name)
        .arg("jobs")
        .output()
        .expect("rookery jobs");
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{text}");
    assert!(text.contains("2 dead job(s)"), "{text}");
    let mut ids = Vec::new();
    let mut dead = jobs.find(doc! { "state": "dead" }).await.expect("dead");
    while let Some(job) = dead.next().await {
        let job = job.expect("job");
        let id = job.get_object_id("_id").expect("id").to_hex();
        assert!(text.contains(&id), "{text}");
        let payload = job.get_document("payload").expect("payload");
        ids.push((id, payload.get_object_id("user_id").expect("user")));
    }
    let dropped_user = rookery::store::users::find_by_login(&app.db, "dropped")
        .await
        .expect("read")
        .expect("dropped exists")
        .id;
    let (drop_id, _) = ids
        .iter()
        .find(|(_, u)| *u == dropped_user)
        .expect("its job");
    let (keep_id, _) = ids
        .iter()
        .find(|(_, u)| *u != dropped_user)
        .expect("the other");

    let dropped = rookery_command(&app.database_name)
        .args(["jobs", "drop", drop_id])
        .output()
        .expect("drop");
    assert!(dropped.status.success());
    let unknown = rookery_command(&app.database_name)
        .args(["jobs", "retry", drop_id])
        .output()
        .expect("retry");
    assert!(
        !unknown.status.success(),
        "no dead job has that id any more"
    );
    let bad = rookery_command(&app.database_name)
        .args(["jobs", "retry", "nonsense"])
        .output()
        .expect("retry");
    assert!(!bad.status.success());

    // SMTP is back: the retried job sends its email, the dropped one never will.
    let mail = Mailbox::start_on(smtp_port).await;
    let retried = rookery_command(&app.database_name)
        .args(["jobs", "retry", keep_id])
        .output()
        .expect("retry");
    assert!(retried.status.success());
    let sent = mail.wait_for("kept@example.com").await;
    assert_eq!(
        app.get(&path_of(&sent.link()), None).await.status(),
        StatusCode::OK
    );
    app.settle().await;
    assert_eq!(jobs.count_documents(doc! {}).await.expect("count"), 0);
    assert_eq!(mail.count_to("dropped@example.com"), 0);
}

/// A create that stopped after counting the post in its author's `posts_count` and
/// writing their own timeline entry, but before the post itself: its job, finding no
/// post once the grace is over, recounts the author and takes the entry back.
#[tokio::test]
async fn a_publication_whose_post_never_came_recounts_its_author() {
    let (db, name) = fresh_database().await;
    let author = seed_user(&db, "never_author").await;
    let post = ObjectId::new();
    let an_hour_ago =
        bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - 3_600_000);
    rookery::store::users::collection(&db)
        .update_one(
            doc! { "_id": author },
            doc! { "$inc": { "posts_count": 1 } },
        )
        .await
        .expect("counted");
    db.database()
        .collection::<bson::Document>("timelines")
        .insert_one(doc! {
            "_id": ObjectId::new(), "owner_id": author, "post_id": post, "author_id": author,
            "published_at": an_hour_ago, "hidden": false,
        })
        .await
        .expect("own entry");
    db.database()
        .collection::<bson::Document>("jobs")
        .insert_one(doc! {
            "_id": post, "kind": "publish", "state": "queued", "attempts": 0,
            "due_at": an_hour_ago, "created_at": an_hour_ago,
            "payload": { "post_id": post, "author_id": author, "counted": true },
        })
        .await
        .expect("job");

    let (mut instance, _) = spawn_process_with(&name, &[]).await;
    wait_for_jobs(&db, 30).await;
    let user = rookery::store::users::find_by_id(&db, author)
        .await
        .expect("read")
        .expect("author");
    assert_eq!(user.posts_count, 0, "recounted");
    assert_eq!(
        count(&db, "timeline_batches", doc! { "entries.post_id": post }).await,
        0,
        "the entry moved from the old collection and was taken out"
    );
    assert_eq!(count(&db, "jobs", doc! {}).await, 0, "the job is done");
    instance.kill();
}

#[tokio::test]
async fn check_repair_queues_a_lost_publication_and_a_dead_instances_jobs() {
    let (db, name) = fresh_database().await;
    let author = seed_user(&db, "lost_author").await;
    seed_followers(&db, author, 10).await;
    // A post whose publication job was lost an hour ago…
    let post = ObjectId::new();
    let an_hour_ago =
        bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - 3_600_000);
    db.database()
        .collection::<bson::Document>("posts")
        .insert_one(doc! {
            "_id": post, "author_id": author, "title": "", "content": "lost",
            "hashtags": [], "mentions": [], "terms": ["lost"], "status": "published",
            "published_at": an_hour_ago, "created_at": an_hour_ago, "updated_at": an_hour_ago,
            "fanned_out": false,
        })
        .await
        .expect("post");
    // … and an events job still held by an instance that is gone.
    let events = ObjectId::new();
    let note = ObjectId::new();
    db.database()
        .collection::<bson::Document>("jobs")
        .insert_one(doc! {
            "_id": events, "kind": "events", "state": "running", "attempts": 1,
            "owner": "gone:1:x", "lease_until": an_hour_ago, "due_at": an_hour_ago,
            "created_at": an_hour_ago,
            "payload": { "notifications": [{
                "_id": note, "user_id": author, "type": "follow", "actor_id": ObjectId::new(),
                "created_at": an_hour_ago, "read": false,
            }], "activities": [] },
        })
        .await
        .expect("job");

    let checked = rookery_command(&name).arg("check").output().expect("check");
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(!checked.status.success(), "{report}");
    assert!(
        report.contains("1 found: jobs left running by a stopped instance"),
        "{report}"
    );
    assert!(
        report.contains("1 found: posts whose publication job was lost"),
        "{report}"
    );
    let repaired = rookery_command(&name)
        .args(["check", "--repair"])
        .output()
        .expect("repair");
    assert!(repaired.status.success());

    // An instance runs what the repair queued.
    let (mut instance, _) = spawn_process_with(&name, &[]).await;
    wait_for_jobs(&db, 30).await;
    assert_eq!(timeline_owners(&db, post).await, 11);
    assert_eq!(count(&db, "notifications", doc! { "_id": note }).await, 1);
    let user = rookery::store::users::find_by_id(&db, author)
        .await
        .expect("read")
        .expect("author");
    assert_eq!(user.posts_count, 1);
    let again = rookery_command(&name).arg("check").output().expect("check");
    let report = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{report}");
    assert!(report.contains("everything is consistent"), "{report}");
    instance.kill();
}

/// A job whose run kills its worker never settles: only its lease runs out. Each claim
/// counts an attempt, a released job waits its backoff, and one that has had its
/// `jobs.max_attempts` is left dead instead of being handed to the next worker forever.
#[tokio::test]
async fn a_job_that_keeps_killing_its_worker_ends_dead_after_its_attempts() {
    let (db, name) = fresh_database().await;
    let user = seed_user(&db, "killer_victim").await;
    let long_ago = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - 60_000);
    let events_job = |id: ObjectId, note: ObjectId, attempts: i32| {
        doc! {
            "_id": id, "kind": "events", "state": "running", "attempts": attempts,
            "owner": "killed:1:x", "lease_until": long_ago, "due_at": long_ago,
            "created_at": long_ago,
            "payload": { "notifications": [{
                "_id": note, "user_id": user, "type": "follow", "actor_id": ObjectId::new(),
                "created_at": long_ago, "read": false,
            }], "activities": [] },
        }
    };
    let (spent, spent_note) = (ObjectId::new(), ObjectId::new());
    let (again, again_note) = (ObjectId::new(), ObjectId::new());
    let jobs = db.database().collection::<bson::Document>("jobs");
    jobs.insert_many([
        events_job(spent, spent_note, 3),
        events_job(again, again_note, 1),
    ])
    .await
    .expect("jobs");

    let app = spawn_app_on(&test_mongodb_uri(), &name, |s| {
        s.jobs.max_attempts = 3;
        s.jobs.retry_base_ms = 600_000;
        s.jobs.retry_max_secs = 600;
    })
    .await;
    let settled = |id: ObjectId| {
        let jobs = jobs.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(20), async {
                loop {
                    let job = jobs.find_one(doc! { "_id": id }).await.expect("read");
                    match job {
                        Some(job) if job.get_str("state") == Ok("running") => {}
                        other => return other,
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .expect("the expired lease is released")
        }
    };
    let spent_job = settled(spent).await.expect("a spent job is kept, dead");
    assert_eq!(spent_job.get_str("state"), Ok("dead"), "{spent_job}");
    assert!(
        spent_job
            .get_str("last_error")
            .expect("a reason")
            .contains("stopped answering"),
        "{spent_job}"
    );
    let again_job = settled(again)
        .await
        .expect("a job with attempts left is queued");
    assert_eq!(again_job.get_str("state"), Ok("queued"), "{again_job}");
    let due = again_job
        .get_datetime("due_at")
        .expect("due")
        .timestamp_millis();
    assert!(
        due > bson::DateTime::now().timestamp_millis() + 60_000,
        "a released job waits its backoff: {again_job}"
    );
    // Neither ran: no notification was written.
    assert_eq!(count(&app.db, "notifications", doc! {}).await, 0);
}

/// `authors` and `readers` seeded and logged in at `base`, each reader following each
/// author: their ids and tokens by name.
async fn readers_following(
    db: &rookery::db::Db,
    base: &str,
    authors: &[&'static str],
    readers: &[&'static str],
) -> (
    HashMap<&'static str, ObjectId>,
    HashMap<&'static str, String>,
) {
    let mut ids = HashMap::new();
    let mut tokens = HashMap::new();
    for name in authors.iter().chain(readers.iter()) {
        ids.insert(*name, seed_user(db, name).await);
        tokens.insert(*name, log_in_at(base, name).await);
    }
    for reader in readers {
        for author in authors {
            let followed = post_json(
                base,
                &format!("/api/users/{author}/follow"),
                &tokens[reader],
                json!({}),
            )
            .await;
            assert_eq!(followed.status(), StatusCode::CREATED);
        }
    }
    (ids, tokens)
}

/// Several posts of an author with more than `jobs.fan_out_batch` followers, claimed in
/// one batch, fan out together: each follower gets one batch document holding all of
/// them (read a page of followers at a time), not one per post; the posts end done, their
/// jobs closed, counted once. One post of another such author in the same batch runs
/// alone, as before.
#[tokio::test]
async fn many_posts_of_a_widely_followed_author_reach_each_follower_in_one_batch() {
    let (db, name) = fresh_database().await;
    let front = spawn_app_on(&test_mongodb_uri(), &name, |s| s.jobs.workers = false).await;
    let authors = ["pw_a", "pw_b"];
    let readers = ["pw_r0", "pw_r1", "pw_r2", "pw_r3", "pw_r4"];
    let (ids, tokens) = readers_following(&db, &front.address, &authors, &readers).await;
    let mut wide = Vec::new();
    for i in 0..3 {
        wide.push(create_post(&front.address, &tokens["pw_a"], &format!("wide {i}")).await);
    }
    let single = create_post(&front.address, &tokens["pw_b"], "alone").await;
    assert_eq!(count(&db, "jobs", doc! { "kind": "publish" }).await, 4);

    // Five followers against pages of two: both authors are "wide", read in three pages.
    let worker = spawn_app_on(&test_mongodb_uri(), &name, |s| {
        s.jobs.publish_batch = 50;
        s.jobs.fan_out_batch = 2;
    })
    .await;
    wait_for_jobs(&worker.db, 20).await;
    assert_eq!(count(&db, "jobs", doc! { "kind": "publish" }).await, 0);
    let batches = "timeline_batches";
    for reader in readers {
        let owner = ids[reader];
        for post in wide.iter().chain([&single]) {
            assert_eq!(
                count(
                    &db,
                    batches,
                    doc! { "owner_id": owner, "entries.post_id": post }
                )
                .await,
                1,
                "{reader}'s timeline holds {post} once"
            );
            assert_eq!(in_feed(&db, owner, *post).await, 1, "{reader} reads {post}");
        }
        assert_eq!(
            count(
                &db,
                batches,
                doc! { "owner_id": owner, "entries.post_id": { "$in": &wide } }
            )
            .await,
            1,
            "{reader} got pw_a's three posts in one batch"
        );
    }
    for author in authors {
        let user = rookery::store::users::find_by_id(&db, ids[author])
            .await
            .expect("read")
            .expect("the author");
        let posts = if author == "pw_a" { 3 } else { 1 };
        assert_eq!(user.posts_count, posts, "{author}'s count");
        assert_eq!(
            rookery::store::timelines::count(&db, ids[author])
                .await
                .expect("count"),
            posts as u64,
            "{author}'s own timeline"
        );
    }
    assert_eq!(
        count(&db, "posts", doc! { "fanned_out": true }).await,
        4,
        "every post marked done"
    );
}

/// Publication jobs claimed in one batch (`jobs.publish_batch`): the common case runs
/// together, the rest alone, and each post ends as the single run leaves it — in its
/// author's and every follower's timeline, counted, marked done, its job closed, a
/// mention notified. The author sees the post and its count before any worker runs.
#[tokio::test]
async fn publications_claimed_together_end_as_each_alone_would() {
    let (db, name) = fresh_database().await;
    let front = spawn_app_on(&test_mongodb_uri(), &name, |s| s.jobs.workers = false).await;
    let authors = ["pb_a", "pb_b", "pb_c"];
    let readers = ["pb_r0", "pb_r1", "pb_r2"];
    let (ids, tokens) = readers_following(&db, &front.address, &authors, &readers).await;
    let mut posts = Vec::new();
    for author in authors {
        for i in 0..3 {
            // One post mentions a reader: its job runs alone, beside the batch.
            let content = match (author, i) {
                ("pb_c", 0) => "Hello @pb_r0".to_owned(),
                _ => format!("{author} post {i}"),
            };
            posts.push(create_post(&front.address, &tokens[author], &content).await);
        }
        // Read-your-writes, with no worker running: the author's own feed and count.
        let me = get_json(&front.address, "/api/users/me", &tokens[author]).await;
        assert_eq!(me["posts_count"], 3, "{author}'s count before any job ran");
        let feed = get_json(&front.address, "/api/feed?limit=10", &tokens[author]).await;
        assert_eq!(feed["results"].as_array().map(Vec::len), Some(3));
    }
    assert_eq!(count(&db, "jobs", doc! { "kind": "publish" }).await, 9);

    let worker = spawn_app_on(&test_mongodb_uri(), &name, |s| s.jobs.publish_batch = 50).await;
    wait_for_jobs(&worker.db, 20).await;
    assert_eq!(count(&db, "jobs", doc! { "kind": "publish" }).await, 0);
    for reader in readers {
        let owner = ids[reader];
        for post in &posts {
            assert_eq!(
                in_feed(&db, owner, *post).await,
                1,
                "{reader}'s timeline shows {post} once"
            );
        }
    }
    for author in authors {
        let user = rookery::store::users::find_by_id(&db, ids[author])
            .await
            .expect("read")
            .expect("the author");
        assert_eq!(user.posts_count, 3, "{author}'s count");
        assert_eq!(
            rookery::store::timelines::count(&db, ids[author])
                .await
                .expect("count"),
            3,
            "{author}'s own timeline"
        );
    }
    assert_eq!(
        count(&db, "posts", doc! { "fanned_out": true }).await,
        9,
        "every post marked done"
    );
    assert_eq!(
        count(
            &db,
            "notifications",
            doc! { "user_id": ids["pb_r0"], "type": "mention" }
        )
        .await,
        1
    );
}

/// A post published on an instance that runs workers is its own publication's record: no
/// job is written for it. One whose instance stopped before handing it to its workers
/// (here: its job taken away, its record put back as that instance left it, its author's
/// count never moved) is taken by another instance once its hand-off runs out, which
/// fans it out, writes its activity entry once, recounts its author and closes the
/// record.
#[tokio::test]
async fn a_new_post_its_instance_never_handed_over_is_published_by_another() {
    let (db, name) = fresh_database().await;
    let front = spawn_app_on(&test_mongodb_uri(), &name, |s| s.jobs.workers = false).await;
    let (ids, tokens) = readers_following(&db, &front.address, &["ho_a"], &["ho_r"]).await;
    let post = create_post(&front.address, &tokens["ho_a"], "left behind").await;
    // What an instance with workers leaves when it stops between the post and the count.
    let jobs = db.database().collection::<bson::Document>("jobs");
    let removed = jobs
        .delete_one(doc! { "_id": post, "kind": "publish" })
        .await
        .expect("delete");
    assert_eq!(
        removed.deleted_count, 1,
        "the front wrote a job (no workers)"
    );
    let activity = ObjectId::new();
    let handoff_over = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - 1);
    let rearmed = db
        .database()
        .collection::<bson::Document>("posts")
        .update_one(
            doc! { "_id": post },
            doc! { "$set": { "effects": {
                "due": handoff_over,
                "events": { "activities": [{
                    "_id": activity, "user_id": ids["ho_a"], "action": "post.create",
                    "target_type": "post", "target_id": post, "created_at": handoff_over,
                }] },
            } } },
        )
        .await
        .expect("re-armed");
    assert_eq!(rearmed.modified_count, 1);
    rookery::store::users::collection(&db)
        .update_one(
            doc! { "_id": ids["ho_a"] },
            doc! { "$set": { "posts_count": 0 } },
        )
        .await
        .expect("uncounted");
    assert_eq!(
        in_feed(&db, ids["ho_r"], post).await,
        0,
        "not fanned out yet"
    );

    let worker = spawn_app_on(&test_mongodb_uri(), &name, |_| {}).await;
    wait_for_jobs(&worker.db, 20).await;
    assert_eq!(
        in_feed(&db, ids["ho_r"], post).await,
        1,
        "the follower reads it"
    );
    let user = rookery::store::users::find_by_id(&db, ids["ho_a"])
        .await
        .expect("read")
        .expect("the author");
    assert_eq!(user.posts_count, 1, "recounted");
    assert_eq!(
        count(
            &db,
            "posts",
            doc! { "_id": post, "fanned_out": true, "effects": { "$exists": false } }
        )
        .await,
        1,
        "the post is done and its record closed"
    );
    assert_eq!(count(&db, "activities", doc! { "_id": activity }).await, 1);
    assert_eq!(count(&db, "jobs", doc! {}).await, 0, "no job was needed");

    // On an instance with workers: no job at all, the follower reads it, the author's
    // count moved once.
    let token = log_in_at(&worker.address, "ho_a").await;
    let second = create_post(&worker.address, &token, "handed over").await;
    wait_for_jobs(&worker.db, 20).await;
    assert_eq!(in_feed(&db, ids["ho_r"], second).await, 1);
    let user = rookery::store::users::find_by_id(&db, ids["ho_a"])
        .await
        .expect("read")
        .expect("the author");
    assert_eq!(user.posts_count, 2);
    assert_eq!(count(&db, "jobs", doc! {}).await, 0, "no job was written");
    assert_eq!(
        count(
            &db,
            "activities",
            doc! { "target_id": second, "action": "post.create" }
        )
        .await,
        1
    );
}

/// A claim of posts handed over takes only those no other claim holds, and reads back
/// only its own.
#[tokio::test]
async fn a_handed_over_post_is_claimed_once() {
    use rookery::store::deferred;
    let (db, _) = fresh_database().await;
    let posts = deferred::collection(&db, "posts");
    let (held, free) = (ObjectId::new(), ObjectId::new());
    let later = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() + 60_000);
    posts
        .insert_many([
            doc! { "_id": held, "effects": { "due": later, "claim": ObjectId::new() } },
            doc! { "_id": free, "effects": { "due": later } },
        ])
        .await
        .expect("inserted");
    let ids = [held, free];
    let first = deferred::claim_given(&posts, &ids, later)
        .await
        .expect("claim");
    let second = deferred::claim_given(&posts, &ids, later)
        .await
        .expect("claim");
    let got = |claim| {
        let posts = posts.clone();
        async move {
            posts
                .find(deferred::claimed_by(claim, &ids))
                .await
                .expect("find")
                .collect::<Vec<_>>()
                .await
                .len()
        }
    };
    assert_eq!(got(first).await, 1, "the free one");
    assert_eq!(got(second).await, 0, "nothing left");
}

/// A new post handed to a job (it mentions someone) whose record is taken again after
/// that job ran (the claim that wrote the job ran out before closing the record) is only
/// closed: the job is not written again, the mention not notified twice.
#[tokio::test]
async fn a_post_record_taken_again_after_its_job_ran_notifies_once() {
    let (db, name) = fresh_database().await;
    let worker = spawn_app_on(&test_mongodb_uri(), &name, |_| {}).await;
    let (ids, tokens) = readers_following(&db, &worker.address, &["ag_a"], &["ag_r"]).await;
    let post = create_post(&worker.address, &tokens["ag_a"], "Hi @ag_r").await;
    wait_for_jobs(&worker.db, 20).await;
    let mention = doc! { "user_id": ids["ag_r"], "type": "mention" };
    assert_eq!(count(&db, "notifications", mention.clone()).await, 1);
    let rearmed = db
        .database()
        .collection::<bson::Document>("posts")
        .update_one(
            doc! { "_id": post, "fanned_out": true },
            doc! { "$set": { "effects": { "due": bson::DateTime::now() } } },
        )
        .await
        .expect("re-armed");
    assert_eq!(rearmed.modified_count, 1, "the post was done");
    wait_for_jobs(&worker.db, 20).await;
    assert_eq!(
        count(&db, "posts", doc! { "effects": { "$exists": true } }).await,
        0
    );
    assert_eq!(
        count(&db, "notifications", mention).await,
        1,
        "notified once"
    );
    assert_eq!(in_feed(&db, ids["ag_r"], post).await, 1);
}
