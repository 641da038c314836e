//! Latency of screening one chat message in process (issue #9 target: p99 < 1 ms).
//! `cargo bench -p triage --bench screening`.
//!
//! The default rule set with one outbreak area; every complaint of the case sets (740 texts)
//! plus chat-like messages that do fire rules, each read and evaluated 20 times, every call
//! timed alone: p50 / p99 / max.

use std::time::{Duration, Instant};

use triage::screening::{RuleSet, Screener, Signals, parse_day};

const MESSAGES: [&str; 6] = [
    "刚从武汉回来，发烧38.5度，不敢去医院",
    "两个月前去过武汉，现在有点咳嗽",
    "全家都拉肚子，从昨天开始",
    "孩子手心脚心起了小水泡，嘴里起泡，发烧",
    "医生您好，我想问一下这个药饭前吃还是饭后吃？每天吃几次，需要吃多久？",
    "没有发烧，也没去过外地，就是嗓子有点疼",
];

fn texts() -> Vec<String> {
    let sets = [
        include_str!("../data/cases.jsonl"),
        include_str!("../tests/holdout.jsonl"),
    ];
    sets.iter()
        .flat_map(|s| s.lines())
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .chain(MESSAGES.iter().map(|m| (*m).to_owned()))
        .collect()
}

/// Each text is timed this many times; once for `BENCH_SIZE=tiny` (CI's check that the
/// program still runs, as `cargo test --benches` also runs criterion's part once).
fn rounds() -> usize {
    if std::env::var("BENCH_SIZE").as_deref() == Ok("tiny") {
        1
    } else {
        20
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    triage::warm_up()?;
    let mut set = RuleSet::default_set()?;
    set.areas = toml::from_str::<RuleSet>(
        "[[area]]\nname = \"武汉\"\naliases = [\"武汉市\"]\nregion = \"420100\"\nfrom = \"2026-11-01\"\n",
    )?
    .areas;
    let screener = Screener::new(set).map_err(|p| format!("{p:?}"))?;
    let today = parse_day("2026-11-22").ok_or("date")?;
    // Signals the consultation already showed: a message is merged with them.
    let earlier = screener.read("message:1", "我发烧了", today)?;
    let texts = texts();
    let mut times: Vec<Duration> = Vec::with_capacity(texts.len() * rounds());
    let mut flagged = 0;
    for _ in 0..rounds() {
        for text in &texts {
            let started = Instant::now();
            let mut signals: Signals = screener.read("message:2", text, today)?;
            signals.merge(&earlier);
            let hits = screener.evaluate(&signals);
            times.push(started.elapsed());
            flagged += usize::from(hits.iter().any(|h| h.flag));
        }
    }
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "screening, each message timed: {} calls over {} texts ({} flagged); p50 {:?}, p99 {:?}, max {:?}",
        times.len(),
        texts.len(),
        flagged / rounds(),
        at(0.50),
        at(0.99),
        times[times.len() - 1]
    );
    Ok(())
}
