//! A learned second opinion on the department: multinomial naive Bayes over the characters and
//! character pairs of the complaint, trained when the knowledge base loads on the project's own
//! development cases (`data/cases.jsonl`, written for Yunyi and shipped with it).
//!
//! The rules understand what their words cover and nothing else; the model has seen how 600-odd
//! complaints were phrased and which department each belonged to, so it still has an opinion
//! when the rules found nothing ("吃东西塞牙" has no term, but 牙 and 塞牙 point to 口腔科). It
//! only ranks departments: red flags and urgency stay with the rules, which can be read and
//! checked line by line.

use std::collections::HashMap;

/// Additive smoothing: unseen features keep a small probability.
const ALPHA: f32 = 0.3;

/// A trained model.
#[derive(Debug, Default)]
pub struct Model {
    classes: Vec<String>,
    log_prior: Vec<f32>,
    /// Feature to its log probability in each class.
    log_likelihood: HashMap<String, Vec<f32>>,
    /// Log probability of a feature never seen in training, per class.
    unseen: Vec<f32>,
}

/// The features of normalized text: each CJK character and each pair of neighbouring CJK
/// characters (clause breaks end a pair).
pub fn features(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if c as u32 >= 0x3400 && c != '，' && c != '、' {
            out.push(c.to_string());
            if let Some(p) = prev {
                out.push(format!("{p}{c}"));
            }
            prev = Some(c);
        } else {
            prev = None;
        }
    }
    out
}

impl Model {
    /// Trains on (normalized text, department code) pairs.
    pub fn train<'a>(examples: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut classes: Vec<String> = Vec::new();
        let mut docs: Vec<usize> = Vec::new();
        let mut counts: HashMap<String, Vec<f32>> = HashMap::new();
        let mut totals: Vec<f32> = Vec::new();
        for (text, label) in examples {
            let class = match classes.iter().position(|c| c == label) {
                Some(i) => i,
                None => {
                    classes.push(label.to_owned());
                    docs.push(0);
                    totals.push(0.0);
                    for v in counts.values_mut() {
                        v.push(0.0);
                    }
                    classes.len() - 1
                }
            };
            docs[class] += 1;
            for f in features(text) {
                let n = classes.len();
                let row = counts.entry(f).or_insert_with(|| vec![0.0; n]);
                row[class] += 1.0;
                totals[class] += 1.0;
            }
        }
        let n_docs: usize = docs.iter().sum();
        let vocabulary = counts.len() as f32;
        let denominators: Vec<f32> = totals.iter().map(|t| t + ALPHA * vocabulary).collect();
        let log_likelihood = counts
            .into_iter()
            .map(|(f, row)| {
                let logs = row
                    .iter()
                    .zip(&denominators)
                    .map(|(n, d)| ((n + ALPHA) / d).ln())
                    .collect();
                (f, logs)
            })
            .collect();
        Self {
            log_prior: docs
                .iter()
                .map(|d| (*d as f32 / n_docs.max(1) as f32).ln())
                .collect(),
            unseen: denominators.iter().map(|d| (ALPHA / d).ln()).collect(),
            classes,
            log_likelihood,
        }
    }

    /// Department codes with their posterior probability, best first; empty when the text has
    /// no feature the model has seen (its opinion would be the prior alone).
    pub fn rank(&self, text: &str) -> Vec<(&str, f32)> {
        let feats = features(text);
        if !feats.iter().any(|f| self.log_likelihood.contains_key(f)) {
            return Vec::new();
        }
        let mut scores = self.log_prior.clone();
        for f in &feats {
            let row = self.log_likelihood.get(f).unwrap_or(&self.unseen);
            for (s, l) in scores.iter_mut().zip(row) {
                *s += l;
            }
        }
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        let mut ranked: Vec<(&str, f32)> = self
            .classes
            .iter()
            .map(String::as_str)
            .zip(exp.iter().map(|e| e / sum))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::{Model, features};

    #[test]
    fn features_are_characters_and_pairs_within_a_clause() {
        assert_eq!(features("牙疼，咳"), ["牙", "疼", "牙疼", "咳"]);
        assert!(features("abc 123").is_empty());
    }

    #[test]
    fn learns_which_words_go_where() {
        let m = Model::train([
            ("牙疼", "12"),
            ("牙龈出血", "12"),
            ("咳嗽有痰", "03.01"),
            ("老是咳", "03.01"),
        ]);
        assert_eq!(m.rank("塞牙")[0].0, "12");
        assert_eq!(m.rank("咳得厉害")[0].0, "03.01");
        assert!(m.rank("xyz").is_empty());
        let total: f32 = m.rank("牙").iter().map(|(_, p)| p).sum();
        assert!((total - 1.0).abs() < 1e-4);
    }
}
