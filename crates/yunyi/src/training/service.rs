//! Remote training: who may write, take and see a course, and learning it.
//!
//! | step | who |
//! |---|---|
//! | create a course, add lessons and their files, publish | the offering hospital's administrators (before publishing: a published course's lessons stay as learners found them) |
//! | see the catalogue, enrol | staff of the offering hospital or of a hospital it supports (对口支援): doctors, nurses, pharmacists, infection officers, administrators |
//! | study a lesson (its file, served in ranges), take its quiz | the enrolled learner; the file also to the offering hospital's administrators |
//! | own credits | the learner |
//! | export the credits of a hospital's staff (CSV) | that hospital's administrators (audited) |
//!
//! A lesson is done once studied and its quiz (if any) passed with [`PASS_PERCENT`]; when every
//! lesson is done the enrolment is complete, in the same transaction, and earns the course's
//! credit hours.

use serde::{Deserialize, Serialize};

use super::model::{self, CourseInput, LessonInput, PASS_PERCENT};
use super::store::{self, CourseRow, CreditRow, LessonRow};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::capability::{self, Capability};
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::model::Role;
use crate::identity::{Actor, SignedIn};
use crate::time::cst_rfc3339;

/// The largest lesson file: a 45-minute lecture at 720p fits.
pub const MAX_LESSON_BYTES: usize = 300 * 1024 * 1024;

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no course {id}"))
}

/// Whether `me` is staff who may learn at `hospital`'s courses: of it, or of a hospital it
/// supports.
async fn learner_at(state: &AppState, me: &SignedIn, hospital: i64) -> AppResult<Option<i64>> {
    let staff = matches!(
        me.role,
        Role::Doctor
            | Role::Nurse
            | Role::Pharmacist
            | Role::InfectionOfficer
            | Role::HospitalAdmin
    );
    let Some(own) = me.hospital_id.filter(|_| staff) else {
        return Ok(None);
    };
    if own == hospital
        || crate::directory::store::supporters_of(&state.db, own)
            .await?
            .contains(&hospital)
    {
        Ok(Some(own))
    } else {
        Ok(None)
    }
}

fn authors(me: &SignedIn, c: &CourseRow) -> bool {
    Capability::Administer(c.hospital_id).held_by(me)
}

/// The course if `me` may see it: its authors always, learners once published; 404 otherwise
/// (a draft is nobody else's business).
pub(super) async fn visible(
    state: &AppState,
    me: &SignedIn,
    id: i64,
) -> AppResult<(CourseRow, bool)> {
    let c = store::course(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let author = authors(me, &c);
    if author || (c.published_at.is_some() && learner_at(state, me, c.hospital_id).await?.is_some())
    {
        Ok((c, author))
    } else {
        Err(not_found(id))
    }
}

// ---- Writing a course ----

/// A new course of the administrator's hospital, as a draft.
pub async fn create(state: &AppState, actor: &Actor, input: &CourseInput) -> AppResult<i64> {
    let me = actor.require()?;
    let Some(hospital) = me.hospital_id.filter(|_| me.role == Role::HospitalAdmin) else {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "courses are written by a hospital's administrators",
        ));
    };
    let course = input.check().map_err(AppError::Validation)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = store::insert_course(&mut tx, hospital, &course, me.account_id, now).await?;
    let e = NewEvent::new(actor.audit(), "training.course.create", "course").object(id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(id)
}

