//! The one visibility rule across every read that lists posts: a post hidden by reports
//! (API.md §8) leaves them all — feeds fanned out and merged, lists, searches, liked posts,
//! group posts, trending — and comes back to all of them when a moderator dismisses it.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{created, ids_of, spawn_app_with, TestApp, TestUser};

async fn ok_json(response: reqwest::Response, what: &str) -> Value {
    assert_eq!(response.status(), StatusCode::OK, "{what}");
    response.json().await.unwrap()
}

/// The post ids of a page, by the `id` of each result.
async fn ids_in(app: &TestApp, path: &str, token: Option<&str>) -> Vec<String> {
    ids_of(&ok_json(app.get(path, token).await, path).await)
}

async fn trending_tags(app: &TestApp) -> Vec<String> {
    let page = ok_json(app.get("/api/hashtags/trending", None).await, "trending").await;
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap().to_owned())
        .collect()
}

/// Every list a reader can find a post in, by `author`, with hashtag `tag` and the word
/// `word`, shared in `group`; trending last.
fn lists_of(author: &str, tag: &str, word: &str, group: &str) -> Vec<String> {
    vec![
        "/api/feed".to_owned(),
        "/api/posts".to_owned(),
        format!("/api/posts?author={author}"),
        format!("/api/users/{author}/posts"),
        format!("/api/posts?hashtag={tag}"),
        format!("/api/posts/search?hashtag={tag}"),
        format!("/api/posts/search?q={word}"),
        "/api/users/me/liked".to_owned(),
        format!("/api/groups/{group}/posts"),
        "/api/hashtags/trending".to_owned(),
    ]
}

/// Of `lists_of`, those in which `reader` finds `post` (for trending: its tag).
async fn lists_showing(
    app: &TestApp,
    reader: &TestUser,
    post: &str,
    (author, tag, word): (&str, &str, &str),
    group: &str,
) -> Vec<String> {
    let mut showing = Vec::new();
    for path in lists_of(author, tag, word, group) {
        let found = if path == "/api/hashtags/trending" {
            trending_tags(app).await.iter().any(|t| t == tag)
        } else {
            ids_in(app, &path, Some(&reader.access))
                .await
                .iter()
                .any(|id| id == post)
        };
        if found {
            showing.push(path);
        }
    }
    showing
}

#[tokio::test]
async fn a_post_hidden_by_reports_leaves_every_list_and_feed_and_comes_back_when_dismissed() {
    // Two followers make `star` a celebrity, whose posts are merged into feeds at read
    // time; `friend`'s are fanned out into each follower's timeline.
    let app = spawn_app_with(|s| {
        s.feed.celebrity_threshold = 2;
        s.moderation.hide_after_reports = 5;
    })
    .await;
    let star = app.create_user("star").await;
    let friend = app.create_user("friend").await;
    let reader = app.create_user("reader").await;
    let other_fan = app.create_user("other_fan").await;
    let moderator = app.create_user("moderator").await;
    app.make_admin(&moderator).await;
    for (fan, followee) in [(&reader, "star"), (&other_fan, "star"), (&reader, "friend")] {
        created(
            &app,
            fan,
            &format!("/api/users/{followee}/follow"),
            json!({}),
        )
        .await;
    }
    let group = created(
        &app,
        &friend,
        "/api/groups",
        json!({ "name": "Open lounge", "visibility": "public" }),
    )
    .await;
    let group_id = group["id"].as_str().unwrap().to_owned();
    let joined = app
        .post(
            &format!("/api/groups/{group_id}/join"),
            Some(&star.access),
            &json!({}),
        )
        .await;
    assert_eq!(joined.status(), StatusCode::OK);

    let mut cases = Vec::new();
    for (author, name, tag, word) in [
        (&star, "star", "starlight", "zebra"),
        (&friend, "friend", "friendly", "quokka"),
    ] {
        let post = created(
            &app,
            author,
            "/api/posts",
            json!({ "content": format!("#{tag} a {word} appears"), "group_id": group_id }),
        )
        .await;
        let id = post["id"].as_str().unwrap().to_owned();
        created(&app, &reader, &format!("/api/posts/{id}/like"), json!({})).await;
        cases.push((id, (name, tag, word)));
    }
    // Fan-out to the reader's feed runs as a job after each answer.
    app.settle().await;
    for (id, case @ (author, tag, word)) in &cases {
        let shown = lists_showing(&app, &reader, id, *case, &group_id).await;
        assert_eq!(
            shown,
            lists_of(author, tag, word, &group_id),
            "{author}'s post before reports"
        );
    }

    let reporters = join_all((0..5).map(|i| app.create_user_named(format!("reporter{i}")))).await;
    for (id, _) in &cases {
        for reporter in &reporters {
            created(
                &app,
                reporter,
                &format!("/api/posts/{id}/report"),
                json!({ "reason": "spam" }),
            )
            .await;
        }
    }
    for (id, case @ (author, _, _)) in &cases {
        let shown = lists_showing(&app, &reader, id, *case, &group_id).await;
        assert!(
            shown.is_empty(),
            "{author}'s hidden post is still in {shown:?}"
        );
        // Hidden from lists, not deleted: its own page still opens.
        ok_json(
            app.get(&format!("/api/posts/{id}"), Some(&reader.access))
                .await,
            "post detail",
        )
        .await;
    }
    // The feed pages past the hidden posts rather than ending early.
    let first_page = ok_json(
        app.get("/api/feed?limit=1", Some(&reader.access)).await,
        "feed page",
    )
    .await;
    assert!(first_page["results"].as_array().unwrap().is_empty());
    assert!(first_page["next"].is_null());

    let open = ok_json(
        app.get(
            "/api/reports?status=open&limit=100",
            Some(&moderator.access),
        )
        .await,
        "open reports",
    )
    .await;
    let mut decided = std::collections::HashSet::new();
    for report in open["results"].as_array().unwrap() {
        let post_id = report["post_id"].as_str().unwrap().to_owned();
        if decided.insert(post_id) {
            let response = app
                .send_json(
                    Method::PATCH,
                    &format!("/api/reports/{}", report["id"].as_str().unwrap()),
                    Some(&moderator.access),
                    &json!({ "status": "dismissed" }),
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    }
    assert_eq!(decided.len(), 2, "both posts had open reports");
    for (id, case @ (author, tag, word)) in &cases {
        let shown = lists_showing(&app, &reader, id, *case, &group_id).await;
        assert_eq!(
            shown,
            lists_of(author, tag, word, &group_id),
            "{author}'s post after dismissal"
        );
    }
}
