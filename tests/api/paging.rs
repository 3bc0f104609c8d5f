//! Deep pages: lists read through windows of time (`store::window`) give exactly the pages
//! an unbounded read gives, whatever the spacing of the posts, and a page after a cursor
//! costs one command where the list keeps its pace. Each hot list query is checked with
//! `explain` against the index its comment names.

use std::collections::HashMap;

use bson::oid::ObjectId;
use bson::{doc, DateTime, Document};
use futures::TryStreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    created, db_commands, ids_of, path_of, spawn_app, spawn_app_with, TestApp, TestUser,
};

/// A `next` link as a path to request (it is relative; an absolute one is cut down).
fn next_path(next: &str) -> String {
    if next.starts_with('/') {
        next.to_owned()
    } else {
        path_of(next)
    }
}
use rookery::store::posts::{listed_page_filter, PostFilter};
use rookery::store::timelines;

async fn post(app: &TestApp, user: &TestUser, content: &str) -> ObjectId {
    let body = created(app, user, "/api/posts", json!({ "content": content })).await;
    ObjectId::parse_str(body["id"].as_str().expect("id")).expect("an id")
}

/// Moves a post (and its timeline entries) to `at`, as if it had been published then.
async fn publish_at(app: &TestApp, id: ObjectId, at: i64) {
    let at = DateTime::from_millis(at);
    let database = app.db.database();
    let moved = database
        .collection::<Document>("posts")
        .update_one(doc! { "_id": id }, doc! { "$set": { "published_at": at } })
        .await
        .expect("move the post");
    assert_eq!(moved.matched_count, 1);
    // Each entry leaves its batch for a batch of its own at the new time.
    let mut held = Vec::new();
    let mut batches = timelines::collection(&app.db)
        .find(doc! { "entries.post_id": id })
        .await
        .expect("its batches");
    while let Some(batch) = batches.try_next().await.expect("a batch") {
        for mut entry in batch.entries.into_iter().filter(|e| e.post_id == id) {
            entry.published_at = at;
            held.push((batch.owner_id, entry));
        }
    }
    timelines::remove_posts(&app.db, &[id])
        .await
        .expect("take its entries out");
    timelines::insert(&app.db, held)
        .await
        .expect("move its entries");
}

/// Once the posts' fan-out has run, moves each post of `all` to its time.
async fn publish_all_at(app: &TestApp, all: &[(i64, ObjectId)]) {
    app.settle().await;
    for (at, id) in all {
        publish_at(app, *id, *at).await;
    }
}

