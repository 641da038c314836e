//! The knowledge base: the data files in `data/`, parsed and indexed once.
//!
//! The files are compiled into the crate (`include_str!`), so the crate does no IO and a
//! release always carries the knowledge it was tested with; `version` in concepts.toml says
//! which one a stored result came from.

use std::collections::HashMap;

use serde::Deserialize;

const DEPARTMENTS: &str = include_str!("../data/departments.toml");
const CONCEPTS: &str = include_str!("../data/concepts.toml");
const RULES: &str = include_str!("../data/rules.toml");
const QUALITIES: &str = include_str!("../data/qualities.toml");
/// The development cases: the learned model's training data.
const CASES: &str = include_str!("../data/cases.jsonl");

/// A department of 《医疗机构诊疗科目名录》.
#[derive(Debug, Clone, Deserialize)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Symptom,
    Disease,
    Sign,
    Modifier,
    Context,
    Site,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Concept {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub kind: Kind,
    pub terms: Vec<String>,
    #[serde(default)]
    pub dept: HashMap<String, f32>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// For a body site: quality id to the concept the site becomes with it (胸口 + 闷 → 胸闷).
    #[serde(default)]
    pub with: HashMap<String, String>,
    /// The body site a finding speaks of ("白带多" of 阴道): a quality said with it, or in the
    /// next clause, is of that site ("白带多，有点痒").
    pub site: Option<String>,
}

/// How a body part is troubled (疼, 闷, 痒, 听不清 …); see qualities.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct Quality {
    pub id: String,
    pub words: Vec<String>,
    #[serde(default)]
    pub severe: Vec<String>,
    /// The concept the quality means with no site ("痒" alone → 皮疹).
    pub alone: Option<String>,
}

/// One quality word, for matching.
#[derive(Debug, Clone)]
pub struct QualityWord {
    pub word: String,
    pub chars: usize,
    pub quality: usize,
    pub severe: bool,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Symptom => "symptom",
            Kind::Disease => "disease",
            Kind::Sign => "sign",
            Kind::Modifier => "modifier",
            Kind::Context => "context",
            Kind::Site => "site",
        }
    }
}

impl Concept {
    /// Whether finding it tells something clinical (it is not context, a modifier or a site,
    /// and not as vague as "不舒服").
    pub fn is_specific(&self) -> bool {
        matches!(self.kind, Kind::Symptom | Kind::Disease | Kind::Sign)
            && !self.tags.iter().any(|t| t == "vague")
    }
}

/// One rule: any clause of `when` holding fires it.
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub name_en: String,
    #[serde(default)]
    pub advice: String,
    #[serde(default)]
    pub advice_en: String,
    pub department: Option<String>,
    #[serde(default)]
    pub crisis_line: bool,
    /// The red flag as a question for the checklist.
    #[serde(default)]
    pub ask: String,
    #[serde(default)]
    pub ask_en: String,
    pub when: Vec<Vec<String>>,
}

impl Rule {
    /// True when one of the clauses holds for `has`.
    pub fn fires(&self, has: impl Fn(&str) -> bool) -> bool {
        self.when.iter().any(|clause| {
            clause.iter().all(|tag| match tag.strip_prefix('!') {
                Some(absent) => !has(absent),
                None => has(tag),
            })
        })
    }
}

#[derive(Debug, Deserialize)]
struct DepartmentsFile {
    department: Vec<Department>,
}

#[derive(Debug, Deserialize)]
struct ConceptsFile {
    version: String,
    concept: Vec<Concept>,
}

#[derive(Debug, Deserialize)]
struct QualitiesFile {
    quality: Vec<Quality>,
}

#[derive(Debug, Deserialize)]
struct RulesFile {
    red_flag: Vec<Rule>,
    urgent: Vec<Rule>,
}

/// Everything the engine knows, indexed.
#[derive(Debug)]
pub struct Knowledge {
    pub version: String,
    pub departments: Vec<Department>,
    pub concepts: Vec<Concept>,
    pub red_flags: Vec<Rule>,
    pub urgent: Vec<Rule>,
    pub qualities: Vec<Quality>,
    /// Every quality word, longest first.
    pub quality_words: Vec<QualityWord>,
    /// Every term to the index of its concept.
    pub terms: HashMap<String, usize>,
    /// Longest term in characters (bounds the search inside a token).
    pub longest_term: usize,
    /// The learned second opinion on departments (see `learned.rs`).
    pub model: crate::learned::Model,
    by_code: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
}

