//! Epidemic screening (传染病预检): rules over what patients say and tick, for suspected cases
//! of notifiable disease and for syndromic counts.
//!
//! A [`RuleSet`] is data an infection officer edits: the fever threshold, the incubation
//! window, the outbreak areas with their dates, words that tell of clusters, and rules. A rule
//! fires when every signal in `all` holds, one in `any` does (if it names any), and one of its
//! `keywords` is said. A *signal* is something a piece of text or a form field shows: `fever`,
//! `outbreak_area`, `contact`, `cluster`, `epi` (any of the three), `child`, or any concept or
//! tag of the triage knowledge base (`cough`, `diarrhea`, `respiratory` …).
//!
//! Reading uses the triage segmenter and its negation handling ("没有发烧" is no fever,
//! "没去过武汉" no outbreak area), and the time the text gives: travel "两个月前" is outside a
//! 14-day window. Signals from several pieces (an intake, then chat messages) add up:
//! [`Screener::read`] gives each piece's signals with the words that said them (the
//! evidence), [`Signals::merge`] gathers them, [`Screener::evaluate`] names the rules that fire.
//!
//! Pure: no clock (the caller passes today's date), no IO.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::extract;
use crate::knowledge::Knowledge;
use crate::numbers;

/// Signals that are not concepts or tags of the knowledge base.
pub const BUILT_IN_SIGNALS: [&str; 7] = [
    "fever",
    "high_fever",
    "outbreak_area",
    "contact",
    "cluster",
    "epi",
    "child",
];

/// The signals `epi` stands for.
const EPI: [&str; 3] = ["outbreak_area", "contact", "cluster"];

/// Temperature from which a fever is high, °C (as in triage).
const HIGH_FEVER_C: f32 = 39.0;
/// Children are younger than this, in years.
const CHILD_UNDER_YEARS: u32 = 14;

/// Limits that keep a rule set reviewable and screening fast.
pub const MAX_RULES: usize = 100;
pub const MAX_AREAS: usize = 500;
pub const MAX_WORDS: usize = 100;
const MAX_NAME_CHARS: usize = 60;
const MAX_WORD_CHARS: usize = 20;

/// What an officer edits. See `data/screening.toml` for the default and its comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleSet {
    /// A measured temperature at or above this is fever, °C.
    #[serde(default = "default_fever_c")]
    pub fever_c: f32,
    /// Travel or contact counts this many days back (the incubation window).
    #[serde(default = "default_window_days")]
    pub window_days: u32,
    /// Words that say several people are ill together.
    #[serde(default)]
    pub cluster_words: Vec<String>,
    #[serde(default, rename = "area")]
    pub areas: Vec<Area>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

fn default_fever_c() -> f32 {
    37.3
}

fn default_window_days() -> u32 {
    14
}

/// An outbreak area: a place and the days it was one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScreeningArea))]
pub struct Area {
    /// As people write it ("武汉").
    pub name: String,
    /// Other names for it ("武汉市", "江城").
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Its administrative division code (GB/T 2260, six digits), when known.
    #[serde(default)]
    pub region: String,
    /// First day of the outbreak, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, when it is declared over.
    #[serde(default)]
    pub until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScreeningRule))]
pub struct Rule {
    /// Short and stable (`suspected_case`): flags and counts name it.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// A hit raises a flag for the infection officers; otherwise it is only counted.
    #[serde(default)]
    pub flag: bool,
    /// The syndrome its hits are counted under (`respiratory`, `diarrhoeal` …).
    #[serde(default)]
    pub syndrome: String,
    #[serde(default)]
    pub all: Vec<String>,
    #[serde(default)]
    pub any: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// A problem in a rule set, naming the field (`rule[2].all[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The words that showed a signal, and where they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// Where the words were, as the caller named it (`intake.chief_complaint`, `message:12`).
    pub source: String,
    /// The clause that said it (at most 80 characters).
    pub quote: String,
}

/// Signals and the first evidence of each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signals(pub BTreeMap<String, Evidence>);

impl Signals {
    fn add(&mut self, signal: &str, source: &str, quote: &str) {
        self.0.entry(signal.to_owned()).or_insert_with(|| Evidence {
            source: source.to_owned(),
            quote: quote.chars().take(80).collect(),
        });
    }

    /// Adds what `other` shows that this does not yet (the first evidence of a signal stays).
    pub fn merge(&mut self, other: &Signals) {
        for (signal, evidence) in &other.0 {
            self.0
                .entry(signal.clone())
                .or_insert_with(|| evidence.clone());
        }
    }

