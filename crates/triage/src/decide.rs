//! The decision: findings and the patient's age, sex and pregnancy to departments, urgency,
//! red flags and follow-up questions.

use std::collections::{HashMap, HashSet};

use jieba_rs::Jieba;

use crate::extract::{self, Found};
use crate::knowledge::{Kind, Knowledge};
use crate::numbers::{self, Quantities};
use crate::{
    DepartmentScore, Finding, Flag, Input, InputError, MAX_TEXT_CHARS, Question, Sex, Triage,
    Urgency, explain,
};

/// Under 14 years a patient is seen in paediatrics (the usual age limit of 儿科 in China).
const CHILD_MONTHS: f32 = 14.0 * 12.0;
/// From 37.3 °C (armpit) a measured temperature is a fever.
const FEVER_C: f32 = 37.3;
const HIGH_FEVER_C: f32 = 39.0;
/// Departments returned at most.
const TOP: usize = 5;

/// The department a child is sent to instead of an adult's one. Departments not listed here
/// (eyes, ENT, teeth, skin, burns, gynaecology, mental health …) see children themselves.
const CHILD_DEPARTMENT: [(&str, &str); 24] = [
    ("02", "07"),
    ("03", "07"),
    ("03.01", "07.04"),
    ("03.02", "07.03"),
    ("03.03", "07.08"),
    ("03.04", "07.05"),
    ("03.05", "07.07"),
    ("03.06", "07.06"),
    ("03.07", "07.09"),
    ("03.08", "07.11"),
    ("03.09", "07.11"),
    ("03.10", "07"),
    ("16", "07.02"),
    ("16.03", "07.02"),
    ("04", "08"),
    ("04.01", "08.01"),
    ("04.02", "08"),
    ("04.03", "08.02"),
    ("04.04", "08.03"),
    ("04.05", "08"),
    ("04.06", "08"),
    ("19", "07.07"),
    ("27", "07"),
    ("01", "09"),
];

/// What is known about the patient besides the findings.
struct Patient {
    age_months: Option<f32>,
    child: bool,
    pregnant: bool,
    sex: Option<Sex>,
}

