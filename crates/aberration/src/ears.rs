//! EARS C1, C2 and C3, as `surveillance::earsC` (R package `surveillance` ≥ 1.13) computes
//! them. With daily counts y, baseline length n (default 7) and z = qnorm(1 − α):
//!
//! - **C1**: the reference values are the n days just before day t. With their mean m and
//!   sample standard deviation s, the upper bound is `m + z·max(s, minSigma)`. Defined from
//!   day n (0-based).
//! - **C2**: the same, but the n reference days end three days before t (a two-day guard
//!   band, so a rising outbreak does not hide itself): days t−n−2 … t−3. Defined from day n+2.
//! - **C3**: with `C2(u) = (y_u − m_u) / max(s_u, minSigma)` on C2's reference values, the
//!   upper bound is `y_t + max(s_t, minSigma)·(z − (max(0, C2(t−2) − 1) + max(0, C2(t−1) − 1)))`,
//!   floored at 0. (This is R's formula: day t's own C2 enters through the comparison
//!   `y_t > upper`.) Defined from day n+4.
//!
//! An alarm is `y_t > upper_t`. α defaults to 0.001 for C1 and C2 and to 0.025 for C3, as
//! `earsC` does when no α is given. Zero variance is handled as R handles it: with
//! `minSigma = 0` and a flat baseline, C1 and C2 alarm on anything above the mean, and C3's
//! ratios become ±∞ or NaN, so its bound is undefined (NA) where they enter — never a panic.

/// Which EARS method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    C1,
    C2,
    C3,
}

impl Method {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "c1" => Some(Method::C1),
            "c2" => Some(Method::C2),
            "c3" => Some(Method::C3),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::C1 => "C1",
            Method::C2 => "C2",
            Method::C3 => "C3",
        }
    }

    /// `earsC`'s α when none is given.
    pub fn default_alpha(self) -> f64 {
        match self {
            Method::C1 | Method::C2 => 0.001,
            Method::C3 => 0.025,
        }
    }

    /// The first day (0-based) the method has enough past for.
    pub fn first_day(self, baseline: usize) -> usize {
        match self {
            Method::C1 => baseline,
            Method::C2 => baseline + 2,
            Method::C3 => baseline + 4,
        }
    }
}

/// The settings of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ears {
    pub method: Method,
    /// Type I error per day; `None` for the method's default.
    pub alpha: Option<f64>,
    /// Reference days (at least 3).
    pub baseline: usize,
    /// The smallest standard deviation used (≥ 0).
    pub min_sigma: f64,
}

impl Ears {
    pub fn new(method: Method) -> Self {
        Self {
            method,
            alpha: None,
            baseline: 7,
            min_sigma: 0.0,
        }
    }
}

/// Settings `earsC` would refuse, said the same way.
#[derive(Debug, Clone, PartialEq)]
pub enum EarsError {
    Baseline(usize),
    MinSigma(f64),
    Alpha(f64),
}

impl std::fmt::Display for EarsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EarsError::Baseline(n) => write!(f, "the baseline must be at least 3 days, not {n}"),
            EarsError::MinSigma(s) => write!(f, "the minimum sigma must be 0 or more, not {s}"),
            EarsError::Alpha(a) => write!(f, "alpha must be between 0 and 1, not {a}"),
        }
    }
}

impl std::error::Error for EarsError {}

/// One day's result: its upper bound and alarm, `None` where undefined (R's `NA`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub upper: Option<f64>,
    pub alarm: Option<bool>,
}

impl Point {
    pub(crate) const NA: Point = Point {
        upper: None,
        alarm: None,
    };

    pub(crate) fn at(count: f64, upper: f64) -> Point {
        if upper.is_nan() {
            Point::NA
        } else {
            Point {
                upper: Some(upper),
                alarm: Some(count > upper),
            }
        }
    }
}

/// R's `pmax(a, b)` for two numbers: NaN if either is NaN (`f64::max` would drop it).
fn pmax(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Mean and sample standard deviation (n − 1) of `values`.
#[cfg(test)]
fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

/// Mean and sample standard deviation of every window of `n` days: entry `e` is about days
/// e−n … e−1 (defined for e ≥ n). Running sums make the scan linear in the series; with
/// whole counts the sums are exact in f64, so the variance is as exact as R's two-pass one.
pub(crate) fn windows(counts: &[f64], n: usize) -> Vec<(f64, f64)> {
    let mut out = vec![(f64::NAN, f64::NAN); counts.len() + 1];
    let (mut sum, mut squares) = (0.0, 0.0);
    let nf = n as f64;
    for (i, &y) in counts.iter().enumerate() {
        sum += y;
        squares += y * y;
        if i >= n {
            let old = counts[i - n];
            sum -= old;
            squares -= old * old;
        }
        if i + 1 >= n {
            let variance = ((nf * squares - sum * sum) / (nf * (nf - 1.0))).max(0.0);
            out[i + 1] = (sum / nf, variance.sqrt());
        }
    }
    out
}

/// A series with its reference-window statistics computed once, to run several methods on
/// (the nightly scan runs C1, C2, C3 and the CUSUM on every series).
pub struct Series<'a> {
    pub(crate) counts: &'a [f64],
    pub(crate) baseline: usize,
    /// `windows(counts, baseline)`; empty when the baseline is under 3.
    pub(crate) stats: Vec<(f64, f64)>,
}

