//! Configuration: where a setting comes from, and validation with errors a person can act on.
//!
//! Precedence, highest first: command-line flag, `YUNYI_*` environment variable, `yunyi.toml`,
//! built-in default. Every error names the value, where it came from and what to do, because
//! the first thing a newcomer meets is a typo in one of these.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Default address: loopback only, so a first run never exposes patient data to the network.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./yunyi-data";
pub const DEFAULT_CONFIG_FILE: &str = "yunyi.toml";
/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "yunyi.db";

/// A raw setting and where it came from, before validation.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "from {name}"),
            Source::Env(name) => write!(f, "from the environment variable {name}"),
            Source::File(path) => write!(f, "from {}", path.display()),
            Source::Default => write!(f, "the default"),
        }
    }
}

/// The optional `yunyi.toml`. Unknown keys are an error: a misspelt key silently ignored
/// is a setting the operator believes is in force but is not.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub step_up_minutes: Option<u64>,
    /// Hours the specialist keeps the shared items after signing a remote consultation's report.
    pub teleconsult_read_hours: Option<u64>,
    /// Who may break the glass: `seen` (default) or `anywhere`.
    pub break_glass: Option<String>,
    /// `on` (default) or `off`: HSTS on responses to https requests.
    pub hsts: Option<String>,
    /// `HH:MM-HH:MM` (China time) or `off`: when non-urgent SMS wait (default 22:00-08:00).
    pub quiet_hours: Option<String>,
    /// Places with an outbreak now: fever after travel there sends a patient to the fever
    /// clinic in triage (until the screening context manages the list).
    pub outbreak_areas: Option<Vec<String>>,
    /// STUN/TURN servers for video calls.
    pub ice_servers: Option<Vec<String>>,
    /// Where blobs live when not in `DATA_DIR/blobs`: `s3+https://host/bucket/prefix`.
    pub blob_url: Option<String>,
}

impl FileSettings {
    /// Reads the file if it exists. `required` is true when the operator named the file
    /// explicitly, so a missing file is then an error instead of "no file".
    pub fn load(path: &Path, required: bool) -> Result<Option<Self>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
            Err(e) => {
                return Err(ConfigError(format!(
                    "cannot read the configuration file '{}': {e}",
                    path.display()
                )));
            }
        };
        toml::from_str(&text).map(Some).map_err(|e| {
            ConfigError(format!(
                "configuration file '{}' is not valid: {}",
                path.display(),
                e.message()
            ))
        })
    }
}

/// One clear sentence for the operator; the CLI prints it and exits non-zero.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Which database to use, validated.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// The embedded default: a file in the data directory.
    Sqlite { path: PathBuf },
    /// `postgres://…` or `postgresql://…`, kept whole because it may carry options.
    Postgres { url: String },
}

impl DatabaseTarget {
    pub fn parse(raw: &str, source: &Source) -> Result<Self, ConfigError> {
        let raw = raw.trim();
        if let Some(rest) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(ConfigError(format!(
                    "database URL '{raw}' ({source}) names no file: use sqlite:/path/to/yunyi.db"
                )));
            }
            return Ok(Self::Sqlite {
                path: PathBuf::from(path),
            });
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return match url::Url::parse(raw) {
                Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
                    Ok(Self::Postgres {
                        url: raw.to_owned(),
                    })
                }
                Ok(_) => Err(ConfigError(format!(
                    "database URL '{}' ({source}) names no host: use postgres://user:password@host:5432/dbname",
                    redact_url(raw)
                ))),
                Err(e) => Err(ConfigError(format!(
                    "database URL '{}' ({source}) cannot be parsed ({e}): use postgres://user:password@host:5432/dbname",
                    redact_url(raw)
                ))),
            };
        }
        let scheme = raw.split(':').next().unwrap_or(raw);
        Err(ConfigError(format!(
            "database URL '{}' ({source}) uses an unsupported scheme '{scheme}': use postgres://… for PostgreSQL, or leave it unset for the embedded SQLite database",
            redact_url(raw)
        )))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

/// Shown in logs and errors: never the password.
impl fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => write!(f, "sqlite:{}", path.display()),
            Self::Postgres { url } => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Replaces the password in a URL with `***`; leaves text that is not a URL as it is.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot have one, which we checked.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// Background job settings. Tests shorten the intervals; production keeps the defaults.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Run the worker loop in this process.
    pub enabled: bool,
    /// How long an idle worker sleeps before looking for due jobs again.
    pub poll_interval: Duration,
    /// How long a claimed job is reserved for its worker before another may take it over.
    pub lease: Duration,
    /// First retry delay; doubled on each further failure up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(300),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

