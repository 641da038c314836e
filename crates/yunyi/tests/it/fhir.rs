//! FHIR R4: every resource Yunyi returns validates against HL7's R4 JSON schema; access follows
//! the same policy as the JSON API; errors are OperationOutcomes.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, LazyLock, Mutex};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PW, TestApp};

static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fhir-r4.schema.json.gz"
    ))
    .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
});

static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Default::default);

/// Validates a resource against `#/definitions/<resourceType>` of the official schema.
pub fn assert_valid(resource: &Value) {
    let kind = resource["resourceType"]
        .as_str()
        .expect("resourceType")
        .to_owned();
    let cached = VALIDATORS.lock().unwrap().get(&kind).cloned();
    let validator = match cached {
        Some(v) => v,
        None => {
            let mut schema = SCHEMA.clone();
            let root = schema.as_object_mut().unwrap();
            root.remove("oneOf");
            root.remove("discriminator");
            // In draft 6 a `$ref` hides its siblings (the definitions), so wrap it.
            root.insert(
                "allOf".into(),
                serde_json::json!([{"$ref": format!("#/definitions/{kind}")}]),
            );
            let v = Arc::new(jsonschema::draft6::new(&schema).expect("schema compiles"));
            VALIDATORS.lock().unwrap().insert(kind.clone(), v.clone());
            v
        }
    };
    let errors: Vec<String> = validator
        .iter_errors(resource)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{kind} is not valid FHIR R4:\n{}\n{resource:#}",
        errors.join("\n")
    );
}

pub async fn fhir(app: &TestApp, token: Option<&str>, path: &str) -> (StatusCode, Value) {
    let mut request = app.client.get(app.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let ct = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ct.starts_with("application/fhir+json"), "{path}: {ct}");
    let body: Value = response.json().await.unwrap();
    assert_valid(&body);
    (status, body)
}

pub fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|a| a.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_capability_statement_lists_what_is_served() {
    let app = TestApp::spawn().await;
    let (status, body) = fhir(&app, None, "/fhir/metadata").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["fhirVersion"], "4.0.1");
    let types: Vec<&str> = body["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "Patient",
            "RelatedPerson",
            "AuditEvent",
            "Organization",
            "Practitioner",
            "PractitionerRole",
            "HealthcareService",
            "Schedule",
            "Slot",
            "Appointment",
            "Encounter",
            "Communication",
            "Medication",
            "MedicationRequest",
            "MedicationDispense",
            "DetectedIssue",
            "Flag",
            "ServiceRequest",
            "Task",
            "Consent",
            "Composition",
            "Observation",
            "Condition",
            "CarePlan",
            "CareTeam",
            "DiagnosticReport",
            "MeasureReport",
            "CommunicationRequest",
            "Group"
        ]
    );
    // Errors are valid OperationOutcomes too.
    let (status, _) = fhir(&app, None, "/fhir/Nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = fhir(&app, None, "/fhir/Patient").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["issue"][0]["code"], "login");

    // It claims exactly the interactions the declared routes serve, no more and no fewer.
    let (_, body) = fhir(&app, None, "/fhir/metadata").await;
    let mut claimed: Vec<String> = Vec::new();
    for r in body["rest"][0]["resource"].as_array().unwrap() {
        for i in r["interaction"].as_array().unwrap() {
            claimed.push(format!(
                "{} {}",
                r["type"].as_str().unwrap(),
                i["code"].as_str().unwrap()
            ));
        }
    }
    let mut served: Vec<String> = Vec::new();
    for (method, path) in crate::denials::declared_routes() {
        let Some(rest) = path.strip_prefix("/fhir/") else {
            continue;
        };
        if let Some(kind) = rest.strip_suffix("/{id}/_history/{vid}") {
            served.push(format!("{kind} vread"));
            continue;
        }
        let (kind, instance) = match rest.split_once('/') {
            Some((kind, "{id}")) => (kind, true),
            Some(_) => continue,
            None if rest == "metadata" => continue,
            None => (rest, false),
        };
        let interaction = match (method.as_str(), instance) {
            ("GET", true) => "read",
            ("GET", false) => "search-type",
            ("POST", false) => "create",
            ("PUT", true) => "update",
            (m, _) => panic!("{m} {path} is not a FHIR interaction the statement can name"),
        };
        served.push(format!("{kind} {interaction}"));
    }
    claimed.sort();
    served.sort();
    assert_eq!(claimed, served);
    app.stop().await;
}