pub(crate) fn triage(engine: &crate::Engine, input: &Input) -> Result<Triage, InputError> {
    let (k, jieba) = (&engine.knowledge, &engine.jieba);
    validate(input)?;
    let text = crate::normalize(&input.text);
    if !text.chars().any(|c| c.is_alphanumeric()) {
        return Err(InputError {
            field: "text",
            message: "say in a few words what is wrong (请用几句话描述哪里不舒服)".to_owned(),
        });
    }
    let q = numbers::scan(&text);
    let found = extract::findings(k, jieba, &text);
    let mut tags: HashSet<&str> = HashSet::new();
    // What is over (去年晕倒过) is history: it raises no red flag and no same-day reason.
    for f in found.iter().filter(|f| !f.negated && !f.past) {
        let c = &k.concepts[f.concept];
        tags.insert(c.id.as_str());
        tags.extend(c.tags.iter().map(String::as_str));
    }
    let fever_denied = found
        .iter()
        .any(|f| f.negated && k.concepts[f.concept].id == "fever");
    if q.temperature_c.is_some_and(|t| t >= FEVER_C) && !fever_denied {
        tags.insert("fever");
    }
    if q.temperature_c.is_some_and(|t| t >= HIGH_FEVER_C)
        || found
            .iter()
            .any(|f| !f.negated && matches!(f.text.as_str(), "高烧" | "高热" | "发高烧"))
    {
        tags.insert("high_fever");
    }
    let patient = patient(input, &q, &tags);
    derive_tags(&mut tags, &patient, &q);
    let epi = tags.contains("epi_contact") || mentions_outbreak_area(&text, &input.outbreak_areas);
    if epi {
        tags.insert("epi");
    }

    let fired = |rules: &[crate::knowledge::Rule]| -> Vec<usize> {
        (0..rules.len())
            .filter(|&i| rules[i].fires(|t| tags.contains(t)))
            .collect()
    };
    let mut red = fired(&k.red_flags);
    for id in &input.confirmed_red_flags {
        let Some(i) = k.red_flags.iter().position(|r| &r.id == id) else {
            return Err(InputError {
                field: "confirmed_red_flags",
                message: format!("{id} is not a red flag of the checklist"),
            });
        };
        if !red.contains(&i) {
            red.push(i);
        }
    }
    let urgent = fired(&k.urgent);
    let urgency = if !red.is_empty() {
        crate::Urgency::Emergency
    } else if !urgent.is_empty() {
        Urgency::Urgent
    } else {
        Urgency::Routine
    };
    let screening = epi && (tags.contains("fever") || tags.contains("respiratory"));

    let mut weights = department_weights(k, &found, &patient);
    blend_learned(k, &text, &patient, &mut weights);
    if screening {
        // The fever clinic (发热门诊, part of 传染科) sees them first, children included.
        let top = weights.values().copied().fold(0.0, f32::max);
        *weights.entry("16".to_owned()).or_default() += top + 5.0;
    }
    let mut ranked = rank(weights);
    if urgency == Urgency::Emergency {
        // The emergency department first, then where each red flag belongs.
        let mut first: Vec<String> = vec!["20".to_owned()];
        for &i in &red {
            if let Some(code) = &k.red_flags[i].department {
                let code = if patient.child {
                    child_department(code)
                } else {
                    code.as_str()
                };
                if !first.iter().any(|c| c == code) {
                    first.push(code.to_owned());
                }
            }
        }
        ranked.retain(|(code, _)| !first.contains(code));
        let lead = ranked.first().map_or(1.0, |(_, w)| *w) + 1.0;
        let mut head: Vec<(String, f32)> = first
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, lead * 2.0 / (i as f32 + 1.0)))
            .collect();
        head.append(&mut ranked);
        ranked = head;
    }
    let specific = found
        .iter()
        .filter(|f| !f.negated && !f.past && k.concepts[f.concept].is_specific())
        .count();
    if ranked.is_empty() {
        // Nothing to go on: paediatrics for a child; otherwise general practice, which sees
        // everything, and 内科 where a hospital has none.
        ranked = if patient.child {
            vec![("07".to_owned(), 1.0)]
        } else {
            vec![("02".to_owned(), 1.0), ("03".to_owned(), 1.0)]
        };
    }
    let departments = scores(k, ranked);

    // The learned safety net under the red-flag rules: it never decides an emergency, it
    // makes sure the checklist is asked first when the words look like one.
    let possible_emergency = urgency != Urgency::Emergency
        && engine
            .emergency
            .probability(&emergency_features(k, &found, &text))
            >= POSSIBLE_EMERGENCY;
    let mut follow_up = Vec::new();
    if possible_emergency {
        follow_up.push(question_red_flags());
    }
    if urgency != Urgency::Emergency {
        if specific == 0 {
            follow_up.push(question_where());
        }
        if q.duration_hours.is_none() && specific <= 1 {
            follow_up.push(question_how_long());
        }
    }
    let flags = |rules: &[crate::knowledge::Rule], ids: &[usize]| -> Vec<Flag> {
        ids.iter()
            .map(|&i| {
                let r = &rules[i];
                Flag {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    name_en: r.name_en.clone(),
                    advice: r.advice.clone(),
                    advice_en: r.advice_en.clone(),
                }
            })
            .collect()
    };
    let crisis_line = red.iter().any(|&i| k.red_flags[i].crisis_line);
    let mut result = Triage {
        departments,
        urgency,
        red_flags: flags(&k.red_flags, &red),
        urgent_reasons: flags(&k.urgent, &urgent),
        findings: findings(k, &found),
        temperature_c: q.temperature_c,
        duration_hours: q.duration_hours,
        screening,
        crisis_line,
        possible_emergency,
        follow_up,
        explanation: String::new(),
        explanation_en: String::new(),
        knowledge_version: k.version.clone(),
    };
    (result.explanation, result.explanation_en) = explain::explain(&result);
    Ok(result)
}