/// HTTP limits, kept in one place so operators and tests can see them.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 2 * 1024 * 1024,
        }
    }
}

/// Sign-in lifetimes.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Browser session (cookie) lifetime.
    pub session_ttl: Duration,
    /// Bearer token lifetime.
    pub token_ttl: Duration,
    /// How long a doctor's identity step-up check is remembered within a session.
    pub step_up_ttl: Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            token_ttl: Duration::from_secs(3600),
            step_up_ttl: Duration::from_secs(4 * 3600),
        }
    }
}

/// Who may break the glass: clinicians of a hospital where the patient has been seen (a care
/// link there, now or before), or any clinician of any hospital.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakGlassScope {
    Seen,
    Anywhere,
}

/// Security settings an operator may change.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    pub break_glass: BreakGlassScope,
    /// Send `Strict-Transport-Security` on responses to requests that came over https.
    pub hsts: bool,
    /// A bearer token that opens `/metrics` from other addresses than loopback
    /// (`YUNYI_METRICS_TOKEN`); without it `/metrics` answers loopback only.
    pub metrics_token: Option<Secret>,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            break_glass: BreakGlassScope::Seen,
            hsts: true,
            metrics_token: None,
        }
    }
}

/// Parses `seen` or `anywhere`.
fn parse_break_glass(raw: &Sourced<String>) -> Result<BreakGlassScope, ConfigError> {
    match raw.value.trim() {
        "seen" => Ok(BreakGlassScope::Seen),
        "anywhere" => Ok(BreakGlassScope::Anywhere),
        other => Err(ConfigError(format!(
            "break-glass scope '{other}' ({}) must be seen (clinicians of a hospital where the patient has been seen) or anywhere",
            raw.source
        ))),
    }
}

/// Parses `on` or `off`.
fn parse_switch(name: &str, raw: &Sourced<String>) -> Result<bool, ConfigError> {
    match raw.value.trim() {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        other => Err(ConfigError(format!(
            "{name} '{other}' ({}) must be on or off",
            raw.source
        ))),
    }
}

/// Prescription rules that local policy sets.
#[derive(Debug, Clone)]
pub struct PharmacyConfig {
    /// How many days a prescription may cover (ordinary, chronic, stable chronic).
    pub limits: crate::pharmacy::checks::Policy,
    /// How long an approved prescription waits for payment before it expires.
    pub pay_within: Duration,
}

impl Default for PharmacyConfig {
    fn default() -> Self {
        Self {
            limits: crate::pharmacy::checks::Policy::default(),
            pay_within: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

/// Appointment rules that operators tune.
#[derive(Debug, Clone)]
pub struct SchedulingConfig {
    /// How long a freed place is held for the waitlisted patient it is offered to.
    pub waitlist_hold: Duration,
}

impl Default for SchedulingConfig {
    fn default() -> Self {
        Self {
            waitlist_hold: Duration::from_secs(15 * 60),
        }
    }
}

/// How notifications go out (see `notification`).
#[derive(Debug, Clone)]
pub struct NotificationConfig {
    /// When non-urgent SMS wait for the morning; `None`: never.
    pub quiet_hours: Option<crate::notification::model::QuietHours>,
    /// The most non-urgent SMS one person gets in an hour; the rest stay in the inbox.
    pub sms_per_hour: i64,
    /// The most non-urgent pushes one person's browsers get in an hour.
    pub web_push_per_hour: i64,
    /// The most non-urgent WeChat messages one person gets in an hour.
    pub wechat_per_hour: i64,
    /// Aliyun SMS; `None`: messages are logged (and kept at `/dev/inbox` in demo mode).
    pub aliyun_sms: Option<crate::notification::aliyun_sms::AliyunSmsConfig>,
    /// Whom push services may contact about this server's pushes (VAPID `sub`).
    pub web_push_subject: String,
    /// The push services browsers' subscriptions may point at (`scheme://host[:port]`, a
    /// leading `*.` for any subdomain): this server posts to those addresses, so a made-up
    /// "subscription" must not turn it against the hospital's own network.
    pub push_services: Vec<String>,
    /// The hospital's WeChat official account; `None`: no WeChat channel.
    pub wechat: Option<crate::notification::wechat::WeChatConfig>,
}

/// The push services of the browsers people use: Chrome and Edge (FCM), Firefox, Safari,
/// and Windows' own.
pub const PUSH_SERVICES: [&str; 5] = [
    "https://fcm.googleapis.com",
    "https://updates.push.services.mozilla.com",
    "https://*.push.apple.com",
    "https://*.notify.windows.com",
    "https://*.push.services.mozilla.com",
];

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            quiet_hours: Some(crate::notification::model::QuietHours::default()),
            sms_per_hour: 5,
            web_push_per_hour: 20,
            wechat_per_hour: 10,
            aliyun_sms: None,
            web_push_subject: "mailto:webpush@yunyi.invalid".to_owned(),
            push_services: PUSH_SERVICES.iter().map(|s| (*s).to_owned()).collect(),
            wechat: None,
        }
    }
}

