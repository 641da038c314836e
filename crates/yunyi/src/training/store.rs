//! Training SQL: courses with their hospital's name, lessons and their quizzes, enrolments and
//! the progress of each lesson, and the completion records a hospital exports.

use super::model::{Course, Lesson};
use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CourseRow {
    pub id: i64,
    pub hospital_id: i64,
    pub hospital: String,
    pub title: String,
    pub description: String,
    pub credit_tenths: i64,
    pub published_at: Option<i64>,
    pub lessons: i64,
}

const COURSE: &str = "SELECT c.id, c.hospital_id, h.name AS hospital, c.title, c.description, \
     c.credit_tenths, c.published_at, \
     (SELECT COUNT(*) FROM course_lesson l WHERE l.course_id = c.id) AS lessons \
     FROM course c JOIN hospital h ON h.id = c.hospital_id";

pub async fn insert_course(
    tx: &mut Tx,
    hospital: i64,
    c: &Course,
    by: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO course (hospital_id, title, description, credit_tenths, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        (hospital, &c.title, &c.description, c.credit_tenths, by, now),
    )
    .await
}

pub async fn course(db: &Db, id: i64) -> Result<Option<CourseRow>, sqlx::Error> {
    db.optional(&format!("{COURSE} WHERE c.id = $1"), (id,))
        .await
}

/// Published courses of `hospitals`, and every course (drafts too) of `own` (an
/// administrator's hospital), newest first.
pub async fn catalogue(
    db: &Db,
    hospitals: &[i64],
    own: Option<i64>,
) -> Result<Vec<CourseRow>, sqlx::Error> {
    let mut out: Vec<CourseRow> = Vec::new();
    for h in hospitals {
        let rows: Vec<CourseRow> = db
            .all(
                &format!("{COURSE} WHERE c.hospital_id = $1 AND c.published_at IS NOT NULL"),
                (*h,),
            )
            .await?;
        out.extend(rows);
    }
    if let Some(h) = own {
        let rows: Vec<CourseRow> = db
            .all(&format!("{COURSE} WHERE c.hospital_id = $1"), (h,))
            .await?;
        for c in rows {
            if !out.iter().any(|o| o.id == c.id) {
                out.push(c);
            }
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.id));
    Ok(out)
}

pub async fn publish(tx: &mut Tx, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE course SET published_at = $1 WHERE id = $2 AND published_at IS NULL",
        (now, id),
    )
    .await
    .map(|n| n > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LessonRow {
    pub id: i64,
    pub course_id: i64,
    pub position: i64,
    pub title: String,
    pub minutes: i64,
    pub blob_key: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
}

const LESSON: &str = "SELECT id, course_id, position, title, minutes, blob_key, content_type, \
     size_bytes FROM course_lesson";

pub async fn lessons(db: &Db, course: i64) -> Result<Vec<LessonRow>, sqlx::Error> {
    db.all(
        &format!("{LESSON} WHERE course_id = $1 ORDER BY position"),
        (course,),
    )
    .await
}

pub async fn lesson(db: &Db, course: i64, id: i64) -> Result<Option<LessonRow>, sqlx::Error> {
    db.optional(
        &format!("{LESSON} WHERE course_id = $1 AND id = $2"),
        (course, id),
    )
    .await
}

/// Adds a lesson at the end of the course, with its quiz; its id.
pub async fn insert_lesson(tx: &mut Tx, course: i64, l: &Lesson) -> Result<i64, sqlx::Error> {
    let position: i64 = tx
        .scalar(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM course_lesson WHERE course_id = $1",
            (course,),
        )
        .await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO course_lesson (course_id, position, title, minutes) \
             VALUES ($1, $2, $3, $4) RETURNING id",
            (course, position, &l.title, l.minutes),
        )
        .await?;
    for (i, (prompt, options, answer)) in l.questions.iter().enumerate() {
        let options = serde_json::to_string(options).unwrap_or_else(|_| "[]".to_owned());
        tx.execute(
            "INSERT INTO course_question (lesson_id, position, prompt, options, answer) \
             VALUES ($1, $2, $3, $4, $5)",
            (id, i as i64 + 1, prompt, options, *answer),
        )
        .await?;
    }
    Ok(id)
}

