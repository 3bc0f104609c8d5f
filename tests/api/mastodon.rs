//! The Mastodon client API: OAuth (apps, the authorization page, tokens, scopes,
//! revocation), the instance, accounts; over HTTP as a Mastodon app calls it.

use base64::Engine;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, TestUser, PASSWORD};

const REDIRECT: &str = "https://app.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub(crate) async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body read");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// A registered app: `(client_id, client_secret)`.
async fn register_app(app: &TestApp, scopes: &str) -> (String, String) {
    let response = app
        .post(
            "/api/v1/apps",
            None,
            &json!({ "client_name": "Test App", "redirect_uris": [REDIRECT, "urn:ietf:wg:oauth:2.0:oob"], "scopes": scopes, "website": "https://app.example" }),
        )
        .await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["client_id"].as_str().expect("client_id").to_owned(),
        body["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_owned(),
    )
}

/// The value of the hidden input `name` in a page.
fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&amp;", "&")
            .replace("&quot;", "\""),
    )
}

fn form_of(html: &str, names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|n| field(html, n).map(|v| ((*n).to_owned(), v)))
        .collect()
}

const HIDDEN: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "csrf",
];

fn authorize_url(client_id: &str, redirect: &str, scope: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", scope)
        .append_pair("state", "xyz 1")
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("/oauth/authorize?{query}")
}

fn cookie_of(response: &Response) -> String {
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned()
}

async fn submit(app: &TestApp, cookie: &str, form: &[(String, String)]) -> Response {
    app.request(Method::POST, "/oauth/authorize")
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .expect("form sent")
}

/// Signs in on the authorization page and approves: the redirect's `code`.
async fn authorize(app: &TestApp, client_id: &str, login: &str, scope: &str) -> String {
    let page = app
        .get(&authorize_url(client_id, REDIRECT, scope), None)
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = cookie_of(&page);
    let html = page.text().await.expect("page");
    let mut form = form_of(&html, HIDDEN);
    form.push(("email".into(), login.into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("step".into(), "sign_in".into()));
    let approve = submit(app, &cookie, &form).await;
    assert_eq!(approve.status(), StatusCode::OK);
    let html = approve.text().await.expect("approval page");
    assert!(html.contains("Authorize"), "{html}");
    let mut form = form_of(&html, &[HIDDEN, &["ticket"]].concat());
    form.push(("step".into(), "approve".into()));
    let done = submit(app, &cookie, &form).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let location = done.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let url = url::Url::parse(&location).expect("absolute redirect");
    assert!(location.starts_with(REDIRECT), "{location}");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        pairs.contains(&("state".into(), "xyz 1".into())),
        "{location}"
    );
    pairs
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v)
        .expect("a code")
}

async fn exchange(
    app: &TestApp,
    client: &(String, String),
    code: &str,
    verifier: &str,
) -> Response {
    app.request(Method::POST, "/oauth/token")
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client.0),
            ("client_secret", &client.1),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token request")
}

/// A user's Mastodon token (and refresh token) with `scope`, by the whole flow.
pub(crate) async fn mastodon_token(
    app: &TestApp,
    username: &str,
    scope: &str,
) -> (TestUser, String, String, (String, String)) {
    let user = app.create_user(username).await;
    let client = register_app(app, "read write follow push").await;
    let code = authorize(app, &client.0, &format!("{username}@example.com"), scope).await;
    let (status, token) = json_of(exchange(app, &client, &code, VERIFIER).await).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], scope);
    assert!(token["created_at"].as_i64().is_some());
    (
        user,
        token["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        token["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
        client,
    )
}

