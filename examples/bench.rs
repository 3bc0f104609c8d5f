//! The benchmark driver of `make bench` (scripts/bench.sh starts the database and the
//! service, then runs this): seeds a data set straight into the database, drives HTTP load
//! from this separate process, and writes bench/RESULTS.md.
//!
//! Per scenario it reports throughput, p50/p90/p99 latency, database commands per request
//! (from the service's `/metrics`, which counts them with the driver's command
//! monitoring), the service's CPU time per request (from /proc, the service process
//! alone) and, at the end, the service's peak RSS.
//!
//! Usage: bench --base-url URL --mongodb-uri URI --database NAME --service-pid PID
//!              --scale quick|full --command "make bench" --out bench/RESULTS.md

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::oid::ObjectId;
use bson::DateTime;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use rookery::config::DatabaseSettings;
use rookery::db::Db;
use rookery::store::comments::CommentDoc;
use rookery::store::follows::FollowDoc;
use rookery::store::likes::LikeDoc;
use rookery::store::posts::{AuthorSnapshot, PostDoc, PostStatus};
use rookery::store::timelines::{self, Entry};
use rookery::store::users::{Role, UserDoc};

const PASSWORD: &str = "bench-Password-123";
const TIMELINE_DEPTH: usize = 100;

#[path = "common/mod.rs"]
mod common;

use common::{flags, memory_kb, BoxError};

#[path = "common/load.rs"]
mod load;

use load::{percentile, write_results, Bench, Measured, RequestFn};

#[derive(Clone, Copy)]
struct Scale {
    users: usize,
    posts: usize,
    likes_per_post: f64,
    comments_per_post: f64,
    seconds: u64,
    levels: &'static [usize],
    heavy_follows: usize,
}

const QUICK: Scale = Scale {
    users: 300,
    posts: 3_000,
    likes_per_post: 1.0,
    comments_per_post: 0.3,
    seconds: 2,
    levels: &[8],
    heavy_follows: 200,
};

const FULL: Scale = Scale {
    users: 2_000,
    posts: 100_000,
    likes_per_post: 2.0,
    comments_per_post: 0.5,
    seconds: 8,
    levels: &[1, 8, 32],
    heavy_follows: 1_000,
};

struct Args {
    base_url: String,
    mongodb_uri: String,
    database: String,
    service_pid: u32,
    db_pid: Option<u32>,
    scale_name: String,
    scale: Scale,
    command: String,
    out: String,
}

fn parse_args() -> Result<Args, BoxError> {
    let map = flags()?;
    let get = |k: &str| map.get(k).cloned().ok_or(format!("--{k} is required"));
    let scale_name = map.get("scale").cloned().unwrap_or_else(|| "quick".into());
    let mut scale = if scale_name == "full" { FULL } else { QUICK };
    if let Some(posts) = map.get("posts") {
        scale.posts = posts.parse()?;
    }
    if let Some(users) = map.get("users") {
        scale.users = users.parse()?;
    }
    Ok(Args {
        base_url: get("base-url")?,
        mongodb_uri: get("mongodb-uri")?,
        database: get("database")?,
        service_pid: get("service-pid")?.parse()?,
        db_pid: map.get("db-pid").map(|p| p.parse()).transpose()?,
        scale_name,
        scale,
        command: map
            .get("command")
            .cloned()
            .unwrap_or_else(|| "make bench".into()),
        out: map
            .get("out")
            .cloned()
            .unwrap_or_else(|| "bench/RESULTS.md".into()),
    })
}

// ---------------------------------------------------------------------------------------
// Seeding: straight into the database, in bulk, with the service's own document types.

struct World {
    users: Vec<ObjectId>,
    usernames: Vec<String>,
    /// followee lists, per user index
    follows: Vec<Vec<usize>>,
    posts: Vec<(ObjectId, usize, DateTime)>,
    light: usize,
    heavy: usize,
}

