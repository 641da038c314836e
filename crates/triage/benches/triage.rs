//! Latency of one complaint in process (target: p99 < 1 ms). `cargo bench -p triage`.
//!
//! First every complaint of the case sets (data/cases.jsonl and tests/*.jsonl, 975 texts of 2 to 40 characters) is
//! triaged 20 times, each call timed alone, and p50 / p99 / max printed; then criterion
//! measures the mean over a mix of typical complaints.

use std::time::{Duration, Instant};

use criterion::Criterion;

const COMPLAINTS: [&str; 6] = [
    "宝宝发烧两天了39度还拉肚子",
    "胸口闷痛出冷汗半小时",
    "最近老是失眠，心情不好，压力很大，不想上班",
    "我不发烧，但是咳嗽有痰一个多星期了，晚上咳得睡不着",
    "怀孕8周，今天下面有点出血，肚子隐隐作痛",
    "右下腹疼了一天，恶心，没有胃口，走路的时候更疼",
];

fn case_texts() -> Vec<String> {
    let sets = [
        include_str!("../data/cases.jsonl"),
        include_str!("../tests/holdout.jsonl"),
        include_str!("../tests/holdout-4.jsonl"),
        include_str!("../tests/holdout-5.jsonl"),
    ];
    sets.iter()
        .flat_map(|s| s.lines())
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect()
}

fn percentiles() {
    // The one-time cost a server pays at start: jieba's dictionary, the knowledge base, the
    // learned models.
    let started = Instant::now();
    if let Err(e) = triage::warm_up() {
        panic!("the knowledge base does not load: {e}");
    }
    println!(
        "triage warm-up (load and train once): {:?}",
        started.elapsed()
    );
    let texts = case_texts();
    let mut times: Vec<Duration> = Vec::with_capacity(texts.len() * rounds());
    for _ in 0..rounds() {
        for text in &texts {
            let input = triage::Input::text(text);
            let started = Instant::now();
            let result = triage::triage(&input);
            times.push(started.elapsed());
            std::hint::black_box(result).ok();
        }
    }
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "triage, each call timed: {} calls over {} complaints; p50 {:?}, p99 {:?}, max {:?}",
        times.len(),
        texts.len(),
        at(0.50),
        at(0.99),
        times[times.len() - 1]
    );
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

fn main() {
    percentiles();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("triage one complaint (mix of 6)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % COMPLAINTS.len();
            triage::triage(&triage::Input::text(COMPLAINTS[i]))
        })
    });
    c.final_summary();
}
