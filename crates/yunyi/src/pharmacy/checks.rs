//! Prescription safety checks (合理用药审核), run when the doctor writes a prescription and
//! again when the pharmacist reviews it. Pure: the caller gathers the drugs, the patient's
//! facts, the interaction table and the local policy; the result is a list of findings, each
//! with its severity. A blocking finding stops the prescription.

use serde::Serialize;

use super::model::{Drug, Pregnancy};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; nothing to do.
    Info,
    /// The doctor (or pharmacist) must have considered it.
    Warning,
    /// Stops the prescription until it is changed.
    Blocking,
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = SafetyFinding)]
pub struct Finding {
    /// A stable code: `banned_online`, `allergy`, `interaction`, …
    pub code: &'static str,
    pub severity: Severity,
    /// The item (0-based) it is about, if one.
    pub item: Option<usize>,
    pub message: String,
}

crate::text_enum! {
    /// How often a dose is taken (给药频次), with the most doses it means in a day.
    pub enum Frequency {
        /// 每日一次
        Qd = "qd",
        /// 每日两次
        Bid = "bid",
        /// 每日三次
        Tid = "tid",
        /// 每日四次
        Qid = "qid",
        /// 每晚一次
        Qn = "qn",
        /// 每8小时一次
        Q8h = "q8h",
        /// 每12小时一次
        Q12h = "q12h",
        /// 每周一次
        Qw = "qw",
        /// 必要时 — counted as up to four doses a day, so that the dose limits still hold.
        Prn = "prn",
    }
}

impl Frequency {
    /// As a doctor or a formulary file writes it: any case, spaces around.
    pub fn from_input(raw: &str) -> Option<Self> {
        let raw = raw.trim().to_ascii_lowercase();
        Self::parse(&raw)
    }

    /// Doses a day at most (a weekly dose is a seventh).
    pub fn per_day(self) -> f64 {
        match self {
            Frequency::Qd | Frequency::Qn => 1.0,
            Frequency::Bid | Frequency::Q12h => 2.0,
            Frequency::Tid | Frequency::Q8h => 3.0,
            Frequency::Qid | Frequency::Prn => 4.0,
            Frequency::Qw => 1.0 / 7.0,
        }
    }
}

/// What the checks need to know about the patient.
#[derive(Debug, Clone, Default)]
pub struct PatientFacts {
    pub age_years: Option<u32>,
    pub pregnant: bool,
    /// As the patient wrote them (青霉素, 磺胺类).
    pub allergies: Vec<String>,
    /// Recorded by the doctor for a child under six: a guardian was present in the visit.
    pub guardian_present: bool,
}

/// One item to check: a drug with its dose (in the drug's dose unit), frequency, days and the
/// quantity to dispense (in dispensing units).
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub drug: &'a Drug,
    pub dose: f64,
    pub frequency: Frequency,
    pub days: i64,
    pub quantity: i64,
}

/// A row of the interaction table: ATC codes or prefixes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct Interaction {
    pub atc_a: String,
    pub atc_b: String,
    pub severity: String,
    pub note: String,
}

/// Local policy on how long a prescription may last (处方限量).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Days for an ordinary prescription (e.g. 7; chronic refills up to `chronic_days`).
    pub max_days: i64,
    /// Days for a chronic-disease refill (长处方: 4 weeks by default).
    pub chronic_days: i64,
    /// Days for a stable chronic disease where local policy allows long prescriptions (12
    /// weeks).
    pub stable_chronic_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_days: 7,
            chronic_days: 28,
            stable_chronic_days: 84,
        }
    }
}

/// The kind of prescription, for the day limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duration {
    Ordinary,
    Chronic,
    StableChronic,
}

impl Policy {
    pub fn limit(self, duration: Duration) -> i64 {
        match duration {
            Duration::Ordinary => self.max_days,
            Duration::Chronic => self.chronic_days,
            Duration::StableChronic => self.stable_chronic_days,
        }
    }
}

/// Everything a check reads.
pub struct Context<'a> {
    pub patient: &'a PatientFacts,
    pub items: &'a [Item<'a>],
    /// Drugs of the patient's other prescriptions still being taken.
    pub current: &'a [&'a Drug],
    pub interactions: &'a [Interaction],
    pub policy: Policy,
    pub duration: Duration,
}

/// Runs every check; findings come most serious first, then by item.
pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, item) in ctx.items.iter().enumerate() {
        per_item(ctx, i, item, &mut findings);
    }
    between_items(ctx, &mut findings);
    if ctx.patient.age_years.is_some_and(|a| a < 6) && !ctx.patient.guardian_present {
        findings.push(Finding {
            code: "guardian_required",
            severity: Severity::Blocking,
            item: None,
            message: "a child under six is prescribed for online only with a guardian present: record that the guardian took part".to_owned(),
        });
    }
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.item.cmp(&b.item)));
    findings
}

