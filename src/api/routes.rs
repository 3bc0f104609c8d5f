//! Every route, declared once: its method and path, the operation it is documented as
//! when it is an alias of another, its rate limit, whether it honours `Idempotency-Key`,
//! and its handler. The actix registration (`configure`), the rate limiter, the
//! idempotency middleware and the OpenAPI document's aliases all read this table; each
//! handler's `#[utoipa::path]` describes its operation.
//!
//! Order matters: actix tries paths in the order they are registered, so fixed paths
//! (`/api/users/search`, `/api/posts/feed`…) come before the `{user}` and `{id}` patterns
//! that would otherwise take them.

use std::sync::OnceLock;

use actix_web::http::Method;
use actix_web::{guard, web};

use crate::api::rate_limit::{Bucket, By};
use crate::api::{
    activity, auth, comments, dev, discover, docs, feed, groups, likes, media, moderation,
    notifications, ops, posts, social, users,
};

pub struct Route {
    /// Lowercase, as in the OpenAPI document: `get`, `post`…
    pub method: &'static str,
    /// The route pattern, as actix matches it.
    pub path: &'static str,
    /// For an alias: the `(method, path)` of the operation it is documented as.
    pub alias_of: Option<(&'static str, &'static str)>,
    pub limit: Option<(Bucket, By)>,
    pub idempotent: bool,
    handler: fn(actix_web::Route) -> actix_web::Route,
}

fn route(
    method: &'static str,
    path: &'static str,
    handler: fn(actix_web::Route) -> actix_web::Route,
) -> Route {
    Route {
        method,
        path,
        alias_of: None,
        limit: None,
        idempotent: false,
        handler,
    }
}

impl Route {
    fn alias_of(mut self, method: &'static str, path: &'static str) -> Self {
        self.alias_of = Some((method, path));
        self
    }

    fn limited(mut self, bucket: Bucket, by: By) -> Self {
        self.limit = Some((bucket, by));
        self
    }

    fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// The table, built once.
pub fn table() -> &'static [Route] {
    static TABLE: OnceLock<Vec<Route>> = OnceLock::new();
    TABLE.get_or_init(build)
}

/// The route a request matched (`method`, route pattern), if any.
pub fn find(method: &str, pattern: &str) -> Option<&'static Route> {
    table()
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == pattern)
}

/// Registers every route: one actix resource per path, in the order of their first
/// appearance in the table, with that path's routes in table order.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut paths: Vec<&'static str> = Vec::new();
    for r in table() {
        if !paths.contains(&r.path) {
            paths.push(r.path);
        }
    }
    for path in paths {
        let mut resource = web::resource(path);
        for r in table().iter().filter(|r| r.path == path) {
            let method =
                Method::from_bytes(r.method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
            resource = resource.route((r.handler)(web::method(method)));
        }
        cfg.service(resource);
    }
}

