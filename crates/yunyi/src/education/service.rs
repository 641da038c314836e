//! Articles: a doctor writes (every edit after a review is a new version), sends for review,
//! a second doctor of the same hospital approves or returns with a note, and the approved
//! version is what readers see until a doctor or the hospital's administrator withdraws it.
//! Readers get a feed ranked by what is known of them (see [`model::score`]).
//!
//! Drafts and the history belong to the hospital: its doctors and administrators see them;
//! to anyone else an article that is not published does not exist.

use serde::Serialize;

use super::model::{self, AgeGroup, ArticleInput, ArticleStatus, Decision, Reader, Season};
use super::store::{self, ArticleRow, DeskRow, PublishedRow, VersionRow};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::actor::SignedIn;
use crate::identity::model::Role;

/// How many published articles a feed ranks (the newest).
const FEED_POOL: i64 = 500;
/// How many it shows.
pub const FEED_SIZE: usize = 30;

/// An article in a feed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedItem {
    pub id: i64,
    pub title: String,
    pub summary: String,
    pub hospital: String,
    pub published_at: i64,
    /// ICD-10 code prefixes it is about.
    pub conditions: Vec<String>,
    /// Surveillance syndromes it advises on.
    pub syndromes: Vec<String>,
    /// Why it is near the top: it is about one of the reader's conditions, or their region.
    pub for_you: bool,
}

/// An article as its reader sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArticleView {
    pub id: i64,
    pub hospital_id: i64,
    pub status: String,
    /// The version shown.
    pub version: i64,
    pub latest_version: i64,
    pub published_version: Option<i64>,
    pub withdrawn: bool,
    pub title: String,
    pub summary: String,
    /// Paragraphs, in order.
    pub paragraphs: Vec<String>,
    pub conditions: Vec<String>,
    pub department: String,
    pub age_group: String,
    pub regions: Vec<String>,
    pub season: String,
    pub syndromes: Vec<String>,
    /// Who wrote the version shown, and who approved it.
    pub editor: String,
    pub reviewer: Option<String>,
    pub review_decision: Option<String>,
    pub review_note: Option<String>,
    /// How many people opened it.
    pub reads: i64,
}

/// What the signed-in person may do with an article (for the page's buttons).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Allowed {
    /// Sees drafts and every version (the hospital's doctors and administrators).
    pub desk: bool,
    pub edit: bool,
    pub submit: bool,
    pub review: bool,
    pub withdraw: bool,
    pub push: bool,
}

impl ArticleView {
    /// Whether the version shown is the one readers see.
    pub fn shows_published(&self) -> bool {
        self.published_version == Some(self.version)
    }
}

fn view(article: &ArticleRow, v: &VersionRow, reads: i64) -> ArticleView {
    let tags = v.tags();
    ArticleView {
        id: article.id,
        hospital_id: article.hospital_id,
        status: article.status.as_str().to_owned(),
        version: v.version,
        latest_version: article.latest_version,
        published_version: article.published_version,
        withdrawn: article.withdrawn_at.is_some(),
        title: v.title.clone(),
        summary: v.summary.clone(),
        paragraphs: v
            .body
            .split("\n\n")
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
        conditions: tags.conditions,
        department: tags.department,
        age_group: tags.age_group.as_str().to_owned(),
        regions: tags.regions,
        season: tags.season.as_str().to_owned(),
        syndromes: tags.syndromes,
        editor: v.editor.clone(),
        reviewer: v.reviewer.clone(),
        review_decision: v.review_decision.map(|d| d.as_str().to_owned()),
        review_note: v.review_note.clone(),
        reads,
    }
}

/// A doctor of `hospital`, or a refusal saying who may.
fn doctor_of(me: &SignedIn, hospital: Option<i64>) -> AppResult<i64> {
    match (me.role, me.hospital_id) {
        (Role::Doctor, Some(h)) if hospital.is_none_or(|x| x == h) => Ok(h),
        _ => Err(AppError::refused(
            Reason::RoleRequired,
            "only doctors of the article's hospital write and review its articles",
        )),
    }
}

/// Whether the signed-in person works on this hospital's articles (sees drafts, history).
fn on_desk(me: Option<&SignedIn>, hospital: i64) -> bool {
    me.is_some_and(|m| {
        matches!(m.role, Role::Doctor | Role::HospitalAdmin) && m.hospital_id == Some(hospital)
    })
}