impl<'a> Series<'a> {
    /// `counts`: one whole count per day, oldest first (whole numbers keep the running sums
    /// exact, so a flat baseline has a variance of exactly 0, as in R).
    pub fn new(counts: &'a [f64], baseline: usize) -> Self {
        let stats = if baseline >= 3 {
            windows(counts, baseline)
        } else {
            Vec::new()
        };
        Self {
            counts,
            baseline,
            stats,
        }
    }

    /// EARS `method` on this series.
    pub fn ears(
        &self,
        method: Method,
        alpha: Option<f64>,
        min_sigma: f64,
    ) -> Result<Vec<Point>, EarsError> {
        let (counts, n) = (self.counts, self.baseline);
        if n < 3 {
            return Err(EarsError::Baseline(n));
        }
        if min_sigma.is_nan() || min_sigma < 0.0 {
            return Err(EarsError::MinSigma(min_sigma));
        }
        let alpha = alpha.unwrap_or_else(|| method.default_alpha());
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(EarsError::Alpha(alpha));
        }
        let z = crate::normal::qnorm(1.0 - alpha);
        let first = method.first_day(n);
        let mut out = vec![Point::NA; counts.len()];
        let stats = &self.stats;
        // C1's reference for day t is the window ending at t; C2's (and C3's) the one ending
        // at t − 2, which leaves out the two days before t.
        let c2_ratio = |u: usize| {
            let (m, s) = stats[u - 2];
            (counts[u] - m) / pmax(s, min_sigma)
        };
        for t in first..counts.len() {
            let y = counts[t];
            let upper = match method {
                Method::C1 => {
                    let (m, s) = stats[t];
                    m + z * pmax(s, min_sigma)
                }
                Method::C2 => {
                    let (m, s) = stats[t - 2];
                    m + z * pmax(s, min_sigma)
                }
                Method::C3 => {
                    let part = |u: usize| pmax(0.0, c2_ratio(u) - 1.0);
                    let (_, s_t) = stats[t - 2];
                    let lags = part(t - 2) + part(t - 1);
                    pmax(0.0, y + pmax(s_t, min_sigma) * (z - lags))
                }
            };
            out[t] = Point::at(y, upper);
        }
        Ok(out)
    }
}

