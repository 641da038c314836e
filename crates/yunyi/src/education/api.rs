//! Health education over the JSON API: the feed, articles with their review steps and
//! versions, and targeted pushes with their audience preview.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::model::{ArticleInput, Decision};
use super::push::{self, PushInput, PushView};
use super::service::{self, ArticleView, FeedFilter, FeedItem};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    feed,
    create,
    get_article,
    edit,
    submit,
    review,
    withdraw,
    versions,
    preview,
    send,
    pushes,
    upload_image
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/articles", get(feed).post(create))
        .route("/api/v1/articles/images", post(upload_image))
        .route("/api/v1/articles/{id}", get(get_article).put(edit))
        .route("/api/v1/articles/{id}/submit", post(submit))
        .route("/api/v1/articles/{id}/review", post(review))
        .route("/api/v1/articles/{id}/withdraw", post(withdraw))
        .route("/api/v1/articles/{id}/versions", get(versions))
        .route("/api/v1/education-pushes", get(pushes).post(send))
        .route("/api/v1/education-pushes/preview", post(preview))
}

/// Narrowing the feed.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FeedQuery {
    /// An ICD-10 code: articles about it.
    condition: Option<String>,
    /// A surveillance syndrome: articles advising on it.
    syndrome: Option<String>,
}

/// Published articles, best first for the signed-in patient (their diagnoses, region, age
/// group), newest first for anyone else.
#[utoipa::path(get, path = "/api/v1/articles", params(FeedQuery),
    responses((status = 200, description = "Articles, best first", body = Items<FeedItem>)))]
async fn feed(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<FeedQuery>,
) -> AppResult<Json<Items<FeedItem>>> {
    let filter = FeedFilter::new(q.condition, q.syndrome);
    let items = service::feed(&state, &actor, &filter).await?;
    Ok(Json(Items { items }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Created {
    id: i64,
}

/// Write a new article (doctors): version 1, a draft.
#[utoipa::path(post, path = "/api/v1/articles", request_body = ArticleInput,
    responses((status = 201, description = "Written", body = Created)))]
async fn create(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<ArticleInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = service::create(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// A version to show (the hospital's doctors and administrators); the published one for
    /// everyone else.
    version: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ArticleAnswer {
    article: ArticleView,
    /// What the signed-in person may do with it.
    allowed: service::Allowed,
}

/// An article: the published version, or for its hospital's staff any version.
#[utoipa::path(get, path = "/api/v1/articles/{id}", params(crate::openapi::IdParam, VersionQuery),
    responses((status = 200, description = "The article", body = ArticleAnswer)))]
async fn get_article(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<VersionQuery>,
) -> AppResult<Json<ArticleAnswer>> {
    let (article, allowed) = service::read(&state, &actor, id, q.version).await?;
    Ok(Json(ArticleAnswer { article, allowed }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Written {
    /// The version the change is in.
    version: i64,
}

/// Change an article (its hospital's doctors): a draft in place, a reviewed article as a new
/// version.
#[utoipa::path(put, path = "/api/v1/articles/{id}", params(crate::openapi::IdParam),
    request_body = ArticleInput,
    responses((status = 200, description = "Changed", body = Written)))]
async fn edit(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ArticleInput>,
) -> AppResult<Json<Written>> {
    let version = service::edit(&state, &actor, id, &input).await?;
    Ok(Json(Written { version }))
}

/// Send the draft for review by a second doctor.
#[utoipa::path(post, path = "/api/v1/articles/{id}/submit", params(crate::openapi::IdParam),
    responses((status = 204, description = "Under review")))]
async fn submit(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service::submit(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ReviewInput {
    /// `approved` (published) or `returned` (with a note).
    decision: String,
    note: Option<String>,
}

/// Approve or return the version under review (a doctor who did not write it).
#[utoipa::path(post, path = "/api/v1/articles/{id}/review", params(crate::openapi::IdParam),
    request_body = ReviewInput,
    responses((status = 204, description = "Decided")))]
async fn review(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReviewInput>,
) -> AppResult<StatusCode> {
    let decision = Decision::parse(&input.decision).ok_or_else(|| {
        AppError::invalid(
            "decision",
            format!("must be approved or returned, got '{}'", input.decision),
        )
    })?;
    service::review(&state, &actor, id, decision, input.note.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take a published article off the feed.
#[utoipa::path(post, path = "/api/v1/articles/{id}/withdraw", params(crate::openapi::IdParam),
    responses((status = 204, description = "Withdrawn")))]
async fn withdraw(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service::withdraw(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version with who wrote and who reviewed it, newest first.
#[utoipa::path(get, path = "/api/v1/articles/{id}/versions", params(crate::openapi::IdParam),
    responses((status = 200, description = "Versions", body = Items<ArticleView>)))]
async fn versions(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<ArticleView>>> {
    let items = service::history(&state, &actor, id).await?;
    Ok(Json(Items { items }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Reach {
    /// How many patients the audience holds now.
    recipients: i64,
}

/// How many patients a push would reach (the article is not needed).
#[utoipa::path(post, path = "/api/v1/education-pushes/preview", request_body = PushInput,
    responses((status = 200, description = "The audience's size", body = Reach)))]
async fn preview(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<PushInput>,
) -> AppResult<Json<Reach>> {
    let recipients = push::preview(&state, &actor, &input).await?;
    Ok(Json(Reach { recipients }))
}

/// Push a published article to an audience (infection officers: their region; hospital
/// administrators: their hospital's patients). The notifications are written in the
/// background; the list shows the reach as it grows.
#[utoipa::path(post, path = "/api/v1/education-pushes", request_body = PushInput,
    responses((status = 202, description = "Queued", body = Created)))]
async fn send(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<PushInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = push::send(&state, &actor, &input).await?;
    Ok((StatusCode::ACCEPTED, Json(Created { id })))
}

/// The pushes of the sender's hospital with their reach and reads, newest first.
#[utoipa::path(get, path = "/api/v1/education-pushes",
    responses((status = 200, description = "Pushes", body = Items<PushView>)))]
async fn pushes(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Items<PushView>>> {
    let items = push::list(&state, &actor).await?;
    Ok(Json(Items { items }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Uploaded {
    /// The picture's key.
    key: String,
    /// Where it is served (to anyone).
    url: String,
    /// The paragraph that puts it in an article's text (a caption may go between the brackets).
    markdown: String,
}

/// Upload a picture for an article (doctors): the body is the JPEG, PNG or WebP itself, at
/// most 5 MiB; its metadata (a phone photo's location) is stripped.
#[utoipa::path(post, path = "/api/v1/articles/images",
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, description = "Stored", body = Uploaded)))]
async fn upload_image(
    State(state): State<AppState>,
    actor: Actor,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<Uploaded>)> {
    let (key, markdown) = service::upload_image(&state, &actor, &body).await?;
    let url = super::model::image_path(&key);
    Ok((StatusCode::CREATED, Json(Uploaded { key, url, markdown })))
}
