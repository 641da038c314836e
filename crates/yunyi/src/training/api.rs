//! Remote training over the JSON API: writing courses, the catalogue, enrolment, lesson files
//! in HTTP ranges, progress and quizzes, credits and their CSV export.

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::live::{self, LiveInput, LiveSession};
use super::model::{CourseInput, LessonInput};
use super::service::{self, CourseSummary, CourseView, Credit, QuizAnswers, QuizResult};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId, PathIds};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    catalogue,
    create,
    get_course,
    add_lesson,
    put_file,
    publish,
    enrol,
    lesson_file,
    studied,
    answer,
    my_credits,
    credits_csv,
    schedule_live,
    lives,
    get_live,
    live_room,
    end_live
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/courses", get(catalogue).post(create))
        .route("/api/v1/courses/{id}", get(get_course))
        .route("/api/v1/courses/{id}/lessons", post(add_lesson))
        .route(
            "/api/v1/courses/{id}/lessons/{lesson}/file",
            put(put_file)
                .get(lesson_file)
                .layer(DefaultBodyLimit::max(service::MAX_LESSON_BYTES)),
        )
        .route("/api/v1/courses/{id}/publish", post(publish))
        .route("/api/v1/courses/{id}/enrol", post(enrol))
        .route(
            "/api/v1/courses/{id}/lessons/{lesson}/studied",
            post(studied),
        )
        .route("/api/v1/courses/{id}/lessons/{lesson}/quiz", post(answer))
        .route("/api/v1/courses/{id}/live", get(lives).post(schedule_live))
        .route("/api/v1/courses/{id}/live/{live}", get(get_live))
        .route("/api/v1/courses/{id}/live/{live}/room", get(live_room))
        .route("/api/v1/courses/{id}/live/{live}/end", post(end_live))
        .route("/api/v1/me/training-credits", get(my_credits))
        .route(
            "/api/v1/hospitals/{id}/training-credits.csv",
            get(credits_csv),
        )
}

/// The courses the reader may take, with their progress; an administrator also sees their
/// hospital's drafts.
#[utoipa::path(get, path = "/api/v1/courses",
    responses((status = 200, description = "Courses", body = Items<CourseSummary>)))]
async fn catalogue(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<CourseSummary>>> {
    Ok(Json(Items {
        items: service::catalogue(&state, &actor).await?,
    }))
}

crate::created!(CourseCreated, id);

fn created(location: String, body: impl serde::Serialize) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// Write a new course, as a draft (a hospital's administrators).
#[utoipa::path(post, path = "/api/v1/courses", request_body = CourseInput,
    responses((status = 201, description = "Created", body = CourseCreated,
        headers(("location" = String, description = "The course's address")))))]
async fn create(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<CourseInput>,
) -> AppResult<Response> {
    let id = service::create(&state, &actor, &input).await?;
    Ok(created(
        format!("/api/v1/courses/{id}"),
        CourseCreated { id },
    ))
}

/// A course with its lessons, quizzes (without answers) and the reader's progress.
#[utoipa::path(get, path = "/api/v1/courses/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The course", body = CourseView)))]
async fn get_course(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<CourseView>> {
    Ok(Json(service::view(&state, &actor, id).await?))
}

crate::created!(LessonCreated, id);

/// Add a lesson (and its quiz) at the end of a draft course.
#[utoipa::path(post, path = "/api/v1/courses/{id}/lessons", params(crate::openapi::IdParam),
    request_body = LessonInput,
    responses((status = 201, description = "Added", body = LessonCreated,
        headers(("location" = String, description = "The course's address")))))]
async fn add_lesson(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<LessonInput>,
) -> AppResult<Response> {
    let lesson = service::add_lesson(&state, &actor, id, &input).await?;
    Ok(created(
        format!("/api/v1/courses/{id}"),
        LessonCreated { id: lesson },
    ))
}

/// Upload a lesson's file: a WebM or MP4 video or a PDF (known by its bytes), up to 300 MB.
#[utoipa::path(put, path = "/api/v1/courses/{id}/lessons/{lesson}/file",
    params(("id" = i64, Path), ("lesson" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A WebM or MP4 video or a PDF (its type is read from its bytes)"),
    responses((status = 204, description = "Stored")))]
async fn put_file(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, lesson): PathIds,
    body: axum::body::Bytes,
) -> AppResult<StatusCode> {
    service::put_file(&state, &actor, (id, lesson), &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish a course whose lessons all have their files.
#[utoipa::path(post, path = "/api/v1/courses/{id}/publish", params(crate::openapi::IdParam),
    responses((status = 204, description = "Published")))]
async fn publish(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service::publish(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enrol in a course (staff of its hospital or of a hospital it supports).
#[utoipa::path(post, path = "/api/v1/courses/{id}/enrol", params(crate::openapi::IdParam),
    responses((status = 204, description = "Enrolled")))]