fn validate(input: &Input) -> Result<(), InputError> {
    let bad = |field, message: &str| {
        Err(InputError {
            field,
            message: message.to_owned(),
        })
    };
    if input.text.chars().count() > MAX_TEXT_CHARS {
        return bad(
            "text",
            "is longer than 2000 characters: describe the main problem in a few sentences",
        );
    }
    if input.age_years.is_some_and(|a| a > 130) {
        return bad("age_years", "must be between 0 and 130");
    }
    if input.age_months.is_some_and(|m| m > 130 * 12) {
        return bad("age_months", "must be between 0 and 1560");
    }
    if input.pregnant == Some(true) && input.sex == Some(Sex::Male) {
        return bad("pregnant", "cannot be true when sex is male");
    }
    if input.confirmed_red_flags.len() > 50 {
        return bad("confirmed_red_flags", "at most 50 ids");
    }
    if input.outbreak_areas.len() > 500
        || input.outbreak_areas.iter().any(|a| a.chars().count() > 40)
    {
        return bad(
            "outbreak_areas",
            "at most 500 names of at most 40 characters",
        );
    }
    Ok(())
}

fn patient(input: &Input, q: &Quantities, tags: &HashSet<&str>) -> Patient {
    let given = match (input.age_years, input.age_months) {
        (None, None) => None,
        (y, m) => Some(y.unwrap_or(0) as f32 * 12.0 + m.unwrap_or(0) as f32),
    };
    let age_months = given.or(q.age_months);
    let child = match age_months {
        Some(m) => m < CHILD_MONTHS,
        // "宝宝…" with no age: the patient is a child, unless an older person is also the subject.
        None => tags.contains("child_hint") && !tags.contains("elder_hint"),
    };
    // "还会怀孕吗" after a contraceptive is a question about pregnancy, not a pregnancy.
    let text_says_pregnant = (tags.contains("pregnancy") || q.pregnancy_weeks.is_some())
        && !tags.contains("pregnancy_question");
    let pregnant = match input.pregnant {
        Some(p) => p,
        None => text_says_pregnant && input.sex != Some(Sex::Male) && !child,
    };
    Patient {
        age_months,
        child,
        pregnant,
        sex: input.sex,
    }
}

/// Tags the engine derives itself (documented at the top of rules.toml); every other tag a
/// rule reads must come from a concept (checked by the knowledge tests).
pub const DERIVED_TAGS: [&str; 15] = [
    "child",
    "infant_under_3m",
    "infant_3_6m",
    "child_under_3y",
    "under_5y",
    "pregnant",
    "fever",
    "high_fever",
    "bp_crisis",
    "acute",
    "lasting_3_days",
    "lasting_5_days",
    "height_fall",
    "critical_vitals",
    "epi",
];

/// NICE NG143's traffic-light table is for children under 5.
const NICE_AGE_MONTHS: f32 = 60.0;

fn derive_tags(tags: &mut HashSet<&str>, p: &Patient, q: &Quantities) {
    if p.child {
        tags.insert("child");
    }
    // A child whose age is not known may be under 5: the traffic light applies.
    if p.age_months.map_or(p.child, |m| m < NICE_AGE_MONTHS) {
        tags.insert("under_5y");
    }
    if p.age_months.is_some_and(|m| (3.0..6.0).contains(&m)) {
        tags.insert("infant_3_6m");
    }
    if q.duration_hours.is_some_and(|h| h >= 5.0 * 24.0) {
        tags.insert("lasting_5_days");
    }
    // Vital signs a patient may read off a home monitor. Heart-rate limits are an adult's
    // (a child's normal rate is higher); see docs/TRIAGE.md for the thresholds' sources.
    let heart_rate_critical = !p.child && q.heart_rate.is_some_and(|r| !(41.0..150.0).contains(&r));
    if heart_rate_critical
        || q.spo2.is_some_and(|s| s < 90.0)
        || q.lowest_systolic.is_some_and(|s| s < 80.0)
    {
        tags.insert("critical_vitals");
    }
    let infant = p.age_months.map_or(tags.contains("newborn"), |m| m < 3.0);
    if infant {
        tags.insert("infant_under_3m");
    }
    if infant || p.age_months.is_some_and(|m| m < 36.0) {
        tags.insert("child_under_3y");
    }
    if p.pregnant {
        tags.insert("pregnant");
    }
    if q.blood_pressure
        .is_some_and(|(sys, dia)| sys >= 180.0 || dia >= 110.0)
    {
        tags.insert("bp_crisis");
    }
    if q.duration_hours.is_some_and(|h| h < 24.0) {
        tags.insert("acute");
    }
    if q.fall_floor.is_some_and(|f| f >= 2.0) {
        tags.insert("height_fall");
    }
    if q.duration_hours.is_some_and(|h| h >= 72.0) {
        tags.insert("lasting_3_days");
    }
}

