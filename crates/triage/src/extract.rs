//! From normalized text to findings: which concepts the patient mentions and whether they
//! deny them.
//!
//! The text is cut into clauses at punctuation and at words that turn to a new thought (但是,
//! 还, 而且 …), each clause is segmented by jieba with every knowledge-base term added to its
//! dictionary (so "拉肚子" and "胸口闷痛" stay whole), and each word is looked up. A concept is
//! denied when a negation word (不, 没有, 无, 否认 …) comes shortly before it in the same clause
//! ("不发烧", "没有明显咳嗽", "无发热、咳嗽"). A body site and a pain word in one clause make
//! that site's pain ("胸口这里有点闷痛" → 胸痛).

use jieba_rs::Jieba;

use crate::knowledge::{Kind, Knowledge};

/// A concept found in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub concept: usize,
    /// The words that said it.
    pub text: String,
    pub negated: bool,
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

/// Pain words that turn a body site into its pain concept.
const PAIN_WORDS: [&str; 20] = [
    "疼",
    "痛",
    "疼痛",
    "闷痛",
    "胀痛",
    "刺痛",
    "绞痛",
    "隐痛",
    "酸痛",
    "作痛",
    "肿痛",
    "剧痛",
    "疼得",
    "痛得",
    "酸",
    "不舒服",
    "难受",
    "发炎",
    "疼死",
    "痛死",
];

/// Words after which a negation at the end of a clause denies what came before ("出汗也没有",
/// "发烧倒没有").
const FILLERS: [&str; 8] = ["也", "都", "倒", "并", "倒是", "还", "好像", "是"];

/// Negations that deny backwards when they end a clause.
const TRAILING_NEGATIONS: [&str; 5] = ["没有", "没", "无", "不明显", "没感觉"];

/// Words of tightness: with the chest they make chest tightness ("胸口有点闷").
const TIGHT_WORDS: [&str; 6] = ["闷", "发闷", "憋", "堵", "憋得慌", "闷得慌"];

/// How many words may stand between a negation and what it denies ("没有明显的发烧").
const NEGATION_REACH: usize = 3;

/// The segmenter with the knowledge base's terms and the words above in its dictionary.
pub fn segmenter(k: &Knowledge) -> Jieba {
    let mut jieba = Jieba::new();
    // A frequency well above any common word's makes jieba keep our terms whole.
    for term in k.terms.keys() {
        jieba.add_word(term, Some(2_000_000), None);
    }
    for w in NEGATIONS
        .iter()
        .chain(&TURNS)
        .chain(&PAIN_WORDS)
        .chain(&TIGHT_WORDS)
    {
        jieba.add_word(w, Some(100_000), None);
    }
    jieba
}

/// Finds the concepts in normalized text.
pub fn findings(k: &Knowledge, jieba: &Jieba, text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    // The body site of the previous clause: "胸口不疼，就是有点闷" speaks of the chest twice.
    let mut last_site = None;
    for clause in text.split('，').filter(|c| !c.is_empty()) {
        last_site = clause_findings(k, jieba, clause, last_site, &mut found);
    }
    found
}

/// Adds the clause's findings; returns the body site it spoke of, if any.
fn clause_findings(
    k: &Knowledge,
    jieba: &Jieba,
    clause: &str,
    last_site: Option<usize>,
    found: &mut Vec<Found>,
) -> Option<usize> {
    let words = jieba.cut(clause, true);
    // Where (in words) each finding of this clause was said, for trailing negations.
    let mut said_at: Vec<(usize, usize)> = Vec::new();
    // Index (in words) of the last negation still in reach, reset by a turn.
    let mut negation_at: Option<usize> = None;
    let mut sites: Vec<(usize, bool, &str)> = Vec::new();
    let mut pain_at: Option<(usize, bool)> = None;
    let mut tight_at: Option<(usize, bool)> = None;
    let mut explicit: Vec<usize> = Vec::new();
    let start = found.len();
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
        if PAIN_WORDS.contains(&w) {
            pain_at.get_or_insert((i, negated));
            continue;
        }
        if TIGHT_WORDS.contains(&w) {
            tight_at.get_or_insert((i, negated));
            continue;
        }
        let mut hits = lookup(k, w);
        // jieba glued a negation to a term ("没发烧" as one word): split it here.
        let mut negated_here = negated;
        if hits.is_empty()
            && let Some(rest) = NEGATIONS
                .iter()
                .filter_map(|n| w.strip_prefix(n))
                .find(|rest| k.terms.contains_key(*rest))
        {
            hits = lookup(k, rest);
            negated_here = true;
        }
        for (concept, text) in hits {
            let c = &k.concepts[concept];
            if c.kind == Kind::Site {
                sites.push((concept, negated_here, text));
            } else {
                // "疼得打滚", "很痛": a severity that is also a pain word.
                if c.kind == Kind::Modifier && (text.contains('疼') || text.contains('痛')) {
                    pain_at.get_or_insert((i, negated_here));
                }
                explicit.push(concept);
                said_at.push((found.len(), i));
                found.push(Found {
                    concept,
                    text: text.to_owned(),
                    negated: negated_here,
                });
            }
        }
    }
    // "出汗也没有": a negation ending the clause denies what the few words before it said.
    if let Some(last) = words.len().checked_sub(1)
        && TRAILING_NEGATIONS.contains(&words[last].word)
    {
        for &(index, at) in &said_at {
            let between = &words[at + 1..last];
            if between.len() <= 2 && between.iter().all(|w| FILLERS.contains(&w.word)) {
                found[index].negated = true;
            }
        }
    }
    // Without a site of its own, a pain or tightness word speaks of the previous clause's site.
    let this_site = sites.first().map(|s| s.0);
    if sites.is_empty()
        && let Some(site) = last_site
        && (pain_at.is_some() || tight_at.is_some())
    {
        sites.push((site, false, k.concepts[site].name.as_str()));
    }
    // A site with a pain word becomes its pain, unless the clause already named that pain;
    // the chest with a tightness word (闷, 憋) becomes chest tightness.
    for (site, site_negated, text) in sites {
        let target = |which: Option<&str>, at: Option<(usize, bool)>| {
            let concept = which.and_then(|id| k.concept_index(id))?;
            at.map(|(_, negated)| (concept, negated))
        };
        let c = &k.concepts[site];
        for (concept, word_negated) in [
            target(c.pain.as_deref(), pain_at),
            target(c.tight.as_deref(), tight_at),
        ]
        .into_iter()
        .flatten()
        {
            if explicit.contains(&concept) || found[start..].iter().any(|f| f.concept == concept) {
                continue;
            }
            found.push(Found {
                concept,
                text: text.to_owned(),
                negated: site_negated || word_negated,
            });
        }
    }
    this_site.or(if pain_at.is_some() || tight_at.is_some() {
        None
    } else {
        last_site
    })
}

/// The concepts in one word: the word itself, or (for words jieba did not cut into our terms)
/// the longest terms inside it, left to right.
fn lookup<'w>(k: &Knowledge, word: &'w str) -> Vec<(usize, &'w str)> {
    if let Some(&c) = k.terms.get(word) {
        return vec![(c, word)];
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