/// The article, if the signed-in person may see it at all: published, or on their desk.
async fn visible(state: &AppState, actor: &Actor, id: i64) -> AppResult<ArticleRow> {
    let article = store::article(&state.db, id).await?;
    match article {
        Some(a)
            if (a.published_version.is_some() && a.withdrawn_at.is_none())
                || on_desk(actor.signed_in.as_ref(), a.hospital_id) =>
        {
            Ok(a)
        }
        _ => Err(AppError::NotFound(format!("no article with id {id}"))),
    }
}

/// An article on the signed-in doctor's desk, or 404 (another hospital's drafts do not exist
/// for them) / 403 (not a doctor).
async fn on_my_desk(state: &AppState, actor: &Actor, id: i64) -> AppResult<(ArticleRow, i64)> {
    let me = actor.require()?;
    let article = store::article(&state.db, id)
        .await?
        .filter(|a| on_desk(Some(me), a.hospital_id) || a.published_version.is_some())
        .ok_or_else(|| AppError::NotFound(format!("no article with id {id}")))?;
    doctor_of(me, Some(article.hospital_id))?;
    Ok((article, me.account_id))
}

/// The largest picture an article takes (a phone photo, scaled or not).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// A doctor uploads a picture for an article: checked to be a JPEG, PNG or WebP, stripped
/// of its metadata (a phone photo's location), stored, and listed so the article address
/// serves it. Returns its key and the line that puts it in the text.
pub async fn upload_image(
    state: &AppState,
    actor: &Actor,
    bytes: &[u8],
) -> AppResult<(String, String)> {
    let me = actor.require()?;
    let hospital = doctor_of(me, None)?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AppError::invalid(
            "body",
            format!(
                "is too large: at most {} MiB",
                MAX_IMAGE_BYTES / 1024 / 1024
            ),
        ));
    }
    let content_type = crate::blob::sniff_image(bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType("send a JPEG, PNG or WebP picture".to_owned())
    })?;
    let clean = crate::scrub::strip(bytes, content_type)
        .map_err(|e| AppError::UnsupportedMediaType(e.to_string()))?;
    let key = state
        .blobs
        .put(&clean)
        .await
        .map_err(AppError::from_storage)?;
    let now = state.now_ms();
    store::insert_image(
        &state.db,
        &key,
        content_type,
        (hospital, me.account_id),
        now,
    )
    .await?;
    let line = format!("![]({})", model::image_path(&key));
    Ok((key, line))
}

