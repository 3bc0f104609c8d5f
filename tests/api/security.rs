//! Issue 29's holes, each shown by the request that used to get through: sensitive
//! account changes need the owner present, emailed tokens prove one address, and the
//! rest of the review's findings.

use bson::doc;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, path_of, TestApp, TestUser, PASSWORD};

/// `PUT /realworld/api/user` with a bearer token (a native access token works there).
async fn update_user(app: &TestApp, token: &str, user: Value) -> (StatusCode, Value) {
    let response = app
        .send_json(
            Method::PUT,
            "/realworld/api/user",
            Some(token),
            &json!({ "user": user }),
        )
        .await;
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

/// Makes the session behind `user`'s tokens look signed in `minutes` ago.
async fn age_session(app: &TestApp, user: &TestUser, minutes: i64) {
    let id = bson::oid::ObjectId::parse_str(&user.id).expect("id");
    let then =
        bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - minutes * 60_000);
    let result = app
        .db
        .database()
        .collection::<bson::Document>("sessions")
        .update_many(
            doc! { "user_id": id },
            doc! { "$set": { "created_at": then } },
        )
        .await
        .expect("sessions aged");
    assert!(result.matched_count >= 1, "the user has a session");
}

/// The URL of the first file a post shows, as `token`'s reader is handed it.
async fn shown_url(app: &TestApp, post: &Value, token: Option<&str>) -> String {
    let path = format!("/api/posts/{}", post["id"].as_str().expect("a post id"));
    let read: Value = app.get(&path, token).await.json().await.expect("a post");
    read["media"][0]["url"]
        .as_str()
        .expect("a media url")
        .to_owned()
}

async fn email_of(app: &TestApp, user: &TestUser) -> Value {
    let me: Value = app
        .get("/api/users/me", Some(&user.access))
        .await
        .json()
        .await
        .expect("me");
    me["email"].clone()
}

