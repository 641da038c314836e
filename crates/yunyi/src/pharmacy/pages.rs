//! Prescription pages: the doctor's prescribing form in a follow-up visit (check, then sign),
//! a prescription's page (patient, its doctor, the hospital's pharmacists), the patient's
//! list, and the pharmacist's review queue with approve and reject. Handlers call the same
//! service functions as the JSON API.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::checks::{Finding, Frequency};
use super::model::Drug;
use super::prescribing::{self, Checked, PrescriptionView};
use super::prescription::{ItemInput, PrescriptionInput};
use super::prescription_store::PrescriptionRow;
use super::review::{self, QueueItem};
use super::service as formulary;
use super::store::DrugQuery;
use crate::app::AppState;
use crate::consult::service::ConsultationView;
use crate::dispensing::address::AddressView;
use crate::dispensing::service::FulfilmentView;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::time::cst_display;
use crate::web::PageCtx;
use crate::web::filters;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/consultations/{id}/prescribe",
            get(prescribe_form).post(prescribe),
        )
        .route("/prescriptions", get(mine))
        .route("/prescriptions/{id}", get(detail))
        .route("/prescriptions/{id}/approve", post(approve))
        .route("/prescriptions/{id}/reject", post(reject))
        .route("/prescriptions/{id}/renew", post(renew))
        .route("/pharmacist/reviews", get(reviews))
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: Option<String>,
}

/// One line of the prescribing form as typed.
#[derive(Debug, Clone, Default)]
struct LineForm {
    drug_id: String,
    dose: String,
    frequency: String,
    days: String,
    quantity: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "prescribe.html")]
struct PrescribePage {
    page: PageCtx,
    consultation: ConsultationView,
    drugs: Vec<Drug>,
    /// Each drug's names and their pinyin (see `text::search_key`), by id.
    search_keys: std::collections::HashMap<i64, String>,
    lines: Vec<LineForm>,
    diagnosis_name: String,
    duration: String,
    pregnant: bool,
    guardian_present: bool,
    checked: Option<Checked>,
    errors: Vec<FieldError>,
    message: String,
    earlier: Vec<PrescriptionRow>,
    /// A renewal visit: the prescription whose lines the form starts from.
    renewal: Option<i64>,
}

impl PrescribePage {
    fn frequencies(&self) -> Vec<&'static str> {
        Frequency::ALL.iter().map(|f| f.as_str()).collect()
    }

    fn is(&self, a: &str, b: &str) -> bool {
        a == b
    }

    fn selected(&self, a: &str, b: &i64) -> bool {
        a == b.to_string()
    }

    /// What the drug picker finds a drug by (computed once per page, not once per line).
    fn search_key(&self, d: &Drug) -> &str {
        self.search_keys.get(&d.id).map_or("", String::as_str)
    }

    /// The dose unit of the line's drug ("mg"), so the dose box says what it counts.
    fn dose_unit(&self, line: &LineForm) -> String {
        self.drugs
            .iter()
            .find(|d| line.drug_id == d.id.to_string())
            .map(|d| d.dose_unit.clone())
            .unwrap_or_default()
    }

    fn line_errors(&self, i: &usize) -> Vec<String> {
        let prefix = format!("items[{i}]");
        self.errors
            .iter()
            .filter(|e| e.field == prefix || e.field.starts_with(&format!("{prefix}.")))
            .map(|e| self.page.message_of(e))
            .collect()
    }

    fn other_errors(&self) -> Vec<&FieldError> {
        self.errors
            .iter()
            .filter(|e| !e.field.starts_with("items["))
            .collect()
    }

    fn severity(&self, f: &Finding) -> String {
        format!("{:?}", f.severity).to_lowercase()
    }
}

const LINES: usize = super::prescription::MAX_ITEMS;

async fn form_page(
    state: &AppState,
    page: PageCtx,
    actor: &Actor,
    id: i64,
) -> AppResult<PrescribePage> {
    let consultation = crate::consult::service::read(state, actor, id).await?;
    let query = DrugQuery {
        online_only: true,
        limit: 2_000,
        ..Default::default()
    };
    let mut drugs =
        formulary::search(&state.db, consultation.consultation.hospital_id, &query).await?;
    drugs.sort_by(|a, b| a.generic_name.cmp(&b.generic_name));
    let earlier = prescribing::of_consultation(state, actor, id).await?;
    let diagnosis_name = consultation
        .note
        .as_ref()
        .and_then(|n| n.diagnoses.first().map(|d| d.name.clone()))
        .unwrap_or_default();
    let search_keys = drugs
        .iter()
        .map(|d| {
            let brand = d.brand_name.as_deref().unwrap_or_default();
            let key = format!(
                "{} {}",
                crate::text::search_key(&d.generic_name),
                crate::text::search_key(brand)
            );
            (d.id, key)
        })
        .collect();
    Ok(PrescribePage {
        page: page.with_nav("doctor-consultations"),
        consultation,
        drugs,
        search_keys,
        lines: vec![LineForm::default(); LINES],
        diagnosis_name,
        duration: "chronic".to_owned(),
        pregnant: false,
        guardian_present: false,
        checked: None,
        errors: Vec::new(),
        message: String::new(),
        earlier,
        renewal: None,
    })
}