/// What is wrong with the data files; the crate's tests load them, so this never reaches a
/// running server.
#[derive(Debug)]
pub struct KnowledgeError(pub String);

impl std::fmt::Display for KnowledgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "triage knowledge base: {}", self.0)
    }
}

impl std::error::Error for KnowledgeError {}

impl Knowledge {
    /// Parses and checks the data files: every department code a concept or rule names exists,
    /// every term belongs to one concept, every site's qualities and concepts exist, and no quality word is
    /// also a term.
    pub fn load() -> Result<Self, KnowledgeError> {
        let bad = |file: &str, e: toml::de::Error| KnowledgeError(format!("{file}: {e}"));
        let departments: DepartmentsFile =
            toml::from_str(DEPARTMENTS).map_err(|e| bad("departments.toml", e))?;
        let concepts: ConceptsFile =
            toml::from_str(CONCEPTS).map_err(|e| bad("concepts.toml", e))?;
        let rules: RulesFile = toml::from_str(RULES).map_err(|e| bad("rules.toml", e))?;
        let qualities: QualitiesFile =
            toml::from_str(QUALITIES).map_err(|e| bad("qualities.toml", e))?;

        let mut by_code = HashMap::new();
        for (i, d) in departments.department.iter().enumerate() {
            if by_code.insert(d.code.clone(), i).is_some() {
                return Err(KnowledgeError(format!("department {} twice", d.code)));
            }
        }
        let mut by_id = HashMap::new();
        let mut terms = HashMap::new();
        let mut longest_term = 0;
        for (i, c) in concepts.concept.iter().enumerate() {
            if by_id.insert(c.id.clone(), i).is_some() {
                return Err(KnowledgeError(format!("concept {} twice", c.id)));
            }
            for code in c.dept.keys() {
                if !by_code.contains_key(code) {
                    return Err(KnowledgeError(format!(
                        "concept {} names unknown department {code}",
                        c.id
                    )));
                }
            }
            for term in &c.terms {
                let term = term.to_lowercase();
                if let Some(other) = terms.insert(term.clone(), i) {
                    let other = &concepts.concept[other].id;
                    return Err(KnowledgeError(format!(
                        "term {term} belongs to both {other} and {}",
                        c.id
                    )));
                }
                longest_term = longest_term.max(term.chars().count());
            }
        }
        let quality_ids: HashMap<&str, usize> = qualities
            .quality
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.as_str(), i))
            .collect();
        for c in &concepts.concept {
            if let Some(site) = &c.site
                && !by_id.contains_key(site)
            {
                return Err(KnowledgeError(format!(
                    "concept {} names unknown site {site}",
                    c.id
                )));
            }
            for (quality, concept) in &c.with {
                if !quality_ids.contains_key(quality.as_str()) || !by_id.contains_key(concept) {
                    return Err(KnowledgeError(format!(
                        "site {} names unknown quality {quality} or concept {concept}",
                        c.id
                    )));
                }
            }
        }
        let mut quality_words: Vec<QualityWord> = Vec::new();
        for (i, q) in qualities.quality.iter().enumerate() {
            if let Some(alone) = &q.alone
                && !by_id.contains_key(alone)
            {
                return Err(KnowledgeError(format!(
                    "quality {} means unknown concept {alone}",
                    q.id
                )));
            }
            let words = q.words.iter().map(|w| (w, false));
            for (word, severe) in words.chain(q.severe.iter().map(|w| (w, true))) {
                if let Some(&c) = terms.get(word) {
                    return Err(KnowledgeError(format!(
                        "quality word {word} is also a term of {}",
                        concepts.concept[c].id
                    )));
                }
                if quality_words.iter().any(|w| &w.word == word) {
                    return Err(KnowledgeError(format!("quality word {word} twice")));
                }
                quality_words.push(QualityWord {
                    word: word.clone(),
                    chars: word.chars().count(),
                    quality: i,
                    severe,
                });
            }
        }
        quality_words.sort_by(|a, b| b.chars.cmp(&a.chars).then_with(|| a.word.cmp(&b.word)));
        for r in rules.red_flag.iter().chain(&rules.urgent) {
            if let Some(code) = &r.department
                && !by_code.contains_key(code)
            {
                return Err(KnowledgeError(format!(
                    "rule {} names unknown department {code}",
                    r.id
                )));
            }
            if r.when.is_empty() || r.when.iter().any(Vec::is_empty) {
                return Err(KnowledgeError(format!("rule {} has an empty clause", r.id)));
            }
            // A misspelt tag would make a rule that never fires, silently.
            for tag in r.when.iter().flatten() {
                let tag = tag.strip_prefix('!').unwrap_or(tag);
                let known = crate::decide::DERIVED_TAGS.contains(&tag)
                    || concepts
                        .concept
                        .iter()
                        .any(|c| c.id == tag || c.tags.iter().any(|t| t == tag));
                if !known {
                    return Err(KnowledgeError(format!(
                        "rule {} reads tag {tag}, which no concept has and the engine does not derive",
                        r.id
                    )));
                }
            }
        }
        Ok(Self {
            version: concepts.version,
            departments: departments.department,
            concepts: concepts.concept,
            red_flags: rules.red_flag,
            urgent: rules.urgent,
            qualities: qualities.quality,
            quality_words,
            model: train_model(&by_code)?,
            terms,
            longest_term,
            by_code,
            by_id,
        })
    }

    pub fn department(&self, code: &str) -> Option<&Department> {
        self.by_code.get(code).map(|&i| &self.departments[i])
    }

    pub fn concept_index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }
}

