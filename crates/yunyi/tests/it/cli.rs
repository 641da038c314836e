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
    let test_db = TestDb::new().await;
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