    pub fn has(&self, signal: &str) -> bool {
        if signal == "epi" {
            return EPI.iter().any(|s| self.0.contains_key(*s));
        }
        self.0.contains_key(signal)
    }

    /// The evidence for a signal (`epi`: the first of its three that holds).
    fn evidence(&self, signal: &str) -> Option<(&str, &Evidence)> {
        if signal == "epi" {
            return EPI
                .iter()
                .find_map(|s| self.0.get_key_value(*s))
                .map(|(k, v)| (k.as_str(), v));
        }
        self.0.get_key_value(signal).map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Facts given in form fields rather than words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub temperature_c: Option<f32>,
    /// The patient ticked travel to an outbreak area: where, and the day they came back
    /// (days since 1970-01-01).
    pub travel: Option<(String, Option<i32>)>,
    pub contact: bool,
    pub cluster: bool,
    pub age_years: Option<u32>,
}

/// A rule that fired, with the evidence for each signal it needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hit {
    pub rule: String,
    pub name: String,
    pub name_en: String,
    pub flag: bool,
    pub syndrome: String,
    /// (signal, evidence), in the rule's order.
    pub evidence: Vec<(String, Evidence)>,
}

/// A rule set made ready to screen with: names normalized, dates parsed.
#[derive(Debug, Clone)]
pub struct Screener {
    set: RuleSet,
    areas: Vec<ReadyArea>,
    cluster_words: Vec<String>,
    keywords: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone)]
struct ReadyArea {
    names: Vec<String>,
    from: i32,
    until: Option<i32>,
}

impl RuleSet {
    /// The default set (data/screening.toml).
    pub fn default_set() -> Result<RuleSet, crate::KnowledgeError> {
        toml::from_str(include_str!("../data/screening.toml"))
            .map_err(|e| crate::KnowledgeError(format!("screening.toml: {e}")))
    }