/// Every page of the list at `first`, following `next`: the ids in order, and the
/// commands each page after the first cost.
async fn walk(app: &TestApp, first: &str, token: Option<&str>) -> (Vec<String>, Vec<u64>) {
    let (mut ids, mut costs) = (Vec::new(), Vec::new());
    let mut path = first.to_owned();
    for page in 0.. {
        assert!(page < 200, "{first} never ended");
        let response = app.get(&path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        if page > 0 {
            costs.push(db_commands(&response));
        }
        let body: Value = response.json().await.expect("a page");
        ids.extend(ids_of(&body));
        match body["next"].as_str() {
            Some(next) => path = next_path(next),
            None => break,
        }
    }
    (ids, costs)
}

fn hex(ids: &[(i64, ObjectId)]) -> Vec<String> {
    let mut sorted = ids.to_vec();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.into_iter().map(|(_, id)| id.to_hex()).collect()
}

/// Every page of a Mastodon timeline at `first`, paged as apps do: `max_id` the last
/// status of the page before (no cursor, so no pace), until a page comes back empty.
async fn walk_by_max_id(app: &TestApp, first: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for page in 0.. {
        assert!(page < 200, "{first} never ended");
        let path = match ids.last() {
            Some(last) => format!("{first}&max_id={last}"),
            None => first.to_owned(),
        };
        let response = app.get(&path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.expect("a page");
        let statuses = body.as_array().expect("statuses");
        if statuses.is_empty() {
            break;
        }
        ids.extend(
            statuses
                .iter()
                .map(|s| s["id"].as_str().expect("an id").to_owned()),
        );
    }
    ids
}

/// Every page of a RealWorld list at `first` (a query with `limit=3`), paged by `offset`
/// as RealWorld front ends page: the post ids (the end of each slug) in order.
async fn walk_by_offset(app: &TestApp, first: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for page in 0.. {
        assert!(page < 200, "{first} never ended");
        let path = format!("{first}&offset={}", page * 3);
        let response = app.get(&path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.expect("a page");
        let articles = body["articles"].as_array().expect("articles");
        if articles.is_empty() {
            break;
        }
        ids.extend(articles.iter().map(|a| {
            let slug = a["slug"].as_str().expect("a slug");
            slug.rsplit('-').next().expect("an id").to_owned()
        }));
    }
    ids
}

/// Posts spaced unevenly — a dense run, a gap of a month, ties on one millisecond, a gap
/// of two years, another run — by two authors, one of whom the reader blocks: the public
/// list, an author's posts, a hashtag's and the home feed, paged three at a time, list
/// every post they may show exactly once, newest first. So do the Mastodon public and
/// hashtag timelines paged by `max_id`, which carries no pace: their windows are sized by
/// the public list's learned pace (a horizon of 5 posts here) or the hashtag's own; and
/// RealWorld's lists paged by `offset`, read through windows from the top.
#[tokio::test]
async fn windowed_pages_are_the_pages_an_unbounded_read_gives() {
    let app = spawn_app_with(|s| s.feed.list_horizon_posts = 5).await;
    let ann = app.create_user("deepann").await;
    let bob = app.create_user("deepbob").await;
    let reader = app.create_user("deepreader").await;
    for author in ["deepann", "deepbob"] {
        created(
            &app,
            &reader,
            &format!("/api/users/{author}/follow"),
            json!({}),
        )
        .await;
    }
    let now = DateTime::now().timestamp_millis();
    const DAY: i64 = 86_400_000;
    let mut times = Vec::new();
    times.extend((0..8).map(|i| now - i * 5));
    times.extend((0..6).map(|i| now - 30 * DAY - i * 1_000));
    times.extend((0..5).map(|_| now - 31 * DAY));
    times.extend((0..7).map(|i| now - 800 * DAY - i * 60_000));
    let mut all: Vec<(i64, ObjectId)> = Vec::new();
    let mut by_author: HashMap<&str, Vec<(i64, ObjectId)>> = HashMap::new();
    for (i, at) in times.iter().enumerate() {
        let (author, name) = if i % 3 == 0 {
            (&bob, "deepbob")
        } else {
            (&ann, "deepann")
        };
        let id = post(&app, author, &format!("Post {i} #deep")).await;
        all.push((*at, id));
        by_author.entry(name).or_default().push((*at, id));
    }
    publish_all_at(&app, &all).await;
    let (listed, costs) = walk(&app, "/api/posts?limit=3", None).await;
    assert_eq!(listed, hex(&all), "the public list");
    assert!(costs.iter().all(|c| *c >= 1));
    let (tagged, _) = walk(&app, "/api/posts?hashtag=deep&limit=3", None).await;
    assert_eq!(tagged, hex(&all), "the hashtag");
    let (anns, _) = walk(&app, "/api/posts?author=deepann&limit=3", None).await;
    assert_eq!(anns, hex(&by_author["deepann"]), "an author's posts");
    let (feed, _) = walk(&app, "/api/feed?limit=3", Some(&reader.access)).await;
    assert_eq!(feed, hex(&all), "the home feed");
    for first in [
        "/api/v1/timelines/public?limit=3",
        "/api/v1/timelines/tag/deep?limit=3",
        "/api/v1/timelines/public?limit=2",
    ] {
        assert_eq!(walk_by_max_id(&app, first).await, hex(&all), "{first}");
    }
    for (first, expected) in [
        ("/realworld/api/articles?limit=3", hex(&all)),
        ("/realworld/api/articles?tag=deep&limit=3", hex(&all)),
        (
            "/realworld/api/articles?author=deepann&limit=3",
            hex(&by_author["deepann"]),
        ),
    ] {
        assert_eq!(walk_by_offset(&app, first).await, expected, "{first}");
    }

    let blocked = app
        .post("/api/users/deepbob/block", Some(&reader.access), &json!({}))
        .await;
    assert!(blocked.status().is_success());
    let (seen, _) = walk(&app, "/api/posts?limit=3", Some(&reader.access)).await;
    assert_eq!(seen, hex(&by_author["deepann"]), "a reader who blocks bob");
    let (seen, _) = walk(
        &app,
        "/api/posts?hashtag=deep&limit=2",
        Some(&reader.access),
    )
    .await;
    assert_eq!(
        seen,
        hex(&by_author["deepann"]),
        "the hashtag, blocking bob"
    );
}

/// Posts at an even pace: every page after the first reads one window, one command
/// (anonymous), down to the last full page; only the end of the list, where the window
/// comes back short, costs more.
#[tokio::test]
async fn a_page_after_a_cursor_is_one_command_at_an_even_pace() {
    let app = spawn_app().await;
    let author = app.create_user("evenpace").await;
    // A day old: a first page's window must start at the list, not at the clock.
    let start = DateTime::now().timestamp_millis() - 86_400_000;
    let mut all = Vec::new();
    for i in 0..24 {
        let id = post(&app, &author, &format!("Even {i} #even")).await;
        all.push((start - i * 1_000, id));
    }
    publish_all_at(&app, &all).await;
    // An author's list first finds the author by name: one command more.
    for (first, cost) in [
        ("/api/posts?limit=4", 1),
        ("/api/posts?author=evenpace&limit=4", 2),
        ("/api/posts?hashtag=even&limit=4", 1),
    ] {
        let (ids, costs) = walk(&app, first, None).await;
        assert_eq!(ids, hex(&all), "{first}");
        // 24 posts, 4 a page: pages 2 to 5 are full windows (the 6th reaches the end).
        assert_eq!(costs.len(), 5, "{first}");
        assert_eq!(&costs[..4], &[cost; 4], "{first}");
    }
    // First pages start where this instance's last full first page ended: one read, and
    // a post published since is inside the window.
    let newest = post(&app, &author, "Newest #even").await;
    for (first, cost) in [
        ("/api/posts?author=evenpace&limit=4", 2),
        ("/api/posts?hashtag=even&limit=4", 1),
    ] {
        let page = app.get(first, None).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(db_commands(&page), cost, "{first}");
        let ids = ids_of(&page.json().await.expect("a page"));
        let mut expected = vec![newest.to_hex()];
        expected.extend(hex(&all).into_iter().take(3));
        assert_eq!(ids, expected, "{first}");
    }
}

/// The end of an author's posts is read whole once the cursor's count of the pages before
/// and the author's `posts_count` say few are left: a page across the gap before an
/// author's oldest posts costs one read of them, not a window per step across the gap.
#[tokio::test]
async fn the_last_posts_of_an_author_are_read_in_one_command_across_a_gap() {
    let app = spawn_app().await;
    let author = app.create_user("tailauthor").await;
    let start = DateTime::now().timestamp_millis() - 86_400_000;
    let mut all = Vec::new();
    for i in 0..40 {
        let id = post(&app, &author, &format!("Tail {i}")).await;
        // 30 a second apart, then a gap of a month before the last 10.
        let gap = if i >= 30 { 30 * 86_400_000 } else { 0 };
        all.push((start - i * 1_000 - gap, id));
    }
    publish_all_at(&app, &all).await;
    let (ids, costs) = walk(&app, "/api/posts?author=tailauthor&limit=4", None).await;
    assert_eq!(ids, hex(&all));
    // Ten pages; each after the first finds the author by name and reads one window, or
    // from the eighth on (12 left, no more than a first window's three pages of 4 and one
    // more) the rest: the eighth is the page across the gap.
    assert_eq!(costs, vec![2; 9]);
}

/// A cursor's pace and its count of what came before are hints: forged ones (tiny or
/// huge, the pace in either unit) still give the right page, on the public list and on
/// an author's, where the count decides whether the rest is read whole.
#[tokio::test]
async fn a_forged_pace_changes_the_cost_not_the_page() {
    let app = spawn_app().await;
    let author = app.create_user("forger").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(post(&app, &author, &format!("Forged {i}")).await);
    }
    let expected: Vec<String> = ids
        .iter()
        .rev()
        .skip(2)
        .take(2)
        .map(|i| i.to_hex())
        .collect();
    for list in ["/api/posts?limit=2", "/api/posts?author=forger&limit=2"] {
        let first = app.get(list, None).await;
        let body: Value = first.json().await.expect("a page");
        let next = next_path(body["next"].as_str().expect("a next page"));
        let cursor = next
            .split("cursor=")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .expect("a cursor");
        let decoded = {
            use base64::Engine;
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(cursor)
                .expect("base64");
            String::from_utf8(raw).expect("text")
        };
        let parts: Vec<&str> = decoded.split(':').collect();
        assert_eq!(
            parts.len(),
            4,
            "a cursor with a pace and a count: {decoded}"
        );
        assert_eq!(parts[3], "2", "two came before: {decoded}");
        // Microseconds (`u`), or milliseconds as cursors handed out before carried them;
        // none, or a count of what came before.
        for pace in [
            "1u",
            "9223372036854775807u",
            "-5u",
            "1",
            "9223372036854775807",
            "-5",
        ] {
            for seen in [None, Some("0"), Some("-3"), Some("9223372036854775807")] {
                let mut forged = vec![parts[0], parts[1], pace];
                forged.extend(seen);
                let forged = {
                    use base64::Engine;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.join(":"))
                };
                let page = app.get(&format!("{list}&cursor={forged}"), None).await;
                assert_eq!(page.status(), StatusCode::OK, "{list}: {pace} {seen:?}");
                assert_eq!(
                    ids_of(&page.json().await.expect("a page")),
                    expected,
                    "{list}: {pace} {seen:?}"
                );
            }
        }
    }
}

/// The winning plan of `filter` on `collection`, as the database explains it.
async fn plan(app: &TestApp, collection: &str, filter: Document, sort: Document) -> Document {
    let explained = app
        .db
        .database()
        .run_command(doc! {
            "explain": { "find": collection, "filter": filter, "sort": sort, "limit": 21 },
            "verbosity": "queryPlanner",
        })
        .await
        .expect("explain");
    explained
        .get_document("queryPlanner")
        .and_then(|p| p.get_document("winningPlan"))
        .expect("a winning plan")
        .clone()
}

/// The index scan somewhere under `plan`, if any.
fn index_scan(plan: &Document) -> Option<&Document> {
    if plan.get_str("stage") == Ok("IXSCAN") {
        return Some(plan);
    }
    for key in ["inputStage", "queryPlan"] {
        if let Some(found) = plan.get_document(key).ok().and_then(index_scan) {
            return Some(found);
        }
    }
    plan.get_array("inputStages")
        .ok()?
        .iter()
        .filter_map(|s| s.as_document())
        .find_map(index_scan)
}

/// Each deep list's query is served by the index its comment names, bounded on both
/// sides of the time: the public list by `published`, an author by `author_published`,
/// a hashtag by `hashtag_published`, a timeline's batches by `owner_top`.
#[tokio::test]
async fn each_deep_list_query_is_one_bounded_index_scan() {
    let app = spawn_app().await;
    let author = app.create_user("planned").await;
    post(&app, &author, "Planned #plan").await;
    let cursor = rookery::domain::cursor::Cursor {
        key: Some(DateTime::now().timestamp_millis()),
        id: ObjectId::new(),
        pace: Some(10),
        seen: None,
    };
    let since = Some(DateTime::from_millis(
        cursor.key.unwrap_or_default() - 1_000,
    ));
    let author_id = ObjectId::parse_str(&author.id).expect("an id");
    let posts_sort = doc! { "published_at": -1, "_id": -1 };
    let cases = [
        ("published", PostFilter::default()),
        (
            "author_published",
            PostFilter {
                author_id: Some(author_id),
                hidden_authors: vec![ObjectId::new()],
                ..PostFilter::default()
            },
        ),
        (
            "hashtag_published",
            PostFilter {
                hashtag: Some("plan".into()),
                ..PostFilter::default()
            },
        ),
    ];
    // The first window below the cursor, and one below an earlier window.
    let upper = Some(DateTime::from_millis(cursor.key.unwrap_or_default() - 500));
    for ((index, filter), upper) in cases
        .iter()
        .flat_map(|case| [(case.clone(), None), (case.clone(), upper)])
    {
        let query = listed_page_filter(&filter, Some(cursor), upper, since);
        let winning = plan(&app, "posts", query, posts_sort.clone()).await;
        let scan = index_scan(&winning).unwrap_or_else(|| panic!("{index}: {winning}"));
        assert_eq!(scan.get_str("indexName"), Ok(index), "{winning}");
        let bounds = scan
            .get_document("indexBounds")
            .and_then(|b| b.get_array("published_at"))
            .expect("bounds on the time");
        assert_eq!(bounds.len(), 1, "{index}: one interval");
        let interval = bounds[0].as_str().expect("an interval");
        assert!(
            !interval.contains("MinKey") && !interval.contains("MaxKey"),
            "{index}: bounded on both sides: {interval}"
        );
    }
    // A timeline's first window reaches `SPAN_MS` above the cursor (its batches hold older
    // entries); the next is below it.
    let above = DateTime::from_millis(cursor.key.unwrap_or_default() + timelines::SPAN_MS + 1);
    for upper in [Some(above), upper] {
        let query = timelines::window(author_id).filter(None, upper, since);
        let winning = plan(
            &app,
            "timeline_batches",
            query,
            doc! { "top": -1, "_id": -1 },
        )
        .await;
        let scan = index_scan(&winning).unwrap_or_else(|| panic!("timelines: {winning}"));
        assert_eq!(scan.get_str("indexName"), Ok("owner_top"), "{winning}");
        let bounds = scan
            .get_document("indexBounds")
            .and_then(|b| b.get_array("top"))
            .expect("bounds on the time");
        let interval = bounds[0].as_str().expect("an interval");
        assert!(
            bounds.len() == 1 && !interval.contains("MinKey") && !interval.contains("MaxKey"),
            "timelines: bounded on both sides: {bounds:?}"
        );
    }
}

/// The workers' look for new posts due to them is served by the sparse `effects_due`
/// index (`store::deferred::claim_due`), not a walk over every post.
#[tokio::test]
async fn due_publications_are_found_by_their_index() {
    let app = spawn_app().await;
    let author = app.create_user("due_finder").await;
    post(&app, &author, "One").await;
    let winning = plan(
        &app,
        "posts",
        doc! { "effects.due": { "$lte": DateTime::now() } },
        doc! {},
    )
    .await;
    let scan = index_scan(&winning).unwrap_or_else(|| panic!("{winning}"));
    assert_eq!(scan.get_str("indexName"), Ok("effects_due"), "{winning}");
}