fn build() -> Vec<Route> {
    vec![
        route("get", "/health", |r| r.to(ops::health)),
        route("get", "/ready", |r| r.to(ops::ready)),
        route("get", "/metrics", |r| r.to(ops::metrics)),
        route("get", "/api/openapi.json", |r| r.to(docs::openapi_json)),
        route("get", "/api/docs", |r| r.to(docs::docs_page)),
        route("get", "/api/docs/{file}", |r| r.to(docs::docs_file)),
        route("get", "/api/dev/outbox", |r| r.to(dev::outbox)),
        route("post", "/api/auth/register", |r| {
            r.to(auth::signup::register)
        })
        .limited(Bucket::Register, By::Address),
        route("post", "/api/register", |r| r.to(auth::signup::register))
            .alias_of("post", "/api/auth/register")
            .limited(Bucket::Register, By::Address),
        route("get", "/api/auth/verify-email", |r| {
            r.to(auth::signup::verify_email_link)
        }),
        route("post", "/api/auth/verify-email", |r| {
            r.to(auth::signup::verify_email)
        }),
        route("post", "/api/auth/resend-verification", |r| {
            r.to(auth::signup::resend_verification)
        })
        .limited(Bucket::ResendVerification, By::Address),
        route("post", "/api/auth/login", |r| r.to(auth::sessions::login))
            .limited(Bucket::Login, By::Address),
        route("post", "/api/login", |r| r.to(auth::sessions::login))
            .alias_of("post", "/api/auth/login")
            .limited(Bucket::Login, By::Address),
        route("post", "/api/users/login", |r| r.to(auth::sessions::login))
            .alias_of("post", "/api/auth/login")
            .limited(Bucket::Login, By::Address),
        route("post", "/api/auth/token/refresh", |r| {
            r.to(auth::sessions::refresh_token)
        }),
        route("post", "/api/token/refresh", |r| {
            r.to(auth::sessions::refresh_token)
        })
        .alias_of("post", "/api/auth/token/refresh"),
        route("post", "/api/auth/logout", |r| r.to(auth::sessions::logout)),
        route("post", "/api/auth/logout-all", |r| {
            r.to(auth::sessions::logout_all)
        }),
        route("get", "/api/auth/sessions", |r| {
            r.to(auth::sessions::list_sessions)
        }),
        route("delete", "/api/auth/sessions/{id}", |r| {
            r.to(auth::sessions::revoke_session)
        }),
        route("post", "/api/auth/password/change", |r| {
            r.to(auth::passwords::change_password)
        }),
        route("post", "/api/auth/password/forgot", |r| {
            r.to(auth::passwords::forgot_password)
        })
        .limited(Bucket::PasswordForgot, By::Address),
        route("post", "/api/auth/password/reset", |r| {
            r.to(auth::passwords::reset_password)
        })
        .limited(Bucket::PasswordReset, By::Address),
        route("get", "/api/users/search", |r| r.to(discover::search_users)),
        route("get", "/api/users/suggestions", |r| {
            r.to(discover::suggestions)
        }),
        route("get", "/api/posts/suggestions", |r| {
            r.to(discover::suggestions)
        })
        .alias_of("get", "/api/users/suggestions"),
        route("get", "/api/feed", |r| r.to(feed::get_feed)),
        route("get", "/api/posts/feed", |r| r.to(feed::get_feed)).alias_of("get", "/api/feed"),
        route("post", "/api/media", |r| r.to(media::upload_media))
            .limited(Bucket::Uploads, By::User)
            .idempotent(),
        route("post", "/api/posts/videos", |r| r.to(media::upload_media))
            .alias_of("post", "/api/media")
            .limited(Bucket::Uploads, By::User)
            .idempotent(),
        route("get", "/api/media/{id}", |r| {
            r.to(media::download::download_media)
        }),
        route("head", "/api/media/{id}", |r| {
            r.to(media::download::download_media)
        })
        .alias_of("get", "/api/media/{id}"),
        route("delete", "/api/media/{id}", |r| r.to(media::delete_media)),
        route("get", "/api/posts/videos/{id}", |r| {
            r.to(media::download::download_media)
        })
        .alias_of("get", "/api/media/{id}"),
        route("head", "/api/posts/videos/{id}", |r| {
            r.to(media::download::download_media)
        })
        .alias_of("get", "/api/media/{id}"),
        route("put", "/api/users/me/avatar", |r| {
            r.to(media::avatar::set_avatar)
        })
        .limited(Bucket::Uploads, By::User),
        route("delete", "/api/users/me/avatar", |r| {
            r.to(media::avatar::remove_avatar)
        }),
        route("get", "/api/users/me/blocks", |r| r.to(social::my_blocks)),
        route("post", "/api/users/{user}/follow", |r| r.to(social::follow))
            .limited(Bucket::Follows, By::User),
        route("delete", "/api/users/{user}/follow", |r| {
            r.to(social::unfollow)
        })
        .limited(Bucket::Follows, By::User),
        route("post", "/api/users/{user}/unfollow", |r| {
            r.to(social::unfollow)
        })
        .alias_of("delete", "/api/users/{user}/follow")
        .limited(Bucket::Follows, By::User),
        route("get", "/api/users/{user}/followers", |r| {
            r.to(social::followers)
        }),
        route("get", "/api/users/{user}/following", |r| {
            r.to(social::following)
        }),
        route("post", "/api/users/{user}/block", |r| r.to(social::block)),
        route("delete", "/api/users/{user}/block", |r| {
            r.to(social::unblock)
        }),
        route("post", "/api/users/{user}/unblock", |r| {
            r.to(social::unblock)
        })
        .alias_of("delete", "/api/users/{user}/block"),
        route("get", "/api/users", |r| r.to(users::list_users)),
        route("post", "/api/users", |r| r.to(auth::signup::register))
            .alias_of("post", "/api/auth/register")
            .limited(Bucket::Register, By::Address),
        route("patch", "/api/users", |r| r.to(users::update_me)).alias_of("patch", "/api/users/me"),
        route("get", "/api/users/me", |r| r.to(users::get_me)),
        route("patch", "/api/users/me", |r| r.to(users::update_me)),
        route("put", "/api/users/me", |r| r.to(users::update_me))
            .alias_of("patch", "/api/users/me"),
        route("delete", "/api/users/me", |r| r.to(users::delete_me)),
        route("put", "/api/auth/profile", |r| r.to(users::update_me))
            .alias_of("patch", "/api/users/me"),
        route("get", "/api/users/{user}", |r| r.to(users::get_user)),
        route("get", "/api/posts", |r| r.to(posts::read::list_posts)),
        route("post", "/api/posts", |r| r.to(posts::write::create_post))
            .limited(Bucket::Posts, By::User)
            .idempotent(),
        route("get", "/api/posts/search", |r| {
            r.to(posts::read::search_posts)
        }),
        route("get", "/api/hashtags/trending", |r| {
            r.to(posts::read::trending_hashtags)
        }),
        route("get", "/api/posts/{id}", |r| r.to(posts::read::get_post)),
        route("patch", "/api/posts/{id}", |r| {
            r.to(posts::write::update_post)
        }),
        route("put", "/api/posts/{id}", |r| {
            r.to(posts::write::update_post)
        })
        .alias_of("patch", "/api/posts/{id}"),
        route("delete", "/api/posts/{id}", |r| {
            r.to(posts::write::delete_post)
        }),
        route("get", "/api/posts/{id}/history", |r| {
            r.to(posts::read::post_history)
        }),
        route("get", "/api/users/me/scheduled", |r| {
            r.to(posts::read::my_scheduled_posts)
        }),
        route("get", "/api/users/{user}/posts", |r| {
            r.to(posts::read::user_posts)
        }),
        route("post", "/api/posts/{id}/like", |r| r.to(likes::like_post))
            .limited(Bucket::Likes, By::User),
        route("delete", "/api/posts/{id}/like", |r| {
            r.to(likes::unlike_post)
        })
        .limited(Bucket::Likes, By::User),
        route("post", "/api/posts/{id}/unlike", |r| {
            r.to(likes::unlike_post)
        })
        .alias_of("delete", "/api/posts/{id}/like")
        .limited(Bucket::Likes, By::User),
        route("get", "/api/posts/{id}/likes", |r| r.to(likes::post_likers)),
        route("get", "/api/users/me/liked", |r| {
            r.to(likes::my_liked_posts)
        }),
        route("get", "/api/posts/{id}/comments", |r| {
            r.to(comments::list_comments)
        }),
        route("post", "/api/posts/{id}/comments", |r| {
            r.to(comments::create_comment)
        })
        .limited(Bucket::Comments, By::User)
        .idempotent(),
        route("patch", "/api/comments/{id}", |r| {
            r.to(comments::update_comment)
        }),
        route("put", "/api/comments/{id}", |r| {
            r.to(comments::update_comment)
        })
        .alias_of("patch", "/api/comments/{id}"),
        route("delete", "/api/comments/{id}", |r| {
            r.to(comments::delete_comment)
        }),
        route("get", "/api/notifications", |r| {
            r.guard(guard::Header("upgrade", "websocket"))
                .to(notifications::notification_socket)
        }),
        route("get", "/api/notifications", |r| {
            r.to(notifications::list_notifications)
        }),
        route("get", "/api/notifications/ws", |r| {
            r.to(notifications::notification_socket)
        }),
        route("get", "/api/notifications/unread-count", |r| {
            r.to(notifications::unread_count)
        }),
        route("post", "/api/notifications/read", |r| {
            r.to(notifications::mark_read)
        }),
        route("get", "/api/activity", |r| r.to(activity::list_activity)),
        route("get", "/api/activity/ws", |r| {
            r.to(activity::activity_socket)
        }),
        route("get", "/api/activity-log", |r| {
            r.to(activity::activity_socket)
        })
        .alias_of("get", "/api/activity/ws"),
        route("get", "/api/groups", |r| r.to(groups::manage::list_groups)),
        route("post", "/api/groups", |r| {
            r.to(groups::manage::create_group)
        }),
        route("get", "/api/groups/{id}", |r| {
            r.to(groups::manage::get_group)
        }),
        route("patch", "/api/groups/{id}", |r| {
            r.to(groups::manage::update_group)
        }),
        route("put", "/api/groups/{id}", |r| {
            r.to(groups::manage::update_group)
        })
        .alias_of("patch", "/api/groups/{id}"),
        route("delete", "/api/groups/{id}", |r| {
            r.to(groups::manage::delete_group)
        }),
        route("post", "/api/groups/{id}/join", |r| {
            r.to(groups::members::join_group)
        }),
        route("post", "/api/groups/{id}/leave", |r| {
            r.to(groups::members::leave_group)
        }),
        route("get", "/api/groups/{id}/members", |r| {
            r.to(groups::members::list_members)
        }),
        route("post", "/api/groups/{id}/members", |r| {
            r.to(groups::members::add_member)
        }),
        route("delete", "/api/groups/{id}/members/{user}", |r| {
            r.to(groups::members::remove_member)
        }),
        route("get", "/api/groups/{id}/posts", |r| {
            r.to(groups::shares::group_posts)
        }),
        route("post", "/api/groups/{id}/share", |r| {
            r.to(groups::shares::share_post)
        }),
        route("post", "/api/posts/{id}/report", |r| {
            r.to(moderation::reporting::report_post)
        }),
        route("get", "/api/posts/{id}/analytics", |r| {
            r.to(moderation::post_analytics)
        }),
        route("get", "/api/reports", |r| {
            r.to(moderation::reporting::list_reports)
        }),
        route("patch", "/api/reports/{id}", |r| {
            r.to(moderation::reporting::decide_report)
        }),
        route("patch", "/api/users/{user}/role", |r| {
            r.to(moderation::accounts::set_role)
        }),
        route("patch", "/api/users/{user}/status", |r| {
            r.to(moderation::accounts::set_status)
        }),
    ]
}
