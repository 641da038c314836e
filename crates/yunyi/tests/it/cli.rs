//! The binary: `--help`, `migrate`, and clear one-line errors for bad configuration.

use std::process::{Command, Output};

use crate::helpers::{TestDb, bin};

/// Runs `yunyi` with a clean environment (no YUNYI_* from the developer's shell) in `cwd`.
fn yunyi(cwd: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.current_dir(cwd).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("YUNYI_") || key == "RUST_BACKTRACE" {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_BACKTRACE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run yunyi")
}

/// A configuration error: exit code 1, exactly one line on stderr, no panic or backtrace.
fn assert_one_line_error(out: &Output, must_contain: &[&str]) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit code; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for text in must_contain {
        assert!(lines[0].contains(text), "'{text}' missing from: {stderr}");
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn help_explains_every_flag_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = yunyi(dir.path(), &["--help"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "serve",
        "demo",
        "migrate",
        "--listen",
        "--data-dir",
        "--database-url",
        "YUNYI_LISTEN",
        "yunyi.toml",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}: {text}");
    }
}

#[test]
fn unparseable_listen_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = yunyi(dir.path(), &["serve", "--listen", "not-an-address"], &[]);
    assert_one_line_error(&out, &["'not-an-address'", "--listen", "127.0.0.1:8080"]);
}

#[test]
fn the_error_names_the_environment_variable_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let out = yunyi(dir.path(), &["serve"], &[("YUNYI_LISTEN", "1.2.3.4:99999")]);
    assert_one_line_error(&out, &["'1.2.3.4:99999'", "YUNYI_LISTEN"]);
}

#[test]
fn data_dir_that_cannot_be_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let target = file.join("data");
    let out = yunyi(
        dir.path(),
        &["serve", "--data-dir", target.to_str().unwrap()],
        &[],
    );
    assert_one_line_error(&out, &["data directory", "--data-dir"]);
}

#[test]
fn unsupported_database_scheme_hides_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = yunyi(
        dir.path(),
        &["migrate", "--database-url", "mysql://root:s3cret@db/yunyi"],
        &[],
    );
    assert_one_line_error(&out, &["mysql", "postgres://"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"));
}

#[test]
fn unreachable_database_says_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let out = yunyi(
        dir.path(),
        &[
            "migrate",
            "--database-url",
            "postgres://yunyi:s3cret@127.0.0.1:1/yunyi",
        ],
        &[],
    );
    assert_one_line_error(
        &out,
        &[
            "cannot connect to the database",
            "127.0.0.1:1",
            "--database-url",
        ],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"));
}

#[test]
fn config_file_with_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("yunyi.toml"), "lissten = \"127.0.0.1:1\"\n").unwrap();
    let out = yunyi(dir.path(), &["migrate"], &[]);
    assert_one_line_error(&out, &["yunyi.toml", "lissten"]);
}

#[test]
fn a_named_config_file_that_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = yunyi(dir.path(), &["migrate", "--config", "nowhere.toml"], &[]);
    assert_one_line_error(&out, &["nowhere.toml"]);
}

