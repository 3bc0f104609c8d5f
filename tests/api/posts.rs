//! API.md §4: posts, lists, search, trending, scheduled posts.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, db_commands, ids_of, spawn_app, spawn_app_with, TestApp};

async fn create_post(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post("/api/posts", Some(token), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
    response.json().await.unwrap()
}

async fn json_of(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_new_post_has_every_field_of_the_post_object() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    app.create_user("bob").await;
    let post = create_post(
        &app,
        &alice.access,
        json!({ "title": "Hello #World", "content": "Learning #Rust with @Bob and @nobody; #rust again, mail a@b.io" }),
    )
    .await;
    assert_eq!(post["title"], "Hello #World");
    assert_eq!(post["hashtags"], json!(["world", "rust"]));
    assert_eq!(post["mentions"], json!(["bob"]));
    assert_eq!(
        post["author"],
        json!({ "id": alice.id, "username": "alice", "full_name": "", "avatar_url": null })
    );
    assert_eq!(post["status"], "published");
    assert_eq!(post["media"], json!([]));
    for (field, value) in [
        ("like_count", json!(0)),
        ("comment_count", json!(0)),
        ("view_count", json!(0)),
        ("liked_by_me", json!(false)),
        ("edited", json!(false)),
        ("group_id", Value::Null),
        ("publish_at", Value::Null),
    ] {
        assert_eq!(post[field], value, "{field}");
    }
    assert!(post["created_at"].as_str().unwrap().ends_with('Z'));
    // The count moves in the post's publication job, just after the answer.
    app.settle().await;
    let me = json_of(&app, "/api/users/me", Some(&alice.access)).await;
    assert_eq!(me["posts_count"], 1);
}

/// Creates sent at once go to the database several to a command (`store::group_write`):
/// each is still counted once, in its author's own feed at once, and fanned out.
#[tokio::test]
async fn posts_written_at_once_are_each_counted_and_delivered() {
    let app = spawn_app().await;
    let ann = app.create_user("ann").await;
    let ben = app.create_user("ben").await;
    let reader = app.create_user("reader").await;
    for author in ["ann", "ben"] {
        let response = app
            .post(
                &format!("/api/users/{author}/follow"),
                Some(&reader.access),
                &json!({}),
            )
            .await;
        assert!(response.status().is_success(), "following {author}");
    }
    let writes = (0..24).map(|i| {
        let token = if i % 2 == 0 { &ann.access } else { &ben.access };
        create_post(&app, token, json!({ "content": format!("at once {i}") }))
    });
    let posts = futures::future::join_all(writes).await;
    let ids: HashSet<String> = posts
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 24);
    // Read-your-writes: whether or not the jobs have run yet, each author sees their twelve.
    for (author, token) in [("ann", &ann.access), ("ben", &ben.access)] {
        let me = json_of(&app, "/api/users/me", Some(token)).await;
        assert_eq!(me["posts_count"], 12, "{author}");
        let feed = json_of(&app, "/api/feed?limit=50", Some(token)).await;
        let own: Vec<&Value> = feed["results"].as_array().unwrap().iter().collect();
        assert_eq!(own.len(), 12, "{author}'s own feed");
        assert!(own.iter().all(|p| p["author"]["username"] == author));
    }
    app.settle().await;
    let feed = json_of(&app, "/api/feed?limit=50", Some(&reader.access)).await;
    let delivered: HashSet<String> = feed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(delivered, ids);
    for author in ["ann", "ben"] {
        let profile = json_of(&app, &format!("/api/users/{author}"), None).await;
        assert_eq!(profile["posts_count"], 12, "{author} after the jobs");
    }
}

