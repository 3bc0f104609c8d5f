//! The shard-key plan (`rookery::store::sharding`, docs/SCALING.md) against what the hot
//! requests really send: each query on a sharded collection must name that collection's
//! shard key (so a sharded cluster sends it to one shard, or to the few that hold the ids
//! it names), unless this file names it as scatter-gather. Read from `X-Db-Queries`, which
//! the service's command monitoring fills with each command's filter fields.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use rookery::store::sharding::{shard_key_of, SHARD_KEYS};

/// Requests whose queries on a collection go to every shard, on purpose: the public,
/// author and hashtag lists (posts are sharded by `_id`, so the post detail is one shard;
/// a list reads an index range on every shard and merges), and a read of one's
/// notifications, which first writes the due effects of likes and comments (claimed by
/// `effects.due` wherever they are); and finding a comment by the id alone its path gives
/// (`/api/comments/{id}`), before its deletion names its post.
const SCATTER: &[(&str, &str)] = &[
    ("delete comment", "comments"),
    ("author list", "posts"),
    ("hashtag list", "posts"),
    ("public list", "posts"),
    ("notifications", "likes"),
    ("notifications", "comments"),
];

/// The `(command, collection, fields)` of each query a response's request sent.
fn queries(response: &Response) -> Vec<(String, String, Vec<String>)> {
    let header = response
        .headers()
        .get("x-db-queries")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    header
        .split("; ")
        .filter(|q| !q.is_empty())
        .map(|q| {
            let mut parts = q.splitn(3, ' ');
            let command = parts.next().unwrap_or_default().to_owned();
            let collection = parts.next().unwrap_or_default().to_owned();
            let fields = parts
                .next()
                .unwrap_or_default()
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            (command, collection, fields)
        })
        .collect()
}

/// Checks one hot request; returns how many of its queries were on sharded collections.
fn check(name: &str, response: &Response) -> usize {
    assert!(
        response.status().is_success(),
        "{name}: {}",
        response.status()
    );
    let all = queries(response);
    assert!(!all.is_empty(), "{name}: no X-Db-Queries");
    let mut sharded = 0;
    for (command, collection, fields) in all {
        let Some(key) = shard_key_of(&collection) else {
            continue;
        };
        sharded += 1;
        if command == "insert" || SCATTER.contains(&(name, collection.as_str())) {
            continue;
        }
        assert!(
            fields.iter().any(|f| f == key.field),
            "{name}: `{command}` on {collection} filters on {fields:?}, not its shard key {}",
            key.field
        );
    }
    sharded
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Response {
    app.request(method, path)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_hot_query_names_its_collections_shard_key() {
    let app = spawn_app().await;
    let author = app.create_user("shard_author").await;
    let reader = app.create_user("shard_reader").await;
    let followed = app
        .post(
            "/api/users/shard_author/follow",
            Some(&reader.access),
            &json!({}),
        )
        .await;
    assert_eq!(followed.status(), StatusCode::CREATED);
    let created = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "sharded #scale" }),
        )
        .await;
    let mut checked = check("create", &created);
    let post: Value = created.json().await.unwrap();
    let id = post["id"].as_str().unwrap().to_owned();
    app.settle().await;

    let like = format!("/api/posts/{id}/like");
    let comments = format!("/api/posts/{id}/comments");
    let r = &reader.access;
    let liked = send(&app, Method::POST, &like, r, json!({})).await;
    checked += check("like", &liked);
    let commented = send(&app, Method::POST, &comments, r, json!({ "content": "hi" })).await;
    checked += check("comment", &commented);
    let comment: Value = commented.json().await.unwrap();
    let comment_id = comment["id"].as_str().unwrap().to_owned();
    let steps = [
        ("feed", app.get("/api/feed", Some(r)).await),
        (
            "detail",
            app.get(&format!("/api/posts/{id}"), Some(r)).await,
        ),
        (
            "likes of a post",
            app.get(&format!("{like}s"), Some(r)).await,
        ),
        ("comments of a post", app.get(&comments, Some(r)).await),
        ("public list", app.get("/api/posts", Some(r)).await),
        (
            "author list",
            app.get("/api/posts?author=shard_author", Some(r)).await,
        ),
        (
            "hashtag list",
            app.get("/api/posts?hashtag=scale", Some(r)).await,
        ),
        (
            "notifications",
            app.get("/api/notifications", Some(&author.access)).await,
        ),
        (
            "delete comment",
            send(
                &app,
                Method::DELETE,
                &format!("/api/comments/{comment_id}"),
                r,
                json!({}),
            )
            .await,
        ),
        (
            "unlike",
            send(&app, Method::DELETE, &like, r, json!({})).await,
        ),
        (
            "unfollow",
            send(
                &app,
                Method::DELETE,
                "/api/users/shard_author/follow",
                r,
                json!({}),
            )
            .await,
        ),
    ];
    for (name, response) in &steps {
        checked += check(name, response);
    }
    // Each sharded collection met at least once, so the check cannot pass by seeing none.
    let seen: Vec<&str> = steps
        .iter()
        .flat_map(|(_, r)| queries(r))
        .map(|(_, c, _)| c)
        .filter_map(|c| shard_key_of(&c).map(|k| k.collection))
        .collect();
    for key in SHARD_KEYS {
        if key.collection != "activities" {
            assert!(
                seen.contains(&key.collection),
                "{} not exercised",
                key.collection
            );
        }
    }
    assert!(checked > 10, "{checked}");
}

/// The compose profile and docs/SCALING.md shard the collections with the code's keys.
#[test]
fn the_compose_profile_and_the_scaling_guide_use_the_codes_shard_keys() {
    let root = env!("CARGO_MANIFEST_DIR");
    let compose = std::fs::read_to_string(format!("{root}/docker-compose.yml")).unwrap();
    let guide = std::fs::read_to_string(format!("{root}/docs/SCALING.md")).unwrap();
    for key in SHARD_KEYS {
        let call = format!(
            "shard('{}', {});",
            key.collection,
            key.key.replace('"', "'")
        );
        assert!(compose.contains(&call), "docker-compose.yml lacks {call}");
        let line = format!(
            "sh.shardCollection(\"rookery.{}\", {})",
            key.collection, key.key
        );
        assert!(guide.contains(&line), "docs/SCALING.md lacks {line}");
    }
    let all = format!("< {}) {{ quit(1) }}", SHARD_KEYS.len());
    assert!(
        compose.contains(&all),
        "the mongos healthcheck waits for {all}"
    );
    assert_eq!(
        compose.matches("shard('").count(),
        SHARD_KEYS.len(),
        "docker-compose.yml shards a collection the code does not"
    );
    assert_eq!(
        guide.matches("sh.shardCollection(\"rookery.").count(),
        SHARD_KEYS.len(),
        "docs/SCALING.md shards a collection the code does not"
    );
}
