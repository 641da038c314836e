//! The layering rules of ARCHITECTURE.md, checked (issue #28):
//! 1. handlers (`api.rs`, `pages.rs`, `*_pages.rs`, `fhir/`) parse, call services and render:
//!    they never call a store, `sqlx`, the `with_db!`/`with_tx!` macros or the `db::query`
//!    helpers (`db.all(…)`, `tx.execute(…)`);
//! 2. SQL is written only in `store*.rs` files and `db/`;
//! 3. `db/` knows no bounded context, and no context knows `fhir/`;
//! 4. the leaf crates (`triage`, `aberration`) do not depend on the application;
//! 5. code reads the time from the application's clock (`state.now_ms()`, `ctx.now_ms()`),
//!    not the wall clock (`clock::now_ms()`, `time::today()`), so tests can move it: except
//!    where the wall clock is the point (`WALL_CLOCK`).
//!
//! What broke a rule before the check existed is listed in `KNOWN` with its count, per file:
//! a new breach fails, and so does a fixed one that is still listed (lower the count, or
//! remove the line), so the list only ever shrinks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// (file under `src/`, rule, how many lines break it today).
const KNOWN: &[(&str, &str, usize)] = &[];

const CONTEXTS: &[&str] = &[
    "audit",
    "billing",
    "consult",
    "directory",
    "dispensing",
    "education",
    "groups",
    "identity",
    "notification",
    "pharmacy",
    "scheduling",
    "surveillance",
    "triage",
];

/// Where reading the wall clock is right: the clocks themselves; audit events and job
/// bookkeeping, which record when things really happened; the demo's bulk data; a log line's
/// timestamp in the notifier; the data-key check when the application opens; an object
/// store's or SMS gateway's request signature, which it checks against its own clock.
const WALL_CLOCK: &[&str] = &[
    "blob/s3.rs",
    "notification/aliyun_sms.rs",
    "clock.rs",
    "time.rs",
    "audit/mod.rs",
    "jobs/mod.rs",
    "jobs/store.rs",
    "identity/notify.rs",
    "app.rs",
];

fn reads_wall_clock(rel: &str, line: &str) -> bool {
    if WALL_CLOCK.contains(&rel) || rel.starts_with("demo/") {
        return false;
    }
    let bare = |name: &str| {
        line.match_indices(name).any(|(i, _)| {
            !line[..i].ends_with('.')
                && !line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
    };
    bare("now_ms()")
        || bare("today()")
        || line.contains("Utc::now")
        || line.contains("SystemTime::now")
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its `#[cfg(test)]` module (tests may reach anywhere) and
/// without comment lines.
fn code_lines(text: &str) -> Vec<&str> {
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("//") || t.starts_with("///") || t.starts_with("//!"))
        })
        .collect()
}

fn is_handler(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel.starts_with("fhir/")
        || name == "api.rs"
        || name == "pages.rs"
        || name.ends_with("_pages.rs")
}

fn is_store(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel.starts_with("db/") || (name.starts_with("store") || name.ends_with("store.rs"))
}

/// A handler's line that calls a store function (`store::search(…)`, `plan_store::get(…)`),
/// imports a store module itself (to call it by another name), or uses `sqlx` or the
/// backend macros, or runs a statement through the `db::query` helpers. Naming a store's
/// row type (`store::MessageRow`) is reading its data, which handlers do.
fn reaches_storage(line: &str) -> bool {
    if ["sqlx::", "with_db!", "with_tx!", "Sql::new", "Params::"]
        .iter()
        .any(|t| line.contains(t))
    {
        return true;
    }
    let queries = [
        "all",
        "one",
        "optional",
        "scalar",
        "scalars",
        "scalar_optional",
        "execute",
    ];
    if ["db.", "tx."].iter().any(|recv| {
        queries.iter().any(|q| {
            line.contains(&format!("{recv}{q}(")) || line.contains(&format!("{recv}{q}::<"))
        })
    }) {
        return true;
    }
    let t = line.trim_start();
    if t.starts_with("use ") && t.contains("store") {
        return t.contains("store;")
            || t.contains("store as")
            || t.contains("self as")
            || t.contains("{self");
    }
    line.match_indices("store::").any(|(i, m)| {
        let rest = &line[i + m.len()..];
        rest.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .is_some_and(|end| rest[end..].starts_with('('))
    })
}