impl NotificationConfig {
    /// The most non-urgent messages one person gets by `channel` in an hour.
    pub fn per_hour(&self, channel: crate::notification::model::Channel) -> i64 {
        use crate::notification::model::Channel;
        match channel {
            Channel::Sms => self.sms_per_hour,
            Channel::WebPush => self.web_push_per_hour,
            Channel::WeChat => self.wechat_per_hour,
        }
    }

    /// Whether this server may post to a subscription's endpoint.
    pub fn push_service_allowed(&self, endpoint: &url::Url) -> bool {
        let Some(host) = endpoint.host_str() else {
            return false;
        };
        let port = endpoint.port_or_known_default();
        self.push_services.iter().any(|allowed| {
            let Ok(a) = url::Url::parse(&allowed.replace("*.", "wildcard.")) else {
                return false;
            };
            let Some(a_host) = a.host_str() else {
                return false;
            };
            let host_ok = match a_host.strip_prefix("wildcard.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => host == a_host,
            };
            a.scheme() == endpoint.scheme() && host_ok && a.port_or_known_default() == port
        })
    }
}

/// The WeChat variables as given.
#[derive(Debug, Clone, Default)]
pub struct RawWeChat {
    pub app_id: Option<String>,
    pub app_secret: Option<Secret>,
    pub token: Option<Secret>,
    pub aes_key: Option<Secret>,
    pub page_base: Option<String>,
    pub templates: Option<String>,
    pub api: Option<String>,
}

impl RawWeChat {
    /// From `YUNYI_WECHAT_*`; `None` when none of them is set.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let raw = Self {
            app_id: var("YUNYI_WECHAT_APP_ID"),
            app_secret: var("YUNYI_WECHAT_APP_SECRET").map(Secret),
            token: var("YUNYI_WECHAT_TOKEN").map(Secret),
            aes_key: var("YUNYI_WECHAT_AES_KEY").map(Secret),
            page_base: var("YUNYI_WECHAT_PAGE_BASE"),
            templates: var("YUNYI_WECHAT_TEMPLATES"),
            api: var("YUNYI_WECHAT_API"),
        };
        let any = raw.app_id.is_some() || raw.app_secret.is_some() || raw.token.is_some();
        any.then_some(raw)
    }

    pub fn validate(&self) -> Result<crate::notification::wechat::WeChatConfig, ConfigError> {
        use crate::notification::wechat::{DEFAULT_API, WeChatConfig, parse_templates};
        let missing = |name: &str| {
            ConfigError(format!(
                "WeChat needs {name} too (set YUNYI_WECHAT_APP_ID, YUNYI_WECHAT_APP_SECRET, \
                 YUNYI_WECHAT_TOKEN, YUNYI_WECHAT_PAGE_BASE and YUNYI_WECHAT_TEMPLATES together)"
            ))
        };
        let templates = parse_templates(
            self.templates
                .as_deref()
                .ok_or_else(|| missing("YUNYI_WECHAT_TEMPLATES"))?,
        )
        .map_err(|e| {
            ConfigError(format!(
                "YUNYI_WECHAT_TEMPLATES: {e}; write event=TEMPLATE_ID pairs separated by commas, \
                 e.g. consultation.accepted=AbC123|title=thing1|body=thing2|time=time3"
            ))
        })?;
        let page_base = self
            .page_base
            .clone()
            .ok_or_else(|| missing("YUNYI_WECHAT_PAGE_BASE"))?;
        if !page_base.starts_with("https://") && !page_base.starts_with("http://") {
            return Err(ConfigError(format!(
                "YUNYI_WECHAT_PAGE_BASE '{page_base}' must be the address patients open, \
                 e.g. https://yy.example-hospital.cn"
            )));
        }
        if let Some(key) = &self.aes_key {
            if key.0.len() != 43 {
                return Err(ConfigError(
                    "YUNYI_WECHAT_AES_KEY must be the 43-character EncodingAESKey".to_owned(),
                ));
            }
        }
        Ok(WeChatConfig {
            api: self
                .api
                .clone()
                .unwrap_or_else(|| DEFAULT_API.to_owned())
                .trim_end_matches('/')
                .to_owned(),
            app_id: self
                .app_id
                .clone()
                .ok_or_else(|| missing("YUNYI_WECHAT_APP_ID"))?,
            app_secret: self
                .app_secret
                .clone()
                .ok_or_else(|| missing("YUNYI_WECHAT_APP_SECRET"))?,
            token: self
                .token
                .clone()
                .ok_or_else(|| missing("YUNYI_WECHAT_TOKEN"))?,
            aes_key: self.aes_key.clone(),
            page_base,
            templates,
        })
    }
}