    /// Every problem at once, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        let engine = crate::engine().map_err(|e| vec![Problem::new("rules", e.0)])?;
        let known = known_signals(&engine.knowledge);
        let mut problems = Vec::new();
        if !(37.0..=39.0).contains(&self.fever_c) {
            problems.push(Problem::new("fever_c", "must be between 37.0 and 39.0 °C"));
        }
        if !(1..=60).contains(&self.window_days) {
            problems.push(Problem::new("window_days", "must be 1 to 60 days"));
        }
        words(&mut problems, "cluster_words", &self.cluster_words);
        if self.areas.len() > MAX_AREAS {
            problems.push(Problem::new("area", format!("at most {MAX_AREAS} areas")));
        }
        for (i, a) in self.areas.iter().enumerate() {
            let at = |f: &str| format!("area[{i}].{f}");
            name(&mut problems, &at("name"), &a.name, MAX_WORD_CHARS);
            words(&mut problems, &at("aliases"), &a.aliases);
            let region_ok = a.region.is_empty()
                || (a.region.len() == 6 && a.region.bytes().all(|b| b.is_ascii_digit()));
            if !region_ok {
                problems.push(Problem::new(
                    at("region"),
                    "must be a six-digit GB/T 2260 code such as 420100",
                ));
            }
            let from = parse_day(&a.from);
            if from.is_none() {
                problems.push(Problem::new(at("from"), "must be a date like 2026-11-20"));
            }
            if let Some(until) = &a.until {
                match parse_day(until) {
                    None => {
                        problems.push(Problem::new(at("until"), "must be a date like 2026-12-31"))
                    }
                    Some(u) if from.is_some_and(|f| u < f) => {
                        problems.push(Problem::new(at("until"), "cannot be before from"))
                    }
                    Some(_) => {}
                }
            }
        }
        if self.rules.len() > MAX_RULES {
            problems.push(Problem::new("rule", format!("at most {MAX_RULES} rules")));
        }
        let mut ids = HashSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            let at = |f: &str| format!("rule[{i}].{f}");
            let id_ok = !r.id.is_empty() && is_code(&r.id, 40);
            if !id_ok {
                problems.push(Problem::new(
                    at("id"),
                    "must be 1 to 40 lower-case letters, digits or _",
                ));
            } else if !ids.insert(r.id.as_str()) {
                problems.push(Problem::new(at("id"), format!("{} is used twice", r.id)));
            }
            name(&mut problems, &at("name"), &r.name, MAX_NAME_CHARS);
            if r.name_en.chars().count() > MAX_NAME_CHARS * 2 {
                problems.push(Problem::new(at("name_en"), "is too long"));
            }
            if !is_code(&r.syndrome, 30) {
                problems.push(Problem::new(
                    at("syndrome"),
                    "must be up to 30 lower-case letters, digits or _",
                ));
            }
            for (list, signals) in [("all", &r.all), ("any", &r.any)] {
                for (j, s) in signals.iter().enumerate() {
                    if !known.contains(s.as_str()) {
                        problems.push(Problem::new(
                            format!("rule[{i}].{list}[{j}]"),
                            format!("{s} is not a signal (see the list of signals)"),
                        ));
                    }
                }
            }
            words(&mut problems, &at("keywords"), &r.keywords);
            if r.all.is_empty() && r.any.is_empty() && r.keywords.is_empty() {
                problems.push(Problem::new(
                    at("all"),
                    "a rule needs at least one signal or keyword",
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The areas that count on `today` (days since 1970-01-01): begun, and not over for longer
    /// than the window.
    pub fn active_areas(&self, today: i32) -> Vec<&Area> {
        self.areas
            .iter()
            .filter(|a| {
                let from = parse_day(&a.from);
                let until = a.until.as_deref().and_then(parse_day);
                from.is_some_and(|f| active(f, until, today, self.window_days))
            })
            .collect()
    }
}

fn active(from: i32, until: Option<i32>, today: i32, window: u32) -> bool {
    from <= today && until.is_none_or(|u| u + window as i32 >= today)
}

/// At most `max` lower-case ASCII letters, digits and underscores (ids and syndromes, which
/// URLs and counts carry).
fn is_code(s: &str, max: usize) -> bool {
    s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn name(problems: &mut Vec<Problem>, field: &str, value: &str, max: usize) {
    let n = value.trim().chars().count();
    if n == 0 || n > max {
        problems.push(Problem::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
}

fn words(problems: &mut Vec<Problem>, field: &str, list: &[String]) {
    if list.len() > MAX_WORDS {
        problems.push(Problem::new(field, format!("at most {MAX_WORDS} words")));
    }
    for (i, w) in list.iter().enumerate() {
        let n = crate::normalize(w).chars().count();
        if n == 0 || n > MAX_WORD_CHARS {
            problems.push(Problem::new(
                format!("{field}[{i}]"),
                format!("must be 1 to {MAX_WORD_CHARS} characters"),
            ));
        }
    }
}

/// Every signal a rule may name.
fn known_signals(k: &Knowledge) -> HashSet<&str> {
    let mut known: HashSet<&str> = BUILT_IN_SIGNALS.into_iter().collect();
    for c in &k.concepts {
        known.insert(c.id.as_str());
        known.extend(c.tags.iter().map(String::as_str));
    }
    known
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (the proleptic Gregorian calendar).
pub fn parse_day(s: &str) -> Option<i32> {
    let mut parts = s.trim().splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > month_days(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn month_days(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// H. Hinnant's `days_from_civil`.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Screener {
    /// Validates the set and makes it ready.
    pub fn new(set: RuleSet) -> Result<Screener, Vec<Problem>> {
        set.validate()?;
        let areas = set
            .areas
            .iter()
            .filter_map(|a| {
                let mut names: Vec<String> = std::iter::once(&a.name)
                    .chain(&a.aliases)
                    .map(|n| crate::normalize(n))
                    .filter(|n| !n.is_empty())
                    .collect();
                names.dedup();
                Some(ReadyArea {
                    names,
                    from: parse_day(&a.from)?,
                    until: a.until.as_deref().and_then(parse_day),
                })
            })
            .collect();
        let norm = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|w| crate::normalize(w))
                .filter(|w| !w.is_empty())
                .collect()
        };
        let cluster_words = norm(&set.cluster_words);
        let keywords = set
            .rules
            .iter()
            .filter(|r| !r.keywords.is_empty())
            .map(|r| (r.id.clone(), norm(&r.keywords)))
            .collect();
        Ok(Screener {
            set,
            areas,
            cluster_words,
            keywords,
        })
    }

    pub fn rule_set(&self) -> &RuleSet {
        &self.set
    }

    /// The signals in a piece of text, each with the clause that said it. `source` names the
    /// piece for the evidence; `today` is days since 1970-01-01.
    pub fn read(&self, source: &str, text: &str, today: i32) -> Result<Signals, crate::Error> {
        let engine = crate::engine().map_err(crate::Error::Knowledge)?;
        let k = &engine.knowledge;
        let text = crate::normalize(text);
        let mut signals = Signals::default();
        if text.is_empty() {
            return Ok(signals);
        }
        let clause_of = |words: &str| clause_around(&text, text.find(words).unwrap_or(0));
        let found = extract::findings(k, &engine.jieba, &text);
        let mut fever_denied = false;
        for f in &found {
            let c = &k.concepts[f.concept];
            if f.negated {
                fever_denied |= c.id == "fever";
                continue;
            }
            let quote = clause_of(&f.text);
            signals.add(&c.id, source, quote);
            for tag in &c.tags {
                signals.add(tag, source, quote);
            }
            match c.id.as_str() {
                "contact_confirmed" => signals.add("contact", source, quote),
                "fever_cluster" => signals.add("cluster", source, quote),
                _ => {}
            }
            if matches!(f.text.as_str(), "高烧" | "高热" | "发高烧") {
                signals.add("high_fever", source, quote);
            }
        }
        // Tags of the knowledge base that mean something else here.
        signals.0.remove("epi_contact");
        let q = numbers::scan(&text);
        if let Some(t) = q.temperature_c
            && !fever_denied
        {
            let quote = temperature_clause(&text);
            if t >= self.set.fever_c {
                signals.add("fever", source, quote);
            }
            if t >= HIGH_FEVER_C {
                signals.add("high_fever", source, quote);
            }
        }
        if let Some(at) = said(&text, &self.cluster_words) {
            signals.add("cluster", source, clause_around(&text, at));
        }
        for (rule, words) in &self.keywords {
            if let Some(at) = said(&text, words) {
                signals.add(&format!("keyword:{rule}"), source, clause_around(&text, at));
            }
        }
        if let Some(at) = self.area_mentioned(&text, today) {
            signals.add("outbreak_area", source, clause_around(&text, at));
        }
        Ok(signals)
    }

    /// Where the text speaks of being in, to or from an area that counts today, within the
    /// window: not denied ("没去过武汉") and not long ago ("两个月前去过武汉").
    fn area_mentioned(&self, text: &str, today: i32) -> Option<usize> {
        let window = self.set.window_days;
        self.areas
            .iter()
            .filter(|a| active(a.from, a.until, today, window))
            .flat_map(|a| a.names.iter())
            .flat_map(|name| text.match_indices(name.as_str()).map(|(at, _)| at))
            .find(|&at| {
                if negated_before(text, at) {
                    return false;
                }
                // The time said in this clause or the one before it.
                let start = text[..at].rfind('，').unwrap_or(0);
                let previous = text[..start].rfind('，').map_or(0, |i| i + '，'.len_utf8());
                let end = text[at..].find('，').map_or(text.len(), |i| at + i);
                numbers::days_ago(&text[previous..end]).is_none_or(|d| d <= window as f32)
            })
    }

    /// The signals in form fields; `source` prefixes each field's name.
    pub fn read_facts(&self, source: &str, facts: &Facts, today: i32) -> Signals {
        let mut signals = Signals::default();
        let field = |f: &str| format!("{source}.{f}");
        if let Some(t) = facts.temperature_c {
            let quote = format!("体温 {t:.1} °C");
            if t >= self.set.fever_c {
                signals.add("fever", &field("temperature_c"), &quote);
            }
            if t >= HIGH_FEVER_C {
                signals.add("high_fever", &field("temperature_c"), &quote);
            }
        }
        if let Some((region, returned)) = &facts.travel {
            let within = returned.is_none_or(|day| today - day <= self.set.window_days as i32);
            if within {
                signals.add(
                    "outbreak_area",
                    &field("outbreak_area_travel"),
                    &format!("去过疫区：{region}"),
                );
            }
        }
        if facts.contact {
            signals.add(
                "contact",
                &field("confirmed_case_contact"),
                "接触过确诊病例",
            );
        }
        if facts.cluster {
            signals.add("cluster", &field("cluster"), "身边多人同样发病");
        }
        if facts.age_years.is_some_and(|a| a < CHILD_UNDER_YEARS) {
            signals.add("child", &field("age"), "儿童");
        }
        signals
    }

    /// The rules that fire on these signals, in the set's order.
    pub fn evaluate(&self, signals: &Signals) -> Vec<Hit> {
        self.set
            .rules
            .iter()
            .filter_map(|r| {
                let mut evidence = Vec::new();
                for s in &r.all {
                    let (name, e) = signals.evidence(s)?;
                    evidence.push((name.to_owned(), e.clone()));
                }
                if !r.any.is_empty() {
                    let (name, e) = r.any.iter().find_map(|s| signals.evidence(s))?;
                    evidence.push((name.to_owned(), e.clone()));
                }
                if !r.keywords.is_empty() {
                    let key = format!("keyword:{}", r.id);
                    let e = signals.0.get(&key)?;
                    evidence.push(("keyword".to_owned(), e.clone()));
                }
                Some(Hit {
                    rule: r.id.clone(),
                    name: r.name.clone(),
                    name_en: r.name_en.clone(),
                    flag: r.flag,
                    syndrome: r.syndrome.clone(),
                    evidence,
                })
            })
            .collect()
    }
}

/// The first place one of `words` is said and not denied.
fn said(text: &str, words: &[String]) -> Option<usize> {
    words
        .iter()
        .flat_map(|w| text.match_indices(w.as_str()).map(|(at, _)| at))
        .find(|&at| !negated_before(text, at))
}

/// A negation shortly before `at` in the same clause ("没去过武汉", "不是全家都").
fn negated_before(text: &str, at: usize) -> bool {
    let start = text[..at].rfind('，').map_or(0, |i| i + '，'.len_utf8());
    let before: Vec<char> = text[start..at].chars().collect();
    before[before.len().saturating_sub(4)..]
        .iter()
        .any(|c| matches!(c, '没' | '未' | '无' | '不' | '否'))
}

/// The clause around byte `at`.
fn clause_around(text: &str, at: usize) -> &str {
    let at = at.min(text.len());
    let start = text[..at].rfind('，').map_or(0, |i| i + '，'.len_utf8());
    let end = text[at..].find('，').map_or(text.len(), |i| at + i);
    &text[start..end]
}

/// The clause with the first temperature in it.
fn temperature_clause(text: &str) -> &str {
    text.split('，')
        .find(|c| numbers::scan(c).temperature_c.is_some())
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i32 {
        parse_day(s).unwrap()
    }

    fn screener(areas: &str) -> Screener {
        let mut set = RuleSet::default_set().unwrap();
        let extra: RuleSet = toml::from_str(areas).unwrap();
        set.areas = extra.areas;
        Screener::new(set).unwrap()
    }

    fn wuhan() -> Screener {
        screener(
            "[[area]]\nname = \"武汉\"\naliases = [\"武汉市\"]\nregion = \"420100\"\nfrom = \"2026-11-01\"\n",
        )
    }

    fn flags(s: &Screener, text: &str) -> Vec<String> {
        let signals = s.read("message:1", text, day("2026-11-22")).unwrap();
        s.evaluate(&signals)
            .into_iter()
            .filter(|h| h.flag)
            .map(|h| h.rule)
            .collect()
    }

    #[test]
    fn dates() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2000-03-01"), Some(11_017));
        assert_eq!(
            parse_day("2024-02-29").unwrap() + 1,
            parse_day("2024-03-01").unwrap()
        );
        assert_eq!(parse_day("2026-02-29"), None);
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn the_seed_case_is_flagged_with_its_evidence() {
        let s = wuhan();
        let signals = s
            .read(
                "message:7",
                "刚从武汉回来，发烧38.5度，不敢去医院",
                day("2026-11-22"),
            )
            .unwrap();
        let hits = s.evaluate(&signals);
        let hit = hits.iter().find(|h| h.rule == "suspected_case").unwrap();
        assert!(hit.flag);
        assert_eq!(hit.syndrome, "suspected");
        let fever = &hit.evidence[0];
        assert_eq!(fever.0, "fever");
        assert_eq!(fever.1.quote, "发烧38.5度");
        assert_eq!(fever.1.source, "message:7");
        let epi = &hit.evidence[1];
        assert_eq!(epi.0, "outbreak_area");
        assert_eq!(epi.1.quote, "刚从武汉回来");
    }

    #[test]
    fn negations_are_not_flagged() {
        let s = wuhan();
        assert!(flags(&s, "没有发烧，刚从武汉回来，有点咳嗽").contains(&"respiratory_epi".into()));
        assert!(flags(&s, "没有发烧，刚从武汉回来").is_empty());
        assert!(flags(&s, "发烧38.5度，没去过武汉").is_empty());
        assert!(flags(&s, "体温38.5，不发烧了，武汉回来的").is_empty());
        assert!(flags(&s, "发烧38度，最近没有接触过确诊病例").is_empty());
    }

    #[test]
    fn travel_outside_the_window_is_not_flagged() {
        let s = wuhan();
        assert!(flags(&s, "两个月前去过武汉，现在发烧38.5度").is_empty());
        assert!(flags(&s, "去年去过武汉，发烧了").is_empty());
        assert_eq!(
            flags(&s, "五天前从武汉回来，发烧38.5度"),
            vec!["suspected_case"]
        );
        // An outbreak declared over more than the window ago no longer counts.
        let over =
            screener("[[area]]\nname = \"武汉\"\nfrom = \"2026-09-01\"\nuntil = \"2026-10-01\"\n");
        assert!(flags(&over, "刚从武汉回来，发烧38.5度").is_empty());
        // Nor one that has not begun.
        let later = screener("[[area]]\nname = \"武汉\"\nfrom = \"2026-12-01\"\n");
        assert!(flags(&later, "刚从武汉回来，发烧38.5度").is_empty());
    }

    #[test]
    fn a_low_temperature_is_no_fever_and_the_threshold_is_the_sets() {
        let s = wuhan();
        assert!(flags(&s, "刚从武汉回来，体温37.1度").is_empty());
        assert_eq!(
            flags(&s, "刚从武汉回来，体温37.3度"),
            vec!["suspected_case"]
        );
    }

    #[test]
    fn contact_and_clusters() {
        let s = wuhan();
        assert_eq!(
            flags(&s, "家里有人确诊了，我现在发烧"),
            vec!["suspected_case"]
        );
        let cluster = flags(&s, "全家都拉肚子，从昨天开始");
        assert_eq!(cluster, vec!["cluster"]);
        assert!(flags(&s, "不是全家都拉肚子，就我一个").is_empty());
    }

    #[test]
    fn syndromes_are_counted_without_a_flag() {
        let s = wuhan();
        let rules = |text: &str| -> Vec<String> {
            let signals = s.read("x", text, day("2026-11-22")).unwrap();
            s.evaluate(&signals).into_iter().map(|h| h.rule).collect()
        };
        assert_eq!(rules("发烧38.6度，咳嗽，嗓子疼"), vec!["ili"]);
        assert_eq!(rules("拉肚子一天了"), vec!["diarrhoeal"]);
        assert_eq!(rules("发烧两天，身上起了很多红疹子"), vec!["rash_fever"]);
        assert!(rules("孩子手心脚心起了小水泡，嘴里起泡，发烧").contains(&"hfmd".to_owned()));
        assert!(rules("头疼").is_empty());
    }

    #[test]
    fn signals_add_up_across_pieces_and_facts() {
        let s = wuhan();
        let today = day("2026-11-22");
        let mut all = s.read("message:1", "我发烧了", today).unwrap();
        assert!(s.evaluate(&all).iter().all(|h| !h.flag));
        all.merge(&s.read("message:2", "上周三从武汉回来的", today).unwrap());
        let hits = s.evaluate(&all);
        let hit = hits.iter().find(|h| h.flag).unwrap();
        assert_eq!(hit.evidence[0].1.source, "message:1");
        assert_eq!(hit.evidence[1].1.source, "message:2");

        let facts = Facts {
            temperature_c: Some(38.2),
            travel: Some(("武汉市".into(), Some(today - 3))),
            ..Facts::default()
        };
        let signals = s.read_facts("intake", &facts, today);
        assert_eq!(signals.0["fever"].source, "intake.temperature_c");
        assert_eq!(s.evaluate(&signals)[0].rule, "suspected_case");
        let old = Facts {
            travel: Some(("武汉市".into(), Some(today - 30))),
            temperature_c: Some(38.2),
            ..Facts::default()
        };
        assert!(
            s.evaluate(&s.read_facts("intake", &old, today))
                .iter()
                .all(|h| !h.flag)
        );
    }

    #[test]
    fn a_bad_rule_set_names_each_field() {
        let set: RuleSet = toml::from_str(
            r#"
            fever_c = 42
            [[area]]
            name = ""
            region = "4201"
            from = "2026-11-31"
            [[rule]]
            id = "Bad Id"
            name = "x"
            all = ["fevr"]
            [[rule]]
            id = "empty"
            name = "y"
            "#,
        )
        .unwrap();
        let fields: Vec<String> = set
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "fever_c",
                "area[0].name",
                "area[0].region",
                "area[0].from",
                "rule[0].id",
                "rule[0].all[0]",
                "rule[1].all"
            ]
        );
        assert!(RuleSet::default_set().unwrap().validate().is_ok());
    }
}
