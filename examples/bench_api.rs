//! The first table of `make bench-quick`: what a new user measures on the `make run` stack.
//! It seeds the data set through the API, as a client would (100 users who register, verify
//! their email and log in at the production bcrypt cost, each follows 20 others and writes
//! 20 posts: 2 000 follows, 2 000 posts), then drives six requests for 10 s each from 16
//! connections and reports throughput, p50, and the CPU each request costs the service and
//! the database server.
//!
//! Then it compares `POST /api/posts` by an author with 10 followers and by one with
//! 5 000 (follows written straight into `--database`: fan-out needs only their ids), 100
//! posts each, one at a time: the fan-out is a job, so the answer should not depend on
//! the follower count (target: p99 within 2×).
//!
//! Usage: bench_api --base-url URL --service-pid PID --db-pid PID --out bench/QUICK.md
//!                  --mongodb-uri URI --database NAME --command "make bench-quick"
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

const USERS: usize = 100;
const FOLLOWS_EACH: usize = 20;
const POSTS_EACH: usize = 20;
/// Requests in flight while seeding, and connections under load.
const CONCURRENCY: usize = 16;
const SECONDS: u64 = 10;
const PASSWORD: &str = "bench-Password-123";
const SEED_TARGET_SECS: f64 = 60.0;

struct Seeded {
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
    let usernames: Vec<String> = (0..USERS).map(|i| format!("b{run}_{i}")).collect();
    let tokens = all(usernames.iter().map(|u| sign_up(client, base, u))).await?;
    println!(
        "    {USERS} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let follows = (0..USERS).flat_map(|i| (1..=FOLLOWS_EACH).map(move |k| (i, (i + k) % USERS)));
    all(follows.map(|(follower, followee)| {
        send(
            client
                .post(format!("{base}/api/users/{}/follow", usernames[followee]))
                .bearer_auth(&tokens[follower]),
        )
    }))
    .await?;
    println!("    + follows at {:.1} s", started.elapsed().as_secs_f64());
    let posts = (0..POSTS_EACH).flat_map(|k| (0..USERS).map(move |i| (i, k)));
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
        tokens,
        post_ids,
        seconds,
    })
}

fn pick<T: Clone>(items: &[T], i: u64) -> T {
    items[((i.wrapping_mul(2_654_435_761)) % items.len() as u64) as usize].clone()
}

/// The six requests, each with its req/s target.
fn scenarios(base: &str, seeded: &Seeded) -> Vec<(&'static str, f64, RequestFn)> {
    let tokens = Arc::new(seeded.tokens.clone());
    let ids = Arc::new(seeded.post_ids.clone());
    let b = base.to_owned();
    let token = |tk: &Arc<Vec<String>>, i: u64| pick(tk, i.wrapping_add(17));
    vec![
        ("`GET /api/posts?limit=10` (anonymous)", 400.0, {
            let b = b.clone();
            Arc::new(move |c, _, _| c.get(format!("{b}/api/posts?limit=10")))
        }),
        ("`GET /api/feed?limit=10`", 500.0, {
            let (b, tk) = (b.clone(), tokens.clone());
            Arc::new(move |c, _, i| {
                c.get(format!("{b}/api/feed?limit=10"))
                    .bearer_auth(token(&tk, i))
            })
        }),
        ("`GET /api/posts/{id}`", 900.0, {
            let (b, tk, ids) = (b.clone(), tokens.clone(), ids.clone());
            Arc::new(move |c, _, i| {
                c.get(format!("{b}/api/posts/{}", pick(&ids, i)))
                    .bearer_auth(token(&tk, i))
            })
        }),
        ("`POST /api/posts`", 250.0, {
            let (b, tk) = (b.clone(), tokens.clone());
            Arc::new(move |c, _, i| {
                c.post(format!("{b}/api/posts"))
                    .bearer_auth(token(&tk, i))
                    .json(&json!({ "content": format!("Load post {i} #load") }))
            })
        }),
        ("`POST /api/posts/{id}/comments`", 400.0, {
            let (b, tk, ids) = (b.clone(), tokens.clone(), ids.clone());
            Arc::new(move |c, _, i| {
                c.post(format!("{b}/api/posts/{}/comments", pick(&ids, i)))
                    .bearer_auth(token(&tk, i))
                    .json(&json!({ "content": "A load comment" }))
            })
        }),
        ("`POST /api/posts/{id}/like`", 900.0, {
            let (b, tk, ids) = (b.clone(), tokens.clone(), ids.clone());
            // Users and posts drawn independently: mostly new likes, some repeats (200).
            Arc::new(move |c, _, i| {
                c.post(format!("{b}/api/posts/{}/like", pick(&ids, i / 7)))
                    .bearer_auth(&tk[(i as usize) % tk.len()])
            })
        }),
    ]
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
) -> Result<Vec<(usize, f64, f64)>, BoxError> {
    let run = std::process::id();
    let mut rows = Vec::new();
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
    }
    Ok(rows)
}

fn render_fan_out(rows: &[(usize, f64, f64)]) -> String {
    let mut out = format!(
        "#### `POST /api/posts` by follower count\n\n{FAN_OUT_POSTS} posts per author, one \
         at a time, on the same stack right after the table above (the 5 000-follower \
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

fn render(command: &str, seeded: &Seeded, rows: &[(f64, Measured)]) -> String {
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2} ms"));
    let mut out = format!(
        "### What a new user measures (`{command}`)\n\n\
         Run on {} UTC; the `make run` stack (release build, secantusd-rs with its data on \
         disk), rate limiting off, bcrypt cost 12. {USERS} users registered, verified and \
         logged in through the API; each follows {FOLLOWS_EACH} others and wrote \
         {POSTS_EACH} posts ({} posts). Load: {CONCURRENCY} connections, {SECONDS} s per \
         row; CPU is each process's user + system time over the row, per request.\n\n\
         | request | req/s | p50 | service CPU / req | database CPU / req | errors | target | met |\n\
         |---|---|---|---|---|---|---|---|\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        seeded.post_ids.len(),
    );
    for (target, m) in rows {
        out.push_str(&format!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} | {} | ≥ {target:.0} | {} |\n",
            m.name,
            m.throughput,
            m.p50_ms,
            m.cpu_ms_per_request,
            ms(m.db_cpu_ms_per_request),
            m.errors,
            if m.throughput >= *target && m.errors == 0 {
                "yes"
            } else {
                "**no**"
            },
        ));
    }
    out.push_str(&format!(
        "| seeding {USERS} users, {} follows, {} posts through the API | {:.1} s | | | | 0 | ≤ {SEED_TARGET_SECS:.0} s | {} |\n\n",
        USERS * FOLLOWS_EACH,
        seeded.post_ids.len(),
        seeded.seconds,
        if seeded.seconds <= SEED_TARGET_SECS {
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
    let mut rows = Vec::new();
    for (name, target, request) in scenarios(&base, &seeded) {
        rows.push((target, bench.run(name, CONCURRENCY, request).await));
    }
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
    println!("==> POST /api/posts by follower count");
    let fan_out = by_follower_count(&bench.client, &base, &db).await?;
    let command = map
        .get("command")
        .cloned()
        .unwrap_or_else(|| "make bench-quick".into());
    let out = map
        .get("out")
        .cloned()
        .unwrap_or_else(|| "bench/QUICK.md".into());
    let text = render(&command, &seeded, &rows) + &render_fan_out(&fan_out);
    write_results(&out, "api-bench", &text)
}
