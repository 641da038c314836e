//! Remote consultations between hospitals (远程会诊): the county hospital's doctor19 asks the
//! Guangzhou hospital about patient1's father with the family's consent; the invited side
//! answers, schedules and holds the session with the inviting physician present; the
//! specialist signs an opinion that is never changed afterwards and reads only the items
//! shared with them; each step is audited and each due time reminded once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::helpers::{PW, error_fields};

const BASE: &str = "/api/v1/remote-consultations";

/// The tokens and ids a test needs.
struct World {
    ctx: Ctx,
    /// doctor19 of the county hospital (teleconsult there, caring for the father).
    inviting: String,
    /// doctor1, respiratory medicine in Guangzhou (teleconsult there).
    specialist: String,
    specialist_id: i64,
    /// patient1, the father's son.
    family: String,
    father: i64,
    gz: i64,
    respiratory: i64,
    /// The father's offline diagnosis at the county hospital, shareable.
    diagnosis: i64,
}

async fn scalar(ctx: &Ctx, sql: &str, arg: &str) -> i64 {
    ctx.app.db.scalar::<i64>(sql, (arg,)).await.unwrap()
}

async fn world() -> World {
    let ctx = setup().await;
    let inviting = ctx.app.token("doctor19", PW).await;
    ctx.app.step_up(&inviting).await;
    let specialist = ctx.app.token("doctor1", PW).await;
    ctx.app.step_up(&specialist).await;
    let family = ctx.app.token("patient1", PW).await;
    let father = scalar(&ctx, "SELECT id FROM person WHERE name = $1", "张建国").await;
    let gz = scalar(
        &ctx,
        "SELECT id FROM hospital WHERE code = $1",
        "DEMO-GZ-001",
    )
    .await;
    let respiratory = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT id FROM department WHERE hospital_id = $1 AND std_code = '03.01'",
            (gz,),
        )
        .await
        .unwrap();
    let specialist_id = scalar(
        &ctx,
        "SELECT id FROM account WHERE username = $1",
        "doctor1",
    )
    .await;
    let (s, items) = ctx
        .get(&inviting, &format!("{BASE}/shareable?person_id={father}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{items}");
    let diagnosis = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "offline_diagnosis")
        .expect("the father's diagnosis at the county hospital can be shared")["id"]
        .as_i64()
        .unwrap();
    World {
        ctx,
        inviting,
        specialist,
        specialist_id,
        family,
        father,
        gz,
        respiratory,
        diagnosis,
    }
}

impl World {
    fn draft_body(&self) -> Value {
        json!({
            "person_id": self.father,
            "invited_hospital_id": self.gz,
            "department_id": self.respiratory,
            "urgency": "urgent",
            "question": "请协助评估是否需要无创通气并调整抗感染方案。",
            "summary": "男，74 岁，慢阻肺急性加重，抗感染 3 天后仍低氧。",
            "items": [{"kind": "offline_diagnosis", "id": self.diagnosis}],
        })
    }

    async fn draft(&self, body: Value) -> i64 {
        let (s, created) = self.ctx.post(&self.inviting, BASE, body).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        created["id"].as_i64().unwrap()
    }

    async fn post(&self, token: &str, id: i64, step: &str, body: Value) -> (StatusCode, Value) {
        self.ctx
            .post(token, &format!("{BASE}/{id}/{step}"), body)
            .await
    }

    async fn ok(&self, token: &str, id: i64, step: &str, body: Value) {
        let (s, answer) = self.post(token, id, step, body).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{step}: {answer}");
    }

    async fn view(&self, token: &str, id: i64) -> (StatusCode, Value) {
        self.ctx.get(token, &format!("{BASE}/{id}")).await
    }

    /// Drafted, consented by the son, sent and accepted by doctor1.
    async fn accepted(&self) -> i64 {
        let id = self.draft(self.draft_body()).await;
        self.ok(&self.family, id, "consent", json!({"agree": true}))
            .await;
        self.ok(&self.inviting, id, "send", json!({})).await;
        self.ok(&self.specialist, id, "accept", json!({})).await;
        id
    }

    async fn scheduled(&self) -> i64 {
        let id = self.accepted().await;
        let at = yunyi::time::cst_display(self.ctx.app.state.now_ms() + 3 * 3_600_000);
        self.ok(&self.specialist, id, "schedule", json!({"starts_at": at}))
            .await;
        id
    }

    async fn held(&self) -> i64 {
        let id = self.scheduled().await;
        self.ok(&self.inviting, id, "join", json!({})).await;
        self.ok(&self.specialist, id, "join", json!({})).await;
        self.ok(&self.specialist, id, "hold", json!({})).await;
        id
    }

    async fn report(&self, id: i64) -> (StatusCode, Value) {
        self.ctx
            .send(
                Method::PUT,
                &self.specialist,
                &format!("{BASE}/{id}/report"),
                Some(json!({
                    "findings": "双肺散在哮鸣音，考虑中度急性加重。",
                    "diagnosis_icd10": "j44.1",
                    "diagnosis_name": "慢性阻塞性肺疾病伴急性加重",
                    "recommendations": "控制性氧疗，复查血气；抗感染改为哌拉西林他唑巴坦。",
                })),
            )
            .await
    }

    async fn audit_actions(&self, id: i64) -> Vec<String> {
        self.ctx
            .app
            .db
            .scalars::<String>(
                "SELECT action FROM audit_event WHERE object_type = 'teleconsult' AND object_id = $1 \
                 UNION ALL SELECT action FROM audit_pending WHERE object_type = 'teleconsult' AND object_id = $1",
                (id.to_string(),),
            )
            .await
            .unwrap()
    }
}