/// The development cases, parsed, with their line numbers (for errors).
fn development_cases() -> Result<Vec<(usize, serde_json::Value)>, KnowledgeError> {
    CASES
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map(|case| (n + 1, case))
                .map_err(|e| KnowledgeError(format!("cases.jsonl line {}: {e}", n + 1)))
        })
        .collect()
}

/// The case's text, normalized as triage reads it.
fn case_text(case: &serde_json::Value) -> String {
    crate::normalize(case["text"].as_str().unwrap_or_default())
}

/// Whether the case gives any of these fields besides the text.
fn gives(case: &serde_json::Value, fields: &[&str]) -> bool {
    fields.iter().any(|k| case.get(k).is_some())
}

/// Trains the learned model on the development cases whose department follows from the words
/// alone: not emergencies (their department is the emergency room, whatever the words), and not
/// cases whose age, sex or pregnancy was given outside the text (a child's 07 says nothing about
/// the words).
fn train_model(by_code: &HashMap<String, usize>) -> Result<crate::learned::Model, KnowledgeError> {
    let mut examples: Vec<(String, String)> = Vec::new();
    for (line, case) in development_cases()? {
        let label = case["expect"][0].as_str().unwrap_or_default();
        if !by_code.contains_key(label) {
            return Err(KnowledgeError(format!(
                "cases.jsonl line {line}: unknown department {label}"
            )));
        }
        let told_apart = gives(&case, &["age_years", "age_months", "sex", "pregnant"]);
        if case["urgency"] == "emergency" || told_apart {
            continue;
        }
        examples.push((case_text(&case), label.to_owned()));
    }
    Ok(crate::learned::Model::train(
        examples.iter().map(|(t, l)| (t.as_str(), l.as_str())),
    ))
}

/// Label of the emergency detector's positive class.
pub const EMERGENCY: &str = "emergency";

/// The development cases as (normalized text, `emergency` or `other`) for the emergency
/// detector: every case, except emergencies that are emergencies because of what was given
/// outside the text (an age of 2 months makes 发烧 an emergency; the words do not).
pub fn emergency_examples() -> Result<Vec<(String, &'static str)>, KnowledgeError> {
    let mut examples = Vec::new();
    for (_, case) in development_cases()? {
        let emergency = case["urgency"] == "emergency";
        let told_apart = gives(
            &case,
            &["age_years", "age_months", "pregnant", "confirmed_red_flags"],
        );
        if emergency && told_apart {
            continue;
        }
        examples.push((
            case_text(&case),
            if emergency { EMERGENCY } else { "other" },
        ));
    }
    Ok(examples)
}
