//! The quality report: every case in `cases.jsonl` (written for this project: see
//! docs/TRIAGE.md) is triaged and scored. The targets of the triage issue are asserted, so a
//! knowledge-base change that loses a red flag or accuracy fails here.
//!
//! `cargo test -p triage --test quality -- --nocapture` prints the figures and every miss.

use serde_json::Value;

/// The development set: written first, and the knowledge base was curated against it.
const CASES: &str = include_str!("../data/cases.jsonl");
/// The held-out set: written after the knowledge base was done and not used to change it
/// (see docs/TRIAGE.md); its figures say how the triage does on phrasing it has not seen.
const HOLDOUT: &str = include_str!("holdout.jsonl");
/// The fourth held-out set: written on 2026-12-06 after the number reading, the NICE NG143
/// traffic light and the vital-sign flags were done, run once, and not used to change anything.
const HOLDOUT_4: &str = include_str!("holdout-4.jsonl");
/// The fifth: written on 2026-12-06 after the learned emergency detector, the reading of past
/// events and severity as a pattern, run once, and not used to change anything.
const HOLDOUT_5: &str = include_str!("holdout-5.jsonl");

/// A department answers the expectation when it is the expected one or a subdivision of it
/// (expected 07 儿科, answered 07.04 小儿呼吸).
fn answers(code: &str, expected: &[String]) -> bool {
    expected.iter().any(|e| {
        code == e
            || code
                .strip_prefix(e.as_str())
                .is_some_and(|r| r.starts_with('.'))
    })
}

/// Figures for one case set.
struct Report {
    n: usize,
    top1: f64,
    top3: f64,
    flags: usize,
    flags_found: usize,
    false_emergency: f64,
    /// Emergencies the rules missed, and how many of them the learned safety net asked the
    /// checklist for first.
    missed: usize,
    missed_netted: usize,
    /// Share of non-emergencies the safety net asked the checklist for, percent.
    calm_netted: f64,
}

impl Report {
    fn red_flag_recall(&self) -> f64 {
        100.0 * self.flags_found as f64 / self.flags.max(1) as f64
    }
}

/// Urgencies in the order of the confusion table.
const URGENCIES: [&str; 3] = ["emergency", "urgent", "routine"];

/// Per-group counts: cases, right at top-1, right within the top 3.
#[derive(Default)]
struct Tally {
    n: usize,
    first: usize,
    top3: usize,
}

#[test]
fn quality_targets_hold_on_the_case_set() {
    let r = evaluate("development", CASES);
    assert!(r.n >= 300, "the set must hold at least 300 cases");
    assert_eq!(r.flags_found, r.flags, "every red flag must be found");
    assert!(
        r.false_emergency < 5.0,
        "false emergencies must stay under 5%"
    );
    assert!(
        r.top1 >= 85.0,
        "top-1 department accuracy must be at least 85%"
    );
    assert!(
        r.top3 >= 95.0,
        "top-3 department accuracy must be at least 95%"
    );
}

/// Floors just under the figures measured when the set was written (docs/TRIAGE.md): a
/// knowledge-base change that makes the triage worse on phrasing it was not built from fails
/// here. The set must not be used to change the knowledge base; write a new one for that.
#[test]
fn held_out_set_stays_above_its_floors() {
    let r = evaluate("held-out", HOLDOUT);
    assert!(r.n >= 100);
    assert!(r.red_flag_recall() >= 45.0);
    assert!(r.false_emergency < 5.0);
    assert!(r.top1 >= 65.0);
    assert!(r.top3 >= 77.0);
    // The learned safety net (measured 11 of 14, 8.1% of the others).
    assert!(
        r.missed_netted * 10 >= r.missed * 7,
        "{} of {}",
        r.missed_netted,
        r.missed
    );
    assert!(r.calm_netted <= 12.0);
}