#[test]
fn a_port_already_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("data");
    let out = yunyi(
        dir.path(),
        &[
            "serve",
            "--listen",
            &addr,
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert_one_line_error(&out, &["cannot listen on", &addr, "--listen"]);
}

#[test]
fn settings_come_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-file");
    std::fs::write(
        dir.path().join("yunyi.toml"),
        format!("data_dir = {:?}\n", data.to_str().unwrap()),
    )
    .unwrap();
    let out = yunyi(dir.path(), &["migrate"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        data.join("yunyi.db").exists(),
        "the file's data_dir was not used"
    );
}

#[tokio::test]
async fn migrate_applies_to_the_configured_database_and_is_repeatable() {
    let test_db = TestDb::empty().await;
    let args = test_db.cli_args();
    let mut argv: Vec<&str> = vec!["migrate"];
    argv.extend(args.iter().map(String::as_str));
    for _ in 0..2 {
        let out = yunyi(test_db.data_dir(), &argv, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains(&format!("migrations applied to {}", test_db.backend()))
        );
    }
    // The schema is really there: the app's tables answer.
    let db = test_db.connect().await;
    assert_eq!(
        yunyi::directory::store::count_hospitals(&db).await.unwrap(),
        0
    );
}

/// A running `yunyi` process, killed if the test fails before it stops it.
pub(crate) struct Running {
    child: std::process::Child,
    pub(crate) base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `yunyi demo` on a random port and waits for its banner.
fn start_demo(test_db: &TestDb) -> Running {
    start_demo_with(test_db, std::process::Stdio::null(), &[])
}

/// As [`start_demo`], with stderr (the log) sent where the caller wants and extra flags.
pub(crate) fn start_demo_with(
    test_db: &TestDb,
    stderr: std::process::Stdio,
    extra: &[&str],
) -> Running {
    use std::io::{BufRead, BufReader};
    let mut cmd = Command::new(bin());
    cmd.current_dir(test_db.data_dir())
        .arg("demo")
        .args(test_db.cli_args())
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr);
    for (key, _) in std::env::vars() {
        if key.starts_with("YUNYI_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd.spawn().expect("start yunyi demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    let mut base = None;
    for line in lines.by_ref() {
        let line = line.expect("read banner");
        if let Some(rest) = line.strip_prefix("Yunyi (云医) is running at ") {
            base = Some(rest.trim_end_matches('/').to_owned());
        }
        let done = line.starts_with("Press Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    // Keep reading so the process never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let text = banner.join("\n");
    assert!(text.contains("demo data:"), "{text}");
    assert!(
        text.contains("patient1") && text.contains("yunyi-demo"),
        "the banner lists the logins: {text}"
    );
    Running {
        child,
        base: base.unwrap_or_else(|| panic!("no URL in banner: {text}")),
    }
}

pub(crate) fn stop_with_sigterm(mut running: Running) {
    let pid = running.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if let Some(exit) = running.child.try_wait().expect("wait") {
            assert!(exit.success(), "yunyi exited with {exit} after SIGTERM");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "yunyi did not stop within 15 s of SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[tokio::test]
async fn demo_binary_serves_stops_on_sigterm_and_restarts_without_duplicates() {
    let test_db = TestDb::new().await;
    let client = reqwest::Client::new();
    let mut listings = Vec::new();
    for run in 0..2 {
        let running = start_demo(&test_db);
        let health = client
            .get(format!("{}/healthz", running.base))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), reqwest::StatusCode::OK, "run {run}");
        let home = client
            .get(format!("{}/", running.base))
            .send()
            .await
            .unwrap();
        assert!(home.text().await.unwrap().contains("云医"));
        let list: serde_json::Value = client
            .get(format!("{}/api/v1/hospitals", running.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listings.push(list);
        stop_with_sigterm(running);
    }
    assert!(!listings[0]["items"].as_array().unwrap().is_empty());
    assert_eq!(
        listings[0], listings[1],
        "the second demo run changed the data"
    );
}

fn yunyi_stdin(
    cwd: &std::path::Path,
    args: &[String],
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    use std::io::Write as _;
    let mut cmd = Command::new(bin());
    cmd.current_dir(cwd).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("YUNYI_") {
            cmd.env_remove(key);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_first_admin_is_created_from_the_command_line_and_serve_seeds_no_accounts() {
    let test_db = TestDb::new().await;
    // A plain server has no accounts at all: no default passwords outside demo mode.
    let app = crate::helpers::TestApp::spawn_on(test_db).await;
    assert_eq!(
        yunyi::identity::store::count_accounts(&app.db)
            .await
            .unwrap(),
        0
    );
    let test_db = app.stop().await;

    let mut args: Vec<String> = [
        "user",
        "create",
        "--username",
        "root",
        "--role",
        "platform_admin",
        "--display-name",
        "管理员",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(test_db.cli_args());
    let out = yunyi_stdin(test_db.data_dir(), &args, &[], "a-strong-password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created account"));
    // The password never appears in the output.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("a-strong-password"));

    // Invalid input gets the same clear one-line errors as the API.
    let out = yunyi_stdin(test_db.data_dir(), &args, &[], "short\n");
    assert_one_line_error(&out, &["password"]);

    let app = crate::helpers::TestApp::spawn_on(test_db).await;
    let token = app.token("root", "a-strong-password").await;
    assert_eq!(
        app.get_as(&token, "/api/v1/staff").await.status(),
        reqwest::StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn a_different_data_key_is_refused_before_it_can_garble_data() {
    let test_db = TestDb::new().await;
    // First start with the key file generated into the data directory…
    let app = crate::helpers::TestApp::spawn_on(test_db).await;
    let test_db = app.stop().await;
    // …then with another key from the environment.
    let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let mut serve = vec![
        "serve".to_owned(),
        "--listen".to_owned(),
        "127.0.0.1:0".to_owned(),
    ];
    serve.extend(test_db.cli_args());
    let out = yunyi_stdin(test_db.data_dir(), &serve, &[("YUNYI_DATA_KEY", other)], "");
    assert_one_line_error(&out, &["data encryption key does not match"]);
    let out = yunyi_stdin(
        test_db.data_dir(),
        &serve,
        &[("YUNYI_DATA_KEY", "not base64!")],
        "",
    );
    assert_one_line_error(&out, &["YUNYI_DATA_KEY"]);
}

/// `yunyi ears`: counts in, R-comparable CSV out; a bad line fails the run, naming it.
#[tokio::test]
async fn the_ears_command_prints_bounds_and_alarms_as_csv() {
    use std::io::Write;
    let run = |args: &[&str], input: &str| {
        let mut child = std::process::Command::new(crate::helpers::bin())
            .arg("ears")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let flat_then_jump = "5\n5\n5\n5\n5\n5\n5\n5\n5\n9\n";
    let out = run(&["--method", "c2"], flat_then_jump);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[9], "8,5,NA,NA");
    // A flat baseline: the bound is its mean, and 9 is above it.
    assert_eq!(lines[10], "9,9,5,TRUE");
    let out = run(&["--method", "c3", "--min-sigma", "1"], "1\n2\nfour\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
}