fn zipf_index(rng: &mut StdRng, n: usize, skew: f64) -> usize {
    // Inverse-power sampling: a few indexes get most of the draws (the long tail).
    let u: f64 = rng.random::<f64>();
    let x = (u.powf(skew) * n as f64) as usize;
    x.min(n - 1)
}

async fn insert_all<T: serde::Serialize + Send + Sync>(
    collection: mongodb::Collection<T>,
    docs: Vec<T>,
) -> Result<(), BoxError> {
    for chunk in docs.chunks(2_000) {
        collection.insert_many(chunk).ordered(false).await?;
    }
    Ok(())
}

async fn seed_users_and_follows(
    db: &Db,
    scale: Scale,
    rng: &mut StdRng,
) -> Result<World, BoxError> {
    let hash = bcrypt::hash(PASSWORD, 12)?;
    let now = DateTime::now();
    let n = scale.users;
    let mut users = Vec::with_capacity(n);
    let mut usernames = Vec::with_capacity(n);
    let mut docs = Vec::with_capacity(n);
    for i in 0..n {
        let id = ObjectId::new();
        let username = format!("user{i}");
        users.push(id);
        usernames.push(username.clone());
        docs.push(UserDoc {
            id,
            username_key: username.clone(),
            email: format!("{username}@bench.local"),
            username,
            password_hash: hash.clone(),
            full_name: format!("Bench User {i}"),
            bio: String::new(),
            avatar_url: None,
            avatar_media_id: None,
            header_url: None,
            header_media_id: None,
            interests: vec![format!("tag{}", i % 50)],
            role: Role::User,
            email_verified: true,
            pending_email: None,
            disabled: false,
            followers_count: 0,
            following_count: 0,
            posts_count: 0,
            created_at: now,
            updated_at: now,
        });
    }
    // Most follow 10–100 accounts, chosen with a long tail (popular accounts get many
    // followers); user 0 follows 10 ("light"), user 1 follows heavy_follows ("heavy").
    let mut follows = vec![Vec::new(); n];
    for (i, list) in follows.iter_mut().enumerate() {
        let want = match i {
            0 => 10,
            1 => scale.heavy_follows.min(n - 1),
            _ if rng.random::<f64>() < 0.01 => rng.random_range(300..=1_000),
            _ => rng.random_range(10..=100),
        }
        .min(n - 1);
        let mut chosen = std::collections::HashSet::new();
        while chosen.len() < want {
            let target = if i == 1 {
                rng.random_range(0..n)
            } else {
                zipf_index(rng, n, 2.0)
            };
            if target != i {
                chosen.insert(target);
            }
        }
        list.extend(chosen);
    }
    let mut follow_docs = Vec::new();
    let mut followers = vec![0i64; n];
    for (i, list) in follows.iter().enumerate() {
        for &j in list {
            followers[j] += 1;
            follow_docs.push(FollowDoc {
                id: ObjectId::new(),
                follower_id: users[i],
                followee_id: users[j],
                created_at: now,
            });
        }
    }
    for (i, doc) in docs.iter_mut().enumerate() {
        doc.followers_count = followers[i];
        doc.following_count = follows[i].len() as i64;
    }
    insert_all(rookery::store::users::collection(db), docs).await?;
    insert_all(rookery::store::follows::collection(db), follow_docs).await?;
    Ok(World {
        users,
        usernames,
        follows,
        posts: Vec::new(),
        light: 0,
        heavy: 1,
    })
}

