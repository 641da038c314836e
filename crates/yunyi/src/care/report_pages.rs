//! Report pages: a patient's reports (upload a photo or PDF; ask a doctor or the team what one
//! means; read the answer), and a doctor's list of reports waiting for their interpretation.
//! Asking and interpreting are plain forms; the upload posts the file with a few lines of
//! script (`report-upload.js`), since a form would need multipart.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::record::{Entry, EntryKind};
use super::report::{self, AskInput, Askable, Reader, ReportView, UploadInput};
use super::report_store::{ReportKind, ReportStatus};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/care/reports", get(reports_page))
        .route("/care/reports/upload", post(upload))
        .route("/care/reports/{id}", get(report_page))
        .route("/care/reports/{id}/ask", post(ask))
        .route("/care/reports/{id}/interpretation", post(interpret))
        .route("/care/record", get(record_page))
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "care_reports.html")]
struct ReportsPage {
    page: PageCtx,
    patient: bool,
    reports: Vec<ReportView>,
    people: Vec<(i64, String)>,
    kinds: [ReportKind; 3],
    today: String,
    message: String,
}

impl ReportsPage {
    fn waiting(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| r.status == ReportStatus::Asked)
            .count()
    }
}

async fn reports_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<ReportsPage> {
    let me = actor.require()?;
    let patient = page.is_patient();
    let (reports, people) = if patient {
        (
            report::mine(&state, &actor).await?,
            crate::identity::service::booking_people(&state, me, None).await?,
        )
    } else {
        (report::asked_of_me(&state, &actor).await?, Vec::new())
    };
    Ok(ReportsPage {
        page: page.with_nav("care-reports"),
        patient,
        reports,
        people,
        kinds: ReportKind::ALL,
        today: crate::time::cst_today(state.now_ms()).to_string(),
        message: q.message,
    })
}

/// The upload, posted by script with the file as the body and the CSRF token as a header:
/// the report's address, or what was wrong in the page's language.
async fn upload(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let input: UploadInput = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| AppError::BadRequest(format!("the query is not valid: {e}")))?;
    match report::upload(&state, &actor, &input, &body).await {
        Ok(id) => Ok(
            Json(serde_json::json!({"location": format!("/care/reports/{id}")})).into_response(),
        ),
        Err(e @ (AppError::Internal(_) | AppError::Unauthorized)) => Err(e),
        Err(e) => {
            let message = match &e {
                AppError::UnsupportedMediaType(_) => page.t("report.err.file").to_owned(),
                // Each field by the label the form shows it with.
                AppError::Validation(fields) => fields
                    .iter()
                    .map(|f| format!("{}：{}", page.t(upload_label(&f.field)), page.message_of(f)))
                    .collect::<Vec<_>>()
                    .join("；"),
                e => page.error_text(e),
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({ "message": message })),
            )
                .into_response())
        }
    }
}

/// The upload form's label of a field.
fn upload_label(field: &str) -> &'static str {
    match field {
        "person_id" => "report.person",
        "kind" => "report.kind",
        "title" => "report.name",
        "performed_on" => "report.performed_on",
        _ => "report.hospital",
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "care_report.html")]
struct ReportPage {
    page: PageCtx,
    r: ReportView,
    patient: bool,
    asked: bool,
    askable: Askable,
    message: String,
}

impl ReportPage {
    fn is_image(&self) -> bool {
        self.r
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("image/"))
    }

    fn range(&self, low: &Option<f64>, high: &Option<f64>) -> String {
        match (low, high) {
            (Some(l), Some(h)) => format!("{l} – {h}"),
            (Some(l), None) => format!("≥ {l}"),
            (None, Some(h)) => format!("≤ {h}"),
            (None, None) => String::new(),
        }
    }

    fn at(&self, s: &str) -> String {
        s.get(..16).unwrap_or(s).replace('T', " ")
    }

    fn asked_of(&self) -> String {
        self.r
            .asked_doctor
            .as_ref()
            .or(self.r.asked_team.as_ref())
            .map(|x| x.name.clone())
            .unwrap_or_default()
    }

    fn nobody_to_ask(&self) -> bool {
        self.askable.doctors.is_empty() && self.askable.teams.is_empty()
    }
}