fn code(answer: &Value) -> &str {
    answer["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_remote_consultation_goes_from_the_draft_to_the_decision() {
    let w = world().await;
    let id = w.draft(w.draft_body()).await;

    // Not sent without the family's consent.
    let (s, refused) = w.post(&w.inviting, id, "send", json!({})).await;
    assert_eq!(
        (s, code(&refused)),
        (StatusCode::CONFLICT, "consent-required"),
        "{refused}"
    );
    let (s, mine) = w.view(&w.family, id).await;
    assert_eq!(
        (s, mine["standing"].as_str()),
        (StatusCode::OK, Some("patient_side")),
        "{mine}"
    );
    assert_eq!(
        mine["items"][0]["kind"], "offline_diagnosis",
        "the family sees what is shared"
    );
    let (s, bad) = w.post(&w.family, id, "consent", json!({})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["agree"])
    );
    w.ok(&w.family, id, "consent", json!({"agree": true})).await;
    w.ok(&w.inviting, id, "send", json!({})).await;

    // Waiting in the invited hospital's queue: a respiratory doctor holding teleconsult sees it,
    // one without the privilege does not, nor does another department's.
    let queue = |token: String| {
        let ctx = &w.ctx;
        async move {
            let (_, q) = ctx.get(&token, &format!("{BASE}?view=queue")).await;
            q["items"].as_array().unwrap().iter().any(|t| t["id"] == id)
        }
    };
    assert!(queue(w.ctx.app.token("doctor2", PW).await).await);
    assert!(
        !queue(w.ctx.app.token("doctor3", PW).await).await,
        "no teleconsult privilege"
    );
    assert!(
        !queue(w.ctx.app.token("doctor4", PW).await).await,
        "another department"
    );
    assert!(queue(w.ctx.admin.clone()).await, "the coordinator");
    let (s, _) = w.view(&w.ctx.app.token("doctor5", PW).await, id).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a doctor with no standing is not told it exists"
    );

    w.ok(&w.specialist, id, "accept", json!({})).await;
    let at = yunyi::time::cst_display(w.ctx.app.state.now_ms() + 3 * 3_600_000);
    w.ok(&w.specialist, id, "schedule", json!({"starts_at": at}))
        .await;

    // Held only with the inviting physician present.
    w.ok(&w.specialist, id, "join", json!({})).await;
    w.ok(&w.family, id, "join", json!({})).await;
    let (s, absent) = w.post(&w.specialist, id, "hold", json!({})).await;
    assert_eq!(
        (s, code(&absent)),
        (StatusCode::CONFLICT, "participants-absent"),
        "{absent}"
    );
    w.ok(&w.inviting, id, "join", json!({})).await;
    w.ok(&w.inviting, id, "hold", json!({})).await;

    // The report: validated, written, signed, then only added to.
    let (s, bad) = w
        .ctx
        .send(
            Method::PUT,
            &w.specialist,
            &format!("{BASE}/{id}/report"),
            Some(json!({"diagnosis_icd10": "肺炎"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_fields(&bad),
        [
            "findings",
            "diagnosis_icd10",
            "diagnosis_name",
            "recommendations"
        ]
    );
    let (s, _) = w.report(id).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, before) = w.view(&w.inviting, id).await;
    assert!(
        before["report"].is_null(),
        "a draft report is the specialist's alone"
    );
    w.ok(&w.specialist, id, "report/sign", json!({})).await;
    let (s, again) = w.report(id).await;
    assert_eq!(
        (s, code(&again)),
        (StatusCode::CONFLICT, "report-signed"),
        "{again}"
    );
    w.ok(
        &w.specialist,
        id,
        "addenda",
        json!({"body": "痰培养：肺炎克雷伯菌，对哌拉西林他唑巴坦敏感。"}),
    )
    .await;
    let (_, family_view) = w.view(&w.family, id).await;
    assert!(
        family_view["report"].is_null(),
        "the family reads it once the doctor received it"
    );

    let (s, bad) = w.post(&w.inviting, id, "receive", json!({})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["decision"])
    );
    w.ok(
        &w.inviting,
        id,
        "receive",
        json!({"decision": "按会诊意见调整抗感染方案，48 小时后复评。"}),
    )
    .await;
    let (_, done) = w.view(&w.family, id).await;
    assert_eq!(done["status"], "received");
    assert_eq!(done["report"]["diagnosis_icd10"], "J44.1", "{done}");
    assert_eq!(done["report"]["addenda"].as_array().unwrap().len(), 1);
    let parts: Vec<&str> = done["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["part"].as_str().unwrap())
        .collect();
    assert_eq!(parts, ["specialist", "patient", "inviting"]);
    assert!(
        done["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["left_at"].is_null())
    );
    let steps: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "draft",
            "requested",
            "accepted",
            "scheduled",
            "held",
            "reported",
            "received"
        ]
    );

    // Every step is in the audit trail.
    let actions = w.audit_actions(id).await;
    for a in [
        "teleconsult.consent",
        "teleconsult.send",
        "teleconsult.accept",
        "teleconsult.schedule",
        "teleconsult.join",
        "teleconsult.hold",
        "teleconsult.report.save",
        "teleconsult.report.sign",
        "teleconsult.addendum",
        "teleconsult.receive",
        "teleconsult.read",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    // The signed report is kept as signed, by the database too.
    let rewrite = w
        .ctx
        .app
        .db
        .execute(
            "UPDATE teleconsult_report SET findings = 'x' WHERE teleconsult_id = $1",
            (id,),
        )
        .await;
    assert!(rewrite.is_err(), "a signed report cannot be rewritten");
}

#[tokio::test]
async fn the_lifecycle_refuses_every_move_out_of_turn() {
    let w = world().await;
    let id = w.draft(w.draft_body()).await;
    // Nothing happens to a draft but consent, send and cancel.
    let (s, a) = w.post(&w.specialist, id, "accept", json!({})).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a draft is not the invited side's yet: {a}"
    );
    w.ok(&w.family, id, "consent", json!({"agree": true})).await;
    w.ok(&w.inviting, id, "send", json!({})).await;
    let (s, again) = w.post(&w.inviting, id, "send", json!({})).await;
    assert_eq!(
        (s, code(&again)),
        (StatusCode::CONFLICT, "wrong-state"),
        "{again}"
    );
    let (s, consent) = w
        .post(&w.family, id, "consent", json!({"agree": true}))
        .await;
    assert_eq!(
        (s, code(&consent)),
        (StatusCode::CONFLICT, "wrong-state"),
        "{consent}"
    );
    // A doctor who could take it may not hold it or sign for it.
    let (s, _) = w.post(&w.specialist, id, "hold", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, join) = w.post(&w.inviting, id, "join", json!({})).await;
    assert_eq!(
        (s, code(&join)),
        (StatusCode::CONFLICT, "wrong-state"),
        "{join}"
    );
    // Accepted, it has no time yet: nothing is held or signed.
    let accepted = w.accepted().await;
    let (s, early) = w.post(&w.specialist, accepted, "hold", json!({})).await;
    assert_eq!(
        (s, code(&early)),
        (StatusCode::CONFLICT, "wrong-state"),
        "{early}"
    );
    let (s, early) = w
        .post(&w.specialist, accepted, "report/sign", json!({}))
        .await;
    assert_eq!(
        (s, code(&early)),
        (StatusCode::CONFLICT, "wrong-state"),
        "{early}"
    );
    let (s, twice) = w.post(&w.specialist, accepted, "accept", json!({})).await;
    assert_eq!(
        (s, code(&twice)),
        (StatusCode::CONFLICT, "wrong-state"),
        "{twice}"
    );
    // The wrong side: the specialist does not receive, the inviting doctor does not accept.
    let (s, _) = w.post(&w.inviting, id, "accept", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Declining needs a reason, and ends it.
    let doctor2 = w.ctx.app.token("doctor2", PW).await;
    let (s, bad) = w.post(&doctor2, id, "decline", json!({"reason": ""})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["reason"])
    );
    w.ok(
        &doctor2,
        id,
        "decline",
        json!({"reason": "本科室本周无法安排急会诊，建议联系重症医学科。"}),
    )
    .await;
    let (s, late) = w
        .post(&w.inviting, id, "cancel", json!({"reason": "已转诊"}))
        .await;
    assert_eq!(
        (s, code(&late)),
        (StatusCode::CONFLICT, "wrong-state"),
        "{late}"
    );
    let (_, declined) = w.view(&w.inviting, id).await;
    assert_eq!(declined["status"], "declined");
    assert_eq!(
        declined["reason"],
        "本科室本周无法安排急会诊，建议联系重症医学科。"
    );
    let inbox = w
        .ctx
        .get(&w.inviting, "/api/v1/notifications?limit=100")
        .await
        .1;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["event"] == "teleconsult.declined"
                && n["link"] == format!("/remote-consultations/{id}")),
        "the inviting doctor hears of it: {inbox}"
    );

    // After the session the report is the specialist's to sign: no cancelling, no receiving early.
    let held = w.held().await;
    let (s, c) = w
        .post(
            &w.inviting,
            held,
            "cancel",
            json!({"reason": "家属要求转院"}),
        )
        .await;
    assert_eq!((s, code(&c)), (StatusCode::CONFLICT, "wrong-state"), "{c}");
    let (s, r) = w
        .post(&w.inviting, held, "receive", json!({"decision": "收到"}))
        .await;
    assert_eq!((s, code(&r)), (StatusCode::CONFLICT, "wrong-state"), "{r}");
    let (s, unwritten) = w.post(&w.specialist, held, "report/sign", json!({})).await;
    assert_eq!(
        (s, code(&unwritten)),
        (StatusCode::CONFLICT, "report-required"),
        "{unwritten}"
    );
    let (s, _) = w.post(&w.inviting, held, "report/sign", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the specialist signs");

    // The family may withdraw consent before the session.
    let early = w.accepted().await;
    w.ok(
        &w.family,
        early,
        "cancel",
        json!({"reason": "家属决定去广州面诊"}),
    )
    .await;
    let (_, cancelled) = w.view(&w.specialist, early).await;
    assert_eq!(cancelled["status"], "cancelled");
}