#[tokio::test]
async fn a_patient_sees_themselves_and_their_family_with_masking_by_relationship() {
    let app = TestApp::with_demo().await;
    let token = app.token("patient1", PW).await;
    let (status, bundle) = fhir(&app, Some(&token), "/fhir/Patient").await;
    assert_eq!(status, StatusCode::OK);
    let patients = entries(&bundle);
    assert_eq!(bundle["total"], 3);
    for p in &patients {
        assert_valid(p);
    }
    let by_name = |n: &str| {
        patients
            .iter()
            .find(|p| p["name"][0]["text"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_name("张伟")["identifier"][0]["value"],
        "440106198503120015",
        "own: full"
    );
    assert_eq!(
        by_name("张小雨")["identifier"][0]["value"],
        "440106202306010043",
        "ward: full"
    );
    assert_eq!(
        by_name("张建国")["identifier"][0]["value"],
        "440***********0032",
        "not a ward: masked"
    );
    assert_eq!(by_name("张小雨")["birthDate"], "2023-06-01");

    let child = by_name("张小雨")["id"].as_str().unwrap().to_owned();
    let (status, related) = fhir(
        &app,
        Some(&token),
        &format!("/fhir/RelatedPerson?patient={child}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let links = entries(&related);
    assert_eq!(links.len(), 1);
    let codes: Vec<&str> = links[0]["relationship"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["PRN", "GUARD"],
        "patient1 is the child's parent and guardian"
    );
    let link_id = links[0]["id"].as_str().unwrap().to_owned();
    let (status, one) = fhir(
        &app,
        Some(&token),
        &format!("/fhir/RelatedPerson/{link_id}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["patient"]["reference"], format!("Patient/{child}"));

    // Someone else's record does not exist, as far as a patient can tell.
    let other = app.person_of(&app.token("patient2", PW).await).await;
    let (status, outcome) = fhir(&app, Some(&token), &format!("/fhir/Patient/{other}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (status, _) = fhir(
        &app,
        Some(&token),
        &format!("/fhir/RelatedPerson?patient={other}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn clinicians_see_linked_patients_masked_and_others_nothing() {
    let app = TestApp::with_demo().await;
    let doctor1 = app.token("doctor1", PW).await;
    let (status, body) = fhir(&app, Some(&doctor1), "/fhir/Patient").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "step-up first");
    assert_eq!(body["issue"][0]["code"], "security");
    app.step_up(&doctor1).await;
    let (_, bundle) = fhir(&app, Some(&doctor1), "/fhir/Patient").await;
    let names: Vec<String> = entries(&bundle)
        .iter()
        .map(|p| p["name"][0]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        entries(&bundle)
            .iter()
            .all(|p| p["identifier"][0]["value"].as_str().unwrap().contains('*'))
    );

    let doctor2 = app.token("doctor2", PW).await;
    app.step_up(&doctor2).await;
    let (status, bundle) = fhir(&app, Some(&doctor2), "/fhir/Patient").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 0);

    let regulator = app.token("regulator1", PW).await;
    let (status, _) = fhir(&app, Some(&regulator), "/fhir/Patient").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn audit_events_are_valid_fhir_for_regulators_only() {
    let app = TestApp::with_demo().await;
    let patient = app.token("patient1", PW).await;
    let person = app.person_of(&patient).await;
    let regulator = app.token("regulator1", PW).await;
    let (status, bundle) = fhir(
        &app,
        Some(&regulator),
        &format!("/fhir/AuditEvent?patient={person}&_count=50"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let events = entries(&bundle);
    assert!(!events.is_empty());
    for e in &events {
        assert_valid(e);
        assert!(
            e["entity"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["what"]["reference"] == format!("Patient/{person}"))
        );
    }
    let id = events[0]["id"].as_str().unwrap().to_owned();
    let (status, one) = fhir(&app, Some(&regulator), &format!("/fhir/AuditEvent/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], id.as_str());

    let (status, _) = fhir(&app, Some(&patient), "/fhir/AuditEvent").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // More than the most is the most; a count that is not a number is an error.
    let (status, bundle) = fhir(&app, Some(&regulator), "/fhir/AuditEvent?_count=500").await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert!(entries(&bundle).len() <= 100);
    let (status, outcome) = fhir(&app, Some(&regulator), "/fhir/AuditEvent?_count=lots").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outcome["issue"][0]["expression"][0], "_count");
    // A full page does not know how many match in all, so it states no total; a page with
    // room to spare holds every match, and says how many.
    let (_, page) = fhir(&app, Some(&regulator), "/fhir/AuditEvent?_count=2").await;
    assert_eq!(entries(&page).len(), 2);
    assert!(page.get("total").is_none(), "{page}");
    let (_, all) = fhir(&app, None, "/fhir/Organization?_count=100").await;
    let found = entries(&all).len();
    assert!(found > 1 && found < 100, "{all}");
    assert_eq!(all["total"], found);
    app.stop().await;
}

#[tokio::test]
async fn searches_include_what_their_matches_refer_to() {
    let app = TestApp::with_demo().await;
    let patient = app.token("patient1", PW).await;
    let mode_types = |bundle: &Value, mode: &str| -> Vec<String> {
        bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["search"]["mode"] == mode)
            .map(|e| e["resource"]["resourceType"].as_str().unwrap().to_owned())
            .collect()
    };
    let (s, encounters) = fhir(
        &app,
        Some(&patient),
        "/fhir/Encounter?_include=Encounter:patient",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{encounters}");
    assert!(!mode_types(&encounters, "match").is_empty(), "{encounters}");
    let included = mode_types(&encounters, "include");
    assert!(
        !included.is_empty() && included.iter().all(|t| t == "Patient"),
        "{encounters}"
    );
    // Each person once, however many encounters name them.
    let mut ids: Vec<&str> = encounters["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before);

    let (s, requests) = fhir(
        &app,
        Some(&patient),
        "/fhir/MedicationRequest?_include=MedicationRequest:medication",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{requests}");
    assert!(!mode_types(&requests, "match").is_empty(), "{requests}");
    assert!(
        mode_types(&requests, "include")
            .iter()
            .all(|t| t == "Medication")
    );
    assert!(!mode_types(&requests, "include").is_empty(), "{requests}");

    // The CapabilityStatement says which includes each search serves.
    let (_, capability) = fhir(&app, None, "/fhir/metadata").await;
    let resources = capability["rest"][0]["resource"].as_array().unwrap();
    let of =
        |kind: &str| resources.iter().find(|r| r["type"] == kind).unwrap()["searchInclude"].clone();
    assert_eq!(
        of("Encounter"),
        serde_json::json!(["Encounter:patient", "Encounter:subject"])
    );
    assert_eq!(
        of("MedicationRequest"),
        serde_json::json!(["MedicationRequest:medication"])
    );
    assert!(of("Organization").is_null());
    app.stop().await;
}

/// Every page of a search, by following its `next` links from `first`; checks the links of
/// each page on the way.
async fn all_pages(app: &TestApp, token: Option<&str>, first: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        let (status, bundle) = fhir(app, token, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
        let links = bundle["link"].as_array().unwrap();
        let link = |relation: &str| {
            links
                .iter()
                .find(|l| l["relation"] == relation)
                .map(|l| l["url"].as_str().unwrap().to_owned())
        };
        assert!(link("self").is_some(), "{bundle}");
        assert_eq!(link("previous").is_some(), !pages.is_empty(), "{bundle}");
        next = link("next").map(|url| format!("/fhir/{url}"));
        // Only the last page knows how many match in all.
        assert_eq!(bundle.get("total").is_none(), next.is_some(), "{bundle}");
        pages.push(
            entries(&bundle)
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect(),
        );
        assert!(pages.len() < 50, "the next links never end");
    }
    pages
}

#[tokio::test]
async fn searches_page_by_next_links_to_the_end() {
    let app = TestApp::with_demo().await;
    // A public search: one hospital a page.
    let (_, all) = fhir(&app, None, "/fhir/Organization?_count=100").await;
    let every: Vec<String> = entries(&all)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let pages = all_pages(&app, None, "/fhir/Organization?_count=1").await;
    assert_eq!(pages.len(), every.len());
    assert!(pages.iter().all(|p| p.len() == 1));
    assert_eq!(pages.concat(), every);

    // A search of patient data, scoped to what the patient may see: the same matches, once each.
    let patient = app.token("patient1", PW).await;
    let (_, all) = fhir(&app, Some(&patient), "/fhir/Encounter?_count=100").await;
    let every: Vec<String> = entries(&all)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(every.len() >= 2, "{all}");
    let pages = all_pages(&app, Some(&patient), "/fhir/Encounter?_count=1").await;
    assert_eq!(pages.concat(), every);

    // Past the end: an empty page that does not guess a total; too deep: refused, named.
    let (status, beyond) = fhir(&app, None, "/fhir/Organization?_offset=500").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        entries(&beyond).is_empty() && beyond.get("total").is_none(),
        "{beyond}"
    );
    let (status, outcome) = fhir(&app, None, "/fhir/Organization?_offset=99999").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outcome["issue"][0]["expression"][0], "_offset");
    app.stop().await;
}

#[test]
fn the_validator_rejects_invalid_resources() {
    let bad = [
        serde_json::json!({"resourceType": "Patient", "gender": "robot"}),
        serde_json::json!({"resourceType": "Patient", "birthDate": "1985-13-40"}),
        serde_json::json!({"resourceType": "Patient", "nickname": "x"}),
        serde_json::json!({"resourceType": "Bundle", "type": "search-set"}),
        serde_json::json!({"resourceType": "AuditEvent", "recorded": "2026-01-01T00:00:00Z"}),
    ];
    for resource in bad {
        let result = std::panic::catch_unwind(|| assert_valid(&resource));
        assert!(result.is_err(), "accepted an invalid resource: {resource}");
    }
}