/// The course for its author to change: a draft of their hospital.
async fn draft_of(state: &AppState, actor: &Actor, id: i64, action: &str) -> AppResult<CourseRow> {
    actor.require()?;
    let c = store::course(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    capability::require(state, actor, Capability::Administer(c.hospital_id), action).await?;
    if c.published_at.is_some() {
        return Err(AppError::wrong_state(
            "the course is published: its lessons stay as its learners found them",
        ));
    }
    Ok(c)
}

pub async fn add_lesson(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &LessonInput,
) -> AppResult<i64> {
    draft_of(state, actor, id, "training.lesson.add").await?;
    let lesson = input.check().map_err(AppError::Validation)?;
    let mut tx = state.db.begin().await?;
    let lesson_id = store::insert_lesson(&mut tx, id, &lesson).await?;
    let e = NewEvent::new(actor.audit(), "training.lesson.add", "course").object(id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(lesson_id)
}

/// The lesson's file: a WebM or MP4 video or a PDF, known by its bytes.
pub async fn put_file(
    state: &AppState,
    actor: &Actor,
    (id, lesson): (i64, i64),
    bytes: &[u8],
) -> AppResult<()> {
    draft_of(state, actor, id, "training.lesson.file").await?;
    let l = store::lesson(&state.db, id, lesson)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no lesson {lesson} in course {id}")))?;
    let Some(content_type) = model::sniff_lesson(bytes) else {
        return Err(AppError::UnsupportedMediaType(
            "a lesson is a WebM or MP4 video or a PDF".to_owned(),
        ));
    };
    // The route's body limit keeps a file within MAX_LESSON_BYTES.
    let key = state
        .blobs
        .put(bytes)
        .await
        .map_err(AppError::from_storage)?;
    let mut tx = state.db.begin().await?;
    store::set_file(&mut tx, l.id, &key, content_type, bytes.len() as i64).await?;
    let e = NewEvent::new(actor.audit(), "training.lesson.file", "course").object(id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

/// Publishes the course: it has lessons, each with its file.
pub async fn publish(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    draft_of(state, actor, id, "training.course.publish").await?;
    let lessons = store::lessons(&state.db, id).await?;
    if lessons.is_empty() {
        return Err(AppError::field(
            FieldError::new("lessons", "a course needs at least one lesson")
                .localized("training.err.no_lessons", vec![]),
        ));
    }
    if let Some(l) = lessons.iter().find(|l| l.blob_key.is_none()) {
        return Err(AppError::field(
            FieldError::new(
                "lessons",
                format!("lesson {} ({}) has no file yet", l.position, l.title),
            )
            .localized(
                "training.err.lesson_file",
                vec![("position", l.position.to_string())],
            ),
        ));
    }
    let mut tx = state.db.begin().await?;
    if !store::publish(&mut tx, id, state.now_ms()).await? {
        return Err(AppError::wrong_state("the course is already published"));
    }
    let e = NewEvent::new(actor.audit(), "training.course.publish", "course").object(id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

// ---- Learning ----

/// One course in the catalogue, with the reader's progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CourseSummary {
    pub id: i64,
    pub title: String,
    pub hospital: String,
    pub hospital_id: i64,
    /// Continuing-education credit hours.
    pub credit_hours: f64,
    pub lessons: i64,
    pub published: bool,
    /// Lessons the reader has done (none when not enrolled).
    pub done: i64,
    pub enrolled: bool,
    pub completed_at: Option<String>,
}

fn hours(tenths: i64) -> f64 {
    tenths as f64 / 10.0
}

async fn summarise(state: &AppState, me: &SignedIn, c: &CourseRow) -> AppResult<CourseSummary> {
    let enrolment = store::enrolment(&state.db, c.id, me.account_id).await?;
    let done = match &enrolment {
        Some(e) => lesson_states(state, c.id, Some(e.id))
            .await?
            .iter()
            .filter(|s| s.done)
            .count() as i64,
        None => 0,
    };
    Ok(CourseSummary {
        id: c.id,
        title: c.title.clone(),
        hospital: c.hospital.clone(),
        hospital_id: c.hospital_id,
        credit_hours: hours(c.credit_tenths),
        lessons: c.lessons,
        published: c.published_at.is_some(),
        done,
        enrolled: enrolment.is_some(),
        completed_at: enrolment.and_then(|e| e.completed_at).map(cst_rfc3339),
    })
}

/// The courses the reader may take (published, of their hospital and those supporting it)
/// and, for an administrator, every course of their hospital.
pub async fn catalogue(state: &AppState, actor: &Actor) -> AppResult<Vec<CourseSummary>> {
    let me = actor.require()?;
    let mut hospitals = Vec::new();
    if let Some(own) = me.hospital_id {
        if learner_at(state, me, own).await?.is_some() {
            hospitals.push(own);
            hospitals.extend(crate::directory::store::supporters_of(&state.db, own).await?);
        }
    }
    let own = me.hospital_id.filter(|_| me.role == Role::HospitalAdmin);
    if hospitals.is_empty() && own.is_none() {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "courses are for the staff of hospitals",
        ));
    }
    let mut out = Vec::new();
    for c in store::catalogue(&state.db, &hospitals, own).await? {
        out.push(summarise(state, me, &c).await?);
    }
    Ok(out)
}

/// A quiz question as a learner sees it: without the answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuizQuestion {
    pub position: i64,
    pub prompt: String,
    pub options: Vec<String>,
}

/// A lesson with the reader's progress in it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LessonState {
    pub id: i64,
    pub position: i64,
    pub title: String,
    pub minutes: i64,
    /// `video/webm`, `video/mp4` or `application/pdf`; none until uploaded.
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub questions: Vec<QuizQuestion>,
    pub studied: bool,
    pub attempts: i64,
    /// The last attempt's score (percent).
    pub score: Option<i64>,
    pub passed: bool,
    pub done: bool,
}

impl LessonState {
    pub fn is_video(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("video/"))
    }
}

