//! Test harness: fresh databases on either backend and the real application on a random port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection as _;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use yunyi::config::{Config, JobsConfig};
use yunyi::db::Db;
use yunyi::{AppState, Application, jobs};

pub const PG_ENV: &str = "YUNYI_TEST_DATABASE_URL";

/// A fresh database and a data directory, removed when dropped: a SQLite file in a temporary
/// directory, or a PostgreSQL database of its own (dropped at the end of the test).
///
/// Migrating takes ~0.4 s on SQLite and ~0.7 s on PostgreSQL, seeding the demo another
/// ~0.15 / 0.35 s; done for each of ~190 tests it was a third of the suite. So each is done
/// once per run into a template, and every test gets a copy: the template's files for SQLite,
/// `CREATE DATABASE … TEMPLATE` for PostgreSQL (tens of milliseconds).
pub struct TestDb {
    pub dir: TempDir,
    /// `None` for the embedded SQLite database in `dir`.
    pub url: Option<String>,
    /// The PostgreSQL database this test owns.
    pg: Option<PgDatabase>,
}

/// What a test's database starts with.
#[derive(Clone, Copy)]
enum Start {
    /// Every migration applied, no rows.
    Migrated,
    /// The demo hospital network seeded (`yunyi::demo::seed`) into a migrated database.
    Demo,
}

impl TestDb {
    /// A fresh, migrated database with no rows.
    pub async fn new() -> Self {
        Self::copy_of(Start::Migrated).await
    }

    /// A fresh database holding the demo hospitals, staff and patients.
    pub async fn with_demo() -> Self {
        Self::copy_of(Start::Demo).await
    }

    /// A fresh database without even the migrations, for the tests of migrating itself.
    pub async fn empty() -> Self {
        let dir = test_dir("yunyi-test-");
        match pg_base() {
            Some(base) => {
                let pg = PgDatabase::create(&base, None).await;
                Self {
                    dir,
                    url: Some(pg.url.clone()),
                    pg: Some(pg),
                }
            }
            None => Self {
                dir,
                url: None,
                pg: None,
            },
        }
    }

    async fn copy_of(start: Start) -> Self {
        let template = template(start).await;
        let dir = test_dir("yunyi-test-");
        copy_dir(&template.dir, dir.path());
        match (pg_base(), &template.database) {
            (Some(base), Some(name)) => {
                let pg = PgDatabase::create(&base, Some(name)).await;
                Self {
                    dir,
                    url: Some(pg.url.clone()),
                    pg: Some(pg),
                }
            }
            _ => Self {
                dir,
                url: None,
                pg: None,
            },
        }
    }

    /// Keeps this database and its directory for the rest of the run, as a template.
    fn into_template(mut self, kind: &str) -> Template {
        let dir =
            std::env::temp_dir().join(format!("yunyi-template-{}-{kind}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if self.url.is_none() {
            checkpoint(&self.dir.path().join("yunyi.db"));
        }
        copy_dir(self.dir.path(), &dir);
        let database = self.pg.take().map(PgDatabase::keep);
        Template { dir, database }
    }

    pub fn backend(&self) -> &'static str {
        if self.url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> Config {
        let mut config =
            Config::for_data_dir(self.dir.path(), self.url.as_deref()).expect("test config");
        config.jobs = JobsConfig {
            poll_interval: Duration::from_millis(50),
            ..JobsConfig::default()
        };
        // Keep sent messages so tests can read one-time codes.
        config.dev_inbox = true;
        // Tests run at any hour: text messages go out at once unless a test sets quiet hours.
        config.notification.quiet_hours = None;
        config
    }

    /// A migrated connection pool, for tests below the HTTP layer.
    pub async fn connect(&self) -> Db {
        let db = Db::connect(&self.config().database)
            .await
            .expect("connect to test database");
        db.migrate().await.expect("migrate test database");
        db
    }

    /// `--database-url` for the binary; `None` means the embedded default.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.dir.path().display().to_string(),
        ];
        if let Some(url) = &self.url {
            args.push("--database-url".to_owned());
            args.push(url.clone());
        }
        args
    }
}

fn test_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temporary directory")
}

fn pg_base() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|b| !b.is_empty())
}

/// Moves everything in a SQLite database's write-ahead log into its file and empties the
/// log. A connection the stopped app still holds (a writer thread that ends a moment later)
/// would otherwise keep data only in the log, and delete the log as it closes — perhaps in
/// the middle of the copy.
fn checkpoint(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("open the template database");
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .expect("checkpoint the template database");
    assert_eq!(busy, 0, "the template database is still being written");
}

/// Copies a data directory (database file, data key, blobs) file by file. The template is
/// never written after it is built, and its log was checkpointed into the file (see
/// [`checkpoint`]), so the copy is consistent without the log and its index.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create test directory");
    for entry in std::fs::read_dir(from).expect("read template directory") {
        let entry = entry.expect("template directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with("-wal") || name.ends_with("-shm") {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy template file");
        }
    }
}