fn finding(code: &'static str, severity: Severity, item: usize, message: String) -> Finding {
    Finding {
        code,
        severity,
        item: Some(item),
        message,
    }
}

fn per_item(ctx: &Context<'_>, i: usize, item: &Item<'_>, out: &mut Vec<Finding>) {
    let drug = item.drug;
    let name = &drug.generic_name;
    let class = drug.class();
    if class.banned_online() {
        out.push(finding(
            "banned_online",
            Severity::Blocking,
            i,
            format!("{name}: {} may not be prescribed online", class.label_zh()),
        ));
    } else if !drug.online || !drug.active {
        out.push(finding(
            "not_online",
            Severity::Blocking,
            i,
            format!("{name} is not in this hospital's online formulary"),
        ));
    }
    if let Some(allergy) = allergy_match(&ctx.patient.allergies, drug) {
        out.push(finding(
            "allergy",
            Severity::Blocking,
            i,
            format!("{name}: the patient reports an allergy to {allergy}"),
        ));
    }
    let daily = item.dose * item.frequency.per_day();
    if let Some(max) = drug.max_daily_dose {
        if daily > max + 1e-9 {
            out.push(finding(
                "max_daily_dose",
                Severity::Blocking,
                i,
                format!(
                    "{name}: {} {unit} a day is above the maximum of {} {unit}",
                    trim(daily),
                    trim(max),
                    unit = drug.dose_unit
                ),
            ));
        }
    }
    if let (Some(min), Some(age)) = (drug.min_age_years, ctx.patient.age_years) {
        if i64::from(age) < min {
            out.push(finding(
                "age",
                Severity::Blocking,
                i,
                format!("{name} is not for patients under {min} (the patient is {age})"),
            ));
        }
    }
    if ctx.patient.pregnant {
        match drug.pregnancy() {
            Pregnancy::Contraindicated => out.push(finding(
                "pregnancy",
                Severity::Blocking,
                i,
                format!("{name} is contraindicated in pregnancy"),
            )),
            Pregnancy::Caution => out.push(finding(
                "pregnancy",
                Severity::Warning,
                i,
                format!("{name}: use with caution in pregnancy"),
            )),
            Pregnancy::Safe => {}
        }
    }
    let limit = ctx.policy.limit(ctx.duration);
    if item.days > limit {
        out.push(finding(
            "days",
            Severity::Blocking,
            i,
            format!(
                "{name}: {} days is more than the {limit} days this prescription may cover",
                item.days
            ),
        ));
    }
    let needed = units_needed(item);
    if item.quantity > needed {
        out.push(finding(
            "quantity",
            Severity::Blocking,
            i,
            format!(
                "{name}: {} {} is more than the {} {} that {} days need",
                item.quantity, drug.unit, needed, drug.unit, item.days
            ),
        ));
    }
}

/// Dispensing units that `days` of the dose need, rounded up to whole packs.
pub fn units_needed(item: &Item<'_>) -> i64 {
    let doses_units = item.dose / item.drug.unit_strength * item.frequency.per_day();
    let total = doses_units * item.days as f64 / item.drug.pack_size as f64;
    // A small tolerance so that 28 tablets for 28 days is one box, not two.
    (total - 1e-9).ceil().max(1.0) as i64
}

fn between_items(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let items = ctx.items;
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            if a.drug.id == b.drug.id {
                out.push(finding(
                    "duplicate_item",
                    Severity::Blocking,
                    i,
                    format!("{} is prescribed twice", a.drug.generic_name),
                ));
            } else {
                pair(ctx, i, a.drug, b.drug, out);
            }
        }
        for current in ctx.current {
            if current.id == a.drug.id {
                out.push(finding(
                    "duplicate_therapy",
                    Severity::Warning,
                    i,
                    format!(
                        "{} is already being taken on another prescription",
                        a.drug.generic_name
                    ),
                ));
            } else {
                pair(ctx, i, a.drug, current, out);
            }
        }
    }
}

