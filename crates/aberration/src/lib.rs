//! Aberration detection for public-health surveillance counts: the CDC's Early Aberration
//! Reporting System methods C1, C2 and C3, computed exactly as R's `surveillance::earsC`
//! computes them, so an epidemiologist can check any figure against R.
//!
//! Pure: counts in, thresholds and alarms out; no IO, no clock, no allocation beyond the
//! result. Yunyi's daily surveillance job and the `yunyi ears` command both call [`ears`].
//!
//! References: Hutwagner L, Thompson W, Seeman GM, Treadwell T. The bioterrorism
//! preparedness and response Early Aberration Reporting System (EARS). J Urban Health
//! 2003;80(Suppl 1):i89–96. Fricker RD, Hegler BL, Dunfee DA. Comparing syndromic
//! surveillance detection methods: EARS' versus a CUSUM-based methodology. Stat Med
//! 2008;27:3407–29. Salmon M, Schumacher D, Höhle M. Monitoring count time series in R:
//! aberration detection in public health surveillance. J Stat Softw 2016;70(10). The
//! Poisson CUSUM ([`cusum`]) follows Lucas JM, Counted data CUSUM's, Technometrics 1985.

pub mod cusum;
pub mod ears;
pub mod normal;

pub use cusum::{Cusum, cusum};
pub use ears::{Ears, EarsError, Method, Point, Series, ears};