/// The Aliyun SMS variables as given.
#[derive(Debug, Clone, Default)]
pub struct RawAliyunSms {
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<Secret>,
    pub sign_name: Option<String>,
    pub templates: Option<String>,
    pub endpoint: Option<String>,
}

impl RawAliyunSms {
    /// From `YUNYI_ALIYUN_SMS_*`; `None` when none of them is set.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let raw = Self {
            access_key_id: var("YUNYI_ALIYUN_SMS_ACCESS_KEY_ID"),
            access_key_secret: var("YUNYI_ALIYUN_SMS_ACCESS_KEY_SECRET").map(Secret),
            sign_name: var("YUNYI_ALIYUN_SMS_SIGN_NAME"),
            templates: var("YUNYI_ALIYUN_SMS_TEMPLATES"),
            endpoint: var("YUNYI_ALIYUN_SMS_ENDPOINT"),
        };
        let any = raw.access_key_id.is_some()
            || raw.access_key_secret.is_some()
            || raw.sign_name.is_some()
            || raw.templates.is_some();
        any.then_some(raw)
    }

    fn validate(&self) -> Result<crate::notification::aliyun_sms::AliyunSmsConfig, ConfigError> {
        use crate::notification::aliyun_sms::{AliyunSmsConfig, DEFAULT_ENDPOINT, parse_templates};
        let missing = |name: &str| {
            ConfigError(format!(
                "Aliyun SMS needs {name} too (set YUNYI_ALIYUN_SMS_ACCESS_KEY_ID, \
                 YUNYI_ALIYUN_SMS_ACCESS_KEY_SECRET, YUNYI_ALIYUN_SMS_SIGN_NAME and \
                 YUNYI_ALIYUN_SMS_TEMPLATES together)"
            ))
        };
        let templates = parse_templates(
            self.templates
                .as_deref()
                .ok_or_else(|| missing("YUNYI_ALIYUN_SMS_TEMPLATES"))?,
        )
        .map_err(|e| {
            ConfigError(format!(
                "YUNYI_ALIYUN_SMS_TEMPLATES: {e}; write kind=TEMPLATE_CODE pairs separated by commas, \
                 e.g. otp.login=SMS_123,appointment.booked=SMS_456"
            ))
        })?;
        Ok(AliyunSmsConfig {
            endpoint: self
                .endpoint
                .clone()
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
            access_key_id: self
                .access_key_id
                .clone()
                .ok_or_else(|| missing("YUNYI_ALIYUN_SMS_ACCESS_KEY_ID"))?,
            access_key_secret: self
                .access_key_secret
                .clone()
                .ok_or_else(|| missing("YUNYI_ALIYUN_SMS_ACCESS_KEY_SECRET"))?,
            sign_name: self
                .sign_name
                .clone()
                .ok_or_else(|| missing("YUNYI_ALIYUN_SMS_SIGN_NAME"))?,
            templates,
        })
    }
}

fn parse_quiet_hours(
    raw: &Sourced<String>,
) -> Result<Option<crate::notification::model::QuietHours>, ConfigError> {
    let value = raw.value.trim();
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    crate::notification::model::QuietHours::parse(value)
        .map(Some)
        .ok_or_else(|| {
            ConfigError(format!(
                "quiet hours '{}' ({}) must be HH:MM-HH:MM in China time, e.g. 22:00-08:00, or off",
                raw.value, raw.source
            ))
        })
}

/// Triage settings.
#[derive(Debug, Clone, Default)]
pub struct TriageConfig {
    /// Places with an outbreak now (names as patients write them).
    pub outbreak_areas: Vec<String>,
}

