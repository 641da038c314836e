//! From normalized text to findings: which concepts the patient mentions and whether they
//! deny them.
//!
//! The text is cut into clauses at punctuation; each clause is segmented by jieba with every
//! knowledge-base term added to its dictionary (so "拉肚子" and "胸口闷痛" stay whole) and each
//! word is looked up. Patients also describe a body part and how it is troubled in their own
//! order and words ("耳朵听不太清楚", "左边身子没劲", "说话含含糊糊的"): a body site and a quality
//! word in one clause make the site's concept for that quality (qualities.toml); a clause with a
//! quality and no site speaks of the previous clause's site ("胸口不疼，就是有点闷").
//!
//! A concept is denied when a negation word (不, 没有, 无, 否认 …) comes shortly before it in the
//! same clause ("不发烧", "没有明显咳嗽", "无发热、咳嗽"), unless a word that turns to a new thought
//! (但是, 还 …) stands between, or when a negation ends the clause right after it ("出汗也没有").

use jieba_rs::Jieba;

use crate::knowledge::{Kind, Knowledge};

/// A concept found in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub concept: usize,
    /// The words that said it.
    pub text: String,
    pub negated: bool,
    /// Said of the past and over ("去年晕倒过一次", "小时候抽搐过"): part of the history,
    /// not of what is wrong now.
    pub past: bool,
}

/// Words that deny what follows them in the same clause.
const NEGATIONS: [&str; 17] = [
    "不",
    "没",
    "没有",
    "无",
    "未",
    "否认",
    "不是",
    "并不",
    "并没有",
    "从不",
    "从没",
    "从来不",
    "从来没有",
    "没什么",
    "不太",
    "不怎么",
    "没怎么",
];

/// Words that start a new thought: a negation before them does not reach past them.
const TURNS: [&str; 12] = [
    "但", "但是", "可是", "不过", "却", "还", "还有", "而且", "并且", "同时", "然后", "就是",
];

/// Words after which a negation at the end of a clause denies what came before ("出汗也没有",
/// "发烧倒没有").
const FILLERS: [&str; 8] = ["也", "都", "倒", "并", "倒是", "还", "好像", "是"];

/// Negations that deny backwards when they end a clause.
const TRAILING_NEGATIONS: [&str; 5] = ["没有", "没", "无", "不明显", "没感觉"];

/// Degree words a one-character quality may carry in the same word ("好痒", "有点麻", "有血").
const DEGREES: [&str; 15] = [
    "好", "很", "太", "特别", "非常", "有点", "有些", "挺", "老", "更", "巨", "超", "比较", "一直",
    "有",
];

/// Endings a one-character quality may carry in the same word ("肿了", "红红的").
const ENDINGS: [&str; 5] = ["了", "的", "得", "啊", "呀"];

/// How many words may stand between a negation and what it denies ("没有明显的发烧").
const NEGATION_REACH: usize = 3;

/// The segmenter with the knowledge base's terms and the words above in its dictionary.
pub fn segmenter(k: &Knowledge) -> Jieba {
    let mut jieba = Jieba::new();
    // A frequency well above any common word's makes jieba keep our terms whole.
    for term in k.terms.keys() {
        jieba.add_word(term, Some(2_000_000), None);
    }
    for w in NEGATIONS.iter().chain(&TURNS) {
        jieba.add_word(w, Some(100_000), None);
    }
    for q in &k.quality_words {
        jieba.add_word(&q.word, Some(50_000), None);
    }
    jieba
}

/// Finds the concepts in normalized text.
pub fn findings(k: &Knowledge, jieba: &Jieba, text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut last_site = None;
    // Something from the past that is back or worse now is not history ("以前就有胸痛，最近
    // 加重"): then no clause is read as the past.
    let recurs = RECURRENCE.iter().any(|w| text.contains(w));
    for clause in text.split('，').filter(|c| !c.is_empty()) {
        let start = found.len();
        last_site = Clause::read(k, jieba, clause).findings(k, last_site, &mut found);
        if !recurs {
            for f in &mut found[start..] {
                // Who the patient is (老人, 孩子) is not over with the clause's time.
                f.past = k.concepts[f.concept].kind != Kind::Context && is_past(clause, &f.text);
            }
        }
    }
    found
}

/// Words that place a clause in the past ("去年", "小时候", "三年前").
const PAST: [&str; 16] = [
    "去年",
    "前年",
    "以前",
    "之前",
    "从前",
    "小时候",
    "曾经",
    "年轻时",
    "年轻的时候",
    "前几年",
    "那年",
    "当年",
    "过去",
    "上次",
    "年前",
    "个月前",
];

