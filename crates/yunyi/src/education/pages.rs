//! Health-education pages: the feed (科普) and the reader for everyone; the hospital's desk,
//! editor, history and review for its doctors; the push composer with its audience preview
//! and the list of pushes with reach and reads for officers and hospital administrators.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{ArticleInput, Decision, SYNDROMES};
use super::push::{self, PushInput, PushView};
use super::service::{self, Allowed, ArticleView, FeedFilter, FeedItem};
use super::store::DeskRow;
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::web::PageCtx;
use crate::web::filters;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/education", get(feed).post(create))
        .route("/education/new", get(new_page))
        .route("/education/desk", get(desk))
        .route("/education/pushes", get(pushes).post(send_push))
        .route("/education/pushes/new", get(compose))
        .route("/education/{id}", get(article))
        .route("/education/images/{key}", get(image))
        .route("/education/{id}/edit", get(edit_page).post(edit))
        .route("/education/{id}/history", get(history))
        .route("/education/{id}/submit", post(submit))
        .route("/education/{id}/review", post(review))
        .route("/education/{id}/withdraw", post(withdraw))
}

#[derive(Template, WebTemplate)]
#[template(path = "education.html")]
struct FeedPage {
    page: PageCtx,
    items: Vec<FeedItem>,
    /// What the feed is narrowed to, for its heading.
    filter: String,
}

#[derive(Deserialize, Default)]
struct FeedQuery {
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    syndrome: Option<String>,
}

