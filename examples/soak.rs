//! The soak driver behind `make soak` (scripts/soak.sh starts the database and a release
//! build of the service, makes the users, then runs this and `rookery check`).
//!
//! For `--seconds` it drives the mixed workload (80 % reads: feed, public list, post
//! detail, notifications; 20 % writes: post, like/unlike, comment, follow/unfollow) from
//! `--concurrency` workers, and abandons one request in twenty after a few milliseconds
//! (a client that disconnects mid-request). It samples the service's RSS throughout, then
//! lets it idle and reads it again, and checks that what the API reports agrees with
//! itself: each post's `like_count` with its likers, each user's counters with their
//! lists, and that the notifications the authors received name only existing posts.
//!
//!   soak --base-url URL --service-pid PID --seconds 600 --concurrency 64 \
//!        --users u1,u2,… --password P --out bench/SOAK.md --command "make soak"

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[path = "common/mod.rs"]
mod common;

use common::{flags, memory_kb, BoxError};

struct Args {
    base: String,
    pid: u32,
    seconds: u64,
    concurrency: usize,
    users: Vec<String>,
    password: String,
    out: String,
    command: String,
}

fn parse_args() -> Result<Args, BoxError> {
    let map = flags()?;
    let get = |k: &str| map.get(k).cloned().ok_or(format!("--{k} is required"));
    Ok(Args {
        base: get("base-url")?,
        pid: get("service-pid")?.parse()?,
        seconds: get("seconds")?.parse()?,
        concurrency: get("concurrency")?.parse()?,
        users: get("users")?.split(',').map(str::to_owned).collect(),
        password: get("password")?,
        out: get("out")?,
        command: map
            .get("command")
            .cloned()
            .unwrap_or_else(|| "make soak".into()),
    })
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    ok: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    abandoned: AtomicU64,
    transport_errors: AtomicU64,
}

struct Session {
    username: String,
    access: String,
}

async fn login(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> Result<Session, BoxError> {
    let body: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "login": user, "password": password }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Session {
        username: user.to_owned(),
        access: body["access"].as_str().ok_or("no access token")?.to_owned(),
    })
}

/// One request of the mixed workload, chosen by `roll` (0..100).
fn request(
    client: &reqwest::Client,
    base: &str,
    me: &Session,
    other: &Session,
    post: Option<&str>,
    roll: u32,
    n: u64,
) -> reqwest::RequestBuilder {
    let auth = |r: reqwest::RequestBuilder| r.bearer_auth(&me.access);
    let create = || {
        auth(client.post(format!("{base}/api/posts")))
            .json(&json!({ "content": format!("soak post {n} #soak") }))
    };
    let Some(p) = post else {
        // Until the first post exists, write one.
        return create();
    };
    match roll {
        0..=29 => auth(client.get(format!("{base}/api/feed?limit=20"))),
        30..=49 => auth(client.get(format!("{base}/api/posts?limit=20"))),
        50..=69 => auth(client.get(format!("{base}/api/posts/{p}"))),
        70..=79 => auth(client.get(format!("{base}/api/notifications?limit=20"))),
        80..=84 => create(),
        85..=91 if n.is_multiple_of(2) => auth(client.post(format!("{base}/api/posts/{p}/like"))),
        85..=91 => auth(client.delete(format!("{base}/api/posts/{p}/like"))),
        92..=95 => auth(client.post(format!("{base}/api/posts/{p}/comments")))
            .json(&json!({ "content": format!("soak comment {n}") })),
        _ if n.is_multiple_of(2) => {
            auth(client.post(format!("{base}/api/users/{}/follow", other.username)))
        }
        _ => auth(client.delete(format!("{base}/api/users/{}/follow", other.username))),
    }
}

/// Whether a request of `roll` creates a post (its id joins the pool).
fn creates_post(roll: u32, had_post: bool) -> bool {
    !had_post || (80..=84).contains(&roll)
}

