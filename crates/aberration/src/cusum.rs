//! A Poisson CUSUM (Lucas 1985) with a moving in-control mean, for slow rises that EARS's
//! one-day comparisons miss. For day t (baseline n, the same reference days as EARS C2:
//! t−n−2 … t−3):
//!
//! - in-control mean λ0 = the reference days' mean, at least `min_mean` (so a quiet series
//!   can still signal and the logarithm is defined);
//! - out-of-control mean λ1 = λ0 + `shift`·√λ0 (a rise of `shift` Poisson standard deviations);
//! - reference value k = (λ1 − λ0) / (ln λ1 − ln λ0), the optimal one for detecting λ1;
//! - S_t = max(0, S_{t−1} + y_t − k), starting from 0;
//! - alarm when S_t > h_t with h_t = `h`·√λ0; the sum starts again from 0 after an alarm, so
//!   each signal is a fresh one.
//!
//! The reported upper bound is the count that would have signalled that day:
//! `h_t + k − S_{t−1}`, so `alarm ⇔ y_t > upper`, as for EARS.
//!
//! Lucas JM. Counted data CUSUM's. Technometrics 1985;27(2):129–144.

use crate::ears::{Point, Series};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cusum {
    /// The rise to detect, in Poisson standard deviations of the in-control mean.
    pub shift: f64,
    /// The decision interval, in the same standard deviations.
    pub h: f64,
    /// The smallest in-control mean used.
    pub min_mean: f64,
}

impl Default for Cusum {
    fn default() -> Self {
        Self {
            shift: 2.0,
            h: 4.0,
            min_mean: 0.5,
        }
    }
}

/// The CUSUM's bound and alarm for every day, with reference windows of `baseline` days;
/// undefined (None) before day baseline + 2, or for settings that make no sense (a baseline
/// under 3, a non-positive shift, h or mean).
pub fn cusum(counts: &[f64], baseline: usize, settings: &Cusum) -> Vec<Point> {
    Series::new(counts, baseline).cusum(settings)
}

impl Series<'_> {
    /// The Poisson CUSUM on this series.
    pub fn cusum(&self, settings: &Cusum) -> Vec<Point> {
        let (counts, n) = (self.counts, self.baseline);
        let mut out = vec![Point::NA; counts.len()];
        let sane = n >= 3 && settings.shift > 0.0 && settings.h > 0.0 && settings.min_mean > 0.0;
        if !sane || counts.len() <= n + 2 {
            return out;
        }
        let mut sum = 0.0;
        for t in n + 2..counts.len() {
            let lambda0 = self.stats[t - 2].0.max(settings.min_mean);
            let sd = lambda0.sqrt();
            // (λ1 − λ0) / ln(λ1 / λ0), with λ1 / λ0 = 1 + shift / √λ0: one logarithm a day.
            let k = settings.shift * sd / (settings.shift / sd).ln_1p();
            let h = settings.h * sd;
            let upper = h + k - sum;
            let point = Point::at(counts[t], upper);
            sum = (sum + counts[t] - k).max(0.0);
            if point.alarm == Some(true) {
                sum = 0.0;
            }
            out[t] = point;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarms(points: &[Point]) -> Vec<usize> {
        points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.alarm == Some(true))
            .map(|(d, _)| d)
            .collect()
    }

    #[test]
    fn by_hand_on_a_flat_baseline() {
        // λ0 = 4, λ1 = 4 + 2·2 = 8, k = 4 / ln 2 = 5.7708, h = 4·2 = 8.
        let mut counts = vec![4.0; 12];
        counts.extend([8.0, 8.0, 8.0, 8.0]);
        let got = cusum(&counts, 7, &Cusum::default());
        assert!(got[..9].iter().all(|p| p.upper.is_none()));
        let k = 4.0 / std::f64::consts::LN_2;
        // Day 9 (count 4, S was 0): the count that would signal is h + k = 13.77.
        assert!((got[9].upper.unwrap_or_default() - (8.0 + k)).abs() < 1e-9);
        assert_eq!(got[9].alarm, Some(false));
        // Day 12: the first 8, reference still flat: S = 8 − k = 2.229, no alarm.
        assert_eq!(got[12].alarm, Some(false));
        // Day 13: reference days 4–10 still all 4s: S_12 = 2.229, bound h + k − S_12 = 11.54.
        let s12 = 8.0 - k;
        assert!((got[13].upper.unwrap_or_default() - (8.0 + k - s12)).abs() < 1e-9);
    }

    #[test]
    fn a_flat_series_never_signals_and_a_sustained_rise_does() {
        let flat = vec![10.0; 100];
        assert!(alarms(&cusum(&flat, 7, &Cusum::default())).is_empty());
        // 10 a day, then 20 a day from day 50 (three standard deviations): the sum crosses
        // h on the second day, before the moving baseline absorbs the rise.
        let mut rising = flat.clone();
        for day in rising.iter_mut().skip(50) {
            *day = 20.0;
        }
        let found = alarms(&cusum(&rising, 7, &Cusum::default()));
        assert_eq!(found.first(), Some(&51), "{found:?}");
    }

    #[test]
    fn nonsense_settings_give_no_values_rather_than_a_panic() {
        let counts = vec![3.0; 30];
        assert!(
            cusum(&counts, 2, &Cusum::default())
                .iter()
                .all(|p| p.upper.is_none())
        );
        for bad in [
            Cusum {
                shift: 0.0,
                ..Cusum::default()
            },
            Cusum {
                h: -1.0,
                ..Cusum::default()
            },
            Cusum {
                min_mean: 0.0,
                ..Cusum::default()
            },
        ] {
            assert!(cusum(&counts, 7, &bad).iter().all(|p| p.upper.is_none()));
        }
    }
}