/// Words that say it is happening now, in the same clause ("以前就有，现在还疼").
const NOW: [&str; 13] = [
    "现在",
    "目前",
    "还",
    "又",
    "一直",
    "开始",
    "今天",
    "刚才",
    "刚刚",
    "正在",
    "最近",
    "这几天",
    "反复",
];

/// Words anywhere in the complaint that bring something from the past back into the present.
const RECURRENCE: [&str; 9] = [
    "又",
    "再次",
    "加重",
    "复发",
    "犯了",
    "还有",
    "还是",
    "又开始",
    "这次",
];

/// Whether a finding said in this clause is over: the clause is set in the past ("去年晕倒过",
/// "三年前中风"), or the words are an experience marked with 过 ("抽搐过", "有过胸痛"), and
/// nothing in the clause says it is still going on. "三天前开始胸痛" is not the past: a few days
/// ago is when it began, and 开始 says so.
fn is_past(clause: &str, words: &str) -> bool {
    if NOW.iter().any(|w| clause.contains(w)) {
        return false;
    }
    let set_in_past = PAST.iter().any(|w| clause.contains(w));
    let experienced = clause
        .find(words)
        .is_some_and(|at| clause[at + words.len()..].starts_with('过'))
        || ["有过", "得过", "患过", "发生过", "出现过"]
            .iter()
            .any(|w| clause.contains(w));
    set_in_past || experienced
}

/// A quality said in a clause.
#[derive(Debug, Clone, Copy)]
struct QualityHit {
    quality: usize,
    severe: bool,
    negated: bool,
}

