//! The nightly scan's cost: a year of daily counts for 3,000 regions × 20 syndromes (60,000
//! series), each checked with EARS C1, C2, C3 and the Poisson CUSUM, on one thread. Run with
//! `cargo run --release -p aberration --example scan`; the figures go to docs/PERFORMANCE.md.
//! `BENCH_SIZE=tiny` scans 600 series, CI's check that the program still runs.

use std::time::Instant;

use aberration::{Cusum, Ears, Method, Series, ears};

/// A small deterministic generator (64-bit LCG), so every run scans the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn main() -> Result<(), aberration::EarsError> {
    const DAYS: usize = 365;
    let series_count: usize = if std::env::var("BENCH_SIZE").as_deref() == Ok("tiny") {
        30 * 20
    } else {
        3_000 * 20
    };
    let mut rng = Lcg(42);
    // Counts around a per-series level with day-to-day noise: a realistic mix of sparse
    // (level 0–2) and busy (up to 60 a day) series.
    let data: Vec<Vec<f64>> = (0..series_count)
        .map(|_| {
            let level = rng.next() % 60;
            (0..DAYS)
                .map(|_| (level + rng.next() % (level / 2 + 3)) as f64)
                .collect()
        })
        .collect();
    // Each method on its own (the window statistics computed each time) ...
    let mut alarms = 0usize;
    for method in [Method::C1, Method::C2, Method::C3] {
        let settings = Ears::new(method);
        let t = Instant::now();
        for series in &data {
            alarms += ears(series, &settings)?
                .iter()
                .filter(|p| p.alarm == Some(true))
                .count();
        }
        println!(
            "{} alone: {series_count} series × {DAYS} days in {:.0} ms",
            method.as_str(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let t = Instant::now();
    let cusum = Cusum::default();
    for series in &data {
        alarms += aberration::cusum(series, 7, &cusum)
            .iter()
            .filter(|p| p.alarm == Some(true))
            .count();
    }
    println!(
        "Poisson CUSUM alone: {series_count} series × {DAYS} days in {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    // ... and all four as the nightly scan runs them: the windows once per series.
    let mut together = 0usize;
    let started = Instant::now();
    for series in &data {
        let s = Series::new(series, 7);
        for method in [Method::C1, Method::C2, Method::C3] {
            together += s
                .ears(method, None, 0.0)?
                .iter()
                .filter(|p| p.alarm == Some(true))
                .count();
        }
        together += s
            .cusum(&cusum)
            .iter()
            .filter(|p| p.alarm == Some(true))
            .count();
    }
    assert_eq!(together, alarms, "the same alarms either way");
    println!(
        "C1 + C2 + C3 + CUSUM, one series at a time: {:.0} ms on one thread ({together} alarm-days)",
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