/// A database built once per run that tests copy.
struct Template {
    dir: PathBuf,
    /// The PostgreSQL template database, when the suite runs on PostgreSQL.
    database: Option<String>,
}

static MIGRATED: tokio::sync::OnceCell<Template> = tokio::sync::OnceCell::const_new();
static DEMO: tokio::sync::OnceCell<Template> = tokio::sync::OnceCell::const_new();

async fn template(start: Start) -> &'static Template {
    // Boxed: building the demo template starts from a copy of the migrated one.
    match start {
        Start::Migrated => MIGRATED.get_or_init(|| Box::pin(build_migrated())).await,
        Start::Demo => DEMO.get_or_init(|| Box::pin(build_demo())).await,
    }
}

async fn build_migrated() -> Template {
    remove_stale_templates().await;
    let test_db = TestDb::empty().await;
    let db = test_db.connect().await;
    // Closing checkpoints SQLite's WAL into the file and ends PostgreSQL sessions, which a
    // template database must not have.
    db.close().await;
    test_db.into_template("migrated")
}

async fn build_demo() -> Template {
    let app = TestApp::spawn_on(TestDb::new().await).await;
    yunyi::demo::seed(&app.state).await.expect("seed demo");
    let db = app.db.clone();
    let test_db = app.stop().await;
    db.close().await;
    test_db.into_template("demo")
}

/// Templates of earlier runs whose process is gone (directories, and databases on a
/// developer's own PostgreSQL; `scripts/test` throws its cluster away anyway).
async fn remove_stale_templates() {
    let alive = |pid: &str| Path::new("/proc").join(pid).exists();
    let pid_of = |name: &str, prefix: &str| -> Option<String> {
        let rest = name.strip_prefix(prefix)?;
        Some(rest.split(['-', '_']).next()?.to_owned())
    };
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = pid_of(&name, "yunyi-template-") {
                if !alive(&pid) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let Some(base) = pg_base() else { return };
    let mut conn = pg_admin(&base).await;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'yunyi\\_tpl\\_%'")
            .fetch_all(&mut conn)
            .await
            .expect("list template databases");
    for name in names {
        if pid_of(&name, "yunyi_tpl_").is_some_and(|pid| !alive(&pid)) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
    let _ = conn.close().await;
}

/// A connection to the server's maintenance database, from which databases are made.
async fn pg_admin(base: &str) -> sqlx::PgConnection {
    // The suite must fail, not skip, when PostgreSQL was asked for and is not there.
    sqlx::PgConnection::connect(base)
        .await
        .unwrap_or_else(|e| panic!("{PG_ENV} is set but PostgreSQL is unreachable: {e}"))
}

/// A PostgreSQL database made for one test, dropped when the test is done.
struct PgDatabase {
    base: String,
    name: String,
    url: String,
    keep: bool,
}

impl PgDatabase {
    /// A new database, empty or a copy of `template`.
    async fn create(base: &str, template: Option<&str>) -> Self {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = pg_admin(base).await;
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        sqlx::query(&sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
        let mut url = url::Url::parse(base).expect("valid YUNYI_TEST_DATABASE_URL");
        url.set_path(&format!("/{name}"));
        Self {
            base: base.to_owned(),
            name,
            url: url.to_string(),
            keep: false,
        }
    }

    /// Renames the database into a template of this run and keeps it; returns its name.
    fn keep(mut self) -> String {
        self.keep = true;
        let name = format!("yunyi_tpl_{}_{}", std::process::id(), self.name);
        let (base, old) = (self.base.clone(), self.name.clone());
        let renamed = name.clone();
        run_blocking(async move {
            let mut conn = pg_admin(&base).await;
            // A template may have no sessions; a listener of the stopped app may linger.
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&old)
            .execute(&mut conn)
            .await
            .expect("end the template's sessions");
            sqlx::query(&format!("ALTER DATABASE {old} RENAME TO {renamed}"))
                .execute(&mut conn)
                .await
                .expect("rename the template database");
            let _ = conn.close().await;
        });
        name
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let (base, name) = (self.base.clone(), self.name.clone());
        // FORCE ends the sessions of an app the test did not stop.
        run_blocking(async move {
            let mut conn = pg_admin(&base).await;
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        });
    }
}

/// Runs a future to completion from synchronous code (a `Drop`), on a runtime of its own.
fn run_blocking(future: impl std::future::Future<Output = ()> + Send + 'static) {
    let _ = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future);
    })
    .join();
}

