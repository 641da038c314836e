//! The demo's remote consultations: the Jingzhou county hospital's doctor19 (given the
//! `teleconsult` privilege there, and caring for patient1's father 张建国 after his COPD
//! exacerbation) invites the Guangzhou hospital. One consultation went all the way to the
//! specialist's signed report (doctor1, respiratory medicine), waiting for doctor19 to receive
//! it; another waits in Guangzhou's cardiology queue; and an up-referral asks Guangzhou for a
//! bed in its respiratory ward. Seeded through the service, so the demo
//! keeps the rules the users meet.

use crate::app::AppState;
use crate::consult::store::OfflineDiagnosis;
use crate::error::AppResult;
use crate::identity::Actor;
use crate::teleconsult::model::{
    ItemKind, ItemRef, OpinionInput, TeleconsultDraft, TeleconsultUrgency,
};
use crate::teleconsult::service;

/// A demo doctor's actor, as after the identity step-up a doctor passes before reading records.
async fn doctor(state: &AppState, username: &str) -> AppResult<Actor> {
    let mut actor = super::actor_of(&super::account(&state.db, username).await?);
    if let Some(me) = actor.signed_in.as_mut() {
        me.step_up_at = Some(state.now_ms());
    }
    Ok(actor)
}

/// patient1's father, on record as their parent.
async fn father(state: &AppState) -> AppResult<i64> {
    let patient1 = super::account(&state.db, "patient1").await?;
    crate::identity::store::family_of(&state.db, patient1.id)
        .await?
        .into_iter()
        .find(|f| f.relationship == "parent")
        .map(|f| f.id)
        .ok_or_else(|| super::bad_demo_data("patient1 has no parent on record"))
}