/// Duplicate therapy (same ATC level 4, e.g. two calcium-channel blockers) and interactions.
fn pair(ctx: &Context<'_>, i: usize, a: &Drug, b: &Drug, out: &mut Vec<Finding>) {
    let (Some(x), Some(y)) = (a.atc_code.as_deref(), b.atc_code.as_deref()) else {
        return;
    };
    if x.len() >= 5 && y.len() >= 5 && x[..5] == y[..5] {
        out.push(finding(
            "duplicate_therapy",
            Severity::Warning,
            i,
            format!(
                "{} and {} belong to the same therapeutic group ({})",
                a.generic_name,
                b.generic_name,
                &x[..5]
            ),
        ));
    }
    for row in ctx.interactions {
        let matches = (x.starts_with(&row.atc_a) && y.starts_with(&row.atc_b))
            || (x.starts_with(&row.atc_b) && y.starts_with(&row.atc_a));
        if matches {
            let severity = match row.severity.as_str() {
                "contraindicated" => Severity::Blocking,
                "major" => Severity::Warning,
                _ => Severity::Info,
            };
            out.push(finding(
                "interaction",
                severity,
                i,
                format!("{} + {}: {}", a.generic_name, b.generic_name, row.note),
            ));
        }
    }
}

/// The first of the patient's allergies that names this drug (its names or allergy terms).
fn allergy_match(allergies: &[String], drug: &Drug) -> Option<String> {
    let words = drug.allergy_words();
    allergies
        .iter()
        .map(|a| a.trim())
        // One character says too little to match on (过 敏 …).
        .filter(|a| a.chars().count() >= 2)
        .find(|a| {
            words.iter().any(|w| {
                let w = w.trim();
                w.chars().count() >= 2 && (a.contains(w) || w.contains(a))
            })
        })
        .map(str::to_owned)
}