/// The fourth held-out set's floors, just under what it measured the one time it was run
/// (docs/TRIAGE.md). Emergencies are asserted both ways: the exact red flag, and "sent to the
/// emergency department at all", which is what keeps the patient safe.
#[test]
fn fourth_held_out_set_stays_above_its_floors() {
    let r = evaluate("held-out #4", HOLDOUT_4);
    assert!(r.n >= 120);
    assert!(r.red_flag_recall() >= FLOOR_4.0);
    assert!(r.false_emergency <= FLOOR_4.1);
    assert!(r.top1 >= FLOOR_4.2);
    assert!(r.top3 >= FLOOR_4.3);
    // The learned safety net, added after the set was written (measured 7 of 8, 8.0%).
    assert!(
        r.missed_netted * 4 >= r.missed * 3,
        "{} of {}",
        r.missed_netted,
        r.missed
    );
    assert!(r.calm_netted <= 12.0);
}

/// (red-flag recall, false emergencies at most, top-1, top-3), percent.
const FLOOR_4: (f64, f64, f64, f64) = (75.0, 3.0, 86.0, 90.0);

#[test]
fn fifth_held_out_set_stays_above_its_floors() {
    let r = evaluate("held-out #5", HOLDOUT_5);
    assert!(r.n >= 110);
    assert!(r.red_flag_recall() >= FLOOR_5.0);
    assert!(r.false_emergency <= FLOOR_5.1);
    assert!(r.top1 >= FLOOR_5.2);
    assert!(r.top3 >= FLOOR_5.3);
    assert!(
        r.missed_netted as f64 >= FLOOR_5.4 * r.missed as f64,
        "{} of {}",
        r.missed_netted,
        r.missed
    );
    assert!(r.calm_netted <= FLOOR_5.5);
}

/// (red-flag recall, false emergencies at most, top-1, top-3, share of missed emergencies the
/// safety net asked the checklist for, share of others it asked for at most), percent / ratio.
const FLOOR_5: (f64, f64, f64, f64, f64, f64) = (70.0, 3.0, 79.0, 88.0, 0.7, 12.0);