/// Consultation settings.
#[derive(Debug, Clone)]
pub struct ConsultConfig {
    /// How long after signing a remote consultation's report its specialist may still read
    /// the shared items (addenda, the inviting doctor's questions).
    pub teleconsult_read_after: Duration,
    /// STUN/TURN server URLs the browsers use to connect video calls.
    pub ice_servers: Vec<String>,
    /// The secret shared with the TURN server, for time-limited credentials (`consult::ice`).
    pub turn_secret: Option<Secret>,
}

impl Default for ConsultConfig {
    fn default() -> Self {
        Self {
            teleconsult_read_after: Duration::from_secs(72 * 3600),
            ice_servers: Vec::new(),
            turn_secret: None,
        }
    }
}

/// ICE server URLs from one comma-separated setting: each `stun:`, `turn:` or `turns:`.
fn parse_ice_servers(raw: &Sourced<String>) -> Result<Vec<String>, ConfigError> {
    let urls: Vec<String> = raw
        .value
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    for url in &urls {
        let scheme_ok = ["stun:", "turn:", "turns:"]
            .iter()
            .any(|s| url.starts_with(s));
        if !scheme_ok || url.len() > 200 || url.contains(char::is_whitespace) {
            return Err(ConfigError(format!(
                "ICE server '{url}' ({}) must be a stun:, turn: or turns: URL such as stun:stun.example.cn:3478",
                raw.source
            )));
        }
    }
    Ok(urls)
}

