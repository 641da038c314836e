//! HL7 FHIR R4 under `/fhir`. Invariant: FHIR mapping lives only in this module; contexts
//! expose domain types and this module turns them into resources.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::{AppError, Problem};

pub const CONTENT_TYPE: &str = "application/fhir+json; charset=utf-8";
pub const FHIR_VERSION: &str = "4.0.1";

pub mod audit_event;
mod care;
pub mod consult;
pub mod directory;
pub mod education;
pub mod groups;
pub mod include;
pub mod notification;
pub mod patient;
pub mod pharmacy;
mod record;
mod referral;
mod report;
pub mod scheduling;
pub mod scopes;
pub mod surveillance;
mod teleconsult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/metadata", get(metadata))
        .merge(patient::router())
        .merge(audit_event::router())
        .merge(directory::router())
        .merge(scheduling::router())
        .merge(consult::router())
        .merge(pharmacy::router())
        .merge(surveillance::router())
        .merge(education::router())
        .merge(groups::router())
        .merge(teleconsult::router())
        .merge(care::router())
        .merge(report::router())
        .merge(record::router())
        // After the routes: a SMART app's token reaches only what its scopes cover.
        .route_layer(axum::middleware::from_fn(scopes::guard))
}

/// A FHIR id in a URL: our ids are positive integers; anything else does not exist.
pub fn parse_resource_id(resource: &str, raw: &str) -> Result<i64, AppError> {
    crate::extract::path_id(resource, raw)
}

/// A search's parameters in order, decoded.
pub fn params(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A reference search value: `Type/123` or `123`.
pub fn reference(name: &str, expected: &str, raw: &str) -> Result<i64, AppError> {
    raw.strip_prefix(&format!("{expected}/"))
        .unwrap_or(raw)
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::invalid(name, format!("must be a reference like {expected}/123")))
}

/// A search parameter this resource does not support: refused by name, never ignored.
pub fn unsupported(param: &str) -> AppError {
    AppError::invalid(param, "is not a supported search parameter here")
}

/// A search's page: `_count` entries (1–100, default 20) after skipping `_offset` matches.
/// Clients need not build `_offset` themselves: each page links to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub count: usize,
    pub offset: usize,
    /// `_summary=count`: the Bundle carries only `total`.
    pub summary_count: bool,
}

impl Paging {
    /// The matches to read: those skipped, the page, and one more to know whether a next page
    /// exists.
    pub fn fetch(&self) -> usize {
        self.offset + self.count + 1
    }

    /// [`Self::fetch`] for a store's `LIMIT`.
    pub fn fetch_limit(&self) -> i64 {
        i64::try_from(self.fetch()).unwrap_or(i64::MAX)
    }

    /// Where the `n`th match (from 0) of a search that builds its matches one by one goes.
    pub fn place(&self, n: usize) -> Place {
        if n < self.offset {
            Place::Skip
        } else if n < self.fetch() {
            Place::Keep
        } else {
            Place::Stop
        }
    }

    /// This page of `matches` (and one more, which [`Bundle`] turns into the `next` link).
    pub fn window<I: IntoIterator>(&self, matches: I) -> impl Iterator<Item = I::Item> {
        matches.into_iter().skip(self.offset).take(self.count + 1)
    }
}

/// See [`Paging::place`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Before the page.
    Skip,
    /// On the page, or the one match past it.
    Keep,
    /// Enough read.
    Stop,
}

/// The deepest a search pages: past it, a client should narrow the search.
pub const MAX_OFFSET: usize = 10_000;

/// The order `_sort` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

/// The most matches `_summary=count` counts: past it, a client should narrow the search.
pub const MAX_SUMMARY_COUNT: usize = MAX_OFFSET;

/// `_count`, `_offset` and `_summary` of a search that cannot sort (`_sort` is refused).
pub fn parse_paging(query: Option<&str>) -> Result<Paging, AppError> {
    parse_search(query, None).map(|(paging, _)| paging)
}

