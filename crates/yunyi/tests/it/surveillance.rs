//! Epidemic screening and suspected cases: the seed's case flagged from an intake with its
//! evidence, signals adding up across chat messages, negations and old travel not flagged,
//! the doctor's own flag, the escalation's steps and illegal moves, the report card, who may
//! see and change what, the rules' versions, and the overdue reminders.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::consult::{intake, service_of, signed_doctor};
use crate::helpers::PW;

/// The officer's hospital gets Wuhan on its outbreak list (since long ago, not ended).
pub(crate) async fn list_wuhan(ctx: &Ctx, officer: &str) {
    let (status, view) = ctx.get(officer, "/api/v1/surveillance/rules").await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let mut rules = view["rules"].clone();
    rules["area"] =
        json!([{"name": "武汉", "aliases": ["武汉市"], "region": "420100", "from": "2020-01-01"}]);
    let (status, saved) = ctx
        .send(
            Method::PUT,
            officer,
            "/api/v1/surveillance/rules",
            Some(json!({"rules": rules, "note": "武汉列为疫区"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], view["version"].as_i64().unwrap() + 1);
}

/// A paid text consultation of patient1 with doctor5 whose complaint is `complaint`.
async fn consultation(ctx: &Ctx, patient: &str, complaint: &str) -> i64 {
    let service = service_of(ctx, "doctor5", "text_consult").await;
    let mut body = intake(complaint);
    body["symptoms"] = json!([]);
    let (status, c) = ctx
        .request_paid(patient, json!({"service_id": service, "intake": body}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    c["id"].as_i64().unwrap()
}

async fn open_cases(ctx: &Ctx, officer: &str) -> Vec<Value> {
    let (status, list) = ctx.get(officer, "/api/v1/epi-cases").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["open"].as_array().unwrap().clone()
}

async fn case_of(ctx: &Ctx, consultation: i64) -> Option<i64> {
    yunyi::surveillance::store::case_of_consultation(&ctx.app.db, consultation)
        .await
        .unwrap()
        .map(|c| c.id)
}

/// A count, with the audit events written so far sealed into the trail first.
async fn scalar(ctx: &Ctx, sql: &str) -> i64 {
    yunyi::audit::seal(&ctx.app.db).await.unwrap();
    ctx.app.db.scalar::<i64>(sql, ()).await.unwrap()
}

fn evidence<'a>(case: &'a Value, signal: &str) -> &'a Value {
    case["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e[0] == signal)
        .map(|e| &e[1])
        .unwrap_or_else(|| panic!("no {signal} evidence in {case}"))
}

#[tokio::test]
async fn the_seeds_patient_is_flagged_from_the_intake_with_evidence_and_the_officer_is_told() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    list_wuhan(&ctx, &officer).await;
    let patient = ctx.app.token("patient1", PW).await;
    let today = yunyi::time::cst_today(yunyi::clock::now_ms()).to_string();
    let suspected_before = suspected_today(&ctx, &today).await;
    let id = consultation(&ctx, &patient, "刚从武汉回来，发烧38.5度，不敢去医院").await;

    let case_id = case_of(&ctx, id).await.expect("flagged");
    let open = open_cases(&ctx, &officer).await;
    let item = open
        .iter()
        .find(|c| c["id"] == case_id)
        .expect("in the officer's open cases");
    // The list shows a masked name only (it refreshes every few seconds, unaudited).
    assert_eq!(item["patient"], "张*");
    assert_eq!(item["rule_name"], "疑似病例：发热伴流行病学史");
    assert_eq!(item["status"], "flagged");

    let (status, case) = ctx
        .get(&officer, &format!("/api/v1/epi-cases/{case_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["rule_id"], "suspected_case");
    let (_, rules) = ctx.get(&officer, "/api/v1/surveillance/rules").await;
    assert_eq!(case["rule_version"], rules["version"]);
    assert_eq!(case["consultation_id"], id);
    assert_eq!(case["patient_name"], "张伟");
    assert_eq!(case["contact_phone"], "13800000001");
    let fever = evidence(&case, "fever");
    assert_eq!(fever["quote"], "发烧38.5度");
    assert_eq!(fever["source"], "intake.chief_complaint");
    assert_eq!(evidence(&case, "outbreak_area")["quote"], "刚从武汉回来");
    assert_eq!(case["next_action"], "contact");
    let due = case["due_at"].as_i64().unwrap() - case["created_at"].as_i64().unwrap();
    assert_eq!(due, 30 * 60_000, "contact is due within half an hour");

    // The officer's phone gets the alert (through the Notifier, as a durable job).
    let inbox = ctx.app.state.inbox.clone().unwrap();
    let wanted = format!("病例 {case_id}）");
    let message = crate::helpers::eventually(std::time::Duration::from_secs(10), || {
        let inbox = inbox.clone();
        let wanted = wanted.clone();
        async move {
            inbox
                .entries()
                .into_iter()
                .find(|e| e.to == "13900000103" && e.text.contains(&wanted))
        }
    })
    .await
    .expect("the officer is messaged");
    assert_eq!(message.kind, "epi.flag");

    // The doctor sees it first in the queue, marked, and on the consultation's page.
    let doctor_token = signed_doctor(&ctx, "doctor5").await;
    let (_, queue) = ctx.get(&doctor_token, "/api/v1/consultations/queue").await;
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items[0]["suspected"], true, "{queue}");
    assert!(
        items
            .iter()
            .any(|q| q["id"] == id && q["suspected"] == true)
    );
    let doctor = ctx.app.sign_in_browser("doctor5").await;
    doctor.post_form("/me/step-up", &[("password", PW)]).await;
    let page = doctor.page(&format!("/consultations/{id}")).await;
    assert!(page.contains("id=\"epi-flag\""), "{page}");
    assert!(page.contains("疑似病例：发热伴流行病学史"));

    // Counted for surveillance: the consultation's syndrome and the flag.
    assert_eq!(
        suspected_today(&ctx, &today).await,
        suspected_before + 2,
        "one from the intake, one from the flag"
    );
}

async fn suspected_today(ctx: &Ctx, today: &str) -> i64 {
    yunyi::surveillance::store::day_counts(&ctx.app.db, today, today)
        .await
        .unwrap()
        .iter()
        .filter(|c| c.syndrome == "suspected")
        .map(|c| c.n)
        .sum()
}

#[tokio::test]
async fn chat_messages_add_up_and_negations_or_old_travel_do_not_flag() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    list_wuhan(&ctx, &officer).await;
    let patient = ctx.app.token("patient1", PW).await;
    // The demo's own case is there already.
    let before = open_cases(&ctx, &officer).await.len();

    // Denied fever and travel long ago: nothing.
    let quiet = consultation(&ctx, &patient, "没有发烧，两个月前去过武汉，最近血压偏高").await;
    let say = |id: i64, text: &'static str| {
        let ctx = &ctx;
        let patient = patient.clone();
        async move {
            let (status, m) = ctx
                .post(
                    &patient,
                    &format!("/api/v1/consultations/{id}/messages"),
                    json!({ "text": text }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{m}");
            m["seq"].as_i64().unwrap()
        }
    };
    say(quiet, "没去过武汉，也没有接触过确诊病例").await;
    assert_eq!(case_of(&ctx, quiet).await, None);
    assert_eq!(open_cases(&ctx, &officer).await.len(), before);

    // Fever in one message, travel in a later one: flagged by the second, with both.
    let id = consultation(&ctx, &patient, "头疼，想咨询一下").await;
    let fever_seq = say(id, "我发烧38度了").await;
    assert_eq!(
        case_of(&ctx, id).await,
        None,
        "fever alone is no suspected case"
    );
    let travel_seq = say(id, "上周从武汉回来的").await;
    let case_id = case_of(&ctx, id)
        .await
        .expect("flagged by the second message");
    let (_, case) = ctx
        .get(&officer, &format!("/api/v1/epi-cases/{case_id}"))
        .await;
    assert_eq!(
        evidence(&case, "fever")["source"],
        format!("message:{fever_seq}")
    );
    assert_eq!(
        evidence(&case, "outbreak_area")["source"],
        format!("message:{travel_seq}")
    );
    // More messages do not open a second case.
    say(id, "还有点咳嗽").await;
    assert_eq!(open_cases(&ctx, &officer).await.len(), before + 1);
}

#[tokio::test]
async fn the_escalation_goes_step_by_step_to_a_report_card_and_refuses_illegal_moves() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    list_wuhan(&ctx, &officer).await;
    let patient = ctx.app.token("patient1", PW).await;
    let id = consultation(&ctx, &patient, "刚从武汉回来，发烧38.5度，不敢去医院").await;
    let case_id = case_of(&ctx, id).await.unwrap();
    let path = format!("/api/v1/epi-cases/{case_id}/steps");

    let (status, body) = ctx
        .post(
            &officer,
            &path,
            json!({"action": "book_test", "test_name": "核酸检测", "test_at": "2026-11-24T09:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("the next step is contact")
    );
    let (status, body) = ctx
        .post(&officer, &path, json!({"action": "contact"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "note");

    let steps = [
        json!({"action": "contact", "note": "电话联系患者，居家等待，佩戴口罩"}),
        json!({"action": "arrange_transport", "transport": "ambulance", "instructions": "负压救护车 14:00 到达"}),
        json!({"action": "book_test", "test_name": "新型冠状病毒核酸检测", "test_at": "2026-11-24T09:00"}),
        json!({"action": "record_result", "result": "positive", "disease": "新型冠状病毒感染", "disease_class": "B", "classification": "confirmed", "onset_on": "2026-11-20"}),
        json!({"action": "close", "note": "已转定点医院"}),
    ];
    let mut last = Value::Null;
    for step in steps {
        let (status, view) = ctx.post(&officer, &path, step.clone()).await;
        assert_eq!(status, StatusCode::OK, "{step}: {view}");
        last = view;
    }
    assert_eq!(last["status"], "closed");
    assert_eq!(last["transport"], "ambulance");
    assert_eq!(last["result"], "positive");
    assert!(
        last["report_id"].is_i64(),
        "a positive result makes the report card"
    );
    assert!(last["due_at"].is_null());
    let history: Vec<&str> = last["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "flagged",
            "contacted",
            "transport_arranged",
            "test_booked",
            "result_recorded",
            "closed"
        ]
    );
    let (status, _) = ctx
        .post(
            &officer,
            &path,
            json!({"action": "dismiss", "note": "误报误报"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "an ended case does not move");

    // The report card, with the identity number the card must carry; the export is audited.
    let r = ctx
        .app
        .get_as(&officer, "/api/v1/surveillance/report-cards")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("\u{feff}卡片编号,患者姓名,有效证件号")
    );
    let card = lines.next().expect("one card");
    assert!(
        card.contains("张伟,440106198503120015,男,1985-03-12"),
        "{card}"
    );
    assert!(card.contains("确诊病例,2026-11-20"), "{card}");
    assert!(card.contains("新型冠状病毒感染,乙类"), "{card}");
    let exports: i64 = scalar(
        &ctx,
        "SELECT COUNT(*) FROM audit_event WHERE action = 'disease_report.export'",
    )
    .await;
    assert_eq!(exports, 1);
    let doctor = signed_doctor(&ctx, "doctor5").await;
    let r = ctx
        .app
        .get_as(&doctor, "/api/v1/surveillance/report-cards")
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Each step is in the audit trail.
    let events: i64 = scalar(
        &ctx,
        "SELECT COUNT(*) FROM audit_event WHERE action = 'epi_case.record_result'",
    )
    .await;
    assert_eq!(events, 1);
}

#[tokio::test]
async fn a_case_is_dismissed_with_a_reason_and_the_doctor_can_flag_by_hand() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    let before = open_cases(&ctx, &officer).await.len();
    let patient = ctx.app.token("patient1", PW).await;
    let id = consultation(&ctx, &patient, "嗓子疼两天").await;
    let doctor = signed_doctor(&ctx, "doctor5").await;
    let flag = format!("/api/v1/consultations/{id}/flag");
    let (status, _) = ctx
        .post(
            &doctor,
            &format!("/api/v1/consultations/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = ctx.post(&doctor, &flag, json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "reason");
    let (status, body) = ctx
        .post(&doctor, &flag, json!({"reason": "患者诉其家人确诊，发热"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let case_id = body["case_id"].as_i64().unwrap();
    let (status, _) = ctx
        .post(&doctor, &flag, json!({"reason": "再次标注一下"}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "one open case per consultation"
    );
    let other = signed_doctor(&ctx, "doctor4").await;
    let (status, _) = ctx
        .post(&other, &flag, json!({"reason": "不是我的病人"}))
        .await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );

    let (_, case) = ctx
        .get(&officer, &format!("/api/v1/epi-cases/{case_id}"))
        .await;
    assert_eq!(case["rule_id"], "doctor");
    assert_eq!(evidence(&case, "doctor")["quote"], "患者诉其家人确诊，发热");
    let path = format!("/api/v1/epi-cases/{case_id}/steps");
    let (status, body) = ctx
        .post(&officer, &path, json!({"action": "dismiss", "note": "否"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, view) = ctx
        .post(
            &officer,
            &path,
            json!({"action": "dismiss", "note": "电话核实：家人为流感确诊，非传染病疫情"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "dismissed");
    assert_eq!(open_cases(&ctx, &officer).await.len(), before);
}

#[tokio::test]
async fn only_the_hospitals_officers_work_cases_and_only_they_change_the_rules() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    list_wuhan(&ctx, &officer).await;
    let patient = ctx.app.token("patient1", PW).await;
    let id = consultation(&ctx, &patient, "刚从武汉回来，发烧38.5度").await;
    let case_id = case_of(&ctx, id).await.unwrap();
    let case_path = format!("/api/v1/epi-cases/{case_id}");

    let (status, _) = ctx.get(&patient, &case_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let doctor = signed_doctor(&ctx, "doctor5").await;
    let (status, _) = ctx.get(&doctor, &case_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ctx.get(&doctor, "/api/v1/epi-cases").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The regulator sees the list (masked), not the case.
    let regulator = ctx.app.token("regulator1", PW).await;
    let (status, list) = ctx.get(&regulator, "/api/v1/epi-cases").await;
    assert_eq!(status, StatusCode::OK);
    let mine = list["open"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == case_id)
        .unwrap();
    assert_eq!(mine["patient"], "张*");
    let (status, _) = ctx.get(&regulator, &case_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Rules: the regulator reads a named hospital's, changes none.
    let hospital = mine["hospital_id"].as_i64().unwrap();
    let (status, view) = ctx
        .get(
            &regulator,
            &format!("/api/v1/surveillance/rules?hospital_id={hospital}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["history"][0]["note"], "武汉列为疫区");
    let (status, _) = ctx
        .send(
            Method::PUT,
            &regulator,
            "/api/v1/surveillance/rules",
            Some(json!({"rules": view["rules"], "note": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ctx.get(&patient, "/api/v1/surveillance/rules").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A bad rule set: every problem named, nothing saved.
    let mut rules = view["rules"].clone();
    rules["area"][0]["from"] = json!("2026-02-30");
    rules["rule"][0]["all"] = json!(["fevr"]);
    let (status, body) = ctx
        .send(
            Method::PUT,
            &officer,
            "/api/v1/surveillance/rules",
            Some(json!({"rules": rules, "note": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(
        fields,
        ["note", "rules.area[0].from", "rules.rule[0].all[0]"]
    );
    let (_, after) = ctx.get(&officer, "/api/v1/surveillance/rules").await;
    assert_eq!(after["version"], view["version"]);
}

#[tokio::test]
async fn an_overdue_step_reminds_the_officers_once() {
    use yunyi::jobs::Job;
    use yunyi::surveillance::cases::RemindOverdueDue;
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    list_wuhan(&ctx, &officer).await;
    let patient = ctx.app.token("patient1", PW).await;
    let id = consultation(&ctx, &patient, "刚从武汉回来，发烧38.5度").await;
    let case_id = case_of(&ctx, id).await.unwrap();
    let job = yunyi::surveillance::cases::RemindOverdue(ctx.app.state.clone());
    let job_ctx = yunyi::jobs::JobContext {
        db: ctx.app.db.clone(),
        clock: ctx.app.state.clock.clone(),
        job_id: 0,
        attempt: 1,
    };
    let reminded = || async {
        yunyi::surveillance::store::case(&ctx.app.db, case_id)
            .await
            .unwrap()
            .unwrap()
            .reminded_at
    };
    job.run(&job_ctx, RemindOverdueDue {}).await.unwrap();
    assert_eq!(reminded().await, None, "not due yet");
    ctx.app
        .db
        .execute("UPDATE epi_case SET due_at = 1 WHERE id = $1", (case_id,))
        .await
        .map(|_| ())
        .unwrap();
    job.run(&job_ctx, RemindOverdueDue {}).await.unwrap();
    let first = reminded().await.expect("reminded");
    job.run(&job_ctx, RemindOverdueDue {}).await.unwrap();
    assert_eq!(reminded().await, Some(first), "once per step");
    let (_, list) = ctx.get(&officer, "/api/v1/epi-cases").await;
    let mine = list["open"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == case_id)
        .unwrap();
    assert_eq!(mine["overdue"], true);
    let inbox = ctx.app.state.inbox.clone().unwrap();
    crate::helpers::eventually(std::time::Duration::from_secs(10), || {
        let inbox = inbox.clone();
        async move {
            inbox
                .entries()
                .into_iter()
                .find(|e| e.kind == "epi.overdue" && e.to == "13900000103")
        }
    })
    .await
    .expect("the overdue reminder reaches the officer");
    // The next step clears the reminder and sets a new time.
    let (status, view) = ctx
        .post(
            &officer,
            &format!("/api/v1/epi-cases/{case_id}/steps"),
            json!({"action": "contact", "note": "已电话联系"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["overdue"], false);
    assert_eq!(reminded().await, None);
}

async fn gz_region(ctx: &Ctx) -> String {
    let officer = yunyi::identity::store::account_by_username(&ctx.app.db, "officer1")
        .await
        .unwrap()
        .unwrap();
    yunyi::surveillance::screen::hospital_region(&ctx.app.state, officer.hospital_id.unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_scan_raises_one_alert_for_an_injected_outbreak_and_none_for_a_flat_series() {
    let ctx = setup().await;
    let region = gz_region(&ctx).await;
    let today = yunyi::time::cst_today(yunyi::clock::now_ms());
    // One transaction: the hourly job, which may scan beside this test, sees all of the
    // series or none of it (a half-written history can look like an outbreak).
    let mut series = Vec::new();
    for back in 1..28 {
        let day = (today - chrono::Duration::days(back)).to_string();
        let level = [3, 4, 5, 4][back as usize % 4];
        series.push(("test_outbreak", day.clone(), level));
        series.push(("test_flat", day, level));
    }
    series.push(("test_outbreak", today.to_string(), 16));
    series.push(("test_flat", today.to_string(), 4));
    let mut tx = ctx.app.db.begin().await.unwrap();
    for (syndrome, day, n) in &series {
        let c = yunyi::surveillance::store::Count {
            day,
            region: &region,
            syndrome,
            source: "intake",
            hospital: 0,
        };
        yunyi::surveillance::store::add_count(&mut tx, &c, *n)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    // (The demo's own outbreak was scanned when it was seeded: nothing new there. The hourly
    // job may run beside this one and raise it first: either way there is one alert.)
    let outcome = yunyi::surveillance::scan::run(&ctx.app.state, today)
        .await
        .unwrap();
    assert!(outcome.raised <= 1, "{outcome:?}");
    let again = yunyi::surveillance::scan::run(&ctx.app.state, today)
        .await
        .unwrap();
    assert_eq!((again.raised, again.extended), (0, 0), "deduplicated");

    let regulator = ctx.app.token("regulator1", PW).await;
    let (status, list) = ctx.get(&regulator, "/api/v1/surveillance/alerts").await;
    assert_eq!(status, StatusCode::OK);
    let alerts: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["syndrome"].as_str().unwrap().starts_with("test_"))
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = alerts[0];
    assert_eq!(alert["syndrome"], "test_outbreak");
    assert_eq!(alert["region"], region);
    assert_eq!(alert["day"], today.to_string());
    assert_eq!(alert["count"], 16);
    assert!(alert["threshold"].as_f64().unwrap() < 16.0);
    assert_eq!(alert["status"], "open");
    let id = alert["id"].as_i64().unwrap();

    // The region's officer is told, and sees it with its chart on the dashboard.
    let inbox = ctx.app.state.inbox.clone().unwrap();
    crate::helpers::eventually(std::time::Duration::from_secs(10), || {
        let inbox = inbox.clone();
        async move {
            inbox
                .entries()
                .into_iter()
                .find(|e| e.kind == "epi.alert" && e.to == "13900000103")
        }
    })
    .await
    .expect("the officer is told of the alert");
    let officer = ctx.app.sign_in_browser("officer1").await;
    let page = officer.page("/surveillance").await;
    assert!(page.contains(&format!("id=\"alert-{id}\"")), "{page}");
    assert!(page.contains(&format!("id=\"chart-{id}\"")));
    assert!(page.contains("class=\"alarm\""));
    assert!(page.contains("id=\"region-table\""));

    // A regulator watches: no buttons, and the API refuses with the specific code.
    let act = |action: &str| format!("/api/v1/surveillance/alerts/{id}/{action}");
    let watcher = ctx.app.sign_in_browser("regulator1").await;
    let page = watcher.page("/surveillance").await;
    assert!(page.contains(&format!("id=\"alert-{id}\"")));
    assert!(!page.contains(&format!("id=\"ack-{id}\"")), "{page}");
    let (status, body) = ctx
        .post(&regulator, &act("close"), json!({"note": "监管不处置预警"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "role-required");

    // Acknowledge, then close with a conclusion; a closed series' old days raise nothing.
    let officer_token = ctx.app.token("officer1", PW).await;
    let (status, a) = ctx
        .post(&officer_token, &act("acknowledge"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["status"], "acknowledged");
    let (status, _) = ctx
        .post(&officer_token, &act("acknowledge"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = ctx.post(&officer_token, &act("close"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "note");
    let (status, a) = ctx
        .post(
            &officer_token,
            &act("close"),
            json!({"note": "已核实：学校流感聚集，已处置"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["status"], "closed");
    let after = yunyi::surveillance::scan::run(&ctx.app.state, today)
        .await
        .unwrap();
    assert_eq!(after.raised, 0);
    let patient = ctx.app.token("patient1", PW).await;
    let (status, _) = ctx.get(&patient, "/api/v1/surveillance/alerts").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The counts as CSV.
    let r = ctx
        .app
        .get_as(
            &regulator,
            &format!("/api/v1/surveillance/counts?from={today}&to={today}"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}day,region,syndrome,count\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("{today},{region},test_outbreak,16")),
        "{csv}"
    );
    let r = ctx
        .app
        .get_as(&regulator, "/api/v1/surveillance/counts?from=2026-13-01")
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn officers_work_cases_and_rules_from_their_pages() {
    let ctx = setup().await;
    let officer = ctx.app.sign_in_browser("officer1").await;
    // Add Wuhan through the form; a bad date is named.
    let page = officer
        .submit(
            "/surveillance/rules/areas",
            &[
                ("name", "武汉".into()),
                ("aliases", "武汉市".into()),
                ("region", "4201".into()),
                ("from", "2020-01-01".into()),
            ],
        )
        .await;
    assert!(page.contains("id=\"form-message\""), "{page}");
    assert!(page.contains("region"));
    let page = officer
        .submit(
            "/surveillance/rules/areas",
            &[
                ("name", "武汉".into()),
                ("aliases", "武汉市".into()),
                ("region", "420100".into()),
                ("from", "2020-01-01".into()),
            ],
        )
        .await;
    assert!(page.contains("id=\"area-0\""), "{page}");
    assert!(page.contains("id=\"end-area-0\""));

    let patient = ctx.app.token("patient1", PW).await;
    let id = consultation(&ctx, &patient, "刚从武汉回来，发烧38.5度，不敢去医院").await;
    let case_id = case_of(&ctx, id).await.unwrap();
    let dashboard = officer.page("/surveillance").await;
    assert!(
        dashboard.contains(&format!("id=\"case-{case_id}\"")),
        "{dashboard}"
    );
    let list = officer.page("/surveillance/cases").await;
    assert!(!list.contains("<html"), "the refresh is a fragment");
    assert!(list.contains(&format!("id=\"case-{case_id}\"")));
    let case_page = officer
        .page(&format!("/surveillance/cases/{case_id}"))
        .await;
    assert!(case_page.contains("刚从武汉回来"), "{case_page}");
    assert!(case_page.contains("13800000001"));
    let after = officer
        .submit(
            &format!("/surveillance/cases/{case_id}"),
            &[
                ("action", "contact".into()),
                ("note", "已电话联系，居家隔离等待".into()),
            ],
        )
        .await;
    assert!(after.contains("id=\"form-notice\""), "{after}");
    assert!(after.contains("已联系"));

    // Ending the area today: a new version in the history.
    let rules = officer.submit("/surveillance/rules/areas/0/end", &[]).await;
    assert!(!rules.contains("id=\"end-area-0\""), "{rules}");
    assert!(rules.contains("疫情结束于"));
    // The TOML editor refuses a broken document with its reason.
    let broken = officer
        .submit(
            "/surveillance/rules",
            &[
                ("document", "fever_c = \"hot\"".into()),
                ("note", "试试".into()),
            ],
        )
        .await;
    assert!(broken.contains("id=\"form-message\""), "{broken}");
    assert!(broken.contains("not a valid rule set"));
}

#[tokio::test]
async fn the_demo_has_a_flagged_case_in_officer1s_queue_and_an_outbreak_alert() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    let open = open_cases(&ctx, &officer).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let (_, case) = ctx
        .get(&officer, &format!("/api/v1/epi-cases/{}", open[0]["id"]))
        .await;
    assert_eq!(case["rule_id"], "suspected_case");
    assert_eq!(case["rule_version"], 1);
    assert_eq!(evidence(&case, "outbreak_area")["quote"], "刚从武汉回来");
    let (_, alerts) = ctx.get(&officer, "/api/v1/surveillance/alerts").await;
    let alerts = alerts["items"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["syndrome"], "respiratory");
    assert_eq!(alerts[0]["region"], "440106");
    assert_eq!(alerts[0]["status"], "open");
}

#[tokio::test]
async fn a_case_in_fhir_flag_service_requests_observations_and_the_days_measure_report() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    list_wuhan(&ctx, &officer).await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = service_of(&ctx, "doctor5", "text_consult").await;
    let mut body = intake("刚从武汉回来，发烧，不敢去医院");
    body["temperature_c"] = json!(38.6);
    let (status, c) = ctx
        .request_paid(&patient, json!({"service_id": service, "intake": body}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let case_id = case_of(&ctx, c["id"].as_i64().unwrap()).await.unwrap();
    let fhir = |path: String| {
        let ctx = &ctx;
        let officer = officer.clone();
        async move {
            let (status, r) = ctx.get(&officer, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {r}");
            crate::fhir::assert_valid(&r);
            r
        }
    };
    let flag = fhir(format!("/fhir/Flag/{case_id}")).await;
    assert_eq!(flag["status"], "active");
    assert_eq!(flag["code"]["coding"][0]["code"], "suspected_case");
    assert_eq!(
        flag["encounter"]["reference"],
        format!("Encounter/{}", c["id"])
    );
    let temperature = fhir(format!("/fhir/Observation/{case_id}-temperature")).await;
    assert_eq!(temperature["valueQuantity"]["value"], 38.6);
    assert_eq!(temperature["code"]["coding"][0]["code"], "8310-5");
    let (status, _) = ctx
        .get(&officer, &format!("/fhir/ServiceRequest/{case_id}-test"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no test booked yet");

    let path = format!("/api/v1/epi-cases/{case_id}/steps");
    for step in [
        json!({"action": "contact", "note": "已联系"}),
        json!({"action": "arrange_transport", "transport": "self", "instructions": "佩戴口罩，自驾前往发热门诊"}),
        json!({"action": "book_test", "test_name": "核酸检测", "test_at": "2026-11-24T09:00"}),
        json!({"action": "record_result", "result": "positive", "disease": "新型冠状病毒感染", "disease_class": "B", "classification": "confirmed"}),
    ] {
        let (status, v) = ctx.post(&officer, &path, step).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let transport = fhir(format!("/fhir/ServiceRequest/{case_id}-transport")).await;
    assert_eq!(transport["status"], "completed");
    assert_eq!(transport["code"]["coding"][0]["code"], "self");
    let test = fhir(format!("/fhir/ServiceRequest/{case_id}-test")).await;
    assert_eq!(test["status"], "completed");
    let result = fhir(format!("/fhir/Observation/{case_id}-result")).await;
    assert_eq!(
        result["valueCodeableConcept"]["coding"][0]["code"],
        "10828004"
    );

    let today = yunyi::time::cst_today(yunyi::clock::now_ms());
    let regulator = ctx.app.token("regulator1", PW).await;
    let (status, report) = ctx
        .get(&regulator, &format!("/fhir/MeasureReport/{today}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    crate::fhir::assert_valid(&report);
    let suspected = report["group"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"]["coding"][0]["code"] == "suspected")
        .expect("a suspected group");
    assert!(suspected["population"][0]["count"].as_i64().unwrap() >= 3);

    // Who may not.
    let (status, _) = ctx.get(&patient, &format!("/fhir/Flag/{case_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ctx.get(&regulator, &format!("/fhir/Flag/{case_id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ctx
        .get(&patient, &format!("/fhir/MeasureReport/{today}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ctx.get(&officer, "/fhir/MeasureReport/yesterday").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_signed_prescription_of_a_sentinel_drug_is_counted() {
    let ctx = setup().await;
    let (doctor, visit, hospital) = crate::prescriptions::visit(&ctx, &[]).await;
    let paracetamol = crate::prescriptions::drug(&ctx, hospital, "XY057").await;
    let amlodipine = crate::prescriptions::drug(&ctx, hospital, "XY001").await;
    let today = yunyi::time::cst_today(yunyi::clock::now_ms()).to_string();
    let antipyretics = || async {
        yunyi::surveillance::store::day_counts(&ctx.app.db, &today, &today)
            .await
            .unwrap()
            .iter()
            .filter(|c| c.syndrome == "rx_antipyretic")
            .map(|c| c.n)
            .sum::<i64>()
    };
    let before = antipyretics().await;
    let (status, signed) = ctx
        .post(
            &doctor,
            "/api/v1/prescriptions",
            json!({"consultation_id": visit, "diagnosis_name": "原发性高血压", "items": [
                {"drug_id": amlodipine, "dose": 5, "frequency": "qd", "days": 28},
                {"drug_id": paracetamol, "dose": 500, "frequency": "prn", "days": 3}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    assert_eq!(antipyretics().await, before + 1);
}
