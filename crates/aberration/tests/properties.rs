//! Properties every EARS result must have, on random series.

use aberration::{Ears, Method, ears};
use proptest::prelude::*;

fn series() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((0u32..500).prop_map(f64::from), 0..60)
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::C1), Just(Method::C2), Just(Method::C3)]
}

proptest! {
    #[test]
    fn undefined_exactly_before_the_first_day_and_alarm_means_above(
        counts in series(),
        method in method(),
        min_sigma in 0.1f64..5.0,
    ) {
        let settings = Ears { min_sigma, ..Ears::new(method) };
        let points = ears(&counts, &settings).expect("valid settings");
        prop_assert_eq!(points.len(), counts.len());
        for (day, p) in points.iter().enumerate() {
            if day < method.first_day(7) {
                prop_assert!(p.upper.is_none() && p.alarm.is_none());
            } else {
                // With a floor on sigma every bound is defined.
                let upper = p.upper.expect("defined");
                prop_assert_eq!(p.alarm, Some(counts[day] > upper));
                if method == Method::C3 {
                    prop_assert!(upper >= 0.0);
                }
            }
        }
    }

    #[test]
    fn a_constant_series_never_alarms(level in 0u32..1000, len in 0usize..40, method in method()) {
        let counts = vec![f64::from(level); len];
        let points = ears(&counts, &Ears { min_sigma: 0.5, ..Ears::new(method) }).expect("valid");
        prop_assert!(points.iter().all(|p| p.alarm != Some(true)));
    }

    #[test]
    fn c1_and_c2_alarms_do_not_depend_on_the_unit(counts in series(), scale in 2u32..10) {
        let scaled: Vec<f64> = counts.iter().map(|c| c * f64::from(scale)).collect();
        for method in [Method::C1, Method::C2] {
            let a = ears(&counts, &Ears::new(method)).expect("valid");
            let b = ears(&scaled, &Ears::new(method)).expect("valid");
            let alarms = |p: &[aberration::Point]| p.iter().map(|p| p.alarm).collect::<Vec<_>>();
            prop_assert_eq!(alarms(&a), alarms(&b));
        }
    }
}

proptest! {
    #[test]
    fn the_cusum_alarms_exactly_above_its_bound_and_never_on_a_constant(
        counts in series(),
        level in 0u32..200,
    ) {
        let settings = aberration::Cusum::default();
        for (day, p) in aberration::cusum(&counts, 7, &settings).iter().enumerate() {
            if let Some(upper) = p.upper {
                prop_assert_eq!(p.alarm, Some(counts[day] > upper));
            } else {
                prop_assert!(day < 9 && p.alarm.is_none());
            }
        }
        let flat = vec![f64::from(level); 40];
        prop_assert!(aberration::cusum(&flat, 7, &settings).iter().all(|p| p.alarm != Some(true)));
    }
}
