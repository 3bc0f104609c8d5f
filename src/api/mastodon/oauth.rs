//! OAuth 2 as Mastodon apps use it: register an app (`POST /api/v1/apps`), send the user
//! to the authorization page (`/oauth/authorize`: sign in, then approve), exchange the
//! code for a token (`POST /oauth/token`, with PKCE `S256`), revoke it (`/oauth/revoke`).
//!
//! A user's token is a Rookery session (`store::sessions`, `oauth`): the session list
//! names the app, and revoking the session, logging out everywhere or resetting the
//! password ends the token. Codes, tokens and client secrets are stored hashed.
//!
//! The authorization page keeps no browser session: it signs the user in on every visit
//! (so it always knows who approves), and its approval form carries a one-time ticket
//! bound to that sign-in. Its sign-in form is protected by a double-submit cookie, and no
//! page can be framed.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use bson::oid::ObjectId;
use bson::DateTime;
use serde::Deserialize;
use serde_json::json;

use super::accounts::escape as esc;
use super::auth::{Caller, User};
use super::params::{self, Params};
use crate::api::auth::sessions::client_info;
use crate::api::state::AppState;
use crate::auth::oauth::{self, Kind};
use crate::auth::sessions::{expires_in, hash_secret};
use crate::core::accounts::account_for_login;
use crate::error::{ApiError, FieldErrors};
use crate::store::oauth::{self as store, AppDoc, GrantDoc};
use crate::store::sessions::{self, OAuthSession, SessionDoc};

type State = web::Data<AppState>;

/// The redirect URI that shows the code instead of redirecting.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

/// How long an approval page and a code stay good.
const GRANT_TTL_SECS: i64 = 600;

const CSRF_COOKIE: &str = "rookery_oauth_csrf";

#[derive(Deserialize)]
struct NewApp {
    #[serde(default, deserialize_with = "params::text")]
    client_name: Option<String>,
    #[serde(default, deserialize_with = "params::list")]
    redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "params::text")]
    scopes: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    website: Option<String>,
}

/// Whether `uri` may be registered: the out-of-band URN, or an absolute URI without a
/// fragment (a custom scheme for a mobile app is fine).
fn valid_redirect(uri: &str) -> bool {
    uri == OOB
        || (uri.len() <= 2000
            && url::Url::parse(uri).is_ok_and(|u| {
                u.fragment().is_none()
                    && !["javascript", "data", "vbscript", "file", "blob"].contains(&u.scheme())
            }))
}