pub async fn set_file(
    tx: &mut Tx,
    lesson: i64,
    key: &str,
    content_type: &str,
    size: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE course_lesson SET blob_key = $1, content_type = $2, size_bytes = $3 WHERE id = $4",
        (key, content_type, size, lesson),
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuestionRow {
    pub lesson_id: i64,
    pub position: i64,
    pub prompt: String,
    pub options: String,
    pub answer: i64,
}

/// The questions of a course's lessons, in order.
pub async fn questions(db: &Db, course: i64) -> Result<Vec<QuestionRow>, sqlx::Error> {
    db.all(
        "SELECT q.lesson_id, q.position, q.prompt, q.options, q.answer FROM course_question q \
         JOIN course_lesson l ON l.id = q.lesson_id WHERE l.course_id = $1 \
         ORDER BY l.position, q.position",
        (course,),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrolmentRow {
    pub id: i64,
    pub enrolled_at: i64,
    pub completed_at: Option<i64>,
}

pub async fn enrolment(
    db: &Db,
    course: i64,
    account: i64,
) -> Result<Option<EnrolmentRow>, sqlx::Error> {
    db.optional(
        "SELECT id, enrolled_at, completed_at FROM course_enrolment \
         WHERE course_id = $1 AND account_id = $2",
        (course, account),
    )
    .await
}

/// Enrols the account (once: a second enrolment changes nothing); whether it was new.
pub async fn enrol(
    tx: &mut Tx,
    course: i64,
    account: i64,
    hospital: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO course_enrolment (course_id, account_id, hospital_id, enrolled_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (course_id, account_id) DO NOTHING",
        (course, account, hospital, now),
    )
    .await
    .map(|n| n > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProgressRow {
    pub lesson_id: i64,
    pub studied_at: Option<i64>,
    pub attempts: i64,
    pub score: Option<i64>,
    pub passed_at: Option<i64>,
}

pub async fn progress(db: &Db, enrolment: i64) -> Result<Vec<ProgressRow>, sqlx::Error> {
    db.all(
        "SELECT lesson_id, studied_at, attempts, score, passed_at FROM lesson_progress \
         WHERE enrolment_id = $1",
        (enrolment,),
    )
    .await
}

/// The lesson was studied (the first time counts).
pub async fn studied(
    tx: &mut Tx,
    enrolment: i64,
    lesson: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO lesson_progress (enrolment_id, lesson_id, studied_at) VALUES ($1, $2, $3) \
         ON CONFLICT (enrolment_id, lesson_id) DO UPDATE \
         SET studied_at = COALESCE(lesson_progress.studied_at, excluded.studied_at)",
        (enrolment, lesson, now),
    )
    .await
    .map(|_| ())
}

/// An attempt at the lesson's quiz with its score; a pass is kept from the first one.
pub async fn attempt(
    tx: &mut Tx,
    enrolment: i64,
    lesson: i64,
    score: i64,
    passed: Option<i64>,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO lesson_progress (enrolment_id, lesson_id, attempts, score, passed_at) \
         VALUES ($1, $2, 1, $3, $4) \
         ON CONFLICT (enrolment_id, lesson_id) DO UPDATE \
         SET attempts = lesson_progress.attempts + 1, score = excluded.score, \
             passed_at = COALESCE(lesson_progress.passed_at, excluded.passed_at)",
        (enrolment, lesson, score, passed),
    )
    .await
    .map(|_| ())
}

pub async fn complete(tx: &mut Tx, enrolment: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE course_enrolment SET completed_at = $1 WHERE id = $2 AND completed_at IS NULL",
        (now, enrolment),
    )
    .await
    .map(|n| n > 0)
}

/// A completed course: who, which, what it earned.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CreditRow {
    pub account_id: i64,
    pub learner: String,
    pub username: Option<String>,
    pub role: String,
    pub course_id: i64,
    pub course: String,
    pub offered_by: String,
    pub credit_tenths: i64,
    pub enrolled_at: i64,
    pub completed_at: i64,
}

const CREDIT: &str = "SELECT e.account_id, a.display_name AS learner, a.username, a.role, \
     c.id AS course_id, c.title AS course, h.name AS offered_by, c.credit_tenths, e.enrolled_at, \
     e.completed_at FROM course_enrolment e JOIN account a ON a.id = e.account_id \
     JOIN course c ON c.id = e.course_id JOIN hospital h ON h.id = c.hospital_id \
     WHERE e.completed_at IS NOT NULL";

pub async fn credits_of(db: &Db, account: i64) -> Result<Vec<CreditRow>, sqlx::Error> {
    db.all(
        &format!("{CREDIT} AND e.account_id = $1 ORDER BY e.completed_at DESC"),
        (account,),
    )
    .await
}

/// The completions of a hospital's staff between `from` and `to` (milliseconds, `to`
/// excluded), by learner and time.
pub async fn credits_at(
    db: &Db,
    hospital: i64,
    (from, to): (i64, i64),
) -> Result<Vec<CreditRow>, sqlx::Error> {
    db.all(
        &format!(
            "{CREDIT} AND e.hospital_id = $1 AND e.completed_at >= $2 AND e.completed_at < $3 \
             ORDER BY a.display_name, e.completed_at"
        ),
        (hospital, from, to),
    )
    .await
}

// ---- Live sessions ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveRow {
    pub id: i64,
    pub course_id: i64,
    pub title: String,
    pub lecturer_id: i64,
    pub lecturer: String,
    pub starts_at: i64,
    pub minutes: i64,
    pub ended_at: Option<i64>,
}

