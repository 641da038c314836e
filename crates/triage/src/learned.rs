//! A learned second opinion on the department: multinomial naive Bayes over the characters and
//! character pairs of the complaint, trained when the knowledge base loads on the project's own
//! development cases (`data/cases.jsonl`, written for Yunyi and shipped with it).
//!
//! The rules understand what their words cover and nothing else; the model has seen how 600-odd
//! complaints were phrased and which department each belonged to, so it still has an opinion
//! when the rules found nothing ("吃东西塞牙" has no term, but 牙 and 塞牙 point to 口腔科). It
//! only ranks departments: red flags and urgency stay with the rules, which can be read and
//! checked line by line.
//!
//! The same model, trained on "emergency or not", is a safety net under the red-flag rules:
//! when it finds a complaint like the emergencies it has seen but no rule fired, the triage
//! says so, asks for a same-day visit at least, and asks the red-flag checklist (decide.rs).

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
impl Model {
    /// The posterior probability of `class`, or `None` when the text has no feature the model
    /// has seen or the class is unknown.
    pub fn probability(&self, text: &str, class: &str) -> Option<f32> {
        self.rank(text)
            .into_iter()
            .find(|(c, _)| *c == class)
            .map(|(_, p)| p)
    }
}

/// A binary logistic regression over the same features, for the emergency detector: better
/// calibrated than naive Bayes, whose probabilities crowd at 0 and 1 (the cross-validation in
/// decide.rs compares them). Trained by full-batch gradient descent with L2 regularization, in
/// a fixed order, so the same cases always give the same model.
#[derive(Debug, Default)]
pub struct Logistic {
    weights: HashMap<String, f32>,
    bias: f32,
}

/// Passes over the training cases.
const EPOCHS: usize = 300;
const LEARNING_RATE: f32 = 0.5;
/// L2 penalty per feature weight.
const L2: f32 = 0.001;

impl Logistic {
    /// Trains on (features, is positive) pairs.
    pub fn train(examples: &[(Vec<String>, bool)]) -> Self {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let rows: Vec<(Vec<usize>, f32)> = examples
            .iter()
            .map(|(feats, positive)| {
                let mut ids: Vec<usize> = feats
                    .iter()
                    .map(|f| {
                        let next = index.len();
                        *index.entry(f.as_str()).or_insert(next)
                    })
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                (ids, if *positive { 1.0 } else { 0.0 })
            })
            .collect();
        let mut w = vec![0.0f32; index.len()];
        let mut bias = 0.0f32;
        let n = rows.len().max(1) as f32;
        let mut grad = vec![0.0f32; w.len()];
        for _ in 0..EPOCHS {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let mut grad_bias = 0.0;
            for (ids, y) in &rows {
                let z: f32 = bias + ids.iter().map(|&i| w[i]).sum::<f32>();
                let err = sigmoid(z) - y;
                grad_bias += err;
                for &i in ids {
                    grad[i] += err;
                }
            }
            bias -= LEARNING_RATE * grad_bias / n;
            for (wi, gi) in w.iter_mut().zip(&grad) {
                *wi -= LEARNING_RATE * (gi / n + L2 * *wi);
            }
        }
        let weights = index
            .into_iter()
            .map(|(f, i)| (f.to_owned(), w[i]))
            .collect();
        Self { weights, bias }
    }

    /// The probability that these features are of the positive class.
    pub fn probability(&self, feats: &[String]) -> f32 {
        let mut seen: Vec<&str> = feats.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        let z = self.bias
            + seen
                .iter()
                .filter_map(|f| self.weights.get(*f))
                .sum::<f32>();
        sigmoid(z)
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
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
