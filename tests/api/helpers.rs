//! Shared test helpers: a real app on port 0 against its own database on the shared test
//! server, a real SMTP listener on loopback, and test users.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rookery::config::Settings;
use rookery::db::Db;
use rookery::startup::Application;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub const PASSWORD: &str = "correct-horse-9";

/// The shared test database server (`make test` starts one and sets this variable).
pub fn test_mongodb_uri() -> String {
    std::env::var("ROOKERY_TEST_MONGODB_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into())
}

pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// The environment a test app is configured from, as an operator would set it.
pub fn test_env(database: &str, smtp_port: u16, mongodb_uri: &str) -> HashMap<String, String> {
    [
        ("ROOKERY_ENV", "test".to_string()),
        ("MONGODB_URI", mongodb_uri.to_string()),
        ("MONGODB_DATABASE", database.to_string()),
        ("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
        ("PUBLIC_URL", "http://rookery.test".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The `rookery` binary, configured like the test apps for `database`.
pub fn rookery_command(database: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rookery"));
    command
        .env_clear()
        .env("ROOKERY_CONFIG_DIR", config_dir())
        .env("ROOKERY_ENV", "test")
        .env("MONGODB_URI", test_mongodb_uri())
        .env("MONGODB_DATABASE", database)
        .env("RUST_LOG", "warn");
    command
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// `rookery serve` as its own process on `database`, with extra environment (`ROOKERY__…`
/// keys), once it answers `/health` (at most 30 s); returns the process and its base URL.
pub async fn spawn_process_with(database: &str, env: &[(&str, &str)]) -> (Instance, String) {
    let port = free_port();
    let mut command = rookery_command(database);
    command
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .arg("serve");
    for (key, value) in env {
        command.env(key, value);
    }
    let child = Instance(command.spawn().expect("rookery starts"));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while client.get(format!("{base}/health")).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the service starts");
    (child, base)
}

/// A `rookery` process, killed when dropped (a failed test leaves none behind).
pub struct Instance(pub std::process::Child);

impl Instance {
    /// `SIGKILL`: no shutdown, no flush.
    pub fn kill(&mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reaped");
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A verified account written straight to the database (for tests that need many, or
/// no running instance), with the test password; returns its id.
pub async fn seed_user(db: &Db, username: &str) -> bson::oid::ObjectId {
    let hash = rookery::auth::password::PasswordHasher::new(4)
        .hash(PASSWORD)
        .await
        .expect("hash");
    rookery::store::users::insert(
        db,
        rookery::store::users::NewUser {
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            password_hash: hash,
            full_name: String::new(),
            role: rookery::store::users::Role::User,
            email_verified: true,
        },
    )
    .await
    .expect("seed user")
    .id
}

/// `count` follows of `followee` by made-up accounts (ids only: fan-out needs no more),
/// with the followee's `followers_count` to match.
pub async fn seed_followers(db: &Db, followee: bson::oid::ObjectId, count: usize) {
    let docs: Vec<rookery::store::follows::FollowDoc> = (0..count)
        .map(|_| rookery::store::follows::FollowDoc {
            id: bson::oid::ObjectId::new(),
            follower_id: bson::oid::ObjectId::new(),
            followee_id: followee,
            created_at: bson::DateTime::now(),
        })
        .collect();
    for chunk in docs.chunks(1000) {
        rookery::store::follows::collection(db)
            .insert_many(chunk)
            .await
            .expect("seed follows");
    }
    rookery::store::users::collection(db)
        .update_one(
            bson::doc! { "_id": followee },
            bson::doc! { "$inc": { "followers_count": count as i64 } },
        )
        .await
        .expect("followers_count");
}

/// Logs in at `base` (any instance); returns the access token.
pub async fn log_in_at(base: &str, username: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "login": username, "password": PASSWORD }))
        .send()
        .await
        .expect("login sent");
    assert_eq!(response.status(), StatusCode::OK, "login of {username}");
    let body: Value = response.json().await.expect("login body");
    body["access"].as_str().expect("access").to_owned()
}

/// A database of its own, with the indexes, for tests that run only processes.
pub async fn fresh_database() -> (Db, String) {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let settings = Settings::load(&config_dir(), &test_env(&name, 25, &test_mongodb_uri()))
        .expect("test settings load");
    let db = Db::connect(&settings.database, Default::default())
        .await
        .expect("database client");
    rookery::startup::prepare_database(&db, &settings)
        .await
        .expect("indexes");
    (db, name)
}

/// Waits (up to `secs`) until no job is running, due, or waiting for a retry in `db`
/// (scheduled posts' jobs, due later, do not count), no like or comment has effects left
/// to write, and no new post waits for its publication.
pub async fn wait_for_jobs(db: &Db, secs: u64) {
    let jobs = db.database().collection::<bson::Document>("jobs");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        // Counted first: a new post's record is closed only once a job holds its work.
        // Likes and comments whose effects (counters, notifications) are not written yet,
        // and new posts that are their own publication's record.
        let mut deferred = 0;
        for name in ["likes", "comments", "posts"] {
            deferred += db
                .database()
                .collection::<bson::Document>(name)
                .count_documents(bson::doc! { "effects": { "$exists": true } })
                .await
                .expect("count deferred effects");
        }
        let now = bson::DateTime::now();
        let busy = jobs
            .count_documents(bson::doc! { "$or": [
                { "state": "running" },
                { "state": "queued", "due_at": { "$lte": now } },
                { "state": "queued", "attempts": { "$gt": 0 } },
            ] })
            .await
            .expect("count jobs");
        let busy = busy + deferred;
        if busy == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{busy} background job(s) did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub database_name: String,
    pub mail: Mailbox,
    pub settings: Settings,
    client: reqwest::Client,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app with settings adjusted by `configure` (short token lifetimes…).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(
        &test_mongodb_uri(),
        &format!("test_{}", uuid::Uuid::new_v4().simple()),
        configure,
    )
    .await
}

/// Starts an app on a given database with a mailbox of its own. A second instance of
/// the same deployment is `spawn_instance_of`.
pub async fn spawn_app_on(
    mongodb_uri: &str,
    database: &str,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    start_app(mongodb_uri, database, Mailbox::start().await, configure).await
}

/// Starts another instance of `first`'s deployment: the same database and the same
/// SMTP relay (either instance's job worker may send a queued email, as in production).
pub async fn spawn_instance_of(
    first: &TestApp,
    mongodb_uri: &str,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    start_app(
        mongodb_uri,
        &first.database_name,
        first.mail.clone(),
        configure,
    )
    .await
}

async fn start_app(
    mongodb_uri: &str,
    database: &str,
    mail: Mailbox,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::load(&config_dir(), &test_env(database, mail.port, mongodb_uri))
        .expect("test settings load");
    configure(&mut settings);
    let db = Db::connect(&settings.database, Default::default())
        .await
        .expect("database client");
    let app = Application::build(settings.clone())
        .await
        .expect("app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        database_name: database.to_owned(),
        mail,
        settings,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // actix closes an idle keep-alive connection after 5 s; a test that waits
            // longer (for background jobs, a lease) must not reuse one it may be closing.
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("http client"),
    }
}

/// A registered, verified, logged-in user.
pub struct TestUser {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    /// Waits (up to 20 s) until no job is running or due: what requests set in motion
    /// (fan-out, notifications, counts) is done. Scheduled posts' jobs, due later, do not
    /// count.
    pub async fn settle(&self) {
        wait_for_jobs(&self.db, 20).await;
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.request(Method::GET, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self.request(method, path).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(Method::POST, path, token, body).await
    }

    pub async fn register(&self, username: &str) -> Response {
        self.post(
            "/api/auth/register",
            None,
            &json!({ "username": username, "email": format!("{username}@example.com"), "password": PASSWORD }),
        )
        .await
    }

    /// Follows the link in the newest verification email to `email`.
    pub async fn verify_email_of(&self, email: &str) {
        let link = self.mail.wait_for(email).await.link();
        let response = self.get(&path_of(&link), None).await;
        assert_eq!(response.status(), StatusCode::OK, "verification link works");
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post(
            "/api/auth/login",
            None,
            &json!({ "login": login, "password": password }),
        )
        .await
    }

    /// Registers, verifies by the emailed link, and logs in.
    pub async fn create_user(&self, username: &str) -> TestUser {
        let response = self.register(username).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "registration of {username}"
        );
        let email = format!("{username}@example.com");
        self.verify_email_of(&email).await;
        self.log_in_as(username, &email).await
    }

    /// `create_user` for a name built at run time (for many users at once).
    pub async fn create_user_named(&self, username: String) -> TestUser {
        self.create_user(&username).await
    }

    pub async fn log_in_as(&self, username: &str, email: &str) -> TestUser {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        let body: Value = response.json().await.expect("login body");
        TestUser {
            id: body["user"]["id"].as_str().expect("user id").to_owned(),
            access: body["access"].as_str().expect("access").to_owned(),
            refresh: body["refresh"].as_str().expect("refresh").to_owned(),
        }
    }

    pub async fn refresh(&self, refresh: &str) -> Response {
        self.post(
            "/api/auth/token/refresh",
            None,
            &json!({ "refresh": refresh }),
        )
        .await
    }

    /// Asserts that an access token is refused (`401 token_invalid`): revoked, tampered…
    pub async fn assert_access_refused(&self, access: &str) {
        let response = self.get("/api/users/me", Some(access)).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "token_invalid").await;
    }

    /// Makes a user an admin directly in the database (the role API comes later).
    pub async fn make_admin(&self, user: &TestUser) {
        let id = bson::oid::ObjectId::parse_str(&user.id).expect("id");
        rookery::store::users::collection(&self.db)
            .update_one(
                bson::doc! { "_id": id },
                bson::doc! { "$set": { "role": "admin" } },
            )
            .await
            .expect("role set");
    }
}

/// POSTs `body` to `path` as `user`, asserts `201`, and returns the body.
pub async fn created(app: &TestApp, user: &TestUser, path: &str, body: Value) -> Value {
    let response = app.post(path, Some(&user.access), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{path}");
    response.json().await.expect("a JSON body")
}

/// The `id`s of a page's `results`, in order.
pub fn ids_of(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .expect("a page of results")
        .iter()
        .map(|item| item["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The path and query of an absolute link, to request it from the test app.
pub fn path_of(link: &str) -> String {
    let url = url::Url::parse(link).expect("link is a URL");
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The database commands a response says its request issued (`X-Db-Commands`, on with
/// `debug_headers` in the test config).
pub fn db_commands(response: &Response) -> u64 {
    response.headers()["x-db-commands"]
        .to_str()
        .expect("X-Db-Commands is text")
        .parse()
        .expect("X-Db-Commands is a number")
}

/// Asserts status and error code, and returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["code"], code, "body: {body}");
    assert!(body["detail"].is_string(), "body: {body}");
    body
}

// ---------------------------------------------------------------------------------------
// SMTP

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl ReceivedMail {
    /// The first link in the body.
    pub fn link(&self) -> String {
        let start = self.body.find("http").expect("a link in the email");
        self.body[start..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The value after `token=` in the link, or the token alone on its line.
    pub fn token(&self) -> String {
        if let Some(start) = self.body.find("token=") {
            return self.body[start + 6..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        self.body
            .lines()
            .map(str::trim)
            .find(|l| {
                l.len() >= 40
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
            .expect("a token in the email")
            .to_owned()
    }
}

/// A real SMTP server on loopback that keeps what it receives.
#[derive(Clone)]
pub struct Mailbox {
    pub port: u16,
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
    received: watch::Receiver<usize>,
}

impl Mailbox {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A listener on a chosen port (one an app was told to use before anything listened).
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("smtp bind");
        let port = listener.local_addr().expect("smtp addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let (sender, received) = watch::channel(0usize);
        let sender = Arc::new(sender);
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(smtp_session(socket, store.clone(), sender.clone()));
            }
        });
        Self {
            port,
            messages,
            received,
        }
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.messages.lock().expect("mailbox lock").clone()
    }

    pub fn count_to(&self, to: &str) -> usize {
        self.all()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .count()
    }

    /// Waits (up to 10 s) for a message to `to` beyond the first `seen` ones.
    pub async fn wait_for_nth(&self, to: &str, seen: usize) -> ReceivedMail {
        self.wait_for_nth_within(to, seen, Duration::from_secs(10))
            .await
    }

    pub async fn wait_for_nth_within(
        &self,
        to: &str,
        seen: usize,
        within: Duration,
    ) -> ReceivedMail {
        let mut received = self.received.clone();
        let wait = async {
            loop {
                let mine: Vec<ReceivedMail> = self
                    .all()
                    .into_iter()
                    .filter(|m| m.to.iter().any(|t| t == to))
                    .collect();
                if mine.len() > seen {
                    return mine[seen].clone();
                }
                received.changed().await.expect("smtp server alive");
            }
        };
        tokio::time::timeout(within, wait)
            .await
            .unwrap_or_else(|_| panic!("no email to {to} arrived"))
    }

    /// Waits for the first message to `to`.
    pub async fn wait_for(&self, to: &str) -> ReceivedMail {
        self.wait_for_nth(to, 0).await
    }
}

async fn smtp_session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
    notify: Arc<watch::Sender<usize>>,
) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let mut recipients = Vec::new();
    let _ = write.write_all(b"220 test.local ESMTP\r\n").await;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 test.local\r\n"
        } else if command.starts_with("RCPT TO:") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>');
            recipients.push(address.to_lowercase());
            b"250 OK\r\n"
        } else if command == "DATA" {
            let _ = write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await;
            let mut raw = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line
                    .strip_prefix('.')
                    .filter(|_| line.starts_with(".."))
                    .unwrap_or(&line);
                raw.extend_from_slice(unstuffed.as_bytes());
            }
            let parsed = mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("a parsable email");
            let mail = ReceivedMail {
                to: std::mem::take(&mut recipients),
                subject: parsed.subject().unwrap_or_default().to_owned(),
                body: parsed
                    .body_text(0)
                    .map(|b| b.into_owned())
                    .unwrap_or_default(),
            };
            let count = {
                let mut all = store.lock().expect("mailbox lock");
                all.push(mail);
                all.len()
            };
            notify.send_replace(count);
            b"250 OK queued\r\n"
        } else if command == "QUIT" {
            let _ = write.write_all(b"221 Bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------
// A TCP proxy, to cut an app off from the database and give it back.

pub struct TcpProxy {
    pub port: u16,
    open: watch::Sender<bool>,
}

impl TcpProxy {
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let port = listener.local_addr().expect("proxy addr").port();
        let (open, _) = watch::channel(true);
        let state = open.subscribe();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut state = state.clone();
                if !*state.borrow() {
                    continue; // dropped: the connection closes at once
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = state.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        Self { port, open }
    }

    /// Closes every proxied connection and refuses new ones until `reopen`.
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn reopen(&self) {
        self.open.send_replace(true);
    }
}

/// `host:port` of a `mongodb://host:port/...` URI.
pub fn host_port_of(uri: &str) -> String {
    let rest = uri.trim_start_matches("mongodb://");
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}