/// As [`parse_paging`] for a search that sorts by the date parameter `sort_param` (`_sort=date`
/// oldest first, `_sort=-date` newest first).
pub fn parse_search(
    query: Option<&str>,
    sort_param: Option<&str>,
) -> Result<(Paging, Option<Order>), AppError> {
    let mut paging = Paging {
        count: 20,
        offset: 0,
        summary_count: false,
    };
    let mut order = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            // The search spec lets a server return fewer than asked: more than the most is
            // the most (as HAPI and Medplum do), not an error that breaks a standard client.
            "_count" => {
                paging.count = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .map(|n| n.min(MAX_COUNT))
                    .ok_or_else(|| {
                        AppError::invalid("_count", "must be a whole number of at least 1")
                    })?;
            }
            "_offset" => {
                paging.offset = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_OFFSET)
                    .ok_or_else(|| {
                        AppError::Validation(vec![
                            crate::error::FieldError::new(
                                "_offset",
                                format!("must be a whole number from 0 to {MAX_OFFSET}; narrow the search to see further"),
                            )
                            .localized("fhir.offset_range", vec![("max", MAX_OFFSET.to_string())]),
                        ])
                    })?;
            }
            "_summary" => match v.as_ref() {
                "count" => paging.summary_count = true,
                "false" => {}
                _ => {
                    return Err(AppError::invalid_localized(
                        "_summary",
                        "must be count (only the total) or false",
                        "fhir.summary_values",
                        Vec::new(),
                    ));
                }
            },
            "_sort" => {
                let (descending, name) = match v.strip_prefix('-') {
                    Some(name) => (true, name),
                    None => (false, v.as_ref()),
                };
                order = match sort_param {
                    Some(param) if name == param => Some(if descending {
                        Order::Descending
                    } else {
                        Order::Ascending
                    }),
                    Some(param) => {
                        return Err(AppError::invalid_localized(
                            "_sort",
                            format!("must be {param} (oldest first) or -{param} (newest first)"),
                            "fhir.sort_values",
                            vec![("param", param.to_owned())],
                        ));
                    }
                    None => {
                        return Err(AppError::invalid_localized(
                            "_sort",
                            "is not supported by this search",
                            "fhir.sort_none",
                            Vec::new(),
                        ));
                    }
                };
            }
            _ => {}
        }
    }
    if paging.summary_count {
        // Every match is read to be counted; none is shown.
        paging.count = MAX_SUMMARY_COUNT;
        paging.offset = 0;
    }
    Ok((paging, order))
}

/// The people a search covers: the one it names, or else everyone the actor may search (a
/// patient: themselves and their family; a clinician: their care relationships). Each is then
/// read through the policy, which checks and audits.
pub async fn people_in_scope(
    state: &crate::app::AppState,
    actor: &crate::identity::Actor,
    named: Option<i64>,
) -> Result<Vec<i64>, AppError> {
    match named {
        Some(person) => Ok(vec![person]),
        None => crate::identity::service::searchable_patients(state, actor).await,
    }
}

/// The most entries one search page holds.
pub const MAX_COUNT: usize = 100;

/// A `searchset` Bundle under construction: push the matches of [`Paging::window`].
pub struct Bundle {
    resource: &'static str,
    query: String,
    entries: Vec<Value>,
    /// Resources the matches refer to, asked for with `_include`.
    included: Vec<Value>,
    paging: Paging,
}

impl Bundle {
    pub fn searchset(resource: &'static str, query: Option<&str>, paging: Paging) -> Self {
        Self {
            resource,
            query: query.unwrap_or("").to_owned(),
            entries: Vec::new(),
            included: Vec::new(),
            paging,
        }
    }

    pub fn push(&mut self, resource: Value) {
        let id = resource["id"].as_str().unwrap_or("").to_owned();
        self.entries.push(json!({
            "fullUrl": format!("{}/{id}", self.resource),
            "resource": resource,
            "search": {"mode": "match"},
        }));
    }

