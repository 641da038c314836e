//! Smart triage in the app: the API joins the crate's answer with the hospitals' departments
//! (by standard code) and doctors with free time, validates every field, stores an anonymised
//! record and the patient's choice; the page asks follow-ups and the checklist; the CLI
//! evaluates JSON lines.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup, setup_with};

async fn triage(c: &Ctx, body: Value) -> (StatusCode, Value) {
    let r = c
        .app
        .client
        .post(c.app.url("/api/v1/triage"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn field_of(problem: &Value) -> String {
    problem["errors"][0]["field"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn a_complaint_leads_to_the_department_and_a_doctor_with_free_time() {
    let c = setup().await;
    let (doctor, _) = c.session("doctor2", 1, "09:00", None).await;
    // No account needed: a worried patient is not sent to a login form first.
    let (s, a) = triage(
        &c,
        json!({"text": "咳嗽有痰一个星期了，晚上咳得睡不着", "age_years": 40}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["departments"][0]["code"], "03.01");
    assert_eq!(a["urgency"], "routine");
    assert!(
        a["checklist"].as_array().unwrap().len() >= 10,
        "the red-flag checklist is offered"
    );
    let option = &a["options"][0];
    assert_eq!(option["code"], "03.01");
    let place = &option["places"][0];
    assert_eq!(place["std_code"], "03.01");
    assert_eq!(place["department_name"], "呼吸内科");
    let offered: Vec<i64> = place["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["doctor_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        offered,
        [doctor],
        "only doctors with a free time are offered"
    );
    let tomorrow = yunyi::time::today() + chrono::Duration::days(1);
    assert_eq!(place["doctors"][0]["next_free_day"], tomorrow.to_string());

    // The record is anonymised: no text, no account, the age as a band.
    let id = a["triage_id"].as_str().unwrap().to_owned();
    let row: (String, Option<String>, String, String) = c.app.db.one(
        "SELECT urgency, age_band, departments, knowledge_version FROM triage_record WHERE token = $1",
        (&id,),
    )
    .await.unwrap();
    assert_eq!(row.0, "routine");
    assert_eq!(row.1.as_deref(), Some("18-44y"));
    assert!(row.2.starts_with("03.01"), "{}", row.2);
    assert!(!row.3.is_empty());

    // The final choice.
    let r = c
        .app
        .client
        .post(c.app.url(&format!("/api/v1/triage/{id}/choice")))
        .json(&json!({"choice": "booking", "department_code": "03.01", "doctor_id": doctor}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let choice = yunyi::triage::store::choice(&c.app.db, &id).await.unwrap();
    assert_eq!(
        choice,
        Some((
            Some("booking".to_owned()),
            Some("03.01".to_owned()),
            Some(doctor)
        ))
    );
    // Wrong choices are named; unknown triages are 404.
    let post = |path: String, body: Value| {
        let client = c.app.client.clone();
        let url = c.app.url(&path);
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    let r = post(
        format!("/api/v1/triage/{id}/choice"),
        json!({"choice": "maybe"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_of(&r.json().await.unwrap()), "choice");
    let r = post(
        format!("/api/v1/triage/{id}/choice"),
        json!({"choice": "booking", "doctor_id": 999_999}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_of(&r.json().await.unwrap()), "doctor_id");
    let r = post(
        format!("/api/v1/triage/{}/choice", "0".repeat(32)),
        json!({"choice": "none"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = post(
        "/api/v1/triage/not-a-token/choice".to_owned(),
        json!({"choice": "none"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    c.app.stop().await;
}

#[tokio::test]
async fn children_emergencies_and_chronic_conditions_map_to_the_hospitals_departments() {
    let c = setup().await;
    // A child: paediatric subspecialty suggested, the hospital's 儿科 (07) sees it.
    let (s, a) = triage(
        &c,
        json!({"text": "宝宝发烧两天了39度还拉肚子", "age_years": 2}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert!(
        a["departments"][0]["code"]
            .as_str()
            .unwrap()
            .starts_with("07")
    );
    assert_eq!(a["urgency"], "urgent");
    assert_eq!(a["options"][0]["places"][0]["std_code"], "07");
    // 儿科 sees 07.04 and 07.02 alike: offered once, under the best suggestion.
    let offered: Vec<i64> = a["options"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["places"].as_array().unwrap().clone())
        .map(|p| p["department_id"].as_i64().unwrap())
        .collect();
    let mut unique = offered.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(offered.len(), unique.len(), "{offered:?}");
    // An emergency: the emergency department first, no checklist left to ask.
    let (_, a) = triage(&c, json!({"text": "胸口闷痛出冷汗半小时"})).await;
    assert_eq!(a["urgency"], "emergency");
    assert_eq!(a["departments"][0]["code"], "20");
    assert_eq!(a["red_flags"][0]["id"], "chest_pain_cardiac");
    assert!(a["checklist"].as_array().unwrap().is_empty());
    assert_eq!(
        a["options"][0]["places"][0]["department_name"],
        "急诊医学科"
    );
    // A confirmed checklist item makes an emergency whatever the words.
    let (_, a) = triage(
        &c,
        json!({"text": "不太舒服", "confirmed_red_flags": ["stroke"]}),
    )
    .await;
    assert_eq!(a["urgency"], "emergency");
    // Limited to one hospital: the county hospital has no 呼吸内科 but 内科 (03) sees it.
    let (_, hospitals) = c.app.get_json("/api/v1/hospitals").await;
    let county = hospitals["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["code"] == "DEMO-JZ-001")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    // The hospital's page leads to triage limited to it.
    let page = c.app.get_text(&format!("/hospitals/{county}")).await;
    assert!(
        page.contains(&format!("/triage?hospital={county}")),
        "{page}"
    );
    let page = c.app.get_text(&format!("/triage?hospital={county}")).await;
    assert!(
        page.contains(&format!("name=\"hospital_id\" value=\"{county}\"")),
        "{page}"
    );
    let (_, a) = triage(&c, json!({"text": "咳嗽有痰一周", "hospital_id": county})).await;
    let place = &a["options"][0]["places"][0];
    assert_eq!(place["hospital_id"], county);
    assert_eq!(place["std_code"], "03");
    c.app.stop().await;
}

#[tokio::test]
async fn every_field_is_validated_with_its_name() {
    let c = setup().await;
    for (body, field) in [
        (json!({"text": ""}), "text"),
        (json!({"text": "？？？😭"}), "text"),
        (json!({"text": "头疼".repeat(1_001)}), "text"),
        (json!({"text": "头疼", "age_years": 200}), "age_years"),
        (
            json!({"text": "头疼", "sex": "male", "pregnant": true}),
            "pregnant",
        ),
        (
            json!({"text": "头疼", "hospital_id": 999_999}),
            "hospital_id",
        ),
        (
            json!({"text": "头疼", "confirmed_red_flags": ["nope"]}),
            "confirmed_red_flags",
        ),
    ] {
        let (s, problem) = triage(&c, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(field_of(&problem), field, "{body}: {problem}");
    }
    // Not JSON, or a field that does not exist: a client error, never a 500.
    for body in [
        json!({"text": "头疼", "mood": "bad"}),
        json!({"text": "头疼", "sex": "other"}),
        json!([1]),
    ] {
        let (s, problem) = triage(&c, body.clone()).await;
        assert!(s.is_client_error(), "{body}: {s} {problem}");
    }
    // Nothing was stored for the rejected requests.
    let n: i64 = c
        .app
        .db
        .scalar("SELECT COUNT(*) FROM triage_record", ())
        .await
        .unwrap();
    assert_eq!(n, 0);
    c.app.stop().await;
}

#[tokio::test]
async fn fever_after_an_outbreak_area_goes_to_the_fever_clinic_as_configured() {
    let c = setup_with(|config| config.triage.outbreak_areas = vec!["某某市".to_owned()]).await;
    let (_, a) = triage(&c, json!({"text": "上周刚从某某市回来，发烧38.5度，咳嗽"})).await;
    assert_eq!(a["screening"], true);
    assert_eq!(a["departments"][0]["code"], "16");
    assert_eq!(
        a["options"][0]["places"][0]["department_name"],
        "感染科（发热门诊）"
    );
    let flagged: i64 = c
        .app
        .db
        .scalar(
            "SELECT COUNT(*) FROM triage_record WHERE screening = TRUE",
            (),
        )
        .await
        .unwrap();
    assert_eq!(flagged, 1);
    c.app.stop().await;
}

#[tokio::test]
async fn the_page_asks_a_follow_up_then_the_checklist_then_advises() {
    let c = setup().await;
    let (doctor, _) = c.session("doctor2", 1, "09:00", None).await;
    let browser = c.app.browser();
    let html = browser
        .get(c.app.url("/triage"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::csrf_from(&html);
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = browser.clone();
        let url = c.app.url("/triage");
        async move {
            let r = browser.post(url).form(&fields).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // An empty complaint: the page says what is wrong, keeps the form, is not a 500.
    let (s, html) = post(vec![
        ("csrf_token", csrf.clone()),
        ("stage", "start".into()),
        ("answer", "   ".into()),
    ])
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"form-message\""), "{html}");
    assert!(html.contains("id=\"triage-form\""));
    // A wrong age: the start again, the complaint kept in the box to send once corrected.
    let (s, html) = post(vec![
        ("csrf_token", csrf.clone()),
        ("stage", "start".into()),
        ("answer", "头疼两天".into()),
        ("age_years", "abc".into()),
    ])
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"form-message\"") && html.contains(">头疼两天</textarea>"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"said-1\""),
        "a refused message is not part of the conversation"
    );
    // A follow-up answer too long: refused, the conversation so far kept, no loop.
    let (_, html) = post(vec![
        ("csrf_token", csrf.clone()),
        ("stage", "follow_up".into()),
        ("said", "不太舒服".into()),
        ("asked", "1".into()),
        ("answer", "咳".repeat(2_001)),
    ])
    .await;
    assert!(
        html.contains("id=\"form-message\"") && html.contains("id=\"said-1\""),
        "{html}"
    );
    assert!(!html.contains("id=\"said-2\""), "{html}");
    // Vague: a follow-up question.
    let (_, html) = post(vec![
        ("csrf_token", csrf.clone()),
        ("stage", "start".into()),
        ("answer", "不太舒服".into()),
    ])
    .await;
    assert!(
        html.contains("id=\"question\"") && html.contains("哪里不舒服"),
        "{html}"
    );
    // The answer: enough now, so the checklist.
    let (_, html) = post(vec![
        ("csrf_token", csrf.clone()),
        ("stage", "follow_up".into()),
        ("said", "不太舒服".into()),
        ("asked", "1".into()),
        ("answer", "咳嗽有痰，一个星期了".into()),
    ])
    .await;
    assert!(html.contains("id=\"checklist\""), "{html}");
    assert!(html.contains("flag_stroke"));
    // Nothing ticked: the advice, with the doctor and a booking button.
    let (_, html) = post(vec![
        ("csrf_token", csrf.clone()),
        ("stage", "checklist".into()),
        ("said", "不太舒服\n咳嗽有痰，一个星期了".into()),
        ("asked", "1".into()),
    ])
    .await;
    assert!(
        html.contains("id=\"result\"") && html.contains("呼吸内科"),
        "{html}"
    );
    assert!(html.contains(&format!("id=\"book-{doctor}\"")), "{html}");
    // A ticked red flag: an emergency with the number to call.
    let (_, html) = post(vec![
        ("csrf_token", csrf.clone()),
        ("stage", "checklist".into()),
        ("said", "头疼".into()),
        ("flag_stroke", "on".into()),
    ])
    .await;
    assert!(html.contains("id=\"call-120\""), "{html}");
    // Words that resemble an emergency no rule recognised: the checklist at once, with a
    // warning, before any other question.
    let (_, html) = post(vec![
        ("csrf_token", csrf.clone()),
        ("stage", "start".into()),
        ("answer", "我爸突然脸色很难看，整个人瘫在沙发上".into()),
    ])
    .await;
    assert!(
        html.contains("id=\"possible-emergency\"") && html.contains("id=\"checklist\""),
        "{html}"
    );
    assert!(!html.contains("id=\"question\""), "{html}");
    c.app.stop().await;
}

#[tokio::test]
async fn the_cli_triages_json_lines_and_reports_bad_lines_in_place() {
    use std::io::Write;
    let mut child = std::process::Command::new(crate::helpers::bin())
        .arg("triage")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "{\"text\": \"胸口闷痛出冷汗半小时\"}\nnot json\n{\"text\": \"\"}\n{\"text\": \"宝宝咳嗽\", \"age_years\": 2}\n"
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["urgency"], "emergency");
    assert_eq!(lines[0]["departments"][0]["code"], "20");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[2]["error"]["field"], "text");
    assert!(
        lines[3]["departments"][0]["code"]
            .as_str()
            .unwrap()
            .starts_with("07")
    );
}