/// A TURN secret without a TURN server to use it is a setting that does nothing: refused.
fn check_turn_secret(consult: &ConsultConfig) -> Result<(), ConfigError> {
    let has_turn = consult
        .ice_servers
        .iter()
        .any(|u| u.starts_with("turn:") || u.starts_with("turns:"));
    if consult.turn_secret.is_some() && !has_turn {
        return Err(ConfigError(
            "YUNYI_TURN_SECRET is set but no turn: or turns: server is configured (--ice-servers)"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Most outbreak areas accepted, and longest name in characters.
const MAX_OUTBREAK_AREAS: usize = 500;
const MAX_AREA_CHARS: usize = 40;

/// Outbreak areas from one comma-separated setting (`,`, `，` or `、`).
fn parse_outbreak_areas(raw: &Sourced<String>) -> Result<Vec<String>, ConfigError> {
    let areas: Vec<String> = raw
        .value
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    if areas.len() > MAX_OUTBREAK_AREAS || areas.iter().any(|a| a.chars().count() > MAX_AREA_CHARS)
    {
        return Err(ConfigError(format!(
            "outbreak areas ({}) must be at most {MAX_OUTBREAK_AREAS} names of at most {MAX_AREA_CHARS} characters, separated by commas",
            raw.source
        )));
    }
    Ok(areas)
}

/// Where large files go (see `blob/`).
#[derive(Debug, Clone, Default)]
pub enum BlobTarget {
    /// `DATA_DIR/blobs`: one node, or several sharing that directory.
    #[default]
    Local,
    /// An S3-compatible object store.
    S3 {
        location: crate::blob::S3Location,
        credentials: crate::blob::s3::S3Credentials,
    },
}

/// Validates `blob_url` with the key pair from the environment.
pub fn parse_blob_target(
    url: &Sourced<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<Secret>,
) -> Result<BlobTarget, ConfigError> {
    let location = crate::blob::S3Location::parse(url.value.trim()).map_err(|why| {
        ConfigError(format!(
            "blob store URL '{}' ({}) {why}",
            url.value, url.source
        ))
    })?;
    let (Some(access_key_id), Some(secret_access_key)) = (access_key_id, secret_access_key) else {
        return Err(ConfigError(format!(
            "blob store URL '{}' ({}) needs the object store's key pair: set YUNYI_S3_ACCESS_KEY_ID and YUNYI_S3_SECRET_ACCESS_KEY",
            url.value, url.source
        )));
    };
    Ok(BlobTarget::S3 {
        location,
        credentials: crate::blob::s3::S3Credentials {
            access_key_id,
            secret_access_key,
        },
    })
}

/// A secret that `Debug` never prints.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The validated configuration the application runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseTarget,
    pub blobs: BlobTarget,
    pub jobs: JobsConfig,
    pub http: HttpConfig,
    pub identity: IdentityConfig,
    pub security: SecurityConfig,
    pub scheduling: SchedulingConfig,
    pub pharmacy: PharmacyConfig,
    pub notification: NotificationConfig,
    pub triage: TriageConfig,
    pub consult: ConsultConfig,
    /// The data encryption key (base64) from `YUNYI_DATA_KEY`; else the key file is used.
    pub data_key: Option<Secret>,
    /// Demo mode: demo data and the `/dev/inbox` page.
    pub demo: bool,
    /// Keep sent messages (with one-time codes) in memory: demo mode and tests only.
    pub dev_inbox: bool,
}

impl Config {
    /// A configuration for tests and embedding: loopback on a random port, the given data
    /// directory, the embedded database unless a URL is given.
    pub fn for_data_dir(
        data_dir: impl Into<PathBuf>,
        database_url: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let data_dir = data_dir.into();
        let database = match database_url {
            Some(url) => DatabaseTarget::parse(url, &Source::Default)?,
            None => DatabaseTarget::Sqlite {
                path: data_dir.join(SQLITE_FILE),
            },
        };
        Ok(Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database,
            blobs: BlobTarget::Local,
            jobs: JobsConfig::default(),
            http: HttpConfig::default(),
            identity: IdentityConfig::default(),
            security: SecurityConfig::default(),
            scheduling: SchedulingConfig::default(),
            pharmacy: PharmacyConfig::default(),
            notification: NotificationConfig::default(),
            triage: TriageConfig::default(),
            consult: ConsultConfig::default(),
            data_key: None,
            demo: false,
            dev_inbox: false,
        })
    }
}

/// Raw settings gathered from flags, environment and file, before validation.
#[derive(Debug, Clone)]
pub struct RawSettings {
    pub listen: Sourced<String>,
    pub data_dir: Sourced<PathBuf>,
    pub database_url: Option<Sourced<String>>,
    pub step_up_minutes: Option<Sourced<String>>,
    pub teleconsult_read_hours: Option<Sourced<String>>,
    pub break_glass: Option<Sourced<String>>,
    pub hsts: Option<Sourced<String>>,
    pub quiet_hours: Option<Sourced<String>>,
    /// From the `YUNYI_ALIYUN_SMS_*` variables only (the secret must not be in `ps`): the key
    /// id, secret, signature, template codes (`kind=CODE,…`) and an optional endpoint.
    pub aliyun_sms: Option<RawAliyunSms>,
    /// From the `YUNYI_WECHAT_*` variables only (the secret must not be in `ps`).
    pub wechat: Option<RawWeChat>,
    /// `YUNYI_WEB_PUSH_SUBJECT`: a `mailto:` or `https:` address push services may contact.
    pub web_push_subject: Option<Sourced<String>>,
    /// `YUNYI_WEB_PUSH_SERVICES`: the push services allowed, separated by commas.
    pub push_services: Option<Sourced<String>>,
    /// From `YUNYI_METRICS_TOKEN` only: a flag would show it in `ps`.
    pub metrics_token: Option<Secret>,
    pub outbreak_areas: Option<Sourced<String>>,
    pub ice_servers: Option<Sourced<String>>,
    /// From `YUNYI_TURN_SECRET` only: a flag would show it in `ps`.
    pub turn_secret: Option<Secret>,
    pub data_key: Option<Secret>,
    pub blob_url: Option<Sourced<String>>,
    /// From `YUNYI_S3_ACCESS_KEY_ID` and `YUNYI_S3_SECRET_ACCESS_KEY` only.
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
}

impl RawSettings {
    /// Validates every value. The data directory is created and probed for writing here,
    /// so a wrong directory fails at start and not at the first upload.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let listen = parse_listen(&self.listen.value, &self.listen.source)?;
        let data_dir = self.data_dir.value.clone();
        ensure_writable_dir(&data_dir, &self.data_dir.source)?;
        let database = match &self.database_url {
            Some(url) => DatabaseTarget::parse(&url.value, &url.source)?,
            None => DatabaseTarget::Sqlite {
                path: data_dir.join(SQLITE_FILE),
            },
        };
        let mut identity = IdentityConfig::default();
        if let Some(minutes) = &self.step_up_minutes {
            let n = minutes
                .value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=24 * 60).contains(n))
                .ok_or_else(|| {
                    ConfigError(format!(
                        "step-up period '{}' ({}) must be a whole number of minutes from 1 to 1440",
                        minutes.value, minutes.source
                    ))
                })?;
            identity.step_up_ttl = Duration::from_secs(n * 60);
        }
        let mut security = SecurityConfig {
            metrics_token: self.metrics_token.clone(),
            ..SecurityConfig::default()
        };
        if let Some(raw) = &self.break_glass {
            security.break_glass = parse_break_glass(raw)?;
        }
        if let Some(raw) = &self.hsts {
            security.hsts = parse_switch("hsts", raw)?;
        }
        let mut notification = NotificationConfig::default();
        if let Some(raw) = &self.quiet_hours {
            notification.quiet_hours = parse_quiet_hours(raw)?;
        }
        if let Some(raw) = &self.aliyun_sms {
            notification.aliyun_sms = Some(raw.validate()?);
        }
        if let Some(raw) = &self.wechat {
            notification.wechat = Some(raw.validate()?);
        }
        if let Some(raw) = &self.web_push_subject {
            let subject = raw.value.trim();
            if !subject.starts_with("mailto:") && !subject.starts_with("https://") {
                return Err(ConfigError(format!(
                    "web push subject '{}' ({}) must be a mailto: or https: address, \
                     e.g. mailto:it@example-hospital.cn",
                    raw.value, raw.source
                )));
            }
            notification.web_push_subject = subject.to_owned();
        }
        if let Some(raw) = &self.push_services {
            notification.push_services = raw
                .value
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(bad) = notification
                .push_services
                .iter()
                .find(|s| url::Url::parse(&s.replace("*.", "wildcard.")).is_err())
            {
                return Err(ConfigError(format!(
                    "push service '{bad}' ({}) must be scheme://host[:port], e.g. https://fcm.googleapis.com",
                    raw.source
                )));
            }
        }
        let triage = TriageConfig {
            outbreak_areas: match &self.outbreak_areas {
                Some(raw) => parse_outbreak_areas(raw)?,
                None => Vec::new(),
            },
        };
        let teleconsult_read_after = match &self.teleconsult_read_hours {
            Some(hours) => {
                let n = hours
                    .value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= 720)
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "teleconsult read window '{}' ({}) must be a whole number of hours from 0 to 720",
                            hours.value, hours.source
                        ))
                    })?;
                Duration::from_secs(n * 3600)
            }
            None => ConsultConfig::default().teleconsult_read_after,
        };
        let consult = ConsultConfig {
            teleconsult_read_after,
            ice_servers: match &self.ice_servers {
                Some(raw) => parse_ice_servers(raw)?,
                None => Vec::new(),
            },
            turn_secret: self.turn_secret.clone(),
        };
        check_turn_secret(&consult)?;
        let blobs = match &self.blob_url {
            Some(url) if !url.value.trim().is_empty() => parse_blob_target(
                url,
                self.s3_access_key_id.clone(),
                self.s3_secret_access_key.clone(),
            )?,
            _ => BlobTarget::Local,
        };
        Ok(Config {
            consult,
            listen,
            data_dir,
            database,
            blobs,
            jobs: JobsConfig::default(),
            http: HttpConfig::default(),
            identity,
            security,
            scheduling: SchedulingConfig::default(),
            pharmacy: PharmacyConfig::default(),
            notification,
            triage,
            data_key: self.data_key,
            demo: false,
            dev_inbox: false,
        })
    }
}