/// A stolen access token, used after its owner's login is more than the sudo window old,
/// can change neither the email address nor the password through RealWorld's profile
/// update; the current password, or a fresh login, can.
#[tokio::test]
async fn a_stolen_token_alone_cannot_change_the_email_or_the_password() {
    let app = crate::helpers::spawn_app().await;
    let victim = app.create_user("sudo_victim").await;
    age_session(&app, &victim, 11).await;

    for change in [
        json!({ "email": "attacker@example.com" }),
        json!({ "password": "attacker-Secret-1" }),
        json!({ "email": "attacker@example.com", "current_password": "wrong-password-9" }),
    ] {
        let (status, body) = update_user(&app, &victim.access, change.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{change}: {body}");
        // RealWorld's error shape, under a stable key a front end can show.
        assert!(
            body["errors"]["current_password"][0].as_str().is_some(),
            "{body}"
        );
    }
    assert_eq!(email_of(&app, &victim).await, "sudo_victim@example.com");
    assert_eq!(
        app.login("sudo_victim", PASSWORD).await.status(),
        StatusCode::OK,
        "the password is unchanged"
    );
    // Other profile fields need no proof.
    let (status, body) = update_user(&app, &victim.access, json!({ "bio": "still me" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // With the current password the change goes through.
    let (status, body) = update_user(
        &app,
        &victim.access,
        json!({ "password": "a-New-secret-77", "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.login("sudo_victim", "a-New-secret-77").await.status(),
        StatusCode::OK
    );

    // A session signed in just now is sudo mode: what the RealWorld settings page needs.
    let login = app
        .post(
            "/realworld/api/users/login",
            None,
            &json!({ "user": { "email": "sudo_victim@example.com", "password": "a-New-secret-77" } }),
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let body: Value = login.json().await.expect("login body");
    let fresh = body["user"]["token"].as_str().expect("token").to_owned();
    let (status, body) = update_user(&app, &fresh, json!({ "password": PASSWORD })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A new address is used only once the link sent to it is opened; the old address is
/// told; a link proves only the address it was sent to; reset tokens sent to the old
/// address end when it changes.
#[tokio::test]
async fn a_new_email_address_is_used_only_once_its_link_is_opened() {
    let app = crate::helpers::spawn_app().await;
    let user = app.create_user("mover").await;
    // A reset token, sent to the address in use.
    let forgot = app
        .post(
            "/api/auth/password/forgot",
            None,
            &json!({ "email": "mover@example.com" }),
        )
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let reset_token = app.mail.wait_for_nth("mover@example.com", 1).await.token();

    // Two changes in a row, each link waited for before the next change.
    let mut links = Vec::new();
    for address in ["first_move@example.com", "second_move@example.com"] {
        let (status, body) = update_user(&app, &user.access, json!({ "email": address })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["user"]["email"], "mover@example.com", "not in use yet");
        links.push(app.mail.wait_for(address).await.link());
    }
    let (first_link, second_link) = (&links[0], &links[1]);
    // The address in use was told, once per request.
    app.mail.wait_for_nth("mover@example.com", 3).await;
    let told: Vec<_> = app
        .mail
        .all()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == "mover@example.com"))
        .filter(|m| m.subject.contains("being changed"))
        .collect();
    assert_eq!(told.len(), 2);
    assert!(told
        .iter()
        .any(|m| m.body.contains("second_move@example.com")));
    assert_eq!(email_of(&app, &user).await, "mover@example.com");
    assert_eq!(
        app.login("mover@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );

    // The first link no longer proves anything: the change it confirmed was replaced.
    let stale = app.get(&path_of(first_link), None).await;
    assert_error(stale, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_eq!(email_of(&app, &user).await, "mover@example.com");

    let opened = app.get(&path_of(second_link), None).await;
    assert_eq!(opened.status(), StatusCode::OK);
    assert_eq!(email_of(&app, &user).await, "second_move@example.com");
    assert_eq!(
        app.login("second_move@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );

    // The reset token went to the old address: it ended with the change.
    let reset = app
        .post(
            "/api/auth/password/reset",
            None,
            &json!({ "token": reset_token, "new_password": "taken-Over-123" }),
        )
        .await;
    assert_error(reset, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_eq!(
        app.login("second_move@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

/// A verification token proves the address it was sent to, never whatever address the
/// account has when it is opened (a token that went to another address in a race
/// between two changes must not verify the account's).
#[tokio::test]
async fn a_verification_token_verifies_only_the_address_it_was_sent_to() {
    let app = crate::helpers::spawn_app().await;
    assert_eq!(app.register("bound").await.status(), StatusCode::CREATED);
    app.mail.wait_for("bound@example.com").await;
    let account = rookery::store::users::find_by_login(&app.db, "bound")
        .await
        .expect("read")
        .expect("registered");
    let secret = "a-token-that-went-to-someone-else-0123456789";
    rookery::store::tokens::insert(
        &app.db,
        rookery::store::tokens::TokenKind::VerifyEmail,
        rookery::auth::sessions::hash_secret(secret),
        account.id,
        None,
        Some("attacker@example.com"),
        rookery::auth::sessions::expires_in(3600),
    )
    .await
    .expect("token written");
    let opened = app
        .get(&format!("/api/auth/verify-email?token={secret}"), None)
        .await;
    assert_error(opened, StatusCode::BAD_REQUEST, "invalid_token").await;
    let login = app.login("bound", PASSWORD).await;
    assert_error(login, StatusCode::FORBIDDEN, "email_not_verified").await;
    // Its own link still works.
    app.verify_email_of("bound@example.com").await;
    assert_eq!(app.login("bound", PASSWORD).await.status(), StatusCode::OK);
}

/// An image is refused by its pixel count before it is decoded: a 64 MP grey PNG is a
/// few hundred kilobytes on the wire (each side within the 12 000 px edge limit).
#[tokio::test]
async fn an_image_with_too_many_pixels_is_refused_before_decoding() {
    let app = crate::helpers::spawn_app_with(|s| s.media.max_image_bytes = 4 * 1024 * 1024).await;
    let user = app.create_user("bomber").await;
    let bomb = {
        let grey = image::GrayImage::new(8000, 8000);
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(grey)
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("encoded");
        out.into_inner()
    };
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
    let response = crate::media::upload(
        &app,
        "/api/media",
        Some(&user.access),
        "bomb.png",
        "image/png",
        bomb,
    )
    .await;
    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

/// When every decoding slot stays busy past the wait bound, an image upload is answered
/// `503` with `Retry-After` instead of queueing without end.
#[tokio::test]
async fn image_uploads_that_cannot_get_a_decoding_slot_are_told_to_retry() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.media.max_image_bytes = 30 * 1024 * 1024;
        s.media.image_slots = 1;
        s.media.image_slot_wait_ms = 1;
    })
    .await;
    let user = app.create_user("crowd").await;
    let picture = crate::media::png(3000, 2000, 0);
    let uploads = (0..4).map(|_| {
        crate::media::upload(
            &app,
            "/api/media",
            Some(&user.access),
            "big.png",
            "image/png",
            picture.clone(),
        )
    });
    let answers = futures::future::join_all(uploads).await;
    let mut busy = 0;
    let mut stored = 0;
    for response in answers {
        match response.status() {
            StatusCode::CREATED => stored += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                let retry: u64 = response.headers()["retry-after"]
                    .to_str()
                    .expect("text")
                    .parse()
                    .expect("seconds");
                assert!(retry >= 1);
                assert_error(
                    response,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                )
                .await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(stored >= 1, "one upload had the slot");
    assert!(busy >= 1, "the others found it busy");
}

/// The per-post limits hold however a post is written: files attached by upload with
/// `post_id` (it used `$addToSet` past the limit), mentions (each notifies someone) and
/// hashtags (each bloats the tag aggregations), natively and through RealWorld.
#[tokio::test]
async fn media_mentions_and_hashtags_per_post_are_capped() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.auth.require_email_verification = false;
        s.posts.max_media = 2;
        s.posts.max_mentions = 3;
        s.posts.max_hashtags = 4;
    })
    .await;
    let user = app.create_user("limited").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let media =
            crate::media::uploaded(&app, &user.access, "a.png", crate::media::png(8, 8, 0)).await;
        ids.push(media["id"].as_str().expect("id").to_owned());
    }
    let post = crate::helpers::created(
        &app,
        &user,
        "/api/posts",
        json!({ "content": "two pictures", "media_ids": ids }),
    )
    .await;
    let post_id = post["id"].as_str().expect("id").to_owned();
    let form = reqwest::multipart::Form::new()
        .text("post_id", post_id.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(crate::media::png(8, 8, 0))
                .file_name("third.png")
                .mime_str("image/png")
                .expect("mime"),
        );
    let third = app
        .request(Method::POST, "/api/media")
        .bearer_auth(&user.access)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let body = assert_error(third, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["errors"]["post_id"].is_array(), "{body}");
    let shown: Value = app
        .get(&format!("/api/posts/{post_id}"), None)
        .await
        .json()
        .await
        .expect("post");
    assert_eq!(shown["media"].as_array().expect("media").len(), 2);

    for name in ["ann_m", "bob_m", "cid_m", "dan_m"] {
        app.create_user(name).await;
    }
    for (content, allowed) in [
        ("@ann_m @bob_m @cid_m @dan_m", false),
        ("@ann_m @bob_m @cid_m #a #b #c #d", true),
        ("#a #b #c #d #e", false),
    ] {
        let response = app
            .post(
                "/api/posts",
                Some(&user.access),
                &json!({ "content": content }),
            )
            .await;
        if allowed {
            assert_eq!(response.status(), StatusCode::CREATED, "{content}");
        } else {
            assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        }
    }
    // RealWorld's tagList counts with the text's tags, and answers 422 as it does.
    let token = app
        .post(
            "/realworld/api/users/login",
            None,
            &json!({ "user": { "email": "limited@example.com", "password": PASSWORD } }),
        )
        .await
        .json::<Value>()
        .await
        .expect("login")["user"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let article = app
        .post(
            "/realworld/api/articles",
            Some(&token),
            &json!({ "article": { "title": "T", "description": "D", "body": "#e",
                                  "tagList": ["a", "b", "c", "d"] } }),
        )
        .await;
    assert_eq!(article.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// RealWorld's `favorited=` applies the block rule to the person named, and
/// `articlesCount` counts only what the reader may see listed (a private group's post
/// that person liked was counted).
#[tokio::test]
async fn favorited_lists_follow_blocks_and_count_only_what_may_be_listed() {
    let app = crate::helpers::spawn_app().await;
    let fan = app.create_user("fave_fan").await;
    let reader = app.create_user("fave_reader").await;
    let group: Value = app
        .post(
            "/api/groups",
            Some(&fan.access),
            &json!({ "name": "Secret club", "visibility": "private" }),
        )
        .await
        .json()
        .await
        .expect("group");
    let group_id = group["id"].as_str().expect("group id");
    for body in [
        json!({ "content": "out in the open" }),
        json!({ "content": "members only", "group_id": group_id }),
    ] {
        let post = crate::helpers::created(&app, &fan, "/api/posts", body).await;
        let like = format!("/api/posts/{}/like", post["id"].as_str().expect("id"));
        let liked = app.post(&like, Some(&fan.access), &json!({})).await;
        assert_eq!(liked.status(), StatusCode::CREATED);
    }
    let list = |token: Option<String>| {
        let app = &app;
        async move {
            let response = app
                .get(
                    "/realworld/api/articles?favorited=fave_fan",
                    token.as_deref(),
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.expect("list")
        }
    };
    let seen = list(Some(reader.access.clone())).await;
    assert_eq!(seen["articlesCount"], 1, "{seen}");
    assert_eq!(seen["articles"].as_array().expect("articles").len(), 1);
    assert_eq!(list(None).await["articlesCount"], 1);
    // The fan sees both: they are a member.
    assert_eq!(list(Some(fan.access.clone())).await["articlesCount"], 2);

    let blocked = app
        .post(
            "/api/users/fave_reader/block",
            Some(&fan.access),
            &json!({}),
        )
        .await;
    assert!(blocked.status().is_success());
    let seen = list(Some(reader.access.clone())).await;
    assert_eq!(seen, json!({ "articles": [], "articlesCount": 0 }));
}

/// `/metrics` is for the operator: with `server.metrics_token` only with that token, and
/// without one only from the machine itself through no proxy; and a scrape loop reads
/// the job queue from the database at most every few seconds.
#[tokio::test]
async fn metrics_need_their_token_and_a_scrape_loop_costs_the_database_nothing() {
    let token = "scrape-me-0123456789";
    let app = crate::helpers::spawn_app_with(|s| {
        s.server.metrics_token = Some(rookery::config::SecretString(token.into()));
    })
    .await;
    assert_error(
        app.get("/metrics", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
    assert_error(
        app.get("/metrics", Some("scrape-me-01234567890")).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
    let first = app.get("/metrics", Some(token)).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(
        crate::helpers::db_commands(&first) > 0,
        "the first scrape reads the queue"
    );
    for _ in 0..5 {
        let again = app.get("/metrics", Some(token)).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(crate::helpers::db_commands(&again), 0);
        let text = again.text().await.expect("text");
        assert!(
            text.contains("rookery_jobs{kind=\"email\",state=\"dead\"} 0"),
            "{text}"
        );
    }

    let open = crate::helpers::spawn_app().await;
    assert_eq!(open.get("/metrics", None).await.status(), StatusCode::OK);
    let forwarded = open
        .request(Method::GET, "/metrics")
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .expect("sent");
    assert_error(forwarded, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

/// Every answer forbids type sniffing; the HTML pages carry a content security policy
/// that loads nothing from elsewhere and cannot be framed.
#[tokio::test]
async fn answers_are_never_sniffed_and_html_pages_have_a_policy() {
    let app = crate::helpers::spawn_app().await;
    for path in [
        "/health",
        "/api/posts/ffffffffffffffffffffffff",
        "/api/docs/index.html",
    ] {
        let response = app.get(path, None).await;
        assert_eq!(
            response
                .headers()
                .get("x-content-type-options")
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
    }
    let docs = app.get("/api/docs/index.html", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    let policy = docs.headers()["content-security-policy"]
        .to_str()
        .expect("text");
    assert!(
        policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'self'"),
        "{policy}"
    );
    let page = app
        .request(Method::GET, "/api/auth/verify-email?token=nope")
        .header("Accept", "text/html")
        .send()
        .await
        .expect("sent");
    assert!(page.headers()["content-type"]
        .to_str()
        .expect("text")
        .starts_with("text/html"));
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .expect("text");
    assert!(
        policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
}

/// A GIF is stored without its comment and private application extensions (XMP rides
/// in one) and without bytes after its trailer; its frames and loop stay.
#[tokio::test]
async fn a_stored_gif_keeps_no_comment_or_private_extension() {
    let app = crate::helpers::spawn_app().await;
    let user = app.create_user("gif_maker").await;
    let mut gif = b"GIF89a\x01\0\x01\0\x80\0\0".to_vec();
    gif.extend([0, 0, 0, 255, 255, 255]);
    gif.extend(b"\x21\xFF\x0bNETSCAPE2.0\x03\x01\0\0\0");
    gif.extend(b"\x21\xFE\x0dShot at home!\0");
    gif.extend(b"\x21\xFF\x0bXMP DataXMP\x0a<x:gps 1/>\0");
    gif.extend(b"\x21\xF9\x04\0\x0a\0\0\0");
    gif.extend(b"\x2C\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
    gif.extend(b"\x3Btrailing secrets");
    let media = crate::media::uploaded(&app, &user.access, "anim.gif", gif).await;
    let url = media["url"].as_str().expect("url");
    let stored = app.get(url, None).await;
    assert_eq!(stored.status(), StatusCode::OK);
    let bytes = stored.bytes().await.expect("bytes");
    let text = String::from_utf8_lossy(&bytes);
    for secret in ["Shot at home", "XMP", "gps", "trailing"] {
        assert!(!text.contains(secret), "{secret} survived: {text}");
    }
    assert!(text.contains("NETSCAPE2.0"));
}

/// A file's URL stops working when the file stops being shown where it was handed out:
/// removed from a post by an edit, its group made private, or an uploaded avatar replaced
/// by an image URL (the replaced file was never deleted).
#[tokio::test]
async fn urls_handed_out_stop_working_when_the_file_stops_being_shown() {
    let app = crate::helpers::spawn_app().await;
    let user = app.create_user("rekeyer").await;
    let status_of = |url: String| {
        let app = &app;
        async move { app.get(&url, None).await.status() }
    };

    // An edit that takes the file off its post.
    let file =
        crate::media::uploaded(&app, &user.access, "a.png", crate::media::png(8, 8, 0)).await;
    let post = crate::helpers::created(
        &app,
        &user,
        "/api/posts",
        json!({ "content": "with a picture", "media_ids": [file["id"]] }),
    )
    .await;
    let handed = shown_url(&app, &post, None).await;
    assert_eq!(status_of(handed.clone()).await, StatusCode::OK);
    let edited = app
        .send_json(
            Method::PATCH,
            &format!("/api/posts/{}", post["id"].as_str().expect("id")),
            Some(&user.access),
            &json!({ "media_ids": [] }),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    assert_eq!(status_of(handed).await, StatusCode::NOT_FOUND);

    // A public group made private.
    let group: Value = app
        .post(
            "/api/groups",
            Some(&user.access),
            &json!({ "name": "Soon secret", "visibility": "public" }),
        )
        .await
        .json()
        .await
        .expect("group");
    let group_id = group["id"].as_str().expect("id").to_owned();
    let file =
        crate::media::uploaded(&app, &user.access, "b.png", crate::media::png(8, 8, 0)).await;
    let post = crate::helpers::created(
        &app,
        &user,
        "/api/posts",
        json!({ "content": "club picture", "media_ids": [file["id"]], "group_id": group_id }),
    )
    .await;
    let handed = shown_url(&app, &post, None).await;
    assert_eq!(status_of(handed.clone()).await, StatusCode::OK);
    let private = app
        .send_json(
            Method::PATCH,
            &format!("/api/groups/{group_id}"),
            Some(&user.access),
            &json!({ "visibility": "private" }),
        )
        .await;
    assert_eq!(private.status(), StatusCode::OK);
    assert_eq!(status_of(handed).await, StatusCode::NOT_FOUND);
    // A member is handed the new URL, which works.
    let again = shown_url(&app, &post, Some(&user.access)).await;
    assert_eq!(status_of(again).await, StatusCode::OK);

    // An uploaded avatar replaced by an image URL through RealWorld.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(crate::media::png(8, 8, 0)).file_name("me.png"),
    );
    let me: Value = app
        .request(Method::PUT, "/api/users/me/avatar")
        .bearer_auth(&user.access)
        .multipart(form)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("me");
    let avatar = me["avatar_url"].as_str().expect("an avatar url").to_owned();
    assert_eq!(status_of(avatar.clone()).await, StatusCode::OK);
    let (status, body) = update_user(
        &app,
        &user.access,
        json!({ "image": "https://img.example.com/me.png" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(status_of(avatar).await, StatusCode::NOT_FOUND);
}

/// A client looping on its unread count is throttled per user, in memory, before its
/// reads reach the database (reads of notifications run the due events jobs first): a
/// read over the rate waits its turn, up to a second, then is refused; other users and
/// other reads go on.
#[tokio::test]
async fn looping_on_the_unread_count_is_throttled_per_user() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.rate_limit.notification_reads_per_sec = 1;
        s.rate_limit.notification_reads_burst = 3;
    })
    .await;
    let looper = app.create_user("looper").await;
    let patient = app.create_user("patient").await;
    let reads = (0..10).map(|_| app.get("/api/notifications/unread-count", Some(&looper.access)));
    let answers = futures::future::join_all(reads).await;
    let served = answers
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert!((3..=5).contains(&served), "{served} served");
    let mut refused = answers
        .into_iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS);
    let first = refused.next().expect("the rest are refused");
    let retry: u64 = first.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!(retry >= 1);
    assert_error(first, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let other = app
        .get("/api/notifications/unread-count", Some(&patient.access))
        .await;
    assert_eq!(other.status(), StatusCode::OK);
    let posts = app.get("/api/posts", Some(&looper.access)).await;
    assert_eq!(posts.status(), StatusCode::OK);
}