/// An article picture and its type; any other key is not found here.
pub async fn image(state: &AppState, key: &str) -> AppResult<(Vec<u8>, String)> {
    let not_found = || AppError::NotFound(format!("no article picture '{key}'"));
    if !crate::blob::is_key(key) {
        return Err(not_found());
    }
    let content_type = store::image_type(&state.db, key)
        .await?
        .ok_or_else(not_found)?;
    let bytes = state
        .blobs
        .get(key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(not_found)?;
    Ok((bytes, content_type))
}

/// Refuses anyone but a doctor (the editor's page asks before showing the form).
pub fn may_write(actor: &Actor) -> AppResult<()> {
    doctor_of(actor.require()?, None).map(|_| ())
}

/// Writes a new article (its version 1, a draft) at the doctor's hospital.
pub async fn create(state: &AppState, actor: &Actor, input: &ArticleInput) -> AppResult<i64> {
    let me = actor.require()?;
    let hospital = doctor_of(me, None)?;
    let valid = input.validate().map_err(AppError::Validation)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = store::insert_article(&mut tx, hospital, me.account_id, now).await?;
    store::insert_version(&mut tx, (id, 1), &valid, me.account_id, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "article.create", "article").object(id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes an article. A draft never reviewed is changed in place; after a review (returned
/// or approved) the change is a new version, so what the reviewer saw stays as they saw it
/// and readers keep the approved version until the new one is approved. Under review it
/// cannot change. Returns the version written.
pub async fn edit(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &ArticleInput,
) -> AppResult<i64> {
    let (article, me) = on_my_desk(state, actor, id).await?;
    let valid = input.validate().map_err(AppError::Validation)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let version = match article.status {
        ArticleStatus::InReview => {
            return Err(AppError::wrong_state(
                "the article is under review: wait for the reviewer's decision",
            ));
        }
        ArticleStatus::Draft => {
            store::update_version(&mut tx, (id, article.latest_version), &valid, me, now).await?;
            article.latest_version
        }
        ArticleStatus::Returned | ArticleStatus::Approved => {
            if !store::bump_version(&mut tx, id, article.latest_version, now).await? {
                return Err(AppError::refused(
                    Reason::ChangedMeanwhile,
                    "someone changed the article meanwhile: reload it",
                ));
            }
            let next = article.latest_version + 1;
            store::insert_version(&mut tx, (id, next), &valid, me, now).await?;
            next
        }
    };
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "article.edit", "article")
            .object(id)
            .reason(format!("version {version}")),
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// Sends the latest version (a draft) for review.
pub async fn submit(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let (article, _) = on_my_desk(state, actor, id).await?;
    step(
        state,
        actor,
        &article,
        (&[ArticleStatus::Draft], ArticleStatus::InReview),
        ("article.submit", None),
    )
    .await
}

/// The reviewer's decision on the version under review: approve (it is published) or return
/// with a note saying what to change. The doctor who wrote the version cannot approve it.
pub async fn review(
    state: &AppState,
    actor: &Actor,
    id: i64,
    decision: Decision,
    note: Option<&str>,
) -> AppResult<()> {
    let (article, me) = on_my_desk(state, actor, id).await?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if decision == Decision::Returned && note.is_none() {
        return Err(AppError::required("note"));
    }
    if let Some(n) = note {
        crate::text::check("note", n, 500).map_err(AppError::field)?;
    }
    let version = store::version(&state.db, id, article.latest_version)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no version {}", article.latest_version)))?;
    if version.edited_by == me {
        return Err(AppError::refused(
            Reason::OwnWorkReview,
            "you wrote this version: another doctor of the hospital reviews it",
        ));
    }
    let to = match decision {
        Decision::Approved => ArticleStatus::Approved,
        Decision::Returned => ArticleStatus::Returned,
    };
    step(
        state,
        actor,
        &article,
        (&[ArticleStatus::InReview], to),
        ("article.review", Some((decision, note))),
    )
    .await
}

/// Moves the article's latest version from one of `from` to `to`, recording a review when
/// there is one, with its audit event.
async fn step(
    state: &AppState,
    actor: &Actor,
    article: &ArticleRow,
    (from, to): (&[ArticleStatus], ArticleStatus),
    (action, review): (&str, Option<(Decision, Option<&str>)>),
) -> AppResult<()> {
    let me = actor.require()?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::set_status(&mut tx, article.id, article.latest_version, from, to, now).await? {
        return Err(AppError::wrong_state(format!(
            "the article is {}, not {}",
            article.status,
            from.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    if let Some((decision, note)) = review {
        store::record_review(
            &mut tx,
            article.id,
            article.latest_version,
            me.account_id,
            decision,
            note,
            now,
        )
        .await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), action, "article")
            .object(article.id)
            .reason(format!("version {} → {to}", article.latest_version)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a published article off the feed (its doctors or its hospital's administrator).
pub async fn withdraw(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let me = actor.require()?;
    let article = visible(state, actor, id).await?;
    if !on_desk(Some(me), article.hospital_id) {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "only the hospital's doctors and administrators withdraw its articles",
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::withdraw(&mut tx, id, now).await? {
        return Err(AppError::wrong_state("the article is not published"));
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "article.withdraw", "article").object(id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An article to read: the published version, or — for its hospital's doctors and
/// administrators — any version (`None`: the latest). Opening a published article counts as
/// a read of it.
pub async fn read(
    state: &AppState,
    actor: &Actor,
    id: i64,
    version: Option<i64>,
) -> AppResult<(ArticleView, Allowed)> {
    let article = visible(state, actor, id).await?;
    let me = actor.signed_in.as_ref();
    let desk = on_desk(me, article.hospital_id);
    let shown = match (version, desk) {
        (Some(v), true) => v,
        (None, true) => article.latest_version,
        _ => article.published_version.unwrap_or(article.latest_version),
    };
    let v = store::version(&state.db, id, shown)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("article {id} has no version {shown}")))?;
    if let Some(me) = me {
        if Some(shown) == article.published_version {
            store::mark_read(&state.db, id, me.account_id, state.now_ms()).await?;
        }
    }
    let reads = store::reads(&state.db, id).await?;
    let doctor = me.is_some_and(|m| m.role == Role::Doctor) && desk;
    let latest = shown == article.latest_version;
    let published = article.published_version.is_some() && article.withdrawn_at.is_none();
    let allowed = Allowed {
        desk,
        edit: doctor && article.status != ArticleStatus::InReview,
        submit: doctor && latest && article.status == ArticleStatus::Draft,
        review: doctor
            && latest
            && article.status == ArticleStatus::InReview
            && me.is_some_and(|m| m.account_id != v.edited_by),
        withdraw: desk && published,
        push: published && me.is_some_and(|m| super::push::may_push(m.role)),
    };
    Ok((view(&article, &v, reads), allowed))
}

/// The article as its editor opens it, refused to whom the save would refuse: anyone but
/// the hospital's doctors, and everyone while it is under review.
pub async fn editable(state: &AppState, actor: &Actor, id: i64) -> AppResult<ArticleView> {
    let (article, allowed) = read(state, actor, id, None).await?;
    if allowed.edit {
        return Ok(article);
    }
    let doctor = actor.role() == Some(Role::Doctor);
    Err(if allowed.desk && doctor {
        AppError::wrong_state("the article is under review: wait for the reviewer's decision")
    } else {
        AppError::refused(
            Reason::RoleRequired,
            "only the hospital's doctors change its articles",
        )
    })
}

/// Every version of an article, newest first (its hospital's doctors and administrators).
pub async fn history(state: &AppState, actor: &Actor, id: i64) -> AppResult<Vec<ArticleView>> {
    actor.require()?;
    let article = visible(state, actor, id).await?;
    if !on_desk(actor.signed_in.as_ref(), article.hospital_id) {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "the history is for the hospital's doctors and administrators",
        ));
    }
    let reads = store::reads(&state.db, id).await?;
    Ok(store::versions(&state.db, id)
        .await?
        .iter()
        .map(|v| view(&article, v, reads))
        .collect())
}

/// A hospital's articles with their steps: the doctors' and administrators' desk.
pub async fn desk(state: &AppState, actor: &Actor) -> AppResult<Vec<DeskRow>> {
    let me = actor.require()?;
    match (me.role, me.hospital_id) {
        (Role::Doctor | Role::HospitalAdmin, Some(h)) => Ok(store::desk(&state.db, h, 200).await?),
        _ => Err(AppError::refused(
            Reason::RoleRequired,
            "the articles desk is for doctors and hospital administrators",
        )),
    }
}

/// What to narrow a feed to (the related articles of a triage or a consultation).
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    /// An ICD-10 code: articles about it or a group it is in.
    pub condition: Option<String>,
    pub syndrome: Option<String>,
}

impl FeedFilter {
    /// From a request's query: the condition as ICD-10 writes it, empty values as none.
    pub fn new(condition: Option<String>, syndrome: Option<String>) -> Self {
        Self {
            condition: condition
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty()),
            syndrome: syndrome.filter(|s| !s.is_empty()),
        }
    }
}

/// The published articles for the reader, best first: for a signed-in patient, ranked by
/// their diagnoses, region and age group; for anyone else, newest first.
pub async fn feed(
    state: &AppState,
    actor: &Actor,
    filter: &FeedFilter,
) -> AppResult<Vec<FeedItem>> {
    let reader = reader(state, actor).await?;
    let rows = store::published(&state.db, FEED_POOL).await?;
    let mut ranked: Vec<(u32, &PublishedRow)> = rows
        .iter()
        .filter(|r| matches_filter(r, filter))
        .filter_map(|r| model::score(&r.version.tags(), &reader).map(|s| (s, r)))
        .collect();
    // Stable: equal scores stay newest first.
    ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(ranked
        .into_iter()
        .take(FEED_SIZE)
        .map(|(score, r)| {
            let tags = r.version.tags();
            FeedItem {
                id: r.id,
                title: r.version.title.clone(),
                summary: r.version.summary.clone(),
                hospital: r.hospital.clone(),
                published_at: r.published_at,
                conditions: tags.conditions,
                syndromes: tags.syndromes,
                for_you: score >= 4,
            }
        })
        .collect())
}

fn matches_filter(r: &PublishedRow, f: &FeedFilter) -> bool {
    let tags = r.version.tags();
    f.condition
        .as_deref()
        .is_none_or(|c| tags.conditions.iter().any(|t| c.starts_with(t.as_str())))
        && f.syndrome
            .as_deref()
            .is_none_or(|s| tags.syndromes.iter().any(|t| t == s))
}

/// What a feed knows of the signed-in patient (nothing of anyone else). Read for ranking
/// only: nothing of it is shown, so it is not an access to the record.
async fn reader(state: &AppState, actor: &Actor) -> AppResult<Reader> {
    let today = crate::time::cst_today(state.now_ms());
    let mut reader = Reader {
        season: Season::of(today),
        ..Reader::default()
    };
    let Some(person) = actor
        .signed_in
        .as_ref()
        .filter(|m| m.role == Role::Patient)
        .and_then(|m| m.person_id)
    else {
        return Ok(reader);
    };
    if let Some(row) = store::reader(&state.db, person).await? {
        reader.region = row.region;
        reader.age_group = row
            .birth_date
            .parse()
            .ok()
            .map(|birth| AgeGroup::of(birth, today));
    }
    reader.conditions = store::conditions(&state.db, person).await?;
    Ok(reader)
}