fn breaches(rel: &str, text: &str) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    for line in code_lines(text) {
        if is_handler(rel) && reaches_storage(line) {
            found.push(("handler reaches storage", line.trim().to_owned()));
        }
        if !is_store(rel)
            && [
                "\"SELECT ",
                "\"INSERT ",
                "\"UPDATE ",
                "\"DELETE ",
                "\"WITH ",
            ]
            .iter()
            .any(|t| line.contains(t))
        {
            found.push(("SQL outside a store", line.trim().to_owned()));
        }
        if rel.starts_with("db/")
            && CONTEXTS.iter().any(|c| {
                line.contains(&format!("crate::{c}::")) || line.contains(&format!("crate::{c};"))
            })
        {
            found.push(("db knows a context", line.trim().to_owned()));
        }
        if CONTEXTS.iter().any(|c| rel.starts_with(&format!("{c}/")))
            && line.contains("crate::fhir")
        {
            found.push(("a context knows fhir", line.trim().to_owned()));
        }
        if reads_wall_clock(rel, line) {
            found.push(("reads the wall clock", line.trim().to_owned()));
        }
    }
    found
}

#[test]
fn the_layers_hold() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut counts: BTreeMap<(String, &str), Vec<String>> = BTreeMap::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        for (rule, line) in breaches(&rel, &text) {
            counts.entry((rel.clone(), rule)).or_default().push(line);
        }
    }
    let mut problems = Vec::new();
    for ((file, rule), lines) in &counts {
        let known = KNOWN
            .iter()
            .find(|(f, r, _)| f == file && r == rule)
            .map_or(0, |(_, _, n)| *n);
        if lines.len() > known {
            problems.push(format!(
                "{file}: {rule} ({} lines, {known} known):\n    {}",
                lines.len(),
                lines.join("\n    ")
            ));
        }
    }
    for (file, rule, n) in KNOWN {
        let now = counts.get(&((*file).to_owned(), *rule)).map_or(0, Vec::len);
        if now < *n {
            problems.push(format!(
                "{file}: {rule} is down to {now} from {n}: lower its line in KNOWN"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_leaf_crates_do_not_depend_on_the_application() {
    let crates = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for leaf in ["triage", "aberration"] {
        let manifest = std::fs::read_to_string(crates.join(leaf).join("Cargo.toml")).unwrap();
        let deps = manifest.split("[dependencies]").nth(1).unwrap_or("");
        let deps = deps.split("\n[").next().unwrap_or("");
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with("yunyi")),
            "{leaf} depends on the application"
        );
    }
}

#[test]
fn the_check_sees_a_breach() {
    let handler = "use super::store;\nasync fn h() { store::get(1).await }\n";
    assert_eq!(breaches("scheduling/api.rs", handler).len(), 2);
    let types = "use super::store::{MessageRow};\nfn f(m: &store::MessageRow) {}\n";
    assert!(breaches("consult/api.rs", types).is_empty());
    let helper = "async fn h(s: S) { s.db.scalar::<i64>(Q, (1,)).await; ok.iter().all(|x| x) }";
    assert_eq!(breaches("consult/pages.rs", helper).len(), 1);
    let sql =
        "fn f() { let q = \"SELECT 1\"; }\n#[cfg(test)]\nmod t { const Q: &str = \"SELECT 2\"; }";
    assert_eq!(breaches("scheduling/service.rs", sql).len(), 1);
    assert!(breaches("scheduling/store.rs", sql).is_empty());
    assert_eq!(breaches("db/x.rs", "use crate::audit::Event;").len(), 1);
    let clock = "let a = now_ms();\nlet b = crate::clock::now_ms();\nlet c = time::today();\n\
                 let d = state.now_ms();\nlet e = cst_today(ctx.now_ms());\nfn today(&self) {}";
    assert_eq!(breaches("consult/service.rs", clock).len(), 3);
    assert!(breaches("audit/mod.rs", clock).is_empty());
}

/// ARCHITECTURE.md stays a map one reads in a sitting (issue #28: under 15 KB, one or two
/// lines per module); what grows beyond that belongs in docs/ or in the code's own comments.
#[test]
fn the_architecture_map_stays_under_15_kb() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md");
    let size = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len();
    assert!(
        size < 15_000,
        "ARCHITECTURE.md is {size} bytes: keep it under 15,000 (move detail to docs/)"
    );
}
