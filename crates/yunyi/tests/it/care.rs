//! Whole-course care: Guangzhou's administrator sets up a family-doctor team (doctor1 leading,
//! nurse1); patient1 signs a contract for his father with it, and from then on the team reads
//! the father's record without break-glass; a member who joins reads it too, one who leaves
//! no longer does, and nobody does once the contract ends, by hand or on expiry.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::helpers::{PW, error_fields};

pub(crate) fn code(answer: &Value) -> &str {
    answer["code"].as_str().unwrap_or_default()
}

pub(crate) async fn id_of(ctx: &Ctx, sql: &str, arg: &str) -> i64 {
    ctx.app.db.scalar::<i64>(sql, (arg,)).await.unwrap()
}

pub(crate) async fn account(ctx: &Ctx, username: &str) -> i64 {
    id_of(ctx, "SELECT id FROM account WHERE username = $1", username).await
}

/// A family-doctor team of Guangzhou with doctor1 leading and nurse1, taking `capacity`.
pub(crate) async fn team(ctx: &Ctx, capacity: i64) -> i64 {
    let (s, created) = ctx
        .post(
            &ctx.admin,
            "/api/v1/care-teams",
            json!({"name": "林志明家庭医生团队", "kind": "family_doctor", "capacity": capacity}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    for (who, role) in [("doctor1", "lead"), ("nurse1", "nurse")] {
        let body = json!({"account_id": account(ctx, who).await, "role": role});
        let (s, answer) = ctx
            .send(
                reqwest::Method::PUT,
                &ctx.admin,
                &format!("/api/v1/care-teams/{id}/members"),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    }
    id
}

/// A team with patient1 signed for himself (chronic): (team, person).
pub(crate) async fn signed_patient1(ctx: &Ctx) -> (i64, i64) {
    let team = team(ctx, 10).await;
    let patient = ctx.app.token("patient1", PW).await;
    let me = ctx.app.person_of(&patient).await;
    let (s, answer) = ctx
        .post(
            &patient,
            "/api/v1/family-contracts",
            json!({"person_id": me, "team_id": team, "package": "chronic"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{answer}");
    (team, me)
}

/// A clinician's token, stepped up (reading a record asks for it).
pub(crate) async fn clinician(ctx: &Ctx, username: &str) -> String {
    let token = ctx.app.token(username, PW).await;
    ctx.app.step_up(&token).await;
    token
}

async fn reads(ctx: &Ctx, token: &str, person: i64) -> StatusCode {
    ctx.get(token, &format!("/api/v1/patients/{person}"))
        .await
        .0
}

#[tokio::test]
async fn a_team_is_set_up_by_its_hospital_with_clinicians_in_roles() {
    let ctx = setup().await;
    let (s, bad) = ctx
        .post(
            &ctx.admin,
            "/api/v1/care-teams",
            json!({"name": "x", "capacity": 0}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["name", "kind", "capacity"]
        )
    );
    let doctor = ctx.app.token("doctor1", PW).await;
    let (s, _) = ctx
        .post(
            &doctor,
            "/api/v1/care-teams",
            json!({"name": "团队", "kind": "family_doctor", "capacity": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let id = team(&ctx, 5).await;
    let members = format!("/api/v1/care-teams/{id}/members");
    // A pharmacist does not lead; a patient is not a member.
    let body = json!({"account_id": account(&ctx, "pharmacist1").await, "role": "lead"});
    let (s, bad) = ctx
        .send(reqwest::Method::PUT, &ctx.admin, &members, Some(body))
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["role"])
    );
    let body = json!({"account_id": account(&ctx, "patient1").await, "role": "nurse"});
    let (s, bad) = ctx
        .send(reqwest::Method::PUT, &ctx.admin, &members, Some(body))
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["account_id"])
    );
    // Only its hospital's administrators change the team, not its own lead.
    let other = ctx.app.token("doctor1", PW).await;
    let body = json!({"account_id": account(&ctx, "pharmacist1").await, "role": "pharmacist"});
    let (s, _) = ctx
        .send(reqwest::Method::PUT, &other, &members, Some(body))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Patients see the team, its members and its places.
    let patient = ctx.app.token("patient1", PW).await;
    let (s, list) = ctx
        .get(&patient, "/api/v1/care-teams?kind=family_doctor")
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let mine = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
        .unwrap();
    assert_eq!(mine["places"], 5);
    let roles: Vec<&str> = mine["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert_eq!(roles, ["lead", "nurse"]);
}

#[tokio::test]
async fn a_contract_opens_the_record_to_the_team_until_it_ends() {
    let ctx = setup().await;
    let id = team(&ctx, 1).await;
    let father = id_of(&ctx, "SELECT id FROM person WHERE name = $1", "张建国").await;
    let lead = clinician(&ctx, "doctor1").await;
    let nurse = clinician(&ctx, "nurse1").await;
    assert_eq!(
        reads(&ctx, &lead, father).await,
        StatusCode::FORBIDDEN,
        "no care relationship yet"
    );

    // The son signs for his father; every field is checked first.
    let son = ctx.app.token("patient1", PW).await;
    let (s, bad) = ctx
        .post(
            &son,
            "/api/v1/family-contracts",
            json!({"person_id": 999_999}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["person_id", "team_id", "package"]
        )
    );
    let body = json!({"person_id": father, "team_id": id, "package": "elderly"});
    let (s, created) = ctx
        .post(&son, "/api/v1/family-contracts", body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let contract = created["id"].as_i64().unwrap();
    assert_eq!(reads(&ctx, &lead, father).await, StatusCode::OK);
    assert_eq!(reads(&ctx, &nurse, father).await, StatusCode::OK);
    // One running contract per person; the team has one place.
    let (s, answer) = ctx.post(&son, "/api/v1/family-contracts", body).await;
    assert_eq!(
        (s, code(&answer)),
        (StatusCode::CONFLICT, "already-contracted"),
        "{answer}"
    );
    let me = ctx.app.person_of(&son).await;
    let (s, answer) = ctx
        .post(
            &son,
            "/api/v1/family-contracts",
            json!({"person_id": me, "team_id": id, "package": "basic"}),
        )
        .await;
    assert_eq!(
        (s, code(&answer)),
        (StatusCode::CONFLICT, "team-full"),
        "{answer}"
    );

    // Who sees it: the son and the team; not another patient.
    let (s, seen) = ctx
        .get(&nurse, &format!("/api/v1/family-contracts/{contract}"))
        .await;
    assert_eq!(
        (s, seen["status"].as_str()),
        (StatusCode::OK, Some("active")),
        "{seen}"
    );
    let stranger = ctx.app.token("patient2", PW).await;
    let (s, _) = ctx
        .get(&stranger, &format!("/api/v1/family-contracts/{contract}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, theirs) = ctx.get(&stranger, "/api/v1/family-contracts").await;
    assert!(
        !theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == contract)
    );

    // A member who joins reads the record; one who leaves no longer does.
    let doctor2 = clinician(&ctx, "doctor2").await;
    let members = format!("/api/v1/care-teams/{id}/members");
    let body = json!({"account_id": account(&ctx, "doctor2").await, "role": "specialist"});
    let (s, _) = ctx
        .send(reqwest::Method::PUT, &ctx.admin, &members, Some(body))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(reads(&ctx, &doctor2, father).await, StatusCode::OK);
    let off = format!("{members}/{}", account(&ctx, "doctor2").await);
    let (s, _) = ctx
        .send(reqwest::Method::DELETE, &ctx.admin, &off, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(reads(&ctx, &doctor2, father).await, StatusCode::FORBIDDEN);

    // Not renewed before its last 60 days; a nurse of the team does not end it.
    let renew = format!("/api/v1/family-contracts/{contract}/renew");
    let (s, _) = ctx.post(&son, &renew, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let end = format!("/api/v1/family-contracts/{contract}/end");
    let (s, _) = ctx.post(&nurse, &end, json!({"reason": "搬家"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The lead ends it, saying why: the team's links end with it.
    let (s, bad) = ctx.post(&lead, &end, json!({})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["reason"])
    );
    let (s, answer) = ctx
        .post(&lead, &end, json!({"reason": "患者迁居外地"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    assert_eq!(reads(&ctx, &lead, father).await, StatusCode::FORBIDDEN);
    assert_eq!(reads(&ctx, &nurse, father).await, StatusCode::FORBIDDEN);
    let (s, _) = ctx.post(&lead, &end, json!({"reason": "再次"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The place is free again.
    let (s, answer) = ctx
        .post(
            &son,
            "/api/v1/family-contracts",
            json!({"person_id": me, "team_id": id, "package": "basic"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{answer}");

    let actions = ctx
        .app
        .db
        .scalars::<String>(
            "SELECT action FROM audit_event WHERE object_type = 'family_contract' AND object_id = $1 \
             UNION ALL SELECT action FROM audit_pending WHERE object_type = 'family_contract' AND object_id = $1",
            (contract.to_string(),),
        )
        .await
        .unwrap();
    assert!(
        actions.iter().any(|a| a == "care.contract.sign"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "care.contract.end"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_contract_is_renewed_in_its_last_days_and_otherwise_expires_at_its_end() {
    use yunyi::jobs::Job;
    let ctx = setup().await;
    let id = team(&ctx, 10).await;
    let father = id_of(&ctx, "SELECT id FROM person WHERE name = $1", "张建国").await;
    let son = ctx.app.token("patient1", PW).await;
    let body = json!({"person_id": father, "team_id": id, "package": "chronic"});
    let (_, created) = ctx.post(&son, "/api/v1/family-contracts", body).await;
    let contract = created["id"].as_i64().unwrap();
    let expiries = || async {
        yunyi::jobs::store::list_by_kind(&ctx.app.db, yunyi::care::expiry::KIND)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.payload.contains(&format!("\"contract_id\":{contract},")))
            .map(|j| serde_json::from_str::<yunyi::care::expiry::Expire>(&j.payload).unwrap())
            .collect::<Vec<_>>()
    };
    let first = expiries().await;
    assert_eq!(first.len(), 1, "one expiry queued at its end");
    let job = yunyi::care::expiry::ExpireContract(ctx.app.state.clone());
    let job_ctx = || yunyi::jobs::JobContext {
        db: ctx.app.db.clone(),
        clock: ctx.app.state.clock.clone(),
        job_id: 0,
        attempt: 1,
    };

    // 320 days on: in its last 60 days, the son renews it for a year from its end.
    ctx.app
        .state
        .clock
        .advance(Duration::from_secs(320 * 86_400));
    let son = ctx.app.token("patient1", PW).await;
    let (s, answer) = ctx
        .post(
            &son,
            &format!("/api/v1/family-contracts/{contract}/renew"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    let queued = expiries().await;
    assert_eq!(queued.len(), 2, "a new expiry at the new end");
    // At the first end the first job runs and finds the end moved: nothing happens.
    ctx.app
        .state
        .clock
        .advance(Duration::from_secs(50 * 86_400));
    job.run(&job_ctx(), first[0].clone()).await.unwrap();
    let lead = clinician(&ctx, "doctor1").await;
    assert_eq!(
        reads(&ctx, &lead, father).await,
        StatusCode::OK,
        "renewed: still the team's"
    );
    // At the new end it expires, and the team's links end.
    ctx.app
        .state
        .clock
        .advance(Duration::from_secs(365 * 86_400));
    let last = queued
        .iter()
        .find(|e| e.ends_at != first[0].ends_at)
        .cloned()
        .unwrap();
    job.run(&job_ctx(), last.clone()).await.unwrap();
    job.run(&job_ctx(), last).await.unwrap();
    let lead = clinician(&ctx, "doctor1").await;
    assert_eq!(reads(&ctx, &lead, father).await, StatusCode::FORBIDDEN);
    let son = ctx.app.token("patient1", PW).await;
    let (_, seen) = ctx
        .get(&son, &format!("/api/v1/family-contracts/{contract}"))
        .await;
    assert_eq!(
        (seen["status"].as_str(), seen["end_reason"].as_str()),
        (Some("ended"), Some("expired")),
        "{seen}"
    );
}

#[tokio::test]
async fn the_family_doctor_page_signs_shows_and_ends_a_contract() {
    let ctx = setup().await;
    let id = team(&ctx, 3).await;
    let father = id_of(&ctx, "SELECT id FROM person WHERE name = $1", "张建国").await;
    let son = ctx.app.sign_in_browser("patient1").await;
    let page = son.page("/family-doctor").await;
    assert!(
        page.contains("家庭医生签约")
            && page.contains(&format!("id=\"team-{id}\""))
            && page.contains("张建国"),
        "{page}"
    );
    let page = son
        .submit(
            "/family-doctor/sign",
            &[
                ("team_id", id.to_string()),
                ("person_id", father.to_string()),
                ("package", "elderly".to_owned()),
            ],
        )
        .await;
    assert!(
        page.contains("id=\"form-notice\"")
            && page.contains("老年人服务包")
            && page.contains("服务中"),
        "{page}"
    );
    assert!(
        !page.contains(&format!("<option value=\"{father}\">")),
        "one with a running contract is not offered another: {page}"
    );
    // Signing again for him anyway: the reason, in Chinese.
    let page = son
        .submit(
            "/family-doctor/sign",
            &[
                ("team_id", id.to_string()),
                ("person_id", father.to_string()),
                ("package", "basic".to_owned()),
            ],
        )
        .await;
    assert!(page.contains("该成员已有生效中的家庭医生签约"), "{page}");
    // The team's lead finds him among the people signed with the team, and ends it.
    let lead = ctx.app.sign_in_browser("doctor1").await;
    let page = lead.page("/family-doctor").await;
    assert!(
        page.contains("团队签约居民") && page.contains("张建国"),
        "{page}"
    );
    let contract = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT id FROM family_contract WHERE person_id = $1",
            (father,),
        )
        .await
        .unwrap();
    let page = lead
        .submit(
            &format!("/family-doctor/{contract}/end"),
            &[("reason", "患者迁居外地".to_owned())],
        )
        .await;
    assert!(
        page.contains("已解约") && page.contains("患者迁居外地"),
        "{page}"
    );
}