const LIVE: &str = "SELECT v.id, v.course_id, v.title, v.lecturer_id, a.display_name AS lecturer, \
     v.starts_at, v.minutes, v.ended_at FROM course_live v JOIN account a ON a.id = v.lecturer_id";

pub struct NewLive<'a> {
    pub course: i64,
    pub title: &'a str,
    pub lecturer: i64,
    pub starts_at: i64,
    pub minutes: i64,
    pub by: i64,
}

pub async fn insert_live(tx: &mut Tx, l: &NewLive<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO course_live (course_id, title, lecturer_id, starts_at, minutes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        (l.course, l.title, l.lecturer, l.starts_at, l.minutes, l.by, now),
    )
    .await
}

/// The course's live sessions, soonest first.
pub async fn lives(db: &Db, course: i64) -> Result<Vec<LiveRow>, sqlx::Error> {
    db.all(
        &format!("{LIVE} WHERE v.course_id = $1 ORDER BY v.starts_at, v.id"),
        (course,),
    )
    .await
}

pub async fn live(db: &Db, course: i64, id: i64) -> Result<Option<LiveRow>, sqlx::Error> {
    db.optional(
        &format!("{LIVE} WHERE v.course_id = $1 AND v.id = $2"),
        (course, id),
    )
    .await
}

/// Ends the session unless it has ended; whether this call did.
pub async fn end_live(tx: &mut Tx, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE course_live SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
        (now, id),
    )
    .await
    .map(|n| n > 0)
}

/// The hospital's staff who may lecture: its active doctors, nurses, pharmacists and
/// infection officers.
pub async fn lecturers(db: &Db, hospital: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    db.all(
        "SELECT id, display_name FROM account WHERE hospital_id = $1 AND status = 'active' \
         AND role IN ('doctor', 'nurse', 'pharmacist', 'infection_officer') ORDER BY id",
        (hospital,),
    )
    .await
}

/// Learners in the room now, besides `account` and the lecturer.
pub async fn trainees_present(tx: &mut Tx, live: i64, account: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "SELECT COUNT(DISTINCT account_id) FROM course_live_attendance \
         WHERE live_id = $1 AND left_at IS NULL AND account_id <> $2 AND NOT lecturer",
        (live, account),
    )
    .await
}

/// Closes `account`'s open enterings (entering again elsewhere replaces the first).
pub async fn leave_live(tx: &mut Tx, live: i64, account: i64, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE course_live_attendance SET left_at = $1 WHERE live_id = $2 AND account_id = $3 AND left_at IS NULL",
        (now, live, account),
    )
    .await
    .map(|_| ())
}

pub async fn enter_live(
    tx: &mut Tx,
    live: i64,
    (account, lecturer): (i64, bool),
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO course_live_attendance (live_id, account_id, lecturer, joined_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
        (live, account, lecturer, now),
    )
    .await
}

/// Closes one entering if it is still open; whether it was.
pub async fn left_live(db: &Db, attendance: i64, now: i64) -> Result<bool, sqlx::Error> {
    db.execute(
        "UPDATE course_live_attendance SET left_at = $1 WHERE id = $2 AND left_at IS NULL",
        (now, attendance),
    )
    .await
    .map(|n| n > 0)
}

/// Everyone still in the room leaves (the session ended).
pub async fn leave_all_live(tx: &mut Tx, live: i64, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE course_live_attendance SET left_at = $1 WHERE live_id = $2 AND left_at IS NULL",
        (now, live),
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttendanceRow {
    pub account_id: i64,
    pub name: String,
    pub lecturer: bool,
    pub joined_at: i64,
    pub left_at: Option<i64>,
}

pub async fn attendance(db: &Db, live: i64) -> Result<Vec<AttendanceRow>, sqlx::Error> {
    db.all(
        "SELECT t.account_id, a.display_name AS name, t.lecturer, t.joined_at, t.left_at \
         FROM course_live_attendance t JOIN account a ON a.id = t.account_id \
         WHERE t.live_id = $1 ORDER BY t.id",
        (live,),
    )
    .await
}

/// The accounts enrolled in the course.
pub async fn learners(tx: &mut Tx, course: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT account_id FROM course_enrolment WHERE course_id = $1 ORDER BY account_id",
        (course,),
    )
    .await
}