/// The empty form; in a renewal visit (续方) with nothing written yet, it starts from the
/// renewed prescription's lines for the doctor to review, check and sign.
async fn prescribe_form(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<PrescribePage> {
    let mut form = form_page(&state, page, &actor, id).await?;
    let renews = form.consultation.consultation.renews_prescription_id;
    if let (Some(rx), true) = (renews, form.earlier.is_empty()) {
        if let Some((last, items)) = prescribing::lines_to_renew(&state, rx).await? {
            for (slot, item) in form.lines.iter_mut().zip(&items) {
                *slot = LineForm {
                    drug_id: item.drug_id.to_string(),
                    dose: item.dose.to_string(),
                    frequency: item.frequency.clone(),
                    days: item.days.to_string(),
                    quantity: item.quantity.to_string(),
                };
            }
            form.diagnosis_name = last.diagnosis_name;
            form.duration = last.duration;
            form.renewal = Some(rx);
        }
    }
    Ok(form)
}

/// The form's fields, in the order a browser sends them (`drug_id_0` … `quantity_4`).
fn parse_form(
    id: i64,
    pairs: &[(String, String)],
) -> (PrescriptionInput, Vec<LineForm>, Vec<FieldError>, bool) {
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut lines = Vec::new();
    let mut items = Vec::new();
    for i in 0..LINES {
        let line = LineForm {
            drug_id: get(&format!("drug_id_{i}")),
            dose: get(&format!("dose_{i}")),
            frequency: get(&format!("frequency_{i}")),
            days: get(&format!("days_{i}")),
            quantity: get(&format!("quantity_{i}")),
        };
        if !line.drug_id.is_empty() {
            let n = items.len();
            let number = |field: &str, raw: &str, errors: &mut Vec<FieldError>| -> Option<f64> {
                match raw {
                    "" => None,
                    v => v.parse::<f64>().ok().or_else(|| {
                        errors.push(FieldError::new(
                            format!("items[{n}].{field}"),
                            "must be a number",
                        ));
                        None
                    }),
                }
            };
            let dose = number("dose", &line.dose, &mut errors);
            let days = number("days", &line.days, &mut errors).map(|d| d as i64);
            let quantity = number("quantity", &line.quantity, &mut errors).map(|q| q as i64);
            items.push(ItemInput {
                drug_id: line.drug_id.parse().ok(),
                dose,
                frequency: line.frequency.clone(),
                days,
                quantity,
            });
        }
        lines.push(line);
    }
    let input = PrescriptionInput {
        consultation_id: Some(id),
        diagnosis_icd10: None,
        diagnosis_name: get("diagnosis_name"),
        duration: Some(get("duration")),
        pregnant: !get("pregnant").is_empty(),
        guardian_present: !get("guardian_present").is_empty(),
        supersedes: get("supersedes").parse().ok(),
        items,
    };
    let sign = get("action") == "sign";
    (input, lines, errors, sign)
}

/// Checks (the findings shown on the form) or signs (to the prescription's page).
async fn prescribe(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(pairs): AppForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (input, lines, mut errors, sign) = parse_form(id, &pairs);
    let mut form = form_page(&state, page, &actor, id).await?;
    form.lines = lines;
    form.diagnosis_name = input.diagnosis_name.clone();
    form.duration = input.duration.clone().unwrap_or_default();
    form.pregnant = input.pregnant;
    form.guardian_present = input.guardian_present;
    if !errors.is_empty() {
        form.errors = errors;
        return Ok(form.into_response());
    }
    let valid = match input.validate() {
        Ok(v) => v,
        Err(e) => {
            form.errors = e;
            return Ok(form.into_response());
        }
    };
    let outcome = if sign {
        prescribing::sign(&state, &actor, &valid)
            .await
            .map(|v| Some(v.prescription.id))
    } else {
        match prescribing::check(&state, &actor, &valid).await {
            Ok(checked) => {
                form.checked = Some(checked);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(Some(rx)) => Ok(Redirect::to(&format!("/prescriptions/{rx}")).into_response()),
        Ok(None) => Ok(form.into_response()),
        Err(AppError::Validation(e) | AppError::ConflictFields(e)) => {
            errors = e;
            form.errors = errors;
            Ok(form.into_response())
        }
        Err(e) if e.is_conflict() || matches!(e, AppError::Forbidden(_)) => {
            form.message = e.to_string();
            Ok(form.into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "prescription.html")]
struct DetailPage {
    page: PageCtx,
    view: PrescriptionView,
    signed: String,
    pharmacist: bool,
    patient: bool,
    message: String,
    /// How the medicine reaches the patient, once paid.
    fulfilment: Option<FulfilmentView>,
    /// For choosing before paying: the patient's addresses and the hospital's pharmacies.
    addresses: Vec<AddressView>,
    pharmacies: Vec<super::store::Pharmacy>,
}

async fn detail(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<DetailPage> {
    let view = prescribing::read(&state, &actor, id).await?;
    let pharmacist = actor.role() == Some(crate::identity::model::Role::Pharmacist);
    let patient = actor.role() == Some(crate::identity::model::Role::Patient);
    let fulfilment = crate::dispensing::service::of_prescription(&state, id, patient)
        .await?
        .filter(|f| f.fulfilment.status != "awaiting_payment");
    let choosing = patient && view.prescription.status == "approved";
    let (addresses, pharmacies) = if choosing {
        (
            crate::dispensing::address::list(&state, &actor, Some(view.prescription.person_id))
                .await?,
            formulary::pharmacies(&state.db, view.prescription.hospital_id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(DetailPage {
        page: page.with_nav(if pharmacist {
            "reviews"
        } else {
            "prescriptions"
        }),
        signed: cst_display(view.prescription.signed_at),
        view,
        pharmacist,
        patient,
        message: q.message.unwrap_or_default(),
        fulfilment,
        addresses,
        pharmacies,
    })
}

/// A prescription in the patient's list: what it says at a glance.
struct Listed {
    p: PrescriptionRow,
    /// When it was signed.
    when: String,
    /// Whether it is the one to renew for its condition (the most recent renewable one).
    renew: bool,
    /// The medicines, `氨氯地平片 5mg ×2盒`.
    drugs: Vec<String>,
    doctor: String,
    /// For whom: the account's own person or a family member.
    person: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "prescriptions.html")]
struct ListPage {
    page: PageCtx,
    items: Vec<Listed>,
    message: String,
}

async fn mine(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<ListPage> {
    let me = actor.require()?;
    let mut people = crate::identity::service::family_names(&state, me.account_id).await?;
    if let Some(own) = me.person_id {
        people.push((own, me.display_name.clone()));
    }
    let rows = prescribing::mine(&state, &actor, None).await?;
    let offers = super::refill::offers(&rows);
    let mut items = Vec::with_capacity(rows.len());
    let mut doctors: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    for (p, renew) in rows.into_iter().zip(offers) {
        let (lines, _) = prescribing::lines_and_findings(&state, p.id).await?;
        let drugs = lines
            .iter()
            .map(|l| format!("{} {} ×{}{}", l.drug_name, l.strength, l.quantity, l.unit))
            .collect();
        // A patient's prescriptions come from a few doctors: each name is read once.
        let doctor = match doctors.get(&p.doctor_id) {
            Some(name) => String::clone(name),
            None => {
                let name = crate::directory::service::doctor_name(&state.db, p.doctor_id).await?;
                doctors.insert(p.doctor_id, name.clone());
                name
            }
        };
        let person = people
            .iter()
            .find(|(id, _)| *id == p.person_id)
            .map(|(_, name)| name.clone())
            .unwrap_or_default();
        items.push(Listed {
            when: cst_display(p.signed_at),
            renew,
            drugs,
            doctor,
            person,
            p,
        });
    }
    Ok(ListPage {
        page: page.with_nav("prescriptions"),
        items,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Deserialize, Default)]
struct RenewForm {
    #[serde(default)]
    note: String,
}

/// "Renew my medicine": to the new follow-up request, or back to the list saying why not.
async fn renew(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<RenewForm>,
) -> AppResult<Redirect> {
    match super::refill::renew(&state, &actor, id, optional(&form.note)).await {
        Ok(v) => Ok(Redirect::to(&format!(
            "/consultations/{}",
            v.consultation.id
        ))),
        Err(e) => redirect_with_outcome("/prescriptions", &[], Err(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    page: PageCtx,
    items: Vec<(QueueItem, PrescriptionView)>,
    message: String,
}

impl ReviewsPage {
    fn allergies(&self, json: &str) -> String {
        serde_json::from_str::<Vec<String>>(json)
            .unwrap_or_default()
            .join("、")
    }
}

async fn reviews(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<ReviewsPage> {
    let mut items = Vec::new();
    // The queue read is audited item by item; the details come with it.
    for item in review::queue(&state, &actor).await? {
        let view = prescribing::view_unchecked(&state, item.prescription.id).await?;
        items.push((item, view));
    }
    Ok(ReviewsPage {
        page: page.with_nav("reviews"),
        items,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Deserialize, Default)]
struct ReviewForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
}

fn optional(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

async fn approve(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<ReviewForm>,
) -> AppResult<Redirect> {
    let result = review::approve(&state, &actor, id, optional(&form.note))
        .await
        .map(|_| ());
    redirect_with_outcome("/pharmacist/reviews", &[], result)
}

async fn reject(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<ReviewForm>,
) -> AppResult<Redirect> {
    let result = review::reject(&state, &actor, id, optional(&form.reason))
        .await
        .map(|_| ());
    redirect_with_outcome("/pharmacist/reviews", &[], result)
}
