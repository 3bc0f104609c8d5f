//! The first table of `make bench-quick`: what a new user measures on the `make run` stack.
//! It seeds the data set through the API, as a client would (100 users who register, verify
//! their email and log in at the production bcrypt cost, each follows 20 others and writes
//! 20 posts, the first 200 more: 2 000 follows, 2 200 posts), then drives each request for
//! 10 s from 16 connections and reports throughput, p50 and p99, and the CPU each request
//! costs the service and the database server. Reads go where readers go: page 20 of the
//! public list, a feed, an author and a hashtag (reached through `next`), as well as
//! their first pages; writes are fresh. While `POST /api/posts` runs, a probe measures the
//! delivery lag to followers' timelines.
//!
//! Then it compares `POST /api/posts` by an author with 10 followers and by one with
//! 5 000 (follows written straight into `--database`: fan-out needs only their ids), 100
//! posts each, one at a time: the fan-out is a job, so the answer should not depend on
//! the follower count (target: p99 within 2×); and the 5 000-follower author's delivery
//! lag once the queue is idle.
//!
//! Usage: bench_api --base-url URL --service-pid PID --db-pid PID --out bench/QUICK.md
//!                  --mongodb-uri URI --database NAME --command "make bench-quick"
//!                  [--users 1000]
//! `--users` grows the data set (same shape per user) and writes its own section.
//! The service must run with the development outbox on (verification tokens come from it)
//! and rate limiting off.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

// Shared with the other drivers; this one uses a part of each.
#[allow(dead_code)]
#[path = "common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "common/load.rs"]
mod load;

use bson::oid::ObjectId;
use common::{flags, BoxError};
use load::{percentile, write_results, Bench, Measured, RequestFn};
use rookery::config::DatabaseSettings;
use rookery::db::Db;
use rookery::store::follows::FollowDoc;

/// Users seeded by default; `--users N` grows the data set (`make bench` runs 1 000 too:
/// 20 000 posts, 20 000 follows).
const DEFAULT_USERS: usize = 100;

static USERS_FLAG: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// How many users this run seeds.
fn users() -> usize {
    *USERS_FLAG.get().unwrap_or(&DEFAULT_USERS)
}
const FOLLOWS_EACH: usize = 20;
const POSTS_EACH: usize = 20;
/// More posts by the first user, so an author has a page 20 (at 10 a page).
const PROLIFIC_EXTRA: usize = 200;
/// The deep rows read this page, reached by following `next` from the first.
const DEEP_PAGE: usize = 20;
/// Requests in flight while seeding, and connections under load.
const CONCURRENCY: usize = 16;
const SECONDS: u64 = 10;
const PASSWORD: &str = "bench-Password-123";
const SEED_TARGET_SECS: f64 = 60.0;

/// Seeding is mostly bcrypt (two hashes a user): its target grows with the users.
fn seed_target() -> f64 {
    SEED_TARGET_SECS * users() as f64 / DEFAULT_USERS as f64
}

struct Seeded {
    usernames: Vec<String>,
    tokens: Vec<String>,
    post_ids: Vec<String>,
    seconds: f64,
}

/// The JSON body of a request that must succeed.
async fn send(request: reqwest::RequestBuilder) -> Result<Value, BoxError> {
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(format!("{status}: {text}").into());
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Registers, verifies (the token from the development outbox) and logs in one user.
async fn sign_up(client: &reqwest::Client, base: &str, username: &str) -> Result<String, BoxError> {
    let email = format!("{username}@example.com");
    send(
        client
            .post(format!("{base}/api/auth/register"))
            .json(&json!({
                "username": username, "email": email, "password": PASSWORD,
            })),
    )
    .await?;
    let outbox = send(client.get(format!("{base}/api/dev/outbox?to={email}"))).await?;
    let token = outbox["results"][0]["token"]
        .as_str()
        .ok_or("no verification email in the development outbox")?;
    send(
        client
            .post(format!("{base}/api/auth/verify-email"))
            .json(&json!({ "token": token })),
    )
    .await?;
    let login = send(
        client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "login": username, "password": PASSWORD })),
    )
    .await?;
    Ok(login["access"]
        .as_str()
        .ok_or("no access token")?
        .to_owned())
}

