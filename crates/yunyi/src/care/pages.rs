//! The family-doctor page: a patient's contracts (renew, end) and the teams they may sign with;
//! a team member's or administrator's contracts. Every form works without script.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{ContractStatus, Package, TeamKind};
use super::service::{self, ContractInput, ContractView, TeamView};
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/family-doctor", get(page))
        .route("/family-doctor/sign", post(sign))
        .route("/family-doctor/{id}/renew", post(renew))
        .route("/family-doctor/{id}/end", post(end))
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "family_doctor.html")]
struct FamilyDoctorPage {
    page: PageCtx,
    contracts: Vec<ContractView>,
    /// The teams a patient may sign with (empty for staff).
    teams: Vec<TeamView>,
    /// Whom a patient signs for: themselves, then their family.
    people: Vec<(i64, String)>,
    packages: [Package; 4],
    patient: bool,
    message: String,
}

impl FamilyDoctorPage {
    fn day(&self, s: &str) -> String {
        s.get(..10).unwrap_or(s).to_owned()
    }
}

async fn page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<FamilyDoctorPage> {
    let me = actor.require()?;
    let patient = me.role == Role::Patient;
    let contracts = service::contracts(&state, &actor).await?;
    let (teams, people) = if patient {
        let teams = service::teams(&state, &actor, None, Some(TeamKind::FamilyDoctor)).await?;
        let mut people = crate::identity::service::booking_people(&state, me, None).await?;
        // Whoever has a running contract is not offered another.
        people.retain(|(id, _)| {
            !contracts
                .iter()
                .any(|c| c.person.id == *id && c.status == ContractStatus::Active)
        });
        (teams, people)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(FamilyDoctorPage {
        page: page.with_nav("family-doctor"),
        contracts,
        teams,
        people,
        packages: [
            Package::Basic,
            Package::Chronic,
            Package::Elderly,
            Package::Children,
        ],
        patient,
        message: q.message,
    })
}

#[derive(Deserialize, Default)]
struct SignForm {
    #[serde(default)]
    person_id: Option<i64>,
    #[serde(default)]
    team_id: Option<i64>,
    #[serde(default)]
    package: String,
}

async fn sign(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(f): AppForm<SignForm>,
) -> AppResult<Redirect> {
    let input = ContractInput {
        person_id: f.person_id,
        team_id: f.team_id,
        package: Package::parse(&f.package),
    };
    let result = service::sign(&state, &actor, &input).await.map(|_| ());
    page.redirect_outcome("/family-doctor", result)
}

#[derive(Deserialize, Default)]
struct EndForm {
    #[serde(default)]
    reason: String,
}

async fn renew(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(_): AppForm<EndForm>,
) -> AppResult<Redirect> {
    let result = service::renew(&state, &actor, id).await;
    page.redirect_outcome("/family-doctor", result)
}

async fn end(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<EndForm>,
) -> AppResult<Redirect> {
    let result = service::end(&state, &actor, id, &f.reason).await;
    page.redirect_outcome("/family-doctor", result)
}
