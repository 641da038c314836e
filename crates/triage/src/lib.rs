//! Smart triage (智慧导医分诊): from a patient's own words to departments, urgency and red flags.
//!
//! A pure crate: no IO, no database, no clock. The knowledge base (departments of
//! 《医疗机构诊疗科目名录》, symptoms and their colloquial names, red flags) is data compiled in
//! from `data/`; see `docs/TRIAGE.md` for how it decides and how well it does.
//!
//! ```
//! let result = triage::triage(&triage::Input::text("胸口闷痛出冷汗半小时")).unwrap();
//! assert_eq!(result.urgency, triage::Urgency::Emergency);
//! assert_eq!(result.departments[0].code, "20");
//! ```

mod decide;
mod explain;
mod extract;
mod knowledge;
mod learned;
mod normalize;
mod numbers;
pub mod screening;

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

pub use knowledge::KnowledgeError;
pub use normalize::normalize;

/// Longest complaint accepted, in characters. A complaint is a few sentences; a page of text
/// is a record to upload, not to triage.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// What the patient says about themselves (or the family member they ask for).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub text: String,
    /// Age in whole years.
    #[serde(default)]
    pub age_years: Option<u32>,
    /// Age in months, for infants (added to `age_years` when both are given).
    #[serde(default)]
    pub age_months: Option<u32>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub pregnant: Option<bool>,
    /// Places with an outbreak now (names as people write them: "武汉", "某某县"); travel to
    /// or from them with fever sends the patient to the fever clinic.
    #[serde(default)]
    pub outbreak_areas: Vec<String>,
    /// Red flags the patient said yes to on the checklist ([`checklist`]), by id.
    #[serde(default)]
    pub confirmed_red_flags: Vec<String>,
}

impl Input {
    /// Just the words, nothing else known.
    pub fn text(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sex {
    Female,
    Male,
}

/// How soon the patient should be seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Urgency {
    /// Book a visit in the coming days.
    Routine,
    /// Be seen today.
    Urgent,
    /// Call 120 or go to the emergency department now; do not book.
    Emergency,
}

/// The answer for one complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Triage {
    /// Departments, best first (at most five), with scores in 0..=1 that sum to at most 1.
    pub departments: Vec<DepartmentScore>,
    pub urgency: Urgency,
    /// Red flags found (any makes the urgency `emergency`).
    pub red_flags: Vec<Flag>,
    /// Same-day reasons found (why the urgency is `urgent`).
    pub urgent_reasons: Vec<Flag>,
    /// What was understood, denied findings included.
    pub findings: Vec<Finding>,
    pub temperature_c: Option<f32>,
    pub duration_hours: Option<f32>,
    /// Fever with travel to an outbreak area or contact with a case: the screening issue's
    /// pre-screening should pick this patient up.
    pub screening: bool,
    /// Show a crisis hotline (suicidal thoughts).
    pub crisis_line: bool,
    /// The words resemble emergencies the rules did not recognise (the learned detector,
    /// docs/TRIAGE.md): ask the red-flag checklist ([`checklist`]) before anything else. The
    /// urgency is not raised by it; a "yes" on the checklist makes it an emergency.
    pub possible_emergency: bool,
    /// Questions to ask when the complaint says too little; empty when it is enough. When
    /// `possible_emergency`, the first is `red_flags`: answer the checklist.
    pub follow_up: Vec<Question>,
    /// A short explanation for the patient, in Chinese and in English.
    pub explanation: String,
    pub explanation_en: String,
    /// Version of the knowledge base that decided.
    pub knowledge_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepartmentScore {
    /// Code in 《医疗机构诊疗科目名录》.
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RedFlag))]
pub struct Flag {
    pub id: String,
    pub name: String,
    pub name_en: String,
    /// What to do now (red flags only).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub advice: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub advice_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TriageFinding))]
pub struct Finding {
    /// The concept's id in the knowledge base (`fever`, `chest_pain` …).
    pub concept: String,
    pub name: String,
    pub name_en: String,
    /// `symptom`, `disease`, `sign`, `modifier`, `context` (who, where from) or `site`.
    pub kind: String,
    /// The patient's own words for it.
    pub text: String,
    /// The patient said they do not have it ("不发烧").
    pub negated: bool,
    /// Said of the past and over ("去年晕倒过一次"): history, which neither raises a red flag
    /// nor a same-day reason.
    #[serde(default)]
    pub past: bool,
}

/// A follow-up question for a vague complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Question {
    /// `red_flags` (answer the checklist), `where` (哪里不舒服) or `how_long` (多久了).
    pub id: String,
    pub text: String,
    pub text_en: String,
}

/// One question of the red-flag checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecklistItem {
    /// The red flag's id, to send back in [`Input::confirmed_red_flags`].
    pub id: String,
    pub text: String,
    pub text_en: String,
}

/// The red flags as yes/no questions. Free text is understood well but not perfectly (see
/// docs/TRIAGE.md), so a patient-facing triage asks these as well: a "yes" makes the result an
/// emergency whatever the words said.
pub fn checklist() -> Result<Vec<ChecklistItem>, KnowledgeError> {
    let engine = engine()?;
    Ok(engine
        .knowledge
        .red_flags
        .iter()
        .filter(|r| !r.ask.is_empty())
        .map(|r| ChecklistItem {
            id: r.id.clone(),
            text: r.ask.clone(),
            text_en: r.ask_en.clone(),
        })
        .collect())
}

/// Input the crate cannot triage, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for InputError {}

/// The loaded knowledge, segmenter and emergency detector, built on first use (~150 ms:
/// jieba's dictionary, then the detector is trained on what the rules read in each case).
struct Engine {
    knowledge: knowledge::Knowledge,
    jieba: jieba_rs::Jieba,
    emergency: learned::Logistic,
}

static ENGINE: LazyLock<Result<Engine, KnowledgeError>> = LazyLock::new(|| {
    let knowledge = knowledge::Knowledge::load()?;
    let jieba = extract::segmenter(&knowledge);
    let emergency = decide::train_emergency_detector(&knowledge, &jieba)?;
    // zhconv builds its tables on first use; pay for it here, not in a patient's request.
    let _ = normalize::normalize("預熱");
    Ok(Engine {
        knowledge,
        jieba,
        emergency,
    })
});

fn engine() -> Result<&'static Engine, KnowledgeError> {
    ENGINE.as_ref().map_err(|e| KnowledgeError(e.0.clone()))
}

/// Loads the knowledge base now (servers call it at start so the first patient does not wait,
/// and so a broken knowledge base stops the start, not a request).
pub fn warm_up() -> Result<(), KnowledgeError> {
    engine().map(|_| ())
}

/// Why triage could not run.
#[derive(Debug)]
pub enum Error {
    Input(InputError),
    Knowledge(KnowledgeError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Input(e) => e.fmt(f),
            Error::Knowledge(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// Triages one complaint.
pub fn triage(input: &Input) -> Result<Triage, Error> {
    let engine = engine().map_err(Error::Knowledge)?;
    decide::triage(engine, input).map_err(Error::Input)
}