#[tokio::test]
async fn an_app_signs_a_user_in_with_pkce_and_the_session_names_it() {
    let app = spawn_app().await;
    let (user, token, _, client) = mastodon_token(&app, "mona", "read write follow").await;

    let (status, me) = json_of(
        app.get("/api/v1/accounts/verify_credentials", Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], user.id);
    assert_eq!(me["username"], "mona");
    assert_eq!(me["acct"], "mona");
    assert_eq!(me["source"]["privacy"], "public");
    assert!(me["avatar"].as_str().expect("avatar").starts_with("http"));
    assert!(me["emojis"].as_array().is_some_and(Vec::is_empty));

    // The native session list shows the app's session by name.
    let (status, sessions) = json_of(app.get("/api/auth/sessions", Some(&user.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    let apps: Vec<&Value> = sessions["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|s| &s["app"])
        .collect();
    assert!(apps.contains(&&json!("Test App")), "{sessions}");

    // The app's token is no native token, and the code works once.
    app.assert_access_refused(&token).await;
    let (status, again) = json_of(exchange(&app, &client, "used-or-not", VERIFIER).await).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // The app verifies itself with the user's token.
    let (status, me_app) = json_of(
        app.get("/api/v1/apps/verify_credentials", Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me_app["name"], "Test App");
}

#[tokio::test]
async fn a_code_needs_its_verifier_its_app_and_works_once() {
    let app = spawn_app().await;
    app.create_user("pia").await;
    let client = register_app(&app, "read write").await;
    let other = register_app(&app, "read write").await;

    let code = authorize(&app, &client.0, "pia@example.com", "read").await;
    let wrong = "x".repeat(43);
    let (status, body) = json_of(exchange(&app, &client, &code, &wrong).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A refused exchange used the code up.
    let (status, _) = json_of(exchange(&app, &client, &code, VERIFIER).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let code = authorize(&app, &client.0, "pia@example.com", "read").await;
    let (status, body) = json_of(exchange(&app, &other, &code, VERIFIER).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "another app's code"
    );

    let code = authorize(&app, &client.0, "pia@example.com", "read").await;
    let bad_secret = (client.0.clone(), "nope".to_owned());
    let (status, body) = json_of(exchange(&app, &bad_secret, &code, VERIFIER).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, _) = json_of(exchange(&app, &client, &code, VERIFIER).await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a wrong secret does not spend the code"
    );
    let (status, _) = json_of(exchange(&app, &client, &code, VERIFIER).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the code is spent");
}

#[tokio::test]
async fn the_authorization_page_refuses_framing_forgery_and_foreign_redirects() {
    let app = spawn_app().await;
    app.create_user("quin").await;
    let client = register_app(&app, "read").await;

    let page = app
        .get(&authorize_url(&client.0, REDIRECT, "read"), None)
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !csp.contains("form-action"),
        "the redirect after the form must not be blocked: {csp}"
    );
    let cookie = cookie_of(&page);
    assert!(headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .contains("HttpOnly"));
    let html = page.text().await.expect("page");

    // Without the cookie's value the form is refused.
    let mut form = form_of(&html, HIDDEN);
    form.retain(|(k, _)| k != "csrf");
    form.push(("csrf".into(), "forged".into()));
    form.push(("email".into(), "quin@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let forged = submit(&app, &cookie, &form).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // A wrong password shows the form again.
    let mut form = form_of(&html, HIDDEN);
    form.push(("email".into(), "quin@example.com".into()));
    form.push(("password".into(), "wrong-password-1".into()));
    let wrong = submit(&app, &cookie, &form).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong
        .text()
        .await
        .expect("page")
        .contains("Wrong email address or password"));

    // A redirect URI the app did not register gets a page, never a redirect.
    let foreign = app
        .get(
            &authorize_url(&client.0, "https://evil.example/cb", "read"),
            None,
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    assert!(foreign.headers().get("location").is_none());
    let unknown = app
        .get(&authorize_url("no-such-client", REDIRECT, "read"), None)
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    // More scopes than registered go back to the app as an error.
    let greedy = app
        .get(&authorize_url(&client.0, REDIRECT, "read write"), None)
        .await;
    assert_eq!(greedy.status(), StatusCode::SEE_OTHER);
    let location = greedy.headers()["location"].to_str().expect("location");
    assert!(
        location.starts_with(REDIRECT) && location.contains("error=invalid_scope"),
        "{location}"
    );

    // Denying sends the app `access_denied`.
    let mut form = form_of(&html, HIDDEN);
    form.push(("email".into(), "quin@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let approval = submit(&app, &cookie, &form)
        .await
        .text()
        .await
        .expect("approval");
    let mut form = form_of(&approval, &[HIDDEN, &["ticket"]].concat());
    form.push(("step".into(), "deny".into()));
    let denied = submit(&app, &cookie, &form).await;
    assert_eq!(denied.status(), StatusCode::SEE_OTHER);
    assert!(denied.headers()["location"]
        .to_str()
        .expect("location")
        .contains("error=access_denied"));
}

#[tokio::test]
async fn an_unverified_account_cannot_authorize_and_oob_shows_the_code() {
    let app = spawn_app().await;
    let response = app.register("ravi").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let client = register_app(&app, "read").await;
    let oob = "urn:ietf:wg:oauth:2.0:oob";
    let page = app.get(&authorize_url(&client.0, oob, "read"), None).await;
    let cookie = cookie_of(&page);
    let html = page.text().await.expect("page");
    let mut form = form_of(&html, HIDDEN);
    form.push(("email".into(), "ravi@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let refused = submit(&app, &cookie, &form).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .text()
        .await
        .expect("page")
        .contains("Confirm your email address"));

    app.verify_email_of("ravi@example.com").await;
    let approval = submit(&app, &cookie, &form)
        .await
        .text()
        .await
        .expect("approval");
    let mut form = form_of(&approval, &[HIDDEN, &["ticket"]].concat());
    form.push(("step".into(), "approve".into()));
    let shown = submit(&app, &cookie, &form).await;
    assert_eq!(shown.status(), StatusCode::OK);
    let html = shown.text().await.expect("code page");
    let start = html.find("<code id=\"code\">").expect("the code") + 16;
    let code = &html[start..start + 43];
    let response = app
        .request(Method::POST, "/oauth/token")
        .json(&json!({ "grant_type": "authorization_code", "client_id": client.0, "client_secret": client.1, "code": code, "redirect_uri": oob, "code_verifier": VERIFIER }))
        .send()
        .await
        .expect("token");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn scopes_are_enforced() {
    let app = spawn_app().await;
    let (_, token, _, _) = mastodon_token(&app, "sami", "write:statuses").await;
    let (status, body) = json_of(
        app.get("/api/v1/accounts/verify_credentials", Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"],
        "This action is outside the authorized scopes"
    );

    let (_, token, _, _) = mastodon_token(&app, "tove", "read:accounts").await;
    let (status, _) = json_of(
        app.get("/api/v1/accounts/verify_credentials", Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_rotates_and_revoke_logout_all_end_tokens() {
    let app = spawn_app().await;
    let (user, token, refresh, client) = mastodon_token(&app, "uma", "read").await;

    let refreshed = app
        .request(Method::POST, "/oauth/token")
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client.0),
            ("client_secret", &client.1),
            ("refresh_token", &refresh),
        ])
        .send()
        .await
        .expect("refresh");
    let (status, pair) = json_of(refreshed).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let new_token = pair["access_token"].as_str().expect("access").to_owned();
    let (status, body) = json_of(
        app.get("/api/v1/accounts/verify_credentials", Some(&token))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("The access token is invalid")
        )
    );
    let (status, _) = json_of(
        app.get("/api/v1/accounts/verify_credentials", Some(&new_token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reused = app
        .request(Method::POST, "/oauth/token")
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client.0),
            ("client_secret", &client.1),
            ("refresh_token", &refresh),
        ])
        .send()
        .await
        .expect("refresh again");
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);

    // Another app may not revoke it; its own app may, and again harmlessly.
    let other = register_app(&app, "read").await;
    let revoke = |c: &(String, String)| {
        app.request(Method::POST, "/oauth/revoke")
            .form(&[
                ("client_id", c.0.clone()),
                ("client_secret", c.1.clone()),
                ("token", new_token.clone()),
            ])
            .send()
    };
    assert_eq!(
        revoke(&other).await.expect("revoke").status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        revoke(&client).await.expect("revoke").status(),
        StatusCode::OK
    );
    assert_eq!(
        revoke(&client).await.expect("revoke").status(),
        StatusCode::OK
    );
    let (status, _) = json_of(
        app.get("/api/v1/accounts/verify_credentials", Some(&new_token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Logging out everywhere (natively) ends an app's token too.
    let code = authorize(&app, &client.0, "uma@example.com", "read").await;
    let (_, pair) = json_of(exchange(&app, &client, &code, VERIFIER).await).await;
    let token = pair["access_token"].as_str().expect("access").to_owned();
    let response = app
        .post("/api/auth/logout-all", Some(&user.access), &json!({}))
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let (status, _) = json_of(
        app.get("/api/v1/accounts/verify_credentials", Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn client_credentials_give_an_app_token_and_password_grant_is_off() {
    let app = spawn_app().await;
    app.create_user("vera").await;
    let client = register_app(&app, "read write").await;
    let response = app
        .request(Method::POST, "/oauth/token")
        .json(&json!({ "grant_type": "client_credentials", "client_id": client.0, "client_secret": client.1, "scope": "read" }))
        .send()
        .await
        .expect("token");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app_token = body["access_token"].as_str().expect("token").to_owned();
    let (status, me) = json_of(
        app.get("/api/v1/apps/verify_credentials", Some(&app_token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], "Test App");
    assert!(me.get("client_secret").is_none());
    let (status, body) = json_of(
        app.get("/api/v1/accounts/verify_credentials", Some(&app_token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let password = app
        .request(Method::POST, "/oauth/token")
        .form(&[
            ("grant_type", "password"),
            ("client_id", &client.0),
            ("client_secret", &client.1),
            ("username", "vera@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("token");
    let (status, body) = json_of(password).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn the_password_grant_works_when_configured() {
    let app = spawn_app_with(|s| s.auth.oauth_password_grant = true).await;
    app.create_user("wren").await;
    let client = register_app(&app, "read").await;
    let grant = |password: &'static str| {
        app.request(Method::POST, "/oauth/token")
            .form(&[
                ("grant_type", "password"),
                ("client_id", client.0.as_str()),
                ("client_secret", client.1.as_str()),
                ("username", "wren@example.com"),
                ("password", password),
                ("scope", "read"),
            ])
            .send()
    };
    let (status, body) = json_of(grant(PASSWORD).await.expect("token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = json_of(grant("wrong-password-1").await.expect("token")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn apps_register_from_forms_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let response = app
        .request(Method::POST, "/api/v1/apps")
        .form(&[
            ("client_name", "Form App"),
            ("redirect_uris[]", REDIRECT),
            ("redirect_uris[]", "myapp://oauth"),
            ("scopes", "read+write"),
        ])
        .send()
        .await
        .expect("apps");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["redirect_uris"], json!([REDIRECT, "myapp://oauth"]));
    assert_eq!(body["scopes"], json!(["read", "write"]));
    assert_eq!(body["client_secret_expires_at"], 0);

    for bad in [
        json!({ "client_name": "", "redirect_uris": REDIRECT }),
        json!({ "client_name": "x", "redirect_uris": "not a uri" }),
        json!({ "client_name": "x", "redirect_uris": "javascript:alert(1)" }),
        json!({ "client_name": "x", "redirect_uris": REDIRECT, "scopes": "admin:write" }),
    ] {
        let (status, body) = json_of(app.post("/api/v1/apps", None, &bad).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(
            body["error"]
                .as_str()
                .expect("error")
                .starts_with("Validation failed"),
            "{body}"
        );
    }
    let response = app
        .request(Method::POST, "/api/v1/apps")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("apps");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn the_instance_describes_itself() {
    let app = spawn_app().await;
    let (status, v2) = json_of(app.get("/api/v2/instance", None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v2["version"]
        .as_str()
        .expect("version")
        .starts_with("4.2.0 (compatible; Rookery "));
    assert!(v2["configuration"]["urls"]["streaming"]
        .as_str()
        .expect("streaming")
        .starts_with("ws"));
    assert!(
        v2["configuration"]["media_attachments"]["supported_mime_types"]
            .as_array()
            .expect("types")
            .contains(&json!("image/png"))
    );
    assert!(
        v2["configuration"]["statuses"]["max_characters"]
            .as_u64()
            .expect("max")
            > 0
    );
    let (status, v1) = json_of(app.get("/api/v1/instance", None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v1["urls"]["streaming_api"].is_string());
    assert!(v1["stats"]["user_count"].is_u64());
    let (status, peers) = json_of(app.get("/api/v1/instance/peers", None).await).await;
    assert_eq!((status, peers), (StatusCode::OK, json!([])));

    let (_, index) = json_of(app.get("/.well-known/nodeinfo", None).await).await;
    let href = index["links"][0]["href"].as_str().expect("href");
    let path = url::Url::parse(href).expect("absolute").path().to_owned();
    let (status, nodeinfo) = json_of(app.get(&path, None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nodeinfo["software"]["name"], "rookery");
    let (status, meta) = json_of(
        app.get("/.well-known/oauth-authorization-server", None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert!(!meta["grant_types_supported"]
        .as_array()
        .expect("grants")
        .contains(&json!("password")));

    let avatar = app.get("/avatars/original/missing.png", None).await;
    assert_eq!(avatar.status(), StatusCode::OK);
    assert_eq!(avatar.headers()["content-type"], "image/png");
    assert!(avatar.bytes().await.expect("png").starts_with(b"\x89PNG"));

    let (status, body) = json_of(app.get("/api/v1/no_such_thing", None).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("Record not found"))
    );
}

#[tokio::test]
async fn accounts_by_id_and_lookup_hide_who_blocked_the_caller() {
    let app = spawn_app().await;
    let (me, token, _, _) = mastodon_token(&app, "xena", "read").await;
    let other = app.create_user("yuri").await;

    let (status, account) = json_of(
        app.get(&format!("/api/v1/accounts/{}", other.id), Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["username"], "yuri");
    assert!(account["created_at"]
        .as_str()
        .expect("created_at")
        .ends_with('Z'));
    let (status, found) = json_of(app.get("/api/v1/accounts/lookup?acct=yuri", None).await).await;
    assert_eq!(
        (status, found["id"].as_str()),
        (StatusCode::OK, Some(other.id.as_str()))
    );

    for path in [
        "/api/v1/accounts/000000000000000000000000",
        "/api/v1/accounts/nope",
        "/api/v1/accounts/lookup?acct=nobody",
        "/api/v1/accounts/lookup?acct=yuri@elsewhere.example",
    ] {
        let (status, body) = json_of(app.get(path, Some(&token)).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("Record not found")),
            "{path}"
        );
    }

    let response = app
        .post("/api/users/xena/block", Some(&other.access), &json!({}))
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let (status, _) = json_of(
        app.get(&format!("/api/v1/accounts/{}", other.id), Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "yuri blocked xena");
    let (status, _) = json_of(
        app.get("/api/v1/accounts/lookup?acct=yuri", Some(&token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let _ = me;
}
