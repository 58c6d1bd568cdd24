//! Typed configuration: `credence.toml` (or `--config FILE`) overridden by `CREDENCE_*`
//! environment variables. Read once in `main` and passed down; there is no global config.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Everything the service needs to start. A key it does not know is an error, not a silent
/// default: `databse_url` in the file or `CREDENCE_DATABSE_URL` in the environment stops the
/// server, naming the key.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://credence.db` (the default) or `postgres://user@host/db`.
    pub database_url: Secret,
    /// Address to listen on.
    pub bind: String,
    /// The organization name shown on every customer.
    pub organization: String,
    /// The organization currency (ISO 4217); exchange rates are relative to it.
    pub currency: String,
    /// Database connections per pool.
    pub pool_size: u32,
    /// How long a request waits for a connection before it is answered `503`, in milliseconds.
    pub pool_timeout_ms: u64,
    /// Largest JSON or form body, in bytes.
    pub body_limit: usize,
    /// `json` (default) for one JSON object per log line, `pretty` for humans.
    pub log_format: LogFormat,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// How long a request may take before it is answered `503 request_timeout`, in seconds.
    pub request_timeout_secs: u64,
    /// How long a reservation holds credit when the request names no `expiresIn`, in seconds.
    pub reservation_expiry_secs: u64,
    /// How often each replica sweeps expired reservations and old idempotency keys, in seconds.
    pub sweep_interval_secs: u64,
    /// When set, an admin key with this secret is made sure to exist at start (first boot,
    /// tests). At least 16 printable characters.
    pub admin_key: Option<Secret>,
    /// Largest uploaded document (`POST /documents/content`), in bytes; larger is `413`.
    pub max_document_bytes: u64,
    /// Most documents one customer may carry.
    pub max_documents_per_customer: u32,
    /// Where document and logo bytes are kept: unset (the default) keeps them in the database,
    /// so every replica sees them; a directory keeps them as files there instead.
    pub blob_dir: Option<PathBuf>,
    /// Most requests processed at once; beyond it a request is answered `503 overloaded` at
    /// once instead of waiting in a queue that grows without bound.
    pub max_in_flight: usize,
    /// Requests per second each credential may make (a token bucket refilled at this rate).
    pub rate_limit_per_second: u32,
    /// How many requests a credential may make at once after a quiet spell (the bucket size).
    pub rate_limit_burst: u32,
    /// Failed authentications (`401`/`403`) one client address may make per minute.
    pub auth_failures_per_minute: u32,
    /// After SIGTERM, how long the listener keeps accepting (while `/health/ready` says `503`)
    /// so load balancers move traffic away first, in seconds.
    pub shutdown_drain_secs: u64,
    /// How long an authenticated key is trusted without asking the database again, in whole
    /// seconds (0: ask on every request). A key revoked on another replica keeps working for
    /// at most this long.
    pub auth_cache_secs: u64,
    /// Whether webhook URLs may point to loopback, private (RFC 1918, `fc00::/7`),
    /// link-local or unspecified addresses. Off by default: a webhook is a request the server
    /// makes for a client, and must not reach the network behind it.
    pub webhook_allow_private_networks: bool,
    /// How long events stay in the feed, in days (0: for ever). Each replica's sweeper
    /// removes older ones.
    pub event_retention_days: u32,
    /// How long a webhook receiver has to answer a delivery, in seconds; no answer in time
    /// is a failed attempt.
    pub webhook_timeout_secs: u64,
    /// The wait before a failed delivery's first retry, in seconds; it doubles after each
    /// further failure (at most a day).
    pub webhook_retry_base_secs: u64,
    /// Attempts per delivery, the first included; after the last failure the delivery has
    /// failed for good.
    pub webhook_max_attempts: u32,
    /// An endpoint whose last this-many events all failed for good is disabled (0: never).
    pub webhook_disable_after: u32,
    /// Origins that browsers may call the API from (`https://app.example.com`); empty, the
    /// default, turns CORS off. As a variable, comma-separated.
    pub cors_origins: Vec<String>,
    /// When set, `GET /metrics` answers only requests bearing this token; unset, it is open
    /// (keep it on a network only the scraper reaches).
    pub metrics_key: Option<Secret>,
    /// Four-eyes limit changes: a change that raises a credit limit above this amount (in the
    /// organization currency; other currencies are valued at their configured exchange rate)
    /// does not apply but waits for another admin's approval. Unset (the default): every
    /// change applies at once.
    pub credit_limit_approval_above: Option<Decimal>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// A value that must never reach a log line (database URLs carry passwords).
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that needs it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Written as `***`: a configuration is only ever written to show its defaults.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url)
            .field("bind", &self.bind)
            .field("organization", &self.organization)
            .field("currency", &self.currency)
            .field("pool_size", &self.pool_size)
            .field("pool_timeout_ms", &self.pool_timeout_ms)
            .field("body_limit", &self.body_limit)
            .field("log_format", &self.log_format)
            .field("workers", &self.workers)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("reservation_expiry_secs", &self.reservation_expiry_secs)
            .field("sweep_interval_secs", &self.sweep_interval_secs)
            .field("admin_key", &self.admin_key)
            .field("max_document_bytes", &self.max_document_bytes)
            .field(
                "max_documents_per_customer",
                &self.max_documents_per_customer,
            )
            .field("blob_dir", &self.blob_dir)
            .field("max_in_flight", &self.max_in_flight)
            .field("rate_limit_per_second", &self.rate_limit_per_second)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("auth_failures_per_minute", &self.auth_failures_per_minute)
            .field("shutdown_drain_secs", &self.shutdown_drain_secs)
            .field("auth_cache_secs", &self.auth_cache_secs)
            .field(
                "webhook_allow_private_networks",
                &self.webhook_allow_private_networks,
            )
            .field("event_retention_days", &self.event_retention_days)
            .field("webhook_timeout_secs", &self.webhook_timeout_secs)
            .field("webhook_retry_base_secs", &self.webhook_retry_base_secs)
            .field("webhook_max_attempts", &self.webhook_max_attempts)
            .field("webhook_disable_after", &self.webhook_disable_after)
            .field("cors_origins", &self.cors_origins)
            .field("metrics_key", &self.metrics_key)
            .field(
                "credit_limit_approval_above",
                &self.credit_limit_approval_above,
            )
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: Secret::new("sqlite://credence.db"),
            bind: "127.0.0.1:8080".into(),
            organization: "credence".into(),
            currency: "EUR".into(),
            pool_size: 8,
            pool_timeout_ms: 500,
            body_limit: 256 * 1024,
            log_format: LogFormat::Json,
            workers: 0,
            request_timeout_secs: 30,
            reservation_expiry_secs: 900,
            sweep_interval_secs: 30,
            admin_key: None,
            max_document_bytes: 10 * 1024 * 1024,
            max_documents_per_customer: 100,
            blob_dir: None,
            max_in_flight: 512,
            rate_limit_per_second: 100,
            rate_limit_burst: 200,
            auth_failures_per_minute: 60,
            shutdown_drain_secs: 5,
            auth_cache_secs: 1,
            webhook_allow_private_networks: false,
            event_retention_days: 30,
            webhook_timeout_secs: 10,
            webhook_retry_base_secs: 10,
            webhook_max_attempts: 12,
            webhook_disable_after: 50,
            cors_origins: Vec::new(),
            metrics_key: None,
            credit_limit_approval_above: None,
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` does not exist.
    #[error("configuration file {0} not found")]
    MissingFile(PathBuf),
    /// A key of the file that is no setting.
    #[error("unknown setting {key} in {file}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The file.
        file: String,
    },
    /// A `CREDENCE_*` environment variable that names no setting.
    #[error("unknown setting {0} in the environment")]
    UnknownVariable(String),
    /// The file or an environment variable does not parse.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
}

/// The prefix of the environment variables read as settings.
const PREFIX: &str = "CREDENCE_";

/// Variables with the prefix that are not settings, read by other parts: the test suite's
/// PostgreSQL server.
const NOT_SETTINGS: &[&str] = &["CREDENCE_TEST_POSTGRES_URL"];

/// The first `CREDENCE_*` variable set to nothing that names no setting. An empty variable
/// reads as unset (`CREDENCE_ADMIN_KEY=` turns the key off), so the settings never see it and
/// cannot refuse it: a misspelt name would otherwise pass in silence whenever it is empty.
fn unknown_empty_variable() -> Option<String> {
    let defaults = serde_json::to_value(Config::default()).ok()?;
    let settings = defaults.as_object()?;
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
        .find(|(name, value)| {
            value.is_empty()
                && !NOT_SETTINGS.contains(&name.as_str())
                && name
                    .strip_prefix(PREFIX)
                    .is_some_and(|key| !settings.contains_key(&key.to_lowercase()))
        })
        .map(|(name, _)| name)
}

/// The file read when `--config` is not given (optional).
pub const DEFAULT_FILE: &str = "credence.toml";

impl Config {
    /// Reads `file` (required when given, else `credence.toml` if present) and then the
    /// `CREDENCE_*` environment variables, which win.
    ///
    /// # Errors
    /// [`ConfigError`] when the file is missing or a value does not parse.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let source = match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.to_owned())),
            Some(path) => config::File::from(path).required(true),
            None => config::File::with_name(DEFAULT_FILE).required(false),
        };
        let file_name = file.map_or_else(|| DEFAULT_FILE.to_owned(), |p| p.display().to_string());
        if let Some(variable) = unknown_empty_variable() {
            return Err(ConfigError::UnknownVariable(variable));
        }
        let settings = config::Config::builder()
            .add_source(source.format(config::FileFormat::Toml))
            .add_source(Self::environment())
            .build()?;
        settings.try_deserialize().map_err(|error| {
            let Some(key) = unknown_field(&error.to_string()) else {
                return ConfigError::Invalid(error);
            };
            let variable = format!("{PREFIX}{}", key.to_uppercase());
            if std::env::var_os(&variable).is_some() && !NOT_SETTINGS.contains(&variable.as_str()) {
                ConfigError::UnknownVariable(variable)
            } else {
                ConfigError::UnknownKey {
                    key,
                    file: file_name,
                }
            }
        })
    }

    /// Reads the configuration without the environment variables that are no settings
    /// ([`NOT_SETTINGS`]), which would otherwise be unknown keys.
    fn environment() -> config::Environment {
        let variables = std::env::vars()
            .filter(|(name, _)| name.starts_with(PREFIX) && !NOT_SETTINGS.contains(&name.as_str()))
            .collect();
        config::Environment::with_prefix("CREDENCE")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .ignore_empty(true)
            .list_separator(",")
            .with_list_parse_key("cors_origins")
            .source(Some(variables))
    }

    /// The pool checkout time-out.
    #[must_use]
    pub fn pool_timeout(&self) -> Duration {
        Duration::from_millis(self.pool_timeout_ms)
    }
}

/// Every setting with its default and its environment variable, for `credence serve --help`:
/// written from [`Config::default`] itself, so the list is always whole and true.
#[must_use]
pub fn settings_help() -> String {
    let defaults = Config::default();
    let Ok(serde_json::Value::Object(values)) = serde_json::to_value(&defaults) else {
        return String::new();
    };
    let shown = |key: &str, value: &serde_json::Value| match (key, value) {
        // The one secret whose default is no secret.
        ("database_url", _) => defaults.database_url.expose().to_owned(),
        (_, serde_json::Value::Null) => "(none)".to_owned(),
        (_, serde_json::Value::String(text)) => text.clone(),
        (_, other) => other.to_string(),
    };
    let rows: Vec<(String, String, String)> = values
        .iter()
        .map(|(key, value)| {
            (
                key.clone(),
                shown(key, value),
                format!("{PREFIX}{}", key.to_uppercase()),
            )
        })
        .collect();
    let width = |pick: fn(&(String, String, String)) -> &String| {
        rows.iter().map(|r| pick(r).len()).max().unwrap_or(0)
    };
    let (key_width, default_width) = (width(|r| &r.0), width(|r| &r.1));
    let mut help = String::from(
        "Settings (in credence.toml, or as environment variables, which win; an unknown one \
         stops Credence):\n",
    );
    for (key, default, variable) in rows {
        help.push_str(&format!(
            "  {key:<key_width$}  {default:<default_width$}  {variable}\n"
        ));
    }
    help
}

/// The key serde names in an "unknown field" error, if that is the error.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    rest.split('`').next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_lists_every_setting_with_its_default_and_variable() {
        let help = settings_help();
        // The settings a file may hold, as serde names them when refusing another one.
        let refusal = toml_refusal();
        let expected: Vec<&str> = refusal
            .split("expected one of ")
            .nth(1)
            .unwrap_or_default()
            .split(", ")
            .map(|name| name.trim().trim_matches('`'))
            .collect();
        assert!(expected.len() > 20, "{refusal}");
        for key in &expected {
            let line = help
                .lines()
                .find(|line| line.split_whitespace().next() == Some(key))
                .unwrap_or_else(|| panic!("{key} is not in the help:\n{help}"));
            assert!(
                line.ends_with(&format!("CREDENCE_{}", key.to_uppercase())),
                "{line}"
            );
        }
        assert_eq!(help.lines().count(), expected.len() + 1, "{help}");
        assert!(help.contains("sqlite://credence.db"), "{help}");
        assert!(help.contains("webhook_timeout_secs"), "{help}");
    }

    fn toml_refusal() -> String {
        let dir = std::env::temp_dir().join(format!("credence-help-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let file = dir.join("unknown.toml");
        std::fs::write(&file, "no_such_setting = 1\n").unwrap_or_default();
        let refusal = match Config::load(Some(&file)) {
            Err(ConfigError::UnknownKey { .. }) => {
                let settings = config::Config::builder()
                    .add_source(config::File::from(file.as_path()))
                    .build()
                    .map(|c| c.try_deserialize::<Config>());
                match settings {
                    Ok(Err(error)) => error.to_string(),
                    other => format!("{:?}", other.map(|_| ())),
                }
            }
            other => format!("{:?}", other.map(|_| ())),
        };
        let _ = std::fs::remove_dir_all(&dir);
        refusal
    }
}
