//! A like or comment is one write, carrying its effects (its post's counter, the author's
//! notification, the actor's activity entry) until a worker writes them. These run an
//! instance without workers, so the effects wait until a read that needs them (the
//! author's notifications) writes them.

use bson::doc;
use bson::oid::ObjectId;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    fresh_database, log_in_at, seed_user, spawn_app_on, test_mongodb_uri, TestApp,
};

/// An instance without workers, and the tokens (and ids) of an author and a fan.
async fn quiet_app(prefix: &str) -> (TestApp, [(String, ObjectId); 2]) {
    let (db, name) = fresh_database().await;
    let app = spawn_app_on(&test_mongodb_uri(), &name, |s| s.jobs.workers = false).await;
    let mut users = Vec::new();
    for role in ["author", "fan"] {
        let username = format!("{prefix}_{role}");
        let id = seed_user(&db, &username).await;
        users.push((log_in_at(&app.address, &username).await, id));
    }
    let [author, fan] = <[_; 2]>::try_from(users).expect("two users");
    (app, [author, fan])
}

async fn new_post(app: &TestApp, token: &str) -> String {
    let response = app
        .post("/api/posts", Some(token), &json!({ "content": "effects" }))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let post: Value = response.json().await.unwrap();
    post["id"].as_str().unwrap().to_owned()
}

async fn json_of(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// The author's notifications (a read that writes the due effects first): type and post.
async fn notifications(app: &TestApp, token: &str) -> Vec<(String, String)> {
    json_of(app, "/api/notifications", Some(token)).await["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap().to_owned(),
                n["post_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `(like_count, comment_count, liked_by_me)` of a post as `token` (or anyone) sees it.
async fn counts(app: &TestApp, id: &str, token: Option<&str>) -> (i64, i64, bool) {
    let post = json_of(app, &format!("/api/posts/{id}"), token).await;
    (
        post["like_count"].as_i64().unwrap(),
        post["comment_count"].as_i64().unwrap(),
        post["liked_by_me"].as_bool().unwrap(),
    )
}

#[tokio::test]
async fn a_liker_sees_their_like_at_once_and_everyone_once_it_is_written() {
    let (app, [(author, _), (fan, _)]) = quiet_app("ryw").await;
    let id = new_post(&app, &author).await;
    let like = format!("/api/posts/{id}/like");
    let liked = app.post(&like, Some(&fan), &json!({})).await;
    assert_eq!(liked.status(), StatusCode::CREATED);
    assert_eq!(liked.json::<Value>().await.unwrap()["like_count"], 1);
    let comment = app
        .post(
            &format!("/api/posts/{id}/comments"),
            Some(&fan),
            &json!({ "content": "first" }),
        )
        .await;
    assert_eq!(comment.status(), StatusCode::CREATED);

    // Nothing written yet: the fan sees their own like, nobody else sees either.
    assert_eq!(counts(&app, &id, Some(&fan)).await, (1, 0, true));
    assert_eq!(counts(&app, &id, None).await, (0, 0, false));
    let again = app.post(&like, Some(&fan), &json!({})).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["like_count"], 1);

    let types: Vec<String> = notifications(&app, &author)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(types, ["comment", "like"]);
    assert_eq!(counts(&app, &id, None).await, (1, 1, false));
    assert_eq!(
        counts(&app, &id, Some(&fan)).await,
        (1, 1, true),
        "once, not twice"
    );
}

#[tokio::test]
async fn taken_back_before_they_are_written_a_like_and_a_comment_leave_nothing() {
    let (app, [(author, _), (fan, _)]) = quiet_app("undo").await;
    let id = new_post(&app, &author).await;
    let like = format!("/api/posts/{id}/like");
    assert_eq!(
        app.post(&like, Some(&fan), &json!({})).await.status(),
        StatusCode::CREATED
    );
    let unliked = app
        .request(Method::DELETE, &like)
        .bearer_auth(&fan)
        .send()
        .await
        .unwrap();
    assert_eq!(unliked.status(), StatusCode::OK);
    assert_eq!(unliked.json::<Value>().await.unwrap()["like_count"], 0);
    let comment: Value = app
        .post(
            &format!("/api/posts/{id}/comments"),
            Some(&fan),
            &json!({ "content": "oops" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/comments/{}", comment["id"].as_str().unwrap()),
        )
        .bearer_auth(&fan)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    assert!(notifications(&app, &author).await.is_empty());
    assert_eq!(counts(&app, &id, None).await, (0, 0, false));
    assert_eq!(counts(&app, &id, Some(&fan)).await, (0, 0, false));
}

#[tokio::test]
async fn a_like_written_after_its_post_was_deleted_goes_with_its_effects() {
    let (app, [(author, author_id), (_, fan_id)]) = quiet_app("gone").await;
    let live = new_post(&app, &author).await;
    let live_id = ObjectId::parse_str(&live).unwrap();
    // What a like that raced its post's deletion leaves: a like of a post that is gone,
    // with a notification to write. Beside it, one of a live post.
    let gone = ObjectId::new();
    for post in [gone, live_id] {
        let subject = rookery::store::notifications::Subject {
            post_id: Some(post),
            ..Default::default()
        };
        let events = rookery::store::events::Events::new().notify(
            [author_id],
            rookery::store::notifications::NotificationType::Like,
            fan_id,
            subject,
        );
        let like = rookery::store::likes::new(ObjectId::new(), post, fan_id, events);
        assert!(rookery::store::likes::insert(&app.db, &like).await.unwrap());
    }
    assert_eq!(
        notifications(&app, &author).await,
        [("like".to_owned(), live.clone())]
    );
    let likes = rookery::store::likes::collection(&app.db);
    let left = |filter| {
        let likes = likes.clone();
        async move { likes.count_documents(filter).await.unwrap() }
    };
    assert_eq!(left(doc! { "post_id": gone }).await, 0);
    assert_eq!(
        left(doc! { "post_id": live_id, "effects": { "$exists": false } }).await,
        1
    );
    assert_eq!(counts(&app, &live, None).await, (1, 0, false));
}
