//! Care plans: doctor1's family-doctor team makes patient1 a hypertension plan under his
//! contract; his high reading opens a task the nurse closes with a reply he reads; the
//! fortnightly questionnaire goes out once at its time, its worrying answers open a task, an
//! unanswered one is chased; the plan ends and its follow-ups and links with it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::care::{clinician, code, id_of, signed_patient1, team};
use crate::helpers::{PW, error_fields};

const DAY: u64 = 86_400;

/// A team with patient1 signed (chronic) and doctor1's hypertension plan for him: (team,
/// person, plan).
async fn plan_for_patient1(ctx: &Ctx) -> (i64, i64, i64) {
    let (team, me) = signed_patient1(ctx).await;
    let lead = clinician(ctx, "doctor1").await;
    let (s, made) = ctx
        .post(
            &lead,
            "/api/v1/care-plans",
            json!({"person_id": me, "team_id": team, "template": "hypertension",
                   "note": "氨氯地平 5 mg 每日一次"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    (team, me, made["id"].as_i64().unwrap())
}

async fn sweep(ctx: &Ctx) -> yunyi::care::followup::Swept {
    let now = ctx.app.state.clock.now_ms();
    yunyi::care::followup::sweep(&ctx.app.state, now)
        .await
        .unwrap()
}

async fn tasks(ctx: &Ctx, token: &str) -> Vec<Value> {
    let (s, list) = ctx.get(token, "/api/v1/care-tasks").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_plan_is_made_from_a_template_by_the_team_and_seen_by_the_two_sides() {
    let ctx = setup().await;
    let team = team(&ctx, 10).await;
    let lead = clinician(&ctx, "doctor1").await;
    let patient = ctx.app.token("patient1", PW).await;
    // patient1's father, whom the team has never seen.
    let me = id_of(&ctx, "SELECT id FROM person WHERE name = $1", "张建国").await;
    // Every wrong field at once.
    let (s, bad) = ctx
        .post(
            &lead,
            "/api/v1/care-plans",
            json!({"template": "flu", "starts_on": "2020-01-01",
                   "limits": {"glucose": {"high": 10}}}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![
                "person_id",
                "team_id",
                "template",
                "starts_on",
                "limits.glucose"
            ]
        )
    );
    let (s, bad) = ctx
        .post(
            &lead,
            "/api/v1/care-plans",
            json!({"person_id": me, "team_id": team, "template": "hypertension",
                   "limits": {"systolic": {"low": 150, "high": 130}}}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["limits.systolic"])
    );
    // Without a contract (or another link) the team has no care relationship: refused.
    let body = json!({"person_id": me, "team_id": team, "template": "hypertension",
                      "limits": {"systolic": {"high": 135}}});
    let (s, _) = ctx.post(&lead, "/api/v1/care-plans", body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A doctor of another team may not write for this one.
    let (s, answer) = ctx
        .post(
            &clinician(&ctx, "doctor2").await,
            "/api/v1/care-plans",
            body.clone(),
        )
        .await;
    assert_eq!(
        (s, error_fields(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["team_id"])
    );
    let (s, _) = ctx
        .post(
            &patient,
            "/api/v1/family-contracts",
            json!({"person_id": me, "team_id": team, "package": "elderly"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, made) = ctx.post(&lead, "/api/v1/care-plans", body).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let id = made["id"].as_i64().unwrap();

    // The patient reads it: the template's limits with the team's change, what is due today,
    // the first questionnaire a fortnight on.
    let (s, plan) = ctx.get(&patient, &format!("/api/v1/care-plans/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    assert_eq!(plan["template"], "hypertension");
    let systolic = plan["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["limit"] == "systolic")
        .cloned()
        .unwrap();
    assert_eq!(
        (systolic["low"].as_f64(), systolic["high"].as_f64()),
        (Some(90.0), Some(135.0))
    );
    assert_eq!(plan["measures"][0]["due"], true, "{plan}");
    let followups = plan["followups"].as_array().unwrap();
    assert_eq!(followups.len(), 1);
    assert_eq!(followups[0]["status"], "scheduled");
    assert!(
        followups[0]["due_at"]
            .as_str()
            .unwrap()
            .ends_with("T09:00:00+08:00")
    );
    // The nurse (a member) reads it; another patient and a doctor off the team do not.
    let nurse = clinician(&ctx, "nurse1").await;
    assert_eq!(
        ctx.get(&nurse, &format!("/api/v1/care-plans/{id}")).await.0,
        StatusCode::OK
    );
    let other = ctx.app.token("patient2", PW).await;
    assert_eq!(
        ctx.get(&other, &format!("/api/v1/care-plans/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let outsider = clinician(&ctx, "doctor2").await;
    assert_eq!(
        ctx.get(&outsider, &format!("/api/v1/care-plans/{id}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, mine) = ctx.get(&patient, "/api/v1/care-plans").await;
    assert_eq!(mine["items"][0]["id"], id);
    let (_, other_list) = ctx.get(&other, "/api/v1/care-plans").await;
    assert_eq!(other_list["items"], json!([]));
}

#[tokio::test]
async fn a_high_reading_gives_the_team_a_task_closed_with_a_reply_the_patient_reads() {
    let ctx = setup().await;
    let (_, me, id) = plan_for_patient1(&ctx).await;
    let patient = ctx.app.token("patient1", PW).await;
    let reading = |body: Value| {
        let mut body = body;
        body["person_id"] = json!(me);
        body
    };
    let (s, bad) = ctx
        .post(
            &patient,
            "/api/v1/care-readings",
            reading(json!({"measure": "blood_pressure", "systolic": 80, "diastolic": 120})),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["diastolic"])
    );
    let (s, bad) = ctx
        .post(
            &patient,
            "/api/v1/care-readings",
            reading(json!({"measure": "glucose", "value": 99})),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["value"])
    );
    let (s, fine) = ctx
        .post(
            &patient,
            "/api/v1/care-readings",
            reading(json!({"measure": "blood_pressure", "systolic": 128, "diastolic": 82})),
        )
        .await;
    assert_eq!(
        (s, fine["flagged"].as_bool()),
        (StatusCode::CREATED, Some(false)),
        "{fine}"
    );
    let (_, high) = ctx
        .post(
            &patient,
            "/api/v1/care-readings",
            reading(json!({"measure": "blood_pressure", "systolic": 152, "diastolic": 96})),
        )
        .await;
    assert_eq!(high["flagged"], true, "{high}");
    assert_eq!(high["tasks"].as_array().map(Vec::len), Some(1));
    // Staff do not enter home readings; nobody enters them for a stranger.
    let nurse = clinician(&ctx, "nurse1").await;
    let (s, _) = ctx
        .post(
            &nurse,
            "/api/v1/care-readings",
            reading(json!({"measure": "glucose", "value": 6})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let stranger = ctx.app.token("patient2", PW).await;
    let (s, _) = ctx
        .post(
            &stranger,
            "/api/v1/care-readings",
            reading(json!({"measure": "glucose", "value": 6})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The nurse's dashboard: the task, due in a day, not yet overdue; a day on, overdue.
    let list = tasks(&ctx, &nurse).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let task = &list[0];
    assert_eq!(
        (
            task["kind"].as_str(),
            task["detail"].as_str(),
            task["overdue"].as_bool(),
            task["urgent"].as_bool()
        ),
        (
            Some("reading"),
            Some("152/96 mmHg"),
            Some(false),
            Some(false)
        )
    );
    assert_eq!(task["plan_id"], id);
    ctx.app.state.clock.advance(Duration::from_secs(DAY + 60));
    let nurse = clinician(&ctx, "nurse1").await;
    assert_eq!(tasks(&ctx, &nurse).await[0]["overdue"], true);
    // A patient has no dashboard; a clinician off the team cannot close it.
    let patient = ctx.app.token("patient1", PW).await;
    assert_eq!(
        ctx.get(&patient, "/api/v1/care-tasks").await.0,
        StatusCode::FORBIDDEN
    );
    let task_id = task["id"].as_i64().unwrap();
    let close = format!("/api/v1/care-tasks/{task_id}/close");
    let outsider = clinician(&ctx, "doctor2").await;
    let (s, _) = ctx
        .post(&outsider, &close, json!({"reply": "请复测"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, bad) = ctx.post(&nurse, &close, json!({"reply": " "})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["reply"])
    );
    let reply = "已电话联系：请静坐 5 分钟后复测，继续服药，明早再测一次。";
    let (s, answer) = ctx.post(&nurse, &close, json!({"reply": reply})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    let (s, again) = ctx.post(&nurse, &close, json!({"reply": reply})).await;
    assert_eq!(
        (s, code(&again)),
        (StatusCode::CONFLICT, "wrong-state"),
        "{again}"
    );

    // The patient reads the reply by his reading, and was told of it.
    let (_, plan) = ctx.get(&patient, &format!("/api/v1/care-plans/{id}")).await;
    let flagged = plan["readings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["flagged"] == true)
        .cloned()
        .unwrap();
    assert_eq!(
        (flagged["text"].as_str(), flagged["reply"].as_str()),
        (Some("152/96 mmHg"), Some(reply))
    );
    let (_, inbox) = ctx.get(&patient, "/api/v1/notifications").await;
    assert_eq!(inbox["items"][0]["event"], "care.reply", "{inbox}");
    assert_eq!(inbox["items"][0]["link"], format!("/care/plans/{id}"));
    // The dashboard keeps it a day among the closed.
    let list = tasks(&ctx, &nurse).await;
    assert_eq!(
        (list[0]["status"].as_str(), list[0]["reply"].as_str()),
        (Some("closed"), Some(reply))
    );
}

#[tokio::test]
async fn a_questionnaire_goes_out_once_at_its_time_and_an_unanswered_one_is_chased() {
    let ctx = setup().await;
    let (_, me, id) = plan_for_patient1(&ctx).await;
    assert_eq!(sweep(&ctx).await.sent, 0, "not yet due");
    ctx.app.state.clock.advance(Duration::from_secs(15 * DAY));
    let sent = sweep(&ctx).await;
    assert_eq!((sent.sent, sent.chased), (1, 0));
    assert_eq!(sweep(&ctx).await.sent, 0, "once");
    let patient = ctx.app.token("patient1", PW).await;
    let (_, plan) = ctx.get(&patient, &format!("/api/v1/care-plans/{id}")).await;
    let followups = plan["followups"].as_array().cloned().unwrap();
    assert_eq!(
        followups
            .iter()
            .map(|f| f["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["sent", "scheduled"],
        "the next one a fortnight later"
    );
    let first = followups[0]["id"].as_i64().unwrap();
    let (_, inbox) = ctx.get(&patient, "/api/v1/notifications").await;
    assert_eq!(inbox["items"][0]["event"], "care.followup");
    assert_eq!(
        inbox["items"][0]["link"],
        format!("/care/followups/{first}")
    );

    // Answers are checked, every problem named; a worrying one opens a task.
    let answers = format!("/api/v1/care-followups/{first}/answers");
    let (s, bad) = ctx
        .post(
            &patient,
            &answers,
            json!({"answers": {"medication": "yes", "bp": 1}}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![
                "answers.bp",
                "answers.medication",
                "answers.symptoms",
                "answers.salt"
            ]
        )
    );
    let nurse = clinician(&ctx, "nurse1").await;
    let (s, _) = ctx
        .post(
            &nurse,
            &answers,
            json!({"answers": {"medication": true, "symptoms": true, "salt": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the patient side answers");
    let (s, done) = ctx
        .post(
            &patient,
            &answers,
            json!({"answers": {"medication": true, "symptoms": true, "salt": false, "other": "早上头晕"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert!(done["task"].is_i64(), "{done}");
    let (s, again) = ctx
        .post(
            &patient,
            &answers,
            json!({"answers": {"medication": true, "symptoms": false, "salt": true}}),
        )
        .await;
    assert_eq!((s, code(&again)), (StatusCode::CONFLICT, "wrong-state"));
    let list = tasks(&ctx, &nurse).await;
    assert_eq!(
        (
            list[0]["kind"].as_str(),
            list[0]["detail"].as_str(),
            list[0]["questionnaire"].as_str()
        ),
        (Some("answer"), Some("symptoms,salt"), Some("hypertension"))
    );
    let (_, seen) = ctx
        .get(&nurse, &format!("/api/v1/care-followups/{first}"))
        .await;
    assert_eq!(seen["answers"]["other"], "早上头晕");

    // The next is sent at day 28 and, unanswered three days on, chased: the patient reminded,
    // the team given a task to call.
    ctx.app.state.clock.advance(Duration::from_secs(17 * DAY));
    let swept = sweep(&ctx).await;
    assert_eq!((swept.sent, swept.chased), (1, 1));
    assert_eq!(
        sweep(&ctx).await,
        yunyi::care::followup::Swept { sent: 0, chased: 0 }
    );
    let nurse = clinician(&ctx, "nurse1").await;
    let list = tasks(&ctx, &nurse).await;
    assert!(
        list.iter()
            .any(|t| t["kind"] == "missed" && t["person"]["id"] == me),
        "{list:?}"
    );

    // The team ends the plan: what was scheduled is cancelled, nothing more goes out.
    let (s, _) = ctx
        .post(
            &patient_token(&ctx).await,
            &format!("/api/v1/care-plans/{id}/end"),
            json!({"reason": "不想要了"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the team ends a plan");
    let (s, answer) = ctx
        .post(
            &nurse,
            &format!("/api/v1/care-plans/{id}/end"),
            json!({"reason": "转入上级医院管理"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    ctx.app.state.clock.advance(Duration::from_secs(30 * DAY));
    assert_eq!(sweep(&ctx).await.sent, 0);
    let scheduled = id_of(
        &ctx,
        "SELECT COUNT(*) FROM care_followup WHERE plan_id = CAST($1 AS BIGINT) AND status = 'scheduled'",
        &id.to_string(),
    )
    .await;
    assert_eq!(scheduled, 0);
}

async fn patient_token(ctx: &Ctx) -> String {
    ctx.app.token("patient1", PW).await
}

#[tokio::test]
async fn the_pages_make_a_plan_take_answers_and_show_the_dashboard_in_chinese() {
    let ctx = setup().await;
    let (team, me, _) = plan_for_patient1(&ctx).await;
    // The nurse opens the editor from the contract and makes a diabetes plan; a wrong limit is
    // named in Chinese and nothing is made.
    let nurse = ctx.app.sign_in_browser("nurse1").await;
    let fd = nurse.page("/family-doctor").await;
    assert!(fd.contains("制定管理计划"), "{fd}");
    let editor = nurse
        .page(&format!("/care/plans/new?person_id={me}&team_id={team}"))
        .await;
    assert!(
        editor.contains("2 型糖尿病管理") && editor.contains("预警范围"),
        "{editor}"
    );
    let form = |high: &str| {
        vec![
            ("person_id", me.to_string()),
            ("team_id", team.to_string()),
            ("template", "diabetes".to_owned()),
            ("starts_on", String::new()),
            ("note", "二甲双胍 0.5 g 每日两次".to_owned()),
            ("high_glucose", high.to_owned()),
            ("low_systolic", String::new()),
        ]
    };
    let page = nurse.submit("/care/plans", &form("99")).await;
    assert!(page.contains("下限须低于上限"), "{page}");
    let plans = |ctx: &Ctx| {
        let db = ctx.app.db.clone();
        async move {
            db.scalar::<i64>(
                "SELECT COUNT(*) FROM care_plan WHERE template = 'diabetes'",
                (),
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(plans(&ctx).await, 0);
    let page = nurse.submit("/care/plans", &form("11,1")).await;
    assert!(
        page.contains("2 型糖尿病管理") && page.contains("二甲双胍") && page.contains("11.1"),
        "{page}"
    );
    assert_eq!(plans(&ctx).await, 1);

    // A fortnight on, the hypertension questionnaire is answered on its page.
    ctx.app.state.clock.advance(Duration::from_secs(15 * DAY));
    sweep(&ctx).await;
    let son = ctx.app.sign_in_browser("patient1").await;
    let first = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT MIN(id) FROM care_followup WHERE status = 'sent'",
            (),
        )
        .await
        .unwrap();
    let page = son.page(&format!("/care/followups/{first}")).await;
    assert!(page.contains("是否有头痛、头晕、胸闷或视物模糊"), "{page}");
    let page = son
        .submit(
            &format!("/care/followups/{first}"),
            &[("medication", "yes".to_owned())],
        )
        .await;
    assert!(page.contains("请按题目要求作答"), "{page}");
    let page = son
        .submit(
            &format!("/care/followups/{first}"),
            &[
                ("medication", "yes".to_owned()),
                ("symptoms", "no".to_owned()),
                ("salt", "yes".to_owned()),
                ("other", "".to_owned()),
            ],
        )
        .await;
    assert!(page.contains("id=\"form-notice\""), "{page}");
    let page = son.page(&format!("/care/followups/{first}")).await;
    assert!(
        page.contains("已填写的回答") && page.contains("id=\"given-symptoms\">否"),
        "{page}"
    );

    // His high reading on the plan page reaches the nurse's dashboard.
    let plan = ctx
        .app
        .db
        .scalar::<i64>("SELECT MIN(id) FROM care_plan", ())
        .await
        .unwrap();
    let page = son
        .submit(
            &format!("/care/plans/{plan}/readings"),
            &[
                ("person_id", me.to_string()),
                ("measure", "blood_pressure".to_owned()),
                ("systolic", "186".to_owned()),
                ("diastolic", "abc".to_owned()),
            ],
        )
        .await;
    assert!(page.contains("id=\"form-message\""), "{page}");
    let page = son
        .submit(
            &format!("/care/plans/{plan}/readings"),
            &[
                ("person_id", me.to_string()),
                ("measure", "blood_pressure".to_owned()),
                ("systolic", "186".to_owned()),
                ("diastolic", "112".to_owned()),
            ],
        )
        .await;
    assert!(
        page.contains("已通知您的团队") && page.contains("186/112 mmHg"),
        "{page}"
    );
    let nurse = ctx.app.sign_in_browser("nurse1").await;
    let list = nurse.page("/care/tasks/list").await;
    assert!(
        list.contains("紧急") && list.contains("186/112 mmHg") && list.contains("张伟"),
        "{list}"
    );
}

#[tokio::test]
async fn a_plan_and_its_team_are_valid_fhir_read_by_their_readers_only() {
    let ctx = setup().await;
    let (team, me, id) = plan_for_patient1(&ctx).await;
    let patient = ctx.app.token("patient1", PW).await;
    let (s, plan) =
        crate::fhir::fhir(&ctx.app, Some(&patient), &format!("/fhir/CarePlan/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    assert_eq!(
        (plan["status"].as_str(), plan["title"].as_str()),
        (Some("active"), Some("高血压管理"))
    );
    assert_eq!(plan["subject"]["reference"], format!("Patient/{me}"));
    assert_eq!(plan["careTeam"][0]["reference"], format!("CareTeam/{team}"));
    let (_, found) = crate::fhir::fhir(
        &ctx.app,
        Some(&patient),
        &format!("/fhir/CarePlan?patient=Patient/{me}"),
    )
    .await;
    assert_eq!(
        found["entry"][0]["resource"]["id"],
        id.to_string(),
        "{found}"
    );
    let other = ctx.app.token("patient2", PW).await;
    let (s, _) = crate::fhir::fhir(&ctx.app, Some(&other), &format!("/fhir/CarePlan/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, bad) = crate::fhir::fhir(&ctx.app, Some(&patient), "/fhir/CarePlan?code=x").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (s, t) =
        crate::fhir::fhir(&ctx.app, Some(&patient), &format!("/fhir/CareTeam/{team}")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["participant"].as_array().map(Vec::len), Some(2));
}