async fn enrol(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service::enrol(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The most bytes one answer to an open range (`bytes=N-`) carries: the player asks for the
/// rest as it plays, and no answer holds a whole lecture in memory.
const CHUNK: u64 = 4 * 1024 * 1024;

/// A `Range: bytes=…` header as (first, last) byte positions within `total`; `Err(())` when it
/// cannot be satisfied. Only one range is served (players ask for one).
fn parse_range(header: &str, total: u64) -> Result<(u64, u64), ()> {
    let spec = header.trim().strip_prefix("bytes=").ok_or(())?;
    let (a, b) = spec.split_once('-').ok_or(())?;
    if spec.contains(',') || total == 0 {
        return Err(());
    }
    let (a, b) = (a.trim(), b.trim());
    let (first, last) = if a.is_empty() {
        // The last N bytes.
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (total.saturating_sub(n), total - 1)
    } else {
        let first: u64 = a.parse().map_err(|_| ())?;
        let last = if b.is_empty() {
            first.saturating_add(CHUNK - 1)
        } else {
            b.parse().map_err(|_| ())?
        };
        (first, last.min(total - 1))
    };
    if first > last || first >= total {
        return Err(());
    }
    Ok((first, last))
}

/// A lesson's file, whole or in the byte range asked (`Range: bytes=…`, answered 206 with
/// `Content-Range`; 416 when outside the file), for an enrolled learner or the course's
/// administrators.
#[utoipa::path(get, path = "/api/v1/courses/{id}/lessons/{lesson}/file",
    params(("id" = i64, Path), ("lesson" = i64, Path)),
    responses((status = 200, description = "The whole file"),
        (status = 206, description = "The range asked"),
        (status = 416, description = "The range lies outside the file")))]
async fn lesson_file(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, lesson): PathIds,
    headers: HeaderMap,
) -> AppResult<Response> {
    let (key, content_type) = service::file_of(&state, &actor, (id, lesson)).await?;
    let common = [
        (header::CONTENT_TYPE, content_type),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
        (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
    ];
    let missing = || AppError::NotFound("the lesson's file is missing".to_owned());
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        let bytes = state
            .blobs
            .get(&key)
            .await
            .map_err(AppError::from_storage)?
            .ok_or_else(missing)?;
        return Ok((common, bytes).into_response());
    };
    // The length first (a one-byte read), then the part asked.
    let (_, total) = state
        .blobs
        .get_range(&key, 0, 0)
        .await
        .map_err(AppError::from_storage)?
        .ok_or_else(missing)?;
    let Ok((first, last)) = parse_range(range, total) else {
        let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
            r.headers_mut().insert(header::CONTENT_RANGE, v);
        }
        return Ok(r);
    };
    let (bytes, _) = state
        .blobs
        .get_range(&key, first, last)
        .await
        .map_err(AppError::from_storage)?
        .ok_or_else(missing)?;
    let end = (first + bytes.len() as u64).saturating_sub(1);
    let content_range = format!("bytes {first}-{end}/{total}");
    Ok((
        StatusCode::PARTIAL_CONTENT,
        common,
        [(header::CONTENT_RANGE, content_range)],
        bytes,
    )
        .into_response())
}

/// Mark a lesson studied (the video watched to its end, the slides read).
#[utoipa::path(post, path = "/api/v1/courses/{id}/lessons/{lesson}/studied",
    params(("id" = i64, Path), ("lesson" = i64, Path)),
    responses((status = 204, description = "Recorded")))]
async fn studied(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, lesson): PathIds,
) -> AppResult<StatusCode> {
    service::studied(&state, &actor, id, lesson).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Answer a lesson's quiz: passed with 80 % right; which answers were right comes back.
#[utoipa::path(post, path = "/api/v1/courses/{id}/lessons/{lesson}/quiz",
    params(("id" = i64, Path), ("lesson" = i64, Path)), request_body = QuizAnswers,
    responses((status = 200, description = "The result", body = QuizResult)))]
async fn answer(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, lesson): PathIds,
    AppJson(input): AppJson<QuizAnswers>,
) -> AppResult<Json<QuizResult>> {
    Ok(Json(
        service::answer(&state, &actor, (id, lesson), &input).await?,
    ))
}

/// The reader's completed courses and their credit hours.
#[utoipa::path(get, path = "/api/v1/me/training-credits",
    responses((status = 200, description = "Completed courses", body = Items<Credit>)))]
