//! The clinical content of care plans, as data: the four plan templates (goals, activities,
//! default thresholds, follow-up schedule), the questionnaires they send, home measurements
//! with their plausible ranges, and the checks of a reading or an answer against a plan.
//! Pure: no IO, so every rule here is tested without a database.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::FieldError;

crate::text_enum! {
    /// A kind of home measurement (家庭自测).
    pub enum Measure {
        /// Systolic and diastolic, mmHg.
        BloodPressure = "blood_pressure",
        /// Capillary glucose, mmol/L.
        Glucose = "glucose",
        /// kg.
        Weight = "weight",
        /// °C.
        Temperature = "temperature",
    }
}

crate::text_enum! {
    /// One number a plan sets limits on (a blood pressure reading carries two).
    #[derive(PartialOrd, Ord)]
    pub enum Limit {
        Systolic = "systolic",
        Diastolic = "diastolic",
        Glucose = "glucose",
        Weight = "weight",
        Temperature = "temperature",
    }
}

/// Values are kept in tenths (0.1 mmol/L, 0.1 kg, 0.1 °C; blood pressure in whole mmHg times
/// ten too), so both databases store exact integers.
pub const TENTHS: f64 = 10.0;

impl Limit {
    /// The plausible range (tenths): outside it the number is a typing slip, not a reading.
    pub fn plausible(self) -> (i64, i64) {
        match self {
            Limit::Systolic => (500, 3000),
            Limit::Diastolic => (300, 2000),
            Limit::Glucose => (10, 400),
            Limit::Weight => (10, 4000),
            Limit::Temperature => (300, 450),
        }
    }

    /// Beyond these (tenths) a breach is urgent: the team should act within hours, not a day
    /// (hypertensive crisis ≥ 180/110, hypoglycaemia < 3.9 mmol/L, fever ≥ 39 °C).
    fn critical(self, value: i64) -> bool {
        match self {
            Limit::Systolic => value >= 1800,
            Limit::Diastolic => value >= 1100,
            Limit::Glucose => !(39..=200).contains(&value),
            Limit::Weight => false,
            Limit::Temperature => value >= 390,
        }
    }

    pub fn measure(self) -> Measure {
        match self {
            Limit::Systolic | Limit::Diastolic => Measure::BloodPressure,
            Limit::Glucose => Measure::Glucose,
            Limit::Weight => Measure::Weight,
            Limit::Temperature => Measure::Temperature,
        }
    }
}

impl Measure {
    pub fn unit(self) -> &'static str {
        match self {
            Measure::BloodPressure => "mmHg",
            Measure::Glucose => "mmol/L",
            Measure::Weight => "kg",
            Measure::Temperature => "°C",
        }
    }

    /// The reading as people write it: `152/96 mmHg`, `7.8 mmol/L`.
    pub fn show(self, value: i64, value2: Option<i64>) -> String {
        match (self, value2) {
            (Measure::BloodPressure, Some(d)) => {
                format!("{}/{} {}", value / 10, d / 10, self.unit())
            }
            _ => format!("{} {}", tenths(value), self.unit()),
        }
    }
}

/// `78` → `7.8`, `80` → `8`.
pub fn tenths(v: i64) -> String {
    if v % 10 == 0 {
        (v / 10).to_string()
    } else {
        format!("{}.{}", v / 10, (v % 10).abs())
    }
}

/// A plan's lower and upper limit on one number (tenths); either may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bounds {
    pub low: Option<i64>,
    pub high: Option<i64>,
}

/// A number beyond a plan's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breach {
    pub limit: Limit,
    pub value: i64,
    pub above: bool,
    pub critical: bool,
}

