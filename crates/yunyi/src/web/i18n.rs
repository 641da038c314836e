//! Languages and the message catalog. Simplified Chinese is the default; English is selectable
//! with a cookie (set by the language switch) or by the browser's Accept-Language.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::{HeaderMap, header};

pub const LANG_COOKIE: &str = "yunyi_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The short form used in the switch URL and cookie.
    pub fn short(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn from_short(s: &str) -> Option<Self> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Cookie first (an explicit choice), then Accept-Language by quality, then Chinese.
    /// The language the request's `Accept-Language` asks for, if it names one we speak.
    pub fn asked_for(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::from_accept_language)
    }

    pub fn negotiate(headers: &HeaderMap) -> Self {
        if let Some(lang) = cookie_value(headers, LANG_COOKIE).and_then(|v| Self::from_short(&v)) {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::from_accept_language)
            .unwrap_or_default()
    }

    fn from_accept_language(value: &str) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The message for `key`; a missing key shows itself so it is noticed, not hidden.
    pub fn t(self, key: &str) -> &'static str {
        let Some((zh, en)) = CATALOG.get(key) else {
            tracing::warn!(key, "missing i18n key");
            return "⟨missing text⟩";
        };
        match self {
            Lang::Zh => zh.as_str(),
            Lang::En => en.as_str(),
        }
    }

    /// The message for `key` with its `{name}` placeholders filled.
    pub fn t_with(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// The message for `key`, if the catalog has it (for names that may be the user's own,
    /// such as a syndrome an officer defined).
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        CATALOG.get(key).map(|(zh, en)| match self {
            Lang::Zh => zh.as_str(),
            Lang::En => en.as_str(),
        })
    }

    /// Picks the Chinese or English form of a name stored in both.
    pub fn pick<'a>(self, zh: &'a str, en: Option<&'a str>) -> &'a str {
        match (self, en) {
            (Lang::En, Some(en)) if !en.is_empty() => en,
            _ => zh,
        }
    }
}

/// Reads one cookie from the request headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The catalogues, one file per language, built into the binary.
const ZH: &str = include_str!("../../i18n/zh.toml");
const EN: &str = include_str!("../../i18n/en.toml");

/// Reads one catalogue: a flat TOML table of strings.
fn parse_catalogue(name: &str, text: &str) -> Result<HashMap<String, String>, String> {
    let table: toml::Table = text.parse().map_err(|e| format!("{name}: {e}"))?;
    table
        .into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k, s)),
            other => Err(format!("{name}: {k} is a {}, not text", other.type_str())),
        })
        .collect()
}