/// Adds `count` posts (with likes and comments), oldest first, ending about now.
async fn seed_posts(
    db: &Db,
    world: &mut World,
    scale: Scale,
    count: usize,
    rng: &mut StdRng,
) -> Result<(), BoxError> {
    let n = world.users.len();
    let now_ms = DateTime::now().timestamp_millis();
    let start_ms = now_ms - 30 * 24 * 3600 * 1000;
    let mut posts = Vec::with_capacity(count);
    let mut likes = Vec::new();
    let mut comments = Vec::new();
    let mut posts_count = vec![0i64; n];
    // Make room: new posts are later than every existing one.
    for k in 0..count {
        let author = zipf_index(rng, n, 1.5);
        let at = DateTime::from_millis(start_ms + (k as i64 * (now_ms - start_ms)) / count as i64);
        let tag = format!("tag{}", zipf_index(rng, 500, 2.0));
        let content = format!("Post {k} about #{tag} and things worth reading twice");
        let like_n = (rng.random::<f64>() * 2.0 * scale.likes_per_post) as usize;
        let comment_n = usize::from(rng.random::<f64>() < scale.comments_per_post);
        let id = ObjectId::new();
        let mut likers = std::collections::HashSet::new();
        for _ in 0..like_n {
            likers.insert(rng.random_range(0..n));
        }
        for &liker in &likers {
            likes.push(LikeDoc {
                id: ObjectId::new(),
                post_id: id,
                user_id: world.users[liker],
                created_at: at,
                effects: None,
            });
        }
        for _ in 0..comment_n {
            comments.push(CommentDoc {
                id: ObjectId::new(),
                post_id: id,
                author_id: world.users[rng.random_range(0..n)],
                content: "Nice one.".into(),
                created_at: at,
                updated_at: at,
                effects: None,
            });
        }
        posts_count[author] += 1;
        posts.push(PostDoc {
            id,
            author_id: world.users[author],
            title: String::new(),
            terms: content
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
            content,
            description: String::new(),
            tags: Vec::new(),
            hashtags: vec![tag],
            mentions: Vec::new(),
            media_ids: Vec::new(),
            group_id: None,
            group_private: false,
            hidden: false,
            status: PostStatus::Published,
            publish_at: None,
            published_at: at,
            like_count: likers.len() as i64,
            comment_count: comment_n as i64,
            view_count: 0,
            created_at: at,
            updated_at: at,
            edited: false,
            author: Some(AuthorSnapshot {
                username: world.usernames[author].clone(),
                full_name: format!("Bench User {author}"),
                avatar_url: None,
            }),
            fanned_out: true,
            effects: None,
        });
        world.posts.push((id, author, at));
    }
    insert_all(rookery::store::posts::collection(db), posts).await?;
    insert_all(rookery::store::likes::collection(db), likes).await?;
    insert_all(rookery::store::comments::collection(db), comments).await?;
    for (i, count) in posts_count.iter().enumerate().filter(|(_, c)| **c > 0) {
        rookery::store::users::collection(db)
            .update_one(
                bson::doc! { "_id": world.users[i] },
                bson::doc! { "$inc": { "posts_count": count } },
            )
            .await?;
    }
    Ok(())
}

/// Each user's timeline: the newest `TIMELINE_DEPTH` posts of the accounts they follow and
/// their own, as fan-out on write leaves it (deeper entries are not needed by page 1).
async fn seed_timelines(db: &Db, world: &World) -> Result<(), BoxError> {
    rookery::store::timelines::collection(db)
        .delete_many(bson::doc! {})
        .await?;
    let n = world.users.len();
    let mut by_author: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, (_, author, _)) in world.posts.iter().enumerate() {
        by_author[*author].push(k);
    }
    let mut entries = Vec::new();
    for owner in 0..n {
        let mut candidates: Vec<usize> = world.follows[owner]
            .iter()
            .chain(std::iter::once(&owner))
            .flat_map(|a| by_author[*a].iter().rev().take(TIMELINE_DEPTH).copied())
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        candidates.truncate(TIMELINE_DEPTH);
        for k in candidates {
            let (post_id, author, at) = &world.posts[k];
            entries.push((
                world.users[owner],
                Entry {
                    post_id: *post_id,
                    author_id: world.users[*author],
                    group_id: None,
                    published_at: *at,
                    hidden: false,
                },
            ));
        }
    }
    // Batched as a publication run under load leaves them (`store::timelines`).
    insert_all(timelines::collection(db), timelines::batches(entries)).await
}

async fn login(client: &reqwest::Client, base: &str, username: &str) -> Result<String, BoxError> {
    let body: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "login": username, "password": PASSWORD }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body["access"].as_str().ok_or("no access token")?.to_owned())
}

