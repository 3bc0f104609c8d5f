//! Settings: `config/default.toml` → `config/{ROOKERY_ENV}.toml` → environment (API.md §10).
//!
//! The loader takes the environment as an argument, so tests build their own settings
//! without touching the process environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod sections;

pub use sections::*;

/// The conventional variables of API.md §10 and the keys they set.
const CONVENTIONAL_VARIABLES: &[(&str, &str)] = &[
    ("HOST", "server.host"),
    ("PORT", "server.port"),
    ("PUBLIC_URL", "server.public_url"),
    ("MONGODB_URI", "database.uri"),
    ("MONGODB_DATABASE", "database.name"),
    ("JWT_SECRET", "auth.jwt_secret"),
    ("SMTP_URL", "email.smtp_url"),
    ("EMAIL_FROM", "email.from"),
    ("BCRYPT_COST", "auth.bcrypt_cost"),
    ("RATE_LIMIT_ENABLED", "rate_limit.enabled"),
    ("CORS_ALLOWED_ORIGINS", "server.cors_allowed_origins"),
];

/// The shortest signing key accepted in production.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }

    fn parse(name: &str) -> Result<Self, ConfigError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "development" | "dev" => Ok(Environment::Development),
            "test" => Ok(Environment::Test),
            "production" | "prod" => Ok(Environment::Production),
            other => Err(ConfigError(format!(
                "ROOKERY_ENV must be development, test or production, not {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(skip, default = "default_environment")]
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub email: EmailSettings,
    pub rate_limit: RateLimitSettings,
    pub posts: PostSettings,
    pub feed: FeedSettings,
    pub media: MediaSettings,
    pub activity: ActivitySettings,
    pub realtime: RealtimeSettings,
    pub moderation: ModerationSettings,
    #[serde(default)]
    pub jobs: JobSettings,
}

fn default_environment() -> Environment {
    Environment::Development
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Loads the settings from `config_dir` and the given environment variables.
    pub fn load(config_dir: &Path, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let environment = Environment::parse(env.get("ROOKERY_ENV").map_or("", String::as_str))?;

        let mut builder = config::Config::builder()
            .add_source(config::File::from(config_dir.join("default.toml")).required(true))
            .add_source(
                config::File::from(config_dir.join(format!("{}.toml", environment.as_str())))
                    .required(false),
            )
            .add_source(
                config::Environment::with_prefix("ROOKERY")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(env.clone().into_iter().collect())),
            );
        for (variable, key) in CONVENTIONAL_VARIABLES {
            if let Some(value) = env.get(*variable).filter(|v| !v.is_empty()) {
                builder = builder
                    .set_override(*key, value.as_str())
                    .map_err(|e| ConfigError(e.to_string()))?;
            }
        }
        let mut settings: Settings = builder
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| ConfigError(e.to_string()))?;
        settings.environment = environment;
        settings.validate()?;
        Ok(settings)
    }

    /// Loads from `./config` (or `ROOKERY_CONFIG_DIR`) and the process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let dir = env
            .get("ROOKERY_CONFIG_DIR")
            .map_or_else(|| PathBuf::from("config"), PathBuf::from);
        Self::load(&dir, &env)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let secret_len = self.auth.jwt_secret.as_ref().map_or(0, String::len);
        if self.environment == Environment::Production && secret_len < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError(format!(
                "JWT_SECRET must be set to at least {MIN_JWT_SECRET_BYTES} bytes in production \
                 (generate one with `openssl rand -hex 32`)"
            )));
        }
        if secret_len == 0 {
            return Err(ConfigError(
                "JWT_SECRET (auth.jwt_secret) is not set".into(),
            ));
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return Err(ConfigError("BCRYPT_COST must be between 4 and 31".into()));
        }
        self.server
            .cors_origins()
            .map_err(|e| ConfigError(format!("server.cors_allowed_origins: {e}")))?;
        url::Url::parse(&self.server.public_url)
            .map_err(|e| ConfigError(format!("PUBLIC_URL is not a URL: {e}")))?;
        if let Some(redirect) = &self.email.verified_redirect_url {
            url::Url::parse(redirect).map_err(|e| {
                ConfigError(format!("email.verified_redirect_url is not a URL: {e}"))
            })?;
        }
        if self.rate_limit.trust_forwarded_for.is_some() {
            return Err(ConfigError(
                "rate_limit.trust_forwarded_for is gone: list the proxies to trust in \
                 rate_limit.trusted_proxies (CIDRs), and X-Forwarded-For is read only from them"
                    .into(),
            ));
        }
        if self.environment == Environment::Production && self.email.dev_outbox {
            return Err(ConfigError(
                "email.dev_outbox hands out account tokens: it cannot be on in production".into(),
            ));
        }
        Ok(())
    }

    /// The signing key; `validate` guarantees it is present.
    pub fn jwt_secret(&self) -> &[u8] {
        self.auth
            .jwt_secret
            .as_deref()
            .unwrap_or_default()
            .as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn development_is_the_default_environment() {
        let settings = Settings::load(&config_dir(), &env(&[])).unwrap();
        assert_eq!(settings.environment, Environment::Development);
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.database.name, "rookery");
        assert!(settings.email.smtp_url.is_none());
    }

    #[test]
    fn conventional_variables_override_the_files() {
        let settings = Settings::load(
            &config_dir(),
            &env(&[
                ("PORT", "9999"),
                ("MONGODB_DATABASE", "other"),
                ("SMTP_URL", "smtp://127.0.0.1:1025"),
                ("BCRYPT_COST", "5"),
                ("RATE_LIMIT_ENABLED", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.server.port, 9999);
        assert_eq!(settings.database.name, "other");
        assert_eq!(
            settings.email.smtp_url.as_deref(),
            Some("smtp://127.0.0.1:1025")
        );
        assert_eq!(settings.auth.bcrypt_cost, 5);
        assert!(!settings.rate_limit.enabled);
    }

    #[test]
    fn production_refuses_the_development_outbox() {
        let refused = Settings::load(
            &config_dir(),
            &env(&[
                ("ROOKERY_ENV", "production"),
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("ROOKERY__EMAIL__DEV_OUTBOX", "true"),
            ]),
        );
        assert!(refused.unwrap_err().0.contains("dev_outbox"));
        let development = Settings::load(&config_dir(), &env(&[])).unwrap();
        assert!(development.email.dev_outbox);
    }

    #[test]
    fn any_key_can_be_set_with_a_double_underscore_variable() {
        let settings = Settings::load(
            &config_dir(),
            &env(&[("ROOKERY__AUTH__ACCESS_TOKEN_TTL_SECS", "60")]),
        )
        .unwrap();
        assert_eq!(settings.auth.access_token_ttl_secs, 60);
    }

    #[test]
    fn a_rate_limit_rule_can_be_set_from_the_environment() {
        let settings = Settings::load(
            &config_dir(),
            &env(&[
                ("ROOKERY__RATE_LIMIT__LOGIN__LIMIT", "50"),
                ("RATE_LIMIT_ENABLED", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.rate_limit.login.limit, 50);
        assert_eq!(settings.rate_limit.login.window_secs, 300);
        assert!(settings.rate_limit.enabled);
    }

    #[test]
    fn the_environment_file_is_layered_over_the_default() {
        let settings = Settings::load(&config_dir(), &env(&[("ROOKERY_ENV", "test")])).unwrap();
        assert_eq!(settings.environment, Environment::Test);
        assert_eq!(settings.auth.bcrypt_cost, 4);
        assert_eq!(settings.server.port, 0);
    }

    #[test]
    fn production_refuses_a_missing_or_short_secret() {
        let missing = Settings::load(&config_dir(), &env(&[("ROOKERY_ENV", "production")]));
        assert!(missing.unwrap_err().0.contains("JWT_SECRET"));
        let short = Settings::load(
            &config_dir(),
            &env(&[("ROOKERY_ENV", "production"), ("JWT_SECRET", "short")]),
        );
        assert!(short.unwrap_err().0.contains("at least 32 bytes"));
        let good = Settings::load(
            &config_dir(),
            &env(&[
                ("ROOKERY_ENV", "production"),
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ]),
        );
        assert!(good.is_ok());
    }

    #[test]
    fn an_unknown_environment_is_refused() {
        let err = Settings::load(&config_dir(), &env(&[("ROOKERY_ENV", "staging")])).unwrap_err();
        assert!(err.0.contains("ROOKERY_ENV"));
    }

    #[test]
    fn the_secret_never_appears_in_debug_output() {
        let settings =
            Settings::load(&config_dir(), &env(&[("JWT_SECRET", "super-secret-value")])).unwrap();
        assert!(!format!("{settings:?}").contains("super-secret-value"));
    }
}