async fn worker(
    w: usize,
    client: reqwest::Client,
    base: Arc<String>,
    sessions: Arc<Vec<Session>>,
    posts: Arc<std::sync::Mutex<Vec<String>>>,
    tally: Arc<Tally>,
    deadline: Instant,
) {
    let mut rng = StdRng::seed_from_u64(w as u64);
    let mut n = 0_u64;
    while Instant::now() < deadline {
        n += 1;
        let me = &sessions[rng.random_range(0..sessions.len())];
        let other = &sessions[rng.random_range(0..sessions.len())];
        let post = {
            let posts = posts.lock().map(|p| p.clone()).unwrap_or_default();
            (!posts.is_empty()).then(|| posts[rng.random_range(0..posts.len())].clone())
        };
        let roll = rng.random_range(0..100);
        let builder = request(&client, &base, me, other, post.as_deref(), roll, n);
        tally.requests.fetch_add(1, Ordering::Relaxed);
        let abandon = rng.random_range(0..20) == 0;
        let sent = if abandon {
            let wait = Duration::from_millis(rng.random_range(1..5));
            match tokio::time::timeout(wait, builder.send()).await {
                Ok(result) => result,
                Err(_) => {
                    tally.abandoned.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        } else {
            builder.send().await
        };
        match sent {
            Ok(response) => {
                let status = response.status();
                if status.is_server_error() {
                    tally.server_errors.fetch_add(1, Ordering::Relaxed);
                } else if status.is_client_error() {
                    tally.client_errors.fetch_add(1, Ordering::Relaxed);
                } else {
                    tally.ok.fetch_add(1, Ordering::Relaxed);
                    if creates_post(roll, post.is_some()) {
                        if let Ok(body) = response.json::<Value>().await {
                            if let (Some(id), Ok(mut posts)) = (body["id"].as_str(), posts.lock()) {
                                if posts.len() < 5_000 {
                                    posts.push(id.to_owned());
                                }
                            }
                        }
                    }
                }
            }
            Err(_) => {
                tally.transport_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// How many items a paginated list holds, following `next` from `path` to the end.
async fn count_listed(
    client: &reqwest::Client,
    base: &str,
    path: String,
) -> Result<usize, BoxError> {
    let mut listed = 0;
    let mut next = Some(path);
    while let Some(path) = next {
        let page: Value = client
            .get(format!("{base}{path}"))
            .send()
            .await?
            .json()
            .await?;
        listed += page["results"].as_array().map_or(0, Vec::len);
        next = page["next"].as_str().map(str::to_owned);
    }
    Ok(listed)
}

/// Checks that what the API reports agrees with itself; returns the disagreements.
async fn consistency(
    client: &reqwest::Client,
    base: &str,
    sessions: &[Session],
    posts: &[String],
) -> Result<Vec<String>, BoxError> {
    let mut problems = Vec::new();
    for id in posts.iter().take(200) {
        let post: Value = client
            .get(format!("{base}/api/posts/{id}"))
            .send()
            .await?
            .json()
            .await?;
        let likers = count_listed(client, base, format!("/api/posts/{id}/likes?limit=100")).await?;
        if post["like_count"].as_u64() != Some(likers as u64) {
            problems.push(format!(
                "post {id}: like_count {} but {likers} likers",
                post["like_count"]
            ));
        }
    }
    for me in sessions {
        let user: Value = client
            .get(format!("{base}/api/users/{}", me.username))
            .send()
            .await?
            .json()
            .await?;
        for (counter, list) in [
            ("followers_count", "followers"),
            ("following_count", "following"),
        ] {
            let path = format!("/api/users/{}/{list}?limit=100", me.username);
            let listed = count_listed(client, base, path).await?;
            if user[counter].as_u64() != Some(listed as u64) {
                problems.push(format!(
                    "{}: {counter} {} but {listed} listed",
                    me.username, user[counter]
                ));
            }
        }
        let notifications: Value = client
            .get(format!("{base}/api/notifications?limit=100"))
            .bearer_auth(&me.access)
            .send()
            .await?
            .json()
            .await?;
        for n in notifications["results"].as_array().into_iter().flatten() {
            if let Some(post) = n["post_id"].as_str() {
                let status = client
                    .get(format!("{base}/api/posts/{post}"))
                    .send()
                    .await?
                    .status();
                if !status.is_success() {
                    problems.push(format!(
                        "{}: a notification names post {post}, which answers {status}",
                        me.username
                    ));
                }
            }
        }
    }
    Ok(problems)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut sessions = Vec::new();
    for user in &args.users {
        sessions.push(login(&client, &args.base, user, &args.password).await?);
    }
    let sessions = Arc::new(sessions);
    let posts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tally = Arc::new(Tally::default());
    let baseline = memory_kb(args.pid, "VmRSS:");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    println!(
        "==> soak: {} s, {} workers, {} users; RSS {baseline} kB before",
        args.seconds,
        args.concurrency,
        sessions.len()
    );
    let base = Arc::new(args.base.clone());
    let workers: Vec<_> = (0..args.concurrency)
        .map(|w| {
            tokio::spawn(worker(
                w,
                client.clone(),
                base.clone(),
                sessions.clone(),
                posts.clone(),
                tally.clone(),
                deadline,
            ))
        })
        .collect();
    let mut peak = baseline;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak = peak.max(memory_kb(args.pid, "VmRSS:"));
    }
    for w in workers {
        w.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Let the abandoned requests finish inside the service, then read its memory again.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = memory_kb(args.pid, "VmRSS:");
    let posts = posts.lock().map(|p| p.clone()).unwrap_or_default();
    let problems = consistency(&client, &args.base, &sessions, &posts).await?;

    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let requests = get(&tally.requests);
    let server_errors = get(&tally.server_errors);
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ");
    let grew = after.saturating_sub(baseline);
    let report = format!(
        "# Soak results\n\nRun of `{}` on {date}: {nproc} cores, {memory} of memory; the database, the service \
         and this driver share the machine.\n\n\
         | measure | value |\n|---|---|\n\
         | duration | {elapsed:.0} s |\n| workers | {} |\n| requests | {requests} ({:.0}/s) |\n\
         | answered 2xx/3xx | {} |\n| answered 4xx | {} |\n| answered 5xx | {server_errors} |\n\
         | abandoned by the client mid-request | {} |\n| transport errors | {} |\n\
         | service RSS before | {:.1} MB |\n| service RSS peak | {:.1} MB |\n| service RSS 10 s after | {:.1} MB (+{:.1} MB) |\n\
         | API self-consistency problems | {} |\n\n\
         4xx answers are expected (a follow of oneself is a 400, a like of a post deleted \
         meanwhile a 404). `rookery check` runs after this report; its output follows.\n",
        args.command,
        args.concurrency,
        requests as f64 / elapsed,
        get(&tally.ok),
        get(&tally.client_errors),
        get(&tally.abandoned),
        get(&tally.transport_errors),
        baseline as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0,
        grew as f64 / 1024.0,
        problems.len(),
    );
    std::fs::write(&args.out, &report)?;
    print!("{report}");
    for problem in &problems {
        println!("  inconsistent: {problem}");
    }
    // Memory "returned to its baseline": allow what the allocator keeps for reuse.
    let memory_ok = grew <= baseline.max(16 * 1024);
    if server_errors > 0 || !problems.is_empty() || !memory_ok {
        return Err(format!(
            "soak failed: {server_errors} server errors, {} inconsistencies, RSS +{grew} kB",
            problems.len()
        )
        .into());
    }
    Ok(())
}