/// Runs `requests` with `CONCURRENCY` in flight; every one must succeed.
async fn all<F, T>(requests: impl Iterator<Item = F>) -> Result<Vec<T>, BoxError>
where
    F: std::future::Future<Output = Result<T, BoxError>>,
{
    stream::iter(requests)
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

async fn seed(client: &reqwest::Client, base: &str) -> Result<Seeded, BoxError> {
    let started = Instant::now();
    let run = std::process::id();
    let n = users();
    let usernames: Vec<String> = (0..n).map(|i| format!("b{run}_{i}")).collect();
    let tokens = all(usernames.iter().map(|u| sign_up(client, base, u))).await?;
    println!(
        "    {n} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let follows = (0..n).flat_map(|i| (1..=FOLLOWS_EACH).map(move |k| (i, (i + k) % n)));
    all(follows.map(|(follower, followee)| {
        send(
            client
                .post(format!("{base}/api/users/{}/follow", usernames[followee]))
                .bearer_auth(&tokens[follower]),
        )
    }))
    .await?;
    println!("    + follows at {:.1} s", started.elapsed().as_secs_f64());
    let posts = (0..POSTS_EACH)
        .flat_map(|k| (0..n).map(move |i| (i, k)))
        .chain((POSTS_EACH..POSTS_EACH + PROLIFIC_EXTRA).map(|k| (0, k)));
    let created = all(posts.map(|(author, k)| {
        send(
            client
                .post(format!("{base}/api/posts"))
                .bearer_auth(&tokens[author])
                .json(&json!({ "content": format!("Post {k} of the bench #topic{}", k % 10) })),
        )
    }))
    .await?;
    let post_ids = created
        .iter()
        .map(|p| {
            p["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or("a post without id")
        })
        .collect::<Result<Vec<_>, _>>()?;
    let seconds = started.elapsed().as_secs_f64();
    println!("    + posts: seeded in {seconds:.1} s");
    Ok(Seeded {
        usernames,
        tokens,
        post_ids,
        seconds,
    })
}

fn pick<T: Clone>(items: &[T], i: u64) -> T {
    items[((i.wrapping_mul(2_654_435_761)) % items.len() as u64) as usize].clone()
}

/// What a row must reach to be met.
#[derive(Clone, Copy)]
enum Target {
    /// At least this many requests a second.
    PerSecond(f64),
    /// Within 1.5× of the public list's first page, in req/s and in database CPU.
    AsListPage1,
    /// At least this share of the native home feed's (20 a page) req/s.
    OfFeed20(f64),
}

/// The native row the Mastodon home timeline is held against.
const FEED_20: &str = "`GET /api/feed?limit=20`";

/// Cost flat with depth: a deep or filtered page costs at most this much more than the
/// public list's first page.
const DEPTH_FACTOR: f64 = 1.5;

/// The path (and query) of a `next` link, which may be absolute.
fn path_of(next: &str) -> String {
    match next.find("/api/") {
        Some(at) => next[at..].to_owned(),
        None => next.to_owned(),
    }
}

/// Page `page` of the list at `first`, reached by following `next` links as a client does.
async fn page_url(
    client: &reqwest::Client,
    base: &str,
    first: &str,
    token: Option<&str>,
    page: usize,
) -> Result<String, BoxError> {
    let mut path = first.to_owned();
    for _ in 1..page {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let body = send(request).await?;
        path = path_of(
            body["next"]
                .as_str()
                .ok_or_else(|| format!("{path} has no page after it"))?,
        );
    }
    Ok(path)
}

/// Page `page` of the Mastodon timeline at `first` (a query with `limit`), reached as apps
/// page it: `max_id` the last status of the page before, with no cursor.
async fn max_id_url(
    client: &reqwest::Client,
    base: &str,
    first: &str,
    page: usize,
) -> Result<String, BoxError> {
    let mut path = first.to_owned();
    for _ in 1..page {
        let body = send(client.get(format!("{base}{path}"))).await?;
        let last = body
            .as_array()
            .and_then(|statuses| statuses.last())
            .and_then(|status| status["id"].as_str())
            .ok_or_else(|| format!("{path} has no page after it"))?;
        path = format!("{first}&max_id={last}");
    }
    Ok(path)
}

/// The deep pages the depth rows read: the same for every client where the list is one
/// (the public list, the prolific author), one per reader or tag otherwise.
struct Deep {
    /// A Mastodon app's OAuth token for each seeded account, in order.
    mastodon_tokens: Vec<String>,
    list: String,
    /// The Mastodon public timeline's page, reached by `max_id`.
    public_by_max_id: String,
    /// (token, path) of 16 readers' feed pages.
    feeds: Vec<(String, String)>,
    author: String,
    tags: Vec<String>,
}

const TAGS: usize = 10;

async fn deep_pages(
    client: &reqwest::Client,
    base: &str,
    seeded: &Seeded,
) -> Result<Deep, BoxError> {
    let list = page_url(client, base, "/api/posts?limit=10", None, DEEP_PAGE).await?;
    let first = "/api/v1/timelines/public?limit=10";
    let public_by_max_id = max_id_url(client, base, first, DEEP_PAGE).await?;
    let mut feeds = Vec::new();
    for token in seeded.tokens.iter().take(CONCURRENCY) {
        let path = page_url(client, base, "/api/feed?limit=10", Some(token), DEEP_PAGE).await?;
        feeds.push((token.clone(), path));
    }
    let first = format!("/api/posts?author={}&limit=10", seeded.usernames[0]);
    let author = page_url(client, base, &first, None, DEEP_PAGE).await?;
    let mut tags = Vec::new();
    for tag in 0..TAGS {
        let first = format!("/api/posts?hashtag=topic{tag}&limit=10");
        tags.push(page_url(client, base, &first, None, DEEP_PAGE).await?);
    }
    Ok(Deep {
        mastodon_tokens: Vec::new(),
        list,
        public_by_max_id,
        feeds,
        author,
        tags,
    })
}

type Scenario = (String, Target, RequestFn);

/// An anonymous GET of one of `paths`, drawn per request.
fn get_any(base: &str, paths: Vec<String>) -> RequestFn {
    let (b, paths) = (base.to_owned(), Arc::new(paths));
    Arc::new(move |c, _, i| c.get(format!("{b}{}", pick(&paths, i))))
}

/// The requests, each with its target.
fn scenarios(base: &str, seeded: &Seeded, deep: &Deep) -> Vec<Scenario> {
    let tokens = Arc::new(seeded.tokens.clone());
    let ids = Arc::new(seeded.post_ids.clone());
    let b = base.to_owned();
    let token = |tk: &Arc<Vec<String>>, i: u64| pick(tk, i.wrapping_add(17));
    let authors: Vec<String> = seeded
        .usernames
        .iter()
        .skip(1)
        .map(|u| format!("/api/posts?author={u}&limit=10"))
        .collect();
    let tags: Vec<String> = (0..TAGS)
        .map(|t| format!("/api/posts?hashtag=topic{t}&limit=10"))
        .collect();
    let p = DEEP_PAGE;
    vec![
        (
            "`GET /api/posts?limit=10` (anonymous)".into(),
            Target::PerSecond(400.0),
            get_any(base, vec!["/api/posts?limit=10".into()]),
        ),
        (
            format!("the same, page {p} (through `next`)"),
            Target::AsListPage1,
            get_any(base, vec![deep.list.clone()]),
        ),
        (
            "`GET /realworld/api/articles?limit=10` (RealWorld, with `articlesCount`)".into(),
            Target::AsListPage1,
            get_any(base, vec!["/realworld/api/articles?limit=10".into()]),
        ),
        (
            format!("`GET /api/v1/timelines/public?limit=10`, page {p} by `max_id` (Mastodon)"),
            Target::AsListPage1,
            get_any(base, vec![deep.public_by_max_id.clone()]),
        ),
        (
            "`GET /api/feed?limit=10`".into(),
            Target::PerSecond(500.0),
            {
                let (b, tk) = (b.clone(), tokens.clone());
                Arc::new(move |c, _, i| {
                    c.get(format!("{b}/api/feed?limit=10"))
                        .bearer_auth(token(&tk, i))
                })
            },
        ),
        (format!("the same, page {p}"), Target::AsListPage1, {
            let (b, feeds) = (b.clone(), Arc::new(deep.feeds.clone()));
            Arc::new(move |c, _, i| {
                let (token, path) = pick(&feeds, i);
                c.get(format!("{b}{path}")).bearer_auth(token)
            })
        }),
        (FEED_20.into(), Target::PerSecond(0.0), {
            let (b, tk) = (b.clone(), tokens.clone());
            Arc::new(move |c, _, i| {
                c.get(format!("{b}/api/feed?limit=20"))
                    .bearer_auth(token(&tk, i))
            })
        }),
        (
            "`GET /api/v1/timelines/home?limit=20` (Mastodon, OAuth token)".into(),
            Target::OfFeed20(0.8),
            {
                let (b, tk) = (b.clone(), Arc::new(deep.mastodon_tokens.clone()));
                Arc::new(move |c, _, i| {
                    c.get(format!("{b}/api/v1/timelines/home?limit=20"))
                        .bearer_auth(token(&tk, i))
                })
            },
        ),
        (
            "`GET /api/posts?author=…&limit=10` (99 authors)".into(),
            Target::AsListPage1,
            get_any(base, authors),
        ),
        (
            format!(
                "the same, page {p} (an author of {})",
                POSTS_EACH + PROLIFIC_EXTRA
            ),
            Target::AsListPage1,
            get_any(base, vec![deep.author.clone()]),
        ),
        (
            format!("`GET /api/posts?hashtag=…&limit=10` ({TAGS} tags)"),
            Target::AsListPage1,
            get_any(base, tags),
        ),
        (
            format!("the same, page {p}"),
            Target::AsListPage1,
            get_any(base, deep.tags.clone()),
        ),
        ("`GET /api/posts/{id}`".into(), Target::PerSecond(1300.0), {
            let (b, tk, ids) = (b.clone(), tokens.clone(), ids.clone());
            Arc::new(move |c, _, i| {
                c.get(format!("{b}/api/posts/{}", pick(&ids, i)))
                    .bearer_auth(token(&tk, i))
            })
        }),
        ("`POST /api/posts`".into(), Target::PerSecond(860.0), {
            let (b, tk) = (b.clone(), tokens.clone());
            Arc::new(move |c, _, i| {
                c.post(format!("{b}/api/posts"))
                    .bearer_auth(token(&tk, i))
                    .json(&json!({ "content": format!("Load post {i} #load") }))
            })
        }),
        (
            "`POST /api/posts/{id}/comments`".into(),
            Target::PerSecond(1000.0),
            {
                let (b, tk, ids) = (b.clone(), tokens.clone(), ids.clone());
                Arc::new(move |c, _, i| {
                    c.post(format!("{b}/api/posts/{}/comments", pick(&ids, i)))
                        .bearer_auth(token(&tk, i))
                        .json(&json!({ "content": "A load comment" }))
                })
            },
        ),
        (
            "`POST /api/posts/{id}/like` (fresh: a new user and post pair each)".into(),
            Target::PerSecond(1000.0),
            {
                let (b, tk, ids) = (b.clone(), tokens.clone(), ids.clone());
                // Request i likes post i / users as user i % users: no pair twice while
                // i < users × posts (200 000).
                Arc::new(move |c, _, i| {
                    let users = tk.len() as u64;
                    let post = &ids[((i / users) % ids.len() as u64) as usize];
                    c.post(format!("{b}/api/posts/{post}/like"))
                        .bearer_auth(&tk[(i % users) as usize])
                })
            },
        ),
    ]
}

/// An OAuth session, as `POST /oauth/token` opens one, for each account: a Mastodon app's
/// token for each, written directly (the bench measures reads, not the sign-in page).
async fn oauth_tokens(db: &Db, usernames: &[String]) -> Result<Vec<String>, BoxError> {
    use rookery::auth::oauth::{issue, Kind};
    use rookery::store::sessions::{self, OAuthSession, SessionDoc};
    let app_id = ObjectId::new();
    let mut tokens = Vec::with_capacity(usernames.len());
    for name in usernames {
        let user = rookery::store::users::find_by_ref(db, name)
            .await?
            .ok_or("a seeded account is gone")?;
        let session_id = ObjectId::new();
        let (token, token_hash) = issue(Kind::Access, session_id, user.id);
        let (_, refresh_hash) = issue(Kind::Refresh, session_id, user.id);
        let now = bson::DateTime::now();
        let session = SessionDoc {
            id: session_id,
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: bson::DateTime::from_millis(now.timestamp_millis() + 86_400_000),
            user_agent: "bench".into(),
            ip: String::new(),
            oauth: Some(OAuthSession {
                app_id,
                app_name: "bench".into(),
                scopes: vec!["read".into(), "write".into(), "follow".into()],
                token_hash,
                refresh_hash,
            }),
        };
        sessions::insert(db, &session).await?;
        tokens.push(token);
    }
    Ok(tokens)
}

/// Gives `user` `count` followers (made-up ids) directly in the database.
async fn add_followers(db: &Db, user: ObjectId, count: usize) -> Result<(), BoxError> {
    let docs: Vec<FollowDoc> = (0..count)
        .map(|_| FollowDoc {
            id: ObjectId::new(),
            follower_id: ObjectId::new(),
            followee_id: user,
            created_at: bson::DateTime::now(),
        })
        .collect();
    for chunk in docs.chunks(1000) {
        rookery::store::follows::collection(db)
            .insert_many(chunk)
            .await?;
    }
    rookery::store::users::collection(db)
        .update_one(
            bson::doc! { "_id": user },
            bson::doc! { "$inc": { "followers_count": count as i64 } },
        )
        .await?;
    Ok(())
}

const FAN_OUT_POSTS: usize = 100;

/// p50 and p99 (ms) of `FAN_OUT_POSTS` posts created one after another by `token`.
async fn create_latencies(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> Result<(f64, f64), BoxError> {
    let mut micros = Vec::with_capacity(FAN_OUT_POSTS);
    for i in 0..FAN_OUT_POSTS {
        let started = Instant::now();
        send(
            client
                .post(format!("{base}/api/posts"))
                .bearer_auth(token)
                .json(&json!({ "content": format!("Fan-out post {i}") })),
        )
        .await?;
        micros.push(started.elapsed().as_micros() as u64);
    }
    micros.sort_unstable();
    Ok((percentile(&micros, 0.5), percentile(&micros, 0.99)))
}

/// Create-post latency by an author with 10 followers and by one with 5 000.
async fn by_follower_count(
    client: &reqwest::Client,
    base: &str,
    db: &Db,
) -> Result<(Vec<(usize, f64, f64)>, String), BoxError> {
    let run = std::process::id();
    let mut rows = Vec::new();
    let mut last_token = String::new();
    for followers in [10, 5000] {
        let username = format!("f{run}_{followers}");
        let token = sign_up(client, base, &username).await?;
        let me = send(
            client
                .get(format!("{base}/api/users/me"))
                .bearer_auth(&token),
        )
        .await?;
        let id = ObjectId::parse_str(me["id"].as_str().ok_or("no id")?)?;
        add_followers(db, id, followers).await?;
        let (p50, p99) = create_latencies(client, base, &token).await?;
        println!("    {followers} followers: p50 {p50:.2} ms, p99 {p99:.2} ms");
        rows.push((followers, p50, p99));
        last_token = token;
    }
    Ok((rows, last_token))
}

/// Delivery lag: from a post's `201` until it is in a follower's timeline (the feed read
/// then shows it). p50 and p99 in ms, and how many samples.
#[derive(Default)]
struct Lag {
    p50: f64,
    p99: f64,
    samples: usize,
    /// Of the probe's posts, how many the author's own next feed read showed.
    own_feed_ok: usize,
}

fn lag_of(mut micros: Vec<u64>, own_feed_ok: usize) -> Lag {
    micros.sort_unstable();
    Lag {
        p50: percentile(&micros, 0.5),
        p99: percentile(&micros, 0.99),
        samples: micros.len(),
        own_feed_ok,
    }
}

/// How long a lag sample waits; a post not delivered by then counts as this late.
const LAG_CAP: Duration = Duration::from_secs(120);

/// Waits until `count` timelines hold `post` (at most `LAG_CAP`); the time since
/// `from`.
async fn until_delivered(
    db: &Db,
    post: ObjectId,
    count: u64,
    from: Instant,
) -> Result<u64, BoxError> {
    let entries = rookery::store::timelines::collection(db);
    loop {
        let have = entries
            .count_documents(bson::doc! { "entries.post_id": post })
            .await?;
        if have >= count {
            return Ok(from.elapsed().as_micros() as u64);
        }
        if from.elapsed() > LAG_CAP {
            println!("    post {post} reached {have} of {count} timelines in {LAG_CAP:?}");
            return Ok(from.elapsed().as_micros() as u64);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// While `stop` is unset: the first user posts, the author's own next feed read must show
/// the post, and the time until all their followers' timelines hold it is one sample.
async fn probe_lag(
    client: reqwest::Client,
    base: String,
    db: Db,
    token: String,
    followers: u64,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Result<Lag, BoxError> {
    let mut micros = Vec::new();
    let mut own_feed_ok = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let started = Instant::now();
        let post = send(
            client
                .post(format!("{base}/api/posts"))
                .bearer_auth(&token)
                .json(&json!({ "content": "A lag probe" })),
        )
        .await?;
        let id = post["id"].as_str().ok_or("a post without id")?.to_owned();
        let delivered = Instant::now();
        let feed = send(
            client
                .get(format!("{base}/api/feed?limit=100"))
                .bearer_auth(&token),
        )
        .await?;
        if feed["results"]
            .as_array()
            .is_some_and(|r| r.iter().any(|p| p["id"] == id.as_str()))
        {
            own_feed_ok += 1;
        }
        // The author's own entry and one per follower.
        micros
            .push(until_delivered(&db, ObjectId::parse_str(&id)?, followers + 1, delivered).await?);
        // Probes a few times a second, not as fast as it can: it is a reader, not load.
        let spent = started.elapsed();
        if spent < Duration::from_millis(100) {
            tokio::time::sleep(Duration::from_millis(100) - spent).await;
        }
    }
    Ok(lag_of(micros, own_feed_ok))
}

/// How long an instance holds the views it counted before writing them as a job
/// (`posts.view_flush_ms`, 1 s by default), with a margin.
const VIEW_FLUSH: Duration = Duration::from_millis(1500);

/// Waits until the job queue has nothing queued or running, no new post waits for its
/// publication (fan-out done) and no like or comment has effects left to write.
async fn until_idle(db: &Db) -> Result<(), BoxError> {
    let jobs = db.collection::<bson::Document>("jobs");
    let pending = bson::doc! { "effects": { "$exists": true } };
    let idle = Instant::now();
    loop {
        // The documents first: a new post's record is closed only once a job holds its
        // work.
        let busy = db
            .collection::<bson::Document>("likes")
            .count_documents(pending.clone())
            .await?
            + db.collection::<bson::Document>("comments")
                .count_documents(pending.clone())
                .await?
            + db.collection::<bson::Document>("posts")
                .count_documents(pending.clone())
                .await?
            + jobs
                .count_documents(bson::doc! { "state": { "$in": ["queued", "running"] } })
                .await?;
        if busy == 0 {
            break;
        }
        if idle.elapsed() > Duration::from_secs(600) {
            return Err("the job queue did not drain in 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Lag for the 5 000-follower author, once the queue is idle: `LAG_POSTS` posts, one at a
/// time, each waited for in all 5 000 timelines.
const LAG_POSTS: usize = 5;

async fn celebrity_lag(
    client: &reqwest::Client,
    base: &str,
    db: &Db,
    token: &str,
    followers: u64,
) -> Result<Lag, BoxError> {
    until_idle(db).await?;
    let mut micros = Vec::new();
    for i in 0..LAG_POSTS {
        let post = send(
            client
                .post(format!("{base}/api/posts"))
                .bearer_auth(token)
                .json(&json!({ "content": format!("Lag post {i}") })),
        )
        .await?;
        let at = Instant::now();
        let id = ObjectId::parse_str(post["id"].as_str().ok_or("a post without id")?)?;
        micros.push(until_delivered(db, id, followers + 1, at).await?);
    }
    Ok(lag_of(micros, 0))
}

fn render_lag(during_create: &Lag, celebrity: &Lag) -> String {
    let met = |ok: bool| if ok { "yes" } else { "**no**" };
    format!(
        "#### Delivery lag\n\nFrom a post's `201` until every follower's timeline holds it \
         (their next feed read shows it).\n\n\
         | case | samples | p50 | p99 | target | met |\n|---|---|---|---|---|---|\n\
         | 20 followers, during the `POST /api/posts` row | {} | {:.1} ms | {:.1} ms | p99 ≤ 1 s | {} |\n\
         | 5 000 followers, queue idle | {} | {:.1} ms | {:.1} ms | p99 ≤ 5 s | {} |\n\n\
         Read-your-writes: the author's own next feed read showed {} of {} probe posts.\n\n",
        during_create.samples,
        during_create.p50,
        during_create.p99,
        met(during_create.samples > 0 && during_create.p99 <= 1000.0),
        celebrity.samples,
        celebrity.p50,
        celebrity.p99,
        met(celebrity.samples > 0 && celebrity.p99 <= 5000.0),
        during_create.own_feed_ok,
        during_create.samples,
    )
}

fn render_fan_out(rows: &[(usize, f64, f64)]) -> String {
    let mut out = format!(
        "#### `POST /api/posts` by follower count\n\n{FAN_OUT_POSTS} posts per author, one \
         at a time, on the same stack once the table above has settled (the 5 000-follower \
         author's fan-out jobs run meanwhile). Target: p99 with 5 000 followers within 2× \
         of p99 with 10.\n\n| followers | p50 | p99 |\n|---|---|---|\n"
    );
    for (followers, p50, p99) in rows {
        out.push_str(&format!("| {followers} | {p50:.2} ms | {p99:.2} ms |\n"));
    }
    if let [(_, _, few), (_, _, many)] = rows {
        let ratio = many / few.max(0.001);
        out.push_str(&format!(
            "\np99 ratio {ratio:.2}× (target ≤ 2×: {}).\n\n",
            if ratio <= 2.0 { "met" } else { "**not met**" }
        ));
    }
    out
}

fn render(command: &str, seeded: &Seeded, rows: &[(Target, Measured)]) -> String {
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2} ms"));
    let mut out = format!(
        "### What a new user measures (`{command}`)\n\n\
         Run on {} UTC; the `make run` stack (release build, secantusd-rs with its data on \
         disk), rate limiting off, bcrypt cost 12. {} users registered, verified and \
         logged in through the API; each follows {FOLLOWS_EACH} others and wrote \
         {POSTS_EACH} posts, the first {PROLIFIC_EXTRA} more ({} posts, {TAGS} hashtags). \
         Load: {CONCURRENCY} connections, {SECONDS} s per row; CPU is each process's user + \
         system time over the row, per request; each row starts once the jobs, the effects \
         and the views the previous one left are written. A page {DEEP_PAGE} is reached by following \
         `next` from the first page, as a client scrolls; \"as list p1\" means within \
         {DEPTH_FACTOR}× of the public list's first page in req/s and in database CPU.\n\n\
         | request | req/s | p50 | p99 | service CPU / req | database CPU / req | errors | target | met |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        users(),
        seeded.post_ids.len(),
    );
    let list_page1 = rows.first().map(|(_, m)| m);
    let feed_20 = rows.iter().map(|(_, m)| m).find(|m| m.name == FEED_20);
    for (target, m) in rows {
        let (wanted, met) = match target {
            Target::PerSecond(n) if *n == 0.0 => ("(the next row's base)".to_owned(), true),
            Target::PerSecond(n) => (format!("≥ {n:.0} req/s"), m.throughput >= *n),
            Target::OfFeed20(share) => (
                format!("≥ {share}× the native feed"),
                feed_20.is_some_and(|f| m.throughput >= f.throughput * share),
            ),
            Target::AsListPage1 => {
                let met = list_page1.is_some_and(|p1| {
                    m.throughput * DEPTH_FACTOR >= p1.throughput
                        && match (m.db_cpu_ms_per_request, p1.db_cpu_ms_per_request) {
                            (Some(cpu), Some(p1)) => cpu <= p1 * DEPTH_FACTOR,
                            _ => true,
                        }
                });
                ("as list p1".to_owned(), met)
            }
        };
        out.push_str(&format!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} | {wanted} | {} |\n",
            m.name,
            m.throughput,
            m.p50_ms,
            m.p99_ms,
            m.cpu_ms_per_request,
            ms(m.db_cpu_ms_per_request),
            m.errors,
            if met && m.errors == 0 {
                "yes"
            } else {
                "**no**"
            },
        ));
    }
    out.push_str(&format!(
        "| seeding {} users, {} follows, {} posts through the API | {:.1} s | | | | | 0 | ≤ {:.0} s | {} |\n\n",
        users(),
        users() * FOLLOWS_EACH,
        seeded.post_ids.len(),
        seeded.seconds,
        seed_target(),
        if seeded.seconds <= seed_target() {
            "yes"
        } else {
            "**no**"
        },
    ));
    out
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let map = flags()?;
    let get = |k: &str| map.get(k).cloned().ok_or(format!("--{k} is required"));
    if let Some(n) = map.get("users") {
        let n: usize = n.parse()?;
        if n <= FOLLOWS_EACH {
            return Err(format!("--users must be more than {FOLLOWS_EACH}").into());
        }
        let _ = USERS_FLAG.set(n);
    }
    let base = get("base-url")?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(60))
        .build()?;
    println!("==> seeding through the API");
    let seeded = seed(&client, &base).await?;
    let bench = Bench {
        client,
        base: base.clone(),
        pid: get("service-pid")?.parse()?,
        db_pid: Some(get("db-pid")?.parse()?),
        seconds: SECONDS,
    };
    let db = Db::connect(
        &DatabaseSettings {
            uri: get("mongodb-uri")?,
            name: get("database")?,
            timeout_secs: 60,
            command_monitoring: false,
        },
        Default::default(),
    )
    .await?;
    // The feeds are whole once the seeding's fan-out has run.
    until_idle(&db).await?;
    println!("==> following next to page {DEEP_PAGE}");
    let mut deep = deep_pages(&bench.client, &base, &seeded).await?;
    deep.mastodon_tokens = oauth_tokens(&db, &seeded.usernames).await?;
    let mut rows = Vec::new();
    let mut create_lag = Lag::default();
    // `--rows like,comment`: only the rows whose names contain one of these, printed and
    // not written (while working on one of them).
    let only: Option<Vec<String>> = map
        .get("rows")
        .map(|r| r.split(',').map(str::to_owned).collect());
    for (name, target, request) in scenarios(&base, &seeded, &deep) {
        if only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|o| name.contains(o.as_str())))
        {
            continue;
        }
        let creating = name.starts_with("`POST /api/posts`");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe = creating.then(|| {
            tokio::spawn(probe_lag(
                bench.client.clone(),
                base.clone(),
                db.clone(),
                seeded.tokens[0].clone(),
                FOLLOWS_EACH as u64,
                stop.clone(),
            ))
        });
        let measured = bench.run(&name, CONCURRENCY, request).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(probe) = probe {
            create_lag = probe.await??;
            println!(
                "    delivery lag: p50 {:.1} ms, p99 {:.1} ms ({} posts)",
                create_lag.p50, create_lag.p99, create_lag.samples
            );
        }
        rows.push((target, measured));
        // What the row left behind (its views, written a flush later; a backlog of jobs or
        // effects) is its own cost, not the next row's.
        tokio::time::sleep(VIEW_FLUSH).await;
        until_idle(&db).await?;
    }
    if let Some(only) = &only {
        // `--rows followers`: the create latency by follower count too, printed.
        if only.iter().any(|o| o == "followers") {
            let (fan_out, _) = by_follower_count(&bench.client, &base, &db).await?;
            if let [(_, _, few), (_, _, many)] = fan_out[..] {
                println!("    p99 ratio {:.2}×", many / few);
            }
        }
        return Ok(());
    }
    println!("==> POST /api/posts by follower count");
    let (fan_out, celebrity) = by_follower_count(&bench.client, &base, &db).await?;
    println!("==> delivery lag with 5 000 followers");
    let celebrity_lag = celebrity_lag(&bench.client, &base, &db, &celebrity, 5000).await?;
    println!(
        "    p50 {:.1} ms, p99 {:.1} ms",
        celebrity_lag.p50, celebrity_lag.p99
    );
    let command = map
        .get("command")
        .cloned()
        .unwrap_or_else(|| "make bench-quick".into());
    let out = map
        .get("out")
        .cloned()
        .unwrap_or_else(|| "bench/QUICK.md".into());
    let text = render(&command, &seeded, &rows)
        + &render_lag(&create_lag, &celebrity_lag)
        + &render_fan_out(&fan_out);
    // The default data set's table, or the grown one's beside it.
    let section = match users() {
        DEFAULT_USERS => "api-bench".to_owned(),
        n => format!("api-bench-{n}-users"),
    };
    write_results(&out, &section, &text)
}
