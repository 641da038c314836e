//! Synthetic daily counts with an injected outbreak, for the demo (so the dashboard shows a
//! real alarm from the real scan) and for tests. Deterministic: the same seed gives the same
//! counts.
//!
//! Each series has a level, a weekly rhythm (more on Mondays, fewer at weekends, as clinics
//! see) and bounded noise; the outbreak adds a rising number of cases over its last days.

/// A series to generate: where, what, and about how many a day.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    pub region: &'a str,
    pub syndrome: &'a str,
    pub level: f64,
}

/// Extra cases in one series over the last `extra.len()` days.
#[derive(Debug, Clone, Copy)]
pub struct Outbreak<'a> {
    pub region: &'a str,
    pub syndrome: &'a str,
    pub extra: &'a [u32],
}

/// One day's count: (day index from 0 = oldest, region, syndrome, count).
pub type Row<'a> = (usize, &'a str, &'a str, i64);

/// A small deterministic generator (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `days` days of every baseline series (zeros left out), the outbreak added at the end.
pub fn generate<'a>(
    seed: u64,
    baselines: &[Baseline<'a>],
    days: usize,
    outbreak: Option<Outbreak<'a>>,
) -> Vec<Row<'a>> {
    let mut rng = Lcg(seed);
    let mut rows = Vec::new();
    for b in baselines {
        for day in 0..days {
            // Day 0 is a Monday-like peak; the week's rhythm is ±20%.
            let rhythm = 1.0 + 0.2 * ((day % 7) as f64 * std::f64::consts::TAU / 7.0).cos();
            let noise = (rng.unit() - 0.5) * b.level.sqrt();
            let mut n = (b.level * rhythm + noise).round().max(0.0) as i64;
            if let Some(o) = outbreak
                && o.region == b.region
                && o.syndrome == b.syndrome
            {
                let from_end = days - day;
                if from_end <= o.extra.len() {
                    n += i64::from(o.extra[o.extra.len() - from_end]);
                }
            }
            if n > 0 {
                rows.push((day, b.region, b.syndrome, n));
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surveillance::scan::{self, Daily};

    const BASELINES: [Baseline<'static>; 4] = [
        Baseline {
            region: "440106",
            syndrome: "respiratory",
            level: 6.0,
        },
        Baseline {
            region: "440106",
            syndrome: "diarrhoeal",
            level: 3.0,
        },
        Baseline {
            region: "440104",
            syndrome: "respiratory",
            level: 8.0,
        },
        Baseline {
            region: "421022",
            syndrome: "respiratory",
            level: 4.0,
        },
    ];

    fn series(rows: &[Row<'_>], region: &str, syndrome: &str, days: usize) -> Daily {
        let mut counts = vec![0.0; days];
        for (d, r, s, n) in rows {
            if *r == region && *s == syndrome {
                counts[*d] += *n as f64;
            }
        }
        Daily {
            syndrome: syndrome.into(),
            region: region.into(),
            start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            counts,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_counts() {
        assert_eq!(
            generate(7, &BASELINES, 60, None),
            generate(7, &BASELINES, 60, None)
        );
        assert_ne!(
            generate(7, &BASELINES, 60, None),
            generate(8, &BASELINES, 60, None)
        );
    }

    #[test]
    fn the_outbreak_alarms_and_the_other_series_do_not() {
        let outbreak = Outbreak {
            region: "440106",
            syndrome: "respiratory",
            extra: &[6, 12, 20],
        };
        let days = 120;
        let rows = generate(2026, &BASELINES, days, Some(outbreak));
        for b in BASELINES {
            let d = series(&rows, b.region, b.syndrome, days);
            let found = scan::aberrations(&d, scan::RECENT_DAYS).unwrap();
            if b.region == "440106" && b.syndrome == "respiratory" {
                assert!(!found.is_empty(), "the outbreak alarms");
            } else {
                assert!(found.is_empty(), "{} {}: {found:?}", b.region, b.syndrome);
            }
        }
    }
}