async fn lesson_states(
    state: &AppState,
    course: i64,
    enrolment: Option<i64>,
) -> AppResult<Vec<LessonState>> {
    let lessons = store::lessons(&state.db, course).await?;
    let questions = store::questions(&state.db, course).await?;
    let progress = match enrolment {
        Some(e) => store::progress(&state.db, e).await?,
        None => Vec::new(),
    };
    Ok(lessons
        .into_iter()
        .map(|l| {
            let qs: Vec<QuizQuestion> = questions
                .iter()
                .filter(|q| q.lesson_id == l.id)
                .map(|q| QuizQuestion {
                    position: q.position,
                    prompt: q.prompt.clone(),
                    options: serde_json::from_str(&q.options).unwrap_or_default(),
                })
                .collect();
            let p = progress.iter().find(|p| p.lesson_id == l.id);
            let studied = p.is_some_and(|p| p.studied_at.is_some());
            let passed = p.is_some_and(|p| p.passed_at.is_some());
            LessonState {
                done: model::lesson_done(studied, !qs.is_empty(), passed),
                id: l.id,
                position: l.position,
                title: l.title,
                minutes: l.minutes,
                content_type: l.content_type,
                size_bytes: l.size_bytes,
                questions: qs,
                studied,
                attempts: p.map_or(0, |p| p.attempts),
                score: p.and_then(|p| p.score),
                passed,
            }
        })
        .collect())
}

/// A course with its lessons and the reader's progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CourseView {
    #[serde(flatten)]
    pub summary: CourseSummary,
    pub description: String,
    pub lesson_list: Vec<LessonState>,
    /// The reader writes it (its hospital's administrator).
    pub author: bool,
    /// The reader may enrol (staff it is offered to, not yet enrolled, published).
    pub may_enrol: bool,
}

pub async fn view(state: &AppState, actor: &Actor, id: i64) -> AppResult<CourseView> {
    let me = actor.require()?;
    let (c, author) = visible(state, me, id).await?;
    let summary = summarise(state, me, &c).await?;
    let enrolment = store::enrolment(&state.db, id, me.account_id).await?;
    let lesson_list = lesson_states(state, id, enrolment.as_ref().map(|e| e.id)).await?;
    let may_enrol = enrolment.is_none()
        && c.published_at.is_some()
        && learner_at(state, me, c.hospital_id).await?.is_some();
    Ok(CourseView {
        summary,
        description: c.description,
        lesson_list,
        author,
        may_enrol,
    })
}

/// Enrols the reader (a second time changes nothing).
pub async fn enrol(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let me = actor.require()?;
    let (c, _) = visible(state, me, id).await?;
    let Some(hospital) = learner_at(state, me, c.hospital_id).await? else {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "the course is offered to the staff of its hospital and of the hospitals it supports",
        ));
    };
    if c.published_at.is_none() {
        return Err(AppError::wrong_state("the course is not published yet"));
    }
    let mut tx = state.db.begin().await?;
    if store::enrol(&mut tx, id, me.account_id, hospital, state.now_ms()).await? {
        let e = NewEvent::new(actor.audit(), "training.enrol", "course").object(id);
        audit::append(&mut tx, &e).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The reader's enrolment in the course, and the lesson: only an enrolled learner studies.
async fn learning(
    state: &AppState,
    actor: &Actor,
    (id, lesson): (i64, i64),
) -> AppResult<(store::EnrolmentRow, LessonRow)> {
    let me = actor.require()?;
    visible(state, me, id).await?;
    let l = store::lesson(&state.db, id, lesson)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no lesson {lesson} in course {id}")))?;
    let Some(e) = store::enrolment(&state.db, id, me.account_id).await? else {
        return Err(AppError::refused(
            Reason::MembershipRequired,
            "enrol in the course first",
        ));
    };
    Ok((e, l))
}

/// Completes the enrolment if every lesson is done, as committed; whether this call did.
/// Checked after each change commits, so of two lessons finished at once the later sees both.
async fn complete_if_done(
    state: &AppState,
    actor: &Actor,
    (course, enrolment): (i64, i64),
) -> AppResult<bool> {
    let states = lesson_states(state, course, Some(enrolment)).await?;
    if !states.iter().all(|s| s.done) {
        return Ok(false);
    }
    let mut tx = state.db.begin().await?;
    let completed = store::complete(&mut tx, enrolment, state.now_ms()).await?;
    if completed {
        let e = NewEvent::new(actor.audit(), "training.complete", "course").object(course);
        audit::append(&mut tx, &e).await?;
    }
    tx.commit().await?;
    Ok(completed)
}

/// The learner has studied the lesson (watched the video to its end, or read the slides).
pub async fn studied(state: &AppState, actor: &Actor, id: i64, lesson: i64) -> AppResult<()> {
    let (e, l) = learning(state, actor, (id, lesson)).await?;
    let mut tx = state.db.begin().await?;
    store::studied(&mut tx, e.id, l.id, state.now_ms()).await?;
    tx.commit().await?;
    complete_if_done(state, actor, (id, e.id)).await?;
    Ok(())
}

/// A quiz attempt: the answers by question, in order (the index of the choice).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct QuizAnswers {
    #[serde(default)]
    pub answers: Vec<i64>,
}

