//! Prescriptions in FHIR R4: Medication, MedicationRequest, DetectedIssue and
//! MedicationDispense validate against HL7's schema, say what the JSON API says, and are read
//! by the same people.

use reqwest::StatusCode;
use serde_json::json;

use crate::booking::setup;
use crate::fhir::{entries, fhir};
use crate::helpers::PW;
use crate::prescriptions::{drug, visit};

#[tokio::test]
async fn the_patients_prescriptions_and_deliveries_read_as_fhir() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let person = ctx.app.person_of(&patient).await;
    let (status, bundle) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/MedicationRequest?patient=Patient/{person}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let requests = entries(&bundle);
    let statuses: Vec<&str> = requests
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    // Waiting for the pharmacist, approved and delivered: newest first.
    assert_eq!(statuses, ["on-hold", "active", "completed"], "{bundle}");
    let delivered = &requests[2];
    assert_eq!(delivered["reasonCode"][0]["coding"][0]["code"], "I10");
    let id = delivered["id"].as_str().unwrap();
    let (status, one) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/MedicationRequest/{id}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], delivered["id"]);
    let (_, active) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/MedicationRequest?patient=Patient/{person}&status=active"),
    )
    .await;
    assert_eq!(entries(&active).len(), 1);
    // Without `patient`, a patient's search covers themselves and their family: it holds at
    // least their own requests, and an administrator (who may not search patients) is refused.
    let (status, mine) = fhir(&ctx.app, Some(&patient), "/fhir/MedicationRequest").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let own = format!("Patient/{person}");
    let own_count = entries(&mine)
        .iter()
        .filter(|r| r["subject"]["reference"] == own.as_str())
        .count();
    assert_eq!(own_count, 3, "{mine}");
    let (status, encounters) = fhir(&ctx.app, Some(&patient), "/fhir/Encounter").await;
    assert_eq!(status, StatusCode::OK, "{encounters}");
    assert!(!entries(&encounters).is_empty(), "{encounters}");
    let admin = ctx.app.token("admin", PW).await;
    let (status, _) = fhir(&ctx.app, Some(&admin), "/fhir/Encounter").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The medicine: public, by id or by code (both demo hospitals carry XY001).
    let medication = delivered["medicationReference"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, drug) = fhir(&ctx.app, None, &format!("/fhir/{medication}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(drug["code"]["coding"][0]["code"], "XY001");
    let (_, by_code) = fhir(&ctx.app, None, "/fhir/Medication?code=XY001").await;
    assert_eq!(entries(&by_code).len(), 2);
    let (_, by_atc) = fhir(
        &ctx.app,
        None,
        "/fhir/Medication?code=http://www.whocc.no/atc|C08CA01",
    )
    .await;
    assert_eq!(entries(&by_atc).len(), 2);
    let (status, _) = fhir(&ctx.app, None, "/fhir/Medication").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "code is required");

    // The delivery: handed over, completed.
    let (status, dispenses) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/MedicationDispense?patient=Patient/{person}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let dispenses = entries(&dispenses);
    assert_eq!(dispenses.len(), 1);
    assert_eq!(dispenses[0]["status"], "completed");
    assert!(dispenses[0]["whenHandedOver"].is_string());
    assert_eq!(
        dispenses[0]["authorizingPrescription"][0]["reference"],
        format!("MedicationRequest/{id}")
    );
    let dispense = dispenses[0]["id"].as_str().unwrap();
    let (status, _) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/MedicationDispense/{dispense}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Another patient sees none of it.
    let other = ctx.app.token("patient2", PW).await;
    let (status, _) = fhir(
        &ctx.app,
        Some(&other),
        &format!("/fhir/MedicationRequest/{id}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = fhir(
        &ctx.app,
        Some(&other),
        &format!("/fhir/MedicationDispense?patient=Patient/{person}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = fhir(&ctx.app, None, &format!("/fhir/MedicationRequest/{id}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = fhir(
        &ctx.app,
        Some(&patient),
        "/fhir/MedicationRequest?patient=Patient/1&color=red",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn safety_findings_are_detected_issues_implicating_their_lines() {
    let ctx = setup().await;
    let (doctor, visit_id, hospital) = visit(&ctx, &[]).await;
    // An ACE inhibitor with a potassium-sparing diuretic: an interaction warning.
    let (status, signed) = ctx
        .post(
            &doctor,
            "/api/v1/prescriptions",
            json!({"consultation_id": visit_id, "diagnosis_name": "原发性高血压", "duration": "chronic",
                   "items": [
                       {"drug_id": drug(&ctx, hospital, "XY009").await, "dose": 10, "frequency": "qd", "days": 28},
                       {"drug_id": drug(&ctx, hospital, "XY017").await, "dose": 20, "frequency": "qd", "days": 28}
                   ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    let rx = signed["id"].as_i64().unwrap();
    let patient = ctx.app.token("patient1", PW).await;
    let person = ctx.app.person_of(&patient).await;
    let (status, issues) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/DetectedIssue?patient=Patient/{person}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let issues = entries(&issues);
    let interaction = issues
        .iter()
        .find(|i| i["code"]["coding"][0]["code"] == "interaction")
        .expect("the interaction finding");
    assert_eq!(interaction["severity"], "moderate");
    let implicated: Vec<&str> = interaction["implicated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    assert!(
        implicated.contains(&format!("MedicationRequest/{rx}-1").as_str())
            || implicated.contains(&format!("MedicationRequest/{rx}-2").as_str()),
        "{interaction}"
    );
    let issue = interaction["id"].as_str().unwrap();
    let (status, read) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/DetectedIssue/{issue}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["detail"], interaction["detail"]);
    // The request points back at its issues.
    let (_, request) = fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/MedicationRequest/{rx}-1"),
    )
    .await;
    assert!(
        request["detectedIssue"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{request}"
    );
    // The prescribing doctor reads it too; a doctor without a link does not.
    let (status, _) = fhir(
        &ctx.app,
        Some(&doctor),
        &format!("/fhir/DetectedIssue/{issue}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stranger = crate::consult::signed_doctor(&ctx, "doctor2").await;
    let (status, _) = fhir(
        &ctx.app,
        Some(&stranger),
        &format!("/fhir/DetectedIssue/{issue}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