#[tokio::test]
async fn who_may_take_part_and_where() {
    let w = world().await;
    // A named specialist must hold teleconsult at the invited hospital.
    let doctor3 = scalar(
        &w.ctx,
        "SELECT id FROM account WHERE username = $1",
        "doctor3",
    )
    .await;
    let mut body = w.draft_body();
    body["specialist_id"] = json!(doctor3);
    let (s, refused) = w.ctx.post(&w.inviting, BASE, body).await;
    assert_eq!(
        (s, code(&refused)),
        (StatusCode::CONFLICT, "privilege-missing"),
        "{refused}"
    );
    // A coordinator accepts by naming one who holds it.
    let id = w.draft(w.draft_body()).await;
    w.ok(&w.family, id, "consent", json!({"agree": true})).await;
    w.ok(&w.inviting, id, "send", json!({})).await;
    let (s, none) = w.post(&w.ctx.admin, id, "accept", json!({})).await;
    assert_eq!(
        (s, error_fields(&none)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["specialist_id"])
    );
    let (s, no) = w
        .post(
            &w.ctx.admin,
            id,
            "accept",
            json!({"specialist_id": doctor3}),
        )
        .await;
    assert_eq!(
        (s, code(&no)),
        (StatusCode::CONFLICT, "privilege-missing"),
        "{no}"
    );
    w.ok(
        &w.ctx.admin,
        id,
        "accept",
        json!({"specialist_id": w.specialist_id}),
    )
    .await;
    let (_, taken) = w.view(&w.specialist, id).await;
    assert_eq!(taken["standing"], "specialist");
    let inbox = w
        .ctx
        .get(&w.specialist, "/api/v1/notifications?limit=100")
        .await
        .1;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["event"] == "teleconsult.request"
                && n["link"] == format!("/remote-consultations/{id}")),
        "the assigned specialist hears of it"
    );

    // Only doctors holding teleconsult invite, only for patients in their care.
    let doctor20 = w.ctx.app.token("doctor20", PW).await;
    w.ctx.app.step_up(&doctor20).await;
    let (s, p) = w.ctx.post(&doctor20, BASE, w.draft_body()).await;
    assert_eq!(
        (s, code(&p)),
        (StatusCode::CONFLICT, "privilege-missing"),
        "{p}"
    );
    let patient3 = scalar(
        &w.ctx,
        "SELECT person_id FROM account WHERE username = $1",
        "patient3",
    )
    .await;
    let mut stranger = w.draft_body();
    stranger["person_id"] = json!(patient3);
    stranger["items"] = json!([]);
    let (s, _) = w.ctx.post(&w.inviting, BASE, stranger).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "no care link with patient3 at the county hospital"
    );
    // Items must be this patient's at this hospital; every bad field is named.
    let mut bad = w.draft_body();
    bad["items"] =
        json!([{"kind": "offline_diagnosis", "id": w.diagnosis}, {"kind": "note", "id": 999999}]);
    bad["urgency"] = json!("soon");
    let (s, problem) = w.ctx.post(&w.inviting, BASE, bad).await;
    assert_eq!(
        (s, error_fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["urgency"])
    );
    let mut bad = w.draft_body();
    bad["items"] =
        json!([{"kind": "offline_diagnosis", "id": w.diagnosis}, {"kind": "note", "id": 999999}]);
    let (s, problem) = w.ctx.post(&w.inviting, BASE, bad).await;
    assert_eq!(
        (s, error_fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["items[1]"])
    );
    let mut own = w.draft_body();
    own["invited_hospital_id"] = json!(
        scalar(
            &w.ctx,
            "SELECT id FROM hospital WHERE code = $1",
            "DEMO-JZ-001"
        )
        .await
    );
    let (s, problem) = w.ctx.post(&w.inviting, BASE, own).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // A suspended hospital takes no patients: neither a new draft nor one sent later.
    let waiting = w.draft(w.draft_body()).await;
    w.ok(&w.family, waiting, "consent", json!({"agree": true}))
        .await;
    let platform = w.ctx.app.token("admin", PW).await;
    let (s, answer) = w
        .ctx
        .post(
            &platform,
            &format!("/api/v1/hospitals/{}/status", w.gz),
            json!({"status": "suspended", "reason": "整改"}),
        )
        .await;
    assert!(s.is_success(), "{answer}");
    let (s, p) = w.ctx.post(&w.inviting, BASE, w.draft_body()).await;
    assert_eq!(
        (s, code(&p)),
        (StatusCode::CONFLICT, "hospital-suspended"),
        "{p}"
    );
    let (s, p) = w.post(&w.inviting, waiting, "send", json!({})).await;
    assert_eq!(
        (s, code(&p)),
        (StatusCode::CONFLICT, "hospital-suspended"),
        "{p}"
    );
}

