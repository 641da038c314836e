//! Command line: `yunyi serve | demo | migrate`. Turns flags, environment and `yunyi.toml` into
//! a validated [`Config`], runs the command, and prints any failure as one readable line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{
    Config, ConfigError, DEFAULT_CONFIG_FILE, DEFAULT_DATA_DIR, DEFAULT_LISTEN, FileSettings,
    RawSettings, Source, Sourced,
};

#[derive(Debug, Parser)]
#[command(
    name = "yunyi",
    version,
    about = "Yunyi (云医): an open-source internet hospital platform",
    long_about = "Yunyi (云医): an open-source internet hospital platform.\n\n\
        Settings come from flags, then YUNYI_* environment variables, then yunyi.toml, then defaults.\n\
        With no settings at all, `yunyi demo` serves a demo hospital at http://127.0.0.1:8080/."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Address to serve HTTP on, as HOST:PORT. Use 0.0.0.0:8080 to accept other machines.
    #[arg(long, global = true, env = "YUNYI_LISTEN", value_name = "HOST:PORT")]
    pub listen: Option<String>,

    /// Directory for the embedded database, the encryption key and stored files.
    /// Created if missing; must be writable.
    #[arg(long, global = true, env = "YUNYI_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database to use. Unset: the embedded SQLite file DATA_DIR/yunyi.db.
    /// For PostgreSQL: postgres://user:password@host:5432/dbname
    #[arg(long, global = true, env = "YUNYI_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,

    /// Configuration file (TOML with the keys listen, data_dir, database_url).
    /// Default: ./yunyi.toml when it exists.
    #[arg(long, global = true, env = "YUNYI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Minutes a doctor's identity step-up check stays valid within a session (1 to 1440).
    #[arg(
        long,
        global = true,
        env = "YUNYI_STEP_UP_MINUTES",
        value_name = "MINUTES"
    )]
    pub step_up_minutes: Option<String>,

    /// Hours a remote consultation's specialist may still read the shared items after signing
    /// the report (0 to 720; default 72).
    #[arg(
        long,
        global = true,
        env = "YUNYI_TELECONSULT_READ_HOURS",
        value_name = "HOURS"
    )]
    pub teleconsult_read_hours: Option<String>,

    /// Who may read a record by break-glass: `seen` (clinicians of a hospital where the patient
    /// has been seen; the default) or `anywhere` (any clinician).
    #[arg(long, global = true, env = "YUNYI_BREAK_GLASS", value_name = "SCOPE")]
    pub break_glass: Option<String>,

    /// `on` (default) or `off`: send Strict-Transport-Security on responses to requests that
    /// came over https (as the proxy's X-Forwarded-Proto says).
    #[arg(long, global = true, env = "YUNYI_HSTS", value_name = "ON_OFF")]
    pub hsts: Option<String>,

    /// Quiet hours, China time, when only urgent notifications go out by SMS (the rest wait
    /// for the end): `22:00-08:00` (default) or `off`.
    #[arg(
        long,
        global = true,
        env = "YUNYI_QUIET_HOURS",
        value_name = "HH:MM-HH:MM"
    )]
    pub quiet_hours: Option<String>,

    /// Places with an outbreak now, separated by commas (e.g. "某某市,某某县"): in triage,
    /// fever after travel there sends a patient to the fever clinic.
    #[arg(
        long,
        global = true,
        env = "YUNYI_OUTBREAK_AREAS",
        value_name = "NAMES"
    )]
    pub outbreak_areas: Option<String>,

    /// STUN/TURN servers for video calls, separated by commas (e.g.
    /// "stun:stun.example.cn:3478,turn:turn.example.cn:3478"). None: calls connect directly,
    /// which works inside one network.
    #[arg(long, global = true, env = "YUNYI_ICE_SERVERS", value_name = "URLS")]
    pub ice_servers: Option<String>,

    /// Keep blobs (photos, chat images, uploaded records) in an S3-compatible object store
    /// instead of DATA_DIR/blobs, e.g. "s3+http://127.0.0.1:9000/yunyi" (MinIO) or
    /// "s3+https://oss-cn-hangzhou.aliyuncs.com/bucket/prefix?region=cn-hangzhou". The key
    /// pair comes from YUNYI_S3_ACCESS_KEY_ID and YUNYI_S3_SECRET_ACCESS_KEY.
    #[arg(long, global = true, env = "YUNYI_BLOB_URL", value_name = "URL")]
    pub blob_url: Option<String>,

    /// Log filter, e.g. `info` or `yunyi=debug,info`.
    #[arg(
        long,
        global = true,
        env = "YUNYI_LOG",
        value_name = "FILTER",
        default_value = "info"
    )]
    pub log: String,

    /// Log as JSON lines instead of text (for log collectors).
    #[arg(long, global = true, env = "YUNYI_LOG_JSON")]
    pub log_json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: apply pending migrations, start the job worker, serve HTTP until
    /// SIGTERM or Ctrl-C.
    Serve,
    /// Run the server with a demo hospital seeded into an empty database (idempotent:
    /// running it again does not duplicate anything).
    Demo,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Accounts: create the first administrator.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Triage complaints for evaluation: one JSON object per line on stdin
    /// ({"text": "…", "age_years": 5}), one result per line on stdout. Needs no database.
    Triage,
    /// EARS aberration detection as R's surveillance::earsC: one daily count per line on
    /// stdin, CSV day,count,upper,alarm on stdout (day 0-based, NA where undefined).
    Ears {
        /// c1, c2 or c3.
        #[arg(long, default_value = "c1")]
        method: String,
        /// Type I error per day (default 0.001 for C1 and C2, 0.025 for C3, as earsC).
        #[arg(long)]
        alpha: Option<f64>,
        /// Reference days (at least 3).
        #[arg(long, default_value_t = 7)]
        baseline: usize,
        /// The smallest standard deviation used.
        #[arg(long, default_value_t = 0.0)]
        min_sigma: f64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report the first event that was changed, removed or inserted.
    /// Exits non-zero when the chain is broken.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a staff account (e.g. the first platform_admin). The password is read from the
    /// first line of standard input.
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// One of platform_admin, hospital_admin, doctor, nurse, pharmacist,
        /// infection_officer, regulator.
        #[arg(long)]
        role: String,
        /// Name shown to others.
        #[arg(long)]
        display_name: String,
        /// Hospital id, for roles that belong to a hospital.
        #[arg(long)]
        hospital_id: Option<i64>,
    },
}

