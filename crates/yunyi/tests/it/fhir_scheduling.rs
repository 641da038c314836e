//! Scheduling in FHIR R4: Schedule, Slot and Appointment read and search (with the chained
//! `schedule.actor`), booking by POST with Location, a lost race as a 409 OperationOutcome, and
//! cancelling by PUT — every resource and error validated against HL7's schema.

use chrono::Duration as Days;
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::time::today;

use crate::booking::{Ctx, setup};
use crate::fhir::{assert_valid, entries, fhir};
use crate::helpers::PW;

async fn send(
    c: &Ctx,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: &Value,
) -> (StatusCode, Option<String>, Value) {
    let r = c
        .app
        .client
        .request(method, c.app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body: Value = r.json().await.unwrap();
    assert_valid(&body);
    (status, location, body)
}

fn booking(slot: &Value, person: i64) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": format!("Slot/{}", slot["id"])}],
        "participant": [{"actor": {"reference": format!("Patient/{person}")}, "status": "accepted"}],
    })
}

#[tokio::test]
async fn slots_are_searched_booked_and_cancelled_through_fhir() {
    let c = setup().await;
    let (doctor, slots) = c.session("doctor4", 3, "09:00", None).await;
    let day = today() + Days::days(3);
    let (s, schedules) = fhir(
        &c.app,
        None,
        &format!("/fhir/Schedule?actor=Practitioner/{doctor}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let schedules = entries(&schedules);
    assert_eq!(schedules.len(), 1);
    let schedule = schedules[0]["id"].as_str().unwrap().to_owned();
    let (s, _) = fhir(&c.app, None, &format!("/fhir/Schedule/{schedule}")).await;
    assert_eq!(s, StatusCode::OK);

    let (_, free) = fhir(
        &c.app,
        None,
        &format!("/fhir/Slot?schedule=Schedule/{schedule}&status=free&start=ge{day}"),
    )
    .await;
    let free = entries(&free);
    assert_eq!(free.len(), 4);
    assert!(free.iter().all(|s| s["status"] == "free"));
    assert_eq!(free[0]["start"], format!("{day}T08:00:00+08:00"));
    let (_, chained) = fhir(
        &c.app,
        None,
        &format!("/fhir/Slot?schedule.actor=Practitioner/{doctor}&status=free"),
    )
    .await;
    assert_eq!(entries(&chained).len(), 4);
    let (_, none) = fhir(
        &c.app,
        None,
        &format!("/fhir/Slot?schedule=Schedule/{schedule}&start=lt{day}"),
    )
    .await;
    assert!(entries(&none).is_empty());
    // Without a schedule or doctor: every doctor's free times (this doctor's among them).
    let (s, all_free) = fhir(&c.app, None, "/fhir/Slot?status=free&_count=100").await;
    assert_eq!(s, StatusCode::OK, "{all_free}");
    let all_free = entries(&all_free);
    assert!(all_free.iter().all(|s| s["status"] == "free"));
    assert!(all_free.len() >= free.len(), "{all_free:?}");
    let (s, _) = fhir(&c.app, None, "/fhir/Slot?schedule=1&start=tomorrow").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let p1 = c.app.token("patient1", PW).await;
    let p2 = c.app.token("patient2", PW).await;
    let person1 = c.app.person_of(&p1).await;
    let person2 = c.app.person_of(&p2).await;
    let slot = json!({"id": slots[0]["id"]});
    let (s, location, booked) = send(
        &c,
        reqwest::Method::POST,
        &p1,
        "/fhir/Appointment",
        &booking(&slot, person1),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{booked}");
    let id = booked["id"].as_str().unwrap().to_owned();
    assert_eq!(
        location.as_deref(),
        Some(format!("/fhir/Appointment/{id}").as_str())
    );
    assert_eq!(booked["status"], "booked");
    assert_eq!(
        booked["slot"][0]["reference"],
        format!("Slot/{}", slots[0]["id"])
    );
    let (_, taken) = fhir(&c.app, None, &format!("/fhir/Slot/{}", slots[0]["id"])).await;
    assert_eq!(taken["status"], "busy");

    // The race lost: 409 with an OperationOutcome naming the next free times.
    let (s, _, outcome) = send(
        &c,
        reqwest::Method::POST,
        &p2,
        "/fhir/Appointment",
        &booking(&slot, person2),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("next free")
    );
    // Not for someone the caller does not act for; malformed requests name the element.
    let (s, _, _) = send(
        &c,
        reqwest::Method::POST,
        &p2,
        "/fhir/Appointment",
        &booking(&json!({"id": slots[1]["id"]}), person1),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut proposed = booking(&slot, person2);
    proposed["status"] = json!("proposed");
    let (s, _, outcome) = send(
        &c,
        reqwest::Method::POST,
        &p2,
        "/fhir/Appointment",
        &proposed,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outcome["issue"][0]["expression"][0], "Appointment.status");
    let mut two = booking(&slot, person2);
    two["slot"] = json!([{"reference": "Slot/1"}, {"reference": "Slot/2"}]);
    let (s, _, outcome) = send(&c, reqwest::Method::POST, &p2, "/fhir/Appointment", &two).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outcome["issue"][0]["expression"][0], "Appointment.slot");

    // Search by patient, date and status; others' appointments are not found.
    let (s, mine) = fhir(
        &c.app,
        Some(&p1),
        &format!("/fhir/Appointment?patient=Patient/{person1}&date=ge{day}&status=booked"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(entries(&mine).len(), 1);
    // With what it refers to: the patient, the doctor and the slot, once each, after the match.
    let (s, with) = fhir(
        &c.app,
        Some(&p1),
        &format!("/fhir/Appointment?patient=Patient/{person1}&date=ge{day}&status=booked&_include=Appointment:patient&_include=Appointment:practitioner&_include=Appointment:slot"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{with}");
    let listed: Vec<(String, String)> = with["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["search"]["mode"].as_str().unwrap().to_owned(),
                e["resource"]["resourceType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("match", "Appointment"),
        ("include", "Patient"),
        ("include", "Practitioner"),
        ("include", "Slot"),
    ]
    .iter()
    .map(|(m, r)| ((*m).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(listed, expected, "{with}");
    assert_eq!(
        with["total"], 1,
        "included resources are not matches: {with}"
    );
    let (s, outcome) = fhir(
        &c.app,
        Some(&p1),
        "/fhir/Appointment?_include=Appointment:location",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outcome["issue"][0]["expression"][0], "_include");
    let (_, earlier) = fhir(
        &c.app,
        Some(&p1),
        &format!("/fhir/Appointment?patient=Patient/{person1}&date=lt{day}"),
    )
    .await;
    assert!(entries(&earlier).is_empty());
    let (s, _) = fhir(
        &c.app,
        Some(&p2),
        &format!("/fhir/Appointment?patient=Patient/{person1}"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = fhir(&c.app, Some(&p2), &format!("/fhir/Appointment/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Versions: the ETag and meta.versionId agree, vread serves the current version only,
    // and an update naming a stale version is refused with 412.
    let r = c
        .app
        .client
        .get(c.app.url(&format!("/fhir/Appointment/{id}")))
        .bearer_auth(&p1)
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let read: serde_json::Value = r.json().await.unwrap();
    let version = read["meta"]["versionId"].as_str().unwrap().to_owned();
    assert_eq!(etag, format!("W/\"{version}\""));
    assert_valid(&read);
    let (s, same) = fhir(
        &c.app,
        Some(&p1),
        &format!("/fhir/Appointment/{id}/_history/{version}"),
    )
    .await;
    assert_eq!((s, &same["id"]), (StatusCode::OK, &read["id"]));
    let (s, _) = fhir(
        &c.app,
        Some(&p1),
        &format!("/fhir/Appointment/{id}/_history/0"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut stale_cancel = read.clone();
    stale_cancel["status"] = json!("cancelled");
    let r = c
        .app
        .client
        .put(c.app.url(&format!("/fhir/Appointment/{id}")))
        .bearer_auth(&p1)
        .header("if-match", "W/\"0000000000000000\"")
        .json(&stale_cancel)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let outcome: serde_json::Value = r.json().await.unwrap();
    assert_valid(&outcome);
    assert_eq!(
        outcome["issue"][0]["details"]["coding"][0]["code"],
        "precondition-failed"
    );

    // Cancelling by update (at the current version) frees the slot.
    let mut cancel = booked.clone();
    cancel["status"] = json!("noshow");
    let (s, _, _) = send(
        &c,
        reqwest::Method::PUT,
        &p1,
        &format!("/fhir/Appointment/{id}"),
        &cancel,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    cancel["status"] = json!("cancelled");
    let r = c
        .app
        .client
        .put(c.app.url(&format!("/fhir/Appointment/{id}")))
        .bearer_auth(&p1)
        .header("if-match", etag.as_str())
        .json(&cancel)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(
        r.headers()["etag"].to_str().unwrap(),
        etag,
        "a change is a new version"
    );
    let cancelled: serde_json::Value = r.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelationReason"]["coding"][0]["code"], "pat");
    let (_, freed) = fhir(&c.app, None, &format!("/fhir/Slot/{}", slots[0]["id"])).await;
    assert_eq!(freed["status"], "free");
    c.app.stop().await;
}

#[tokio::test]
async fn searches_sort_by_date_count_and_bring_a_patients_appointments() {
    let c = setup().await;
    let p1 = c.app.token("patient1", PW).await;
    let person1 = c.app.person_of(&p1).await;
    // Three appointments on three days, booked out of order.
    let mut booked = Vec::new();
    for (doctor, days) in [("doctor4", 5), ("doctor5", 2), ("doctor6", 8)] {
        let (_, slots) = c.session(doctor, days, "09:00", None).await;
        let (s, _, a) = send(
            &c,
            reqwest::Method::POST,
            &p1,
            "/fhir/Appointment",
            &booking(&json!({"id": slots[0]["id"]}), person1),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        booked.push(a["start"].as_str().unwrap().to_owned());
    }
    let starts = |bundle: &Value| -> Vec<String> {
        entries(bundle)
            .iter()
            .filter(|e| e["resourceType"] == "Appointment")
            .map(|e| e["start"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut oldest_first = booked.clone();
    oldest_first.sort();
    let mut newest_first = oldest_first.clone();
    newest_first.reverse();
    let base = format!("/fhir/Appointment?patient=Patient/{person1}");
    let (s, up) = fhir(&c.app, Some(&p1), &format!("{base}&_sort=date")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(starts(&up), oldest_first);
    let (_, down) = fhir(&c.app, Some(&p1), &format!("{base}&_sort=-date")).await;
    assert_eq!(starts(&down), newest_first);
    // Newest first pages newest first.
    let (_, first) = fhir(&c.app, Some(&p1), &format!("{base}&_sort=-date&_count=2")).await;
    assert_eq!(starts(&first), newest_first[..2]);
    let (s, outcome) = fhir(&c.app, Some(&p1), &format!("{base}&_sort=status")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outcome["issue"][0]["expression"][0], "_sort");
    let (s, _) = fhir(&c.app, Some(&p1), "/fhir/Organization?_sort=date").await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a search that cannot sort says so"
    );

    // Consultations newest first, prescriptions oldest first (the demo has several).
    let dates = |bundle: &Value, pointer: &str| -> Vec<String> {
        entries(bundle)
            .iter()
            .map(|e| e.pointer(pointer).unwrap().as_str().unwrap().to_owned())
            .collect()
    };
    let (s, encounters) = fhir(&c.app, Some(&p1), "/fhir/Encounter?_sort=-date").await;
    assert_eq!(s, StatusCode::OK);
    let starts = dates(&encounters, "/period/start");
    assert!(
        starts.len() >= 2 && starts.windows(2).all(|w| w[0] >= w[1]),
        "{starts:?}"
    );
    let (s, requests) = fhir(
        &c.app,
        Some(&p1),
        "/fhir/MedicationRequest?_sort=authoredon",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let authored = dates(&requests, "/authoredOn");
    assert!(
        authored.len() >= 2 && authored.windows(2).all(|w| w[0] <= w[1]),
        "{authored:?}"
    );

    // A count: the total and nothing else, whatever _count says.
    let (s, count) = fhir(
        &c.app,
        Some(&p1),
        &format!("{base}&_summary=count&_count=1&_include=Appointment:patient"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{count}");
    assert_valid(&count);
    assert_eq!(count["total"], 3);
    assert!(count.get("entry").is_none(), "{count}");
    let (s, _) = fhir(&c.app, Some(&p1), &format!("{base}&_summary=text")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // A patient with their appointments, after the matches, not counted.
    let (s, with) = fhir(
        &c.app,
        Some(&p1),
        "/fhir/Patient?_revinclude=Appointment:patient&_revinclude=Encounter:patient",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{with}");
    assert_valid(&with);
    let modes: Vec<(String, String)> = with["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["search"]["mode"].as_str().unwrap().to_owned(),
                e["resource"]["resourceType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let matched = modes.iter().filter(|(m, _)| m == "match").count();
    assert_eq!(with["total"], matched);
    assert!(
        modes
            .iter()
            .all(|(m, r)| (m == "match") == (r == "Patient"))
    );
    assert_eq!(
        modes.iter().filter(|(_, r)| r == "Appointment").count(),
        3,
        "{with}"
    );
    assert!(
        modes.iter().any(|(_, r)| r == "Encounter"),
        "the demo's consultations"
    );
    let (s, outcome) = fhir(&c.app, Some(&p1), "/fhir/Patient?_revinclude=Flag:subject").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outcome["issue"][0]["expression"][0], "_revinclude");
    c.app.stop().await;
}
