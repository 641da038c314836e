//! Reports and their interpretation: doctor1 records patient1's lipids under his family-doctor
//! contract; patient1 asks the team what they mean and doctor1 answers, which patient1 reads;
//! patient1 uploads a report from another hospital; strangers read nothing, and only the
//! doctor or team asked may answer, once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::care::{clinician, code, signed_patient1};
use crate::helpers::{PW, error_fields};

const PNG: &[u8] = &crate::practice::PIXEL_PNG;

fn lipids(person: i64) -> Value {
    json!({"person_id": person, "kind": "lab", "title": "血脂四项", "performed_on": "2026-01-05",
    "results": [
        {"name": "低密度脂蛋白胆固醇", "code": "13457-7", "value": "3.8", "unit": "mmol/L", "low": 0, "high": 3.4},
        {"name": "甘油三酯", "code": "2571-8", "value": "1.6", "unit": "mmol/L", "low": 0.4, "high": 1.7}
    ]})
}

async fn notified(ctx: &Ctx, token: &str) -> Value {
    let (_, inbox) = ctx.get(token, "/api/v1/notifications").await;
    inbox["items"][0].clone()
}

#[tokio::test]
async fn a_report_is_recorded_asked_about_and_interpreted_by_the_team_asked() {
    let ctx = setup().await;
    let (team, me) = signed_patient1(&ctx).await;
    let lead = clinician(&ctx, "doctor1").await;
    // Every problem at once, each by its place; nothing is kept.
    let (s, bad) = ctx
        .post(
            &lead,
            "/api/v1/care-reports",
            json!({"kind": "xray", "performed_on": "2999-01-01",
                   "results": [{"name": "LDL", "value": "", "low": 5, "high": 1}]}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![
                "person_id",
                "kind",
                "title",
                "performed_on",
                "results[0].value",
                "results[0].low"
            ]
        )
    );
    // A doctor without a care relationship may not record one.
    let outsider = clinician(&ctx, "doctor2").await;
    let (s, _) = ctx
        .post(&outsider, "/api/v1/care-reports", lipids(me))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let count = ctx
        .app
        .db
        .scalar::<i64>("SELECT COUNT(*) FROM care_report", ())
        .await
        .unwrap();
    assert_eq!(count, 0);
    let (s, made) = ctx.post(&lead, "/api/v1/care-reports", lipids(me)).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let id = made["id"].as_i64().unwrap();
    let path = format!("/api/v1/care-reports/{id}");

    // The patient reads it with its flags; another patient does not see it exists.
    let patient = ctx.app.token("patient1", PW).await;
    let (s, report) = ctx.get(&patient, &path).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let flags: Vec<_> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["flag"].clone())
        .collect();
    assert_eq!(flags, [json!("H"), Value::Null]);
    assert_eq!(
        (
            report["status"].as_str(),
            report["ordered_by"]["name"].is_string()
        ),
        (Some("recorded"), true)
    );
    let stranger = ctx.app.token("patient2", PW).await;
    assert_eq!(ctx.get(&stranger, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ctx.get(&outsider, &path).await.0, StatusCode::FORBIDDEN);
    let (_, mine) = ctx.get(&patient, "/api/v1/care-reports").await;
    assert_eq!(mine["items"][0]["id"], id);

    // Who may be asked: the team of his contract (and its doctor through it), nobody else.
    let (s, askable) = ctx.get(&patient, "/api/v1/care-reports/askable").await;
    assert_eq!(s, StatusCode::OK, "{askable}");
    assert_eq!(askable["teams"][0]["id"], team, "{askable}");
    let doctor2 = crate::care::account(&ctx, "doctor2").await;
    let ask = format!("{path}/ask");
    let (s, bad) = ctx
        .post(
            &patient,
            &ask,
            json!({"doctor_id": doctor2, "question": "要紧吗？"}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["doctor_id"])
    );
    let (s, bad) = ctx
        .post(
            &patient,
            &ask,
            json!({"doctor_id": doctor2, "team_id": team}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["doctor_id"])
    );
    // Staff do not ask on the patient's behalf.
    let (s, _) = ctx.post(&lead, &ask, json!({"team_id": team})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, answer) = ctx
        .post(
            &patient,
            &ask,
            json!({"team_id": team, "question": "胆固醇高了，需要吃药吗？"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    let (s, again) = ctx.post(&patient, &ask, json!({"team_id": team})).await;
    assert_eq!((s, code(&again)), (StatusCode::CONFLICT, "wrong-state"));

    // The team's doctor is told and finds it in his list; the nurse may not interpret.
    let lead = clinician(&ctx, "doctor1").await;
    let told = notified(&ctx, &lead).await;
    assert_eq!(
        (told["event"].as_str(), told["link"].as_str()),
        (
            Some("report.asked"),
            Some(format!("/care/reports/{id}").as_str())
        )
    );
    let (_, queue) = ctx.get(&lead, "/api/v1/care-reports/asked").await;
    assert_eq!(queue["items"][0]["id"], id, "{queue}");
    assert_eq!(queue["items"][0]["question"], "胆固醇高了，需要吃药吗？");
    let interpret = format!("{path}/interpretation");
    let nurse = clinician(&ctx, "nurse1").await;
    let text = "低密度脂蛋白略高：低脂饮食、规律运动，三个月后复查。";
    let (s, _) = ctx
        .post(&nurse, &interpret, json!({"interpretation": text}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, bad) = ctx
        .post(&lead, &interpret, json!({"interpretation": " "}))
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["interpretation"])
    );
    let (s, answer) = ctx
        .post(&lead, &interpret, json!({"interpretation": text}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    let (s, again) = ctx
        .post(&lead, &interpret, json!({"interpretation": text}))
        .await;
    assert_eq!((s, code(&again)), (StatusCode::CONFLICT, "wrong-state"));

    // The patient reads the interpretation, and was told of it.
    let patient = ctx.app.token("patient1", PW).await;
    let (_, report) = ctx.get(&patient, &path).await;
    assert_eq!(
        (
            report["status"].as_str(),
            report["interpretation"].as_str(),
            report["asked_team"]["id"].as_i64()
        ),
        (Some("interpreted"), Some(text), Some(team))
    );
    assert_eq!(
        notified(&ctx, &patient).await["event"],
        "report.interpreted"
    );
}

#[tokio::test]
async fn a_patient_uploads_a_report_from_elsewhere_and_asks_on_the_pages_in_chinese() {
    let ctx = setup().await;
    let (_, me) = signed_patient1(&ctx).await;
    let patient = ctx.app.token("patient1", PW).await;
    let upload = |query: String, body: Vec<u8>| {
        let client = ctx.app.client.clone();
        let url = ctx.app.url(&format!("/api/v1/care-reports/upload?{query}"));
        let token = patient.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, bad) = upload(format!("person_id={me}&kind=ct"), PNG.to_vec()).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["kind", "title", "performed_on", "hospital_name"]
        )
    );
    let good = format!(
        "person_id={me}&kind=imaging&title=CT&performed_on=2026-03-01&hospital_name=%E5%B8%82%E4%BA%BA%E6%B0%91%E5%8C%BB%E9%99%A2"
    );
    let (s, _) = upload(good.clone(), b"not an image".to_vec()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, made) = upload(good, PNG.to_vec()).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let id = made["id"].as_i64().unwrap();
    let file = format!("/api/v1/care-reports/{id}/file");
    let r = ctx
        .app
        .client
        .get(ctx.app.url(&file))
        .bearer_auth(&patient)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status(), r.headers()["content-type"].to_str().unwrap()),
        (StatusCode::OK, "image/png")
    );
    // The team reads it through the contract; a doctor without a link does not.
    let lead = clinician(&ctx, "doctor1").await;
    assert_eq!(ctx.get(&lead, &file).await.0, StatusCode::OK);
    let outsider = clinician(&ctx, "doctor2").await;
    assert_eq!(ctx.get(&outsider, &file).await.0, StatusCode::FORBIDDEN);

    // On the pages: the list in Chinese, the page's upload answering in Chinese, asking the
    // doctor by the form, the doctor's form to answer.
    let son = ctx.app.sign_in_browser("patient1").await;
    let list = son.page("/care/reports").await;
    assert!(
        list.contains("我的检查报告") && list.contains("影像") && list.contains("未解读"),
        "{list}"
    );
    let r = son
        .client
        .post(ctx.app.url(&format!(
            "/care/reports/upload?person_id={me}&kind=lab&title=&performed_on=2026-03-01&hospital_name=A"
        )))
        .header("x-csrf-token", &son.csrf)
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = r.json().await.unwrap();
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("报告名称：请填写 1 到 100 个字"),
        "{answer}"
    );
    let page = son.page(&format!("/care/reports/{id}")).await;
    assert!(
        page.contains("请谁解读") && page.contains("林志明家庭医生团队"),
        "{page}"
    );
    let doctor1 = crate::care::account(&ctx, "doctor1").await;
    let page = son
        .submit(
            &format!("/care/reports/{id}/ask"),
            &[
                ("whom", format!("doctor:{doctor1}")),
                ("question", "需要复查吗？".to_owned()),
            ],
        )
        .await;
    assert!(
        page.contains("id=\"form-notice\"") && page.contains("待解读"),
        "{page}"
    );
    let doctor = ctx.app.sign_in_browser("doctor1").await;
    let queue = doctor.page("/care/reports").await;
    assert!(
        queue.contains("待解读的报告") && queue.contains("需要复查吗？"),
        "{queue}"
    );
}