/// Travel to or from a place on the outbreak list, unless denied ("没去过武汉").
fn mentions_outbreak_area(text: &str, areas: &[String]) -> bool {
    areas
        .iter()
        .map(|a| crate::normalize(a))
        .filter(|a| !a.is_empty())
        .any(|area| {
            text.match_indices(area.as_str()).any(|(at, _)| {
                let clause_start = text[..at].rfind('，').map_or(0, |i| i + '，'.len_utf8());
                let before: Vec<char> = text[clause_start..at].chars().collect();
                let near = &before[before.len().saturating_sub(4)..];
                !near.iter().any(|c| matches!(c, '没' | '未' | '无' | '不'))
            })
        })
}

fn department_weights(k: &Knowledge, found: &[Found], p: &Patient) -> HashMap<String, f32> {
    let mut weights: HashMap<String, f32> = HashMap::new();
    let mut counted = HashSet::new();
    let any_specific = found
        .iter()
        .any(|f| !f.negated && k.concepts[f.concept].is_specific());
    for f in found.iter().filter(|f| !f.negated) {
        if !counted.insert(f.concept) {
            continue;
        }
        let c = &k.concepts[f.concept];
        // A named condition says more than a symptom; who and why ("体检", "宝宝") says less
        // than what is wrong.
        let factor = match c.kind {
            Kind::Disease => 1.5,
            Kind::Context if any_specific => 0.3,
            _ => 1.0,
        };
        let has = |t: &str| c.tags.iter().any(|x| x == t);
        if (has("female") && p.sex == Some(Sex::Male))
            || (has("male") && p.sex == Some(Sex::Female))
        {
            continue;
        }
        for (code, w) in &c.dept {
            let mut code = code.as_str();
            if p.child {
                code = child_department(code);
            }
            if p.pregnant && code == "05.01" {
                code = "05.02";
            }
            *weights.entry(code.to_owned()).or_default() += w * factor;
        }
    }
    if p.child && p.age_months.is_some_and(|m| m < 1.0) {
        *weights.entry("07.01".to_owned()).or_default() += 3.0;
    }
    if p.pregnant && !weights.is_empty() {
        // Obstetrics looks after a pregnant woman's other complaints too, or sends her on.
        let top = weights.values().copied().fold(0.0, f32::max);
        *weights.entry("05.02".to_owned()).or_default() += (top * 0.6).max(3.0);
    }
    weights
}

/// From this probability the emergency detector's suspicion makes the answer at least
/// `urgent`, with the red-flag checklist asked ("never silence"). Chosen by five-fold
/// cross-validation on the development cases (the `emergency_threshold` test prints the table):
/// the threshold at which about one non-emergency in ten is flagged (logistic regression with
/// the rules' findings: 90.8% of emergencies caught out of fold, 10.5% of others flagged).
const POSSIBLE_EMERGENCY: f32 = 0.15;
/// Just under what the cross-validation measured at that threshold, asserted so a change to
/// the cases or the features cannot quietly lose it.
#[cfg(test)]
const CV_RECALL_FLOOR: f32 = 0.89;
#[cfg(test)]
const CV_ALARM_CEILING: f32 = 0.12;

/// The emergency detector's features: the characters and pairs of the text, and what the
/// rules understood — each finding's concept and tags, and each pair of tags, so the model can
/// weigh combinations (a severe pain of the head) that no rule lists.
pub fn emergency_features(k: &Knowledge, found: &[Found], text: &str) -> Vec<String> {
    let mut feats = crate::learned::features(text);
    let mut tags: Vec<&str> = Vec::new();
    for f in found {
        let c = &k.concepts[f.concept];
        if f.negated || f.past {
            let mark = if f.negated { "no" } else { "past" };
            feats.push(format!("{mark}:{}", c.id));
            continue;
        }
        tags.push(c.id.as_str());
        tags.extend(c.tags.iter().map(String::as_str));
    }
    tags.sort_unstable();
    tags.dedup();
    for (i, a) in tags.iter().enumerate() {
        feats.push(format!("t:{a}"));
        for b in &tags[i + 1..] {
            feats.push(format!("p:{a}+{b}"));
        }
    }
    feats
}