/// Entry point of the binary.
pub fn run() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_tracing(&cli.log, cli.log_json);
    // EARS is pure as well.
    if let Command::Ears {
        method,
        alpha,
        baseline,
        min_sigma,
    } = &cli.command
    {
        let result = crate::surveillance::ears_cli::settings(method, *alpha, *baseline, *min_sigma)
            .and_then(|s| {
                crate::surveillance::ears_cli::run(
                    &s,
                    std::io::stdin().lock(),
                    std::io::BufWriter::new(std::io::stdout().lock()),
                )
            });
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    // Triage is pure: no settings, no database, nothing to start.
    if let Command::Triage = cli.command {
        return match crate::triage::cli::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    let config = match resolve(&cli, &matches) {
        Ok(config) => config,
        Err(e) => return fail(&anyhow::Error::new(e)),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => crate::app::serve(config, false).await,
            Command::Demo => crate::app::serve(config, true).await,
            Command::Migrate => crate::app::migrate_only(config).await,
            Command::Audit {
                command: AuditCommand::Verify,
            } => crate::app::audit_verify(config).await,
            Command::User {
                command:
                    UserCommand::Create {
                        username,
                        role,
                        display_name,
                        hospital_id,
                    },
            } => crate::app::create_user(config, username, role, display_name, hospital_id).await,
            Command::Triage | Command::Ears { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// One line on stderr, the cause chain joined with ": ", and exit code 1. No backtrace: the
/// reader is an operator, not a Rust developer.
fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", error_line(e));
    ExitCode::FAILURE
}

/// The cause chain on one line, skipping a cause that its parent's message already repeats
/// (sqlx and io errors often print their source themselves).
pub fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !parts.last().is_some_and(|prev| prev.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn init_tracing(filter: &str, json: bool) {
    use tracing_subscriber::EnvFilter;
    // PostgreSQL notices ("relation … already exists, skipping" on every start) are noise for
    // operators unless asked for by name.
    let filter = if filter.contains("sqlx") {
        filter.to_owned()
    } else {
        format!("{filter},sqlx::postgres::notice=warn")
    };
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // try_init: a second call (e.g. in tests) keeps the first subscriber instead of panicking.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn source_of(matches: &ArgMatches, id: &str, flag: &'static str, env: &'static str) -> Source {
    match matches.value_source(id) {
        Some(ValueSource::EnvVariable) => Source::Env(env),
        _ => Source::Flag(flag),
    }
}

/// Merges flags/environment (clap) with the file and defaults, then validates.
pub fn resolve(cli: &Cli, matches: &ArgMatches) -> Result<Config, ConfigError> {
    let (file_path, required) = match &cli.config {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    let file = FileSettings::load(&file_path, required)?.unwrap_or_default();
    let from_file = Source::File(file_path);

    let listen = match (&cli.listen, file.listen) {
        (Some(v), _) => Sourced {
            value: v.clone(),
            source: source_of(matches, "listen", "--listen", "YUNYI_LISTEN"),
        },
        (None, Some(v)) => Sourced {
            value: v,
            source: from_file.clone(),
        },
        (None, None) => Sourced {
            value: DEFAULT_LISTEN.to_owned(),
            source: Source::Default,
        },
    };
    let data_dir = match (&cli.data_dir, file.data_dir) {
        (Some(v), _) => Sourced {
            value: v.clone(),
            source: source_of(matches, "data_dir", "--data-dir", "YUNYI_DATA_DIR"),
        },
        (None, Some(v)) => Sourced {
            value: v,
            source: from_file.clone(),
        },
        (None, None) => Sourced {
            value: PathBuf::from(DEFAULT_DATA_DIR),
            source: Source::Default,
        },
    };
    let from_file_text = from_file.clone();
    let outbreak_areas = list_setting(
        matches,
        (&cli.outbreak_areas, file.outbreak_areas),
        ("outbreak_areas", "--outbreak-areas", "YUNYI_OUTBREAK_AREAS"),
        &from_file,
    );
    let ice_servers = list_setting(
        matches,
        (&cli.ice_servers, file.ice_servers),
        ("ice_servers", "--ice-servers", "YUNYI_ICE_SERVERS"),
        &from_file,
    );
    let database_url = match (&cli.database_url, file.database_url) {
        (Some(v), _) => Some(Sourced {
            value: v.clone(),
            source: source_of(
                matches,
                "database_url",
                "--database-url",
                "YUNYI_DATABASE_URL",
            ),
        }),
        (None, Some(v)) => Some(Sourced {
            value: v,
            source: from_file,
        }),
        (None, None) => None,
    };
    let step_up_minutes = text_setting(
        matches,
        (
            &cli.step_up_minutes,
            file.step_up_minutes.map(|n| n.to_string()),
        ),
        (
            "step_up_minutes",
            "--step-up-minutes",
            "YUNYI_STEP_UP_MINUTES",
        ),
        &from_file_text,
    );
    let teleconsult_read_hours = text_setting(
        matches,
        (
            &cli.teleconsult_read_hours,
            file.teleconsult_read_hours.map(|n| n.to_string()),
        ),
        (
            "teleconsult_read_hours",
            "--teleconsult-read-hours",
            "YUNYI_TELECONSULT_READ_HOURS",
        ),
        &from_file_text,
    );
    let break_glass = text_setting(
        matches,
        (&cli.break_glass, file.break_glass),
        ("break_glass", "--break-glass", "YUNYI_BREAK_GLASS"),
        &from_file_text,
    );
    let hsts = text_setting(
        matches,
        (&cli.hsts, file.hsts),
        ("hsts", "--hsts", "YUNYI_HSTS"),
        &from_file_text,
    );
    let quiet_hours = text_setting(
        matches,
        (&cli.quiet_hours, file.quiet_hours),
        ("quiet_hours", "--quiet-hours", "YUNYI_QUIET_HOURS"),
        &from_file_text,
    );
    let aliyun_sms = crate::config::RawAliyunSms::from_env();
    let wechat = crate::config::RawWeChat::from_env();
    let from_env = |name: &'static str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|value| crate::config::Sourced {
                value,
                source: crate::config::Source::Env(name),
            })
    };
    let web_push_subject = from_env("YUNYI_WEB_PUSH_SUBJECT");
    let push_services = from_env("YUNYI_WEB_PUSH_SERVICES");
    let metrics_token = std::env::var("YUNYI_METRICS_TOKEN")
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(crate::config::Secret);
    // The data key only comes from the environment: a flag would show it in `ps`.
    let data_key = std::env::var(crate::crypto::KEY_ENV)
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(crate::config::Secret);
    let turn_secret = std::env::var("YUNYI_TURN_SECRET")
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(crate::config::Secret);
    let blob_url = text_setting(
        matches,
        (&cli.blob_url, file.blob_url),
        ("blob_url", "--blob-url", "YUNYI_BLOB_URL"),
        &from_file_text,
    );
    // The object store's key pair only comes from the environment, like every secret.
    let s3_access_key_id = std::env::var("YUNYI_S3_ACCESS_KEY_ID")
        .ok()
        .filter(|k| !k.trim().is_empty());
    let s3_secret_access_key = std::env::var("YUNYI_S3_SECRET_ACCESS_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(crate::config::Secret);
    RawSettings {
        listen,
        data_dir,
        database_url,
        step_up_minutes,
        teleconsult_read_hours,
        break_glass,
        hsts,
        quiet_hours,
        aliyun_sms,
        wechat,
        web_push_subject,
        push_services,
        metrics_token,
        outbreak_areas,
        ice_servers,
        turn_secret,
        data_key,
        blob_url,
        s3_access_key_id,
        s3_secret_access_key,
    }
    .validate()
}

/// A text setting from its flag (or environment variable), else from the file.
fn text_setting(
    matches: &clap::ArgMatches,
    (flag_value, file_value): (&Option<String>, Option<String>),
    (id, flag, env): (&str, &'static str, &'static str),
    from_file: &Source,
) -> Option<Sourced<String>> {
    match (flag_value, file_value) {
        (Some(v), _) => Some(Sourced {
            value: v.clone(),
            source: source_of(matches, id, flag, env),
        }),
        (None, Some(v)) => Some(Sourced {
            value: v,
            source: from_file.clone(),
        }),
        (None, None) => None,
    }
}

/// A list setting from its flag (or environment variable), else from the file's list.
fn list_setting(
    matches: &clap::ArgMatches,
    (flag_value, file_value): (&Option<String>, Option<Vec<String>>),
    (id, flag, env): (&str, &'static str, &'static str),
    from_file: &Source,
) -> Option<Sourced<String>> {
    match (flag_value, file_value) {
        (Some(v), _) => Some(Sourced {
            value: v.clone(),
            source: source_of(matches, id, flag, env),
        }),
        (None, Some(v)) => Some(Sourced {
            value: v.join(","),
            source: from_file.clone(),
        }),
        (None, None) => None,
    }
}
