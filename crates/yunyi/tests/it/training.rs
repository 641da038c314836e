//! Remote training (远程培训): the Guangzhou hospital's administrator writes a course of two
//! lessons (a video with a quiz, slides without one) and publishes it; nurse2 of the supported
//! Jingzhou county hospital enrols, plays the video in ranges, fails and passes the quiz and
//! completes the course, earning its credit hours, which Jingzhou's administrators export as
//! CSV; whoever the course is not offered to is refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::helpers::{PW, error_fields};

const BASE: &str = "/api/v1/courses";
/// A WebM file's first bytes and then some: the server knows a video by its bytes.
const VIDEO: &[u8] = b"\x1a\x45\xdf\xa3 a lesson's video, 48 bytes in all......";
const SLIDES: &[u8] = b"%PDF-1.4\n% slides\n";

fn code(answer: &Value) -> &str {
    answer["code"].as_str().unwrap_or_default()
}

async fn upload(
    ctx: &Ctx,
    token: &str,
    course: i64,
    lesson: i64,
    bytes: &'static [u8],
) -> StatusCode {
    ctx.app
        .client
        .put(
            ctx.app
                .url(&format!("{BASE}/{course}/lessons/{lesson}/file")),
        )
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
}

/// A published course of two lessons; (course, video lesson, slides lesson).
async fn published(ctx: &Ctx) -> (i64, i64, i64) {
    let (s, created) = ctx
        .post(
            &ctx.admin,
            BASE,
            json!({"title": "新冠肺炎个人防护", "description": "穿脱防护用品", "credit_hours": 1.5}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let course = created["id"].as_i64().unwrap();
    let (s, l1) = ctx
        .post(
            &ctx.admin,
            &format!("{BASE}/{course}/lessons"),
            json!({"title": "分级防护", "minutes": 12, "questions": [
                {"prompt": "接触疑似患者应执行哪一级防护？", "options": ["一级", "二级", "无需"], "answer": 1},
                {"prompt": "标准预防的核心是？", "options": ["手卫生", "只戴手套"], "answer": 0},
            ]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{l1}");
    let (_, l2) = ctx
        .post(
            &ctx.admin,
            &format!("{BASE}/{course}/lessons"),
            json!({"title": "脱卸顺序", "minutes": 15}),
        )
        .await;
    let (l1, l2) = (l1["id"].as_i64().unwrap(), l2["id"].as_i64().unwrap());
    assert_eq!(
        upload(ctx, &ctx.admin, course, l1, VIDEO).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        upload(ctx, &ctx.admin, course, l2, SLIDES).await,
        StatusCode::NO_CONTENT
    );
    let (s, answer) = ctx
        .post(&ctx.admin, &format!("{BASE}/{course}/publish"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
    (course, l1, l2)
}

#[tokio::test]
async fn a_course_is_written_checked_and_published_by_its_hospital() {
    let ctx = setup().await;
    // Every bad field is named.
    let (s, bad) = ctx
        .post(
            &ctx.admin,
            BASE,
            json!({"title": " ", "description": "x", "credit_hours": 0.05}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["title", "credit_hours"]
        )
    );
    // Only a hospital's administrators write courses.
    let doctor = ctx.app.token("doctor1", PW).await;
    let (s, answer) = ctx
        .post(
            &doctor,
            BASE,
            json!({"title": "t", "description": "d", "credit_hours": 1}),
        )
        .await;
    assert_eq!((s, code(&answer)), (StatusCode::FORBIDDEN, "role-required"));
    let (_, created) = ctx
        .post(
            &ctx.admin,
            BASE,
            json!({"title": "手卫生", "description": "六步洗手法", "credit_hours": 1}),
        )
        .await;
    let course = created["id"].as_i64().unwrap();
    let (s, bad) = ctx
        .post(
            &ctx.admin,
            &format!("{BASE}/{course}/lessons"),
            json!({"title": "六步", "minutes": 0, "questions": [{"prompt": "？", "options": ["只有一个"], "answer": 2}]}),
        )
        .await;
    assert_eq!(
        (s, error_fields(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["minutes", "questions[0].options", "questions[0].answer"]
        )
    );
    // Nothing to publish yet; then a lesson without its file.
    let publish = format!("{BASE}/{course}/publish");
    let (s, bad) = ctx.post(&ctx.admin, &publish, json!({})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["lessons"])
    );
    let (_, lesson) = ctx
        .post(
            &ctx.admin,
            &format!("{BASE}/{course}/lessons"),
            json!({"title": "六步", "minutes": 5}),
        )
        .await;
    let lesson = lesson["id"].as_i64().unwrap();
    let (s, _) = ctx.post(&ctx.admin, &publish, json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A file is known by its bytes: a web page named .mp4 is refused.
    assert_eq!(
        upload(
            &ctx,
            &ctx.admin,
            course,
            lesson,
            b"<html>not a video</html>"
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        upload(&ctx, &ctx.admin, course, lesson, SLIDES).await,
        StatusCode::NO_CONTENT
    );
    // A draft is nobody else's business.
    let nurse = ctx.app.token("nurse2", PW).await;
    let (s, _) = ctx.get(&nurse, &format!("{BASE}/{course}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = ctx.post(&ctx.admin, &publish, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Published: its lessons stay as learners find them.
    let (s, answer) = ctx
        .post(
            &ctx.admin,
            &format!("{BASE}/{course}/lessons"),
            json!({"title": "补充", "minutes": 5}),
        )
        .await;
    assert_eq!((s, code(&answer)), (StatusCode::CONFLICT, "wrong-state"));
    assert_eq!(
        upload(&ctx, &ctx.admin, course, lesson, SLIDES).await,
        StatusCode::CONFLICT
    );
    let (s, view) = ctx.get(&nurse, &format!("{BASE}/{course}")).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["may_enrol"], true);
    assert_eq!(view["credit_hours"], 1.0);
}

#[tokio::test]
async fn a_supported_hospitals_nurse_learns_in_ranges_passes_the_quizzes_and_earns_the_hours() {
    let ctx = setup().await;
    let (course, l1, l2) = published(&ctx).await;
    let nurse = ctx.app.token("nurse2", PW).await;
    let (_, catalogue) = ctx.get(&nurse, BASE).await;
    assert!(
        catalogue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == course)
    );
    // Not enrolled: no lesson to study.
    let file = format!("{BASE}/{course}/lessons/{l1}/file");
    let (s, answer) = ctx.get(&nurse, &file).await;
    assert_eq!(
        (s, code(&answer)),
        (StatusCode::FORBIDDEN, "membership-required")
    );
    let (s, _) = ctx
        .post(&nurse, &format!("{BASE}/{course}/enrol"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Enrolling twice changes nothing.
    let (s, _) = ctx
        .post(&nurse, &format!("{BASE}/{course}/enrol"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // The video whole, and in the ranges a player asks for.
    let get = |range: Option<&'static str>| {
        let mut r = ctx.app.client.get(ctx.app.url(&file)).bearer_auth(&nurse);
        if let Some(range) = range {
            r = r.header("range", range);
        }
        r.send()
    };
    let whole = get(None).await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-type"], "video/webm");
    assert_eq!(whole.bytes().await.unwrap().as_ref(), VIDEO);
    let part = get(Some("bytes=4-9")).await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 4-9/{}", VIDEO.len())
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &VIDEO[4..10]);
    let tail = get(Some("bytes=40-")).await.unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &VIDEO[40..]);
    let outside = get(Some("bytes=4000-")).await.unwrap();
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        outside.headers()["content-range"],
        format!("bytes */{}", VIDEO.len())
    );

    // The quiz: every question answered; one wrong fails (50 %), and says which.
    let quiz = format!("{BASE}/{course}/lessons/{l1}/quiz");
    let (s, bad) = ctx.post(&nurse, &quiz, json!({"answers": [1]})).await;
    assert_eq!(
        (s, error_fields(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["answers"])
    );
    let (s, result) = ctx.post(&nurse, &quiz, json!({"answers": [1, 1]})).await;
    assert_eq!(s, StatusCode::OK, "{result}");
    assert_eq!(
        (&result["score"], &result["passed"], &result["correct"]),
        (&json!(50), &json!(false), &json!([true, false]))
    );
    // The view never gives the answers away.
    let (_, view) = ctx.get(&nurse, &format!("{BASE}/{course}")).await;
    assert!(
        view["lesson_list"][0]["questions"][0]
            .get("answer")
            .is_none()
    );
    let (_, result) = ctx.post(&nurse, &quiz, json!({"answers": [1, 0]})).await;
    assert_eq!(
        (&result["passed"], &result["course_completed"]),
        (&json!(true), &json!(false))
    );
    // Passed but not yet studied: the lesson is not done; then studied, it is.
    let (_, view) = ctx.get(&nurse, &format!("{BASE}/{course}")).await;
    assert_eq!(view["lesson_list"][0]["done"], false);
    for lesson in [l1, l2] {
        let (s, _) = ctx
            .post(
                &nurse,
                &format!("{BASE}/{course}/lessons/{lesson}/studied"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let (_, view) = ctx.get(&nurse, &format!("{BASE}/{course}")).await;
    assert_eq!(view["done"], 2);
    assert!(view["completed_at"].is_string(), "{view}");
    // A slides lesson has no quiz to take.
    let (s, _) = ctx
        .post(
            &nurse,
            &format!("{BASE}/{course}/lessons/{l2}/quiz"),
            json!({"answers": []}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, credits) = ctx.get(&nurse, "/api/v1/me/training-credits").await;
    let items = credits["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (&items[0]["course_id"], &items[0]["credit_hours"]),
        (&json!(course), &json!(1.5))
    );
}

#[tokio::test]
async fn the_course_is_offered_only_to_staff_of_its_hospital_and_those_it_supports() {
    let ctx = setup().await;
    let (course, l1, _) = published(&ctx).await;
    let enrol = format!("{BASE}/{course}/enrol");
    for who in ["patient1", "regulator1"] {
        let token = ctx.app.token(who, PW).await;
        let (s, _) = ctx.post(&token, &enrol, json!({})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
        let (s, answer) = ctx.get(&token, BASE).await;
        assert_eq!(
            (s, code(&answer)),
            (StatusCode::FORBIDDEN, "role-required"),
            "{who}"
        );
    }
    // The offering hospital's own staff take it too.
    let nurse1 = ctx.app.token("nurse1", PW).await;
    let (s, _) = ctx.post(&nurse1, &enrol, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The author reads the files without enrolling.
    let (s, _) = ctx
        .send(
            Method::GET,
            &ctx.admin,
            &format!("{BASE}/{course}/lessons/{l1}/file"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

/// Completes the course for `username`.
async fn complete(ctx: &Ctx, username: &str, (course, l1, l2): (i64, i64, i64)) {
    let token = ctx.app.token(username, PW).await;
    ctx.post(&token, &format!("{BASE}/{course}/enrol"), json!({}))
        .await;
    for l in [l1, l2] {
        ctx.post(
            &token,
            &format!("{BASE}/{course}/lessons/{l}/studied"),
            json!({}),
        )
        .await;
    }
    let (_, r) = ctx
        .post(
            &token,
            &format!("{BASE}/{course}/lessons/{l1}/quiz"),
            json!({"answers": [1, 0]}),
        )
        .await;
    assert_eq!(r["course_completed"], true, "{username}: {r}");
}

#[tokio::test]
async fn each_hospitals_administrators_export_their_staffs_credit_hours_as_csv() {
    let ctx = setup().await;
    let c = published(&ctx).await;
    complete(&ctx, "nurse2", c).await;
    complete(&ctx, "nurse1", c).await;
    let one = |code: &'static str| {
        let db = ctx.app.db.clone();
        async move {
            db.scalar::<i64>("SELECT id FROM hospital WHERE code = $1", (code,))
                .await
                .unwrap()
        }
    };
    let (gz, jz) = (one("DEMO-GZ-001").await, one("DEMO-JZ-001").await);
    let csv = |token: String, hospital: i64, query: &'static str| {
        let url = ctx.app.url(&format!(
            "/api/v1/hospitals/{hospital}/training-credits.csv{query}"
        ));
        let client = ctx.app.client.clone();
        async move {
            let r = client.get(url).bearer_auth(token).send().await.unwrap();
            (
                r.status(),
                r.headers().get("content-type").cloned(),
                r.text().await.unwrap(),
            )
        }
    };
    // Guangzhou's administrator: Guangzhou's nurse, not Jingzhou's.
    let (s, kind, text) = csv(ctx.admin.clone(), gz, "").await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(kind.unwrap(), "text/csv; charset=utf-8");
    assert!(
        text.starts_with('\u{feff}'),
        "a byte order mark for spreadsheets"
    );
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with("护士 李娜,nurse1,nurse,新冠肺炎个人防护,"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(",1.5,"), "{}", lines[1]);
    // Not Jingzhou's records; the platform's administrator exports them.
    let (s, _, _) = csv(ctx.admin.clone(), jz, "").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let platform = ctx.app.token("admin", PW).await;
    let (s, _, text) = csv(platform.clone(), jz, "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("护士 陈静,nurse2,nurse,"), "{text}");
    // A period before the completions has none; bad dates are named.
    let (_, _, text) = csv(platform.clone(), jz, "?from=2020-01-01&to=2020-12-31").await;
    assert_eq!(text.trim_end().split("\r\n").count(), 1, "{text}");
    let (s, _, text) = csv(platform.clone(), jz, "?from=2026-13-01").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    let (s, _, _) = csv(platform, jz, "?from=2026-12-01&to=2026-11-01").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Each export is audited, and the refusal.
    let outcomes = ctx
        .app
        .db
        .scalars::<String>(
            "SELECT outcome FROM audit_event WHERE action = 'training.export' \
             UNION ALL SELECT outcome FROM audit_pending WHERE action = 'training.export' \
             ORDER BY 1",
            (),
        )
        .await
        .unwrap();
    assert_eq!(outcomes, ["denied", "success", "success", "success"]);
}

#[tokio::test]
async fn the_pages_take_a_nurse_from_the_catalogue_through_a_quiz_to_her_credits() {
    let ctx = setup().await;
    let (course, l1, l2) = published(&ctx).await;
    let nurse = ctx.app.sign_in_browser("nurse2").await;
    let catalogue = nurse.page("/courses").await;
    assert!(
        catalogue.contains("新冠肺炎个人防护") && catalogue.contains("1.5 学时"),
        "{catalogue}"
    );
    let page = nurse.submit(&format!("/courses/{course}/enrol"), &[]).await;
    assert!(page.contains("报名成功"), "{page}");
    let lesson = nurse.page(&format!("/courses/{course}/lessons/{l1}")).await;
    assert!(
        lesson.contains(&format!(
            "src=\"/api/v1/courses/{course}/lessons/{l1}/file\""
        )),
        "the player streams the lesson: {lesson}"
    );
    assert!(lesson.contains("接触疑似患者应执行哪一级防护？"));
    // One wrong: the page says which, in Chinese.
    let path = format!("/courses/{course}/lessons/{l1}/quiz");
    let page = nurse
        .submit(&path, &[("q1", "1".to_owned()), ("q2", "1".to_owned())])
        .await;
    assert!(
        page.contains("未通过") && page.contains("50 / 100"),
        "{page}"
    );
    assert!(page.contains("id=\"question-2\" class=\"wrong\""), "{page}");
    let page = nurse
        .submit(&path, &[("q1", "1".to_owned()), ("q2", "0".to_owned())])
        .await;
    assert!(page.contains("小测通过"), "{page}");
    for l in [l1, l2] {
        let page = nurse
            .submit(&format!("/courses/{course}/lessons/{l}/studied"), &[])
            .await;
        assert!(page.contains("已学完本课"), "{page}");
    }
    let credits = nurse.page("/me/credits").await;
    assert!(
        credits.contains("累计 1.5 学时") && credits.contains("新冠肺炎个人防护"),
        "{credits}"
    );
    // Someone the course is not offered to is told so on the page, in Chinese.
    let patient = ctx.app.sign_in_browser("patient1").await;
    let page = patient.page("/courses").await;
    assert!(!page.contains("新冠肺炎个人防护"), "{page}");
}

mod live {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    use super::*;
    use crate::helpers::ws::{connect, next_of, try_connect};

    async fn account(ctx: &Ctx, username: &str) -> i64 {
        ctx.app
            .db
            .scalar::<i64>("SELECT id FROM account WHERE username = $1", (username,))
            .await
            .unwrap()
    }

    async fn open_enterings(ctx: &Ctx, live: i64) -> i64 {
        ctx.app
            .db
            .scalar::<i64>(
                "SELECT COUNT(*) FROM course_live_attendance WHERE live_id = $1 AND left_at IS NULL",
                (live,),
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_live_session_meets_its_lecturer_and_enrolled_learners_in_the_room() {
        let ctx = setup().await;
        let (course, _, _) = published(&ctx).await;
        let nurse = ctx.app.token("nurse2", PW).await;
        let (s, _) = ctx
            .post(&nurse, &format!("{BASE}/{course}/enrol"), json!({}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let lecturer_id = account(&ctx, "doctor1").await;
        let lives = format!("{BASE}/{course}/live");
        let now = ctx.app.state.now_ms();

        // Every bad field is named; a doctor of another hospital does not lecture here.
        let elsewhere = account(&ctx, "doctor19").await;
        let (s, bad) = ctx
            .post(
                &ctx.admin,
                &lives,
                json!({"title": "x", "lecturer_id": elsewhere,
                "starts_at": yunyi::time::cst_display(now - 3_600_000), "minutes": 5}),
            )
            .await;
        assert_eq!(
            (s, error_fields(&bad)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["title", "lecturer_id", "starts_at", "minutes"]
            )
        );
        // Only the course's administrators schedule.
        let doctor = ctx.app.token("doctor1", PW).await;
        let body = json!({"title": "穿脱防护用品演示与答疑", "lecturer_id": lecturer_id,
            "starts_at": yunyi::time::cst_display(now + 10 * 60_000), "minutes": 45});
        let (s, answer) = ctx.post(&doctor, &lives, body.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{answer}");
        let (s, created) = ctx.post(&ctx.admin, &lives, body).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let live = created["id"].as_i64().unwrap();
        // One later today: its room is not open yet.
        let later = json!({"title": "第二讲", "lecturer_id": lecturer_id,
            "starts_at": yunyi::time::cst_display(now + 3 * 3_600_000), "minutes": 30});
        let (_, created) = ctx.post(&ctx.admin, &lives, later).await;
        let later = created["id"].as_i64().unwrap();

        // The enrolled nurse is told, sees it open, but not who came; the administrator does.
        let told = ctx
            .app
            .db
            .scalar::<i64>(
                "SELECT COUNT(*) FROM notification WHERE account_id = $1 AND event = 'training.live'",
                (account(&ctx, "nurse2").await,),
            )
            .await
            .unwrap();
        assert_eq!(told, 2);
        let (s, seen) = ctx.get(&nurse, &format!("{lives}/{live}")).await;
        assert_eq!(s, StatusCode::OK, "{seen}");
        assert_eq!(
            (seen["open"].as_bool(), seen["may_enter"].as_bool()),
            (Some(true), Some(true))
        );
        assert!(seen["attendance"].is_null());
        let (_, list) = ctx.get(&ctx.admin, &lives).await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
        assert_eq!(list["items"][0]["attendance"], json!([]));

        // The lecturer and the nurse meet; signalling is stamped with who sent it.
        let addr = ctx.app.addr.to_string();
        let room = format!("{lives}/{live}/room");
        let mut teacher = connect(&addr, &doctor, &room).await;
        let teacher_conn = next_of(&mut teacher, "welcome").await["conn"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut learner = connect(&addr, &nurse, &room).await;
        next_of(&mut learner, "welcome").await;
        let joined = next_of(&mut teacher, "joined").await;
        assert_eq!(joined["part"], "trainee");
        let answer = json!({"type": "signal", "to": teacher_conn, "data": {"kind": "answer"}});
        learner
            .send(Message::text(answer.to_string()))
            .await
            .unwrap();
        let got = next_of(&mut teacher, "signal").await;
        assert_eq!(
            (got["part"].as_str(), got["name"].as_str()),
            (Some("trainee"), Some("护士 陈静"))
        );
        assert_eq!(open_enterings(&ctx, live).await, 2);

        // Not enrolled, or not open yet: refused at the door.
        let stranger = ctx.app.token("doctor19", PW).await;
        assert_eq!(try_connect(&addr, &stranger, &room).await.err(), Some(403));
        let not_yet = format!("{lives}/{later}/room");
        assert_eq!(try_connect(&addr, &nurse, &not_yet).await.err(), Some(409));
        // Five learners fill it (the lecturer's place is kept): a sixth waits.
        let others = ctx
            .app
            .db
            .scalars::<i64>(
                "SELECT id FROM account WHERE username IN ('doctor2', 'doctor3', 'doctor4', 'doctor5')",
                (),
            )
            .await
            .unwrap();
        for a in &others {
            ctx.app
                .db
                .execute(
                    "INSERT INTO course_live_attendance (live_id, account_id, lecturer, joined_at) VALUES ($1, $2, $3, $4)",
                    (live, *a, false, now),
                )
                .await
                .unwrap();
        }
        let sixth = ctx.app.token("nurse1", PW).await;
        let (s, _) = ctx
            .post(&sixth, &format!("{BASE}/{course}/enrol"), json!({}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(try_connect(&addr, &sixth, &room).await.err(), Some(409));

        // A learner does not end it; the lecturer does, and the room closes for everyone.
        let (s, _) = ctx
            .post(&nurse, &format!("{lives}/{live}/end"), json!({}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, answer) = ctx
            .post(&doctor, &format!("{lives}/{live}/end"), json!({}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{answer}");
        next_of(&mut teacher, "ended").await;
        next_of(&mut learner, "ended").await;
        assert_eq!(open_enterings(&ctx, live).await, 0);
        assert_eq!(try_connect(&addr, &nurse, &room).await.err(), Some(409));
        let (_, seen) = ctx.get(&ctx.admin, &format!("{lives}/{live}")).await;
        let parts: Vec<&str> = seen["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["part"].as_str())
            .collect();
        assert_eq!(
            parts.iter().filter(|p| **p == "lecturer").count(),
            1,
            "{seen}"
        );
        assert!(seen["ended_at"].is_string());
        let actions = ctx
            .app
            .db
            .scalars::<String>(
                "SELECT action FROM audit_event WHERE object_type = 'course' AND object_id = $1 \
                 UNION ALL SELECT action FROM audit_pending WHERE object_type = 'course' AND object_id = $1",
                (course.to_string(),),
            )
            .await
            .unwrap();
        let count = |a: &str| actions.iter().filter(|x| *x == a).count();
        assert_eq!(
            (
                count("training.live.schedule"),
                count("training.live.enter"),
                count("training.live.end")
            ),
            (2, 2, 1),
            "{actions:?}"
        );
    }

    #[tokio::test]
    async fn the_course_page_schedules_a_live_session_and_keeps_a_bad_form() {
        let ctx = setup().await;
        let (course, _, _) = published(&ctx).await;
        let admin = ctx.app.sign_in_browser("hospital-admin").await;
        let page = admin.page(&format!("/courses/{course}")).await;
        assert!(
            page.contains("id=\"live-schedule\"") && page.contains("安排直播课"),
            "{page}"
        );
        let lecturer = account(&ctx, "doctor1").await.to_string();
        let path = format!("/courses/{course}/live");
        let r = admin
            .post_form(
                &path,
                &[
                    ("title", "答疑"),
                    ("lecturer_id", lecturer.as_str()),
                    ("starts_at", "明天"),
                    ("minutes", "45"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("id=\"starts_at-error\"") && page.contains("value=\"答疑\""),
            "{page}"
        );
        let when = yunyi::time::cst_display(ctx.app.state.now_ms() + 5 * 60_000).replace(' ', "T");
        let r = admin
            .post_form(
                &path,
                &[
                    ("title", "穿脱防护用品答疑"),
                    ("lecturer_id", lecturer.as_str()),
                    ("starts_at", when.as_str()),
                    ("minutes", "45"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let at = r.headers()["location"].to_str().unwrap().to_owned();
        let page = admin.page(&at).await;
        assert!(
            page.contains("id=\"attendance\"") && page.contains("id=\"live-end\""),
            "{page}"
        );
        // An enrolled nurse finds the room; one not enrolled is asked to enrol.
        let nurse = ctx.app.sign_in_browser("nurse2").await;
        let page = nurse.page(&at).await;
        assert!(page.contains("id=\"live-enrol\""), "{page}");
        nurse.submit(&format!("/courses/{course}/enrol"), &[]).await;
        let page = nurse.page(&at).await;
        assert!(
            page.contains("data-room=")
                && page.contains("进入直播课堂")
                && !page.contains("id=\"attendance\""),
            "{page}"
        );
    }
}