/// Trains the emergency detector on the development cases (see `knowledge::emergency_examples`).
pub fn train_emergency_detector(
    k: &Knowledge,
    jieba: &Jieba,
) -> Result<crate::learned::Logistic, crate::KnowledgeError> {
    let rows: Vec<(Vec<String>, bool)> = crate::knowledge::emergency_examples()?
        .into_iter()
        .map(|(text, label)| {
            let found = extract::findings(k, jieba, &text);
            (
                emergency_features(k, &found, &text),
                label == crate::knowledge::EMERGENCY,
            )
        })
        .collect();
    Ok(crate::learned::Logistic::train(&rows))
}

/// Weight of the learned model's opinion against the rules' (whose weights are first scaled to
/// sum to 1). Chosen before the held-out set was measured and not tuned on it.
const LEARNED_WEIGHT: f32 = 0.5;
/// When the rules found nothing, the model's opinion counts only from this probability.
const LEARNED_ALONE_MIN: f32 = 0.3;

/// Adds the learned model's opinion (see `learned.rs`) to the rules' department weights.
fn blend_learned(k: &Knowledge, text: &str, p: &Patient, weights: &mut HashMap<String, f32>) {
    let opinion = k.model.rank(text);
    let Some(&(_, best)) = opinion.first() else {
        return;
    };
    let total: f32 = weights.values().sum();
    let (share, take) = if total > 0.0 {
        for w in weights.values_mut() {
            *w /= total;
        }
        (LEARNED_WEIGHT, 5)
    } else if best >= LEARNED_ALONE_MIN {
        (1.0, 3)
    } else {
        return;
    };
    for (code, prob) in opinion.into_iter().take(take) {
        if let Some(code) = adjust_for_patient(code, p) {
            *weights.entry(code.to_owned()).or_default() += share * prob;
        }
    }
}

/// A department as this patient would be sent to it: a child's paediatric one, obstetrics
/// for a pregnant woman's gynaecology, none of the women's departments for a man.
fn adjust_for_patient<'a>(code: &'a str, p: &Patient) -> Option<&'a str> {
    if p.sex == Some(Sex::Male) && (code.starts_with("05") || code == "06") {
        return None;
    }
    let code = if p.child {
        child_department(code)
    } else {
        code
    };
    Some(if p.pregnant && code == "05.01" {
        "05.02"
    } else {
        code
    })
}

fn child_department(code: &str) -> &str {
    CHILD_DEPARTMENT
        .iter()
        .find(|(adult, _)| *adult == code)
        .map_or(code, |(_, child)| child)
}

/// Best first; ties go to the more specific department (03.01 before 03), then by code so the
/// order never depends on hashing.
fn rank(weights: HashMap<String, f32>) -> Vec<(String, f32)> {
    let mut ranked: Vec<(String, f32)> = weights.into_iter().filter(|(_, w)| *w > 0.0).collect();
    ranked.sort_by(|(a, wa), (b, wb)| {
        wb.total_cmp(wa)
            .then_with(|| b.contains('.').cmp(&a.contains('.')))
            .then_with(|| a.cmp(b))
    });
    ranked
}

fn scores(k: &Knowledge, ranked: Vec<(String, f32)>) -> Vec<DepartmentScore> {
    let total: f32 = ranked.iter().map(|(_, w)| w).sum();
    ranked
        .into_iter()
        .filter_map(|(code, w)| {
            let d = k.department(&code)?;
            Some(DepartmentScore {
                code,
                name: d.name.clone(),
                name_en: d.name_en.clone(),
                score: ((w / total) * 100.0).round() / 100.0,
            })
        })
        .take(TOP)
        .collect()
}

fn findings(k: &Knowledge, found: &[Found]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in found {
        let c = &k.concepts[f.concept];
        if out
            .iter()
            .any(|o| o.concept == c.id && o.negated == f.negated && o.past == f.past)
        {
            continue;
        }
        out.push(Finding {
            concept: c.id.clone(),
            name: c.name.clone(),
            name_en: c.name_en.clone(),
            kind: c.kind.as_str().to_owned(),
            text: f.text.clone(),
            negated: f.negated,
            past: f.past,
        });
    }
    out
}

fn question_where() -> Question {
    Question {
        id: "where".to_owned(),
        text: "哪里不舒服？有什么症状？（比如发烧、咳嗽、肚子疼）".to_owned(),
        text_en: "Where does it bother you, and how? (for example fever, cough, stomach ache)"
            .to_owned(),
    }
}