/// What remote consultations rest on (the test suite's demo has it too): doctor19's
/// privilege, the father's diagnosis at the county hospital and doctor19's care of him there.
pub async fn seed_care(state: &AppState) -> AppResult<()> {
    let db = &state.db;
    let jz = super::hospital_id(db, "DEMO-JZ-001").await?;
    let doctor19 = super::account(db, "doctor19").await?;
    let father = father(state).await?;
    let now = state.now_ms();
    let mut tx = db.begin().await?;
    crate::directory::store::put_privilege(
        &mut tx,
        &crate::directory::store::PrivilegeChange {
            account_id: doctor19.id,
            hospital_id: jz,
            kind: "teleconsult",
            status: "active",
            reason: None,
            changed_by: None,
        },
        now,
    )
    .await?;
    crate::consult::records::record_offline_diagnosis(
        &mut tx,
        &OfflineDiagnosis {
            id: 0,
            person_id: father,
            hospital_id: jz,
            icd10: "J44.1".to_owned(),
            name: "慢性阻塞性肺疾病伴急性加重".to_owned(),
            diagnosed_on: crate::time::cst_today(now)
                .pred_opt()
                .unwrap_or_else(|| crate::time::cst_today(now))
                .to_string(),
        },
        now,
    )
    .await?;
    crate::identity::service::link_care(&mut tx, doctor19.id, father, jz, "care_team", None, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The two remote consultations (only `yunyi demo`: they write to patient1's inbox, which the
/// test suite's demo leaves empty).
pub async fn seed_consultations(state: &AppState) -> AppResult<()> {
    let db = &state.db;
    let gz = super::hospital_id(db, "DEMO-GZ-001").await?;
    let jz = super::hospital_id(db, "DEMO-JZ-001").await?;
    let father = father(state).await?;
    let patient1 = super::account(db, "patient1").await?;
    let diagnosis = crate::consult::store::offline_diagnoses(db, father)
        .await?
        .into_iter()
        .find(|d| d.hospital_id == jz)
        .map(|d| d.id)
        .ok_or_else(|| {
            super::bad_demo_data("the father has no diagnosis at the county hospital")
        })?;
    let inviting = doctor(state, "doctor19").await?;
    let family = super::actor_of(&patient1);
    let respiratory = super::department_id(db, gz, "03.01").await?;
    let cardiology = super::department_id(db, gz, "03.04").await?;
    let specialist_account = super::account(db, "doctor1").await?;
    let specialist = doctor(state, "doctor1").await?;
    let items = vec![ItemRef {
        kind: ItemKind::OfflineDiagnosis,
        id: diagnosis,
    }];

    // The first: from the draft to the signed report.
    let first = service::draft(
        state,
        &inviting,
        &TeleconsultDraft {
            person_id: Some(father),
            invited_hospital_id: Some(gz),
            department_id: Some(respiratory),
            specialist_id: Some(specialist_account.id),
            urgency: TeleconsultUrgency::Urgent.as_str().to_owned(),
            question: "患者慢阻肺急性加重，抗感染治疗 3 天后仍气促、低氧，请协助评估是否需要无创通气及调整抗感染方案。".to_owned(),
            summary: "男，74 岁。慢阻肺病史 12 年，吸烟 40 年（已戒 5 年）。3 天前受凉后咳嗽、咳黄痰、气促加重；\
                      体温 37.9 ℃，呼吸 26 次/分，指脉氧 88%（吸氧 2 L/min）。血常规白细胞 11.2×10⁹/L，胸片示双下肺纹理增粗。\
                      已予头孢曲松、雾化支气管舒张剂及甲泼尼龙。".to_owned(),
            items: items.clone(),
        },
    )
    .await?;
    service::consent(state, &family, first, Some(true)).await?;
    service::send(state, &inviting, first).await?;
    service::accept(state, &specialist, first, None).await?;
    let session = crate::time::cst_display(state.now_ms() + 3_600_000);
    service::schedule(state, &specialist, first, &session).await?;
    service::join(state, &inviting, first).await?;
    service::join(state, &specialist, first).await?;
    service::join(state, &family, first).await?;
    service::hold(state, &specialist, first).await?;
    service::save_report(
        state,
        &specialist,
        first,
        &OpinionInput {
            findings: "视频会诊见患者端坐呼吸，言语尚连贯；双肺呼吸音低，可闻及散在哮鸣音。结合病史及检查，\
                       考虑慢阻肺急性加重（中度），合并下呼吸道细菌感染可能；暂无无创通气绝对指征。".to_owned(),
            diagnosis_icd10: "J44.1".to_owned(),
            diagnosis_name: "慢性阻塞性肺疾病伴急性加重".to_owned(),
            recommendations: "1. 控制性氧疗，目标指脉氧 88%–92%，复查动脉血气；PaCO₂ > 45 mmHg 且 pH < 7.35 时启动无创通气。\
                              2. 抗感染改为哌拉西林他唑巴坦，留取痰培养后根据结果调整。\
                              3. 继续全身糖皮质激素 5 天，雾化沙丁胺醇/异丙托溴铵。\
                              4. 48 小时无改善或出现意识改变，建议转诊上级医院。".to_owned(),
        },
    )
    .await?;
    service::sign_report(state, &specialist, first).await?;

    // The second: sent, waiting in the cardiology queue for a specialist or the coordinator.
    let second = service::draft(
        state,
        &inviting,
        &TeleconsultDraft {
            person_id: Some(father),
            invited_hospital_id: Some(gz),
            department_id: Some(cardiology),
            specialist_id: None,
            urgency: TeleconsultUrgency::Routine.as_str().to_owned(),
            question: "患者住院期间血压波动 150–170/90–100 mmHg，合并慢阻肺，请协助调整降压方案。".to_owned(),
            summary: "男，74 岁。高血压 10 年，长期服用氨氯地平 5 mg qd。本次因慢阻肺急性加重入院，使用糖皮质激素后血压升高，\
                      无胸痛，心电图示窦性心律。".to_owned(),
            items,
        },
    )
    .await?;
    service::consent(state, &family, second, Some(true)).await?;
    service::send(state, &inviting, second).await?;

    // An up-referral for a bed in Guangzhou's respiratory ward, waiting for an answer.
    crate::referral::service::refer(
        state,
        &inviting,
        &crate::referral::model::ReferralInput {
            person_id: Some(father),
            to_hospital_id: Some(gz),
            department_id: Some(respiratory),
            direction: "up".to_owned(),
            kind: "inpatient".to_owned(),
            summary: "男，74 岁。慢阻肺急性加重，县医院无创通气条件有限，远程会诊建议 48 小时无改善即转上级医院。".to_owned(),
            request: "申请呼吸内科住院床位".to_owned(),
            consultation_id: None,
            items: vec![ItemRef {
                kind: ItemKind::OfflineDiagnosis,
                id: diagnosis,
            }],
        },
    )
    .await?;
    Ok(())
}