/// The limits `reading` breaks among `thresholds`.
pub fn breaches(
    measure: Measure,
    (value, value2): (i64, Option<i64>),
    thresholds: &BTreeMap<Limit, Bounds>,
) -> Vec<Breach> {
    let numbers: Vec<(Limit, i64)> = match measure {
        Measure::BloodPressure => {
            let mut n = vec![(Limit::Systolic, value)];
            n.extend(value2.map(|d| (Limit::Diastolic, d)));
            n
        }
        Measure::Glucose => vec![(Limit::Glucose, value)],
        Measure::Weight => vec![(Limit::Weight, value)],
        Measure::Temperature => vec![(Limit::Temperature, value)],
    };
    numbers
        .into_iter()
        .filter_map(|(limit, value)| {
            let b = thresholds.get(&limit)?;
            let above = b.high.is_some_and(|h| value >= h);
            let below = b.low.is_some_and(|l| value < l);
            (above || below).then_some(Breach {
                limit,
                value,
                above,
                critical: limit.critical(value),
            })
        })
        .collect()
}

/// A home reading as entered: numbers as people type them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ReadingInput {
    #[serde(default)]
    pub measure: Option<Measure>,
    /// Blood pressure: the systolic number (mmHg).
    #[serde(default)]
    pub systolic: Option<f64>,
    /// Blood pressure: the diastolic number (mmHg).
    #[serde(default)]
    pub diastolic: Option<f64>,
    /// Glucose (mmol/L), weight (kg) or temperature (°C).
    #[serde(default)]
    pub value: Option<f64>,
}

/// A reading as checked: (measure, value, second value) in tenths.
pub type Reading = (Measure, i64, Option<i64>);

fn number(
    field: &'static str,
    limit: Limit,
    v: Option<f64>,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let (lo, hi) = limit.plausible();
    let Some(v) = v else {
        errors.push(FieldError::required(field));
        return None;
    };
    let t = (v * TENTHS).round();
    if !t.is_finite() || t < lo as f64 || t > hi as f64 {
        errors.push(
            FieldError::new(
                field,
                format!("must be between {} and {}", tenths(lo), tenths(hi)),
            )
            .localized(
                "care.err.reading_range",
                vec![("min", tenths(lo)), ("max", tenths(hi))],
            ),
        );
        return None;
    }
    // In range, so it fits.
    Some(t as i64)
}

impl ReadingInput {
    /// The reading, or every field that is wrong.
    pub fn check(&self) -> Result<Reading, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(measure) = self.measure else {
            return Err(vec![FieldError::required("measure")]);
        };
        let reading = match measure {
            Measure::BloodPressure => {
                let s = number("systolic", Limit::Systolic, self.systolic, &mut errors);
                let d = number("diastolic", Limit::Diastolic, self.diastolic, &mut errors);
                match (s, d) {
                    (Some(s), Some(d)) if d >= s => {
                        errors.push(
                            FieldError::new("diastolic", "must be lower than the systolic number")
                                .localized("care.err.diastolic", vec![]),
                        );
                        None
                    }
                    (Some(s), Some(d)) => Some((measure, s, Some(d))),
                    _ => None,
                }
            }
            m => {
                let limit = match m {
                    Measure::Glucose => Limit::Glucose,
                    Measure::Weight => Limit::Weight,
                    _ => Limit::Temperature,
                };
                number("value", limit, self.value, &mut errors).map(|v| (measure, v, None))
            }
        };
        match reading {
            Some(r) if errors.is_empty() => Ok(r),
            _ => Err(errors),
        }
    }
}

// ---- Questionnaires ----

/// How a question is answered, and which answer calls for the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Yes or no; the answer that calls for the team.
    YesNo { alert_on: bool },
    /// 0 to `max`; at or above `alert_at` calls for the team.
    Scale { max: i64, alert_at: i64 },
    /// A number in a range (tenths), e.g. today's weight.
    Number { low: i64, high: i64 },
    /// Free text, up to 500 characters.
    Text,
}

#[derive(Debug, Clone, Copy)]
pub struct Question {
    pub id: &'static str,
    pub answer: Answer,
    pub required: bool,
}