/// How an attempt went: the score, whether it passed, and which answers were right (so the
/// learner sees what to read again; the right choices are not given away).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuizResult {
    pub score: i64,
    pub passed: bool,
    pub correct: Vec<bool>,
    /// The enrolment is complete with this attempt.
    pub course_completed: bool,
}

pub async fn answer(
    state: &AppState,
    actor: &Actor,
    (id, lesson): (i64, i64),
    input: &QuizAnswers,
) -> AppResult<QuizResult> {
    let (e, l) = learning(state, actor, (id, lesson)).await?;
    let key: Vec<i64> = store::questions(&state.db, id)
        .await?
        .into_iter()
        .filter(|q| q.lesson_id == l.id)
        .map(|q| q.answer)
        .collect();
    if key.is_empty() {
        return Err(AppError::NotFound(format!("lesson {lesson} has no quiz")));
    }
    if input.answers.len() != key.len() {
        let message = format!("answer each of the {} questions, in order", key.len());
        let count = vec![("count", key.len().to_string())];
        return Err(AppError::field(
            FieldError::new("answers", message).localized("training.err.answers", count),
        ));
    }
    let score = model::score(&key, &input.answers);
    let passed = score >= PASS_PERCENT;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    store::attempt(&mut tx, e.id, l.id, score, passed.then_some(now)).await?;
    tx.commit().await?;
    let course_completed = passed && complete_if_done(state, actor, (id, e.id)).await?;
    Ok(QuizResult {
        score,
        passed,
        correct: key
            .iter()
            .zip(&input.answers)
            .map(|(k, a)| k == a)
            .collect(),
        course_completed,
    })
}

/// The lesson's file for an enrolled learner or the course's authors: its key, type and size.
pub async fn file_of(
    state: &AppState,
    actor: &Actor,
    (id, lesson): (i64, i64),
) -> AppResult<(String, String)> {
    let me = actor.require()?;
    let (_, author) = visible(state, me, id).await?;
    let l = if author {
        store::lesson(&state.db, id, lesson)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no lesson {lesson} in course {id}")))?
    } else {
        learning(state, actor, (id, lesson)).await?.1
    };
    match (l.blob_key, l.content_type) {
        (Some(key), Some(t)) => Ok((key, t)),
        _ => Err(AppError::NotFound(format!(
            "lesson {lesson} has no file yet"
        ))),
    }
}

// ---- Credits ----

/// A completed course as a record of continuing education.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Credit {
    pub course_id: i64,
    pub course: String,
    pub offered_by: String,
    pub credit_hours: f64,
    pub completed_at: String,
}

fn credit(r: &CreditRow) -> Credit {
    Credit {
        course_id: r.course_id,
        course: r.course.clone(),
        offered_by: r.offered_by.clone(),
        credit_hours: hours(r.credit_tenths),
        completed_at: cst_rfc3339(r.completed_at),
    }
}

/// The reader's own completed courses, newest first.
pub async fn my_credits(state: &AppState, actor: &Actor) -> AppResult<Vec<Credit>> {
    let me = actor.require()?;
    Ok(store::credits_of(&state.db, me.account_id)
        .await?
        .iter()
        .map(credit)
        .collect())
}

/// The credits of a hospital's staff completed in `[from, to)` as CSV (UTF-8 with a byte
/// order mark, so that spreadsheet programs read the Chinese), for its administrators; the
/// export is audited.
pub async fn credits_csv(
    state: &AppState,
    actor: &Actor,
    hospital: i64,
    period: (i64, i64),
) -> AppResult<String> {
    capability::require(
        state,
        actor,
        Capability::Administer(hospital),
        "training.export",
    )
    .await?;
    let rows = store::credits_at(&state.db, hospital, period).await?;
    let mut out = String::from(
        "\u{feff}姓名 name,账号 username,角色 role,课程 course,开课医院 offered by,学时 credit hours,报名 enrolled,完成 completed\r\n",
    );
    for r in &rows {
        let fields = [
            r.learner.clone(),
            r.username.clone().unwrap_or_default(),
            r.role.clone(),
            r.course.clone(),
            r.offered_by.clone(),
            format!("{:.1}", hours(r.credit_tenths)),
            crate::time::cst_display(r.enrolled_at),
            crate::time::cst_display(r.completed_at),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    let e = NewEvent::new(actor.audit(), "training.export", "hospital")
        .object(hospital)
        .reason(format!("{} completion records", rows.len()));
    audit::record(&state.db, &e).await?;
    Ok(out)
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("李娜"), "李娜");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }
}