fn app_json(app: &AppDoc) -> serde_json::Value {
    json!({
        "id": app.id.to_hex(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes,
        "redirect_uri": app.redirect_uris.join("\n"),
        "redirect_uris": app.redirect_uris,
        "vapid_key": "",
    })
}

/// `POST /api/v1/apps`: registers an app; its `client_secret` is shown this once.
pub async fn create_app(state: State, form: Params) -> Result<HttpResponse, ApiError> {
    let new: NewApp = form.take()?;
    let mut errors = FieldErrors::new();
    let name = new
        .client_name
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    if name.is_empty() {
        errors.add("client_name", "can't be blank");
    } else if name.chars().count() > 100 {
        errors.add("client_name", "is too long (at most 100 characters)");
    }
    let uris: Vec<String> = new
        .redirect_uris
        .iter()
        .flat_map(|u| u.split('\n'))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if uris.is_empty() {
        errors.add("redirect_uris", "can't be blank");
    } else if uris.len() > 10 || uris.iter().any(|u| !valid_redirect(u)) {
        errors.add("redirect_uris", "must be absolute URIs (at most 10)");
    }
    let scopes = errors.check("scopes", oauth::parse_scopes(new.scopes.as_deref()));
    let website = new.website.filter(|w| !w.trim().is_empty());
    if website.as_ref().is_some_and(|w| w.len() > 2000) {
        errors.add("website", "is too long");
    }
    errors.into_result()?;
    let secret = oauth::new_secret();
    let app = AppDoc {
        id: ObjectId::new(),
        client_id: oauth::new_secret(),
        secret_hash: hash_secret(&secret),
        name,
        website,
        redirect_uris: uris,
        scopes: scopes.unwrap_or_default(),
        created_at: DateTime::now(),
        app_tokens: Vec::new(),
    };
    store::insert_app(&state.db, &app).await?;
    let mut body = app_json(&app);
    body["client_id"] = json!(app.client_id);
    body["client_secret"] = json!(secret);
    body["client_secret_expires_at"] = json!(0);
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/apps/verify_credentials`: the app a token belongs to.
pub async fn verify_app(state: State, caller: Caller) -> Result<HttpResponse, ApiError> {
    let app = match caller {
        Caller::App(app) => app,
        Caller::User(user) => app_of_user(&state, &user).await?,
        Caller::Anonymous => return Err(ApiError::NotAuthenticated),
    };
    Ok(HttpResponse::Ok().json(app_json(&app)))
}

async fn app_of_user(state: &AppState, user: &User) -> Result<AppDoc, ApiError> {
    let session = sessions::collection(&state.db)
        .find_one(bson::doc! { "_id": user.me.session_id })
        .await?;
    let app_id = session
        .and_then(|s| s.oauth)
        .map(|o| o.app_id)
        .ok_or(ApiError::TokenInvalid)?;
    store::apps(&state.db)
        .find_one(bson::doc! { "_id": app_id })
        .await?
        .ok_or(ApiError::TokenInvalid)
}

/// What the authorization page is asked for, as the app's link (and the page's hidden
/// fields) carry it.
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeQuery {
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
}

/// A checked request: the app, where to send the answer, what it may have.
struct Checked {
    app: AppDoc,
    redirect_uri: String,
    scopes: Vec<String>,
    challenge: Option<String>,
}

/// Why a request cannot go on: shown on the page when the redirect URI is not the app's
/// (never redirected there), sent back to the app otherwise.
enum Refusal {
    Page(&'static str),
    Redirect(String, &'static str),
}

async fn check(state: &AppState, q: &AuthorizeQuery) -> Result<Checked, Refusal> {
    let client_id = q.client_id.as_deref().unwrap_or_default();
    let app = store::app_by_client_id(&state.db, client_id)
        .await
        .ok()
        .flatten()
        .ok_or(Refusal::Page(
            "This app is not known here (its client_id is unknown).",
        ))?;
    let redirect_uri = match q.redirect_uri.as_deref() {
        Some(uri) if app.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        None if app.redirect_uris.len() == 1 => app.redirect_uris[0].clone(),
        _ => {
            return Err(Refusal::Page(
                "The redirect URI is not one this app registered.",
            ))
        }
    };
    let refuse = |error| Refusal::Redirect(redirect_uri.clone(), error);
    if q.response_type.as_deref() != Some("code") {
        return Err(refuse("unsupported_response_type"));
    }
    let scopes = match oauth::parse_scopes(q.scope.as_deref()) {
        Ok(scopes) if oauth::within(&scopes, &app.scopes) => scopes,
        _ => return Err(refuse("invalid_scope")),
    };
    let challenge = q.code_challenge.clone().filter(|c| !c.is_empty());
    if challenge.is_some() && q.code_challenge_method.as_deref().unwrap_or("S256") != "S256" {
        return Err(refuse("invalid_request"));
    }
    Ok(Checked {
        app,
        redirect_uri,
        scopes,
        challenge,
    })
}

/// `redirect_uri` with `pairs` added to its query.
fn redirect_to(uri: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    let mut url = match url::Url::parse(uri) {
        Ok(url) => url,
        Err(_) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Cannot redirect",
                &error_body("The redirect URI is not valid."),
            )
        }
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn refusal(refusal: Refusal, state_param: Option<&str>) -> HttpResponse {
    match refusal {
        Refusal::Page(why) => page(
            StatusCode::BAD_REQUEST,
            "This sign-in link does not work",
            &error_body(why),
        ),
        Refusal::Redirect(uri, error) if uri == OOB => page(
            StatusCode::BAD_REQUEST,
            "This sign-in link does not work",
            &error_body(error),
        ),
        Refusal::Redirect(uri, error) => {
            let mut pairs = vec![("error", error)];
            if let Some(s) = state_param {
                pairs.push(("state", s));
            }
            redirect_to(&uri, &pairs)
        }
    }
}

/// `GET /oauth/authorize`: the sign-in form, for a request that names a known app and one
/// of its redirect URIs.
pub async fn authorize_page(state: State, req: HttpRequest) -> HttpResponse {
    let query: AuthorizeQuery = match Params::of_query(&req).take() {
        Ok(q) => q,
        Err(_) => return refusal(Refusal::Page("The sign-in link is malformed."), None),
    };
    match check(&state, &query).await {
        Ok(checked) => sign_in_page(&req, &query, &checked, None, StatusCode::OK),
        Err(r) => refusal(r, query.state.as_deref()),
    }
}

#[derive(Deserialize)]
struct AuthorizeForm {
    #[serde(flatten)]
    query: AuthorizeQuery,
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    ticket: Option<String>,
}

/// `POST /oauth/authorize`: the sign-in form's answer (then the approval page), or the
/// approval page's (then back to the app with a code, or the code shown).
pub async fn authorize_submit(state: State, req: HttpRequest, form: Params) -> HttpResponse {
    let form: AuthorizeForm = match form.take() {
        Ok(f) => f,
        Err(_) => return refusal(Refusal::Page("The form is malformed."), None),
    };
    let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned());
    let csrf_ok = matches!((&cookie, &form.csrf), (Some(c), Some(f)) if !c.is_empty() && c == f);
    if !csrf_ok {
        return page(
            StatusCode::FORBIDDEN,
            "Please try again",
            &error_body("This form expired or was not sent from this page. Go back to the app and sign in again."),
        );
    }
    let checked = match check(&state, &form.query).await {
        Ok(c) => c,
        Err(r) => return refusal(r, form.query.state.as_deref()),
    };
    match form.step.as_deref() {
        Some("approve") | Some("deny") => decide(&state, &form, &checked).await,
        _ => sign_in(&state, &req, &form, &checked).await,
    }
}

async fn sign_in(
    state: &AppState,
    req: &HttpRequest,
    form: &AuthorizeForm,
    checked: &Checked,
) -> HttpResponse {
    let email = form.email.as_deref().unwrap_or_default().trim();
    let password = form.password.as_deref().unwrap_or_default();
    if email.is_empty() || password.is_empty() {
        return sign_in_page(
            req,
            &form.query,
            checked,
            Some("Enter your email address and password."),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let account = match account_for_login(state, email, password).await {
        Ok(account) => account,
        Err(err) => {
            let (status, message) = match &err {
                ApiError::InvalidCredentials => {
                    (StatusCode::UNAUTHORIZED, "Wrong email address or password.")
                }
                ApiError::Forbidden {
                    code: "email_not_verified",
                    ..
                } => (
                    StatusCode::FORBIDDEN,
                    "Confirm your email address first: open the link in the email we sent you.",
                ),
                ApiError::Forbidden { .. } => {
                    (StatusCode::FORBIDDEN, "This account cannot sign in.")
                }
                ApiError::RateLimited { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts. Wait a while and try again.",
                ),
                _ => {
                    log::warn!("authorization page sign-in failed: {err}");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Signing in failed. Try again in a moment.",
                    )
                }
            };
            return sign_in_page(req, &form.query, checked, Some(message), status);
        }
    };
    let ticket = oauth::new_secret();
    let now = DateTime::now();
    let grant = GrantDoc {
        id: ObjectId::new(),
        app_id: checked.app.id,
        user_id: account.id,
        redirect_uri: checked.redirect_uri.clone(),
        scopes: checked.scopes.clone(),
        code_challenge: checked.challenge.clone(),
        ticket_hash: Some(hash_secret(&ticket)),
        code_hash: None,
        created_at: now,
        expires_at: expires_in(GRANT_TTL_SECS),
    };
    if let Err(err) = store::insert_grant(&state.db, &grant).await {
        log::warn!("authorization grant not written: {err}");
        return sign_in_page(
            req,
            &form.query,
            checked,
            Some("Signing in failed. Try again in a moment."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    }
    approve_page(req, &form.query, checked, &account.username, &ticket)
}

async fn decide(state: &AppState, form: &AuthorizeForm, checked: &Checked) -> HttpResponse {
    let ticket_hash = hash_secret(form.ticket.as_deref().unwrap_or_default());
    let state_param = form.query.state.as_deref();
    let expired = || {
        page(
            StatusCode::BAD_REQUEST,
            "This page expired",
            &error_body("Go back to the app and sign in again."),
        )
    };
    if form.step.as_deref() == Some("deny") {
        return match store::deny(&state.db, &ticket_hash).await {
            Ok(Some(_)) if checked.redirect_uri == OOB => page(
                StatusCode::OK,
                "Not authorized",
                &error_body("You did not authorize the app. You can close this page."),
            ),
            Ok(Some(_)) => refusal(
                Refusal::Redirect(checked.redirect_uri.clone(), "access_denied"),
                state_param,
            ),
            _ => expired(),
        };
    }
    let code = oauth::new_secret();
    let grant = match store::approve(
        &state.db,
        &ticket_hash,
        &hash_secret(&code),
        expires_in(GRANT_TTL_SECS),
    )
    .await
    {
        Ok(Some(grant)) => grant,
        _ => return expired(),
    };
    // The ticket was made for this app and redirect URI; a form edited to name others
    // gets nothing.
    if grant.app_id != checked.app.id || grant.redirect_uri != checked.redirect_uri {
        return expired();
    }
    if grant.redirect_uri == OOB {
        let body = format!(
            "<p>Copy this code and paste it into {}:</p><p><code id=\"code\">{}</code></p>",
            esc(&checked.app.name),
            esc(&code)
        );
        return page(StatusCode::OK, "Authorization code", &body);
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = state_param {
        pairs.push(("state", s));
    }
    redirect_to(&grant.redirect_uri, &pairs)
}

fn error_body(text: &str) -> String {
    format!("<p class=\"error\">{}</p>", esc(text))
}

/// The request's parameters again, as hidden fields.
fn hidden_fields(q: &AuthorizeQuery, checked: &Checked, csrf: &str) -> String {
    let mut html = String::new();
    let mut field = |name: &str, value: &str| {
        html.push_str(&format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            esc(value)
        ));
    };
    field("response_type", "code");
    field("client_id", &checked.app.client_id);
    field("redirect_uri", &checked.redirect_uri);
    field("scope", &checked.scopes.join(" "));
    if let Some(s) = &q.state {
        field("state", s);
    }
    if let Some(c) = &checked.challenge {
        field("code_challenge", c);
        field("code_challenge_method", "S256");
    }
    field("csrf", csrf);
    html
}

/// The CSRF value of this browser: its cookie's, or a new one (set with the page).
fn csrf_of(req: &HttpRequest) -> (String, bool) {
    match req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()) {
        Some(v) if v.len() >= 32 => (v, false),
        _ => (oauth::new_secret(), true),
    }
}

fn with_cookie(
    req: &HttpRequest,
    mut response: HttpResponse,
    csrf: &str,
    fresh: bool,
) -> HttpResponse {
    if fresh {
        let secure = req.connection_info().scheme() == "https";
        let cookie = Cookie::build(CSRF_COOKIE, csrf.to_owned())
            .path("/oauth")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish();
        if let Err(err) = response.add_cookie(&cookie) {
            log::warn!("CSRF cookie not set: {err}");
        }
    }
    response
}

fn scopes_list(scopes: &[String]) -> String {
    scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", esc(s)))
        .collect()
}

fn sign_in_page(
    req: &HttpRequest,
    q: &AuthorizeQuery,
    checked: &Checked,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let (csrf, fresh) = csrf_of(req);
    let body = format!(
        "<p><strong>{app}</strong> asks to use your Rookery account. Sign in to continue.</p>\
         {error}\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
         <input type=\"hidden\" name=\"step\" value=\"sign_in\">\
         <label>Email or username<input name=\"email\" type=\"text\" autocomplete=\"username\" required autofocus></label>\
         <label>Password<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Sign in</button></form>",
        app = esc(&checked.app.name),
        error = error.map(error_body).unwrap_or_default(),
        hidden = hidden_fields(q, checked, &csrf),
    );
    with_cookie(req, page(status, "Sign in", &body), &csrf, fresh)
}

fn approve_page(
    req: &HttpRequest,
    q: &AuthorizeQuery,
    checked: &Checked,
    username: &str,
    ticket: &str,
) -> HttpResponse {
    let (csrf, fresh) = csrf_of(req);
    let website = checked
        .app
        .website
        .as_deref()
        .map(|w| format!(" ({})", esc(w)))
        .unwrap_or_default();
    let body = format!(
        "<p>Signed in as <strong>@{user}</strong>.</p>\
         <p><strong>{app}</strong>{website} asks for:</p><ul>{scopes}</ul>\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
         <input type=\"hidden\" name=\"ticket\" value=\"{ticket}\">\
         <button type=\"submit\" name=\"step\" value=\"approve\">Authorize</button> \
         <button type=\"submit\" name=\"step\" value=\"deny\" class=\"secondary\">Deny</button></form>",
        user = esc(username),
        app = esc(&checked.app.name),
        scopes = scopes_list(&checked.scopes),
        hidden = hidden_fields(q, checked, &csrf),
        ticket = esc(ticket),
    );
    with_cookie(
        req,
        page(StatusCode::OK, "Authorize app", &body),
        &csrf,
        fresh,
    )
}

/// A page of the authorization flow: no script, no framing, nothing cached. There is no
/// `form-action` limit: the approval form's answer redirects to the app.
fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title} · Rookery</title><style>body{{font-family:system-ui,sans-serif;\
         max-width:26rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}}\
         label{{display:block;margin:.8rem 0}}input{{display:block;width:100%;padding:.4rem;\
         box-sizing:border-box}}button{{padding:.5rem 1rem;margin-top:.5rem}}\
         .error{{color:#a00}}code{{word-break:break-all}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n",
        title = esc(title),
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             frame-ancestors 'none'",
        ))
        .body(html)
}

#[derive(Deserialize)]
struct TokenRequest {
    #[serde(default, deserialize_with = "params::text")]
    grant_type: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    code: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    code_verifier: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    username: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    password: Option<String>,
    #[serde(default, deserialize_with = "params::text")]
    token: Option<String>,
}

/// An RFC 6749 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": error, "error_description": description }))
}

fn invalid_client() -> HttpResponse {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
    )
}

fn invalid_grant() -> HttpResponse {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
    )
}

/// The app that authenticates the request: `client_id` and `client_secret` in the body,
/// or HTTP Basic.
async fn client_of(
    state: &AppState,
    req: &HttpRequest,
    body: &TokenRequest,
) -> Result<Option<AppDoc>, ApiError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    let (id, secret) = match (basic, &body.client_id, &body.client_secret) {
        (Some(pair), _, _) => pair,
        (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
        _ => return Ok(None),
    };
    Ok(store::app_by_client_id(&state.db, &id)
        .await?
        .filter(|app| app.secret_hash == hash_secret(&secret)))
}

fn token_json(access: &str, refresh: Option<&str>, scopes: &[String]) -> HttpResponse {
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
        "created_at": DateTime::now().timestamp_millis() / 1000,
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// `POST /oauth/token`: `authorization_code` (with PKCE when the page was asked with a
/// challenge), `refresh_token`, `client_credentials`, and `password` when configured.
pub async fn token(state: State, req: HttpRequest, form: Params) -> Result<HttpResponse, ApiError> {
    let body: TokenRequest = match form.take() {
        Ok(b) => b,
        Err(_) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request is malformed.",
            ))
        }
    };
    let Some(app) = client_of(&state, &req, &body).await? else {
        return Ok(invalid_client());
    };
    match body.grant_type.as_deref() {
        Some("authorization_code") => {
            let Some(grant) = store::take_code(
                &state.db,
                &hash_secret(body.code.as_deref().unwrap_or_default()),
            )
            .await?
            else {
                return Ok(invalid_grant());
            };
            let redirect_ok = body
                .redirect_uri
                .as_deref()
                .is_none_or(|r| r == grant.redirect_uri);
            let pkce_ok = match (&grant.code_challenge, &body.code_verifier) {
                (Some(challenge), Some(verifier)) => oauth::pkce_matches(verifier, challenge),
                (Some(_), None) => false,
                (None, _) => true,
            };
            if grant.app_id != app.id || !redirect_ok || !pkce_ok {
                return Ok(invalid_grant());
            }
            open_session(&state, &req, &app, grant.user_id, grant.scopes).await
        }
        Some("refresh_token") => {
            let parsed = body
                .refresh_token
                .as_deref()
                .and_then(oauth::parse)
                .filter(|t| t.kind == Kind::Refresh);
            let Some(parsed) = parsed else {
                return Ok(invalid_grant());
            };
            let (access, access_hash) = oauth::issue(Kind::Access, parsed.first, parsed.second);
            let (refresh, refresh_hash) = oauth::issue(Kind::Refresh, parsed.first, parsed.second);
            let rotated = sessions::rotate_oauth(
                &state.db,
                parsed.first,
                &parsed.hash,
                &access_hash,
                &refresh_hash,
            )
            .await?;
            match rotated.and_then(|s| s.oauth) {
                Some(o) if o.app_id == app.id => Ok(token_json(&access, Some(&refresh), &o.scopes)),
                _ => Ok(invalid_grant()),
            }
        }
        Some("client_credentials") => {
            let scopes = match oauth::parse_scopes(body.scope.as_deref()) {
                Ok(s) if oauth::within(&s, &app.scopes) => s,
                _ => {
                    return Ok(oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "The requested scope is invalid, unknown, or malformed.",
                    ))
                }
            };
            let (token, hash) = oauth::issue(Kind::App, app.id, app.id);
            store::add_app_token(&state.db, app.id, &hash).await?;
            Ok(token_json(&token, None, &scopes))
        }
        Some("password") if state.settings.auth.oauth_password_grant => {
            let scopes = match oauth::parse_scopes(body.scope.as_deref()) {
                Ok(s) if oauth::within(&s, &app.scopes) => s,
                _ => {
                    return Ok(oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "The requested scope is invalid, unknown, or malformed.",
                    ))
                }
            };
            let login = body.username.as_deref().unwrap_or_default().trim();
            let password = body.password.as_deref().unwrap_or_default();
            match account_for_login(&state, login, password).await {
                Ok(account) => open_session(&state, &req, &app, account.id, scopes).await,
                Err(ApiError::InvalidCredentials) | Err(ApiError::Forbidden { .. }) => {
                    Ok(invalid_grant())
                }
                Err(err) => Err(err),
            }
        }
        _ => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        )),
    }
}

/// A new session of `user_id` for `app`: its access and refresh tokens.
async fn open_session(
    state: &AppState,
    req: &HttpRequest,
    app: &AppDoc,
    user_id: ObjectId,
    scopes: Vec<String>,
) -> Result<HttpResponse, ApiError> {
    let session_id = ObjectId::new();
    let (access, token_hash) = oauth::issue(Kind::Access, session_id, user_id);
    let (refresh, refresh_hash) = oauth::issue(Kind::Refresh, session_id, user_id);
    let client = client_info(req);
    let now = DateTime::now();
    let session = SessionDoc {
        id: session_id,
        user_id,
        created_at: now,
        last_used_at: now,
        expires_at: expires_in(state.settings.auth.oauth_token_ttl_secs),
        user_agent: client.user_agent,
        ip: client.ip,
        oauth: Some(OAuthSession {
            app_id: app.id,
            app_name: app.name.clone(),
            scopes: scopes.clone(),
            token_hash,
            refresh_hash,
        }),
    };
    sessions::insert(&state.db, &session).await?;
    state
        .jobs
        .record(
            user_id,
            crate::store::events::Activity::on("auth.login", "user", user_id),
        )
        .await?;
    Ok(token_json(&access, Some(&refresh), &scopes))
}

/// `POST /oauth/revoke`: ends a token of the calling app; `200 {}` also for one that is
/// already gone, `403` for another app's.
pub async fn revoke(
    state: State,
    req: HttpRequest,
    form: Params,
) -> Result<HttpResponse, ApiError> {
    let body: TokenRequest = match form.take() {
        Ok(b) => b,
        Err(_) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request is malformed.",
            ))
        }
    };
    let Some(app) = client_of(&state, &req, &body).await? else {
        return Ok(invalid_client());
    };
    let not_yours = || {
        oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "You are not authorized to revoke this token",
        )
    };
    let Some(token) = body.token.as_deref().and_then(oauth::parse) else {
        return Ok(HttpResponse::Ok().json(json!({})));
    };
    match token.kind {
        Kind::App if token.first != app.id => return Ok(not_yours()),
        Kind::App => {
            store::remove_app_token(&state.db, app.id, &token.hash).await?;
        }
        Kind::Access | Kind::Refresh => {
            if !sessions::delete_oauth(&state.db, token.first, app.id, &token.hash).await? {
                let theirs = sessions::collection(&state.db)
                    .find_one(bson::doc! { "_id": token.first })
                    .await?
                    .and_then(|s| s.oauth)
                    .is_some_and(|o| {
                        o.app_id != app.id
                            && (o.token_hash == token.hash || o.refresh_hash == token.hash)
                    });
                if theirs {
                    return Ok(not_yours());
                }
            }
        }
    }
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn metadata(state: State) -> HttpResponse {
    let base = super::base_url(&state);
    HttpResponse::Ok().json(json!({
        "issuer": format!("{base}/"),
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "service_documentation": format!("{base}/docs"),
        "scopes_supported": oauth::SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": grant_types(&state),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

fn grant_types(state: &AppState) -> Vec<&'static str> {
    let mut types = vec!["authorization_code", "client_credentials", "refresh_token"];
    if state.settings.auth.oauth_password_grant {
        types.push("password");
    }
    types
}