/// The upper bound and alarm of every day of `counts` (see [`Series::new`]).
pub fn ears(counts: &[f64], settings: &Ears) -> Result<Vec<Point>, EarsError> {
    Series::new(counts, settings.baseline).ears(settings.method, settings.alpha, settings.min_sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(method: Method, counts: &[f64]) -> Vec<Point> {
        ears(counts, &Ears::new(method)).expect("valid settings")
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Baseline 1..=7: mean 4, sample sd sqrt(28/6) = 2.1602468994692865.
    const RISING: [f64; 8] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 20.0];
    const SD_1_TO_7: f64 = 2.160_246_899_469_286_5;

    #[test]
    fn running_windows_equal_the_two_pass_statistics() {
        let counts: Vec<f64> = (0u32..200).map(|i| f64::from((i * 7919) % 97)).collect();
        let stats = windows(&counts, 7);
        for e in 7..=counts.len() {
            let (m, s) = mean_sd(&counts[e - 7..e]);
            assert!(
                close(stats[e].0, m) && close(stats[e].1, s),
                "window ending {e}"
            );
        }
        assert_eq!(windows(&[4.0; 9], 7)[9], (4.0, 0.0), "flat is exactly zero");
    }

    #[test]
    fn c1_by_hand() {
        let got = run(Method::C1, &RISING);
        assert!(
            got[..7]
                .iter()
                .all(|p| p.upper.is_none() && p.alarm.is_none())
        );
        // 4 + qnorm(0.999) · 2.1602… = 4 + 3.0902323061678132 · 2.1602468994692865
        let upper = 4.0 + 3.090_232_306_167_813 * SD_1_TO_7;
        let p = got[7];
        assert!(
            close(p.upper.unwrap_or_default(), upper),
            "{p:?} vs {upper}"
        );
        assert!(close(upper, 10.675_664_758_038_842));
        assert_eq!(p.alarm, Some(true));
    }

    #[test]
    fn c2_skips_the_two_days_before() {
        // Days 0–6 are the reference for day 9; days 7 and 8 (the guard band) are ignored.
        let counts = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 100.0, 100.0, 11.0];
        let got = run(Method::C2, &counts);
        assert!(got[..9].iter().all(|p| p.upper.is_none()));
        let upper = 4.0 + 3.090_232_306_167_813 * SD_1_TO_7;
        assert!(close(got[9].upper.unwrap_or_default(), upper));
        assert_eq!(got[9].alarm, Some(true), "11 > 10.68");
    }

    #[test]
    fn c3_sums_the_two_previous_c2_excesses() {
        // Days 0–6: 1..7. C2 on day 9 uses days 0–6 (mean 4, sd 2.1602…); on day 10 days 1–7,
        // on day 11 days 2–8.
        let counts = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 4.0, 4.0, 12.0, 12.0, 9.0];
        let got = run(Method::C3, &counts);
        assert!(got[..11].iter().all(|p| p.upper.is_none()));
        let (m9, s9) = mean_sd(&counts[0..7]);
        let (m10, s10) = mean_sd(&counts[1..8]);
        let (_, s11) = mean_sd(&counts[2..9]);
        let c2_9: f64 = (12.0 - m9) / s9;
        let c2_10: f64 = (12.0 - m10) / s10;
        let z = crate::normal::qnorm(0.975);
        let expected =
            (9.0 + s11 * (z - ((c2_9 - 1.0).max(0.0) + (c2_10 - 1.0).max(0.0)))).max(0.0);
        // By hand: C2(9) = 8 / 2.1602 = 3.7033; C2(10) = (12 − 31/7) / 1.7182 = 4.4065;
        // excesses 2.7033 + 3.4065 = 6.1098 > z = 1.96, so the bound falls below the count.
        assert!(close(c2_9, 3.703_280_399_090_206));
        assert!(close(c2_10, 4.406_478_264_015_862));
        let p = got[11];
        assert!(
            close(p.upper.unwrap_or(f64::NAN), expected),
            "{p:?} vs {expected}"
        );
        assert_eq!(p.alarm, Some(true));
    }

    #[test]
    fn a_flat_baseline_alarms_on_any_rise_in_c1_and_is_undefined_in_c3() {
        let flat = [5.0; 12];
        let c1 = run(Method::C1, &flat);
        assert_eq!(c1[7].upper, Some(5.0));
        assert_eq!(c1[7].alarm, Some(false), "5 is not above 5");
        let mut rise = flat;
        rise[8] = 6.0;
        assert_eq!(run(Method::C1, &rise)[8].alarm, Some(true));
        // C3: every ratio is 0/0 or x/0: R gives NA, and so do we.
        let c3 = run(Method::C3, &rise);
        assert!(c3[11].upper.is_none() && c3[11].alarm.is_none());
        // A floor on sigma makes everything defined again.
        let floored = ears(
            &rise,
            &Ears {
                min_sigma: 0.5,
                ..Ears::new(Method::C3)
            },
        )
        .expect("valid");
        assert!(floored[11].upper.is_some());
    }

    #[test]
    fn settings_earsc_refuses_are_refused() {
        let s = Ears::new(Method::C1);
        assert_eq!(
            ears(&[1.0; 10], &Ears { baseline: 2, ..s }),
            Err(EarsError::Baseline(2))
        );
        assert!(
            ears(
                &[1.0; 10],
                &Ears {
                    min_sigma: -1.0,
                    ..s
                }
            )
            .is_err()
        );
        assert!(
            ears(
                &[1.0; 10],
                &Ears {
                    alpha: Some(1.0),
                    ..s
                }
            )
            .is_err()
        );
        assert_eq!(ears(&[], &s), Ok(vec![]));
        assert!(
            ears(&[3.0, 4.0], &s)
                .expect("short is fine")
                .iter()
                .all(|p| p.upper.is_none())
        );
    }

    /// C1 and C2 alarm on the day of a jump; C3 (R's formula) on the next day, the first
    /// whose two lagged excesses include it.
    #[test]
    fn an_outbreak_injected_into_a_steady_series_alarms_on_the_expected_day() {
        // A weekly rhythm around 10 a day, then a jump to 30 on day 40.
        let mut counts: Vec<f64> = (0..60).map(|d| f64::from(8 + (d % 7) % 5)).collect();
        counts[40] = 30.0;
        for (method, day) in [(Method::C1, 40), (Method::C2, 40), (Method::C3, 41)] {
            let got = run(method, &counts);
            let alarms: Vec<usize> = got
                .iter()
                .enumerate()
                .filter(|(_, p)| p.alarm == Some(true))
                .map(|(d, _)| d)
                .collect();
            assert_eq!(alarms.first(), Some(&day), "{method:?}: {alarms:?}");
        }
    }
}