/// The catalogue key of a questionnaire's title is `care.q.<code>`, of a question
/// `care.q.<code>.<question>`.
#[derive(Debug, Clone, Copy)]
pub struct Questionnaire {
    pub code: &'static str,
    pub questions: &'static [Question],
}

const fn yes_no(id: &'static str, alert_on: bool) -> Question {
    Question {
        id,
        answer: Answer::YesNo { alert_on },
        required: true,
    }
}

const fn text(id: &'static str) -> Question {
    Question {
        id,
        answer: Answer::Text,
        required: false,
    }
}

pub const QUESTIONNAIRES: [Questionnaire; 5] = [
    Questionnaire {
        code: "hypertension",
        questions: &[
            yes_no("medication", false),
            yes_no("symptoms", true),
            yes_no("salt", false),
            text("other"),
        ],
    },
    Questionnaire {
        code: "diabetes",
        questions: &[
            yes_no("medication", false),
            yes_no("hypo", true),
            yes_no("feet", true),
            text("other"),
        ],
    },
    Questionnaire {
        code: "postop",
        questions: &[
            Question {
                id: "pain",
                answer: Answer::Scale {
                    max: 10,
                    alert_at: 7,
                },
                required: true,
            },
            yes_no("fever", true),
            yes_no("wound", true),
            yes_no("eating", false),
            text("other"),
        ],
    },
    Questionnaire {
        code: "heart_failure",
        questions: &[
            yes_no("breath", true),
            yes_no("swelling", true),
            yes_no("medication", false),
            Question {
                id: "weight",
                answer: Answer::Number {
                    low: 100,
                    high: 4000,
                },
                required: false,
            },
            text("other"),
        ],
    },
    Questionnaire {
        code: "preop",
        questions: &[
            yes_no("anticoagulant", true),
            yes_no("allergy", true),
            yes_no("fasting", false),
            yes_no("escort", false),
            text("other"),
        ],
    },
];

/// The catalogue key of a question's text.
pub fn question_key(questionnaire: &str, question: &str) -> String {
    format!("plan.q.{questionnaire}.{question}")
}

/// The catalogue keys of a template's goals and activities.
pub fn template_keys(t: &Template) -> (Vec<String>, Vec<String>) {
    let keys = |part: &str, n: usize| {
        (1..=n)
            .map(|i| format!("plan.t.{}.{part}.{i}", t.code))
            .collect()
    };
    (keys("goal", t.goals), keys("act", t.activities))
}

pub fn questionnaire(code: &str) -> Option<&'static Questionnaire> {
    QUESTIONNAIRES.iter().find(|q| q.code == code)
}

/// One answer as stored (and shown): the question and the value given.
pub type Answers = BTreeMap<String, Value>;

/// Checks the answers against the questionnaire: every required question answered, each in
/// its form, nothing unknown. Returns the answers kept and the questions whose answers call
/// for the team.
pub fn check_answers(
    q: &Questionnaire,
    given: &BTreeMap<String, Value>,
) -> Result<(Answers, Vec<&'static str>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut kept = Answers::new();
    let mut alerts = Vec::new();
    for key in given.keys() {
        if !q.questions.iter().any(|x| x.id == key) {
            errors.push(
                FieldError::new(
                    format!("answers.{key}"),
                    "is not a question of this questionnaire",
                )
                .localized("care.err.question", vec![]),
            );
        }
    }
    for question in q.questions {
        let field = format!("answers.{}", question.id);
        let value = given.get(question.id).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
        let Some(value) = value else {
            if question.required {
                errors.push(FieldError::required(field).localized("care.err.answer", vec![]));
            }
            continue;
        };
        let (ok, alert) = match (question.answer, value) {
            (Answer::YesNo { alert_on }, Value::Bool(b)) => (Some(Value::Bool(*b)), *b == alert_on),
            (Answer::Scale { max, alert_at }, Value::Number(n)) => match n.as_i64() {
                Some(n) if (0..=max).contains(&n) => (Some(Value::from(n)), n >= alert_at),
                _ => (None, false),
            },
            (Answer::Number { low, high }, Value::Number(n)) => {
                match n.as_f64().map(|f| (f * TENTHS).round()) {
                    Some(t) if t >= low as f64 && t <= high as f64 => {
                        (Some(Value::from(t / TENTHS)), false)
                    }
                    _ => (None, false),
                }
            }
            (Answer::Text, Value::String(s)) if s.trim().chars().count() <= 500 => {
                (Some(Value::String(s.trim().to_owned())), false)
            }
            _ => (None, false),
        };
        match ok {
            Some(v) => {
                kept.insert(question.id.to_owned(), v);
                if alert {
                    alerts.push(question.id);
                }
            }
            None => errors.push(
                FieldError::new(field, "is not an answer this question takes")
                    .localized("care.err.answer", vec![]),
            ),
        }
    }
    if errors.is_empty() {
        Ok((kept, alerts))
    } else {
        Err(errors)
    }
}