async fn report_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<ReportPage> {
    let (r, reader) = report::report(&state, &actor, id).await?;
    let askable = if reader == Reader::PatientSide && r.status == ReportStatus::Recorded {
        report::askable_for(&state, &actor, r.person.id).await?
    } else {
        Askable {
            doctors: Vec::new(),
            teams: Vec::new(),
        }
    };
    Ok(ReportPage {
        page: page.with_nav("care-reports"),
        patient: reader == Reader::PatientSide,
        asked: reader == Reader::Asked,
        r,
        askable,
        message: q.message,
    })
}

#[derive(Deserialize, Default)]
struct AskForm {
    /// `doctor:<id>` or `team:<id>`.
    #[serde(default)]
    whom: String,
    #[serde(default)]
    question: String,
}

async fn ask(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<AskForm>,
) -> AppResult<Redirect> {
    let (kind, who) = f.whom.split_once(':').unwrap_or_default();
    let who = who.parse::<i64>().ok();
    let input = AskInput {
        doctor_id: who.filter(|_| kind == "doctor"),
        team_id: who.filter(|_| kind == "team"),
        question: f.question,
    };
    let result = report::ask(&state, &actor, id, &input).await;
    page.redirect_outcome(&format!("/care/reports/{id}"), result)
}

#[derive(Deserialize, Default)]
struct InterpretForm {
    #[serde(default)]
    interpretation: String,
}

async fn interpret(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<InterpretForm>,
) -> AppResult<Redirect> {
    let result = report::interpret(&state, &actor, id, &f.interpretation).await;
    page.redirect_outcome(&format!("/care/reports/{id}"), result)
}

// ---- One record ----

#[derive(Deserialize, Default)]
struct RecordQuery {
    #[serde(default)]
    person_id: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "care_record.html")]
struct RecordPage {
    page: PageCtx,
    person: i64,
    people: Vec<(i64, String)>,
    entries: Vec<Entry>,
}

impl RecordPage {
    fn title(&self, e: &Entry) -> String {
        let key = e.title_key.as_deref().map(|k| self.page.t(k)).unwrap_or("");
        match (e.kind, key.is_empty(), e.title.is_empty()) {
            (EntryKind::Readings, _, _) if e.detail == "0" => self
                .page
                .t_with("record.readings_ok", &[("n", e.title.as_str())]),
            (EntryKind::Readings, _, _) => self.page.t_with(
                "record.readings",
                &[("n", e.title.as_str()), ("flagged", e.detail.as_str())],
            ),
            (_, false, false) => format!("{key} · {}", e.title),
            (_, false, true) => key.to_owned(),
            _ => e.title.clone(),
        }
    }

    fn status(&self, e: &Entry) -> &'static str {
        e.status_key
            .as_deref()
            .map(|k| self.page.t(k))
            .unwrap_or("")
    }

    fn detail<'a>(&self, e: &'a Entry) -> &'a str {
        if e.kind == EntryKind::Readings {
            ""
        } else {
            &e.detail
        }
    }
}

async fn record_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<RecordQuery>,
) -> AppResult<RecordPage> {
    let me = actor.require()?;
    let people = if page.is_patient() {
        crate::identity::service::booking_people(&state, me, None).await?
    } else {
        Vec::new()
    };
    let person = q
        .person_id
        .or(me.person_id)
        .ok_or_else(|| AppError::field(FieldError::required("person_id")))?;
    let entries = super::record::person_timeline(&state, &actor, person).await?;
    Ok(RecordPage {
        page: page.with_nav(if people.is_empty() {
            "care-reports"
        } else {
            "care-record"
        }),
        person,
        people,
        entries,
    })
}