async fn feed(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<FeedQuery>,
) -> AppResult<FeedPage> {
    let known = q.syndrome.filter(|s| SYNDROMES.contains(&s.as_str()));
    let filter = FeedFilter::new(q.condition, known);
    let label = match (&filter.condition, &filter.syndrome) {
        (Some(c), _) => c.clone(),
        (None, Some(s)) => page.syndrome(s),
        (None, None) => String::new(),
    };
    Ok(FeedPage {
        items: service::feed(&state, &actor, &filter).await?,
        page: page.with_nav("education"),
        filter: label,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "education_article.html")]
struct ArticlePage {
    page: PageCtx,
    a: ArticleView,
    allowed: Allowed,
    message: String,
}

#[derive(Deserialize, Default)]
struct ArticleQuery {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

async fn article(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<ArticleQuery>,
) -> AppResult<ArticlePage> {
    let (a, allowed) = service::read(&state, &actor, id, q.version).await?;
    Ok(ArticlePage {
        page: page.with_nav("education"),
        a,
        allowed,
        message: q.message.unwrap_or_default(),
    })
}

/// An article picture, to anyone: its key is its content's hash, so it never changes.
async fn image(
    State(state): State<AppState>,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> AppResult<Response> {
    let (bytes, content_type) = service::image(&state, &key).await?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, content_type),
        (
            axum::http::header::CACHE_CONTROL,
            "public, max-age=31536000, immutable".to_owned(),
        ),
    ];
    Ok((headers, bytes).into_response())
}

impl ArticlePage {
    /// The picture a paragraph is (address, caption), if it is one.
    fn picture(&self, p: &str) -> Option<(String, String)> {
        super::model::picture(p)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "education_history.html")]
struct HistoryPage {
    page: PageCtx,
    id: i64,
    versions: Vec<ArticleView>,
}

async fn history(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<HistoryPage> {
    Ok(HistoryPage {
        versions: service::history(&state, &actor, id).await?,
        page: page.with_nav("education"),
        id,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "education_desk.html")]
struct DeskPage {
    page: PageCtx,
    items: Vec<DeskRow>,
    doctor: bool,
}

async fn desk(State(state): State<AppState>, page: PageCtx, actor: Actor) -> AppResult<DeskPage> {
    let items = service::desk(&state, &actor).await?;
    let doctor = actor
        .role()
        .is_some_and(|r| r == crate::identity::model::Role::Doctor);
    Ok(DeskPage {
        page: page.with_nav("education"),
        items,
        doctor,
    })
}

/// The editor, new or for an article; shown again with the errors when a save is refused.
#[derive(Template, WebTemplate)]
#[template(path = "education_editor.html")]
struct EditorPage {
    page: PageCtx,
    /// `None` for a new article.
    id: Option<i64>,
    form: ArticleForm,
    errors: Vec<FieldError>,
    message: String,
}

impl EditorPage {
    fn age_chosen(&self, value: &&str) -> bool {
        self.form.age_group == *value
    }
    fn season_chosen(&self, value: &&str) -> bool {
        self.form.season == *value
    }
}

#[derive(Deserialize, Default, Clone)]
struct ArticleForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    age_group: String,
    #[serde(default)]
    regions: String,
    #[serde(default)]
    season: String,
    /// One checkbox per syndrome (see [`SYNDROMES`]).
    #[serde(default)]
    syndrome_respiratory: Option<String>,
    #[serde(default)]
    syndrome_diarrhoeal: Option<String>,
    #[serde(default)]
    syndrome_rash_fever: Option<String>,
}

impl ArticleForm {
    fn input(&self) -> ArticleInput {
        let choice = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        ArticleInput {
            title: self.title.clone(),
            summary: self.summary.clone(),
            body: self.body.clone(),
            conditions: self.conditions.clone(),
            department: self.department.clone(),
            age_group: choice(&self.age_group),
            regions: self.regions.clone(),
            season: choice(&self.season),
            syndromes: self.syndromes().join(" "),
        }
    }

    /// The syndromes ticked, in [`SYNDROMES`] order.
    fn syndromes(&self) -> Vec<&'static str> {
        let ticked = [
            &self.syndrome_respiratory,
            &self.syndrome_diarrhoeal,
            &self.syndrome_rash_fever,
        ];
        SYNDROMES
            .iter()
            .zip(ticked)
            .filter(|(_, t)| t.is_some())
            .map(|(s, _)| *s)
            .collect()
    }

    fn ticked(&self, syndrome: &&str) -> bool {
        self.syndromes().contains(syndrome)
    }

    fn of(a: &ArticleView) -> Self {
        Self {
            title: a.title.clone(),
            summary: a.summary.clone(),
            body: a.paragraphs.join("\n\n"),
            conditions: a.conditions.join(" "),
            department: a.department.clone(),
            age_group: a.age_group.clone(),
            regions: a.regions.join(" "),
            season: a.season.clone(),
            syndrome_respiratory: tick(a, "respiratory"),
            syndrome_diarrhoeal: tick(a, "diarrhoeal"),
            syndrome_rash_fever: tick(a, "rash_fever"),
        }
    }
}

/// A ticked checkbox when the article advises on `syndrome`.
fn tick(a: &ArticleView, syndrome: &str) -> Option<String> {
    a.syndromes
        .iter()
        .any(|s| s == syndrome)
        .then(|| "on".to_owned())
}

/// The choices of the editor's two selects.
const AGE_GROUPS: [&str; 4] = ["all", "child", "adult", "elderly"];
const SEASONS: [&str; 5] = ["all", "spring", "summer", "autumn", "winter"];

fn editor(
    page: PageCtx,
    id: Option<i64>,
    form: ArticleForm,
    error: Option<AppError>,
) -> EditorPage {
    let (errors, message) = match error {
        Some(AppError::Validation(errors)) => (errors, String::new()),
        Some(e) => (Vec::new(), page.error_text(&e)),
        None => (Vec::new(), String::new()),
    };
    EditorPage {
        page: page.with_nav("education"),
        id,
        form,
        errors,
        message,
    }
}

async fn new_page(page: PageCtx, actor: Actor) -> AppResult<EditorPage> {
    service::may_write(&actor)?;
    Ok(editor(page, None, ArticleForm::default(), None))
}

async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<ArticleForm>,
) -> AppResult<Response> {
    match service::create(&state, &actor, &form.input()).await {
        Ok(id) => Ok(Redirect::to(&format!("/education/{id}?message=ok")).into_response()),
        Err(e) => form_refused(page, None, form, e),
    }
}

/// A refused save: the editor again with what was typed, unless the fault is not the form's.
fn form_refused(
    page: PageCtx,
    id: Option<i64>,
    form: ArticleForm,
    e: AppError,
) -> AppResult<Response> {
    match e {
        AppError::Internal(_) | AppError::NotFound(_) => Err(e),
        e => Ok(editor(page, id, form, Some(e)).into_response()),
    }
}

async fn edit_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<EditorPage> {
    let a = service::editable(&state, &actor, id).await?;
    Ok(editor(page, Some(id), ArticleForm::of(&a), None))
}

async fn edit(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<ArticleForm>,
) -> AppResult<Response> {
    match service::edit(&state, &actor, id, &form.input()).await {
        Ok(_) => Ok(Redirect::to(&format!("/education/{id}?message=ok")).into_response()),
        Err(e) => form_refused(page, Some(id), form, e),
    }
}

