//! Who calls the Mastodon API: a user through an OAuth access token (scopes enforced), an
//! app through its own token (public reads only), or nobody. A native JWT is accepted as
//! a user with every scope, so the native and the Mastodon API can be used side by side.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;

use crate::api::auth_user::{app_state, bearer_token, verify_jwt, AuthUser};
use crate::api::state::AppState;
use crate::api::viewer::Viewer;
use crate::auth::oauth::{self, Kind};
use crate::error::ApiError;
use crate::store::oauth::{self as store, AppDoc};
use crate::store::sessions::{Also, Proof, Relations};

/// The scopes a native JWT stands for.
const ALL: &[&str] = &["read", "write", "follow", "push", "profile"];

/// A caller of the Mastodon API.
pub enum Caller {
    Anonymous,
    App(AppDoc),
    User(User),
}

/// A signed-in user: their viewer (blocks, private groups), scopes and what `Also` brought.
pub struct User {
    pub viewer: Viewer,
    pub me: AuthUser,
    pub scopes: Vec<String>,
    pub relations: Relations,
}

impl User {
    /// `403` unless the token was granted `scope` (or what covers it).
    pub fn need(&self, scope: &str) -> Result<(), ApiError> {
        if oauth::allows(&self.scopes, scope) {
            Ok(())
        } else {
            Err(outside_scopes())
        }
    }
}

pub fn outside_scopes() -> ApiError {
    ApiError::Forbidden {
        code: "outside_scopes",
        detail: "This action is outside the authorized scopes",
    }
}

/// The caller a token names (`401` for a token that names nothing live), with `also`.
pub async fn caller_of(state: &AppState, token: &str, also: Also) -> Result<Caller, ApiError> {
    let Some(parsed) = oauth::parse(token) else {
        let me = verify_jwt(state, token)?;
        let (viewer, relations) = Viewer::of_session(state, me, Proof::Jwt, also).await?;
        return Ok(Caller::User(User {
            viewer,
            me,
            scopes: ALL.iter().map(|s| (*s).to_owned()).collect(),
            relations,
        }));
    };
    match parsed.kind {
        Kind::Access => {
            let me = AuthUser {
                session_id: parsed.first,
                user_id: parsed.second,
            };
            let (viewer, mut relations) =
                Viewer::of_session(state, me, Proof::OAuth(&parsed.hash), also).await?;
            let scopes = relations.scopes.take().ok_or(ApiError::TokenInvalid)?;
            Ok(Caller::User(User {
                viewer,
                me,
                scopes,
                relations,
            }))
        }
        Kind::App => store::app_with_token(&state.db, parsed.first, &parsed.hash)
            .await?
            .map(Caller::App)
            .ok_or(ApiError::TokenInvalid),
        Kind::Refresh => Err(ApiError::TokenInvalid),
    }
}

/// The token of a request: `Authorization: Bearer …`, or (for clients that cannot set
/// headers, and the streaming socket) `access_token` in the query string.
pub fn token_of(req: &HttpRequest) -> Option<Result<String, ApiError>> {
    bearer_token(req).or_else(|| {
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| Ok(v.into_owned()))
    })
}

pub(super) fn caller_future(
    req: &HttpRequest,
    also: Also,
) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
    let token = token_of(req);
    let state = app_state(req);
    Box::pin(async move {
        match token {
            None => Ok(Caller::Anonymous),
            Some(token) => caller_of(&*state?, &token?, also).await,
        }
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        caller_future(req, Also::default())
    }
}

impl Caller {
    /// The viewer for a public read: a user's, or nobody's for an app or no token.
    pub fn viewer(&self) -> Viewer {
        match self {
            Caller::User(user) => user.viewer.clone(),
            _ => Viewer::default(),
        }
    }

    /// The viewer for a public read that a user's token needs `scope` for (`403` without
    /// it); an app or no token reads as nobody.
    pub fn reader(&self, scope: &str) -> Result<Viewer, ApiError> {
        if let Caller::User(user) = self {
            user.need(scope)?;
        }
        Ok(self.viewer())
    }
}

impl FromRequest for User {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    /// `401` without a token; `422` for an app's own token, as Mastodon answers.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller_future(req, Also::default());
        Box::pin(async move { user_of(caller.await?) })
    }
}

pub fn user_of(caller: Caller) -> Result<User, ApiError> {
    match caller {
        Caller::User(user) => Ok(user),
        Caller::Anonymous => Err(ApiError::NotAuthenticated),
        Caller::App(_) => Err(ApiError::BadRequest(
            "This method requires an authenticated user".into(),
        )),
    }
}

/// A signed-in user with their own account, in the one command of the session check.
pub struct UserWithAccount {
    pub user: User,
    pub account: crate::store::users::UserDoc,
}

impl FromRequest for UserWithAccount {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller_future(
            req,
            Also {
                post: None,
                me: true,
            },
        );
        Box::pin(async move {
            let mut user = user_of(caller.await?)?;
            let account = user.relations.me.pop().ok_or(ApiError::TokenInvalid)?;
            Ok(UserWithAccount { user, account })
        })
    }
}

/// A signed-in user and their scopes, from the session alone (one `_id` lookup, without
/// the relations `User` joins): for reads that apply no block or group rule of their own,
/// as the home timeline (its entries were filtered when they were written).
pub struct Session {
    pub me: AuthUser,
    pub scopes: Vec<String>,
}

impl Session {
    pub fn need(&self, scope: &str) -> Result<(), ApiError> {
        if oauth::allows(&self.scopes, scope) {
            Ok(())
        } else {
            Err(outside_scopes())
        }
    }
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = token_of(req);
        let state = app_state(req);
        Box::pin(async move {
            let token = token.ok_or(ApiError::NotAuthenticated)??;
            let state = state?;
            match oauth::parse(&token) {
                Some(t) if t.kind == Kind::Access => {
                    let session =
                        crate::store::sessions::find_oauth(&state.db, t.first, t.second, &t.hash)
                            .await?
                            .ok_or(ApiError::TokenInvalid)?;
                    Ok(Session {
                        me: AuthUser {
                            session_id: session.id,
                            user_id: session.user_id,
                        },
                        scopes: session
                            .oauth
                            .map(|o| o.scopes)
                            .ok_or(ApiError::TokenInvalid)?,
                    })
                }
                Some(t) if t.kind == Kind::App => Err(ApiError::BadRequest(
                    "This method requires an authenticated user".into(),
                )),
                Some(_) => Err(ApiError::TokenInvalid),
                None => Ok(Session {
                    me: crate::api::auth_user::authenticate(&state, &token).await?,
                    scopes: ALL.iter().map(|s| (*s).to_owned()).collect(),
                }),
            }
        })
    }
}