/// Accepts `IP:PORT`, `[IPv6]:PORT` or `hostname:PORT` (resolved once, at start).
pub fn parse_listen(raw: &str, source: &Source) -> Result<SocketAddr, ConfigError> {
    let raw = raw.trim();
    if let Ok(addr) = raw.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let hint = format!(
        "listen address '{raw}' ({source}) is not a valid HOST:PORT: use e.g. {DEFAULT_LISTEN} or 0.0.0.0:8080"
    );
    let Some((host, port)) = raw.rsplit_once(':') else {
        return Err(ConfigError(hint));
    };
    let Ok(port) = port.parse::<u16>() else {
        return Err(ConfigError(hint));
    };
    if host.is_empty() {
        return Err(ConfigError(hint));
    }
    match (host, port).to_socket_addrs().map(|mut it| it.next()) {
        Ok(Some(addr)) => Ok(SocketAddr::new(addr.ip(), addr.port())),
        _ => Err(ConfigError(format!(
            "listen address '{raw}' ({source}): the host '{host}' does not resolve: use an IP address such as 127.0.0.1"
        ))),
    }
}

/// Creates the directory if needed and proves we can write into it.
pub fn ensure_writable_dir(dir: &Path, source: &Source) -> Result<(), ConfigError> {
    let fail = |what: &str, e: std::io::Error| {
        ConfigError(format!(
            "data directory '{}' ({source}) {what}: {e}; choose a writable directory with --data-dir or YUNYI_DATA_DIR",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("cannot be created", e))?;
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(|e| fail("is not writable", e))?;
    std::fs::remove_file(&probe).map_err(|e| fail("is not writable", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_store_needs_its_key_pair_and_a_valid_url() {
        let url = Sourced {
            value: "s3+http://127.0.0.1:9000/yunyi".to_owned(),
            source: Source::Env("YUNYI_BLOB_URL"),
        };
        let err = parse_blob_target(&url, Some("key".to_owned()), None)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(err.contains("YUNYI_S3_SECRET_ACCESS_KEY"), "{err}");
        let ok = parse_blob_target(
            &url,
            Some("key".to_owned()),
            Some(Secret("secret".to_owned())),
        );
        assert!(matches!(ok, Ok(BlobTarget::S3 { .. })));
        let bad = Sourced {
            value: "minio://127.0.0.1:9000/yunyi".to_owned(),
            source: Source::Env("YUNYI_BLOB_URL"),
        };
        let err = parse_blob_target(&bad, Some("k".to_owned()), Some(Secret("s".to_owned())))
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(
            err.contains("YUNYI_BLOB_URL") && err.contains("s3+https://"),
            "{err}"
        );
    }

    #[test]
    fn a_turn_secret_needs_a_turn_server() {
        let mut consult = ConsultConfig {
            ice_servers: vec!["stun:stun.example.cn:3478".to_owned()],
            turn_secret: Some(Secret("s3cret".to_owned())),
            ..ConsultConfig::default()
        };
        let err = check_turn_secret(&consult).unwrap_err();
        assert!(err.0.contains("YUNYI_TURN_SECRET"), "{}", err.0);
        consult
            .ice_servers
            .push("turns:turn.example.cn:5349".to_owned());
        assert!(check_turn_secret(&consult).is_ok());
    }

    #[test]
    fn ice_servers_are_stun_or_turn_urls() {
        let raw = |v: &str| Sourced {
            value: v.to_owned(),
            source: Source::Flag("--ice-servers"),
        };
        assert_eq!(
            parse_ice_servers(&raw(
                " stun:stun.example.cn:3478, turns:turn.example.cn:5349 "
            )),
            Ok(vec![
                "stun:stun.example.cn:3478".to_owned(),
                "turns:turn.example.cn:5349".to_owned()
            ])
        );
        let err = parse_ice_servers(&raw("http://turn.example.cn")).unwrap_err();
        assert!(
            err.0.contains("--ice-servers") && err.0.contains("stun:"),
            "{}",
            err.0
        );
    }

    #[test]
    fn listen_accepts_ip_port_and_rejects_garbage() {
        let src = Source::Flag("--listen");
        assert_eq!(
            parse_listen("127.0.0.1:9000", &src).map(|a| a.port()),
            Ok(9000)
        );
        assert!(parse_listen("[::1]:80", &src).is_ok());
        assert!(parse_listen("localhost:8081", &src).is_ok());
        let err = parse_listen("abc", &src)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(err.contains("'abc'") && err.contains("--listen"), "{err}");
        assert!(parse_listen("127.0.0.1:99999", &src).is_err());
        assert!(parse_listen(":80", &src).is_err());
    }

    #[test]
    fn database_urls_are_classified_and_passwords_hidden() {
        let src = Source::Env("YUNYI_DATABASE_URL");
        assert_eq!(
            DatabaseTarget::parse("sqlite:/tmp/x.db", &src),
            Ok(DatabaseTarget::Sqlite {
                path: PathBuf::from("/tmp/x.db")
            })
        );
        let pg = DatabaseTarget::parse("postgres://u:secret@db:5432/yunyi", &src);
        assert!(matches!(pg, Ok(DatabaseTarget::Postgres { .. })));
        let shown = pg.map(|t| t.to_string()).unwrap_or_default();
        assert!(
            !shown.contains("secret") && shown.contains("***"),
            "{shown}"
        );
        let err = DatabaseTarget::parse("mysql://u:secret@h/db", &src)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(err.contains("mysql") && !err.contains("secret"), "{err}");
        assert!(DatabaseTarget::parse("sqlite:", &src).is_err());
    }

    #[test]
    fn unknown_keys_in_the_file_are_rejected() {
        let dir = std::env::temp_dir().join(format!("yunyi-cfg-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("yunyi.toml");
        let _ = std::fs::write(&path, "listn = \"1.2.3.4:5\"\n");
        let err = FileSettings::load(&path, true)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(err.contains("listn"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