async fn submit(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = service::submit(&state, &actor, id).await;
    page.redirect_outcome(&format!("/education/{id}"), result)
}

#[derive(Deserialize)]
struct ReviewForm {
    decision: String,
    #[serde(default)]
    note: String,
}

async fn review(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<ReviewForm>,
) -> AppResult<Redirect> {
    let result = match Decision::parse(&form.decision) {
        Some(decision) => service::review(&state, &actor, id, decision, Some(&form.note)).await,
        None => Err(AppError::invalid(
            "decision",
            "must be approved or returned",
        )),
    };
    page.redirect_outcome(&format!("/education/{id}"), result)
}

async fn withdraw(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = service::withdraw(&state, &actor, id).await;
    page.redirect_outcome(&format!("/education/{id}"), result)
}

/// The push composer: the article, the audience and how many it reaches.
#[derive(Template, WebTemplate)]
#[template(path = "education_push.html")]
struct ComposePage {
    page: PageCtx,
    form: PushForm,
    /// Published articles to choose from (those on the alert's syndrome first).
    articles: Vec<FeedItem>,
    /// How many the audience holds, when it could be counted.
    reach: Option<i64>,
    officer: bool,
    message: String,
}

impl ComposePage {
    fn chosen(&self, id: &i64) -> bool {
        self.form.article_id == Some(*id)
    }

    fn reach_text(&self, n: &i64) -> String {
        self.page.t_with("edu.reach", &[("count", &n.to_string())])
    }
}

#[derive(Deserialize, Default, Clone)]
struct PushForm {
    #[serde(default)]
    article_id: Option<i64>,
    #[serde(default)]
    region: String,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    alert_id: Option<i64>,
    /// From a surveillance alert: its syndrome, to offer the articles about it first.
    #[serde(default)]
    syndrome: Option<String>,
}

impl PushForm {
    fn input(&self) -> PushInput {
        PushInput {
            article_id: self.article_id.unwrap_or(0),
            region: self.region.clone(),
            condition: self.condition.clone(),
            alert_id: self.alert_id,
        }
    }
}

async fn compose_page(
    state: &AppState,
    page: PageCtx,
    actor: &Actor,
    form: PushForm,
    mut message: String,
) -> AppResult<ComposePage> {
    push::sender_hospital(actor)?;
    let me = actor.require()?;
    let reach = match push::preview(state, actor, &form.input()).await {
        Ok(n) => Some(n),
        Err(e @ AppError::Internal(_)) => return Err(e),
        Err(e) => {
            if message.is_empty() {
                message = page.error_text(&e);
            }
            None
        }
    };
    let officer = me.role == crate::identity::model::Role::InfectionOfficer;
    Ok(ComposePage {
        articles: offered(state, actor, &form).await?,
        page: page.with_nav("education"),
        form,
        reach,
        officer,
        message,
    })
}

/// The articles a push may carry: on the alert's syndrome first, then the rest.
async fn offered(state: &AppState, actor: &Actor, form: &PushForm) -> AppResult<Vec<FeedItem>> {
    let mut all = service::feed(state, &actor.anonymous_like(), &FeedFilter::default()).await?;
    if let Some(s) = form.syndrome.as_deref() {
        all.sort_by_key(|a| !a.syndromes.iter().any(|x| x == s));
    }
    Ok(all)
}

async fn compose(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(form): Query<PushForm>,
) -> AppResult<ComposePage> {
    compose_page(&state, page, &actor, form, String::new()).await
}

async fn send_push(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<PushForm>,
) -> AppResult<Response> {
    match push::send(&state, &actor, &form.input()).await {
        Ok(id) => Ok(Redirect::to(&format!("/education/pushes?sent={id}")).into_response()),
        Err(e @ (AppError::Internal(_) | AppError::NotFound(_))) => Err(e),
        Err(e) => {
            let message = page.error_text(&e);
            Ok(compose_page(&state, page, &actor, form, message)
                .await?
                .into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "education_pushes.html")]
struct PushesPage {
    page: PageCtx,
    items: Vec<PushView>,
    sent: Option<i64>,
}

#[derive(Deserialize, Default)]
struct PushesQuery {
    #[serde(default)]
    sent: Option<i64>,
}

async fn pushes(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<PushesQuery>,
) -> AppResult<PushesPage> {
    Ok(PushesPage {
        items: push::list(&state, &actor).await?,
        page: page.with_nav("education"),
        sent: q.sent,
    })
}