/// The real application, serving on 127.0.0.1 with a random port.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub state: AppState,
    pub client: reqwest::Client,
    pub test_db: TestDb,
    shutdown: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_on(TestDb::new().await).await
    }

    pub async fn spawn_on(test_db: TestDb) -> Self {
        Self::spawn_with(test_db, |_| {}, yunyi::app::job_registry()).await
    }

    pub async fn spawn_with(
        test_db: TestDb,
        customize: impl FnOnce(&mut Config),
        registry: jobs::Registry,
    ) -> Self {
        let mut config = test_db.config();
        customize(&mut config);
        let app = Application::build_with(config, registry)
            .await
            .expect("build application");
        let addr = app.local_addr();
        let db = app.db().clone();
        let state = app.state().clone();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until(shutdown.clone()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            addr,
            db,
            state,
            client,
            test_db,
            shutdown,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// The body of an anonymous GET, as text (a public page).
    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// Graceful shutdown; returns the database so a test can start the app on it again.
    pub async fn stop(self) -> TestDb {
        self.shutdown.cancel();
        self.handle
            .await
            .expect("server task")
            .expect("server ended cleanly");
        self.test_db
    }
}

/// Polls `check` until it returns `Some`, for at most `limit`. For effects of background
/// work (the worker loop), which have no completion signal to await.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Path of the built `yunyi` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_yunyi"))
}

/// The demo's shared password.
pub const PW: &str = yunyi::demo::DEMO_PASSWORD;

impl TestApp {
    /// A running app with the demo hospital, staff and patients.
    pub async fn with_demo() -> Self {
        Self::spawn_on(TestDb::with_demo().await).await
    }

    /// A bearer token for a username (or phone) and password; panics if refused.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let response = self
            .client
            .post(self.url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .expect("token request");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("token body");
        assert_eq!(
            status,
            reqwest::StatusCode::OK,
            "token for {username}: {body}"
        );
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_as(
        &self,
        token: Option<&str>,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// The person id behind a patient account.
    pub async fn person_of(&self, token: &str) -> i64 {
        let me: serde_json::Value = self
            .get_as(token, "/api/v1/me")
            .await
            .json()
            .await
            .expect("me");
        me["person"]["id"].as_i64().expect("a patient account")
    }

    /// Passes the doctor identity check for this token's session.
    pub async fn step_up(&self, token: &str) {
        let response = self
            .post_as(
                Some(token),
                "/api/v1/auth/step-up",
                &serde_json::json!({"method": "password", "proof": PW}),
            )
            .await;
        assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    }

    /// A client that keeps cookies, as a browser does.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("browser client")
    }
}

/// A valid resident ID number (GB 11643 check digit) for a birth date and sequence.
pub fn id_number(birth: &str, seq: u32) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let body = format!("440106{birth}{seq:03}");
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{body}{}", C[(sum % 11) as usize])
}

/// The value of `name="csrf_token"` in a page.
/// The fields a problem's `errors` name, in order (empty when it names none).
pub fn error_fields(problem: &serde_json::Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default()
}

pub fn csrf_from(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A browser-like client signed in through the real sign-in form, with its CSRF token.
pub struct SignedInBrowser<'a> {
    pub app: &'a TestApp,
    pub client: reqwest::Client,
    pub csrf: String,
}

impl TestApp {
    pub async fn sign_in_browser(&self, username: &str) -> SignedInBrowser<'_> {
        let client = self.browser();
        let login = client
            .get(self.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_from(&login);
        let r = client
            .post(self.url("/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", PW),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            reqwest::StatusCode::SEE_OTHER,
            "sign-in as {username}"
        );
        SignedInBrowser {
            app: self,
            client,
            csrf,
        }
    }
}

impl SignedInBrowser<'_> {
    pub async fn page(&self, path: &str) -> String {
        self.client
            .get(self.app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Posts a form with the CSRF token; the response as it comes (a page shown again with
    /// its errors, or a redirect).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", self.csrf.as_str()));
        self.client
            .post(self.app.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form (with the CSRF token), follows the redirect, returns the page shown.
    pub async fn submit(&self, path: &str, fields: &[(&str, String)]) -> String {
        let mut form: Vec<(&str, String)> = fields.to_vec();
        form.push(("csrf_token", self.csrf.clone()));
        let r = self
            .client
            .post(self.app.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{path}");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        self.page(&location).await
    }
}

/// WebSocket clients of the application's sockets (chat, groups, video rooms).
pub mod ws {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    pub type Socket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    /// Connects to `path` of the server at `addr` with a bearer token.
    pub async fn connect(addr: &str, token: &str, path: &str) -> Socket {
        let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(request).await.unwrap().0
    }

    /// Connects, or the HTTP status the server refused the handshake with.
    pub async fn try_connect(addr: &str, token: &str, path: &str) -> Result<Socket, u16> {
        let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("the handshake failed otherwise: {e}"),
        }
    }

    /// The next JSON frame, within five seconds.
    pub async fn next(socket: &mut Socket) -> serde_json::Value {
        loop {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
                .await
                .expect("a frame within 5 s")
                .expect("the connection is open")
                .unwrap();
            if let Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    /// The next JSON frame of `kind`, skipping others.
    pub async fn next_of(socket: &mut Socket, kind: &str) -> serde_json::Value {
        loop {
            let frame = next(socket).await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }
}