fn evaluate(name: &str, cases: &str) -> Report {
    let (mut n, mut top1, mut top3) = (0, 0, 0);
    let mut by_department: std::collections::BTreeMap<String, Tally> = Default::default();
    let mut by_flag: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    let mut confusion = [[0usize; 3]; 3];
    // The learned safety net: emergencies the rules missed that it asked the checklist for,
    // and calm cases it asked it for.
    let (mut missed, mut missed_netted, mut calm_netted) = (0, 0, 0);
    let (mut flags, mut flags_found) = (0, 0);
    let (mut calm, mut false_emergency) = (0, 0);
    let mut urgency_right = 0;
    let mut misses = Vec::new();
    for (line_no, line) in cases
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", line_no + 1));
        let mut input: triage::Input = serde_json::from_value(strip(&case))
            .unwrap_or_else(|e| panic!("line {}: {e}", line_no + 1));
        input.text = case["text"].as_str().unwrap_or_default().to_owned();
        let expected: Vec<String> = case["expect"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let want_urgency = case["urgency"].as_str().unwrap_or_default();
        let want_flag = case.get("red_flag").and_then(Value::as_str);
        let t = triage::triage(&input).unwrap_or_else(|e| panic!("line {}: {e}", line_no + 1));
        n += 1;
        let codes: Vec<&str> = t.departments.iter().map(|d| d.code.as_str()).collect();
        let first = codes.first().is_some_and(|c| answers(c, &expected));
        let in3 = codes.iter().take(3).any(|c| answers(c, &expected));
        top1 += usize::from(first);
        top3 += usize::from(in3);
        let tally = by_department
            .entry(expected.first().cloned().unwrap_or_default())
            .or_default();
        tally.n += 1;
        tally.first += usize::from(first);
        tally.top3 += usize::from(in3);
        let got_urgency = serde_json::to_value(t.urgency).unwrap_or_default();
        urgency_right += usize::from(got_urgency == want_urgency);
        let row = URGENCIES.iter().position(|u| *u == want_urgency);
        let col = URGENCIES.iter().position(|u| got_urgency == *u);
        if want_urgency == "emergency" && t.urgency != triage::Urgency::Emergency {
            missed += 1;
            missed_netted += usize::from(t.possible_emergency);
        } else if want_urgency != "emergency" {
            calm_netted += usize::from(t.possible_emergency);
        }
        if let (Some(row), Some(col)) = (row, col) {
            confusion[row][col] += 1;
        }
        match want_flag {
            Some(flag) => {
                flags += 1;
                let found = t.red_flags.iter().any(|f| f.id == flag);
                let counts = by_flag.entry(flag.to_owned()).or_default();
                counts.0 += 1;
                counts.1 += usize::from(found);
                counts.2 += usize::from(t.urgency == triage::Urgency::Emergency);
                if found {
                    flags_found += 1;
                } else {
                    misses.push(format!("RED FLAG MISSED {flag}: {}", case["text"]));
                }
            }
            None => {
                calm += 1;
                if t.urgency == triage::Urgency::Emergency {
                    false_emergency += 1;
                    let ids: Vec<&str> = t.red_flags.iter().map(|f| f.id.as_str()).collect();
                    misses.push(format!("FALSE EMERGENCY {ids:?}: {}", case["text"]));
                }
            }
        }
        if !first {
            misses.push(format!(
                "{} {}: expected {expected:?}, got {codes:?} (findings {:?})",
                if in3 { "top-3 only" } else { "MISS" },
                case["text"],
                t.findings
                    .iter()
                    .map(|f| format!("{}{}", if f.negated { "-" } else { "" }, f.concept))
                    .collect::<Vec<_>>()
            ));
        } else if got_urgency != want_urgency {
            misses.push(format!(
                "urgency {got_urgency} (expected {want_urgency}): {}",
                case["text"]
            ));
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    for m in &misses {
        println!("{m}");
    }
    println!("{name}, by expected department: code | cases | top-1 | top-3");
    for (code, t) in &by_department {
        println!("  {code} | {} | {} | {}", t.n, t.first, t.top3);
    }
    println!("{name}, by red flag: id | cases | this flag found | sent to emergency");
    for (id, (cases, found, emergency)) in &by_flag {
        println!("  {id} | {cases} | {found} | {emergency}");
    }
    println!(
        "{name}, the learned safety net: asked the checklist first for {missed_netted} of the \
         {missed} emergencies the rules missed, and for {calm_netted} of {} other cases",
        n - flags
    );
    println!("{name}, urgency expected (rows) by answered (columns): emergency urgent routine");
    for (row, counts) in URGENCIES.iter().zip(confusion) {
        println!("  {row}: {counts:?}");
    }
    println!(
        "{name}: cases {n}; top-1 {:.1}%; top-3 {:.1}%; red-flag recall {flags_found}/{flags} ({:.1}%); \
         false emergencies {false_emergency}/{calm} ({:.1}%); urgency agreement {:.1}%",
        pct(top1, n),
        pct(top3, n),
        pct(flags_found, flags),
        pct(false_emergency, calm),
        pct(urgency_right, n)
    );
    Report {
        n,
        top1: pct(top1, n),
        top3: pct(top3, n),
        flags,
        flags_found,
        false_emergency: pct(false_emergency, calm),
        missed,
        missed_netted,
        calm_netted: pct(calm_netted, n - flags),
    }
}

/// The case without the fields that are not the crate's input.
fn strip(case: &Value) -> Value {
    let mut v = case.clone();
    if let Some(o) = v.as_object_mut() {
        for k in ["expect", "urgency", "red_flag", "note"] {
            o.remove(k);
        }
    }
    v
}
