//! API.md §4 `GET /api/feed` and DESIGN.md "Home feed".

use std::time::Duration;

use bson::oid::ObjectId;
use reqwest::{Method, StatusCode};
use rookery::store::follows::FollowDoc;
use rookery::store::users::{Role, UserDoc};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, created, db_commands, spawn_app, spawn_app_with, TestApp, TestUser,
};

async fn post(app: &TestApp, user: &TestUser, content: &str) -> String {
    let response = app
        .post(
            "/api/posts",
            Some(&user.access),
            &json!({ "content": content }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // Fan-out runs as a job after the answer; wait for it.
    app.settle().await;
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn feed(app: &TestApp, user: &TestUser) -> Vec<String> {
    let response = app.get("/api/feed", Some(&user.access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_feed_holds_followed_and_own_posts_newest_first() {
    let app = spawn_app().await;
    let me = app.create_user("reader").await;
    let friend = app.create_user("friend").await;
    let stranger = app.create_user("stranger").await;
    app.post("/api/users/friend/follow", Some(&me.access), &json!({}))
        .await;
    post(&app, &friend, "friend 1").await;
    post(&app, &stranger, "stranger 1").await;
    post(&app, &me, "mine 1").await;
    post(&app, &friend, "friend 2").await;
    assert_eq!(feed(&app, &me).await, ["friend 2", "mine 1", "friend 1"]);

    let alias: Value = app
        .get("/api/posts/feed?limit=2", Some(&me.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alias["results"].as_array().unwrap().len(), 2);
    let rest: Value = app
        .get(alias["next"].as_str().unwrap(), Some(&me.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["results"][0]["content"], "friend 1");
    assert!(rest["next"].is_null());
    assert_error(
        app.get("/api/feed", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn follow_backfills_and_unfollow_block_and_delete_clean_the_feed() {
    let app = spawn_app().await;
    let me = app.create_user("reader").await;
    let author = app.create_user("author").await;
    let other = app.create_user("other").await;
    post(&app, &author, "before follow").await;
    app.post("/api/users/author/follow", Some(&me.access), &json!({}))
        .await;
    assert_eq!(feed(&app, &me).await, ["before follow"], "backfilled");

    app.request(Method::DELETE, "/api/users/author/follow")
        .bearer_auth(&me.access)
        .send()
        .await
        .unwrap();
    assert!(
        feed(&app, &me).await.is_empty(),
        "unfollow removes the posts"
    );
    // Following again writes the same backfill batch again: it must not meet the old one.
    let again = app
        .post("/api/users/author/follow", Some(&me.access), &json!({}))
        .await;
    assert!(again.status().is_success());
    assert_eq!(feed(&app, &me).await, ["before follow"], "backfilled again");
    let unfollowed = app
        .request(Method::DELETE, "/api/users/author/follow")
        .bearer_auth(&me.access)
        .send()
        .await
        .unwrap();
    assert_eq!(unfollowed.status(), StatusCode::NO_CONTENT);
    assert!(feed(&app, &me).await.is_empty());

    app.post("/api/users/other/follow", Some(&me.access), &json!({}))
        .await;
    let doomed = post(&app, &other, "to be deleted").await;
    post(&app, &other, "kept").await;
    app.request(Method::DELETE, &format!("/api/posts/{doomed}"))
        .bearer_auth(&other.access)
        .send()
        .await
        .unwrap();
    assert_eq!(feed(&app, &me).await, ["kept"]);

    app.post("/api/users/reader/block", Some(&other.access), &json!({}))
        .await;
    assert!(
        feed(&app, &me).await.is_empty(),
        "a block removes the posts both ways"
    );
}

#[tokio::test]
async fn a_scheduled_post_reaches_followers_when_it_is_published() {
    let app = spawn_app().await;
    let me = app.create_user("reader").await;
    let author = app.create_user("author").await;
    app.post("/api/users/author/follow", Some(&me.access), &json!({}))
        .await;
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(3000);
    let scheduled = app
        .post(
            "/api/posts",
            Some(&author.access),
            &json!({ "content": "scheduled", "publish_at": at.to_rfc3339() }),
        )
        .await;
    assert_eq!(scheduled.status(), StatusCode::CREATED);
    assert!(feed(&app, &me).await.is_empty());
    tokio::time::timeout(Duration::from_secs(15), async {
        while feed(&app, &me).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the post reaches the feed");
    assert_eq!(feed(&app, &me).await, ["scheduled"]);
}

/// Accounts made straight in the database, in bulk: a cost test needs many, not their
/// sign-up.
async fn seed_followees(app: &TestApp, follower: &str, count: usize) {
    let follower = ObjectId::parse_str(follower).unwrap();
    let now = bson::DateTime::now();
    let seeded: Vec<UserDoc> = (0..count)
        .map(|i| UserDoc {
            id: ObjectId::new(),
            username: format!("seeded{i}"),
            username_key: format!("seeded{i}"),
            email: format!("seeded{i}@example.com"),
            password_hash: "x".into(),
            full_name: String::new(),
            bio: String::new(),
            avatar_url: None,
            avatar_media_id: None,
            header_url: None,
            header_media_id: None,
            interests: Vec::new(),
            role: Role::User,
            email_verified: true,
            pending_email: None,
            disabled: false,
            followers_count: 1,
            following_count: 0,
            posts_count: 0,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let follow_docs: Vec<FollowDoc> = seeded
        .iter()
        .map(|u| FollowDoc {
            id: ObjectId::new(),
            follower_id: follower,
            followee_id: u.id,
            created_at: now,
        })
        .collect();
    rookery::store::users::collection(&app.db)
        .insert_many(&seeded)
        .await
        .unwrap();
    rookery::store::follows::collection(&app.db)
        .insert_many(&follow_docs)
        .await
        .unwrap();
    let added = i64::try_from(count).unwrap();
    rookery::store::users::collection(&app.db)
        .update_one(
            bson::doc! { "_id": follower },
            bson::doc! { "$inc": { "following_count": added } },
        )
        .await
        .unwrap();
}

async fn commands_for_feed_page(app: &TestApp, user: &TestUser) -> u64 {
    let response = app.get("/api/feed", Some(&user.access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    db_commands(&response)
}

#[tokio::test]
async fn a_feed_page_costs_the_same_commands_whether_one_follows_200_accounts_or_2() {
    let app = spawn_app_with(|s| s.feed.celebrity_refresh_secs = 3600).await;
    let many = app.create_user("follows_many").await;
    let few = app.create_user("follows_few").await;
    let a = app.create_user("author_a").await;
    let b = app.create_user("author_b").await;
    for user in [&many, &few] {
        for author in ["author_a", "author_b"] {
            app.post(
                &format!("/api/users/{author}/follow"),
                Some(&user.access),
                &json!({}),
            )
            .await;
        }
    }
    seed_followees(&app, &many.id, 198).await;
    for i in 0..30 {
        post(&app, if i % 2 == 0 { &a } else { &b }, &format!("post {i}")).await;
    }
    let many_me: Value = app
        .get("/api/users/me", Some(&many.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(many_me["following_count"], 200);

    let warm = commands_for_feed_page(&app, &few).await; // fills the per-instance celebrity cache
    let with_200 = commands_for_feed_page(&app, &many).await;
    let with_2 = commands_for_feed_page(&app, &few).await;
    assert_eq!(
        with_200, with_2,
        "the cost does not grow with the accounts followed"
    );
    // Session check, timeline range scan, posts $in (authors come with them), the
    // viewer's likes $in.
    assert_eq!(with_2, 4);
    assert!(warm >= with_2);
}

#[tokio::test]
async fn posts_of_accounts_over_the_threshold_are_merged_at_read_time() {
    let app = spawn_app_with(|s| s.feed.celebrity_threshold = 2).await;
    let star = app.create_user("star").await;
    let fan1 = app.create_user("fan_one").await;
    let fan2 = app.create_user("fan_two").await;
    let friend = app.create_user("friend").await;
    for fan in [&fan1, &fan2] {
        app.post("/api/users/star/follow", Some(&fan.access), &json!({}))
            .await;
    }
    app.post("/api/users/friend/follow", Some(&fan1.access), &json!({}))
        .await;
    post(&app, &friend, "friend early").await;
    post(&app, &star, "star post").await;
    post(&app, &friend, "friend late").await;

    let fan_id = ObjectId::parse_str(&fan1.id).unwrap();
    let fanned = rookery::store::timelines::count(&app.db, fan_id)
        .await
        .unwrap();
    assert_eq!(
        fanned, 2,
        "the star's post was not written to each follower's timeline"
    );
    assert_eq!(
        feed(&app, &fan1).await,
        ["friend late", "star post", "friend early"]
    );
    assert_eq!(feed(&app, &fan2).await, ["star post"]);
    assert!(feed(&app, &friend)
        .await
        .iter()
        .all(|c| c.starts_with("friend")));
}

/// `liked_by_me` on the feed, for posts from the reader's timeline and for a celebrity's
/// posts merged at read time (their likes are asked for separately).
#[tokio::test]
async fn the_feed_marks_the_posts_the_reader_likes_whether_fanned_out_or_merged() {
    let app = spawn_app_with(|s| s.feed.celebrity_threshold = 2).await;
    let star = app.create_user("star").await;
    let fan = app.create_user("fan").await;
    let other_fan = app.create_user("other_fan").await;
    let friend = app.create_user("friend").await;
    for user in [&fan, &other_fan] {
        app.post("/api/users/star/follow", Some(&user.access), &json!({}))
            .await;
    }
    app.post("/api/users/friend/follow", Some(&fan.access), &json!({}))
        .await;
    let liked_friend = post(&app, &friend, "friend liked").await;
    post(&app, &friend, "friend unliked").await;
    let liked_star = post(&app, &star, "star liked").await;
    post(&app, &star, "star unliked").await;
    for id in [&liked_friend, &liked_star] {
        let liked = app
            .post(
                &format!("/api/posts/{id}/like"),
                Some(&fan.access),
                &json!({}),
            )
            .await;
        assert_eq!(liked.status(), StatusCode::CREATED);
    }

    let page: Value = app
        .get("/api/feed", Some(&fan.access))
        .await
        .json()
        .await
        .unwrap();
    let marks: Vec<(String, bool)> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["content"].as_str().unwrap().to_owned(),
                p["liked_by_me"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("star unliked".to_owned(), false),
            ("star liked".to_owned(), true),
            ("friend unliked".to_owned(), false),
            ("friend liked".to_owned(), true),
        ]
    );
}

async fn feed_page(app: &TestApp, user: &TestUser, limit: usize) -> (Vec<String>, u64) {
    let response = app
        .get(&format!("/api/feed?limit={limit}"), Some(&user.access))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let commands = db_commands(&response);
    let page: Value = response.json().await.unwrap();
    let contents = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["content"].as_str().unwrap().to_owned())
        .collect();
    (contents, commands)
}

/// The first page within the owner's learned horizon: the same page as without it, one
/// command less work for the database, and read on below it when the window no longer
/// fills it.
#[tokio::test]
async fn the_first_feed_page_within_the_horizon_is_the_page_without_it() {
    let app = spawn_app().await;
    let reader = app.create_user("hz_reader").await;
    let a = app.create_user("hz_a").await;
    let b = app.create_user("hz_b").await;
    for author in ["hz_a", "hz_b"] {
        created(
            &app,
            &reader,
            &format!("/api/users/{author}/follow"),
            json!({}),
        )
        .await;
    }
    for i in 0..3 {
        post(&app, &a, &format!("a{i}")).await;
    }
    for i in 0..3 {
        post(&app, &b, &format!("b{i}")).await;
    }
    let newest = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // Unbounded, then learned: the same page at the same cost.
    let (first, first_commands) = feed_page(&app, &reader, 2).await;
    assert_eq!(first, newest(&["b2", "b1"]));
    let (again, again_commands) = feed_page(&app, &reader, 2).await;
    assert_eq!(again, first);
    assert_eq!(again_commands, first_commands);
    // A post fanned out since is inside the window.
    post(&app, &a, "a3").await;
    let (with_new, commands) = feed_page(&app, &reader, 2).await;
    assert_eq!(with_new, newest(&["a3", "b2"]));
    assert_eq!(commands, first_commands);
    // Unfollowing b takes b's entries out of the window: the page goes on below it, one
    // window sized by what the first held (three times the rest of the page at a3's
    // density, at most four times as far back), where a2 was written.
    let unfollowed = app
        .request(Method::DELETE, "/api/users/hz_b/follow")
        .bearer_auth(&reader.access)
        .send()
        .await
        .unwrap();
    assert_eq!(unfollowed.status(), StatusCode::NO_CONTENT);
    let (after, commands) = feed_page(&app, &reader, 2).await;
    assert_eq!(after, newest(&["a3", "a2"]));
    assert!(
        (first_commands + 1..=first_commands + 2).contains(&commands),
        "{commands} commands, {first_commands} for one window"
    );
    // Asking for more than the feed holds reads windows below until two in a row hold
    // nothing, then the rest of it (nothing) without a bound: at most six windows and
    // that read.
    let (more, commands) = feed_page(&app, &reader, 4).await;
    assert_eq!(more, newest(&["a3", "a2", "a1", "a0"]));
    assert!(
        (first_commands + 3..=first_commands + 6).contains(&commands),
        "{commands} commands, {first_commands} for one window"
    );
}
