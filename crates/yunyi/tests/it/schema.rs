//! Migration parity (issue #28): the two migration folders must build the same schema.
//!
//! Each backend's migrated schema is read from its own catalog and written in one normal form
//! — tables, columns with a mapped type, nullability and default, foreign keys, indexes by
//! their columns, the number of CHECK constraints, the events tables have triggers on — and
//! compared with the snapshot
//! `tests/fixtures/schema.txt`. The SQLite pass compares SQLite with it and the PostgreSQL
//! pass compares PostgreSQL with it, so each pass asserts, and together they say the two
//! backends agree. After an intended change, `YUNYI_UPDATE_SCHEMA=1` rewrites the snapshot
//! (review its diff: it is the schema change).
//!
//! Type mapping: INTEGER/BIGINT and PostgreSQL BOOLEAN (SQLite stores booleans as INTEGER) are
//! `integer`; TEXT is `text`; BLOB/BYTEA is `bytes`; REAL/DOUBLE PRECISION is `real`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use yunyi::db::Db;

use crate::helpers::TestDb;

#[derive(Debug, Default)]
struct Table {
    /// name → "type null|not null [default …]"
    columns: BTreeMap<String, String>,
    /// "col → table(col)"
    foreign_keys: Vec<String>,
    /// "unique? (cols) [partial]"
    indexes: Vec<String>,
    checks: usize,
}

fn map_type(t: &str) -> String {
    let t = t.to_ascii_lowercase();
    match t.as_str() {
        "integer" | "bigint" | "boolean" | "int8" | "bool" => "integer",
        "text" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" | "float8" => "real",
        other => return format!("unmapped:{other}"),
    }
    .to_owned()
}

/// A default as both catalogs can agree on it: PostgreSQL's casts and quotes dropped,
/// booleans as 0/1.
fn map_default(d: Option<String>) -> String {
    let Some(d) = d else { return String::new() };
    let mut d = d.trim().to_owned();
    if let Some(at) = d.find("::") {
        d.truncate(at);
    }
    let d = d.trim_matches(|c| c == '(' || c == ')').to_owned();
    let d = match d.to_ascii_lowercase().as_str() {
        "true" => "1".to_owned(),
        "false" => "0".to_owned(),
        _ => d,
    };
    format!(" default {d}")
}

fn render(tables: &BTreeMap<String, Table>, triggers: &[String]) -> String {
    let mut out = String::new();
    for (name, t) in tables {
        let _ = writeln!(out, "table {name}");
        for (c, spec) in &t.columns {
            let _ = writeln!(out, "  column {c}: {spec}");
        }
        let mut fks = t.foreign_keys.clone();
        fks.sort();
        for fk in fks {
            let _ = writeln!(out, "  foreign key {fk}");
        }
        let mut idx = t.indexes.clone();
        idx.sort();
        for i in idx {
            let _ = writeln!(out, "  index {i}");
        }
        let _ = writeln!(out, "  checks {}", t.checks);
    }
    let mut triggers = triggers.to_vec();
    triggers.sort();
    triggers.dedup();
    for trigger in triggers {
        let _ = writeln!(out, "trigger before/after {trigger}");
    }
    out
}