fn pick<T: Clone>(items: &[T], i: u64) -> T {
    // A cheap, deterministic spread over the items.
    items[((i.wrapping_mul(2_654_435_761)) % items.len() as u64) as usize].clone()
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    let scale = args.scale;
    let db = Db::connect(
        &DatabaseSettings {
            uri: args.mongodb_uri.clone(),
            name: args.database.clone(),
            timeout_secs: 60,
            command_monitoring: false,
        },
        Default::default(),
    )
    .await?;
    let mut rng = StdRng::seed_from_u64(42);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = args.base_url.clone();
    let bench = Bench {
        client: client.clone(),
        base: base.clone(),
        pid: args.service_pid,
        db_pid: args.db_pid,
        seconds: scale.seconds,
    };
    let rss_baseline = memory_kb(args.service_pid, "VmRSS:");

    let t = Instant::now();
    println!("==> seeding {} users and their follow graph", scale.users);
    let mut world = seed_users_and_follows(&db, scale, &mut rng).await?;
    let first = scale.posts / 10;
    println!("==> seeding {first} posts (10 %)");
    seed_posts(&db, &mut world, scale, first, &mut rng).await?;
    seed_timelines(&db, &world).await?;
    println!("    seeded in {:.1} s", t.elapsed().as_secs_f64());

    let light = login(&client, &base, &world.usernames[world.light]).await?;
    let heavy = login(&client, &base, &world.usernames[world.heavy]).await?;
    let mut tokens = Vec::new();
    for i in 2..18.min(world.users.len()) {
        tokens.push(login(&client, &base, &world.usernames[i]).await?);
    }
    let tokens = Arc::new(tokens);
    let mut results = Vec::new();
    let feed = |token: String| -> RequestFn {
        let base = base.clone();
        Arc::new(move |c: &reqwest::Client, _, _| {
            c.get(format!("{base}/api/feed?limit=20"))
                .bearer_auth(&token)
        })
    };
    let small_posts = world.posts.len();
    let feed_small = bench
        .run("feed (heavy viewer, 10 % posts)", 8, feed(heavy.clone()))
        .await;

    let rest = scale.posts - first;
    println!("==> seeding {rest} more posts");
    let t = Instant::now();
    seed_posts(&db, &mut world, scale, rest, &mut rng).await?;
    seed_timelines(&db, &world).await?;
    println!("    seeded in {:.1} s", t.elapsed().as_secs_f64());
    let post_ids: Arc<Vec<String>> = Arc::new(world.posts.iter().map(|p| p.0.to_hex()).collect());
    let total_posts = post_ids.len();

    println!("==> load");
    let feed_large = bench
        .run("feed (heavy viewer)", 8, feed(heavy.clone()))
        .await;
    let feed_light = bench
        .run("feed (light viewer)", 8, feed(light.clone()))
        .await;
    // Page 200 of the public list: walk there once, then ask for it repeatedly.
    let mut next = "/api/posts?limit=20".to_owned();
    for _ in 1..200 {
        let page: Value = client
            .get(format!("{base}{next}"))
            .send()
            .await?
            .json()
            .await?;
        match page["next"].as_str() {
            Some(n) => next = n.to_owned(),
            None => break,
        }
    }
    let page200 = next.clone();

    let token_of = move |tk: &Arc<Vec<String>>, w: usize| tk[w % tk.len()].clone();
    let (b, tk, ids) = (base.clone(), tokens.clone(), post_ids.clone());
    let scenarios: Vec<(&str, RequestFn)> = vec![
        ("feed page", feed(heavy.clone())),
        ("public list page (signed in)", {
            let (b, tk) = (b.clone(), tk.clone());
            Arc::new(move |c, w, _| {
                c.get(format!("{b}/api/posts?limit=20"))
                    .bearer_auth(token_of(&tk, w))
            })
        }),
        ("public list page (anonymous)", {
            let b = b.clone();
            Arc::new(move |c, _, _| c.get(format!("{b}/api/posts?limit=20")))
        }),
        ("post detail", {
            let (b, tk, ids) = (b.clone(), tk.clone(), ids.clone());
            Arc::new(move |c, w, i| {
                c.get(format!("{b}/api/posts/{}", pick(&ids, i)))
                    .bearer_auth(token_of(&tk, w))
            })
        }),
        ("create post", {
            let (b, tk) = (b.clone(), tk.clone());
            Arc::new(move |c, w, i| {
                c.post(format!("{b}/api/posts"))
                    .bearer_auth(token_of(&tk, w))
                    .json(&json!({ "content": format!("Bench post {i} #benchtag") }))
            })
        }),
        ("like / unlike", {
            let (b, tk, ids) = (b.clone(), tk.clone(), ids.clone());
            Arc::new(move |c, w, i| {
                let post = pick(&ids, i / 2 + w as u64 * 7919);
                let url = format!("{b}/api/posts/{post}/like");
                let request = if i % 2 == 0 {
                    c.post(url)
                } else {
                    c.delete(url)
                };
                request.bearer_auth(token_of(&tk, w))
            })
        }),
        ("comment", {
            let (b, tk, ids) = (b.clone(), tk.clone(), ids.clone());
            Arc::new(move |c, w, i| {
                c.post(format!("{b}/api/posts/{}/comments", pick(&ids, i)))
                    .bearer_auth(token_of(&tk, w))
                    .json(&json!({ "content": "Bench comment" }))
            })
        }),
        ("user search", {
            let (b, tk) = (b.clone(), tk.clone());
            Arc::new(move |c, w, i| {
                c.get(format!("{b}/api/users/search?q=user{}", i % 1000))
                    .bearer_auth(token_of(&tk, w))
            })
        }),
        ("hashtag search", {
            let (b, tk) = (b.clone(), tk.clone());
            Arc::new(move |c, w, i| {
                c.get(format!("{b}/api/posts/search?hashtag=tag{}", i % 50))
                    .bearer_auth(token_of(&tk, w))
            })
        }),
    ];
    for &level in scale.levels {
        for (name, request) in &scenarios {
            results.push(bench.run(name, level, request.clone()).await);
        }
    }
    // Likes while 16 other clients loop `GET /api/notifications/unread-count` (reads are
    // not rate limited): reading notifications must not queue the other readers or stall
    // the events workers the likes need.
    let likes = scenarios
        .iter()
        .find(|(name, _)| *name == "like / unlike")
        .map(|(_, request)| request.clone())
        .ok_or("no like scenario")?;
    let like_alone = bench.run("like / unlike (alone)", 8, likes.clone()).await;
    let stop_readers = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..16)
        .map(|w| {
            let (client, b, tk, stop) = (
                client.clone(),
                base.clone(),
                tokens.clone(),
                stop_readers.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let _ = client
                        .get(format!("{b}/api/notifications/unread-count"))
                        .bearer_auth(&tk[w % tk.len()])
                        .send()
                        .await;
                }
            })
        })
        .collect();
    // The loop's steady state, not each reader's first burst, is what is measured.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let like_with_readers = bench
        .run("like / unlike (16 clients loop unread-count)", 8, likes)
        .await;
    stop_readers.store(true, Ordering::Relaxed);
    for reader in readers {
        let _ = reader.await;
    }
    results.push(like_alone);
    results.push(like_with_readers);

    let page_first = bench
        .run_get("public list page 1", "/api/posts?limit=20")
        .await;
    let page_deep = bench.run_get("public list page 200", &page200).await;

    // Logins: 50 at a time, while /health is probed alone.
    let (b, names) = (base.clone(), Arc::new(world.usernames.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (client, b, stop) = (client.clone(), base.clone(), stop.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if client.get(format!("{b}/health")).send().await.is_ok() {
                    latencies.push(t.elapsed().as_micros() as u64);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            latencies
        })
    };
    let logins = bench
        .run(
            "login (50 concurrent)",
            50,
            Arc::new(move |c, _, i| {
                c.post(format!("{b}/api/auth/login"))
                    .json(&json!({ "login": pick(&names, i), "password": PASSWORD }))
            }),
        )
        .await;
    stop.store(true, Ordering::Relaxed);
    let mut health = probe.await.unwrap_or_default();
    health.sort_unstable();
    let health_p99 = percentile(&health, 0.99);
    println!(
        "    /health during logins: p99 {health_p99:.2} ms over {} probes",
        health.len()
    );

    // Mixed: 80 % reads.
    let (b, tk, ids) = (base.clone(), tokens.clone(), post_ids.clone());
    let mixed = bench
        .run(
            "mixed (80 % reads)",
            32,
            Arc::new(move |c, w, i| {
                let token = &tk[w % tk.len()];
                match i % 10 {
                    0..=2 => c.get(format!("{b}/api/feed?limit=20")).bearer_auth(token),
                    3..=4 => c.get(format!("{b}/api/posts?limit=20")).bearer_auth(token),
                    5..=6 => c
                        .get(format!("{b}/api/posts/{}", pick(&ids, i)))
                        .bearer_auth(token),
                    7 => c
                        .get(format!("{b}/api/posts/search?hashtag=tag{}", i % 50))
                        .bearer_auth(token),
                    8 => c
                        .post(format!("{b}/api/posts/{}/like", pick(&ids, i)))
                        .bearer_auth(token),
                    _ => c
                        .post(format!("{b}/api/posts/{}/comments", pick(&ids, i)))
                        .bearer_auth(token)
                        .json(&json!({ "content": "Mixed comment" })),
                }
            }),
        )
        .await;
    let peak_rss_kb = memory_kb(args.service_pid, "VmHWM:");

    // What a request costs the service with no database command, and with one `ping`: the
    // floor under the CPU targets.
    let floor_none = bench
        .run_get("floor: GET /health (no command)", "/health")
        .await;
    let floor_one = bench
        .run_get("floor: GET /ready (one ping)", "/ready")
        .await;
    println!(
        "    service RSS: baseline {} MB, peak {} MB",
        rss_baseline / 1024,
        peak_rss_kb / 1024
    );

    let report = Report {
        args: &args,
        results: &results,
        feed_small: &feed_small,
        feed_large: &feed_large,
        feed_light: &feed_light,
        small_posts,
        total_posts,
        page_first: &page_first,
        page_deep: &page_deep,
        logins: &logins,
        health_p99,
        mixed: &mixed,
        floor_none: &floor_none,
        floor_one: &floor_one,
        peak_rss_kb,
        rss_baseline_kb: rss_baseline,
    };
    let text = report.render();
    write_results(&args.out, "bench", &text)?;
    println!("\n{}", report.targets_summary());
    Ok(())
}

