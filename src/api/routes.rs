//! Every route, declared once: its handler, whose `#[utoipa::path]` gives the method,
//! the path and the OpenAPI operation; the aliases that also reach it; its rate limit;
//! whether it honours `Idempotency-Key`. The actix registration (`configure`), the rate
//! limiter, the idempotency middleware and the OpenAPI document (its operations and their
//! aliases) all read this table.
//!
//! Order matters: actix tries paths in the order they are registered, so fixed paths
//! (`/api/users/search`, `/api/posts/feed`…) come before the `{user}` and `{id}` patterns
//! that would otherwise take them.

use std::sync::OnceLock;

use actix_web::http::Method;
use actix_web::{guard, web};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::OpenApi;

use crate::api::{
    activity, auth, comments, dev, discover, docs, feed, groups, likes, media, moderation,
    notifications, ops, posts, social, users,
};

pub use crate::core::limits::Bucket;

/// Who a route's limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The client's address.
    Address,
    /// The signed-in user (the address when the token is missing or bad: the route
    /// answers `401` then, but an anonymous flood still meets a limit).
    User,
}

type Handler = fn(actix_web::Route) -> actix_web::Route;

pub struct Route {
    /// Lowercase, as in the OpenAPI document: `get`, `post`…
    pub method: &'static str,
    /// The route pattern, as actix matches it.
    pub path: String,
    /// For an alias: the `(method, path)` of the operation it is documented as.
    pub alias_of: Option<(&'static str, String)>,
    pub limit: Option<(Bucket, By)>,
    pub idempotent: bool,
    handler: Handler,
    /// Adds the handler's operation (and the schemas it names) to the document.
    document: Option<fn(&mut OpenApi)>,
    /// A Mastodon API route's summary: its contract is Mastodon's documentation, so the
    /// document lists it under the `mastodon` tag with no schema of its own.
    mastodon: Option<&'static str>,
}

/// What `#[utoipa::path]` generates for a handler.
pub trait Operation:
    utoipa::Path + utoipa::__dev::Tags<'static> + utoipa::__dev::SchemaReferences
{
}

impl<T: utoipa::Path + utoipa::__dev::Tags<'static> + utoipa::__dev::SchemaReferences> Operation
    for T
{
}

fn method_of<P: Operation>() -> &'static str {
    match P::methods().first() {
        Some(HttpMethod::Post) => "post",
        Some(HttpMethod::Put) => "put",
        Some(HttpMethod::Patch) => "patch",
        Some(HttpMethod::Delete) => "delete",
        Some(HttpMethod::Head) => "head",
        Some(HttpMethod::Options) => "options",
        Some(HttpMethod::Trace) => "trace",
        Some(HttpMethod::Get) | None => "get",
    }
}

/// A documented operation, at the method and path its `#[utoipa::path]` names.
fn op<P: Operation>(handler: Handler) -> Route {
    Route {
        document: Some(document::<P>),
        ..route(method_of::<P>(), &P::path(), handler)
    }
}

/// Another method or path for the operation `P` documents.
fn alias<P: Operation>(method: &'static str, path: &str, handler: Handler) -> Route {
    Route {
        alias_of: Some((method_of::<P>(), P::path())),
        ..route(method, path, handler)
    }
}

/// A route with no operation of its own in the document.
fn route(method: &'static str, path: &str, handler: Handler) -> Route {
    Route {
        method,
        path: path.to_owned(),
        alias_of: None,
        limit: None,
        idempotent: false,
        handler,
        document: None,
        mastodon: None,
    }
}

fn document<P: Operation>(openapi: &mut OpenApi) {
    let mut operation = P::operation();
    let tags = <P as utoipa::__dev::Tags>::tags();
    if operation.tags.as_ref().is_none_or(|t| t.is_empty()) && !tags.is_empty() {
        operation.tags = Some(tags.iter().map(ToString::to_string).collect());
    }
    openapi
        .paths
        .add_path_operation(P::path(), P::methods(), operation);
    let mut schemas = Vec::new();
    P::schemas(&mut schemas);
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
}

impl Route {
    fn limited(mut self, bucket: Bucket, by: By) -> Self {
        self.limit = Some((bucket, by));
        self
    }