/// key → (简体中文, English). A key missing in one language falls back to the other (the
/// test `catalogues_have_the_same_keys` keeps that from happening).
static CATALOG: LazyLock<HashMap<String, (String, String)>> = LazyLock::new(|| {
    let read = |name: &str, text: &str| {
        parse_catalogue(name, text).unwrap_or_else(|e| {
            tracing::error!(error = %e, "an i18n catalogue cannot be read");
            HashMap::new()
        })
    };
    let zh = read("zh.toml", ZH);
    let mut en = read("en.toml", EN);
    let mut catalog: HashMap<String, (String, String)> = zh
        .into_iter()
        .map(|(k, z)| {
            let e = en.remove(&k).unwrap_or_else(|| z.clone());
            (k, (z, e))
        })
        .collect();
    catalog.extend(en.into_iter().map(|(k, e)| (k, (e.clone(), e))));
    catalog
});

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn catalogues_have_the_same_keys() {
        let zh = parse_catalogue("zh.toml", ZH).unwrap();
        let en = parse_catalogue("en.toml", EN).unwrap();
        for key in zh.keys() {
            assert!(en.contains_key(key), "{key} is in zh.toml, not in en.toml");
        }
        for key in en.keys() {
            assert!(zh.contains_key(key), "{key} is in en.toml, not in zh.toml");
        }
        for (key, text) in zh.iter().chain(en.iter()) {
            assert!(!text.is_empty(), "{key} is empty");
        }
        for code in crate::error::ErrorCode::ALL {
            assert!(CATALOG.contains_key(format!("error.{}", code.slug()).as_str()));
        }
    }

    /// The keys code and templates build at run time (`page.t(format!("rel.{r}"))`), with
    /// every value they take: listed here so that each is checked to exist.
    const DYNAMIC: &[(&str, &[&str])] = &[
        ("admin_doctors.status.{}", &["active", "none", "suspended"]),
        (
            "appointments.status.{}",
            &["booked", "cancelled", "checked_in", "completed", "no_show"],
        ),
        ("audit.outcome.{}", &["denied", "failure", "success"]),
        ("booking.weekday.{}", &["1", "2", "3", "4", "5", "6", "7"]),
        (
            "care.package.{}",
            &["basic", "children", "chronic", "elderly"],
        ),
        (
            "care.role.{}",
            &[
                "dietitian",
                "health_manager",
                "lead",
                "nurse",
                "pharmacist",
                "specialist",
            ],
        ),
        ("care.status.{}", &["active", "ended"]),
        ("claims.kind.{}", &["account", "family"]),
        (
            "claims.status.{}",
            &["approved", "expired", "pending", "rejected"],
        ),
        (
            "consult.kind.{}",
            &["consultation", "counselling", "follow_up", "free_clinic"],
        ),
        (
            "consult.phq_{}",
            &["0", "1", "2", "3", "down", "interest", "intro"],
        ),
        (
            "group.category.{}",
            &["advertising", "contact", "drug_sales", "other", "self_harm"],
        ),
        (
            "group.held.{}",
            &["advertising", "contact", "drug_sales", "other", "self_harm"],
        ),
        ("group.role.{}", &["host", "member", "moderator"]),
        (
            "group.status.{}",
            &[
                "active",
                "declined",
                "held",
                "hidden",
                "invited",
                "left",
                "removed",
                "requested",
                "shown",
            ],
        ),
        (
            "reason.{}",
            &[
                "account-exists",
                "address-limit-reached",
                "already-accepted",
                "already-contracted",
                "already-exists",
                "already-flagged",
                "already-paid",
                "already-waiting",
                "appointment-not-booked",
                "booking-limit-reached",
                "change-window-closed",
                "changed-meanwhile",
                "check-in-not-needed",
                "check-in-window-closed",
                "consent-required",
                "consultation-ended",
                "consultation-exists",
                "consultation-fee-unpaid",
                "daily-quota-reached",
                "database-unavailable",
                "duplicate-booking",
                "hold-ended",
                "hospital-suspended",
                "idempotency-key-in-flight",
                "idempotency-key-reused",
                "invitation-required",
                "membership-required",
                "muted",
                "name-mismatch",
                "no-follow-up-service",
                "no-free-clinic",
                "no-hospital",
                "no-pharmacy",
                "no-such-id",
                "no-such-option",
                "not-accepted",
                "not-follow-up",
                "not-paid",
                "not-published",
                "not-renewable",
                "note-required",
                "nothing-to-pay",
                "out-of-stock",
                "outside-area",
                "own-work-review",
                "panel-full",
                "participants-absent",
                "payment-expired",
                "practice-too-short",
                "prior-record-unconfirmed",
                "privilege-missing",
                "profile-required",
                "refund-too-large",
                "removed-from-group",
                "report-required",
                "report-signed",
                "role-required",
                "room-full",
                "scope-insufficient",
                "service-unavailable",
                "site-required",
                "slot-closed",
                "slot-not-open",
                "slot-started",
                "slot-taken",
                "slots-still-free",
                "storage-full",
                "team-full",
                "too-many-attempts",
                "wrong-state",
            ],
        ),
        (
            "consult.status.{}",
            &[
                "accepted",
                "cancelled",
                "completed",
                "expired",
                "in_progress",
                "referred_offline",
                "requested",
            ],
        ),
        ("disp.method.{}", &["delivery", "pickup"]),
        (
            "disp.status.{}",
            &[
                "awaiting_payment",
                "cancelled",
                "collected",
                "delivered",
                "dispatched",
                "failed",
                "in_transit",
                "packed",
                "picked",
                "picked_up",
                "queued",
                "ready_for_pickup",
                "received",
            ],
        ),
        (
            "doc.{}",
            &[
                "birth_certificate",
                "household_register",
                "passport",
                "resident_id_card",
                "travel_permit",
            ],
        ),
        (
            "epi.action.{}",
            &[
                "arrange_transport",
                "book_test",
                "close",
                "contact",
                "dismiss",
                "record_result",
            ],
        ),
        ("epi.alert.{}", &["acknowledged", "closed", "open"]),
        ("epi.result.{}", &["negative", "positive"]),
        (
            "epi.status.{}",
            &[
                "closed",
                "contacted",
                "dismissed",
                "flagged",
                "result_recorded",
                "test_booked",
                "transport_arranged",
            ],
        ),
        ("edu.age.{}", &["adult", "all", "child", "elderly"]),
        ("edu.decision.{}", &["approved", "returned"]),
        (
            "edu.season.{}",
            &["all", "autumn", "spring", "summer", "winter"],
        ),
        (
            "edu.status.{}",
            &["approved", "draft", "in_review", "returned"],
        ),
        ("epi.transport.{}", &["ambulance", "self"]),
        (
            "fee.status.{}",
            &["cancelled", "paid", "pending", "refunded"],
        ),
        ("notify.channel.{}", &["sms", "webpush", "wechat"]),
        (
            "notify.topic.{}",
            &[
                "appointment",
                "consultation",
                "delivery",
                "payment",
                "prescription",
                "teleconsult",
            ],
        ),
        (
            "privilege.{}",
            &["consult", "internet_diagnosis", "prescribe", "teleconsult"],
        ),
        ("recon.outcome.{}", &["amount_mismatch", "refunded"]),
        (
            "recon.subject.{}",
            &["appointment", "consultation", "prescription"],
        ),
        (
            "rel.{}",
            &[
                "child",
                "grandchild",
                "grandparent",
                "other",
                "parent",
                "sibling",
                "spouse",
            ],
        ),
        (
            "role.{}",
            &[
                "doctor",
                "hospital_admin",
                "infection_officer",
                "nurse",
                "patient",
                "pharmacist",
                "platform_admin",
                "regulator",
            ],
        ),
        ("rx.duration.{}", &["chronic", "ordinary", "stable_chronic"]),
        (
            "rx.freq.{}",
            &["bid", "prn", "q12h", "q8h", "qd", "qid", "qn", "qw", "tid"],
        ),
        ("rx.severity.{}", &["blocking", "info", "warning"]),
        (
            "rx.status.{}",
            &[
                "approved",
                "cancelled",
                "dispensed",
                "expired",
                "paid",
                "rejected",
                "submitted",
                "superseded",
            ],
        ),
        (
            "service.{}",
            &[
                "counselling",
                "follow_up",
                "free_clinic",
                "text_consult",
                "video_consult",
            ],
        ),
        ("sex.{}", &["female", "male"]),
        (
            "svc.{}.body",
            &[
                "care",
                "chronic",
                "consult",
                "education",
                "fhir",
                "imaging",
                "remote",
                "screening",
                "supervision",
                "triage",
            ],
        ),
        (
            "svc.{}.title",
            &[
                "care",
                "chronic",
                "consult",
                "education",
                "fhir",
                "imaging",
                "remote",
                "screening",
                "supervision",
                "triage",
            ],
        ),
        (
            "title.{}",
            &["associate_chief", "attending", "chief", "resident"],
        ),
        ("referral.direction.{}", &["down", "up"]),
        ("referral.kind.{}", &["inpatient", "outpatient"]),
        (
            "referral.status.{}",
            &["accepted", "arrived", "cancelled", "declined", "sent"],
        ),
        ("teleconsult.consent.{}", &["paper", "signed"]),
        (
            "teleconsult.kind.{}",
            &["note", "offline_diagnosis", "prescription", "prior_record"],
        ),
        (
            "teleconsult.line.{}",
            &[
                "assessment",
                "condition",
                "diagnoses",
                "diagnosis",
                "drug",
                "hospital",
                "objective",
                "plan",
                "record_kind",
                "subjective",
            ],
        ),
        (
            "teleconsult.part.{}",
            &["inviting", "patient", "specialist"],
        ),
        (
            "teleconsult.status.{}",
            &[
                "accepted",
                "cancelled",
                "declined",
                "draft",
                "held",
                "received",
                "reported",
                "requested",
                "scheduled",
            ],
        ),
        (
            "teleconsult.step.{}",
            &[
                "accepted",
                "cancelled",
                "declined",
                "draft",
                "held",
                "received",
                "reported",
                "requested",
                "scheduled",
            ],
        ),
        ("teleconsult.urgency.{}", &["routine", "urgent"]),
        ("triage.urgency.{}", &["emergency", "routine", "urgent"]),
        ("weekday.{}", &["1", "2", "3", "4", "5", "6", "7"]),
        (
            "plan.fs.{}",
            &["answered", "cancelled", "missed", "scheduled", "sent"],
        ),
        (
            "plan.l.{}",
            &["diastolic", "glucose", "systolic", "temperature", "weight"],
        ),
        (
            "plan.m.{}",
            &["blood_pressure", "glucose", "temperature", "weight"],
        ),
        (
            "plan.q.{}",
            &[
                "diabetes",
                "heart_failure",
                "hypertension",
                "postop",
                "preop",
            ],
        ),
        ("plan.status.{}", &["active", "ended"]),
        (
            "plan.t.{}",
            &["diabetes", "heart_failure", "hypertension", "postop"],
        ),
        ("plan.tk.{}", &["answer", "missed", "reading"]),
        ("report.flag.{}", &["H", "L"]),
        (
            "record.k.{}",
            &[
                "appointment",
                "consultation",
                "diagnosis",
                "plan",
                "prescription",
                "reading",
                "readings",
                "report",
            ],
        ),
        ("report.k.{}", &["imaging", "lab", "pathology"]),
        ("report.status.{}", &["asked", "interpreted", "recorded"]),
    ];

    fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// Each `.t("key")`, `.t_with("key", …)` in code and templates, and each
    /// `.t(format!("pattern"))` with its placeholders as `{}`.
    fn used_keys(text: &str) -> (Vec<String>, Vec<String>) {
        let (mut fixed, mut patterns) = (Vec::new(), Vec::new());
        for call in [".t(\"", ".t_with(\"", ".localized(\""] {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                if let Some(end) = rest.find('"') {
                    fixed.push(rest[..end].to_owned());
                }
            }
        }
        for call in [".t(format!(\"", ".t(&format!(\""] {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                let Some(end) = rest.find('"') else { continue };
                let mut pattern = String::new();
                let mut in_braces = false;
                for c in rest[..end].chars() {
                    match c {
                        '{' => {
                            in_braces = true;
                            pattern.push_str("{}");
                        }
                        '}' => in_braces = false,
                        _ if in_braces => {}
                        c => pattern.push(c),
                    }
                }
                patterns.push(pattern);
            }
        }
        (fixed, patterns)
    }

    #[test]
    fn every_key_the_code_and_templates_use_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        sources(&root.join("src"), &mut files);
        sources(&root.join("templates"), &mut files);
        let mut problems = Vec::new();
        let mut seen = 0;
        for (file, text) in &files {
            // This file's own tests name keys that are not messages.
            if file.ends_with("i18n.rs") {
                continue;
            }
            let (fixed, patterns) = used_keys(text);
            seen += fixed.len();
            for key in fixed {
                if !CATALOG.contains_key(key.as_str()) {
                    problems.push(format!("{file}: no message {key}"));
                }
            }
            for pattern in patterns {
                if pattern == "error.{}" {
                    continue; // every ErrorCode, checked above
                }
                if !DYNAMIC.iter().any(|(p, _)| *p == pattern) {
                    problems.push(format!(
                        "{file}: the key pattern {pattern} is not listed in DYNAMIC"
                    ));
                }
            }
        }
        for (pattern, values) in DYNAMIC {
            for value in *values {
                let key = pattern.replace("{}", value);
                if !CATALOG.contains_key(key.as_str()) {
                    problems.push(format!("no message {key} (from {pattern})"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert!(seen > 300, "only {seen} keys found: the scan is broken");
    }

    #[test]
    fn every_error_reason_is_listed_and_documented() {
        let listed: Vec<&str> = DYNAMIC
            .iter()
            .find(|(p, _)| *p == "reason.{}")
            .map(|(_, v)| v.to_vec())
            .unwrap_or_default();
        let mut all: Vec<&str> = crate::error::Reason::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        all.sort_unstable();
        assert_eq!(
            listed, all,
            "DYNAMIC's reason.{{}} list must be Reason::ALL, sorted"
        );
        let doc = include_str!("../../../../docs/ERRORS.md");
        for code in all {
            assert!(
                doc.contains(&format!("| `{code}` |")),
                "docs/ERRORS.md lacks {code}"
            );
        }
    }

    #[test]
    fn the_key_scan_finds_keys() {
        let (fixed, patterns) = used_keys(
            "page.t(\"me.title\") page.t(&format!(\"rel.{r}\")) x.t(format!(\"svc.{}.body\", s))",
        );
        assert_eq!(fixed, ["me.title"]);
        assert_eq!(patterns, ["svc.{}.body", "rel.{}"]);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(Lang::Zh.t_with("brand", &[("x", "y")]), "云医");
        assert!(parse_catalogue("t", "a = 1").is_err());
        assert!(parse_catalogue("t", "a = \"{n} 天\"").is_ok());
    }

    #[test]
    fn negotiation_prefers_cookie_then_quality() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::negotiate(&h), Lang::Zh);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr, en-GB;q=0.8, zh;q=0.5"),
        );
        assert_eq!(Lang::negotiate(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.8"),
        );
        assert_eq!(Lang::negotiate(&h), Lang::Zh);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; yunyi_lang=en"),
        );
        assert_eq!(Lang::negotiate(&h), Lang::En);
    }
}