fn question_red_flags() -> Question {
    Question {
        id: "red_flags".to_owned(),
        text: "为了安全，请先逐项确认危险信号（见下方清单）。".to_owned(),
        text_en: "To be safe, please first answer the warning-sign questions (the checklist)."
            .to_owned(),
    }
}

fn question_how_long() -> Question {
    Question {
        id: "how_long".to_owned(),
        text: "这种情况有多久了？".to_owned(),
        text_en: "How long has it been like this?".to_owned(),
    }
}

#[cfg(test)]
mod emergency_threshold {
    //! How the emergency detector and `POSSIBLE_EMERGENCY` were chosen: five-fold
    //! cross-validation on the development cases (each fold scored by a model trained on the
    //! other four), comparing naive Bayes on characters, logistic regression on characters, and
    //! logistic regression on characters and the rules' findings (what ships).
    //! `cargo test -p triage --lib emergency_threshold -- --nocapture` prints the tables.
    //!
    //! The findings come from rules curated on these same cases, so the third model's figures
    //! flatter it; the held-out sets (docs/TRIAGE.md) are its honest measure.

    use crate::knowledge::{EMERGENCY, emergency_examples};
    use crate::learned::{Logistic, Model, features};

    const FOLDS: usize = 5;

    /// (probability of emergency, is an emergency) for every development case, out of fold.
    fn out_of_fold(model: &str) -> Vec<(f32, bool)> {
        let examples = emergency_examples().expect("the development cases load");
        let engine = crate::engine().expect("the knowledge base loads");
        let rows: Vec<(Vec<String>, bool)> = examples
            .iter()
            .map(|(t, l)| {
                let feats = if model == "logistic+findings" {
                    let found = crate::extract::findings(&engine.knowledge, &engine.jieba, t);
                    super::emergency_features(&engine.knowledge, &found, t)
                } else {
                    features(t)
                };
                (feats, *l == EMERGENCY)
            })
            .collect();
        let mut scored = Vec::new();
        for fold in 0..FOLDS {
            let in_fold = |i: usize| i % FOLDS == fold;
            if model == "bayes" {
                let nb = Model::train(
                    examples
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !in_fold(*i))
                        .map(|(_, (t, l))| (t.as_str(), *l)),
                );
                for (i, (text, label)) in examples.iter().enumerate() {
                    if in_fold(i) {
                        let p = nb.probability(text, EMERGENCY).unwrap_or(0.0);
                        scored.push((p, *label == EMERGENCY));
                    }
                }
            } else {
                let train: Vec<(Vec<String>, bool)> = rows
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !in_fold(*i))
                    .map(|(_, r)| r.clone())
                    .collect();
                let lr = Logistic::train(&train);
                for (i, (feats, e)) in rows.iter().enumerate() {
                    if in_fold(i) {
                        scored.push((lr.probability(feats), *e));
                    }
                }
            }
        }
        scored
    }

    /// (recall of emergencies, share of other cases flagged) at a threshold.
    fn rates(scored: &[(f32, bool)], threshold: f32) -> (f32, f32) {
        let count = |emergency: bool, flagged: bool| {
            scored
                .iter()
                .filter(|(p, e)| *e == emergency && (*p >= threshold) == flagged)
                .count() as f32
        };
        let recall = count(true, true) / (count(true, true) + count(true, false)).max(1.0);
        let alarms = count(false, true) / (count(false, true) + count(false, false)).max(1.0);
        (recall, alarms)
    }

    #[test]
    fn the_threshold_holds_its_cross_validated_figures() {
        for model in ["bayes", "logistic", "logistic+findings"] {
            let scored = out_of_fold(model);
            println!("{model}: threshold | emergencies caught | other cases flagged (out of fold)");
            for t in [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.9, 0.99] {
                let (recall, alarms) = rates(&scored, t);
                println!("  {t} | {:.1}% | {:.1}%", recall * 100.0, alarms * 100.0);
            }
        }
        let (recall, alarms) = rates(&out_of_fold("logistic+findings"), super::POSSIBLE_EMERGENCY);
        assert!(
            recall >= super::CV_RECALL_FLOOR,
            "cross-validated recall {recall}"
        );
        assert!(
            alarms <= super::CV_ALARM_CEILING,
            "cross-validated alarms {alarms}"
        );
    }
}
