//! What an article is (its steps, tags and the checks on what a doctor writes), who a reader
//! is for ranking, and how a feed ranks articles for them.

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::error::FieldError;

crate::text_enum! {
    /// The step of an article's latest version.
    pub enum ArticleStatus {
        /// Being written; nobody but its hospital's doctors sees it.
        Draft = "draft",
        /// Waiting for a second doctor's review.
        InReview = "in_review",
        /// The reviewer sent it back with a note.
        Returned = "returned",
        /// Approved: this version is what readers see.
        Approved = "approved",
    }
}

crate::text_enum! {
    #[derive(Default)]
    pub enum AgeGroup {
        #[default]
        All = "all",
        /// Under 14 (儿童).
        Child = "child",
        Adult = "adult",
        /// 60 and over (老年人).
        Elderly = "elderly",
    }
}

crate::text_enum! {
    /// The season an article is for (the feed prefers it then).
    #[derive(Default)]
    pub enum Season {
        #[default]
        All = "all",
        Spring = "spring",
        Summer = "summer",
        Autumn = "autumn",
        Winter = "winter",
    }
}

crate::text_enum! {
    /// Who a push reaches.
    pub enum Audience {
        /// Every patient living in a region (infection officers, for their city).
        Region = "region",
        /// The patients a hospital has seen (its administrators).
        Hospital = "hospital",
    }
}

crate::text_enum! {
    pub enum PushStatus {
        Sending = "sending",
        Done = "done",
    }
}

crate::text_enum! {
    pub enum Decision {
        Approved = "approved",
        Returned = "returned",
    }
}

impl AgeGroup {
    /// The group of someone born on `birth` on `today`.
    pub fn of(birth: NaiveDate, today: NaiveDate) -> AgeGroup {
        let age = today.years_since(birth).unwrap_or(0);
        match age {
            0..14 => AgeGroup::Child,
            14..60 => AgeGroup::Adult,
            _ => AgeGroup::Elderly,
        }
    }
}

impl Season {
    /// Meteorological seasons of the northern hemisphere (March–May is spring).
    pub fn of(day: NaiveDate) -> Season {
        match day.month() {
            3..=5 => Season::Spring,
            6..=8 => Season::Summer,
            9..=11 => Season::Autumn,
            _ => Season::Winter,
        }
    }
}

/// What a doctor writes: the text and its tags (lists separated by spaces or commas).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ArticleInput {
    pub title: String,
    /// One or two sentences for the feed.
    pub summary: String,
    /// Paragraphs separated by blank lines.
    pub body: String,
    /// ICD-10 code prefixes the article is about, e.g. `I10 E11`.
    #[serde(default)]
    pub conditions: String,
    /// A department's standard code, or empty.
    #[serde(default)]
    pub department: String,
    /// `all`, `child`, `adult` or `elderly`.
    #[serde(default)]
    pub age_group: Option<String>,
    /// GB/T 2260 region code prefixes, e.g. `4401` (Guangzhou), or empty for everywhere.
    #[serde(default)]
    pub regions: String,
    /// `all`, `spring`, `summer`, `autumn` or `winter`.
    #[serde(default)]
    pub season: Option<String>,
    /// Surveillance syndromes it gives advice on (`respiratory`, `diarrhoeal`, `rash_fever`).
    #[serde(default)]
    pub syndromes: String,
}

/// A checked article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidArticle {
    pub title: String,
    pub summary: String,
    pub body: String,
    pub tags: Tags,
}

/// An article's tags, each list normalized (upper-case codes, sorted, no repeats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    pub conditions: Vec<String>,
    pub department: String,
    pub age_group: AgeGroup,
    pub regions: Vec<String>,
    pub season: Season,
    pub syndromes: Vec<String>,
}

/// The syndromes surveillance counts (see `surveillance::screen`).
pub const SYNDROMES: [&str; 3] = ["respiratory", "diarrhoeal", "rash_fever"];

const MAX_TITLE: usize = 60;
const MAX_SUMMARY: usize = 200;
const MAX_BODY: usize = 20_000;
const MAX_TAGS: usize = 20;

/// A list field's items: split on spaces, commas and the Chinese comma.
pub fn split_list(s: &str) -> Vec<String> {
    let mut items: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    items.sort();
    items.dedup();
    items
}

/// An ICD-10 code or a prefix of one: a letter, then up to two digits, then optionally a dot
/// and up to two more (`J`, `J1`, `J11`, `J11.1`).
pub fn is_icd10_prefix(code: &str) -> bool {
    let mut chars = code.chars();
    let Some(letter) = chars.next() else {
        return false;
    };
    let rest: String = chars.collect();
    let (head, tail) = rest.split_once('.').unwrap_or((&rest, ""));
    letter.is_ascii_uppercase()
        && head.len() <= 2
        && head.chars().all(|c| c.is_ascii_digit())
        && (!rest.contains('.') || (head.len() == 2 && (1..=2).contains(&tail.len())))
        && tail.chars().all(|c| c.is_ascii_digit())
}