struct Report<'a> {
    args: &'a Args,
    results: &'a [Measured],
    feed_small: &'a Measured,
    feed_large: &'a Measured,
    feed_light: &'a Measured,
    small_posts: usize,
    total_posts: usize,
    page_first: &'a Measured,
    page_deep: &'a Measured,
    logins: &'a Measured,
    health_p99: f64,
    mixed: &'a Measured,
    floor_none: &'a Measured,
    floor_one: &'a Measured,
    peak_rss_kb: u64,
    rss_baseline_kb: u64,
}

fn row(m: &Measured) -> String {
    format!(
        "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} ({:.2}) | {:.3} | {} | {} |",
        m.name,
        m.concurrency,
        m.requests,
        m.throughput,
        m.p50_ms,
        m.p90_ms,
        m.p99_ms,
        m.commands_per_request,
        m.metrics_commands_per_request,
        m.cpu_ms_per_request,
        m.db_cpu_ms_per_request
            .map_or_else(|| "–".to_owned(), |ms| format!("{ms:.3}")),
        m.errors
    )
}

impl Report<'_> {
    /// The service CPU a request sending `commands` trivial commands costs at least: the
    /// HTTP floor plus one driver round trip each, as `GET /health` and `GET /ready` measured.
    fn cpu_floor(&self, commands: f64) -> f64 {
        let http = self.floor_none.cpu_ms_per_request;
        let round_trip = (self.floor_one.cpu_ms_per_request - http).max(0.0);
        http + commands.round() * round_trip
    }

    fn find(&self, name: &str) -> Option<&Measured> {
        // The highest concurrency measured: the busiest, most honest figure.
        self.results.iter().rfind(|m| m.name == name)
    }

    fn targets(&self) -> Vec<(String, String, bool)> {
        let mut rows = Vec::new();
        let mut commands = |label: &str, name: &str, max: f64| {
            if let Some(m) = self.find(name) {
                rows.push((
                    format!("{label}: database commands per request ≤ {max}"),
                    format!("{:.2}", m.commands_per_request),
                    m.errors == 0 && m.requests > 0 && m.commands_per_request <= max + 0.01,
                ));
            }
        };
        commands("feed page", "feed page", 4.0);
        commands("public list", "public list page (anonymous)", 3.0);
        commands(
            "public list, signed in",
            "public list page (signed in)",
            3.0,
        );
        commands("post detail", "post detail", 3.0);
        commands("like", "like / unlike", 3.0);
        commands("comment", "comment", 4.0);
        let ratio = |a: &Measured, b: &Measured| {
            if b.p50_ms > 0.0 {
                a.p50_ms / b.p50_ms
            } else {
                0.0
            }
        };
        let r = ratio(self.feed_large, self.feed_light);
        rows.push((
            "feed p50, following ~1 000 vs 10 ≤ 1.3×".into(),
            format!(
                "{r:.2}× ({:.2} / {:.2} ms)",
                self.feed_large.p50_ms, self.feed_light.p50_ms
            ),
            r <= 1.3,
        ));
        let r = ratio(self.feed_large, self.feed_small);
        rows.push((
            format!(
                "feed p50 at {} posts vs {} ≤ 1.3×",
                self.total_posts, self.small_posts
            ),
            format!(
                "{r:.2}× ({:.2} / {:.2} ms)",
                self.feed_large.p50_ms, self.feed_small.p50_ms
            ),
            r <= 1.3,
        ));
        let r = ratio(self.page_deep, self.page_first);
        rows.push((
            "public list page 200 vs page 1 ≤ 1.3×".into(),
            format!(
                "{r:.2}× ({:.2} / {:.2} ms)",
                self.page_deep.p50_ms, self.page_first.p50_ms
            ),
            r <= 1.3,
        ));
        let mut cpu = |label: &str, name: &str, max: f64| {
            if let Some(m) = self.find(name) {
                rows.push((
                    format!("{label} ≤ {max} ms"),
                    format!(
                        "{:.3} ms (floor for its {:.0} commands: {:.3} ms)",
                        m.cpu_ms_per_request,
                        m.commands_per_request,
                        self.cpu_floor(m.commands_per_request)
                    ),
                    m.errors == 0 && m.cpu_ms_per_request <= max,
                ));
            }
        };
        cpu("service CPU per feed request", "feed page", 0.5);
        cpu("service CPU per post detail", "post detail", 0.3);
        let failed: usize = self.results.iter().map(|m| m.errors).sum::<usize>()
            + self.logins.errors
            + self.mixed.errors;
        rows.push((
            "every request answered without error (else the run is not valid)".into(),
            format!("{failed} errors"),
            failed == 0,
        ));
        rows.push((
            "GET /health p99 during 50 concurrent logins ≤ 20 ms".into(),
            format!("{:.2} ms", self.health_p99),
            self.health_p99 <= 20.0,
        ));
        let mb = self.peak_rss_kb as f64 / 1024.0;
        if let (Some(alone), Some(busy)) = (
            self.find("like / unlike (alone)"),
            self.find("like / unlike (16 clients loop unread-count)"),
        ) {
            let ratio = busy.throughput / alone.throughput.max(f64::MIN_POSITIVE);
            rows.push((
                "likes while 16 clients loop unread-count ≥ 80 % of likes alone".into(),
                format!(
                    "{:.0} vs {:.0} req/s ({:.0} %)",
                    busy.throughput,
                    alone.throughput,
                    ratio * 100.0
                ),
                busy.errors == 0 && ratio >= 0.8,
            ));
        }
        rows.push((
            "peak RSS under the mixed workload ≤ 64 MB".into(),
            format!(
                "{mb:.1} MB (baseline {:.1} MB)",
                self.rss_baseline_kb as f64 / 1024.0
            ),
            mb <= 64.0,
        ));
        rows
    }

    fn targets_summary(&self) -> String {
        let mut out = String::from("Targets:\n");
        for (target, value, met) in self.targets() {
            out.push_str(&format!(
                "  [{}] {target}: {value}\n",
                if met { "met" } else { "MISSED" }
            ));
        }
        out
    }

    fn render(&self) -> String {
        let nproc = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0);
        let mem = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .unwrap_or("")
            .trim()
            .to_owned();
        let mut out = String::new();
        out.push_str(&format!(
            "Run of {} ({} scale) on {}.\n\n- Machine: {nproc} cores ({cpu}), {}; the database \
             (SecantusDB, `secantusd-rs`), the service and this load generator share it.\n\
             - Data: {} users, {} posts (likes and comments with them), a long-tail follow graph; \
             each timeline holds its owner's newest {TIMELINE_DEPTH} entries.\n\
             - Service: release build, production bcrypt cost (12), rate limiting off, {} s per \
             measurement.\n\n",
            self.args.command,
            self.args.scale_name,
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            mem.split_whitespace().skip(1).collect::<Vec<_>>().join(" "),
            self.args.scale.users,
            self.total_posts,
            self.args.scale.seconds
        ));
        out.push_str("### Targets\n\n| target | measured | met |\n|---|---|---|\n");
        for (target, value, met) in self.targets() {
            out.push_str(&format!(
                "| {target} | {value} | {} |\n",
                if met { "yes" } else { "**no**" }
            ));
        }
        out.push_str(
            "\n### Per endpoint\n\n`db/req` is the exact count from each response's \
             `X-Db-Commands` (the figure in brackets is the `/metrics` delta over the same \
             window, which also counts the scheduler's background polls); `cpu/req` is the \
             service process's user + system time divided by requests, `db cpu/req` the \
             database server's.\n\n\
             | scenario | conc. | requests | req/s | p50 ms | p90 ms | p99 ms | db/req | cpu ms/req | db cpu ms/req | errors |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for m in self.results {
            out.push_str(&row(m));
            out.push('\n');
        }
        for m in [
            self.feed_small,
            self.feed_large,
            self.feed_light,
            self.page_first,
            self.page_deep,
            self.logins,
            self.mixed,
            self.floor_none,
            self.floor_one,
        ] {
            out.push_str(&row(m));
            out.push('\n');
        }
        out.push_str(&format!(
            "\n`GET /health` p99 while 50 logins ran: {:.2} ms. Service RSS: {:.1} MB before \
             the load, peak {:.1} MB.\n",
            self.health_p99,
            self.rss_baseline_kb as f64 / 1024.0,
            self.peak_rss_kb as f64 / 1024.0
        ));
        let http = self.floor_none.cpu_ms_per_request;
        out.push_str(&format!(
            "\nService CPU floor: a request that sends no database command (`GET /health`) \
             costs {http:.3} ms; one that sends a single `ping` (`GET /ready`) {:.3} ms. One round \
             trip through the driver therefore costs {:.3} ms of the service's own CPU before \
             any query is built or any document read; the CPU targets' \"floor\" is that times \
             the request's commands, plus the HTTP floor.\n",
            self.floor_one.cpu_ms_per_request,
            (self.floor_one.cpu_ms_per_request - http).max(0.0),
        ));
        out
    }
}