    /// The matches on this page (not the one read past it).
    pub fn page_matches(&self) -> impl Iterator<Item = &Value> {
        self.entries
            .iter()
            .take(self.paging.count)
            .map(|e| &e["resource"])
    }

    /// Whether `Type/id` is included already.
    pub fn has_included(&self, resource: &str, id: i64) -> bool {
        let id = id.to_string();
        self.included.iter().any(|e| {
            e["resource"]["resourceType"] == resource && e["resource"]["id"] == id.as_str()
        })
    }

    /// A resource a match refers to (`_include`): listed after the matches, not counted.
    pub fn push_included(&mut self, resource: Value) {
        let kind = resource["resourceType"].as_str().unwrap_or("").to_owned();
        let id = resource["id"].as_str().unwrap_or("").to_owned();
        self.included.push(json!({
            "fullUrl": format!("{kind}/{id}"),
            "resource": resource,
            "search": {"mode": "include"},
        }));
    }

    /// The search's own address with `_offset` set (left out at 0).
    fn address(&self, offset: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(self.query.as_bytes()) {
            if k != "_offset" {
                query.append_pair(&k, &v);
            }
        }
        if offset > 0 {
            query.append_pair("_offset", &offset.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            self.resource.to_owned()
        } else {
            format!("{}?{query}", self.resource)
        }
    }

    pub fn finish(mut self) -> Result<Value, AppError> {
        let Paging {
            count,
            offset,
            summary_count,
        } = self.paging;
        // One match past the page was read only to know that there is more.
        let more = self.entries.len() > count;
        if summary_count {
            if more {
                return Err(AppError::invalid_localized(
                    "_summary",
                    format!(
                        "more than {MAX_SUMMARY_COUNT} matches: narrow the search to count them"
                    ),
                    "fhir.summary_too_many",
                    vec![("max", MAX_SUMMARY_COUNT.to_string())],
                ));
            }
            return Ok(json!({
                "resourceType": "Bundle",
                "type": "searchset",
                "total": self.entries.len(),
                "link": [{"relation": "self", "url": self.address(0)}],
            }));
        }
        self.entries.truncate(count);
        let matches = self.entries.len();
        self.entries.append(&mut self.included);
        let mut links = vec![json!({"relation": "self", "url": self.address(offset)})];
        if offset > 0 {
            links.push(
                json!({"relation": "previous", "url": self.address(offset.saturating_sub(count))}),
            );
        }
        if more {
            links.push(json!({"relation": "next", "url": self.address(offset + count)}));
        }
        let mut bundle = json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "link": links,
        });
        if let Some(obj) = bundle.as_object_mut() {
            // Known exactly only on a last page that holds something (or the first);
            // elsewhere left out rather than guessed.
            if !more && (offset == 0 || matches > 0) {
                obj.insert("total".into(), Value::from(offset + matches));
            }
            if !self.entries.is_empty() {
                obj.insert("entry".into(), Value::Array(self.entries));
            }
        }
        Ok(bundle)
    }
}