/// A GB/T 2260 region code or a prefix of one: 2, 4 or 6 digits.
pub fn is_region_prefix(code: &str) -> bool {
    matches!(code.len(), 2 | 4 | 6) && code.chars().all(|c| c.is_ascii_digit())
}

fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, min: usize, max: usize) -> String {
    let value = value.trim();
    let n = value.chars().count();
    if n < min || n > max {
        errors.push(FieldError::length(field, min, max));
    } else if let Err(e) = crate::text::check(field, value, max) {
        errors.push(e);
    }
    value.to_owned()
}

/// A list of codes, each checked by `valid`; `what` says what one looks like.
fn codes(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    upper: bool,
    valid: impl Fn(&str) -> bool,
    (what, key): (&str, &'static str),
) -> Vec<String> {
    let items = split_list(&if upper {
        value.to_ascii_uppercase()
    } else {
        value.to_owned()
    });
    if items.len() > MAX_TAGS {
        errors.push(
            FieldError::new(field, format!("at most {MAX_TAGS} items"))
                .localized("field.too_many", vec![("max", MAX_TAGS.to_string())]),
        );
    } else if let Some(bad) = items.iter().find(|c| !valid(c)) {
        errors.push(
            FieldError::new(field, format!("{bad:?} is not {what}"))
                .localized(key, vec![("item", bad.clone())]),
        );
    }
    items
}

fn choice<T: Copy>(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> T {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => default,
        Some(v) => parse(v).unwrap_or_else(|| {
            errors.push(
                FieldError::new(field, format!("must be one of {allowed}"))
                    .localized("field.choice", vec![("allowed", allowed.to_owned())]),
            );
            default
        }),
    }
}

impl ArticleInput {
    pub fn validate(&self) -> Result<ValidArticle, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = text(&mut errors, "title", &self.title, 2, MAX_TITLE);
        let summary = text(&mut errors, "summary", &self.summary, 2, MAX_SUMMARY);
        let body = text(&mut errors, "body", &self.body, 20, MAX_BODY);
        let conditions = codes(
            &mut errors,
            "conditions",
            &self.conditions,
            true,
            is_icd10_prefix,
            (
                "an ICD-10 code or prefix (e.g. I10, E11, J)",
                "education.field.conditions",
            ),
        );
        let department = self.department.trim().to_owned();
        if department.chars().count() > 20
            || !department
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            errors.push(
                FieldError::new(
                    "department",
                    "must be a department's standard code (letters, digits and dots) or empty",
                )
                .localized("education.field.department", vec![]),
            );
        }
        let regions = codes(
            &mut errors,
            "regions",
            &self.regions,
            false,
            is_region_prefix,
            (
                "a region code or prefix of 2, 4 or 6 digits (e.g. 44, 4401, 440106)",
                "education.field.regions",
            ),
        );
        let syndromes = codes(
            &mut errors,
            "syndromes",
            &self.syndromes,
            false,
            |s| SYNDROMES.contains(&s),
            (
                "a syndrome (respiratory, diarrhoeal, rash_fever)",
                "education.field.syndromes",
            ),
        );
        let age_group = choice(
            &mut errors,
            "age_group",
            self.age_group.as_deref(),
            AgeGroup::All,
            AgeGroup::parse,
            "all, child, adult, elderly",
        );
        let season = choice(
            &mut errors,
            "season",
            self.season.as_deref(),
            Season::All,
            Season::parse,
            "all, spring, summer, autumn, winter",
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidArticle {
            title,
            summary,
            body,
            tags: Tags {
                conditions,
                department,
                age_group,
                regions,
                season,
                syndromes,
            },
        })
    }
}

/// What a feed knows of its reader: the conditions diagnosed (ICD-10 codes), where they are,
/// their age group; and today's season.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    pub conditions: Vec<String>,
    pub region: Option<String>,
    pub age_group: Option<AgeGroup>,
    pub season: Season,
}