/// What one clause says, before sites and qualities are put together.
struct Clause<'t> {
    /// Concepts said outright: (concept, words, negated, word index).
    terms: Vec<(usize, &'t str, bool, usize)>,
    /// Body sites: (site concept, words, negated).
    sites: Vec<(usize, &'t str, bool)>,
    qualities: Vec<QualityHit>,
}

impl<'t> Clause<'t> {
    fn read(k: &Knowledge, jieba: &Jieba, clause: &'t str) -> Self {
        let words = jieba.cut(clause, true);
        let mut terms = Vec::new();
        let mut sites = Vec::new();
        let mut qualities = Vec::new();
        // Byte ranges of words that are concept terms: quality words inside them are part of
        // the term ("视力下降" is not 下降 of memory).
        let mut term_spans: Vec<(usize, usize)> = Vec::new();
        // Byte ranges of words read as qualities whole (not to be read again inside).
        let mut quality_spans: Vec<(usize, usize)> = Vec::new();
        let mut negation_at: Option<usize> = None;
        for (i, word) in words.iter().enumerate() {
            let w = word.word;
            if TURNS.contains(&w) {
                negation_at = None;
                continue;
            }
            if NEGATIONS.contains(&w) {
                negation_at = Some(i);
                continue;
            }
            let negated = negation_at.is_some_and(|n| i - n <= NEGATION_REACH);
            if let Some(hit) = word_quality(k, w, negated) {
                qualities.push(hit);
                quality_spans.push((word.byte_start, word.byte_end));
                continue;
            }
            let (hits, negated) = match lookup(k, w) {
                hits if !hits.is_empty() => (hits, negated),
                // jieba glued a negation to a term ("没发烧" as one word): split it here.
                _ => match NEGATIONS
                    .iter()
                    .filter_map(|n| w.strip_prefix(n))
                    .find(|rest| k.terms.contains_key(*rest))
                {
                    Some(rest) => (lookup(k, rest), true),
                    None => (Vec::new(), negated),
                },
            };
            if !hits.is_empty() {
                term_spans.push((word.byte_start, word.byte_end));
            }
            for (concept, text) in hits {
                let kind = k.concepts[concept].kind;
                if kind == Kind::Site {
                    sites.push((concept, text, negated));
                } else {
                    // "疼得睡不着": a severity that is also a pain word.
                    if kind == Kind::Modifier
                        && (text.contains('疼') || text.contains('痛'))
                        && let Some(pain) = k.qualities.iter().position(|q| q.id == "pain")
                    {
                        qualities.push(QualityHit {
                            quality: pain,
                            severe: false,
                            negated,
                        });
                    }
                    terms.push((concept, text, negated, i));
                }
            }
        }
        long_qualities(
            k,
            clause,
            &words,
            &term_spans,
            quality_spans,
            &mut qualities,
        );
        // "出汗也没有": a negation ending the clause denies what the few words before it said.
        if let Some(last) = words.len().checked_sub(1)
            && TRAILING_NEGATIONS.contains(&words[last].word)
        {
            for term in &mut terms {
                let between = words.get(term.3 + 1..last).unwrap_or_default();
                if between.len() <= 2 && between.iter().all(|w| FILLERS.contains(&w.word)) {
                    term.2 = true;
                }
            }
        }
        Self {
            terms,
            sites,
            qualities,
        }
    }

    /// Adds the clause's findings; returns the body site it spoke of, for the next clause.
    fn findings(
        mut self,
        k: &'t Knowledge,
        last_site: Option<usize>,
        found: &mut Vec<Found>,
    ) -> Option<usize> {
        let start = found.len();
        for &(concept, text, negated, _) in &self.terms {
            found.push(Found {
                concept,
                text: text.to_owned(),
                negated,
                past: false,
            });
        }
        // A site named, else the site of a finding said here ("白带多" → 阴道), else, for a
        // quality with none, the previous clause's.
        let said_site = self
            .terms
            .iter()
            .filter(|t| !t.2)
            .find_map(|t| k.concepts[t.0].site.as_deref())
            .and_then(|id| k.concept_index(id));
        let own_site = self.sites.first().map(|s| s.0).or(said_site);
        if self.sites.is_empty()
            && !self.qualities.is_empty()
            && let Some(site) = said_site.or(last_site)
        {
            self.sites
                .push((site, k.concepts[site].name.as_str(), false));
        }
        for hit in &self.qualities {
            let quality = &k.qualities[hit.quality];
            let mut meant: Vec<(usize, String, bool)> = self
                .sites
                .iter()
                .filter_map(|&(site, text, site_negated)| {
                    let concept = k.concepts[site].with.get(&quality.id)?;
                    let concept = k.concept_index(concept)?;
                    Some((concept, text.to_owned(), site_negated || hit.negated))
                })
                .collect();
            if meant.is_empty()
                && let Some(alone) = quality.alone.as_deref().and_then(|id| k.concept_index(id))
                // A vague "疼" adds nothing to a clause that said what hurts ("头痛得厉害").
                && !(k.concepts[alone].tags.iter().any(|t| t == "vague")
                    && self.terms.iter().any(|t| !t.2))
            {
                meant.push((alone, quality.id.clone(), hit.negated));
            }
            if hit.severe
                && !hit.negated
                && let Some(severe) = k.concept_index("severe")
            {
                meant.push((severe, quality.id.clone(), false));
            }
            for (concept, text, negated) in meant {
                // Said outright in the clause already (胸口疼 is a term and 胸口 + 疼).
                if found[start..]
                    .iter()
                    .any(|f| f.concept == concept && f.negated == negated)
                {
                    continue;
                }
                found.push(Found {
                    concept,
                    text,
                    negated,
                    past: false,
                });
            }
        }
        own_site.or(if self.qualities.is_empty() {
            last_site
        } else {
            None
        })
    }
}

/// A whole word that is a quality ("疼得厉害", "大舌头"), or a one-character quality with a
/// degree before or an ending after it ("痒", "好痒", "肿了"), or either after a negation glued
/// to it ("不疼").
fn word_quality(k: &Knowledge, word: &str, negated: bool) -> Option<QualityHit> {
    let strip = |w: &str| -> Option<(usize, bool)> {
        if let Some(q) = k.quality_words.iter().find(|q| q.word == w) {
            return Some((q.quality, q.severe));
        }
        let mut core = w;
        if let Some(rest) = DEGREES.iter().find_map(|d| core.strip_prefix(d)) {
            core = rest;
        }
        if let Some(rest) = ENDINGS.iter().find_map(|e| core.strip_suffix(e)) {
            core = rest;
        }
        k.quality_words
            .iter()
            .find(|q| q.chars == 1 && q.word == core)
            .map(|q| (q.quality, q.severe))
    };
    if let Some((quality, severe)) = strip(word) {
        return Some(QualityHit {
            quality,
            severe,
            negated,
        });
    }
    let rest = ["不", "没", "无"]
        .iter()
        .find_map(|n| word.strip_prefix(n))?;
    let (quality, severe) = strip(rest)?;
    Some(QualityHit {
        quality,
        severe,
        negated: true,
    })
}

/// Quality words of two or more characters anywhere in the clause, longest first, not inside
/// a concept's term and not overlapping a longer quality word already taken.
fn long_qualities(
    k: &Knowledge,
    clause: &str,
    words: &[jieba_rs::Token<'_>],
    term_spans: &[(usize, usize)],
    mut taken: Vec<(usize, usize)>,
    qualities: &mut Vec<QualityHit>,
) {
    for q in k.quality_words.iter().filter(|q| q.chars >= 2) {
        for (at, _) in clause.match_indices(q.word.as_str()) {
            let end = at + q.word.len();
            let overlaps = taken.iter().any(|&(s, e)| at < e && s < end);
            let inside_term = term_spans.iter().any(|&(s, e)| s <= at && end <= e);
            if overlaps || inside_term {
                continue;
            }
            taken.push((at, end));
            qualities.push(QualityHit {
                quality: q.quality,
                severe: q.severe,
                negated: negated_before(clause, words, at),
            });
        }
    }
    // "疼得在地上打滚", "痛得直冒汗", "疼得说不出话": a pain whose consequence after 得 is
    // distress of the whole body is severe, however the consequence is phrased — the slot is
    // matched by its core (滚, 汗, 哭 …), not by a list of whole phrases. A mild one ("疼得不厉害")
    // or one that only limits a task ("疼得下不了楼") is not.
    if let Some(pain) = k.qualities.iter().position(|q| q.id == "pain") {
        for marker in ["疼得", "痛得"] {
            for (at, _) in clause.match_indices(marker) {
                let rest = &clause[at + marker.len()..];
                let mild = ["不", "还", "轻", "没", "一般", "有点", "有些", "稍"]
                    .iter()
                    .any(|m| rest.starts_with(m));
                let distress = DISTRESS.iter().any(|d| rest.contains(d));
                if !mild && distress && !negated_before(clause, words, at) {
                    qualities.push(QualityHit {
                        quality: pain,
                        severe: true,
                        negated: false,
                    });
                }
            }
        }
    }
}

/// The cores of consequences that make a pain severe ("疼得在地上打滚", "痛得直冒冷汗").
const DISTRESS: [&str; 19] = [
    "滚",
    "汗",
    "直不起",
    "站不起",
    "说不出",
    "哭",
    "叫",
    "喊",
    "睡不着",
    "受不了",
    "要命",
    "死",
    "晕",
    "吐",
    "抖",
    "喘",
    "动不了",
    "不敢动",
    "抽",
];

/// Whether a negation stands just before byte `at`: in the two characters before it ("不太清楚"
/// is not a denial, "听不清" carries its own 不), or as a word within reach before it.
fn negated_before(clause: &str, words: &[jieba_rs::Token<'_>], at: usize) -> bool {
    let before: Vec<char> = clause[..at].chars().rev().take(2).collect();
    if before
        .first()
        .is_some_and(|c| matches!(c, '不' | '没' | '无' | '未'))
    {
        return true;
    }
    let Some(index) = words.iter().position(|w| w.byte_end > at) else {
        return false;
    };
    let from = index.saturating_sub(NEGATION_REACH + 1);
    let mut negated = false;
    for w in &words[from..index] {
        if TURNS.contains(&w.word) {
            negated = false;
        } else if NEGATIONS.contains(&w.word) {
            negated = true;
        }
    }
    negated
}

/// The concepts in one word: the word itself, or (for words jieba did not cut into our terms)
/// the longest terms inside it, left to right.
fn lookup<'w>(k: &Knowledge, word: &'w str) -> Vec<(usize, &'w str)> {
    if let Some(&c) = k.terms.get(word) {
        return vec![(c, word)];
    }
    // "尿得很慢": a one-character term with an ending jieba kept on it.
    if let Some(core) = ENDINGS.iter().find_map(|e| word.strip_suffix(e))
        && let Some(&c) = k.terms.get(core)
    {
        return vec![(c, core)];
    }
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    if chars.len() < 2 {
        return Vec::new();
    }
    let mut hits = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let longest = (2..=k.longest_term.min(chars.len() - i))
            .rev()
            .find_map(|n| {
                let from = chars[i].0;
                let to = chars.get(i + n).map_or(word.len(), |&(b, _)| b);
                let piece = &word[from..to];
                k.terms.get(piece).map(|&c| (c, piece, n))
            });
        match longest {
            Some((c, piece, n)) => {
                hits.push((c, piece));
                i += n;
            }
            None => i += 1,
        }
    }
    hits
}
