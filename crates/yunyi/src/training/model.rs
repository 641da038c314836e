//! What a course is made of, as its authors write it, and the pure rules of learning it: the
//! input checks, what a lesson file may be (by its bytes), how a quiz is scored and when a
//! lesson and a course count as done.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// A quiz is passed with at least this share of right answers (percent).
pub const PASS_PERCENT: i64 = 80;

/// A course as its hospital's administrator writes it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CourseInput {
    pub title: String,
    pub description: String,
    /// Continuing-education credit hours (学时), 0.1 to 100, in tenths.
    pub credit_hours: f64,
}

/// A checked course.
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    pub title: String,
    pub description: String,
    pub credit_tenths: i64,
}

fn text(errors: &mut Vec<FieldError>, field: &str, s: &str, max: usize) -> String {
    let s = s.trim();
    let n = s.chars().count();
    if n == 0 {
        errors.push(FieldError::required(field));
    } else if n > max {
        errors.push(FieldError::length(field, 1, max));
    }
    s.to_owned()
}

impl CourseInput {
    pub fn check(&self) -> Result<Course, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = text(&mut errors, "title", &self.title, 100);
        let description = text(&mut errors, "description", &self.description, 2000);
        let tenths = (self.credit_hours * 10.0).round();
        let whole = (self.credit_hours * 10.0 - tenths).abs() < 1e-6;
        if !self.credit_hours.is_finite() || !whole || !(1.0..=1000.0).contains(&tenths) {
            errors.push(
                FieldError::new(
                    "credit_hours",
                    "must be 0.1 to 100 hours, in tenths of an hour",
                )
                .localized("training.err.credit_hours", vec![]),
            );
        }
        if errors.is_empty() {
            Ok(Course {
                title,
                description,
                credit_tenths: tenths as i64,
            })
        } else {
            Err(errors)
        }
    }
}

/// One quiz question as written: the prompt, 2 to 6 choices and the right one's index.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct QuestionInput {
    pub prompt: String,
    pub options: Vec<String>,
    pub answer: i64,
}

/// A lesson as written: its title, how long it takes, and its quiz (none, or up to 10).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct LessonInput {
    pub title: String,
    pub minutes: i64,
    pub questions: Vec<QuestionInput>,
}

/// A checked lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub title: String,
    pub minutes: i64,
    pub questions: Vec<(String, Vec<String>, i64)>,
}

impl LessonInput {
    pub fn check(&self) -> Result<Lesson, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = text(&mut errors, "title", &self.title, 100);
        if !(1..=600).contains(&self.minutes) {
            errors.push(
                FieldError::new("minutes", "must be 1 to 600 minutes")
                    .localized("training.err.minutes", vec![]),
            );
        }
        if self.questions.len() > 10 {
            errors.push(
                FieldError::new("questions", "at most 10 questions a lesson")
                    .localized("training.err.questions", vec![]),
            );
        }
        let mut questions = Vec::new();
        for (i, q) in self.questions.iter().enumerate() {
            let prompt = text(
                &mut errors,
                &format!("questions[{i}].prompt"),
                &q.prompt,
                300,
            );
            let options: Vec<String> = q.options.iter().map(|o| o.trim().to_owned()).collect();
            if !(2..=6).contains(&options.len())
                || options
                    .iter()
                    .any(|o| o.is_empty() || o.chars().count() > 200)
            {
                errors.push(
                    FieldError::new(
                        format!("questions[{i}].options"),
                        "must be 2 to 6 choices of 1 to 200 characters",
                    )
                    .localized("training.err.options", vec![]),
                );
            }
            if q.answer < 0 || q.answer >= options.len() as i64 {
                errors.push(
                    FieldError::new(
                        format!("questions[{i}].answer"),
                        "must be the index of one of the choices (from 0)",
                    )
                    .localized("training.err.answer", vec![]),
                );
            }
            questions.push((prompt, options, q.answer));
        }
        if errors.is_empty() {
            Ok(Lesson {
                title,
                minutes: self.minutes,
                questions,
            })
        } else {
            Err(errors)
        }
    }
}

/// What a lesson file is, by its first bytes (never by its name or the type the client
/// claims): a WebM or MP4 video, or a PDF.
pub fn sniff_lesson(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("video/webm")
    } else if bytes.len() > 12 && &bytes[4..8] == b"ftyp" {
        Some("video/mp4")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// A quiz's score in percent: how many of `answers` match `key`, over the questions.
pub fn score(key: &[i64], answers: &[i64]) -> i64 {
    if key.is_empty() {
        return 100;
    }
    let right = key.iter().zip(answers).filter(|(k, a)| k == a).count() as i64;
    right * 100 / key.len() as i64
}

/// Whether a lesson is done: studied, and its quiz (if it has one) passed.
pub fn lesson_done(studied: bool, has_quiz: bool, passed: bool) -> bool {
    studied && (!has_quiz || passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_hours_are_tenths_between_a_tenth_and_a_hundred() {
        let course = |h: f64| CourseInput {
            title: "个人防护".into(),
            description: "穿脱防护服".into(),
            credit_hours: h,
        };
        assert_eq!(course(1.5).check().map(|c| c.credit_tenths), Ok(15));
        assert_eq!(course(0.1).check().map(|c| c.credit_tenths), Ok(1));
        assert_eq!(course(100.0).check().map(|c| c.credit_tenths), Ok(1000));
        for bad in [0.0, 0.05, 1.25, 100.1, f64::NAN, -1.0] {
            let fields: Vec<String> = course(bad)
                .check()
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect();
            assert_eq!(fields, ["credit_hours"], "{bad}");
        }
    }

    #[test]
    fn a_lesson_names_each_bad_question_field() {
        let lesson = LessonInput {
            title: "穿脱顺序".into(),
            minutes: 15,
            questions: vec![
                QuestionInput {
                    prompt: "先脱什么？".into(),
                    options: vec!["手套".into(), "护目镜".into()],
                    answer: 0,
                },
                QuestionInput {
                    prompt: String::new(),
                    options: vec!["只有一个".into()],
                    answer: 3,
                },
            ],
        };
        let fields: Vec<String> = lesson
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "questions[1].prompt",
                "questions[1].options",
                "questions[1].answer"
            ]
        );
    }

    #[test]
    fn lesson_files_are_known_by_their_bytes() {
        assert_eq!(
            sniff_lesson(&[0x1A, 0x45, 0xDF, 0xA3, 1]),
            Some("video/webm")
        );
        assert_eq!(
            sniff_lesson(b"\0\0\0\x18ftypmp42\0\0\0\0"),
            Some("video/mp4")
        );
        assert_eq!(sniff_lesson(b"%PDF-1.4\n"), Some("application/pdf"));
        assert_eq!(sniff_lesson(b"<html>"), None);
    }

    #[test]
    fn quizzes_are_scored_and_lessons_done_when_studied_and_passed() {
        assert_eq!(score(&[0, 2, 1, 1, 0], &[0, 2, 1, 1, 0]), 100);
        assert_eq!(score(&[0, 2, 1, 1, 0], &[0, 2, 1, 1, 1]), 80);
        assert_eq!(score(&[0, 2], &[0]), 50, "an unanswered question is wrong");
        assert_eq!(score(&[], &[]), 100);
        assert!(lesson_done(true, false, false));
        assert!(!lesson_done(true, true, false));
        assert!(!lesson_done(false, true, true));
        assert!(lesson_done(true, true, true));
    }
}