#[tokio::test]
async fn a_report_is_a_valid_diagnostic_report_with_its_results_and_interpretation() {
    let ctx = setup().await;
    let (team, me) = signed_patient1(&ctx).await;
    let lead = clinician(&ctx, "doctor1").await;
    let (_, made) = ctx.post(&lead, "/api/v1/care-reports", lipids(me)).await;
    let id = made["id"].as_i64().unwrap();
    let pathology = json!({"person_id": me, "kind": "pathology", "title": "胆囊病理",
                           "performed_on": "2026-01-06", "conclusion": "慢性胆囊炎伴胆固醇性结石"});
    let (s, _) = ctx.post(&lead, "/api/v1/care-reports", pathology).await;
    assert_eq!(s, StatusCode::CREATED);
    let patient = ctx.app.token("patient1", PW).await;
    let path = format!("/api/v1/care-reports/{id}");
    ctx.post(&patient, &format!("{path}/ask"), json!({"team_id": team}))
        .await;
    let text = "低密度脂蛋白略高，三个月后复查。";
    ctx.post(
        &lead,
        &format!("{path}/interpretation"),
        json!({"interpretation": text}),
    )
    .await;

    let (s, r) = crate::fhir::fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/DiagnosticReport/{id}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    crate::fhir::assert_valid(&r);
    assert_eq!(
        (
            r["status"].as_str(),
            r["category"][0]["coding"][0]["code"].as_str(),
            r["result"][0]["reference"].as_str(),
        ),
        (Some("appended"), Some("LAB"), Some("#r1"))
    );
    let ldl = &r["contained"][0];
    assert_eq!(
        (
            ldl["code"]["coding"][0]["code"].as_str(),
            ldl["valueQuantity"]["value"].as_f64(),
            ldl["interpretation"][0]["coding"][0]["code"].as_str()
        ),
        (Some("13457-7"), Some(3.8), Some("H"))
    );
    assert_eq!(r["extension"][0]["valueAnnotation"]["text"], text);
    assert!(
        r["resultsInterpreter"][0]["reference"]
            .as_str()
            .unwrap()
            .starts_with("Practitioner/")
    );

    // Searched by patient and category; a stranger's search finds nothing of his.
    let (s, found) = crate::fhir::fhir(
        &ctx.app,
        Some(&lead),
        &format!("/fhir/DiagnosticReport?patient=Patient/{me}&category=PAT"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    crate::fhir::assert_valid(&found);
    assert_eq!(found["total"], 1, "{found}");
    let pat = &found["entry"][0]["resource"];
    assert_eq!(
        (pat["conclusion"].as_str(), pat["status"].as_str()),
        (Some("慢性胆囊炎伴胆固醇性结石"), Some("final"))
    );
    let (s, bad) = crate::fhir::fhir(
        &ctx.app,
        Some(&lead),
        &format!("/fhir/DiagnosticReport?patient={me}&category=XR"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let stranger = ctx.app.token("patient2", PW).await;
    let (s, none) = crate::fhir::fhir(&ctx.app, Some(&stranger), "/fhir/DiagnosticReport").await;
    assert_eq!((s, none["total"].as_i64()), (StatusCode::OK, Some(0)));
}