async fn my_credits(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Items<Credit>>> {
    Ok(Json(Items {
        items: service::my_credits(&state, &actor).await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Period {
    /// The first day (China time, `YYYY-MM-DD`); the year's first day by default.
    from: Option<String>,
    /// The last day, included; today by default.
    to: Option<String>,
}

/// The credit hours the hospital's staff completed in a period, as CSV (its administrators).
#[utoipa::path(get, path = "/api/v1/hospitals/{id}/training-credits.csv",
    params(crate::openapi::IdParam, Period),
    responses((status = 200, description = "CSV, UTF-8 with a byte order mark", content_type = "text/csv")))]
async fn credits_csv(
    State(state): State<AppState>,
    actor: Actor,
    PathId(hospital): PathId,
    Query(p): Query<Period>,
) -> AppResult<Response> {
    let today = crate::time::cst_today(state.now_ms());
    let day = |field: &str, raw: &Option<String>, default: chrono::NaiveDate| match raw {
        None => Ok(default),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            AppError::field(
                crate::error::FieldError::new(field, "must be a date, YYYY-MM-DD")
                    .localized("training.err.date", vec![]),
            )
        }),
    };
    let start_of_year = chrono::Datelike::with_ordinal(&today, 1).unwrap_or(today);
    let from = day("from", &p.from, start_of_year)?;
    let to = day("to", &p.to, today)?;
    if from > to {
        return Err(AppError::field(
            crate::error::FieldError::new("to", "must not be before from")
                .localized("training.err.period", vec![]),
        ));
    }
    let ms = |d: chrono::NaiveDate| {
        crate::time::cst_ms(d, chrono::NaiveTime::MIN)
            .ok_or_else(|| AppError::invalid("from", "is not a day in China time"))
    };
    let period = (ms(from)?, ms(to.succ_opt().unwrap_or(to))?);
    let csv = service::credits_csv(&state, &actor, hospital, period).await?;
    let name = format!("training-credits-{hospital}-{from}-{to}.csv");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_read_as_players_send_them() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Ok((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Ok((900, 999)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Ok((990, 999)));
        // An open range from the start is answered in chunks.
        assert_eq!(
            parse_range("bytes=0-", 100_000_000),
            Ok((0, super::CHUNK - 1))
        );
        for bad in [
            "bytes=1000-",
            "bytes=5-1",
            "bytes=-0",
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=x-",
        ] {
            assert_eq!(parse_range(bad, 1000), Err(()), "{bad}");
        }
    }
}

// ---- Live sessions ----

crate::created!(LiveCreated, id);

/// Schedule a live session of a published course with a lecturer of its hospital (its
/// administrators); the enrolled learners are told.
#[utoipa::path(post, path = "/api/v1/courses/{id}/live", params(crate::openapi::IdParam),
    request_body = LiveInput,
    responses((status = 201, description = "Scheduled", body = LiveCreated,
        headers(("location" = String, description = "The live session's address")))))]
async fn schedule_live(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<LiveInput>,
) -> AppResult<Response> {
    let live = live::schedule(&state, &actor, id, &input).await?;
    Ok(created(
        format!("/api/v1/courses/{id}/live/{live}"),
        LiveCreated { id: live },
    ))
}

/// The course's live sessions, soonest first (who came: to its administrators and lecturer).
#[utoipa::path(get, path = "/api/v1/courses/{id}/live", params(crate::openapi::IdParam),
    responses((status = 200, description = "Live sessions", body = Items<LiveSession>)))]
async fn lives(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<LiveSession>>> {
    Ok(Json(Items {
        items: live::list(&state, &actor, id).await?,
    }))
}

/// One live session.
#[utoipa::path(get, path = "/api/v1/courses/{id}/live/{live}",
    params(("id" = i64, Path), ("live" = i64, Path)),
    responses((status = 200, description = "The live session", body = LiveSession)))]
async fn get_live(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, session): PathIds,
) -> AppResult<Json<LiveSession>> {
    Ok(Json(live::view(&state, &actor, id, session).await?))
}

/// The live session's video room, a WebSocket (see `crate::room` for its frames): the lecturer
/// and enrolled learners, from 15 minutes before the start until the end; at most five
/// learners at once beside the lecturer (`room-full`).
#[utoipa::path(get, path = "/api/v1/courses/{id}/live/{live}/room",
    params(("id" = i64, Path), ("live" = i64, Path)),
    responses((status = 101, description = "Switching to the WebSocket protocol")))]
async fn live_room(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, session): PathIds,
    headers: HeaderMap,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> AppResult<Response> {
    crate::socket::same_origin(&headers)?;
    let entered = live::enter(&state, &actor, id, session).await?;
    Ok(crate::socket::small(upgrade)
        .on_upgrade(move |socket| live::run(state, actor, entered, socket))
        .into_response())
}

/// End the live session (its lecturer or the course's administrators): the room closes.
#[utoipa::path(post, path = "/api/v1/courses/{id}/live/{live}/end",
    params(("id" = i64, Path), ("live" = i64, Path)),
    responses((status = 204, description = "Ended")))]
async fn end_live(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, session): PathIds,
) -> AppResult<StatusCode> {
    live::end(&state, &actor, id, session).await?;
    Ok(StatusCode::NO_CONTENT)
}