/// How well an article suits a reader: a diagnosed condition counts most, then the region,
/// then age group and season. Articles for another age group or another region only are not
/// shown to them at all (`None`): a child's vaccination guide is not an elderly reader's news,
/// a Tianhe outbreak notice not Jingzhou's.
pub fn score(tags: &Tags, reader: &Reader) -> Option<u32> {
    let mut score: u32 = 0;
    if tags
        .conditions
        .iter()
        .any(|c| reader.conditions.iter().any(|d| d.starts_with(c.as_str())))
    {
        score += 8;
    }
    if !tags.regions.is_empty() {
        match &reader.region {
            Some(r) if tags.regions.iter().any(|p| r.starts_with(p.as_str())) => score += 4,
            Some(_) => return None,
            None => {}
        }
    }
    match (tags.age_group, reader.age_group) {
        (AgeGroup::All, _) | (_, None) => {}
        (a, Some(b)) if a == b => score += 2,
        _ => return None,
    }
    if tags.season != Season::All {
        if tags.season == reader.season {
            score += 1;
        } else {
            score = score.saturating_sub(1);
        }
    }
    Some(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ArticleInput {
        ArticleInput {
            title: "高血压患者冬季注意事项".into(),
            summary: "天冷血压易升高，按时服药、监测血压。".into(),
            body: "冬季气温低，血管收缩，血压容易波动。请每天早晚各测一次血压，按时服药。".into(),
            conditions: "i10, I11 i10".into(),
            regions: "4401".into(),
            season: Some("winter".into()),
            ..ArticleInput::default()
        }
    }

    #[test]
    fn a_good_article_is_normalized() {
        let a = input().validate().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(a.tags.conditions, ["I10", "I11"]);
        assert_eq!(a.tags.regions, ["4401"]);
        assert_eq!(a.tags.season, Season::Winter);
        assert_eq!(a.tags.age_group, AgeGroup::All);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = ArticleInput {
            title: "x".into(),
            summary: String::new(),
            body: "short".into(),
            conditions: "hypertension".into(),
            department: "内科".into(),
            age_group: Some("teen".into()),
            regions: "44010".into(),
            season: Some("monsoon".into()),
            syndromes: "cough".into(),
        };
        let fields: Vec<String> = bad
            .validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "title",
                "summary",
                "body",
                "conditions",
                "department",
                "regions",
                "syndromes",
                "age_group",
                "season"
            ]
        );
    }

    #[test]
    fn icd10_prefixes() {
        for ok in ["J", "J1", "J11", "J11.1", "E11.65"] {
            assert!(is_icd10_prefix(ok), "{ok}");
        }
        for bad in ["", "11", "j11", "J111", "J1.1", "J11.", "J11.123", "高血压"] {
            assert!(!is_icd10_prefix(bad), "{bad}");
        }
    }

    #[test]
    fn a_feed_puts_the_reader_s_conditions_and_region_first() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default();
        let reader = Reader {
            conditions: vec!["I10".into()],
            region: Some("440106".into()),
            age_group: Some(AgeGroup::Adult),
            season: Season::of(day),
        };
        let tags = |c: &[&str], r: &[&str], a: AgeGroup, s: Season| Tags {
            conditions: c.iter().map(|x| x.to_string()).collect(),
            regions: r.iter().map(|x| x.to_string()).collect(),
            age_group: a,
            season: s,
            ..Tags::default()
        };
        let hypertension = tags(&["I1"], &[], AgeGroup::All, Season::Winter);
        let tianhe = tags(&[], &["4401"], AgeGroup::All, Season::All);
        let general = tags(&[], &[], AgeGroup::All, Season::Summer);
        let jingzhou = tags(&[], &["4210"], AgeGroup::All, Season::All);
        let children = tags(&[], &[], AgeGroup::Child, Season::All);
        assert_eq!(score(&hypertension, &reader), Some(9));
        assert_eq!(score(&tianhe, &reader), Some(4));
        assert_eq!(score(&general, &reader), Some(0));
        assert_eq!(score(&jingzhou, &reader), None);
        assert_eq!(score(&children, &reader), None);
        // Someone not signed in sees every article, unranked but for the season.
        assert_eq!(score(&jingzhou, &Reader::default()), Some(0));
    }

    #[test]
    fn age_groups_and_seasons() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        let today = d(2026, 12, 6);
        assert_eq!(AgeGroup::of(d(2023, 6, 1), today), AgeGroup::Child);
        assert_eq!(AgeGroup::of(d(2012, 12, 6), today), AgeGroup::Adult);
        assert_eq!(AgeGroup::of(d(1966, 12, 7), today), AgeGroup::Adult);
        assert_eq!(AgeGroup::of(d(1966, 12, 6), today), AgeGroup::Elderly);
        assert_eq!(Season::of(today), Season::Winter);
        assert_eq!(Season::of(d(2026, 4, 1)), Season::Spring);
    }
}

/// Where an article picture is served.
pub fn image_path(key: &str) -> String {
    format!("/education/images/{key}")
}

/// The picture a paragraph is, when it is only `![caption](/education/images/<key>)`: its
/// address and caption. Anything else is text (and shown as such, escaped).
pub fn picture(paragraph: &str) -> Option<(String, String)> {
    let rest = paragraph.trim().strip_prefix("![")?;
    let (caption, rest) = rest.split_once("](")?;
    let path = rest.strip_suffix(')')?;
    let key = path.strip_prefix("/education/images/")?;
    (crate::blob::is_key(key) && !caption.contains(']'))
        .then(|| (path.to_owned(), caption.to_owned()))
}

#[cfg(test)]
mod picture_tests {
    use super::*;

    #[test]
    fn only_a_whole_paragraph_naming_an_article_picture_is_one() {
        let key = crate::blob::key_of(b"x");
        let line = format!("![血压计的正确用法](/education/images/{key})");
        assert_eq!(
            picture(&line),
            Some((
                format!("/education/images/{key}"),
                "血压计的正确用法".to_owned()
            ))
        );
        assert_eq!(picture(&format!("看图 {line}")), None);
        assert_eq!(picture("![x](https://example.com/a.png)"), None);
        assert_eq!(picture("![x](/education/images/../../etc)"), None);
        assert_eq!(picture("普通的一段话"), None);
    }
}
