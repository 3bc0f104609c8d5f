//! API.md §4: comments.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn comments_are_listed_oldest_first_and_counted() {
    let app = spawn_app().await;
    let author = app.create_user("ada").await;
    let reader = app.create_user("bobo").await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "discuss" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let comments_path = format!("/api/posts/{}/comments", post["id"].as_str().unwrap());
    for text in ["first", "second", "third"] {
        let response = app
            .post(
                &comments_path,
                Some(&reader.access),
                &json!({ "content": text }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let comment: Value = response.json().await.unwrap();
        assert_eq!(comment["author"]["username"], "bobo");
        assert_eq!(comment["post_id"], post["id"]);
        for field in ["id", "created_at", "updated_at"] {
            assert!(comment[field].is_string(), "{field}");
        }
    }
    let page: Value = app
        .get(&format!("{comments_path}?limit=2"), None)
        .await
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first", "second"]);
    let rest: Value = app
        .get(page["next"].as_str().unwrap(), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["results"][0]["content"], "third");
    // Counted once the workers wrote the comments' effects.
    app.settle().await;
    let fresh: Value = app
        .get(
            &format!("/api/posts/{}", post["id"].as_str().unwrap()),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["comment_count"], 3);

    for body in [
        json!({}),
        json!({ "content": "  " }),
        json!({ "content": "x".repeat(5001) }),
    ] {
        let response = app.post(&comments_path, Some(&reader.access), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }
    assert_error(
        app.post(&comments_path, None, &json!({ "content": "hi" }))
            .await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn only_the_author_edits_and_author_post_author_or_staff_delete() {
    let app = spawn_app().await;
    let author = app.create_user("cycy").await;
    let commenter = app.create_user("didi").await;
    let stranger = app.create_user("elel").await;
    let admin = app.create_user("boss").await;
    app.make_admin(&admin).await;
    let post: Value = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "p" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let post_id = post["id"].as_str().unwrap().to_owned();
    let comment = |text: &'static str| {
        let path = format!("/api/posts/{post_id}/comments");
        let token = commenter.access.clone();
        let app = &app;
        async move {
            let c: Value = app
                .post(&path, Some(&token), &json!({ "content": text }))
                .await
                .json()
                .await
                .unwrap();
            format!("/api/comments/{}", c["id"].as_str().unwrap())
        }
    };

    let first = comment("one").await;
    let edit = app
        .send_json(
            Method::PATCH,
            &first,
            Some(&stranger.access),
            &json!({ "content": "hacked" }),
        )
        .await;
    assert_error(edit, StatusCode::FORBIDDEN, "permission_denied").await;
    let edit = app
        .send_json(
            Method::PATCH,
            &first,
            Some(&author.access),
            &json!({ "content": "hacked" }),
        )
        .await;
    assert_error(edit, StatusCode::FORBIDDEN, "permission_denied").await;
    let edit = app
        .send_json(
            Method::PATCH,
            &first,
            Some(&commenter.access),
            &json!({ "content": "edited" }),
        )
        .await;
    assert_eq!(edit.status(), StatusCode::OK);
    assert_eq!(edit.json::<Value>().await.unwrap()["content"], "edited");

    let delete = |path: String, token: String| {
        let app = &app;
        async move {
            app.request(Method::DELETE, &path)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_error(
        delete(first.clone(), stranger.access.clone()).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    )
    .await;
    assert_eq!(
        delete(first.clone(), commenter.access.clone())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(comment("two").await, author.access.clone())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(comment("three").await, admin.access.clone())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        delete(first, commenter.access.clone()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    app.settle().await;
    let fresh: Value = app
        .get(&format!("/api/posts/{post_id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["comment_count"], 0);
}