/// A FHIR JSON response with the right media type.
pub fn fhir_json(value: Value) -> Response {
    // Written straight to bytes: `to_string` goes through `fmt` and costs several times as
    // much on a large Bundle (a `$everything` of 2,000 resources).
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    let mut response = bytes.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// `OperationOutcome` for an error: one issue per invalid field (with its FHIRPath-ish
/// `expression`), or one issue for the whole error.
pub fn operation_outcome(problem: &Problem) -> Value {
    let code = problem.code.fhir_issue_code();
    // The same machine code as problem+json's `code` (docs/ERRORS.md).
    let details = json!({
        "coding": [{"system": "urn:yunyi:error-code", "code": problem.machine_code()}],
        "text": problem.detail,
    });
    let issues: Vec<Value> = if problem.errors.is_empty() {
        vec![json!({
            "severity": "error",
            "code": code,
            "details": details,
            "diagnostics": problem.detail,
        })]
    } else {
        problem
            .errors
            .iter()
            .map(|e| {
                json!({
                    "severity": "error",
                    "code": code,
                    "details": details,
                    "diagnostics": e.message,
                    "expression": [e.field],
                })
            })
            .collect()
    };
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// The interactions of a served resource, as the CapabilityStatement names them.
const READ: &[&str] = &["read"];
const READ_SEARCH: &[&str] = &["read", "search-type"];
const READ_SEARCH_CREATE: &[&str] = &["read", "search-type", "create"];
const READ_SEARCH_WRITE: &[&str] = &["read", "vread", "search-type", "create", "update"];

/// (resource type, interactions, search parameters) served, for the CapabilityStatement.
/// `tests/it/fhir.rs` checks it against the routes declared under `/fhir`, so it cannot claim
/// a search or a write that no route serves, nor miss one.
type Served = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);
const RESOURCES: [Served; 29] = [
    ("Patient", READ_SEARCH, &[]),
    ("RelatedPerson", READ_SEARCH, &[("patient", "reference")]),
    (
        "AuditEvent",
        READ_SEARCH,
        &[("patient", "reference"), ("agent", "reference")],
    ),
    ("Organization", READ_SEARCH, &[]),
    ("Practitioner", READ_SEARCH, &[("name", "string")]),
    (
        "PractitionerRole",
        READ_SEARCH,
        &[("practitioner", "reference"), ("organization", "reference")],
    ),
    (
        "HealthcareService",
        READ_SEARCH,
        &[("organization", "reference")],
    ),
    ("Schedule", READ_SEARCH, &[("actor", "reference")]),
    (
        "Slot",
        READ_SEARCH,
        &[
            ("schedule", "reference"),
            ("status", "token"),
            ("start", "date"),
        ],
    ),
    (
        "Appointment",
        READ_SEARCH_WRITE,
        &[
            ("patient", "reference"),
            ("date", "date"),
            ("status", "token"),
        ],
    ),
    (
        "Encounter",
        READ_SEARCH,
        &[
            ("patient", "reference"),
            ("subject", "reference"),
            ("status", "token"),
        ],
    ),
    (
        "Communication",
        READ_SEARCH,
        &[("encounter", "reference"), ("category", "token")],
    ),
    ("Medication", READ_SEARCH, &[("code", "token")]),
    (
        "MedicationRequest",
        READ_SEARCH,
        &[
            ("patient", "reference"),
            ("subject", "reference"),
            ("status", "token"),
        ],
    ),
    (
        "MedicationDispense",
        READ_SEARCH,
        &[("patient", "reference"), ("subject", "reference")],
    ),
    ("DetectedIssue", READ_SEARCH, &[("patient", "reference")]),
    ("Flag", READ, &[]),
    (
        "ServiceRequest",
        READ_SEARCH,
        &[
            ("patient", "reference"),
            ("requester", "reference"),
            ("performer", "reference"),
            ("status", "token"),
        ],
    ),
    (
        "Task",
        READ_SEARCH,
        &[
            ("patient", "reference"),
            ("requester", "reference"),
            ("owner", "reference"),
            ("status", "token"),
        ],
    ),
    ("Consent", READ_SEARCH, &[("patient", "reference")]),
    ("Composition", READ_SEARCH, &[("patient", "reference")]),
    (
        "Observation",
        READ_SEARCH_CREATE,
        &[
            ("patient", "reference"),
            ("subject", "reference"),
            ("category", "token"),
        ],
    ),
    (
        "Condition",
        READ_SEARCH,
        &[("patient", "reference"), ("subject", "reference")],
    ),
    (
        "CarePlan",
        READ_SEARCH,
        &[("patient", "reference"), ("subject", "reference")],
    ),
    ("CareTeam", READ, &[]),
    (
        "DiagnosticReport",
        READ_SEARCH,
        &[
            ("patient", "reference"),
            ("subject", "reference"),
            ("category", "token"),
        ],
    ),
    ("MeasureReport", READ, &[]),
    ("CommunicationRequest", READ, &[]),
    ("Group", READ, &[]),
];

/// The `_include` values a resource's search serves.
fn includes_of(kind: &str) -> Vec<&'static str> {
    let served: &[include::Include] = match kind {
        "Appointment" => &scheduling::APPOINTMENT_INCLUDES,
        "Encounter" => &consult::ENCOUNTER_INCLUDES,
        "MedicationRequest" => &pharmacy::REQUEST_INCLUDES,
        _ => &[],
    };
    served.iter().map(|i| i.name).collect()
}

