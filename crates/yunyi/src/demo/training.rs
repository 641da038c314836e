//! The demo's remote training (issue #20): the Guangzhou hospital's course "新冠肺炎个人防护"
//! in three lessons (a video, then slides on putting protective equipment on and taking it
//! off), each with a short quiz, nurse2 of the Jingzhou county hospital halfway through, and a
//! live Q&A with doctor1 tomorrow afternoon.

use crate::app::AppState;
use crate::error::AppResult;
use crate::training::live;
use crate::training::model::{CourseInput, LessonInput, QuestionInput};
use crate::training::service::{self, QuizAnswers};

fn question(prompt: &str, options: &[&str], answer: i64) -> QuestionInput {
    QuestionInput {
        prompt: prompt.to_owned(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
        answer,
    }
}

pub async fn seed(state: &AppState) -> AppResult<()> {
    let admin = super::actor_of(&super::account(&state.db, "hospital-admin").await?);
    let nurse = super::actor_of(&super::account(&state.db, "nurse2").await?);
    let course = service::create(
        state,
        &admin,
        &CourseInput {
            title: "新冠肺炎个人防护".to_owned(),
            description: "面向基层医务人员：标准预防与分级防护，防护用品的正确穿戴与脱卸，\
                          以及脱卸过程中的手卫生。完成三课并通过课后小测，可获 2 学时。"
                .to_owned(),
            credit_hours: 2.0,
        },
    )
    .await?;
    let lessons: [(&str, i64, &[u8], Vec<QuestionInput>); 3] = [
        (
            "标准预防与分级防护",
            12,
            include_bytes!("lesson.webm"),
            vec![
                question(
                    "接触疑似新冠肺炎患者时，应执行哪一级防护？",
                    &["一级防护", "二级防护", "无需防护"],
                    1,
                ),
                question(
                    "标准预防的核心措施是？",
                    &["手卫生", "只戴手套", "只戴外科口罩"],
                    0,
                ),
            ],
        ),
        (
            "防护用品的穿戴顺序",
            15,
            include_bytes!("lesson-donning.pdf"),
            vec![question(
                "穿戴防护用品的第一步是？",
                &["穿防护服", "手卫生", "戴手套"],
                1,
            )],
        ),
        (
            "防护用品的脱卸顺序",
            15,
            include_bytes!("lesson-doffing.pdf"),
            vec![question(
                "每脱卸一件防护用品后应当？",
                &["立即离开", "做手卫生", "继续下一步"],
                1,
            )],
        ),
    ];
    let mut ids = Vec::new();
    for (title, minutes, file, questions) in lessons {
        let lesson = service::add_lesson(
            state,
            &admin,
            course,
            &LessonInput {
                title: title.to_owned(),
                minutes,
                questions,
            },
        )
        .await?;
        service::put_file(state, &admin, (course, lesson), file).await?;
        ids.push(lesson);
    }
    service::publish(state, &admin, course).await?;
    // nurse2 has done the first lesson and studied the second; its quiz is next.
    service::enrol(state, &nurse, course).await?;
    service::studied(state, &nurse, course, ids[0]).await?;
    service::answer(
        state,
        &nurse,
        (course, ids[0]),
        &QuizAnswers {
            answers: vec![1, 0],
        },
    )
    .await?;
    service::studied(state, &nurse, course, ids[1]).await?;
    // A live Q&A tomorrow afternoon with doctor1 (the room opens 15 minutes before).
    let tomorrow = crate::time::cst_display(state.now_ms() + 86_400_000);
    let lecturer = super::account(&state.db, "doctor1").await?;
    live::schedule(
        state,
        &admin,
        course,
        &live::LiveInput {
            title: "答疑：穿脱防护用品的常见错误".to_owned(),
            lecturer_id: Some(lecturer.id),
            starts_at: format!("{} 15:00", tomorrow.get(..10).unwrap_or_default()),
            minutes: Some(45),
        },
    )
    .await?;
    Ok(())
}
