//! One record: patient1's offline diagnoses (one at Guangzhou, one elsewhere), his care plan,
//! a home reading and a report come back together from `Patient/$everything` as valid FHIR —
//! all of it for him, his team's hospital's part for doctor1, nothing for strangers — and his
//! readings are vital-signs Observations.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::care::{clinician, signed_patient1};
use crate::fhir::{assert_valid, fhir};
use crate::helpers::PW;

async fn scalar(ctx: &Ctx, sql: &str, arg: i64) -> i64 {
    ctx.app.db.scalar::<i64>(sql, (arg,)).await.unwrap()
}

/// patient1 signed, with a plan, a high reading, a report and two offline diagnoses:
/// (person, reading id).
async fn record(ctx: &Ctx) -> (i64, i64) {
    let (team, me) = signed_patient1(ctx).await;
    let lead = clinician(ctx, "doctor1").await;
    let (s, _) = ctx
        .post(
            &lead,
            "/api/v1/care-plans",
            json!({"person_id": me, "team_id": team, "template": "hypertension"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = ctx
        .post(
            &lead,
            "/api/v1/care-reports",
            json!({"person_id": me, "kind": "pathology", "title": "胃镜活检病理",
                   "performed_on": "2026-02-01", "conclusion": "慢性非萎缩性胃炎"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let patient = ctx.app.token("patient1", PW).await;
    let (s, high) = ctx
        .post(
            &patient,
            "/api/v1/care-readings",
            json!({"person_id": me, "measure": "blood_pressure", "systolic": 152, "diastolic": 96}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{high}");
    let here = scalar(
        ctx,
        "SELECT hospital_id FROM account WHERE id = $1",
        crate::care::account(ctx, "doctor1").await,
    )
    .await;
    let elsewhere = scalar(ctx, "SELECT MIN(id) FROM hospital WHERE id <> $1", here).await;
    for (hospital, code, name) in [
        (here, "I10", "原发性高血压"),
        (elsewhere, "E11", "2型糖尿病"),
    ] {
        ctx.app
            .db
            .execute(
                "INSERT INTO offline_diagnosis (person_id, hospital_id, icd10, name, diagnosed_on, created_at) \
                 VALUES ($1, $2, $3, $4, '2024-05-01', 0)",
                (me, hospital, code, name),
            )
            .await
            .unwrap();
    }
    (me, high["id"].as_i64().unwrap())
}

fn kinds(bundle: &Value) -> Vec<String> {
    let mut k: Vec<String> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap().to_owned())
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn everything_is_the_record_each_reader_may_see_as_valid_fhir() {
    let ctx = setup().await;
    let (me, _) = record(&ctx).await;
    let path = format!("/fhir/Patient/{me}/$everything");
    let patient = ctx.app.token("patient1", PW).await;
    let (s, all) = fhir(&ctx.app, Some(&patient), &path).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_valid(&all);
    let mut present = kinds(&all);
    assert_eq!(all["total"].as_u64(), Some(present.len() as u64));
    present.dedup();
    assert_eq!(
        present,
        [
            "CarePlan",
            "Condition",
            "DiagnosticReport",
            "Encounter",
            "MedicationRequest",
            "Observation",
            "Patient"
        ]
    );
    // doctor1 sees his hospital's part: the diagnosis made elsewhere is not his to read.
    let lead = clinician(&ctx, "doctor1").await;
    let (s, his) = fhir(&ctx.app, Some(&lead), &path).await;
    assert_eq!(s, StatusCode::OK, "{his}");
    assert_valid(&his);
    let conditions: Vec<&str> = his["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Condition")
        .map(|e| e["resource"]["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert!(
        conditions.contains(&"I10") && !conditions.contains(&"E11"),
        "{conditions:?}"
    );
    let (s, _) = fhir(&ctx.app, Some(&clinician(&ctx, "doctor2").await), &path).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = fhir(&ctx.app, Some(&ctx.app.token("patient2", PW).await), &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, bad) = fhir(&ctx.app, Some(&patient), &format!("{path}?_type=Patient")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    // Each reading of the record is audited as such: the two allowed, the two refused.
    let audited = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM audit_event WHERE action = 'record.read' AND patient_id = $1 \
             AND outcome = 'success'",
            (me,),
        )
        .await
        .unwrap();
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn readings_are_vital_signs_and_diagnoses_conditions_read_by_their_readers() {
    let ctx = setup().await;
    let (me, reading) = record(&ctx).await;
    let patient = ctx.app.token("patient1", PW).await;
    let (s, o) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/Observation/reading-{reading}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_valid(&o);
    assert_eq!(
        (
            o["code"]["coding"][0]["code"].as_str(),
            o["component"][0]["valueQuantity"]["value"].as_f64(),
            o["component"][1]["valueQuantity"]["code"].as_str(),
            o["interpretation"][0]["coding"][0]["code"].as_str()
        ),
        (Some("85354-9"), Some(152.0), Some("mm[Hg]"), Some("A"))
    );
    let stranger = ctx.app.token("patient2", PW).await;
    let (s, _) = fhir(
        &ctx.app,
        Some(&stranger),
        &format!("/fhir/Observation/reading-{reading}"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, found) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/Observation?patient={me}&category=vital-signs"),
    )
    .await;
    assert_eq!((s, found["total"].as_i64()), (StatusCode::OK, Some(1)));
    assert_valid(&found);
    let (s, _) = fhir(&ctx.app, Some(&patient), "/fhir/Observation").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/Observation?patient={me}&category=laboratory"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (s, conditions) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/Condition?patient=Patient/{me}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_valid(&conditions);
    let elsewhere = conditions["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["code"]["coding"][0]["code"] == "E11")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .unwrap();
    let lead = clinician(&ctx, "doctor1").await;
    let (s, _) = fhir(
        &ctx.app,
        Some(&lead),
        &format!("/fhir/Condition/{elsewhere}"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, c) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/Condition/{elsewhere}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_valid(&c);
}

#[tokio::test]
async fn the_timeline_puts_the_record_in_time_order_in_chinese() {
    let ctx = setup().await;
    let (me, _) = record(&ctx).await;
    let patient = ctx.app.token("patient1", PW).await;
    let (s, t) = ctx.get(&patient, "/api/v1/care-record").await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let items = t["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in [
        "diagnosis",
        "consultation",
        "prescription",
        "plan",
        "report",
        "reading",
        "readings",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    // Newest first, a month's count of readings heading its month.
    let at: Vec<String> = items
        .iter()
        .map(|e| {
            let at = e["at"].as_str().unwrap();
            if at.len() == 7 {
                format!("{at}-99")
            } else {
                at.to_owned()
            }
        })
        .collect();
    let mut sorted = at.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(at, sorted, "newest first");
    // A doctor off the case reads nothing; the team's doctor reads his hospital's part.
    let (s, _) = ctx
        .get(
            &clinician(&ctx, "doctor2").await,
            &format!("/api/v1/care-record?person_id={me}"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let lead = clinician(&ctx, "doctor1").await;
    let (s, his) = ctx
        .get(&lead, &format!("/api/v1/care-record?person_id={me}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let diagnoses: Vec<&str> = his["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "diagnosis")
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert!(
        diagnoses.contains(&"原发性高血压") && !diagnoses.contains(&"2型糖尿病"),
        "{diagnoses:?}"
    );
    let son = ctx.app.sign_in_browser("patient1").await;
    let page = son.page("/care/record").await;
    assert!(
        page.contains("病历时间线")
            && page.contains("2型糖尿病")
            && page.contains("高血压管理")
            && page.contains("家庭测量 1 次，其中 1 次超出预警范围"),
        "{page}"
    );
}

#[tokio::test]
async fn a_patient_app_posts_a_reading_as_an_observation() {
    let ctx = setup().await;
    let (team, me) = signed_patient1(&ctx).await;
    let lead = clinician(&ctx, "doctor1").await;
    let (s, _) = ctx
        .post(
            &lead,
            "/api/v1/care-plans",
            json!({"person_id": me, "team_id": team, "template": "hypertension"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let patient = ctx.app.token("patient1", PW).await;
    let loinc = |code: &str| json!({"coding": [{"system": "http://loinc.org", "code": code}]});
    let bp = |s: f64, d: f64| {
        json!({"resourceType": "Observation", "status": "final", "code": loinc("85354-9"),
               "subject": {"reference": format!("Patient/{me}")},
               "component": [
                   {"code": loinc("8480-6"), "valueQuantity": {"value": s, "unit": "mmHg"}},
                   {"code": loinc("8462-4"), "valueQuantity": {"value": d, "unit": "mmHg"}}]})
    };
    let post = |body: Value| {
        let client = ctx.app.client.clone();
        let url = ctx.app.url("/fhir/Observation");
        let token = patient.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/fhir+json")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location, r.json::<Value>().await.unwrap())
        }
    };
    // Wrong code, and a diastolic above the systolic: named by their place, nothing kept.
    let (s, _, bad) = post(json!({"resourceType": "Observation", "code": loinc("1234-5")})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["resourceType"], "OperationOutcome");
    assert!(bad.to_string().contains("Observation.code"), "{bad}");
    let (s, _, bad) = post(bp(80.0, 120.0)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(
        bad.to_string()
            .contains("Observation.component[8462-4].valueQuantity.value"),
        "{bad}"
    );
    let (s, location, made) = post(bp(158.0, 97.0)).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    assert_valid(&made);
    assert_eq!(
        location.as_deref(),
        Some(format!("/fhir/Observation/{}", made["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(made["interpretation"][0]["coding"][0]["code"], "A");
    // Beyond the plan's limit: the team has its task, as when entered by hand.
    let nurse = clinician(&ctx, "nurse1").await;
    let (_, tasks) = ctx.get(&nurse, "/api/v1/care-tasks").await;
    assert_eq!(tasks["items"][0]["detail"], "158/97 mmHg", "{tasks}");
    let (s, _, _) = post(
        json!({"resourceType": "Observation", "code": loinc("8310-5"),
                                "subject": {"reference": "Patient/999999"},
                                "valueQuantity": {"value": 36.8}}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
