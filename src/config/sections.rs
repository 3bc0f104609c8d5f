//! One struct per section of the configuration files.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub public_url: String,
    pub workers: usize,
    pub client_request_timeout_secs: u64,
    /// Seconds a client may pause while sending a request body before it is cut off
    /// with `408` (slow-loris defence; the head has `client_request_timeout_secs`).
    #[serde(default = "default_body_timeout_secs")]
    pub body_timeout_secs: u64,
    pub shutdown_timeout_secs: u64,
    /// Adds `X-Db-Commands` (database commands the request issued) and `X-Db-Queries`
    /// (each command's collection and filter fields) to every response.
    #[serde(default)]
    pub debug_headers: bool,
    /// Browser origins allowed to call the API (CORS): empty for none (no CORS headers,
    /// preflights refused), `*` for any, or a comma-separated list such as
    /// `https://app.example.com, http://localhost:5173`.
    #[serde(default)]
    pub cors_allowed_origins: String,
    /// The bearer token a scraper sends to read `/metrics`. Unset, `/metrics` answers only
    /// requests from the machine itself (loopback) that came through no proxy.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
}

/// A setting that must never reach a log line: `Debug` prints `<redacted>`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    None,
    Any,
    /// Serialized origins (`scheme://host[:port]`), as browsers send them in `Origin`.
    Listed(Vec<String>),
}

impl ServerSettings {
    /// `cors_allowed_origins`, checked: each entry must be an `http`/`https` origin.
    pub fn cors_origins(&self) -> Result<CorsOrigins, String> {
        parse_origins(&self.cors_allowed_origins)
    }
}

fn parse_origins(raw: &str) -> Result<CorsOrigins, String> {
    let entries: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return Ok(CorsOrigins::None);
    }
    if entries.contains(&"*") {
        return Ok(CorsOrigins::Any);
    }
    let mut origins = Vec::with_capacity(entries.len());
    for entry in entries {
        let url = url::Url::parse(entry).map_err(|e| format!("`{entry}` is not a URL: {e}"))?;
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
            return Err(format!(
                "`{entry}` is not an origin: write scheme://host[:port], e.g. https://app.example.com"
            ));
        }
        origins.push(url.origin().ascii_serialization());
    }
    Ok(CorsOrigins::Listed(origins))
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub uri: String,
    pub name: String,
    pub timeout_secs: u64,
    /// Count and time every command for `/metrics` and `X-Db-Commands`. The driver then
    /// copies and parses each command and reply for the event (see bench/RESULTS.md for
    /// what that costs); off, those two report no database commands.
    #[serde(default = "default_true")]
    pub command_monitoring: bool,
}

pub(super) fn default_true() -> bool {
    true
}

#[derive(Clone, Deserialize)]
pub struct AuthSettings {
    #[serde(default)]
    pub jwt_secret: Option<String>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub email_verification_ttl_secs: i64,
    pub password_reset_ttl_secs: i64,
    pub bcrypt_cost: u32,
    /// Refuse to sign in accounts whose email address is not verified yet. Off, an
    /// account can sign in right after registering (RealWorld clients expect that); the
    /// verification email is still sent.
    #[serde(default = "default_true")]
    pub require_email_verification: bool,
    /// How long after signing in a session may make sensitive changes (email, password)
    /// without giving the current password again: "sudo mode".
    #[serde(default = "default_reauth_window")]
    pub reauth_window_secs: i64,
    /// How long a Mastodon app's OAuth session lives.
    #[serde(default = "default_oauth_ttl")]
    pub oauth_token_ttl_secs: i64,
    /// Whether `POST /oauth/token` accepts `grant_type=password`.
    #[serde(default)]
    pub oauth_password_grant: bool,
}

fn default_oauth_ttl() -> i64 {
    315_360_000
}

fn default_reauth_window() -> i64 {
    600
}

