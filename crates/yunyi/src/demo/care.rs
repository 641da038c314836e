//! The demo's whole-course care (issue #21): Guangzhou's family-doctor team led by doctor1
//! with nurse1, and patient1 signed with it for the chronic-disease package.

use crate::app::AppState;
use crate::care::model::{MemberRole, Package, TeamInput, TeamKind};
use crate::care::service::{self, ContractInput, MemberInput};
use crate::error::AppResult;

pub async fn seed(state: &AppState) -> AppResult<()> {
    let admin = super::actor_of(&super::account(&state.db, "hospital-admin").await?);
    let patient = super::account(&state.db, "patient1").await?;
    let team = service::create_team(
        state,
        &admin,
        &TeamInput {
            name: "林志明家庭医生团队".to_owned(),
            kind: Some(TeamKind::FamilyDoctor),
            capacity: Some(600),
        },
    )
    .await?;
    for (who, role) in [("doctor1", MemberRole::Lead), ("nurse1", MemberRole::Nurse)] {
        let member = super::account(&state.db, who).await?;
        let input = MemberInput {
            account_id: Some(member.id),
            role: Some(role),
        };
        service::put_member(state, &admin, team, &input).await?;
    }
    let input = ContractInput {
        person_id: patient.person_id,
        team_id: Some(team),
        package: Some(Package::Chronic),
    };
    service::sign(state, &super::actor_of(&patient), &input).await?;
    Ok(())
}

/// patient1's hypertension plan, made by nurse1 four weeks ago, with six weeks of morning
/// blood pressures: two above its limit, one answered by the team and one still open; and
/// patient3's plan after a cholecystectomy a week ago (signed with the same team), the day-1
/// questionnaire answered and the day-7 one due today.
pub async fn seed_plans(state: &AppState) -> AppResult<()> {
    use crate::care::plan::{self, AnswersInput, PlanInput};
    use crate::care::plan_store::{self as store, FollowupStatus, NewReading, NewTask, TaskKind};
    use crate::care::protocol::Measure;
    const DAY: i64 = 24 * 3_600_000;
    let now = state.now_ms();
    let today = crate::time::cst_today(now);
    let nurse = super::account(&state.db, "nurse1").await?;
    let nurse_actor = super::actor_of(&nurse);
    let patient1 = super::account(&state.db, "patient1").await?;
    let patient3 = super::account(&state.db, "patient3").await?;
    let Some(team) = crate::care::store::teams(&state.db, None, Some(TeamKind::FamilyDoctor))
        .await?
        .into_iter()
        .find(|t| t.name == "林志明家庭医生团队")
    else {
        return Ok(());
    };
    let hypertension = PlanInput {
        person_id: patient1.person_id,
        team_id: Some(team.id),
        template: "hypertension".to_owned(),
        starts_on: Some((today - chrono::Duration::days(28)).to_string()),
        note: "氨氯地平 5 mg 每日一次；每天早上起床后、服药前测量血压。".to_owned(),
        limits: Default::default(),
    };
    let id = plan::create(state, &nurse_actor, &hypertension).await?;
    let Some(row) = store::plan(&state.db, id).await? else {
        return Ok(());
    };
    let person = patient1.person_id.unwrap_or_default();
    let mut tx = state.db.begin().await?;
    for day in (1..=42).rev() {
        // Morning readings around 130/84, two of them high.
        let (s, d) = match day {
            20 => (1480, 940),
            2 => (1560, 980),
            _ => (1240 + (day * 37 % 15) * 10, 780 + (day * 23 % 10) * 10),
        };
        // Each morning between 07:00 and 07:40.
        let morning =
            chrono::NaiveTime::from_hms_opt(7, u32::try_from(day * 7 % 40).unwrap_or(0), 0)
                .unwrap_or_default();
        let taken_at = crate::time::cst_ms(today - chrono::Duration::days(day), morning)
            .unwrap_or(now - day * DAY);
        let flagged = s >= 1400 || d >= 900;
        let reading = NewReading {
            person,
            plan: Some(id),
            measure: Measure::BloodPressure,
            value: s,
            value2: Some(d),
            taken_at,
            flagged,
            by: patient1.id,
        };
        let r = store::insert_reading(&mut tx, &reading, taken_at).await?;
        if flagged {
            let task = NewTask {
                plan: &row,
                kind: TaskKind::Reading,
                reading: Some(r),
                followup: None,
                detail: Measure::BloodPressure.show(s, Some(d)),
                urgent: false,
                due_at: taken_at + DAY,
            };
            let t = store::insert_task(&mut tx, &task, taken_at).await?;
            if day == 20 {
                let reply =
                    "已电话随访：近期熬夜、饮酒，嘱规律作息、限酒，继续原方案，一周后复测。";
                store::close_task(&mut tx, t, nurse.id, reply, taken_at + 3 * 3_600_000).await?;
            }
        }
    }
    tx.commit().await?;

    // patient3 signs for himself, and the team plans his recovery from a cholecystectomy.
    let signed = ContractInput {
        person_id: patient3.person_id,
        team_id: Some(team.id),
        package: Some(Package::Basic),
    };
    service::sign(state, &super::actor_of(&patient3), &signed).await?;
    let postop = PlanInput {
        person_id: patient3.person_id,
        team_id: Some(team.id),
        template: "postop".to_owned(),
        starts_on: Some((today - chrono::Duration::days(7)).to_string()),
        note: "腹腔镜胆囊切除术后：术后第 7 天门诊拆线评估；低脂饮食一个月。".to_owned(),
        limits: Default::default(),
    };
    let id = plan::create(state, &nurse_actor, &postop).await?;
    // Day 1 went out and was answered; day 7 goes out at today's sweep.
    if let Some(first) = store::followups(&state.db, id).await?.first() {
        let mut tx = state.db.begin().await?;
        let sent = (FollowupStatus::Scheduled, FollowupStatus::Sent);
        store::move_followup(&mut tx, first.id, sent, first.due_at).await?;
        tx.commit().await?;
        let answers =
            serde_json::json!({"pain": 3, "fever": false, "wound": false, "eating": true});
        let input = AnswersInput {
            answers: serde_json::from_value(answers).unwrap_or_default(),
        };
        plan::answer(state, &super::actor_of(&patient3), first.id, &input).await?;
    }
    Ok(())
}

