//! API.md §4: likes, exact under concurrency.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, db_commands, spawn_app, TestApp, TestUser};

async fn new_post(app: &TestApp, author: &TestUser) -> String {
    let response = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "like me" }),
        )
        .await;
    let post: Value = response.json().await.unwrap();
    post["id"].as_str().unwrap().to_owned()
}

async fn like_count(app: &TestApp, id: &str) -> i64 {
    let post: Value = app
        .get(&format!("/api/posts/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    post["like_count"].as_i64().unwrap()
}

#[tokio::test]
async fn liking_and_unliking_are_idempotent() {
    let app = spawn_app().await;
    let author = app.create_user("amy").await;
    let fan = app.create_user("ben").await;
    let id = new_post(&app, &author).await;
    let like = format!("/api/posts/{id}/like");

    let first = app.post(&like, Some(&fan.access), &json!({})).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(
        first.json::<Value>().await.unwrap(),
        json!({ "like_count": 1, "liked_by_me": true })
    );
    let again = app.post(&like, Some(&fan.access), &json!({})).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({ "like_count": 1, "liked_by_me": true })
    );

    let post: Value = app
        .get(&format!("/api/posts/{id}"), Some(&fan.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(post["liked_by_me"], true);
    let likers: Value = app
        .get(&format!("/api/posts/{id}/likes"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(likers["results"][0]["username"], "ben");

    let unlike = app
        .request(Method::DELETE, &like)
        .bearer_auth(&fan.access)
        .send()
        .await
        .unwrap();
    assert_eq!(unlike.status(), StatusCode::OK);
    assert_eq!(
        unlike.json::<Value>().await.unwrap(),
        json!({ "like_count": 0, "liked_by_me": false })
    );
    let unlike_again = app
        .post(
            &format!("/api/posts/{id}/unlike"),
            Some(&fan.access),
            &json!({}),
        )
        .await;
    assert_eq!(unlike_again.status(), StatusCode::OK);
    assert_eq!(
        unlike_again.json::<Value>().await.unwrap(),
        json!({ "like_count": 0, "liked_by_me": false })
    );
    assert_error(
        app.post(&like, None, &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn twenty_concurrent_likes_by_twenty_users_count_twenty() {
    let app = spawn_app().await;
    let author = app.create_user("cat").await;
    let id = new_post(&app, &author).await;
    let fans = join_all((0..20).map(|i| app.create_user_named(format!("fan{i}")))).await;
    let like = format!("/api/posts/{id}/like");
    let requests = fans.iter().map(|fan| {
        app.request(Method::POST, &like)
            .bearer_auth(&fan.access)
            .send()
    });
    let responses: Vec<_> = join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(responses.iter().all(|r| r.status() == StatusCode::CREATED));
    // Each liker sees their like at once (their count too, except in the milliseconds a
    // worker holds it: tests/api/effects.rs checks the count without workers); everyone
    // sees all twenty once the workers wrote the likes' effects.
    for fan in &fans {
        let post: Value = app
            .get(&format!("/api/posts/{id}"), Some(&fan.access))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(post["liked_by_me"], true);
    }
    app.settle().await;
    assert_eq!(like_count(&app, &id).await, 20);
    let likers: Value = app
        .get(&format!("/api/posts/{id}/likes?limit=100"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(likers["results"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn concurrent_like_and_unlike_by_one_user_never_leave_the_count_off() {
    let app = spawn_app().await;
    let author = app.create_user("dee").await;
    let fan = app.create_user("eve").await;
    let id = new_post(&app, &author).await;
    let like = format!("/api/posts/{id}/like");
    let requests = (0..30).map(|i| {
        let method = if i % 2 == 0 {
            Method::POST
        } else {
            Method::DELETE
        };
        app.request(method, &like).bearer_auth(&fan.access).send()
    });
    join_all(requests).await;
    let liked = rookery::store::likes::collection(&app.db)
        .count_documents(bson::doc! {})
        .await
        .unwrap() as i64;
    assert_eq!(like_count(&app, &id).await, liked);
}

#[tokio::test]
async fn my_liked_lists_the_most_recently_liked_first() {
    let app = spawn_app().await;
    let author = app.create_user("fox").await;
    let fan = app.create_user("gil").await;
    let first = new_post(&app, &author).await;
    let second = new_post(&app, &author).await;
    app.post(
        &format!("/api/posts/{second}/like"),
        Some(&fan.access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("/api/posts/{first}/like"),
        Some(&fan.access),
        &json!({}),
    )
    .await;
    let liked: Value = app
        .get("/api/users/me/liked", Some(&fan.access))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = liked["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert!(liked["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["liked_by_me"] == true));
    assert_error(
        app.get("/api/users/me/liked", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn a_like_and_a_comment_cost_two_commands_an_unlike_four_and_all_still_notify() {
    let app = spawn_app().await;
    let author = app.create_user("cheap_author").await;
    let fan = app.create_user("cheap_fan").await;
    let id = new_post(&app, &author).await;

    // The session with the fan's relations, the post and the fan's account in one
    // aggregation; the like (or comment) insert, which carries the post's counter, the
    // notification and the activity entry for the workers to write after the answer.
    let like = app
        .post(
            &format!("/api/posts/{id}/like"),
            Some(&fan.access),
            &json!({}),
        )
        .await;
    assert_eq!(like.status(), StatusCode::CREATED);
    assert_eq!(db_commands(&like), 2);
    let comment = app
        .post(
            &format!("/api/posts/{id}/comments"),
            Some(&fan.access),
            &json!({ "content": "cheap and cheerful" }),
        )
        .await;
    assert_eq!(comment.status(), StatusCode::CREATED);
    assert_eq!(db_commands(&comment), 2);
    let comment: Value = comment.json().await.unwrap();
    assert_eq!(comment["author"]["username"], "cheap_fan");
    assert_eq!(comment["author"]["id"], fan.id.as_str());
    // Taking back a counted like: the session, the delete, its activity job, the counter.
    app.settle().await;
    let unlike = app
        .request(Method::DELETE, &format!("/api/posts/{id}/like"))
        .bearer_auth(&fan.access)
        .send()
        .await
        .unwrap();
    assert_eq!(unlike.status(), StatusCode::OK);
    assert_eq!(db_commands(&unlike), 4);
    let unliked: Value = unlike.json().await.unwrap();
    assert_eq!(unliked["like_count"], 0);

    let notifications: Value = app
        .get("/api/notifications", Some(&author.access))
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = notifications["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["comment", "like"]);
    let activity: Value = app
        .get("/api/activity", Some(&fan.access))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = activity["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        &actions[..3],
        ["post.unlike", "comment.create", "post.like"]
    );
}
