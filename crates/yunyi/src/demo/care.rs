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