/// Written by hand so that the signing key never reaches a log line.
impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("refresh_token_ttl_secs", &self.refresh_token_ttl_secs)
            .field(
                "email_verification_ttl_secs",
                &self.email_verification_ttl_secs,
            )
            .field("password_reset_ttl_secs", &self.password_reset_ttl_secs)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field(
                "require_email_verification",
                &self.require_email_verification,
            )
            .field("reauth_window_secs", &self.reauth_window_secs)
            .field("oauth_token_ttl_secs", &self.oauth_token_ttl_secs)
            .field("oauth_password_grant", &self.oauth_password_grant)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct EmailSettings {
    #[serde(default)]
    pub smtp_url: Option<String>,
    pub from: String,
    pub mail_dir: PathBuf,
    /// Keeps the last emails in memory for `GET /api/dev/outbox` (development and the
    /// Postman run only: it hands out verification and reset tokens; refused in production).
    #[serde(default)]
    pub dev_outbox: bool,
    /// Where a browser that opened the emailed verification link is sent, with
    /// `?status=verified` or `?status=invalid_token` (a deployment's own app); unset, it
    /// gets a small page.
    #[serde(default)]
    pub verified_redirect_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PostSettings {
    /// The window of `GET /api/hashtags/trending`.
    pub trending_window_hours: i64,
    /// How often each instance writes the views it counted for analytics.
    #[serde(default = "default_view_flush_ms")]
    pub view_flush_ms: u64,
    /// Files one post shows at most (however they were attached).
    #[serde(default = "default_max_media")]
    pub max_media: usize,
    /// `@mentions` one post may make at most: each notifies someone.
    #[serde(default = "default_max_mentions")]
    pub max_mentions: usize,
    /// Hashtags one post may carry at most (its tags and its text's `#tags` together).
    #[serde(default = "default_max_hashtags")]
    pub max_hashtags: usize,
}

fn default_max_media() -> usize {
    10
}

fn default_max_mentions() -> usize {
    20
}

fn default_max_hashtags() -> usize {
    30
}

pub(super) fn default_body_timeout_secs() -> u64 {
    30
}

pub(super) fn default_view_flush_ms() -> u64 {
    1000
}

#[derive(Debug, Clone, Deserialize)]
pub struct FeedSettings {
    /// Accounts with at least this many followers are not fanned out on write; their
    /// posts are merged into feeds at read time.
    pub celebrity_threshold: i64,
    /// How often each instance refreshes its list of such accounts.
    pub celebrity_refresh_secs: u64,
    /// How many of a followee's newest posts a new follow copies into the feed.
    pub backfill_posts: i64,
    /// The first page of the public list asks only for posts newer than the newest this
    /// many, as each instance last learned it (`posts::ListHorizon`); 0 turns that off.
    #[serde(default = "default_list_horizon_posts")]
    pub list_horizon_posts: u64,
}

pub(super) fn default_list_horizon_posts() -> u64 {
    250
}

#[derive(Debug, Clone, Deserialize)]
pub struct MediaSettings {
    pub max_image_bytes: u64,
    pub max_video_bytes: u64,
    /// Whether a video's upload is kept beside its web rendition (else only the rendition
    /// is, and the media's URL serves it).
    #[serde(default)]
    pub keep_original_video: bool,
    /// The FFmpeg programs videos are probed and transcoded with.
    #[serde(default = "default_ffmpeg")]
    pub ffmpeg: String,
    #[serde(default = "default_ffprobe")]
    pub ffprobe: String,
    /// The longest one FFmpeg run may take (and its CPU time limit), in seconds.
    #[serde(default = "default_video_timeout")]
    pub video_timeout_secs: u64,
    /// The most memory (address space) one FFmpeg run may take, in MiB.
    #[serde(default = "default_video_memory")]
    pub video_memory_mb: u64,
    /// A web rendition's long side at most, in pixels, and its video bitrate at most.
    #[serde(default = "default_video_edge")]
    pub video_max_edge: u32,
    #[serde(default = "default_video_kbps")]
    pub video_max_kbps: u32,
    /// Images decoded and resized at once on one instance (each may take a few hundred
    /// megabytes while it is) …
    #[serde(default = "default_image_slots")]
    pub image_slots: usize,
    /// … and how long an upload waits for one before it is answered `503` with
    /// `Retry-After`, in milliseconds.
    #[serde(default = "default_image_slot_wait")]
    pub image_slot_wait_ms: u64,
    /// What a video may be, read by the probe before any transcoding: longer, larger
    /// (either side, in pixels) or faster (frames per second) fails the media, saying so.
    #[serde(default = "default_video_max_duration")]
    pub video_max_duration_secs: u64,
    #[serde(default = "default_video_max_input_edge")]
    pub video_max_input_edge: u32,
    #[serde(default = "default_video_max_fps")]
    pub video_max_fps: u32,
    /// Videos of one owner processing at once, across all instances.
    #[serde(default = "default_video_jobs_per_user")]
    pub video_jobs_per_user: usize,
    /// Fair order between owners: each video an owner already has waiting puts their next
    /// one this many seconds further back in the queue, so one owner's batch cannot hold
    /// everyone else's single video behind it.
    #[serde(default = "default_video_fair_share")]
    pub video_fair_share_secs: u64,
}

fn default_video_max_duration() -> u64 {
    600
}

fn default_video_max_input_edge() -> u32 {
    4096
}

fn default_video_max_fps() -> u32 {
    120
}

fn default_video_jobs_per_user() -> usize {
    1
}

fn default_video_fair_share() -> u64 {
    60
}

fn default_image_slots() -> usize {
    2
}

fn default_image_slot_wait() -> u64 {
    5000
}

fn default_ffmpeg() -> String {
    "ffmpeg".into()
}

fn default_ffprobe() -> String {
    "ffprobe".into()
}

fn default_video_timeout() -> u64 {
    600
}

fn default_video_memory() -> u64 {
    2048
}

fn default_video_edge() -> u32 {
    1280
}

fn default_video_kbps() -> u32 {
    2500
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActivitySettings {
    /// How long activity entries are kept (a TTL index).
    pub retention_days: u64,
}

impl ActivitySettings {
    pub fn retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.retention_days.saturating_mul(86_400))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RealtimeSettings {
    /// Seconds between the pings a WebSocket receives.
    pub ping_interval_secs: u64,
    /// How many missed notifications a reconnecting socket (`?since=`) receives at most.
    pub replay_limit: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModerationSettings {
    /// Distinct open reports that hide a post from lists until a moderator acts.
    pub hide_after_reports: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// The proxies whose `X-Forwarded-For` is believed, as CIDRs or single addresses
    /// (a list, or one comma-separated string). A request from one of them counts
    /// against the right-most address of the header that is not itself a trusted
    /// proxy: the left-most entries are whatever the client claimed. Empty (the
    /// default): the header is ignored and the peer address counts.
    #[serde(default, deserialize_with = "networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Replaced by `trusted_proxies`, which says whom to trust; refused when set, so a
    /// deployment that relied on it is told rather than silently changed.
    #[serde(default)]
    pub trust_forwarded_for: Option<bool>,
    pub login: Rule,
    pub register: Rule,
    pub resend_verification: Rule,
    pub password_forgot: Rule,
    pub password_reset: Rule,
    pub posts: Rule,
    pub comments: Rule,
    pub likes: Rule,
    pub follows: Rule,
    pub uploads: Rule,
    /// Reads of one's notifications and activity (`GET /api/notifications`,
    /// `/unread-count`, `/api/activity`) per signed-in user per second, with a burst of
    /// `notification_reads_burst`: counted in memory on each instance (a read costs the
    /// database nothing when refused), and applied even with `enabled` off; 0 turns it off.
    #[serde(default = "default_notification_reads_per_sec")]
    pub notification_reads_per_sec: u32,
    #[serde(default = "default_notification_reads_burst")]
    pub notification_reads_burst: u32,
}

fn default_notification_reads_per_sec() -> u32 {
    2
}

fn default_notification_reads_burst() -> u32 {
    10
}

/// At most `limit` requests in each window of `window_secs`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub window_secs: u64,
}

/// The job queue (docs/OPERATIONS.md "Background jobs").
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    /// Whether this instance runs jobs. Off, it only serves requests (and writes jobs)
    /// while other instances work: web and worker roles split.
    pub workers: bool,
    /// How often each instance looks for due jobs another instance wrote (its own wake
    /// its workers at once).
    pub poll_ms: u64,
    /// How long a claimed job stays its worker's without a heartbeat; after that any
    /// instance takes it again.
    pub lease_secs: u64,
    /// Runs of a job before it is left dead with its last error.
    pub max_attempts: u32,
    /// The first retry waits about this long; each next one twice as long (with jitter).
    pub retry_base_ms: u64,
    /// The longest wait between two runs of a failing job.
    pub retry_max_secs: u64,
    /// Jobs of each kind running at once on one instance.
    pub concurrency: JobConcurrency,
    /// How many event jobs (notifications, activity) one claim takes and writes together.
    pub events_batch: i64,
    /// How many publication jobs one claim takes; those of posts published at creation by
    /// authors with at most `fan_out_batch` followers run together.
    pub publish_batch: i64,
    /// Once a claim has emptied the publication queue, the next claim waits until this
    /// long after it, so that under a stream of posts each claim takes several (their
    /// fan-out shares its commands) instead of one or two; a post waits at most this much
    /// longer. 0: claim again at once.
    pub publish_linger_ms: u64,
    /// Followers per page of a fan-out: one read, one insert and one checkpoint each.
    pub fan_out_batch: usize,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            workers: true,
            poll_ms: 100,
            lease_secs: 30,
            max_attempts: 10,
            retry_base_ms: 1000,
            retry_max_secs: 600,
            concurrency: JobConcurrency::default(),
            events_batch: 100,
            publish_batch: 200,
            publish_linger_ms: 200,
            fan_out_batch: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct JobConcurrency {
    pub events: usize,
    pub publish: usize,
    pub email: usize,
    pub views: usize,
    pub cascade: usize,
    pub media: usize,
}

impl Default for JobConcurrency {
    fn default() -> Self {
        Self {
            events: 2,
            publish: 2,
            email: 4,
            views: 1,
            cascade: 1,
            media: 1,
        }
    }
}

/// CIDRs or single addresses, as a list or one comma-separated string.
fn networks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let entries = match Raw::deserialize(d)? {
        Raw::One(s) => s.split(',').map(str::to_owned).collect(),
        Raw::Many(v) => v,
    };
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "rate_limit.trusted_proxies: {e:?} is neither a CIDR nor an address"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_none_any_or_a_checked_list() {
        assert_eq!(parse_origins(""), Ok(CorsOrigins::None));
        assert_eq!(parse_origins(" , "), Ok(CorsOrigins::None));
        assert_eq!(parse_origins("*"), Ok(CorsOrigins::Any));
        assert_eq!(
            parse_origins("https://App.example.com/, http://localhost:5173"),
            Ok(CorsOrigins::Listed(vec![
                "https://app.example.com".into(),
                "http://localhost:5173".into()
            ]))
        );
        assert_eq!(
            parse_origins("https://example.com:443"),
            Ok(CorsOrigins::Listed(vec!["https://example.com".into()]))
        );
        for bad in [
            "example.com",
            "https://example.com/app",
            "ftp://example.com",
            "https://a.com?x=1",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
