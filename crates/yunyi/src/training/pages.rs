//! Training pages: the course catalogue, a course with its lessons, the lesson player with its
//! quiz, and the learner's credits. Every form works without script.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::live::{self, LiveInput, LiveSession};
use super::service::{self, CourseSummary, CourseView, Credit, LessonState, QuizAnswers};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses", get(catalogue))
        .route("/courses/{id}", get(course))
        .route("/courses/{id}/enrol", post(enrol))
        .route("/courses/{id}/lessons/{lesson}", get(lesson))
        .route("/courses/{id}/lessons/{lesson}/{step}", post(lesson_step))
        .route("/courses/{id}/live", post(schedule_live))
        .route("/courses/{id}/live/{live}", get(live_page))
        .route("/courses/{id}/live/{live}/end", post(end_live))
        .route("/me/credits", get(credits))
}

/// Credit hours as people write them: "1.5", "2".
fn hours(h: f64) -> String {
    let s = format!("{h:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

#[derive(Template, WebTemplate)]
#[template(path = "courses.html")]
struct CataloguePage {
    page: PageCtx,
    items: Vec<CourseSummary>,
    /// The administrator's hospital, for the credits export.
    export_for: Option<i64>,
}

impl CataloguePage {
    fn hours(&self, h: &f64) -> String {
        hours(*h)
    }
}

async fn catalogue(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
) -> AppResult<CataloguePage> {
    let items = service::catalogue(&state, &actor).await?;
    let me = actor.require()?;
    Ok(CataloguePage {
        page: page.with_nav("training"),
        items,
        export_for: me.hospital_id.filter(|_| me.role == Role::HospitalAdmin),
    })
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: String,
    score: Option<i64>,
    passed: Option<bool>,
    /// Which answers were right, as `1` and `0` in order.
    correct: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "course.html")]
struct CoursePage {
    page: PageCtx,
    c: CourseView,
    message: String,
    lives: Vec<LiveSession>,
    /// Whom an administrator may name as a live session's lecturer.
    lecturers: Vec<(i64, String)>,
    /// The live-session form as typed, and what was wrong with it.
    form: LiveForm,
    errors: Vec<FieldError>,
}

impl CoursePage {
    fn error(&self, field: &str) -> Option<String> {
        self.page.field_error(&self.errors, field)
    }

    fn chosen(&self, id: &i64) -> bool {
        self.form.lecturer_id.trim() == id.to_string()
    }

    fn hours(&self, h: &f64) -> String {
        hours(*h)
    }

    fn at(&self, s: &str) -> String {
        crate::teleconsult::pages::at(s)
    }
}

async fn course(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<CoursePage> {
    course_page(
        &state,
        page,
        &actor,
        id,
        q.message,
        (LiveForm::default(), Vec::new()),
    )
    .await
}

async fn course_page(
    state: &AppState,
    page: PageCtx,
    actor: &Actor,
    id: i64,
    message: String,
    (form, errors): (LiveForm, Vec<FieldError>),
) -> AppResult<CoursePage> {
    let c = service::view(state, actor, id).await?;
    let lives = live::list(state, actor, id).await?;
    let lecturers = if c.author && c.summary.published {
        live::lecturers(state, c.summary.hospital_id).await?
    } else {
        Vec::new()
    };
    Ok(CoursePage {
        page: page.with_nav("training"),
        c,
        message,
        lives,
        lecturers,
        form,
        errors,
    })
}

/// The live-session form as sent (the time from a `datetime-local` input).
#[derive(Deserialize, Default)]
struct LiveForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    lecturer_id: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    minutes: String,
}

/// Schedules a live session; a bad field comes back with the form as typed.
async fn schedule_live(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<LiveForm>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let input = LiveInput {
        title: f.title.clone(),
        lecturer_id: f.lecturer_id.trim().parse().ok(),
        starts_at: f.starts_at.clone(),
        minutes: f.minutes.trim().parse().ok(),
    };
    match live::schedule(&state, &actor, id, &input).await {
        Ok(live) => Ok(Redirect::to(&format!("/courses/{id}/live/{live}")).into_response()),
        Err(AppError::Validation(errors)) => {
            let page = course_page(&state, page, &actor, id, String::new(), (f, errors)).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Ok(page
            .redirect_outcome(&format!("/courses/{id}"), Err(e))?
            .into_response()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "course_live.html")]
struct LivePage {
    page: PageCtx,
    c: CourseView,
    l: LiveSession,
    message: String,
    /// The ICE servers of the video room (`RTCConfiguration.iceServers`), as JSON.
    ice_json: String,
    /// The reader may end it (its lecturer, the course's administrators).
    may_end: bool,
}

impl LivePage {
    fn at(&self, s: &str) -> String {
        crate::teleconsult::pages::at(s)
    }
}

async fn live_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Path((id, session)): Path<(String, String)>,
    Query(q): Query<MessageQuery>,
) -> AppResult<LivePage> {
    let id = crate::extract::path_id("course", &id)?;
    let session = crate::extract::path_id("live session", &session)?;
    let c = service::view(&state, &actor, id).await?;
    let l = live::view(&state, &actor, id, session).await?;
    let me = actor.require()?.account_id;
    let ice = crate::consult::ice::ice_servers(&state.config.consult, me, state.now_ms() / 1000);
    let may_end = l.ended_at.is_none() && (c.author || l.lecturer.id == me);
    Ok(LivePage {
        page: page.with_nav("training"),
        c,
        l,
        message: q.message,
        ice_json: serde_json::to_string(&ice).unwrap_or_else(|_| "[]".to_owned()),
        may_end,
    })
}

async fn end_live(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Path((id, session)): Path<(String, String)>,
    AppForm(_): AppForm<Empty>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("course", &id)?;
    let session = crate::extract::path_id("live session", &session)?;
    let result = live::end(&state, &actor, id, session).await;
    page.redirect_outcome(&format!("/courses/{id}/live/{session}"), result)
}

#[derive(Deserialize, Default)]
struct Empty {}

async fn enrol(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(_): AppForm<Empty>,
) -> AppResult<Redirect> {
    let result = service::enrol(&state, &actor, id).await;
    page.redirect_outcome(&format!("/courses/{id}"), result)
}

#[derive(Template, WebTemplate)]
#[template(path = "lesson.html")]
struct LessonPage {
    page: PageCtx,
    c: CourseView,
    l: LessonState,
    next: Option<i64>,
    message: String,
    score: Option<i64>,
    passed: bool,
    correct: Vec<bool>,
}

impl LessonPage {
    fn wrong(&self, i: &usize) -> bool {
        self.correct.get(*i).is_some_and(|c| !c)
    }
}

async fn lesson(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Path((id, lesson)): Path<(String, String)>,
    Query(q): Query<MessageQuery>,
) -> AppResult<LessonPage> {
    let id = crate::extract::path_id("course", &id)?;
    let lesson = crate::extract::path_id("lesson", &lesson)?;
    let c = service::view(&state, &actor, id).await?;
    if !c.summary.enrolled && !c.author {
        return Err(AppError::refused(
            crate::error::Reason::MembershipRequired,
            "enrol in the course first",
        ));
    }
    let at = c
        .lesson_list
        .iter()
        .position(|l| l.id == lesson)
        .ok_or_else(|| AppError::NotFound(format!("no lesson {lesson} in course {id}")))?;
    let l = c.lesson_list[at].clone();
    let next = c.lesson_list.get(at + 1).map(|n| n.id);
    Ok(LessonPage {
        page: page.with_nav("training"),
        c,
        l,
        next,
        message: q.message,
        score: q.score,
        passed: q.passed.unwrap_or(false),
        correct: q
            .correct
            .unwrap_or_default()
            .chars()
            .map(|c| c == '1')
            .collect(),
    })
}

/// The quiz as sent: one radio group per question, named `q<position>`.
#[derive(Deserialize, Default)]
struct QuizForm {
    #[serde(flatten)]
    answers: std::collections::BTreeMap<String, String>,
}

async fn lesson_step(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Path((id, lesson, step)): Path<(String, String, String)>,
    AppForm(f): AppForm<QuizForm>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("course", &id)?;
    let lesson = crate::extract::path_id("lesson", &lesson)?;
    let path = format!("/courses/{id}/lessons/{lesson}");
    match step.as_str() {
        "studied" => {
            let result = service::studied(&state, &actor, id, lesson).await;
            page.redirect_outcome(&path, result)
        }
        "quiz" => {
            let mut numbered: Vec<(i64, i64)> = f
                .answers
                .iter()
                .filter_map(|(k, v)| {
                    let n = k.strip_prefix('q')?.parse::<i64>().ok()?;
                    Some((n, v.trim().parse::<i64>().unwrap_or(-1)))
                })
                .collect();
            numbered.sort();
            let answers = QuizAnswers {
                answers: numbered.into_iter().map(|(_, a)| a).collect(),
            };
            match service::answer(&state, &actor, (id, lesson), &answers).await {
                Ok(r) => {
                    let correct: String = r
                        .correct
                        .iter()
                        .map(|c| if *c { '1' } else { '0' })
                        .collect();
                    Ok(Redirect::to(&format!(
                        "{path}?score={}&passed={}&correct={correct}#quiz",
                        r.score, r.passed
                    )))
                }
                Err(e) => page.redirect_outcome(&path, Err(e)),
            }
        }
        _ => Err(AppError::NotFound(format!("no step '{step}'"))),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "credits.html")]
struct CreditsPage {
    page: PageCtx,
    items: Vec<Credit>,
    total: String,
}

impl CreditsPage {
    fn hours(&self, h: &f64) -> String {
        hours(*h)
    }

    fn at(&self, s: &str) -> String {
        crate::teleconsult::pages::at(s)
    }
}

async fn credits(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
) -> AppResult<CreditsPage> {
    let items = service::my_credits(&state, &actor).await?;
    let total = hours(items.iter().map(|c| c.credit_hours).sum());
    Ok(CreditsPage {
        page: page.with_nav("training"),
        items,
        total,
    })
}