// ---- Plan templates ----

/// When a template's questionnaires go out: on set days after the plan starts (discharge),
/// then, if `every_days`, repeatedly.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub questionnaire: &'static str,
    pub days: &'static [i64],
    pub every_days: Option<i64>,
}

/// A plan template: its goals and activities (catalogue keys `care.t.<code>.goal.<n>` and
/// `.act.<n>`), the measurements it asks for with their default limits, its follow-ups.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub code: &'static str,
    pub goals: usize,
    pub activities: usize,
    /// What the patient measures at home, and how often (days).
    pub measures: &'static [(Measure, i64)],
    pub limits: &'static [(Limit, Bounds)],
    pub schedule: &'static [Schedule],
}

const fn bounds(low: Option<i64>, high: Option<i64>) -> Bounds {
    Bounds { low, high }
}

pub const TEMPLATES: [Template; 4] = [
    Template {
        code: "hypertension",
        goals: 2,
        activities: 4,
        measures: &[(Measure::BloodPressure, 1)],
        limits: &[
            (Limit::Systolic, bounds(Some(900), Some(1400))),
            (Limit::Diastolic, bounds(Some(600), Some(900))),
        ],
        schedule: &[Schedule {
            questionnaire: "hypertension",
            days: &[14],
            every_days: Some(14),
        }],
    },
    Template {
        code: "diabetes",
        goals: 2,
        activities: 4,
        measures: &[(Measure::Glucose, 1), (Measure::Weight, 7)],
        limits: &[(Limit::Glucose, bounds(Some(39), Some(139)))],
        schedule: &[Schedule {
            questionnaire: "diabetes",
            days: &[30],
            every_days: Some(30),
        }],
    },
    Template {
        code: "postop",
        goals: 2,
        activities: 4,
        measures: &[(Measure::Temperature, 1)],
        limits: &[(Limit::Temperature, bounds(None, Some(380)))],
        schedule: &[Schedule {
            questionnaire: "postop",
            days: &[1, 7, 30],
            every_days: None,
        }],
    },
    Template {
        code: "heart_failure",
        goals: 2,
        activities: 4,
        measures: &[(Measure::Weight, 1), (Measure::BloodPressure, 1)],
        limits: &[
            (Limit::Systolic, bounds(Some(900), Some(1400))),
            (Limit::Diastolic, bounds(None, Some(900))),
        ],
        schedule: &[Schedule {
            questionnaire: "heart_failure",
            days: &[1, 7, 30],
            every_days: None,
        }],
    },
];