async fn sqlite_schema(pool: &sqlx::SqlitePool) -> String {
    let names: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut tables = BTreeMap::new();
    for (name, sql) in names {
        let mut t = Table::default();
        let cols: Vec<(i64, String, String, i64, Option<String>, i64)> =
            sqlx::query_as(&format!("PRAGMA table_info(\"{name}\")"))
                .fetch_all(pool)
                .await
                .unwrap();
        for (_, col, ty, notnull, default, pk) in cols {
            let null = if notnull == 1 || pk > 0 {
                "not null"
            } else {
                "null"
            };
            t.columns.insert(
                col,
                format!("{} {null}{}", map_type(&ty), map_default(default)),
            );
        }
        let fks: Vec<(i64, i64, String, String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{name}')"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        for (_, _, target, from, to) in fks {
            t.foreign_keys
                .push(format!("{from} → {target}({})", to.unwrap_or_default()));
        }
        let indexes: Vec<(String, i64, String, i64)> = sqlx::query_as(&format!(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list('{name}')"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        for (index, unique, origin, partial) in indexes {
            if origin == "pk" {
                continue;
            }
            let cols: Vec<(String,)> = sqlx::query_as(&format!(
                "SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"
            ))
            .fetch_all(pool)
            .await
            .unwrap();
            let cols: Vec<String> = cols.into_iter().map(|(c,)| c).collect();
            t.indexes.push(format!(
                "{}({}){}",
                if unique == 1 { "unique " } else { "" },
                cols.join(", "),
                if partial == 1 { " partial" } else { "" }
            ));
        }
        // `CHECK (`, not a column such as `checked_in_at`.
        let upper = sql.to_ascii_uppercase();
        t.checks = upper
            .match_indices("CHECK")
            .filter(|(i, _)| upper[i + 5..].trim_start().starts_with('('))
            .count();
        tables.insert(name, t);
    }
    let triggers: Vec<(String, String)> =
        sqlx::query_as("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
            .fetch_all(pool)
            .await
            .unwrap();
    let triggers: Vec<String> = triggers
        .into_iter()
        .map(|(table, sql)| {
            // CREATE TRIGGER name BEFORE|AFTER|INSTEAD OF <EVENT> [OF cols] ON table …
            let upper = sql.to_ascii_uppercase();
            let words: Vec<&str> = upper.split_whitespace().collect();
            let event = words
                .iter()
                .position(|w| matches!(*w, "BEFORE" | "AFTER" | "OF"))
                .and_then(|i| words.get(i + 1))
                .map_or("?", |w| w);
            format!("{} on {table}", event.to_ascii_lowercase())
        })
        .collect();
    render(&tables, &triggers)
}

async fn postgres_schema(pool: &sqlx::PgPool) -> String {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name NOT LIKE '_sqlx%' ORDER BY table_name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut tables = BTreeMap::new();
    for (name,) in names {
        let mut t = Table::default();
        let cols: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_nullable::text, column_default::text \
             FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        for (col, ty, nullable, default) in cols {
            // The code reads whole numbers as i64, which a 4-byte `integer` column refuses to
            // decode into on PostgreSQL (SQLite's INTEGER is always 8 bytes): only columns
            // read as i32 on purpose may be one.
            const INT4: [&str; 2] = ["audit_head.singleton", "triage_record.follow_ups"];
            assert!(
                ty != "integer" || INT4.contains(&format!("{name}.{col}").as_str()),
                "{name}.{col} is a 4-byte integer on PostgreSQL: declare it BIGINT"
            );
            let null = if nullable == "NO" { "not null" } else { "null" };
            t.columns.insert(
                col,
                format!("{} {null}{}", map_type(&ty), map_default(default)),
            );
        }
        let fks: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT a.attname::text, cl.relname::text, af.attname::text \
             FROM pg_constraint c \
             JOIN pg_class tl ON tl.oid = c.conrelid \
             JOIN pg_class cl ON cl.oid = c.confrelid \
             JOIN LATERAL unnest(c.conkey, c.confkey) AS k(l, f) ON TRUE \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.l \
             JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = k.f \
             WHERE c.contype = 'f' AND tl.relname = $1 \
             AND tl.relnamespace = current_schema()::regnamespace",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        for (from, target, to) in fks {
            t.foreign_keys.push(format!("{from} → {target}({to})"));
        }
        let indexes: Vec<(bool, bool, Vec<String>)> = sqlx::query_as(
            "SELECT i.indisunique, i.indpred IS NOT NULL, \
             ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY AS k(n, o) \
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) \
             FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
             WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace \
             AND NOT i.indisprimary",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        for (unique, partial, cols) in indexes {
            t.indexes.push(format!(
                "{}({}){}",
                if unique { "unique " } else { "" },
                cols.join(", "),
                if partial { " partial" } else { "" }
            ));
        }
        let checks: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
             WHERE c.contype = 'c' AND t.relname = $1 \
             AND t.relnamespace = current_schema()::regnamespace",
        )
        .bind(&name)
        .fetch_one(pool)
        .await
        .unwrap();
        t.checks = usize::try_from(checks).unwrap();
        tables.insert(name, t);
    }
    // One row per event a trigger fires on.
    let triggers: Vec<(String, String)> = sqlx::query_as(
        "SELECT lower(event_manipulation::text), event_object_table::text \
         FROM information_schema.triggers WHERE trigger_schema = current_schema()",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let triggers: Vec<String> = triggers
        .into_iter()
        .map(|(event, table)| format!("{event} on {table}"))
        .collect();
    render(&tables, &triggers)
}

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema.txt")
}

#[tokio::test]
async fn both_migration_folders_build_the_schema_of_the_snapshot() {
    let test_db = TestDb::empty().await;
    let db = test_db.connect().await;
    let (backend, schema) = match &db {
        Db::Sqlite(pool) => ("SQLite", sqlite_schema(pool).await),
        Db::Postgres(pool) => ("PostgreSQL", postgres_schema(pool).await),
    };
    assert!(
        !schema.contains("unmapped:"),
        "a type without a mapping:\n{schema}"
    );
    let path = snapshot_path();
    if std::env::var("YUNYI_UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &schema).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if schema != expected {
        let diff: Vec<String> = schema
            .lines()
            .filter(|l| !expected.lines().any(|e| e == *l))
            .map(|l| format!("+ {l}"))
            .chain(
                expected
                    .lines()
                    .filter(|e| !schema.lines().any(|l| l == *e))
                    .map(|e| format!("- {e}")),
            )
            .collect();
        panic!(
            "the {backend} schema differs from tests/fixtures/schema.txt \
             (+ only in {backend}, - only in the snapshot):\n{}",
            diff.join("\n")
        );
    }
}