#[tokio::test]
async fn the_specialist_reads_exactly_the_shared_items_for_a_while() {
    let w = world().await;
    let id = w.accepted().await;
    let (s, items) = w
        .ctx
        .get(&w.specialist, &format!("{BASE}/{id}/items"))
        .await;
    assert_eq!(s, StatusCode::OK, "{items}");
    let items = items["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["lines"][0]["text"],
        "慢性阻塞性肺疾病伴急性加重 (J44.1)"
    );
    let one = format!("{BASE}/{id}/items/offline_diagnosis/{}", w.diagnosis);
    assert_eq!(w.ctx.get(&w.specialist, &one).await.0, StatusCode::OK);
    // Anything else of the patient is not there for them, whatever it is.
    let other = w
        .ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT id FROM offline_diagnosis WHERE person_id <> $1 ORDER BY id LIMIT 1",
            (w.father,),
        )
        .await
        .unwrap();
    for path in [
        format!("{BASE}/{id}/items/offline_diagnosis/{other}"),
        format!("{BASE}/{id}/items/prescription/1"),
        format!("{BASE}/{id}/items/x-ray/1"),
        format!("{BASE}/{id}/records/1"),
    ] {
        assert_eq!(
            w.ctx.get(&w.specialist, &path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (s, _) = w
        .ctx
        .get(&w.specialist, &format!("/api/v1/patients/{}", w.father))
        .await;
    assert!(
        matches!(s, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{s}"
    );
    // The read is audited with the items named.
    let reasons = w
        .ctx
        .app
        .db
        .scalars::<String>(
            "SELECT reason FROM audit_event WHERE action = 'teleconsult.item.read' AND object_id = $1 \
             UNION ALL SELECT reason FROM audit_pending WHERE action = 'teleconsult.item.read' AND object_id = $1",
            (id.to_string(),),
        )
        .await
        .unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(&format!("offline_diagnosis:{}", w.diagnosis))),
        "{reasons:?}"
    );

    // Until the report is signed and three days more.
    let at = yunyi::time::cst_display(w.ctx.app.state.now_ms() + 3_600_000);
    w.ok(&w.specialist, id, "schedule", json!({"starts_at": at}))
        .await;
    w.ok(&w.inviting, id, "join", json!({})).await;
    w.ok(&w.specialist, id, "join", json!({})).await;
    w.ok(&w.specialist, id, "hold", json!({})).await;
    assert_eq!(w.report(id).await.0, StatusCode::NO_CONTENT);
    w.ok(&w.specialist, id, "report/sign", json!({})).await;
    // (Sessions end long before: each reading signs in anew.)
    w.ctx
        .app
        .state
        .clock
        .advance(std::time::Duration::from_secs(71 * 3600));
    let specialist = w.ctx.app.token("doctor1", PW).await;
    assert_eq!(w.ctx.get(&specialist, &one).await.0, StatusCode::OK);
    w.ctx
        .app
        .state
        .clock
        .advance(std::time::Duration::from_secs(2 * 3600));
    let specialist = w.ctx.app.token("doctor1", PW).await;
    assert_eq!(w.ctx.get(&specialist, &one).await.0, StatusCode::FORBIDDEN);
    let inviting = w.ctx.app.token("doctor19", PW).await;
    assert_eq!(
        w.ctx.get(&inviting, &one).await.0,
        StatusCode::OK,
        "the inviting doctor keeps them"
    );
}

#[tokio::test]
async fn due_times_are_reminded_once_and_overdue_ones_shown_to_administrators() {
    use yunyi::jobs::Job;
    let w = world().await;
    // The Guangzhou hospital answers the county hospital's urgent requests within an hour.
    let jz = scalar(
        &w.ctx,
        "SELECT id FROM hospital WHERE code = $1",
        "DEMO-JZ-001",
    )
    .await;
    let terms = format!("/api/v1/hospitals/{}/remote-consultation-terms", w.gz);
    let (s, bad) = w
        .ctx
        .send(
            Method::PUT,
            &w.ctx.admin,
            &terms,
            Some(json!({"inviting_hospital_id": jz, "routine_hours": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&bad), ["routine_hours", "urgent_minutes"]);
    let (s, _) = w
        .ctx
        .send(
            Method::PUT,
            &w.specialist,
            &terms,
            Some(json!({"inviting_hospital_id": jz, "routine_hours": 24, "urgent_minutes": 60})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a doctor does not set the hospital's terms"
    );
    let (s, set) = w
        .ctx
        .send(
            Method::PUT,
            &w.ctx.admin,
            &terms,
            Some(json!({"inviting_hospital_id": jz, "routine_hours": 24, "urgent_minutes": 60})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{set}");
    assert_eq!(
        w.ctx.get(&w.ctx.admin, &terms).await.1["items"][0]["urgent_minutes"],
        60
    );

    let id = w.draft(w.draft_body()).await;
    w.ok(&w.family, id, "consent", json!({"agree": true})).await;
    let sent_at = w.ctx.app.state.now_ms();
    w.ok(&w.inviting, id, "send", json!({})).await;
    let row = yunyi::teleconsult::store::get(&w.ctx.app.db, id)
        .await
        .unwrap()
        .unwrap();
    let report_due = row.report_due_at.unwrap();
    assert!(
        (report_due - sent_at - 3_600_000).abs() < 5_000,
        "the opinion is due in an hour"
    );
    let sent = row.sent_at.unwrap();
    assert_eq!(
        row.due_at,
        Some(sent + (report_due - sent) / 4),
        "the answer in a quarter of it"
    );

    // One reminder queued for the answer; run, it tells the coordinators once.
    let jobs = yunyi::jobs::store::list_by_kind(&w.ctx.app.db, yunyi::teleconsult::reminders::KIND)
        .await
        .unwrap();
    let mine: Vec<_> = jobs
        .iter()
        .filter(|j| j.payload.contains(&format!("\"teleconsult_id\":{id},")))
        .collect();
    assert_eq!(mine.len(), 1, "{jobs:?}");
    let payload: yunyi::teleconsult::reminders::Due =
        serde_json::from_str(&mine[0].payload).unwrap();
    let job = yunyi::teleconsult::reminders::RemindDue(w.ctx.app.state.clone());
    let job_ctx = yunyi::jobs::JobContext {
        db: w.ctx.app.db.clone(),
        clock: w.ctx.app.state.clock.clone(),
        job_id: 0,
        attempt: 1,
    };
    job.run(&job_ctx, payload.clone()).await.unwrap();
    job.run(&job_ctx, payload.clone()).await.unwrap();
    let due_notices = |token: String| {
        let ctx = &w.ctx;
        async move {
            let (_, inbox) = ctx.get(&token, "/api/v1/notifications?limit=100").await;
            inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| {
                    n["event"] == "teleconsult.due"
                        && n["link"] == format!("/remote-consultations/{id}")
                })
                .count()
        }
    };
    assert_eq!(
        due_notices(w.ctx.admin.clone()).await,
        1,
        "once, to the coordinator"
    );

    // Overdue: the invited hospital's administrators see it late.
    let (_, late) = w
        .ctx
        .get(&w.ctx.admin, &format!("{BASE}?overdue=true"))
        .await;
    assert!(
        !late["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id)
    );
    w.ctx
        .app
        .state
        .clock
        .advance(std::time::Duration::from_secs(16 * 60));
    let (_, late) = w
        .ctx
        .get(&w.ctx.admin, &format!("{BASE}?overdue=true"))
        .await;
    let found = late["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned();
    let found = found.expect("overdue for the coordinator");
    assert_eq!(found["overdue"], true);
    assert!(
        found["patient"].is_object(),
        "the coordinator works with the patient's name"
    );

    // Once answered, the old step's reminder does nothing.
    w.ok(&w.specialist, id, "accept", json!({})).await;
    job.run(&job_ctx, payload).await.unwrap();
    assert_eq!(due_notices(w.ctx.admin.clone()).await, 1);
}

#[tokio::test]
async fn consent_on_paper_is_kept_with_its_witness() {
    let w = world().await;
    let id = w.draft(w.draft_body()).await;
    let png = crate::practice::PIXEL_PNG.to_vec();
    let scan = |query: &str, bytes: Vec<u8>| {
        let ctx = &w.ctx;
        let url = ctx.app.url(&format!("{BASE}/{id}/consent/scan{query}"));
        let token = w.inviting.clone();
        async move {
            let r = ctx
                .app
                .client
                .put(url)
                .bearer_auth(token)
                .body(bytes)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (s, body) = scan("?signer=张伟", png.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = scan("?signer=张伟&witness=护士 周敏", b"not an image".to_vec()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, body) = scan("?signer=张伟&witness=护士 周敏", png).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (_, v) = w.view(&w.inviting, id).await;
    assert_eq!(v["consent"]["method"], "paper");
    assert_eq!(v["consent"]["witness"], "护士 周敏");
    w.ok(&w.inviting, id, "send", json!({})).await;
    w.ok(&w.specialist, id, "accept", json!({})).await;
    let r = w
        .ctx
        .app
        .get_as(&w.specialist, &format!("{BASE}/{id}/consent/scan"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    let stranger = w.ctx.app.token("doctor5", PW).await;
    let r = w
        .ctx
        .app
        .get_as(&stranger, &format!("{BASE}/{id}/consent/scan"))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_pages_take_a_remote_consultation_from_the_form_to_the_opinion() {
    let w = world().await;
    let app = &w.ctx.app;
    let doctor = app.sign_in_browser("doctor19").await;
    doctor.post_form("/me/step-up", &[("password", PW)]).await;
    let form = doctor
        .page(&format!("/remote-consultations/new?person_id={}", w.father))
        .await;
    assert!(
        form.contains("发起远程会诊") && form.contains("张建国"),
        "{form}"
    );
    assert!(
        form.contains("慢性阻塞性肺疾病伴急性加重"),
        "the shareable diagnosis is offered"
    );
    // A question too short comes back with the form as typed and the error in Chinese.
    let invited = format!("{}:{}", w.respiratory, w.gz);
    let item = format!("item:offline_diagnosis:{}", w.diagnosis);
    let father = w.father.to_string();
    let r = doctor
        .post_form(
            "/remote-consultations/new",
            &[
                ("person_id", father.as_str()),
                ("invited", invited.as_str()),
                ("urgency", "urgent"),
                ("question", "请会诊"),
                (
                    "summary",
                    "男，74 岁，慢阻肺急性加重，抗感染 3 天后仍低氧。",
                ),
                (item.as_str(), "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"question-error\""), "{page}");
    assert!(
        page.contains("男，74 岁，慢阻肺急性加重"),
        "the summary is kept"
    );
    assert!(
        page.contains(&format!("name=\"{item}\" value=\"on\" checked")),
        "the item stays ticked"
    );
    let r = doctor
        .post_form(
            "/remote-consultations/new",
            &[
                ("person_id", father.as_str()),
                ("invited", invited.as_str()),
                ("urgency", "urgent"),
                ("question", "请协助评估是否需要无创通气并调整抗感染方案。"),
                (
                    "summary",
                    "男，74 岁，慢阻肺急性加重，抗感染 3 天后仍低氧。",
                ),
                (item.as_str(), "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
    let page = doctor.page(&at).await;
    assert!(page.contains("id=\"consent-waiting\""), "{page}");
    // Sending before consent: the reason, in Chinese, on the same page.
    let page = doctor.submit(&format!("{at}/steps/send"), &[]).await;
    assert!(page.contains("请先记录患者（或家属）的知情同意"), "{page}");

    // The son signs on his phone.
    let son = app.sign_in_browser("patient1").await;
    let page = son.page(&at).await;
    assert!(
        page.contains("远程会诊知情同意书") && page.contains("id=\"consent-submit\""),
        "{page}"
    );
    let page = son
        .submit(
            &format!("{at}/steps/consent"),
            &[("agree", "yes".to_owned())],
        )
        .await;
    assert!(page.contains("id=\"consent\""), "{page}");
    let page = doctor.submit(&format!("{at}/steps/send"), &[]).await;
    assert!(page.contains("待受邀方答复"), "{page}");

    // The coordinator names the specialist; the specialist schedules, both join, it is held.
    let coordinator = app.sign_in_browser("hospital-admin").await;
    let page = coordinator.page("/remote-consultations?view=queue").await;
    assert!(page.contains(&format!("teleconsult-{id}")), "{page}");
    let page = coordinator.page(&at).await;
    assert!(page.contains("id=\"specialist\""), "{page}");
    coordinator
        .submit(
            &format!("{at}/steps/accept"),
            &[("specialist_id", w.specialist_id.to_string())],
        )
        .await;
    // The coordinator puts a co-specialist on the panel from the page's choices.
    let page = coordinator.page(&at).await;
    let choice = page
        .split("id=\"panel-doctor\"")
        .nth(1)
        .and_then(|rest| rest.split("<option value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("the panel's choices are offered")
        .to_owned();
    assert_ne!(
        choice,
        w.specialist_id.to_string(),
        "the specialist is not offered again"
    );
    let page = coordinator
        .submit(
            &format!("{at}/steps/panel-add"),
            &[("account_id", choice.clone())],
        )
        .await;
    assert!(
        page.contains("id=\"panel-names\"")
            && page.contains(&format!("id=\"panel-remove-{choice}\"")),
        "{page}"
    );
    let page = coordinator
        .submit(&format!("{at}/steps/panel-add"), &[])
        .await;
    assert!(
        page.contains("请填写此项") || page.contains("必填"),
        "the missing choice is said in Chinese: {page}"
    );
    let specialist = app.sign_in_browser("doctor1").await;
    let when = yunyi::time::cst_display(app.state.now_ms() + 2 * 3_600_000).replace(' ', "T");
    let page = specialist
        .submit(&format!("{at}/steps/schedule"), &[("starts_at", when)])
        .await;
    assert!(page.contains("id=\"scheduled\""), "{page}");
    specialist.submit(&format!("{at}/steps/join"), &[]).await;
    let page = specialist.submit(&format!("{at}/steps/hold"), &[]).await;
    assert!(
        page.contains("邀请方医生和会诊专家均加入后"),
        "the physician must be there: {page}"
    );
    doctor.submit(&format!("{at}/steps/join"), &[]).await;
    let page = doctor.submit(&format!("{at}/steps/hold"), &[]).await;
    assert!(page.contains("待出具报告"), "{page}");
    let items = specialist.page(&format!("{at}/items")).await;
    assert!(
        items.contains("慢性阻塞性肺疾病伴急性加重 (J44.1)"),
        "{items}"
    );

    // The opinion, signed, received; the family reads it.
    specialist
        .submit(
            &format!("{at}/steps/report"),
            &[
                ("findings", "双肺散在哮鸣音。".to_owned()),
                ("diagnosis_icd10", "J44.1".to_owned()),
                ("diagnosis_name", "慢性阻塞性肺疾病伴急性加重".to_owned()),
                ("recommendations", "控制性氧疗，复查血气。".to_owned()),
            ],
        )
        .await;
    let page = specialist.submit(&format!("{at}/steps/sign"), &[]).await;
    assert!(page.contains("id=\"addendum-form\""), "{page}");
    let page = doctor
        .submit(
            &format!("{at}/steps/receive"),
            &[("decision", "按会诊意见调整治疗。".to_owned())],
        )
        .await;
    assert!(page.contains("id=\"decision-text\""), "{page}");
    let page = son.page(&at).await;
    assert!(
        page.contains("id=\"report-diagnosis\"") && page.contains("已完成"),
        "{page}"
    );
}

#[tokio::test]
async fn fhir_shows_the_request_its_task_the_consent_and_the_signed_opinion() {
    use crate::fhir::{assert_valid, entries, fhir};
    let w = world().await;
    let app = &w.ctx.app;
    let id = w.held().await;
    assert_eq!(w.report(id).await.0, StatusCode::NO_CONTENT);
    let rid = format!("teleconsult-{id}");
    // Before signing: the request, its task and the consent; no opinion yet.
    let (s, request) = fhir(
        app,
        Some(&w.specialist),
        &format!("/fhir/ServiceRequest/{rid}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{request}");
    assert_eq!(request["status"], "active");
    assert_eq!(request["priority"], "urgent");
    assert_eq!(
        request["requester"]["reference"],
        format!(
            "Organization/{}",
            scalar(
                &w.ctx,
                "SELECT id FROM hospital WHERE code = $1",
                "DEMO-JZ-001"
            )
            .await
        )
    );
    assert_eq!(
        request["performer"][0]["reference"],
        format!("Organization/{}", w.gz)
    );
    assert_eq!(
        request["subject"]["reference"],
        format!("Patient/{}", w.father)
    );
    let (_, task) = fhir(app, Some(&w.specialist), &format!("/fhir/Task/{rid}")).await;
    assert_eq!(
        (
            task["status"].as_str(),
            task["businessStatus"]["coding"][0]["code"].as_str()
        ),
        (Some("in-progress"), Some("held"))
    );
    assert_eq!(
        task["owner"]["reference"],
        format!("Practitioner/{}", w.specialist_id)
    );
    let (s, consent) = fhir(app, Some(&w.inviting), &format!("/fhir/Consent/{rid}")).await;
    assert_eq!(s, StatusCode::OK, "{consent}");
    assert_eq!(consent["status"], "active");
    let (s, none) = fhir(app, Some(&w.inviting), &format!("/fhir/Composition/{rid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{none}");

    // Signed: the opinion as a consult note, the task completed with it as output.
    w.ok(&w.specialist, id, "report/sign", json!({})).await;
    let (s, opinion) = fhir(app, Some(&w.inviting), &format!("/fhir/Composition/{rid}")).await;
    assert_eq!(s, StatusCode::OK, "{opinion}");
    assert_eq!(opinion["type"]["coding"][0]["code"], "11488-4");
    assert_eq!(opinion["attester"][0]["mode"], "legal");
    assert!(
        opinion["section"][1]["text"]["div"]
            .as_str()
            .unwrap()
            .contains("J44.1")
    );
    let (_, task) = fhir(app, Some(&w.inviting), &format!("/fhir/Task/{rid}")).await;
    assert_eq!(task["status"], "completed");
    assert_eq!(
        task["output"][0]["valueReference"]["reference"],
        format!("Composition/{rid}")
    );

    // Searches by patient, requester, performer and status; each entry valid R4.
    let jz = scalar(
        &w.ctx,
        "SELECT id FROM hospital WHERE code = $1",
        "DEMO-JZ-001",
    )
    .await;
    for (token, path, found) in [
        (
            &w.inviting,
            format!("/fhir/ServiceRequest?patient=Patient/{}", w.father),
            true,
        ),
        (
            &w.inviting,
            format!("/fhir/ServiceRequest?requester=Organization/{jz}&status=active"),
            true,
        ),
        (
            &w.inviting,
            "/fhir/ServiceRequest?status=completed".to_owned(),
            false,
        ),
        (
            &w.specialist,
            format!(
                "/fhir/ServiceRequest?performer=Practitioner/{}",
                w.specialist_id
            ),
            true,
        ),
        (
            &w.specialist,
            format!(
                "/fhir/Task?owner=Practitioner/{}&status=completed",
                w.specialist_id
            ),
            true,
        ),
        (
            &w.family,
            format!("/fhir/Consent?patient=Patient/{}", w.father),
            true,
        ),
        (&w.family, "/fhir/Composition".to_owned(), false),
        (&w.inviting, "/fhir/Composition".to_owned(), true),
    ] {
        let (s, bundle) = fhir(app, Some(token), &path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {bundle}");
        let hits = entries(&bundle);
        for r in &hits {
            assert_valid(r);
        }
        assert_eq!(
            hits.iter().any(|r| r["id"] == rid.as_str()),
            found,
            "{path}: {bundle}"
        );
    }
    let (s, _) = fhir(app, Some(&w.inviting), "/fhir/ServiceRequest?code=x").await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown parameter is refused by name"
    );
    // Nobody without standing reads any of them.
    let stranger = app.token("doctor5", PW).await;
    for kind in ["ServiceRequest", "Task", "Consent", "Composition"] {
        let (s, _) = fhir(app, Some(&stranger), &format!("/fhir/{kind}/{rid}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{kind}");
    }
}

#[tokio::test]
async fn a_panel_of_co_specialists_reads_and_takes_part_but_the_specialist_signs() {
    let w = world().await;
    let id = w.accepted().await;
    let db = &w.ctx.app.db;
    // Guangzhou's other doctors holding teleconsult, and one practising there without it.
    let co = db
        .all::<(i64, String)>(
            "SELECT a.id, a.username FROM privilege p JOIN account a ON a.id = p.account_id \
             WHERE p.hospital_id = $1 AND p.kind = 'teleconsult' AND p.status = 'active' AND a.id <> $2 \
             ORDER BY a.id LIMIT 4",
            (w.gz, w.specialist_id),
        )
        .await
        .unwrap();
    assert_eq!(co.len(), 4, "the demo has co-specialists in Guangzhou");
    let without = db
        .scalar::<i64>(
            "SELECT s.account_id FROM practice_site s WHERE s.hospital_id = $1 AND s.status = 'active' \
             AND NOT EXISTS (SELECT 1 FROM privilege p WHERE p.account_id = s.account_id \
             AND p.hospital_id = $1 AND p.kind = 'teleconsult') ORDER BY s.account_id LIMIT 1",
            (w.gz,),
        )
        .await
        .unwrap();
    let first = w.ctx.app.token(&co[0].1, PW).await;
    w.ctx.app.step_up(&first).await;

    // Not on the panel yet: the consultation does not exist for them.
    assert_eq!(w.view(&first, id).await.0, StatusCode::NOT_FOUND);
    // The inviting side does not choose the invited hospital's panel.
    let (s, answer) = w
        .post(&w.inviting, id, "panel", json!({"account_id": co[0].0}))
        .await;
    assert_eq!(
        (s, code(&answer)),
        (StatusCode::FORBIDDEN, "role-required"),
        "{answer}"
    );
    // Nobody named, someone already in it, or a doctor without the privilege: refused.
    let (s, answer) = w.post(&w.specialist, id, "panel", json!({})).await;
    assert_eq!(
        (s, error_fields(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["account_id"])
    );
    let inviting_id = scalar(
        &w.ctx,
        "SELECT id FROM account WHERE username = $1",
        "doctor19",
    )
    .await;
    let (s, answer) = w
        .post(
            &w.specialist,
            id,
            "panel",
            json!({"account_id": inviting_id}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["account_id"])
    );
    let (s, answer) = w
        .post(&w.specialist, id, "panel", json!({"account_id": without}))
        .await;
    assert_eq!(
        (s, code(&answer)),
        (StatusCode::CONFLICT, "privilege-missing"),
        "{answer}"
    );

    // The specialist invites; inviting again changes nothing and tells nobody twice.
    for _ in 0..2 {
        let (s, answer) = w
            .post(&w.specialist, id, "panel", json!({"account_id": co[0].0}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    }
    let told = db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM notification WHERE account_id = $1 AND event = 'teleconsult.panel'",
            (co[0].0,),
        )
        .await
        .unwrap();
    assert_eq!(told, 1);
    let (s, seen) = w.view(&first, id).await;
    assert_eq!(
        (s, seen["standing"].as_str()),
        (StatusCode::OK, Some("panelist")),
        "{seen}"
    );
    assert_eq!(seen["panel"][0]["id"], co[0].0);
    let (_, mine) = w.ctx.get(&first, BASE).await;
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id)
    );
    let (s, items) = w.ctx.get(&first, &format!("{BASE}/{id}/items")).await;
    assert_eq!(s, StatusCode::OK, "{items}");
    assert_eq!(items["items"][0]["kind"], "offline_diagnosis");
    // FHIR names them among the performers, and finds the request by them.
    {
        use crate::fhir::{assert_valid, entries, fhir};
        let path = format!("/fhir/ServiceRequest?performer=Practitioner/{}", co[0].0);
        let (s, bundle) = fhir(&w.ctx.app, Some(&first), &path).await;
        assert_eq!(s, StatusCode::OK, "{bundle}");
        let hits = entries(&bundle);
        let request = hits
            .iter()
            .find(|r| r["id"] == format!("teleconsult-{id}").as_str())
            .expect("found by its co-specialist");
        assert_valid(request);
        let performers = request["performer"].to_string();
        assert!(
            performers.contains(&format!("Practitioner/{}", co[0].0)),
            "{performers}"
        );
    }

    // A coordinator fills the panel; a fourth co-specialist does not fit the room.
    let coordinator = w.ctx.app.token("hospital-admin", PW).await;
    for (account, _) in &co[1..3] {
        let (s, answer) = w
            .post(&coordinator, id, "panel", json!({"account_id": account}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    }
    let (s, answer) = w
        .post(&w.specialist, id, "panel", json!({"account_id": co[3].0}))
        .await;
    assert_eq!(
        (s, code(&answer)),
        (StatusCode::CONFLICT, "panel-full"),
        "{answer}"
    );
    // One is taken off: closed to them again, and not twice.
    let off = format!("{BASE}/{id}/panel/{}", co[2].0);
    let (s, _) = w.ctx.send(Method::DELETE, &w.specialist, &off, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = w.ctx.send(Method::DELETE, &w.specialist, &off, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let third = w.ctx.app.token(&co[2].1, PW).await;
    assert_eq!(w.view(&third, id).await.0, StatusCode::NOT_FOUND);

    // In the session a co-specialist takes part as a specialist, but does not stand in for the
    // specialist: the session is not held without them.
    let at = yunyi::time::cst_display(w.ctx.app.state.now_ms() + 3 * 3_600_000);
    w.ok(&w.specialist, id, "schedule", json!({"starts_at": at}))
        .await;
    w.ok(&w.inviting, id, "join", json!({})).await;
    w.ok(&first, id, "join", json!({})).await;
    let (s, answer) = w.post(&w.inviting, id, "hold", json!({})).await;
    assert_eq!(
        (s, code(&answer)),
        (StatusCode::CONFLICT, "participants-absent"),
        "{answer}"
    );
    let (_, seen) = w.view(&first, id).await;
    assert_eq!(seen["participants"][1]["part"], "specialist");
    w.ok(&w.specialist, id, "join", json!({})).await;
    w.ok(&w.inviting, id, "hold", json!({})).await;
    // The panel is fixed once held; only the specialist writes and signs.
    let (s, _) = w
        .post(&w.specialist, id, "panel", json!({"account_id": co[2].0}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = w
        .ctx
        .send(Method::PUT, &first, &format!("{BASE}/{id}/report"), Some(json!({
            "findings": "同意。", "diagnosis_icd10": "J44.1", "diagnosis_name": "慢阻肺", "recommendations": "同意。",
        })))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(w.report(id).await.0, StatusCode::NO_CONTENT);
    let (s, _) = w.post(&first, id, "report/sign", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    w.ok(&w.specialist, id, "report/sign", json!({})).await;
    // A co-specialist adds their own view to the signed report.
    let (s, answer) = w
        .post(
            &first,
            id,
            "addenda",
            json!({"body": "同意上述意见，建议加做心脏超声。"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    let (_, seen) = w.view(&w.inviting, id).await;
    assert_eq!(seen["report"]["addenda"].as_array().map(Vec::len), Some(1));

    let actions = w.audit_actions(id).await;
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    // Three invitations (the repeated one changed nothing) and the inviting doctor's refused try.
    assert_eq!(count("teleconsult.panel.add"), 4, "{actions:?}");
    assert_eq!(count("teleconsult.panel.remove"), 1);
}

mod room {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    use super::*;
    use crate::helpers::ws::{Socket, connect, next_of};

    async fn enter(w: &World, token: &str, id: i64) -> Socket {
        let path = format!("{BASE}/{id}/room");
        connect(&w.ctx.app.addr.to_string(), token, &path).await
    }

    async fn open_joinings(w: &World, id: i64) -> i64 {
        w.ctx
            .app
            .db
            .scalar::<i64>(
                "SELECT COUNT(*) FROM teleconsult_participant WHERE teleconsult_id = $1 AND left_at IS NULL",
                (id,),
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_room_relays_signalling_between_its_people_and_keeps_their_times() {
        let w = world().await;
        let id = w.scheduled().await;
        let mut inviting = enter(&w, &w.inviting, id).await;
        let me = next_of(&mut inviting, "welcome").await["conn"]
            .as_str()
            .unwrap()
            .to_owned();
        // Someone comes in: those already there hear who, and offer to them.
        let mut specialist = enter(&w, &w.specialist, id).await;
        let them = next_of(&mut specialist, "welcome").await["conn"]
            .as_str()
            .unwrap()
            .to_owned();
        let joined = next_of(&mut inviting, "joined").await;
        assert_eq!(joined["conn"], them.as_str());
        assert_eq!(joined["part"], "specialist");
        assert_eq!(joined["account"], w.specialist_id);
        let mut family = enter(&w, &w.family, id).await;
        next_of(&mut family, "welcome").await;
        assert_eq!(next_of(&mut inviting, "joined").await["part"], "patient");
        assert_eq!(next_of(&mut specialist, "joined").await["part"], "patient");
        assert_eq!(open_joinings(&w, id).await, 3);

        // A signal reaches only the connection it names, stamped by the server with who sent
        // it (whatever the page claims).
        let offer = json!({"type": "signal", "to": them, "data": {"kind": "offer", "sdp": "v=0", "name": "假冒"}});
        inviting
            .send(Message::text(offer.to_string()))
            .await
            .unwrap();
        let got = next_of(&mut specialist, "signal").await;
        assert_eq!(got["from"], me.as_str());
        assert_eq!(got["part"], "inviting");
        assert_ne!(got["name"], "假冒");
        assert_eq!(got["data"]["sdp"], "v=0");
        // Too long a signal, or none addressed, is refused on the socket.
        let huge = json!({"type": "signal", "to": them, "data": {"sdp": "x".repeat(8_000)}});
        family.send(Message::text(huge.to_string())).await.unwrap();
        let refused = next_of(&mut family, "error").await;
        assert_eq!(refused["errors"][0]["field"], "data");

        // The specialist comes in again on another page: the first one steps out.
        let mut again = enter(&w, &w.specialist, id).await;
        next_of(&mut again, "welcome").await;
        next_of(&mut specialist, "replaced").await;
        assert_eq!(open_joinings(&w, id).await, 3);

        // The family leaves: its time is kept, the others hear it.
        family.close(None).await.unwrap();
        let left = next_of(&mut inviting, "left").await;
        assert!(left["conn"].is_string());
        let closed = crate::helpers::eventually(std::time::Duration::from_secs(5), || async {
            (open_joinings(&w, id).await == 2).then_some(())
        })
        .await;
        assert!(closed.is_some(), "the family's leaving is recorded");

        // Held: the room closes for everyone in it.
        w.ok(&w.specialist, id, "hold", json!({})).await;
        next_of(&mut inviting, "ended").await;
        next_of(&mut again, "ended").await;
        assert_eq!(open_joinings(&w, id).await, 0);
        // And cannot be entered again.
        let path = format!("{BASE}/{id}/room");
        let r = w.ctx.app.get_as(&w.inviting, &path).await;
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "not a WebSocket request"
        );
        let (s, answer) = w.post(&w.inviting, id, "join", json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{answer}");
        let actions = w.audit_actions(id).await;
        let joins = actions.iter().filter(|a| *a == "teleconsult.join").count();
        let leaves = actions.iter().filter(|a| *a == "teleconsult.leave").count();
        assert_eq!(joins, 4);
        assert!(leaves >= 1, "{actions:?}");
    }

    #[tokio::test]
    async fn a_full_room_and_strangers_are_refused() {
        let w = world().await;
        let id = w.scheduled().await;
        // Six people are in it already (recorded as the room would).
        let now = w.ctx.app.state.now_ms();
        let others = w
            .ctx
            .app
            .db
            .scalars::<i64>(
                "SELECT id FROM account WHERE username IN ('doctor2', 'doctor3', 'doctor4', 'doctor5', 'doctor6', 'doctor7')",
                (),
            )
            .await
            .unwrap();
        assert_eq!(others.len(), 6);
        for a in &others {
            w.ctx
                .app
                .db
                .execute(
                    "INSERT INTO teleconsult_participant (teleconsult_id, account_id, part, joined_at) VALUES ($1, $2, 'specialist', $3)",
                    (id, *a, now),
                )
                .await
                .unwrap();
        }
        let (s, answer) = w.post(&w.inviting, id, "join", json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{answer}");
        assert_eq!(code(&answer), "room-full");
        // One leaves: there is room again.
        w.ctx
            .app
            .db
            .execute(
                "UPDATE teleconsult_participant SET left_at = $1 WHERE account_id = $2",
                (now, others[0]),
            )
            .await
            .unwrap();
        w.ok(&w.inviting, id, "join", json!({})).await;
        // A doctor with no standing in it is refused the room as any step.
        let stranger = w.ctx.app.token("doctor5", PW).await;
        let (s, _) = w.post(&stranger, id, "join", json!({})).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}