pub fn template(code: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hypertension() -> BTreeMap<Limit, Bounds> {
        template("hypertension")
            .map(|t| t.limits.iter().copied().collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_high_pressure_breaks_the_plan_and_a_crisis_is_critical() {
        let limits = hypertension();
        let bp = Measure::BloodPressure;
        assert!(breaches(bp, (1300, Some(800)), &limits).is_empty());
        let high = breaches(bp, (1520, Some(960)), &limits);
        assert_eq!(
            high.iter().map(|b| (b.limit, b.above)).collect::<Vec<_>>(),
            [(Limit::Systolic, true), (Limit::Diastolic, true)]
        );
        assert!(high.iter().all(|b| !b.critical));
        let crisis = breaches(bp, (1850, Some(1000)), &limits);
        assert!(crisis[0].critical);
        let low = breaches(bp, (850, Some(550)), &limits);
        assert!(low.iter().all(|b| !b.above));
        // A measure the plan sets no limit on breaks nothing.
        assert!(breaches(Measure::Glucose, (25, None), &limits).is_empty());
    }

    #[test]
    fn a_reading_names_every_wrong_number() {
        let bad = ReadingInput {
            measure: Some(Measure::BloodPressure),
            systolic: Some(1500.0),
            diastolic: None,
            value: None,
        };
        let fields: Vec<String> = bad
            .check()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["systolic", "diastolic"]);
        let upside_down = ReadingInput {
            measure: Some(Measure::BloodPressure),
            systolic: Some(80.0),
            diastolic: Some(120.0),
            value: None,
        };
        assert!(upside_down.check().is_err());
        let glucose = ReadingInput {
            measure: Some(Measure::Glucose),
            value: Some(7.84),
            ..ReadingInput::default()
        };
        assert_eq!(glucose.check().ok(), Some((Measure::Glucose, 78, None)));
        assert_eq!(Measure::Glucose.show(78, None), "7.8 mmol/L");
        assert_eq!(Measure::BloodPressure.show(1520, Some(960)), "152/96 mmHg");
        let nan = ReadingInput {
            measure: Some(Measure::Weight),
            value: Some(f64::NAN),
            ..ReadingInput::default()
        };
        assert!(nan.check().is_err());
    }

    #[test]
    fn answers_are_checked_and_the_worrying_ones_named() {
        let q = questionnaire("postop").copied();
        let Some(q) = q else {
            panic!("the post-operative questionnaire exists");
        };
        let given: BTreeMap<String, Value> = serde_json::from_value(serde_json::json!({
            "pain": 8, "fever": false, "wound": true, "eating": true, "other": "  "
        }))
        .unwrap_or_default();
        let (kept, alerts) = check_answers(&q, &given).unwrap_or_default();
        assert_eq!(alerts, ["pain", "wound"]);
        assert!(!kept.contains_key("other"));
        let bad: BTreeMap<String, Value> = serde_json::from_value(serde_json::json!({
            "pain": 11, "fever": "no", "extra": 1
        }))
        .unwrap_or_default();
        let fields: Vec<String> = check_answers(&q, &bad)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "answers.extra",
                "answers.pain",
                "answers.fever",
                "answers.wound",
                "answers.eating"
            ]
        );
    }

    #[test]
    fn every_question_goal_and_activity_has_its_text_in_both_languages() {
        use crate::web::i18n::Lang;
        let mut keys = Vec::new();
        for q in QUESTIONNAIRES {
            keys.extend(q.questions.iter().map(|x| question_key(q.code, x.id)));
        }
        for t in TEMPLATES {
            let (goals, acts) = template_keys(&t);
            keys.extend(goals.into_iter().chain(acts));
        }
        for key in keys {
            for lang in [Lang::Zh, Lang::En] {
                assert!(lang.lookup(&key).is_some(), "{lang:?} lacks {key}");
            }
        }
    }

    #[test]
    fn every_template_sends_questionnaires_that_exist() {
        for t in TEMPLATES {
            for s in t.schedule {
                assert!(questionnaire(s.questionnaire).is_some(), "{}", t.code);
            }
            for (limit, _) in t.limits {
                assert!(
                    t.measures.iter().any(|(m, _)| *m == limit.measure()),
                    "{}: a limit on what is not measured",
                    t.code
                );
            }
        }
    }
}
