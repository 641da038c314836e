//! `yunyi triage`: one JSON object per line on stdin (the crate's `Input`: `text`, optional
//! `age_years`, `age_months`, `sex`, `pregnant`, `outbreak_areas`, `confirmed_red_flags`), one
//! result per line on stdout, so anyone can measure the triage on their own cases. A line that
//! cannot be read or triaged gets `{"line": n, "error": {"field", "message"}}` in its place and
//! the rest go on; the exit code is non-zero only when stdin or stdout fails.

use std::io::{BufRead, Write};

use serde_json::json;

pub fn run() -> anyhow::Result<()> {
    triage::warm_up()?;
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (n, line) in stdin.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<triage::Input>(&line) {
            Err(e) => {
                json!({"line": n + 1, "error": {"field": "", "message": format!("not a triage input: {e}")}})
            }
            Ok(input) => match triage::triage(&input) {
                Ok(result) => serde_json::to_value(result)?,
                Err(triage::Error::Input(e)) => {
                    json!({"line": n + 1, "error": {"field": e.field, "message": e.message}})
                }
                Err(e) => return Err(e.into()),
            },
        };
        serde_json::to_writer(&mut out, &answer)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