/// A dose for people: 10, 2.5, not 10.000000.
fn trim(n: f64) -> String {
    let s = format!("{n:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pharmacy::model::DrugClass;

    fn drug(id: i64, name: &str, atc: &str, class: DrugClass) -> Drug {
        Drug {
            id,
            hospital_id: 1,
            code: format!("D{id}"),
            generic_name: name.to_owned(),
            brand_name: None,
            form: "片剂".to_owned(),
            strength: "5mg×28片".to_owned(),
            unit: "盒".to_owned(),
            pack_size: 28,
            route: "口服".to_owned(),
            price_fen: 3000,
            class: class.as_str().to_owned(),
            online: !class.banned_online(),
            atc_code: Some(atc.to_owned()),
            dose_unit: "mg".to_owned(),
            unit_strength: 5.0,
            max_daily_dose: Some(10.0),
            min_age_years: None,
            pregnancy: "safe".to_owned(),
            allergy_terms: String::new(),
            active: true,
        }
    }

    fn item(drug: &Drug) -> Item<'_> {
        Item {
            drug,
            dose: 5.0,
            frequency: Frequency::Qd,
            days: 28,
            quantity: 1,
        }
    }

    fn run(patient: &PatientFacts, items: &[Item<'_>], current: &[&Drug]) -> Vec<Finding> {
        let interactions = vec![Interaction {
            atc_a: "C09AA".to_owned(),
            atc_b: "C03DA".to_owned(),
            severity: "major".to_owned(),
            note: "高钾血症风险".to_owned(),
        }];
        check(&Context {
            patient,
            items,
            current,
            interactions: &interactions,
            policy: Policy::default(),
            duration: Duration::Chronic,
        })
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings.iter().map(|f| (f.code, f.severity)).collect()
    }

    #[test]
    fn a_plain_refill_has_no_findings() {
        let amlodipine = drug(1, "氨氯地平", "C08CA01", DrugClass::Prescription);
        assert!(run(&PatientFacts::default(), &[item(&amlodipine)], &[]).is_empty());
    }

    #[test]
    fn every_banned_class_is_refused_online() {
        for class in DrugClass::ALL.into_iter().filter(|c| c.banned_online()) {
            let d = drug(1, "某药", "N02AA01", class);
            let f = run(&PatientFacts::default(), &[item(&d)], &[]);
            assert_eq!(
                codes(&f),
                [("banned_online", Severity::Blocking)],
                "{class:?}"
            );
            assert!(f[0].message.contains(class.label_zh()));
        }
    }

    #[test]
    fn allergies_match_names_and_terms_but_not_single_characters() {
        let mut amoxicillin = drug(1, "阿莫西林胶囊", "J01CA04", DrugClass::Prescription);
        amoxicillin.allergy_terms = "青霉素,penicillin".to_owned();
        let patient = |a: &str| PatientFacts {
            allergies: vec![a.to_owned()],
            ..Default::default()
        };
        for allergy in [
            "青霉素",
            "青霉素类",
            "阿莫西林",
            "Penicillin".to_lowercase().as_str(),
        ] {
            let f = run(&patient(allergy), &[item(&amoxicillin)], &[]);
            assert!(
                f.iter()
                    .any(|f| f.code == "allergy" && f.severity == Severity::Blocking),
                "{allergy}: {f:?}"
            );
        }
        for allergy in ["头孢", "药", ""] {
            let f = run(&patient(allergy), &[item(&amoxicillin)], &[]);
            assert!(!f.iter().any(|f| f.code == "allergy"), "{allergy}: {f:?}");
        }
    }

    #[test]
    fn interactions_match_by_prefix_in_either_order_and_duplicates_by_group() {
        let enalapril = drug(1, "依那普利", "C09AA02", DrugClass::Prescription);
        let spironolactone = drug(2, "螺内酯", "C03DA01", DrugClass::Prescription);
        let nifedipine = drug(3, "硝苯地平", "C08CA05", DrugClass::Prescription);
        let amlodipine = drug(4, "氨氯地平", "C08CA01", DrugClass::Prescription);
        let p = PatientFacts::default();
        let f = run(&p, &[item(&spironolactone), item(&enalapril)], &[]);
        assert_eq!(codes(&f), [("interaction", Severity::Warning)]);
        assert!(f[0].message.contains("高钾血症"));
        // Against what the patient already takes, too.
        let f = run(&p, &[item(&nifedipine)], &[&amlodipine]);
        assert_eq!(codes(&f), [("duplicate_therapy", Severity::Warning)]);
        let f = run(&p, &[item(&amlodipine), item(&amlodipine)], &[]);
        assert!(
            f.iter()
                .any(|f| f.code == "duplicate_item" && f.severity == Severity::Blocking)
        );
    }

    #[test]
    fn dose_days_and_quantity_are_bounded() {
        let amlodipine = drug(1, "氨氯地平", "C08CA01", DrugClass::Prescription);
        let p = PatientFacts::default();
        let mut too_much = item(&amlodipine);
        too_much.frequency = Frequency::Tid;
        let f = run(&p, &[too_much], &[]);
        assert!(
            f[0].code == "max_daily_dose" && f[0].message.contains("15 mg"),
            "{f:?}"
        );
        // 28 days of one 5 mg tablet is one box of 28; two boxes is too many, 29 days too long.
        let mut two_boxes = item(&amlodipine);
        two_boxes.quantity = 2;
        assert_eq!(
            codes(&run(&p, &[two_boxes], &[])),
            [("quantity", Severity::Blocking)]
        );
        let mut long = item(&amlodipine);
        long.days = 29;
        long.quantity = 2;
        assert_eq!(
            codes(&run(&p, &[long], &[])),
            [("days", Severity::Blocking)]
        );
        // A stable chronic disease may have twelve weeks where local policy allows it.
        let mut twelve_weeks = item(&amlodipine);
        twelve_weeks.days = 84;
        twelve_weeks.quantity = 3;
        let interactions = Vec::new();
        let items = [twelve_weeks];
        let f = check(&Context {
            patient: &p,
            items: &items,
            current: &[],
            interactions: &interactions,
            policy: Policy::default(),
            duration: Duration::StableChronic,
        });
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(units_needed(&items[0]), 3);
    }

    #[test]
    fn age_pregnancy_and_the_guardian_rule() {
        let mut levofloxacin = drug(1, "左氧氟沙星", "J01MA12", DrugClass::Prescription);
        levofloxacin.min_age_years = Some(18);
        levofloxacin.pregnancy = "contraindicated".to_owned();
        let child = PatientFacts {
            age_years: Some(4),
            ..Default::default()
        };
        let f = run(&child, &[item(&levofloxacin)], &[]);
        let got = codes(&f);
        assert!(got.contains(&("age", Severity::Blocking)), "{got:?}");
        assert!(
            got.contains(&("guardian_required", Severity::Blocking)),
            "{got:?}"
        );
        let with_guardian = PatientFacts {
            guardian_present: true,
            ..child
        };
        assert!(
            !codes(&run(&with_guardian, &[item(&levofloxacin)], &[]))
                .contains(&("guardian_required", Severity::Blocking))
        );
        let pregnant = PatientFacts {
            age_years: Some(30),
            pregnant: true,
            ..Default::default()
        };
        let got = codes(&run(&pregnant, &[item(&levofloxacin)], &[]));
        assert_eq!(got, [("pregnancy", Severity::Blocking)]);
    }

    #[test]
    fn frequencies_parse_and_count() {
        for f in Frequency::ALL {
            assert_eq!(Frequency::parse(f.as_str()), Some(f));
        }
        assert_eq!(Frequency::from_input("BID"), Some(Frequency::Bid));
        assert_eq!(Frequency::from_input("daily"), None);
        assert!((Frequency::Qw.per_day() * 7.0 - 1.0).abs() < 1e-12);
    }
}