#[tokio::test]
async fn post_input_is_validated() {
    let app = spawn_app().await;
    let user = app.create_user("carl").await;
    let cases = [
        (json!({}), "content"),
        (json!({ "content": "   " }), "content"),
        (json!({ "content": "x".repeat(10_001) }), "content"),
        (
            json!({ "content": "ok", "title": "t".repeat(201) }),
            "title",
        ),
        (
            json!({ "content": "ok", "publish_at": "2020-01-01T00:00:00Z" }),
            "publish_at",
        ),
        (
            json!({ "content": "ok", "publish_at": "tomorrow" }),
            "publish_at",
        ),
        (
            json!({ "content": "ok", "media_ids": ["ffffffffffffffffffffffff"] }),
            "media_ids",
        ),
        (json!({ "content": 5 }), "content"),
    ];
    for (body, field) in cases {
        let response = app.post("/api/posts", Some(&user.access), &body).await;
        let error = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(error["errors"][field].is_array(), "{field}: {error}");
    }
    assert!(
        create_post(&app, &user.access, json!({ "content": "x".repeat(10_000) })).await["id"]
            .is_string()
    );
    let anonymous = app
        .post("/api/posts", None, &json!({ "content": "hi" }))
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

#[tokio::test]
async fn only_the_author_edits_and_the_history_keeps_earlier_versions() {
    let app = spawn_app().await;
    let author = app.create_user("dana").await;
    let other = app.create_user("eded").await;
    let post = create_post(
        &app,
        &author.access,
        json!({ "title": "v1", "content": "first #one" }),
    )
    .await;
    let path = format!("/api/posts/{}", post["id"].as_str().unwrap());

    let forbidden = app
        .send_json(
            Method::PATCH,
            &path,
            Some(&other.access),
            &json!({ "content": "hijack" }),
        )
        .await;
    assert_error(forbidden, StatusCode::FORBIDDEN, "permission_denied").await;
    // Others get the 403 whatever they send, invalid fields included.
    let invalid = app
        .send_json(
            Method::PATCH,
            &path,
            Some(&other.access),
            &json!({ "title": "t".repeat(300), "media_ids": ["not-an-id"] }),
        )
        .await;
    assert_error(invalid, StatusCode::FORBIDDEN, "permission_denied").await;
    let anonymous = app
        .send_json(Method::PATCH, &path, None, &json!({ "content": "hijack" }))
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    let blank = app
        .send_json(
            Method::PATCH,
            &path,
            Some(&author.access),
            &json!({ "content": " " }),
        )
        .await;
    assert_error(blank, StatusCode::BAD_REQUEST, "validation_error").await;

    let edited: Value = app
        .send_json(
            Method::PATCH,
            &path,
            Some(&author.access),
            &json!({ "content": "second #two" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(edited["edited"], true);
    assert_eq!(edited["title"], "v1");
    assert_eq!(edited["hashtags"], json!(["two"]));
    assert_ne!(edited["updated_at"], post["updated_at"]);
    let put = app
        .send_json(
            Method::PUT,
            &path,
            Some(&author.access),
            &json!({ "title": "v3", "content": "third" }),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);

    let history = json_of(&app, &format!("{path}/history"), None).await;
    let versions: Vec<&str> = history["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["content"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["second #two", "first #one"], "newest first");
    assert!(history["results"][0]["edited_at"].is_string());
    // Searching follows the edit.
    assert!(ids_of(&json_of(&app, "/api/posts/search?hashtag=one", None).await).is_empty());
}

#[tokio::test]
async fn deleting_a_post_takes_its_likes_and_comments_and_keeps_counts_exact() {
    let app = spawn_app().await;
    let author = app.create_user("fred").await;
    let fan = app.create_user("gwen").await;
    let moderator = app.create_user("mod").await;
    rookery::store::users::collection(&app.db)
        .update_one(
            bson::doc! { "username_key": "mod" },
            bson::doc! { "$set": { "role": "moderator" } },
        )
        .await
        .unwrap();
    let post = create_post(&app, &author.access, json!({ "content": "doomed" })).await;
    let id = post["id"].as_str().unwrap();
    app.post(
        &format!("/api/posts/{id}/like"),
        Some(&fan.access),
        &json!({}),
    )
    .await;
    app.post(
        &format!("/api/posts/{id}/comments"),
        Some(&fan.access),
        &json!({ "content": "nice" }),
    )
    .await;

    let by_fan = app
        .request(Method::DELETE, &format!("/api/posts/{id}"))
        .bearer_auth(&fan.access)
        .send()
        .await
        .unwrap();
    assert_error(by_fan, StatusCode::FORBIDDEN, "permission_denied").await;
    let by_author = app
        .request(Method::DELETE, &format!("/api/posts/{id}/"))
        .bearer_auth(&author.access)
        .send()
        .await
        .unwrap();
    assert_eq!(by_author.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get(&format!("/api/posts/{id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        rookery::store::likes::collection(&app.db)
            .count_documents(bson::doc! {})
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        rookery::store::comments::collection(&app.db)
            .count_documents(bson::doc! {})
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        json_of(&app, "/api/users/fred", None).await["posts_count"],
        0
    );

    let second = create_post(&app, &author.access, json!({ "content": "moderated" })).await;
    let by_moderator = app
        .request(
            Method::DELETE,
            &format!("/api/posts/{}", second["id"].as_str().unwrap()),
        )
        .bearer_auth(&moderator.access)
        .send()
        .await
        .unwrap();
    assert_eq!(by_moderator.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn malformed_and_unknown_ids_are_404s() {
    let app = spawn_app().await;
    let user = app.create_user("hugo").await;
    for path in [
        "/api/posts/not-an-id",
        "/api/posts/ffffffffffffffffffffffff",
        "/api/posts/zzz/comments",
        "/api/posts/123/likes",
    ] {
        assert_error(
            app.get(path, Some(&user.access)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let like = app
        .post("/api/posts/nope/like", Some(&user.access), &json!({}))
        .await;
    assert_error(like, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_view_counts_only_when_the_viewer_is_not_the_author() {
    let app = spawn_app().await;
    let author = app.create_user("iris").await;
    let reader = app.create_user("jake").await;
    let id = create_post(&app, &author.access, json!({ "content": "read me" })).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/posts/{id}");
    json_of(&app, &path, Some(&author.access)).await;
    // A reader sees their own view counted at once; everyone sees it once the instance's
    // batch of views is written (the author's analytics write it first).
    assert_eq!(
        json_of(&app, &path, Some(&reader.access)).await["view_count"],
        1
    );
    json_of(&app, &path, None).await;
    let analytics = json_of(&app, &format!("{path}/analytics"), Some(&author.access)).await;
    assert_eq!(analytics["views"], 2);
    assert_eq!(
        json_of(&app, &path, Some(&author.access)).await["view_count"],
        2
    );

    // In a private group, a member's view counts (a second, member-only read); an
    // outsider gets 404 and counts nothing.
    let group: Value = app
        .post(
            "/api/groups",
            Some(&author.access),
            &json!({ "name": "Inner circle", "visibility": "private" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let group_id = group["id"].as_str().unwrap();
    let added = app
        .post(
            &format!("/api/groups/{group_id}/members"),
            Some(&author.access),
            &json!({ "user_id": reader.id }),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let outsider = app.create_user("kate").await;
    let inner = create_post(
        &app,
        &author.access,
        json!({ "content": "members only", "group_id": group_id }),
    )
    .await;
    let inner_path = format!("/api/posts/{}", inner["id"].as_str().unwrap());
    assert_eq!(
        json_of(&app, &inner_path, Some(&reader.access)).await["view_count"],
        1
    );
    for token in [Some(outsider.access.as_str()), None] {
        assert_error(
            app.get(&inner_path, token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    json_of(
        &app,
        &format!("{inner_path}/analytics"),
        Some(&author.access),
    )
    .await;
    assert_eq!(
        json_of(&app, &inner_path, Some(&author.access)).await["view_count"],
        1
    );
}

#[tokio::test]
async fn lists_filter_by_author_and_hashtag_and_search_needs_every_word() {
    let app = spawn_app().await;
    let kim = app.create_user("kim").await;
    let lou = app.create_user("lou").await;
    let a = create_post(
        &app,
        &kim.access,
        json!({ "content": "Rust is #Fast and safe" }),
    )
    .await;
    let b = create_post(&app, &lou.access, json!({ "content": "Go is #fast too" })).await;
    let c = create_post(
        &app,
        &lou.access,
        json!({ "title": "Safe words", "content": "nothing tagged" }),
    )
    .await;
    let id = |p: &Value| p["id"].as_str().unwrap().to_owned();

    assert_eq!(
        ids_of(&json_of(&app, "/api/posts", None).await),
        [id(&c), id(&b), id(&a)]
    );
    assert_eq!(
        ids_of(&json_of(&app, "/api/posts?author=lou", None).await),
        [id(&c), id(&b)]
    );
    assert_eq!(
        ids_of(&json_of(&app, &format!("/api/posts?author={}", kim.id), None).await),
        [id(&a)]
    );
    assert!(ids_of(&json_of(&app, "/api/posts?author=nobody", None).await).is_empty());
    assert_eq!(
        ids_of(&json_of(&app, "/api/posts?hashtag=FAST", None).await),
        [id(&b), id(&a)]
    );
    assert_eq!(
        ids_of(&json_of(&app, "/api/posts/search?hashtag=%23fast", None).await),
        [id(&b), id(&a)]
    );
    assert_eq!(
        ids_of(&json_of(&app, "/api/posts/search?q=SAFE", None).await),
        [id(&c), id(&a)]
    );
    assert_eq!(
        ids_of(&json_of(&app, "/api/posts/search?q=rust%20safe", None).await),
        [id(&a)]
    );
    assert!(ids_of(&json_of(&app, "/api/posts/search?q=rust%20go", None).await).is_empty());
    assert_eq!(
        ids_of(&json_of(&app, "/api/users/lou/posts", None).await),
        [id(&c), id(&b)]
    );
    assert_error(
        app.get("/api/users/nobody/posts", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for bad in [
        "/api/posts/search",
        "/api/posts/search?q=%21%21",
        "/api/posts?hashtag=a%20b",
    ] {
        assert_error(
            app.get(bad, None).await,
            StatusCode::BAD_REQUEST,
            "validation_error",
        )
        .await;
    }
    // Regex-looking input is just words.
    assert_eq!(
        app.get("/api/posts/search?q=.*(", None).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn paging_through_posts_never_repeats_or_skips_while_new_ones_arrive() {
    let app = spawn_app().await;
    let user = app.create_user("momo").await;
    let mut originals = Vec::new();
    for i in 0..25 {
        originals.push(
            create_post(
                &app,
                &user.access,
                json!({ "content": format!("post {i}") }),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/posts?limit=10".to_owned();
    let mut pages = 0;
    loop {
        let page = json_of(&app, &path, None).await;
        seen.extend(ids_of(&page));
        pages += 1;
        // Someone posts between every two pages.
        create_post(
            &app,
            &user.access,
            json!({ "content": format!("interloper {pages}") }),
        )
        .await;
        match page["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    originals.reverse();
    assert_eq!(seen, originals, "every original post once, newest first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);
    for bad in ["limit=0", "limit=101", "cursor=%2A%2A"] {
        assert_error(
            app.get(&format!("/api/posts?{bad}"), None).await,
            StatusCode::BAD_REQUEST,
            "validation_error",
        )
        .await;
    }
}

#[tokio::test]
async fn trending_counts_hashtags_of_recent_posts() {
    let app = spawn_app().await;
    let user = app.create_user("nia").await;
    for content in ["#rust #go", "#Rust", "#rust #python", "#go"] {
        create_post(&app, &user.access, json!({ "content": content })).await;
    }
    let trending = json_of(&app, "/api/hashtags/trending", None).await;
    let results = trending["results"].as_array().unwrap();
    let tags: Vec<(&str, i64)> = results
        .iter()
        .map(|t| (t["tag"].as_str().unwrap(), t["posts"].as_i64().unwrap()))
        .collect();
    assert_eq!(tags, [("rust", 3), ("go", 2), ("python", 1)]);
    assert!(results[0]["last_used_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        json_of(&app, "/api/hashtags/trending?limit=1", None).await["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_scheduled_post_stays_with_its_author_until_its_time_then_appears_everywhere() {
    let app = spawn_app().await;
    let author = app.create_user("otto").await;
    let reader = app.create_user("pia").await;
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(4000);
    let post = create_post(
        &app,
        &author.access,
        json!({ "content": "later #soon", "publish_at": at.to_rfc3339() }),
    )
    .await;
    let id = post["id"].as_str().unwrap().to_owned();
    assert_eq!(post["status"], "scheduled");
    assert!(post["publish_at"].is_string());

    assert_error(
        app.get(&format!("/api/posts/{id}"), Some(&reader.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert!(ids_of(&json_of(&app, "/api/posts", None).await).is_empty());
    assert!(ids_of(&json_of(&app, "/api/posts/search?hashtag=soon", None).await).is_empty());
    assert_eq!(
        json_of(&app, &format!("/api/posts/{id}"), Some(&author.access)).await["status"],
        "scheduled"
    );
    assert_eq!(
        ids_of(&json_of(&app, "/api/users/me/scheduled", Some(&author.access)).await),
        [id.as_str()]
    );
    let like = app
        .post(
            &format!("/api/posts/{id}/like"),
            Some(&reader.access),
            &json!({}),
        )
        .await;
    assert_error(like, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        json_of(&app, "/api/users/otto", None).await["posts_count"],
        0
    );

    // Wait for the scheduler to publish it (a condition, not a fixed sleep).
    let published = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let response = app
                .get(&format!("/api/posts/{id}"), Some(&reader.access))
                .await;
            if response.status() == StatusCode::OK {
                return response.json::<Value>().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the scheduled post is published");
    assert!(chrono::Utc::now() >= at, "not before its time");
    assert_eq!(published["status"], "published");
    assert_eq!(
        ids_of(&json_of(&app, "/api/posts", None).await),
        [id.as_str()]
    );
    assert!(
        ids_of(&json_of(&app, "/api/users/me/scheduled", Some(&author.access)).await).is_empty()
    );
    app.settle().await;
    assert_eq!(
        json_of(&app, "/api/users/otto", None).await["posts_count"],
        1
    );
}

#[tokio::test]
async fn posts_show_the_author_as_they_are_now() {
    let app = spawn_app().await;
    let author = app.create_user("oldname").await;
    let post = create_post(&app, &author.access, json!({ "content": "Hello" })).await;
    let path = format!("/api/posts/{}", post["id"].as_str().unwrap());
    assert_eq!(post["author"]["username"], "oldname");

    let renamed = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            Some(&author.access),
            &json!({ "username": "newname", "full_name": "New Name" }),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let shown = json_of(&app, &path, None).await;
    assert_eq!(shown["author"]["username"], "newname");
    assert_eq!(shown["author"]["full_name"], "New Name");
    assert_eq!(shown["author"]["id"], author.id.as_str());
    let listed = json_of(&app, "/api/posts", None).await;
    assert_eq!(listed["results"][0]["author"]["username"], "newname");
}

#[tokio::test]
async fn reading_a_page_of_posts_signed_in_costs_three_commands() {
    let app = spawn_app().await;
    let author = app.create_user("counted").await;
    for i in 0..3 {
        create_post(
            &app,
            &author.access,
            json!({ "content": format!("Post {i}") }),
        )
        .await;
    }
    let reader = app.create_user("countreader").await;
    // The session with the viewer's blocks and groups, the posts, the viewer's likes.
    let list = app.get("/api/posts", Some(&reader.access)).await;
    assert_eq!(db_commands(&list), 3);
    let id = ids_of(&list.json().await.unwrap())[0].clone();
    // The session with the post, and beside it the viewer's like (the view is counted in
    // memory and written with the instance's next batch of views).
    let detail = app
        .get(&format!("/api/posts/{id}"), Some(&reader.access))
        .await;
    assert_eq!(db_commands(&detail), 2);
    let anonymous = app.get(&format!("/api/posts/{id}"), None).await;
    assert_eq!(anonymous.status(), StatusCode::OK);
    assert_eq!(db_commands(&anonymous), 1);
    assert_eq!(db_commands(&app.get("/api/posts", None).await), 1);
}

/// The public list's first page within the learned horizon (`feed.list_horizon_posts`,
/// here the newest 3): a full page costs one command, a page the window cannot fill is
/// asked again without the bound, and posts published or deleted since the horizon was
/// learned are listed exactly as without it.
#[tokio::test]
async fn the_first_page_within_the_horizon_is_the_page_without_it() {
    let app = spawn_app_with(|s| s.feed.list_horizon_posts = 3).await;
    let author = app.create_user("horizon").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let post = create_post(&app, &author.access, json!({ "content": format!("P{i}") })).await;
        ids.push(post["id"].as_str().unwrap().to_owned());
    }
    let newest = |n: usize, ids: &[String]| ids.iter().rev().take(n).cloned().collect::<Vec<_>>();
    // Five do not fit in the newest three: once the horizon is learned (in the
    // background), the bounded read comes back short and the page is read again.
    let mut tries = 0;
    loop {
        let page = app.get("/api/posts?limit=5", None).await;
        assert_eq!(page.status(), StatusCode::OK);
        let commands = db_commands(&page);
        assert_eq!(ids_of(&page.json().await.unwrap()), newest(5, &ids));
        if commands == 2 {
            break;
        }
        assert_eq!(commands, 1);
        tries += 1;
        assert!(tries < 500, "the horizon was never learned");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Two fit: one command (once the horizon is learned again after the short read).
    let mut tries = 0;
    loop {
        let page = app.get("/api/posts?limit=2", None).await;
        assert_eq!(page.status(), StatusCode::OK);
        let commands = db_commands(&page);
        assert_eq!(ids_of(&page.json().await.unwrap()), newest(2, &ids));
        if commands == 1 {
            break;
        }
        tries += 1;
        assert!(
            tries < 500,
            "a full bounded page cost more than one command"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A post published since is inside the window.
    let post = create_post(&app, &author.access, json!({ "content": "P6" })).await;
    ids.push(post["id"].as_str().unwrap().to_owned());
    let page = app.get("/api/posts?limit=2", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(db_commands(&page), 1);
    assert_eq!(ids_of(&page.json().await.unwrap()), newest(2, &ids));
    // Deleting the newest four leaves the window short: the page comes from beyond it.
    for id in newest(4, &ids) {
        let deleted = app
            .request(Method::DELETE, &format!("/api/posts/{id}"))
            .bearer_auth(&author.access)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    }
    ids.truncate(3);
    let page = app.get("/api/posts?limit=2", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(ids_of(&page.json().await.unwrap()), newest(2, &ids));
}

/// Routes that need the signed-in caller's blocks or groups get them with the session
/// check, in one command (the `SignedIn` extractor), not a second one after it.
#[tokio::test]
async fn signed_in_routes_load_the_caller_with_the_session_check() {
    let app = spawn_app().await;
    let me = app.create_user("onecheck").await;
    // The session with the caller's relations, then the (empty) page of blocks.
    let blocks = app.get("/api/users/me/blocks", Some(&me.access)).await;
    assert_eq!(blocks.status(), StatusCode::OK);
    assert_eq!(db_commands(&blocks), 2);
    let liked = app.get("/api/users/me/liked", Some(&me.access)).await;
    assert_eq!(liked.status(), StatusCode::OK);
    assert_eq!(db_commands(&liked), 2);
    let created = app
        .post(
            "/api/posts",
            Some(&me.access),
            &json!({ "content": "one check" }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // The session check with the caller's relations and account, the post (its own
    // publication's record), the author's own timeline entry and count: fan-out and
    // events follow in the workers.
    assert_eq!(db_commands(&created), 4);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let edited = app
        .send_json(
            Method::PATCH,
            &format!("/api/posts/{id}"),
            Some(&me.access),
            &json!({ "content": "edited" }),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    // The post, the caller's check, the edit, its history, and the job with its
    // activity entry.
    assert_eq!(db_commands(&edited), 6);
}