    fn mastodon(mut self, summary: &'static str) -> Self {
        self.mastodon = Some(summary);
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

/// Adds every documented operation, in table order.
pub fn document_all(openapi: &mut OpenApi) {
    for r in table() {
        if let Some(document) = r.document {
            document(openapi);
        } else if let Some(summary) = r.mastodon {
            document_mastodon(openapi, r, summary);
        }
    }
}

/// A Mastodon API route in the document: its summary, its path parameters, and where its
/// contract is written.
fn document_mastodon(openapi: &mut OpenApi, r: &Route, summary: &str) {
    use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, ResponseBuilder, Type};
    let id: String = format!("mastodon_{}{}", r.method, r.path)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut operation = OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
        .description(Some(
            "Mastodon client API: the request and answer are Mastodon's (docs/MASTODON.md \
             says what Rookery does with them).",
        ))
        .tag("mastodon");
    if r.path == "/oauth/authorize" {
        // The authorization page: HTML, whatever happens; a redirect back to the app.
        let page = |what: &str| {
            ResponseBuilder::new().description(what).content(
                "text/html",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            )
        };
        operation = operation
            .response("200", page("The page (a form, or the code out of band)."))
            .response(
                "303",
                ResponseBuilder::new().description("Back to the app's redirect URI."),
            )
            .response(
                "400",
                page("The request names no known app or redirect URI, or the page expired."),
            )
            .response("401", page("Wrong email address or password."))
            .response(
                "403",
                page("The form's CSRF value is missing, or the account may not sign in."),
            )
            .response("422", page("A field is missing."))
            .response("503", page("The database did not answer."));
        if r.limit.is_some() {
            operation = operation.response("429", page("Too many attempts."));
        }
    } else {
        operation = operation.response(
            "200",
            ResponseBuilder::new().description("As Mastodon answers."),
        );
        for (status, what) in [
            (
                "400",
                "Malformed (the OAuth endpoints' `invalid_request`, `invalid_grant`…).",
            ),
            (
                "401",
                "No valid token, or (OAuth) client authentication failed.",
            ),
            (
                "403",
                "Outside the token's scopes, not allowed, or another app's token.",
            ),
            ("404", "Record not found, or not for the caller to see."),
            (
                "422",
                "Validation failed, or what Rookery has no meaning for.",
            ),
        ] {
            operation = operation.response(status, ResponseBuilder::new().description(what));
        }
    }
    for name in r
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
    {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    // Everything under /api/ reads a token when one is sent.
    if r.path.starts_with("/api/") {
        operation = operation
            .security(utoipa::openapi::security::SecurityRequirement::default())
            .security(utoipa::openapi::security::SecurityRequirement::new(
                "mastodonToken",
                Vec::<String>::new(),
            ));
    }
    let method = match r.method {
        "post" => HttpMethod::Post,
        "put" => HttpMethod::Put,
        "patch" => HttpMethod::Patch,
        "delete" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    };
    openapi
        .paths
        .add_path_operation(&r.path, vec![method], operation.build());
}

/// Registers every route: one actix resource per path, in the order of their first
/// appearance in the table, with that path's routes in table order.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut paths: Vec<&'static str> = Vec::new();
    for r in table() {
        if !paths.contains(&r.path.as_str()) {
            paths.push(&r.path);
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
    let mut routes = vec![
        op::<ops::__path_health>(|r| r.to(ops::health)),
        op::<ops::__path_ready>(|r| r.to(ops::ready)),
        op::<ops::__path_metrics>(|r| r.to(ops::metrics)),
        op::<docs::__path_openapi_json>(|r| r.to(docs::openapi_json)),
        op::<docs::__path_docs_page>(|r| r.to(docs::docs_page)),
        op::<docs::__path_docs_file>(|r| r.to(docs::docs_file)),
        op::<dev::__path_outbox>(|r| r.to(dev::outbox)),
        op::<auth::signup::__path_register>(|r| r.to(auth::signup::register))
            .limited(Bucket::Register, By::Address),
        alias::<auth::signup::__path_register>("post", "/api/register", |r| {
            r.to(auth::signup::register)
        })
        .limited(Bucket::Register, By::Address),
        op::<auth::signup::__path_verify_email_link>(|r| r.to(auth::signup::verify_email_link)),
        op::<auth::signup::__path_verify_email>(|r| r.to(auth::signup::verify_email)),
        op::<auth::signup::__path_resend_verification>(|r| r.to(auth::signup::resend_verification))
            .limited(Bucket::ResendVerification, By::Address),
        op::<auth::sessions::__path_login>(|r| r.to(auth::sessions::login))
            .limited(Bucket::Login, By::Address),
        alias::<auth::sessions::__path_login>("post", "/api/login", |r| {
            r.to(auth::sessions::login)
        })
        .limited(Bucket::Login, By::Address),
        alias::<auth::sessions::__path_login>("post", "/api/users/login", |r| {
            r.to(auth::sessions::login)
        })
        .limited(Bucket::Login, By::Address),
        op::<auth::sessions::__path_refresh_token>(|r| r.to(auth::sessions::refresh_token)),
        alias::<auth::sessions::__path_refresh_token>("post", "/api/token/refresh", |r| {
            r.to(auth::sessions::refresh_token)
        }),
        op::<auth::sessions::__path_logout>(|r| r.to(auth::sessions::logout)),
        op::<auth::sessions::__path_logout_all>(|r| r.to(auth::sessions::logout_all)),
        op::<auth::sessions::__path_list_sessions>(|r| r.to(auth::sessions::list_sessions)),
        op::<auth::sessions::__path_revoke_session>(|r| r.to(auth::sessions::revoke_session)),
        op::<auth::passwords::__path_change_password>(|r| r.to(auth::passwords::change_password)),
        op::<auth::passwords::__path_forgot_password>(|r| r.to(auth::passwords::forgot_password))
            .limited(Bucket::PasswordForgot, By::Address),
        op::<auth::passwords::__path_reset_password>(|r| r.to(auth::passwords::reset_password))
            .limited(Bucket::PasswordReset, By::Address),
        op::<discover::__path_search_users>(|r| r.to(discover::search_users)),
        op::<discover::__path_suggestions>(|r| r.to(discover::suggestions)),
        alias::<discover::__path_suggestions>("get", "/api/posts/suggestions", |r| {
            r.to(discover::suggestions)
        }),
        op::<feed::__path_get_feed>(|r| r.to(feed::get_feed)),
        alias::<feed::__path_get_feed>("get", "/api/posts/feed", |r| r.to(feed::get_feed)),
        op::<media::__path_upload_media>(|r| r.to(media::upload_media))
            .limited(Bucket::Uploads, By::User)
            .idempotent(),
        alias::<media::__path_upload_media>("post", "/api/posts/videos", |r| {
            r.to(media::upload_media)
        })
        .limited(Bucket::Uploads, By::User)
        .idempotent(),
        op::<media::download::__path_download_media>(|r| r.to(media::download::download_media)),
        alias::<media::download::__path_download_media>("head", "/api/media/{id}", |r| {
            r.to(media::download::download_media)
        }),
        op::<media::__path_delete_media>(|r| r.to(media::delete_media)),
        op::<media::download::__path_media_info>(|r| r.to(media::download::media_info)),
        op::<media::download::__path_download_variant>(|r| r.to(media::download::download_variant)),
        alias::<media::download::__path_download_variant>(
            "head",
            "/api/media/{id}/{variant}",
            |r| r.to(media::download::download_variant),
        ),
        alias::<media::download::__path_download_media>("get", "/api/posts/videos/{id}", |r| {
            r.to(media::download::download_media)
        }),
        alias::<media::download::__path_download_media>("head", "/api/posts/videos/{id}", |r| {
            r.to(media::download::download_media)
        }),
        op::<media::avatar::__path_set_avatar>(|r| r.to(media::avatar::set_avatar))
            .limited(Bucket::Uploads, By::User),
        op::<media::avatar::__path_remove_avatar>(|r| r.to(media::avatar::remove_avatar)),
        op::<social::__path_my_blocks>(|r| r.to(social::my_blocks)),
        op::<social::__path_follow>(|r| r.to(social::follow)).limited(Bucket::Follows, By::User),
        op::<social::__path_unfollow>(|r| r.to(social::unfollow))
            .limited(Bucket::Follows, By::User),
        alias::<social::__path_unfollow>("post", "/api/users/{user}/unfollow", |r| {
            r.to(social::unfollow)
        })
        .limited(Bucket::Follows, By::User),
        op::<social::__path_followers>(|r| r.to(social::followers)),
        op::<social::__path_following>(|r| r.to(social::following)),
        op::<social::__path_block>(|r| r.to(social::block)),
        op::<social::__path_unblock>(|r| r.to(social::unblock)),
        alias::<social::__path_unblock>("post", "/api/users/{user}/unblock", |r| {
            r.to(social::unblock)
        }),
        op::<users::__path_list_users>(|r| r.to(users::list_users)),
        alias::<auth::signup::__path_register>("post", "/api/users", |r| {
            r.to(auth::signup::register)
        })
        .limited(Bucket::Register, By::Address),
        alias::<users::__path_update_me>("patch", "/api/users", |r| r.to(users::update_me)),
        op::<users::__path_get_me>(|r| r.to(users::get_me)),
        op::<users::__path_update_me>(|r| r.to(users::update_me)),
        alias::<users::__path_update_me>("put", "/api/users/me", |r| r.to(users::update_me)),
        op::<users::__path_delete_me>(|r| r.to(users::delete_me)),
        alias::<users::__path_update_me>("put", "/api/auth/profile", |r| r.to(users::update_me)),
        op::<users::__path_get_user>(|r| r.to(users::get_user)),
        op::<posts::read::__path_list_posts>(|r| r.to(posts::read::list_posts)),
        op::<posts::write::__path_create_post>(|r| r.to(posts::write::create_post))
            .limited(Bucket::Posts, By::User)
            .idempotent(),
        op::<posts::read::__path_search_posts>(|r| r.to(posts::read::search_posts)),
        op::<posts::read::__path_trending_hashtags>(|r| r.to(posts::read::trending_hashtags)),
        op::<posts::read::__path_get_post>(|r| r.to(posts::read::get_post)),
        op::<posts::write::__path_update_post>(|r| r.to(posts::write::update_post)),
        alias::<posts::write::__path_update_post>("put", "/api/posts/{id}", |r| {
            r.to(posts::write::update_post)
        }),
        op::<posts::write::__path_delete_post>(|r| r.to(posts::write::delete_post)),
        op::<posts::read::__path_post_history>(|r| r.to(posts::read::post_history)),
        op::<posts::read::__path_my_scheduled_posts>(|r| r.to(posts::read::my_scheduled_posts)),
        op::<posts::read::__path_user_posts>(|r| r.to(posts::read::user_posts)),
        op::<likes::__path_like_post>(|r| r.to(likes::like_post)).limited(Bucket::Likes, By::User),
        op::<likes::__path_unlike_post>(|r| r.to(likes::unlike_post))
            .limited(Bucket::Likes, By::User),
        alias::<likes::__path_unlike_post>("post", "/api/posts/{id}/unlike", |r| {
            r.to(likes::unlike_post)
        })
        .limited(Bucket::Likes, By::User),
        op::<likes::__path_post_likers>(|r| r.to(likes::post_likers)),
        op::<likes::__path_my_liked_posts>(|r| r.to(likes::my_liked_posts)),
        op::<comments::__path_list_comments>(|r| r.to(comments::list_comments)),
        op::<comments::__path_create_comment>(|r| r.to(comments::create_comment))
            .limited(Bucket::Comments, By::User)
            .idempotent(),
        op::<comments::__path_update_comment>(|r| r.to(comments::update_comment)),
        alias::<comments::__path_update_comment>("put", "/api/comments/{id}", |r| {
            r.to(comments::update_comment)
        }),
        op::<comments::__path_delete_comment>(|r| r.to(comments::delete_comment)),
        route("get", "/api/notifications", |r| {
            r.guard(guard::Header("upgrade", "websocket"))
                .to(notifications::notification_socket)
        }),
        op::<notifications::__path_list_notifications>(|r| r.to(notifications::list_notifications)),
        op::<notifications::__path_notification_socket>(|r| {
            r.to(notifications::notification_socket)
        }),
        op::<notifications::__path_unread_count>(|r| r.to(notifications::unread_count)),
        op::<notifications::__path_mark_read>(|r| r.to(notifications::mark_read)),
        op::<activity::__path_list_activity>(|r| r.to(activity::list_activity)),
        op::<activity::__path_activity_socket>(|r| r.to(activity::activity_socket)),
        alias::<activity::__path_activity_socket>("get", "/api/activity-log", |r| {
            r.to(activity::activity_socket)
        }),
        op::<groups::manage::__path_list_groups>(|r| r.to(groups::manage::list_groups)),
        op::<groups::manage::__path_create_group>(|r| r.to(groups::manage::create_group)),
        op::<groups::manage::__path_get_group>(|r| r.to(groups::manage::get_group)),
        op::<groups::manage::__path_update_group>(|r| r.to(groups::manage::update_group)),
        alias::<groups::manage::__path_update_group>("put", "/api/groups/{id}", |r| {
            r.to(groups::manage::update_group)
        }),
        op::<groups::manage::__path_delete_group>(|r| r.to(groups::manage::delete_group)),
        op::<groups::members::__path_join_group>(|r| r.to(groups::members::join_group)),
        op::<groups::members::__path_leave_group>(|r| r.to(groups::members::leave_group)),
        op::<groups::members::__path_list_members>(|r| r.to(groups::members::list_members)),
        op::<groups::members::__path_add_member>(|r| r.to(groups::members::add_member)),
        op::<groups::members::__path_remove_member>(|r| r.to(groups::members::remove_member)),
        op::<groups::shares::__path_group_posts>(|r| r.to(groups::shares::group_posts)),
        op::<groups::shares::__path_share_post>(|r| r.to(groups::shares::share_post)),
        op::<moderation::reporting::__path_report_post>(|r| {
            r.to(moderation::reporting::report_post)
        }),
        op::<moderation::__path_post_analytics>(|r| r.to(moderation::post_analytics)),
        op::<moderation::reporting::__path_list_reports>(|r| {
            r.to(moderation::reporting::list_reports)
        }),
        op::<moderation::reporting::__path_decide_report>(|r| {
            r.to(moderation::reporting::decide_report)
        }),
        op::<moderation::accounts::__path_set_role>(|r| r.to(moderation::accounts::set_role)),
        op::<moderation::accounts::__path_set_status>(|r| r.to(moderation::accounts::set_status)),
    ];
    routes.extend(realworld_routes());
    routes.extend(mastodon_routes());
    routes
}

/// The Mastodon client API (`api::mastodon`), documented in docs/MASTODON.md rather than
/// in the OpenAPI document (its contract is Mastodon's).
fn mastodon_routes() -> Vec<Route> {
    use crate::api::mastodon::{
        accounts, edits, instance, media, misc, notifications, oauth, profile, reports, scheduled,
        statuses, streaming, timelines,
    };
    vec![
        route("post", "/api/v1/apps", |r| r.to(oauth::create_app))
            .limited(Bucket::Register, By::Address)
            .mastodon("Register an app"),
        route("get", "/api/v1/apps/verify_credentials", |r| {
            r.to(oauth::verify_app)
        })
        .mastodon("The calling app"),
        route("get", "/oauth/authorize", |r| r.to(oauth::authorize_page))
            .mastodon("The authorization page (HTML)"),
        route("post", "/oauth/authorize", |r| {
            r.to(oauth::authorize_submit)
        })
        .limited(Bucket::Login, By::Address)
        .mastodon("Sign in and approve (the page's forms)"),
        route("post", "/oauth/token", |r| r.to(oauth::token))
            .limited(Bucket::Login, By::Address)
            .mastodon("Obtain a token"),
        route("post", "/oauth/revoke", |r| r.to(oauth::revoke)).mastodon("Revoke a token"),
        route("get", "/.well-known/oauth-authorization-server", |r| {
            r.to(oauth::metadata)
        })
        .mastodon("OAuth server metadata (RFC 8414)"),
        route("get", "/.well-known/host-meta", |r| {
            r.to(instance::host_meta)
        })
        .mastodon("Where WebFinger is (XRD)"),
        route("get", "/.well-known/webfinger", |r| {
            r.to(instance::webfinger)
        })
        .mastodon("A local account by its address (JRD)"),
        route("get", "/.well-known/nodeinfo", |r| {
            r.to(instance::nodeinfo_index)
        })
        .mastodon("NodeInfo links"),
        route("get", "/nodeinfo/2.0", |r| r.to(instance::nodeinfo)).mastodon("NodeInfo 2.0"),
        route("get", "/api/v1/instance", |r| r.to(instance::v1)).mastodon("The instance (v1)"),
        route("get", "/api/v1/instance/peers", |r| r.to(instance::peers))
            .mastodon("Known peers (none: Rookery does not federate)"),
        route("get", "/api/v2/instance", |r| r.to(instance::v2)).mastodon("The instance"),
        route("get", accounts::DEFAULT_AVATAR, |r| {
            r.to(accounts::default_image)
        })
        .mastodon("The default avatar image"),
        route("get", accounts::DEFAULT_HEADER, |r| {
            r.to(accounts::default_image)
        })
        .mastodon("The default header image"),
        route("post", "/api/v2/media", |r| r.to(media::upload))
            .limited(Bucket::Uploads, By::User)
            .mastodon("Upload an image or a video"),
        route("post", "/api/v1/media", |r| r.to(media::upload_v1))
            .limited(Bucket::Uploads, By::User)
            .mastodon("Upload an image or a video (the older path)"),
        route("get", "/api/v1/media/{id}", |r| r.to(media::get))
            .mastodon("One's upload, once processed"),
        route("put", "/api/v1/media/{id}", |r| r.to(media::update))
            .mastodon("Change an upload's description"),
        route("get", "/api/v1/notifications", |r| {
            r.to(notifications::list)
        })
        .mastodon("Notifications"),
        route("get", "/api/v1/notifications/unread_count", |r| {
            r.to(notifications::unread_count)
        })
        .mastodon("How many notifications are unread"),
        route("post", "/api/v1/notifications/clear", |r| {
            r.to(notifications::clear)
        })
        .mastodon("Dismiss every notification"),
        route("get", "/api/v1/notifications/{id}", |r| {
            r.to(notifications::get)
        })
        .mastodon("A notification"),
        route("post", "/api/v1/notifications/{id}/dismiss", |r| {
            r.to(notifications::dismiss)
        })
        .mastodon("Dismiss a notification"),
        route("get", "/api/v1/streaming/health", |r| {
            r.to(streaming::health)
        })
        .mastodon("Whether streaming works"),
        route("get", "/api/v1/streaming", |r| r.to(streaming::socket))
            .mastodon("The streaming WebSocket"),
        route("get", "/api/v1/markers", |r| r.to(misc::get_markers))
            .mastodon("Where reading stopped"),
        route("post", "/api/v1/markers", |r| r.to(misc::set_markers))
            .mastodon("Keep where reading stopped"),
        route("get", "/api/v2/search", |r| r.to(misc::search))
            .mastodon("Search accounts, statuses and hashtags"),
        route("get", "/api/v1/preferences", |r| r.to(misc::preferences))
            .mastodon("Posting and reading preferences"),
        route("get", "/api/v2/suggestions", |r| r.to(misc::suggestions))
            .mastodon("Accounts to follow, and why"),
        route("get", "/api/v1/suggestions", |r| r.to(misc::suggestions_v1))
            .mastodon("Accounts to follow (the older path)"),
        route("get", "/api/v1/trends/tags", |r| r.to(misc::trending_tags))
            .mastodon("Trending hashtags"),
        route("get", "/api/v1/trends", |r| r.to(misc::trending_tags))
            .mastodon("Trending hashtags (the old path)"),
        route("get", "/api/v1/lists", |r| r.to(misc::empty_list))
            .mastodon("Lists (none: Rookery has no lists)"),
        route("get", "/api/v1/filters", |r| r.to(misc::empty_list)).mastodon("Filters (none)"),
        route("get", "/api/v2/filters", |r| r.to(misc::empty_list)).mastodon("Filters (none)"),
        route("get", "/api/v1/custom_emojis", |r| r.to(misc::empty_list))
            .mastodon("Custom emojis (none)"),
        route("get", "/api/v1/announcements", |r| r.to(misc::empty_list))
            .mastodon("Announcements (none)"),
        route("get", "/api/v1/follow_requests", |r| r.to(misc::empty_list))
            .mastodon("Follow requests (none: accounts are never locked)"),
        route("get", "/api/v1/mutes", |r| r.to(misc::empty_list))
            .mastodon("Muted accounts (none: Rookery has blocks)"),
        route("get", "/api/v1/domain_blocks", |r| r.to(misc::empty_list))
            .mastodon("Blocked domains (none: Rookery does not federate)"),
        route("get", "/api/v1/bookmarks", |r| r.to(misc::empty_list)).mastodon("Bookmarks (none)"),
        route("get", "/api/v1/conversations", |r| r.to(misc::empty_list))
            .mastodon("Direct conversations (none)"),
        route("get", "/api/v1/featured_tags", |r| r.to(misc::empty_list))
            .mastodon("Featured tags (none)"),
        route("get", "/api/v1/followed_tags", |r| r.to(misc::empty_list))
            .mastodon("Followed tags (none)"),
        route("get", "/api/v1/instance/rules", |r| r.to(misc::empty_list))
            .mastodon("Server rules (none)"),
        route("get", "/api/v1/accounts/verify_credentials", |r| {
            r.to(profile::verify_credentials)
        })
        .mastodon("One's own account"),
        route("patch", "/api/v1/accounts/update_credentials", |r| {
            r.to(profile::update_credentials)
        })
        .limited(Bucket::Uploads, By::User)
        .mastodon("Change one's display name, note, avatar or header"),
        route("get", "/api/v1/accounts/relationships", |r| {
            r.to(accounts::relationships)
        })
        .mastodon("Relationships to accounts"),
        route("get", "/api/v1/accounts/familiar_followers", |r| {
            r.to(accounts::familiar_followers)
        })
        .mastodon("Followed accounts that follow these (none: not worked out)"),
        route("get", "/api/v1/accounts/{id}/featured_tags", |r| {
            r.to(accounts::featured_tags)
        })
        .mastodon("An account's featured tags (none)"),
        route("get", "/api/v1/accounts/search", |r| r.to(accounts::search))
            .mastodon("Search accounts"),
        route("get", "/api/v1/accounts/lookup", |r| r.to(accounts::lookup))
            .mastodon("An account by username"),
        route("post", "/api/v1/statuses", |r| {
            r.to(statuses::create_status)
        })
        .limited(Bucket::Posts, By::User)
        .idempotent()
        .mastodon("Post a status (or a reply: a comment)"),
        route("get", "/api/v1/statuses/{id}", |r| {
            r.to(statuses::get_status)
        })
        .mastodon("A status"),
        route("delete", "/api/v1/statuses/{id}", |r| {
            r.to(statuses::delete_status)
        })
        .mastodon("Delete a status"),
        route("put", "/api/v1/statuses/{id}", |r| r.to(edits::edit_status))
            .mastodon("Edit a status"),
        route("get", "/api/v1/statuses/{id}/history", |r| {
            r.to(edits::history)
        })
        .mastodon("A status's versions, oldest first"),
        route("get", "/api/v1/statuses/{id}/source", |r| {
            r.to(edits::source)
        })
        .mastodon("A status's plain text, to edit"),
        route("get", "/api/v1/statuses/{id}/context", |r| {
            r.to(statuses::context)
        })
        .mastodon("A status's replies, or a reply's post"),
        route("get", "/api/v1/statuses/{id}/favourited_by", |r| {
            r.to(statuses::favourited_by)
        })
        .mastodon("Who favourited a status"),
        route("post", "/api/v1/statuses/{id}/favourite", |r| {
            r.to(statuses::favourite)
        })
        .limited(Bucket::Likes, By::User)
        .mastodon("Favourite (like) a status"),
        route("post", "/api/v1/statuses/{id}/unfavourite", |r| {
            r.to(statuses::unfavourite)
        })
        .limited(Bucket::Likes, By::User)
        .mastodon("Take a favourite back"),
        route("get", "/api/v1/scheduled_statuses", |r| {
            r.to(scheduled::list)
        })
        .mastodon("One's scheduled statuses, soonest first"),
        route("get", "/api/v1/scheduled_statuses/{id}", |r| {
            r.to(scheduled::get)
        })
        .mastodon("A scheduled status"),
        route("put", "/api/v1/scheduled_statuses/{id}", |r| {
            r.to(scheduled::update)
        })
        .mastodon("Move a scheduled status to another time"),
        route("delete", "/api/v1/scheduled_statuses/{id}", |r| {
            r.to(scheduled::cancel)
        })
        .mastodon("Cancel a scheduled status"),
        route("post", "/api/v1/reports", |r| r.to(reports::create))
            .mastodon("Report an account's statuses"),
        route("get", "/api/v1/timelines/home", |r| r.to(timelines::home))
            .mastodon("The home timeline"),
        route("get", "/api/v1/timelines/public", |r| {
            r.to(timelines::public)
        })
        .mastodon("The public timeline"),
        route("get", "/api/v1/timelines/tag/{hashtag}", |r| {
            r.to(timelines::tag)
        })
        .mastodon("A hashtag's timeline"),
        route("get", "/api/v1/accounts/{id}/statuses", |r| {
            r.to(accounts::statuses)
        })
        .mastodon("An account's statuses"),
        route("get", "/api/v1/accounts/{id}/followers", |r| {
            r.to(accounts::followers)
        })
        .mastodon("An account's followers"),
        route("get", "/api/v1/accounts/{id}/following", |r| {
            r.to(accounts::following)
        })
        .mastodon("The accounts an account follows"),
        route("post", "/api/v1/accounts/{id}/follow", |r| {
            r.to(accounts::follow)
        })
        .limited(Bucket::Follows, By::User)
        .mastodon("Follow an account"),
        route("post", "/api/v1/accounts/{id}/unfollow", |r| {
            r.to(accounts::unfollow)
        })
        .limited(Bucket::Follows, By::User)
        .mastodon("Unfollow an account"),
        route("post", "/api/v1/accounts/{id}/block", |r| {
            r.to(accounts::block)
        })
        .mastodon("Block an account"),
        route("post", "/api/v1/accounts/{id}/unblock", |r| {
            r.to(accounts::unblock)
        })
        .mastodon("Unblock an account"),
        route("get", "/api/v1/accounts/{id}", |r| {
            r.to(accounts::get_account)
        })
        .mastodon("An account"),
    ]
}

/// The RealWorld API (`api::realworld`), with the limits of the native routes it shares
/// its paths with.
fn realworld_routes() -> Vec<Route> {
    use crate::api::realworld::{articles, comments, profiles, users};
    vec![
        op::<users::__path_register>(|r| r.to(users::register))
            .limited(Bucket::Register, By::Address),
        op::<users::__path_login>(|r| r.to(users::login)).limited(Bucket::Login, By::Address),
        op::<users::__path_current_user>(|r| r.to(users::current_user)),
        op::<users::__path_update_user>(|r| r.to(users::update_user)),
        op::<profiles::__path_get_profile>(|r| r.to(profiles::get_profile)),
        op::<profiles::__path_follow>(|r| r.to(profiles::follow))
            .limited(Bucket::Follows, By::User),
        op::<profiles::__path_unfollow>(|r| r.to(profiles::unfollow))
            .limited(Bucket::Follows, By::User),
        op::<articles::__path_feed>(|r| r.to(articles::feed)),
        op::<articles::__path_list_articles>(|r| r.to(articles::list_articles)),
        op::<articles::__path_create>(|r| r.to(articles::create))
            .limited(Bucket::Posts, By::User)
            .idempotent(),
        op::<articles::__path_get_article>(|r| r.to(articles::get_article)),
        op::<articles::__path_update>(|r| r.to(articles::update)),
        op::<articles::__path_delete>(|r| r.to(articles::delete)),
        op::<articles::__path_favorite>(|r| r.to(articles::favorite))
            .limited(Bucket::Likes, By::User),
        op::<articles::__path_unfavorite>(|r| r.to(articles::unfavorite))
            .limited(Bucket::Likes, By::User),
        op::<comments::__path_list>(|r| r.to(comments::list)),
        op::<comments::__path_create>(|r| r.to(comments::create))
            .limited(Bucket::Comments, By::User)
            .idempotent(),
        op::<comments::__path_delete>(|r| r.to(comments::delete)),
        op::<articles::__path_tags>(|r| r.to(articles::tags)),
    ]
}