/// `GET /fhir/metadata`: the CapabilityStatement.
async fn metadata(headers: axum::http::HeaderMap) -> Response {
    let origin = crate::web::origin(&headers);
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(|(kind, interactions, params)| {
            let interactions: Vec<Value> = interactions
                .iter()
                .map(|code| json!({"code": code}))
                .collect();
            let mut r = json!({"type": kind, "interaction": interactions});
            if interactions.iter().any(|i| i["code"] == "vread") {
                r["versioning"] = json!("versioned");
            }
            let includes = includes_of(kind);
            if let (false, Some(obj)) = (includes.is_empty(), r.as_object_mut()) {
                obj.insert("searchInclude".into(), json!(includes));
            }
            if *kind == "Patient" {
                r["searchRevInclude"] = json!(include::PATIENT_REVINCLUDES);
                r["operation"] = json!([{
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }]);
            }
            if !params.is_empty() {
                if let Some(obj) = r.as_object_mut() {
                    let params: Vec<Value> = params
                        .iter()
                        .map(|(n, t)| json!({"name": n, "type": t}))
                        .collect();
                    obj.insert("searchParam".into(), Value::Array(params));
                }
            }
            r
        })
        .collect();
    fhir_json(json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "publisher": "Yunyi",
        "kind": "instance",
        "software": {"name": "Yunyi", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Yunyi internet hospital platform"},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "service": [{"coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"},
                    {"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "OAuth"},
                ]}],
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [
                        {"url": "authorize", "valueUri": format!("{origin}/auth/authorize")},
                        {"url": "token", "valueUri": format!("{origin}/auth/token")},
                        {"url": "revoke", "valueUri": format!("{origin}/auth/revoke")},
                    ],
                }],
                "description": "SMART App Launch 2.x (standalone launch, PKCE S256; see /.well-known/smart-configuration); Yunyi's own clients use bearer tokens from POST /auth/token (password grant)",
            },
            "resource": resources,
            // Every search pages: a page links to the next with `_offset`.
            "searchParam": [
                {"name": "_count", "type": "number", "documentation": "entries per page, 1–100 (default 20); more is served as 100"},
                {"name": "_offset", "type": "number", "documentation": "matches to skip, 0–10000; follow the Bundle's next link rather than building it"},
                {"name": "_summary", "type": "token", "documentation": "count: a Bundle with only the total (up to 10000 matches)"},
                {"name": "_sort", "type": "special", "documentation": "date or -date on Appointment and Encounter, authoredon or -authoredon on MedicationRequest; refused elsewhere"},
            ],
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AppError, Reason};

    #[test]
    fn an_operation_outcome_carries_the_machine_code() {
        let problem = AppError::refused(Reason::SlotTaken, "this slot was just taken").to_problem();
        let outcome = operation_outcome(&problem);
        let issue = &outcome["issue"][0];
        assert_eq!(issue["code"], "conflict");
        assert_eq!(
            issue["details"]["coding"][0]["system"],
            "urn:yunyi:error-code"
        );
        assert_eq!(issue["details"]["coding"][0]["code"], "slot-taken");
        let plain = operation_outcome(&AppError::NotFound("no such thing".into()).to_problem());
        assert_eq!(
            plain["issue"][0]["details"]["coding"][0]["code"],
            "not-found"
        );
    }
}