/// Reports (issue #21): patient1's lipids and HbA1c from ten days ago, which doctor1
/// interpreted, and patient3's gallbladder pathology, which he asked the team about and which
/// awaits its interpretation.
pub async fn seed_reports(state: &AppState) -> AppResult<()> {
    use crate::care::report::{self, HospitalReportInput, ResultInput};
    use crate::care::report_store::{self as store, ReportSource};
    const DAY: i64 = 24 * 3_600_000;
    let now = state.now_ms();
    let today = crate::time::cst_today(now);
    let doctor = super::account(&state.db, "doctor1").await?;
    let patient1 = super::account(&state.db, "patient1").await?;
    let patient3 = super::account(&state.db, "patient3").await?;
    let Some(hospital) = doctor.hospital_id else {
        return Ok(());
    };
    let Some(team) = crate::care::store::teams(&state.db, None, Some(TeamKind::FamilyDoctor))
        .await?
        .into_iter()
        .find(|t| t.name == "林志明家庭医生团队")
    else {
        return Ok(());
    };
    let hospital_name = crate::directory::store::get_hospital(&state.db, hospital)
        .await?
        .map(|h| h.name)
        .unwrap_or_default();
    let result = |name: &str, code: &str, value: &str, unit: &str, range: (f64, f64)| ResultInput {
        name: name.to_owned(),
        code: Some(code.to_owned()),
        value: value.to_owned(),
        unit: Some(unit.to_owned()),
        low: Some(range.0),
        high: Some(range.1),
    };
    let lipids = HospitalReportInput {
        person_id: patient1.person_id,
        kind: "lab".to_owned(),
        title: "血脂四项 + 糖化血红蛋白".to_owned(),
        performed_on: (today - chrono::Duration::days(10)).to_string(),
        results: vec![
            result("总胆固醇", "2093-3", "5.9", "mmol/L", (3.1, 5.2)),
            result("甘油三酯", "2571-8", "1.6", "mmol/L", (0.4, 1.7)),
            result("高密度脂蛋白胆固醇", "2085-9", "1.2", "mmol/L", (1.0, 1.9)),
            result("低密度脂蛋白胆固醇", "13457-7", "3.8", "mmol/L", (0.0, 3.4)),
            result("糖化血红蛋白", "4548-4", "5.6", "%", (4.0, 6.0)),
        ],
        conclusion: String::new(),
    };
    let pathology = HospitalReportInput {
        person_id: patient3.person_id,
        kind: "pathology".to_owned(),
        title: "胆囊切除标本病理检查".to_owned(),
        performed_on: (today - chrono::Duration::days(6)).to_string(),
        results: Vec::new(),
        conclusion: "（胆囊）慢性胆囊炎伴胆固醇性结石形成；胆囊黏膜未见异型增生及恶性证据。"
            .to_owned(),
    };
    let mut tx = state.db.begin().await?;
    for (input, at) in [(&lipids, now - 10 * DAY), (&pathology, now - 5 * DAY)] {
        let Ok(checked) = input.check(today) else {
            continue;
        };
        let id = report::insert_checked(
            &mut tx,
            &checked,
            input.person_id.unwrap_or_default(),
            (Some(hospital), &hospital_name),
            (ReportSource::Hospital, doctor.id, Some(doctor.id)),
            at,
        )
        .await?;
        if input.kind == "lab" {
            store::ask(
                &mut tx,
                id,
                (Some(doctor.id), None),
                "胆固醇高了，需要吃药吗？",
                at + DAY,
            )
            .await?;
            let text = "低密度脂蛋白胆固醇 3.8 mmol/L，略高于参考范围；您有高血压，建议目标 < 2.6。\
                        先低脂饮食、每周运动 150 分钟，三个月后复查血脂；若仍高，门诊时再评估是否用他汀类药物。\
                        糖化血红蛋白正常。";
            store::interpret(&mut tx, id, doctor.id, text, at + DAY + 5 * 3_600_000).await?;
        } else {
            store::ask(
                &mut tx,
                id,
                (None, Some(team.id)),
                "病理结果还需要做什么检查吗？",
                now - DAY,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
