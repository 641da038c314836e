//! Health-education SQL: articles and their versions, read marks, and pushes with the
//! audience query their fan-out writes notifications from.

use super::model::{
    AgeGroup, ArticleStatus, Audience, Decision, PushStatus, Season, Tags, ValidArticle,
};
use crate::db::query::Sql;
use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArticleRow {
    pub id: i64,
    pub hospital_id: i64,
    pub author_id: i64,
    pub status: ArticleStatus,
    pub latest_version: i64,
    pub published_version: Option<i64>,
    pub published_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const ARTICLE: &str = "id, hospital_id, author_id, status, latest_version, published_version, \
     published_at, withdrawn_at, created_at, updated_at";

/// One version: its text, tags as stored (lists joined by spaces) and its review.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub article_id: i64,
    pub version: i64,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub conditions: String,
    pub department: String,
    pub age_group: AgeGroup,
    pub regions: String,
    pub season: Season,
    pub syndromes: String,
    pub edited_by: i64,
    pub editor: String,
    pub created_at: i64,
    pub reviewed_by: Option<i64>,
    pub reviewer: Option<String>,
    pub review_decision: Option<Decision>,
    pub review_note: Option<String>,
    pub reviewed_at: Option<i64>,
}

const VERSION: &str = "v.article_id, v.version, v.title, v.summary, v.body, v.conditions, \
     v.department, v.age_group, v.regions, v.season, v.syndromes, v.edited_by, \
     e.display_name AS editor, v.created_at, v.reviewed_by, r.display_name AS reviewer, \
     v.review_decision, v.review_note, v.reviewed_at";

const VERSION_FROM: &str = "article_version v JOIN account e ON e.id = v.edited_by \
     LEFT JOIN account r ON r.id = v.reviewed_by";

/// The editor's and reviewer's names of version `v`, joined after it.
const VERSION_PEOPLE: &str =
    "JOIN account e ON e.id = v.edited_by LEFT JOIN account r ON r.id = v.reviewed_by";

impl VersionRow {
    pub fn tags(&self) -> Tags {
        let list = |s: &str| s.split_whitespace().map(str::to_owned).collect();
        Tags {
            conditions: list(&self.conditions),
            department: self.department.clone(),
            age_group: self.age_group,
            regions: list(&self.regions),
            season: self.season,
            syndromes: list(&self.syndromes),
        }
    }
}

pub async fn insert_article(
    tx: &mut Tx,
    hospital: i64,
    author: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO article (hospital_id, author_id, status, latest_version, created_at, updated_at) \
         VALUES ($1, $2, 'draft', 1, $3, $3) RETURNING id",
        (hospital, author, now),
    )
    .await
}

/// A version's values in the column order of [`insert_version`] and [`update_version`].
#[allow(clippy::type_complexity)]
fn version_values(
    (article, version): (i64, i64),
    a: &ValidArticle,
    editor: i64,
    now: i64,
) -> (
    i64,
    i64,
    &str,
    &str,
    &str,
    String,
    &str,
    AgeGroup,
    String,
    Season,
    String,
    i64,
    i64,
) {
    let t = &a.tags;
    (
        article,
        version,
        &a.title,
        &a.summary,
        &a.body,
        t.conditions.join(" "),
        &t.department,
        t.age_group,
        t.regions.join(" "),
        t.season,
        t.syndromes.join(" "),
        editor,
        now,
    )
}

pub async fn insert_version(
    tx: &mut Tx,
    (article, version): (i64, i64),
    a: &ValidArticle,
    editor: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO article_version (article_id, version, title, summary, body, conditions, \
         department, age_group, regions, season, syndromes, edited_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        version_values((article, version), a, editor, now),
    )
    .await
    .map(|_| ())
}

pub async fn article(db: &Db, id: i64) -> Result<Option<ArticleRow>, sqlx::Error> {
    db.optional(
        &format!("SELECT {ARTICLE} FROM article WHERE id = $1"),
        (id,),
    )
    .await
}

pub async fn version(db: &Db, id: i64, version: i64) -> Result<Option<VersionRow>, sqlx::Error> {
    db.optional(
        &format!("SELECT {VERSION} FROM {VERSION_FROM} WHERE v.article_id = $1 AND v.version = $2"),
        (id, version),
    )
    .await
}

/// Every version of an article, newest first.
pub async fn versions(db: &Db, id: i64) -> Result<Vec<VersionRow>, sqlx::Error> {
    db.all(
        &format!(
            "SELECT {VERSION} FROM {VERSION_FROM} WHERE v.article_id = $1 ORDER BY v.version DESC"
        ),
        (id,),
    )
    .await
}

/// Starts the next version of an article not under review; false when it is under review or
/// someone else started one since `latest` was read.
pub async fn bump_version(
    tx: &mut Tx,
    id: i64,
    latest: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE article SET latest_version = latest_version + 1, status = 'draft', updated_at = $3 \
         WHERE id = $1 AND latest_version = $2 AND status <> 'in_review'",
        (id, latest, now),
    )
    .await
    .map(|n| n == 1)
}

/// Replaces the text of a draft version (edits before it is sent for review).
pub async fn update_version(
    tx: &mut Tx,
    (article, version): (i64, i64),
    a: &ValidArticle,
    editor: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE article_version SET title = $3, summary = $4, body = $5, conditions = $6, \
         department = $7, age_group = $8, regions = $9, season = $10, syndromes = $11, \
         edited_by = $12, created_at = $13 WHERE article_id = $1 AND version = $2",
        version_values((article, version), a, editor, now),
    )
    .await
    .map(|_| ())
}

/// Moves the latest version `version` from `from` to `to`; false when it is not there.
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    version: i64,
    from: &[ArticleStatus],
    to: ArticleStatus,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut q = Sql::new("UPDATE article SET status = ");
    q.bind(to.as_str()).push(", updated_at = ").bind(now);
    if to == ArticleStatus::Approved {
        // The approved version is what readers see from now on, withdrawn or not before.
        q.push(", published_version = latest_version, withdrawn_at = NULL, published_at = ")
            .bind(now);
    }
    q.push(" WHERE id = ").bind(id);
    q.push(" AND latest_version = ").bind(version);
    q.and_in("status", from.iter().map(|s| s.as_str()));
    let (text, params) = q.into_parts();
    tx.execute(&text, params).await.map(|n| n == 1)
}

pub async fn record_review(
    tx: &mut Tx,
    article: i64,
    version: i64,
    reviewer: i64,
    decision: Decision,
    note: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE article_version SET reviewed_by = $3, review_decision = $4, review_note = $5, \
         reviewed_at = $6 WHERE article_id = $1 AND version = $2",
        (article, version, reviewer, decision, note, now),
    )
    .await
    .map(|_| ())
}

/// Takes a published article off the feed; false when it was not on it.
pub async fn withdraw(tx: &mut Tx, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE article SET withdrawn_at = $2, updated_at = $2 \
         WHERE id = $1 AND withdrawn_at IS NULL AND published_version IS NOT NULL",
        (id, now),
    )
    .await
    .map(|n| n == 1)
}

/// A published article as the feed lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublishedRow {
    pub id: i64,
    pub hospital_id: i64,
    pub hospital: String,
    pub published_at: i64,
    #[sqlx(flatten)]
    pub version: VersionRow,
}

/// The newest published articles (at most `limit`), each at its published version.
pub async fn published(db: &Db, limit: i64) -> Result<Vec<PublishedRow>, sqlx::Error> {
    db.all(
        &format!(
            "SELECT a.id, a.hospital_id, h.name AS hospital, a.published_at, {VERSION} \
             FROM article a JOIN hospital h ON h.id = a.hospital_id \
             JOIN article_version v ON v.article_id = a.id AND v.version = a.published_version \
             {VERSION_PEOPLE} \
             WHERE a.published_version IS NOT NULL AND a.withdrawn_at IS NULL \
             ORDER BY a.published_at DESC, a.id DESC LIMIT $1"
        ),
        (limit,),
    )
    .await
}

/// An article on a hospital's editing desk: its latest version's title and step.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeskRow {
    pub id: i64,
    pub author_id: i64,
    pub author: String,
    pub status: ArticleStatus,
    pub latest_version: i64,
    pub published_version: Option<i64>,
    pub withdrawn_at: Option<i64>,
    pub title: String,
    pub updated_at: i64,
    pub reads: i64,
}

/// A hospital's articles, the most recently changed first.
pub async fn desk(db: &Db, hospital: i64, limit: i64) -> Result<Vec<DeskRow>, sqlx::Error> {
    db.all(
        "SELECT a.id, a.author_id, u.display_name AS author, a.status, a.latest_version, \
         a.published_version, a.withdrawn_at, v.title, a.updated_at, \
         (SELECT COUNT(*) FROM article_read r WHERE r.article_id = a.id) AS reads \
         FROM article a JOIN account u ON u.id = a.author_id \
         JOIN article_version v ON v.article_id = a.id AND v.version = a.latest_version \
         WHERE a.hospital_id = $1 ORDER BY a.updated_at DESC, a.id DESC LIMIT $2",
        (hospital, limit),
    )
    .await
}

/// Records that an account opened an article (the first time counts).
pub async fn mark_read(db: &Db, article: i64, account: i64, now: i64) -> Result<(), sqlx::Error> {
    db.execute(
        "INSERT INTO article_read (article_id, account_id, read_at) VALUES ($1, $2, $3) \
         ON CONFLICT (article_id, account_id) DO NOTHING",
        (article, account, now),
    )
    .await
    .map(|_| ())
}

pub async fn reads(db: &Db, article: i64) -> Result<i64, sqlx::Error> {
    db.scalar(
        "SELECT COUNT(*) FROM article_read WHERE article_id = $1",
        (article,),
    )
    .await
}

/// What the feed ranks a person by: where they are, when they were born, and every ICD-10
/// code they were diagnosed with (offline, in a follow-up visit, or on an uploaded record).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReaderRow {
    pub region: Option<String>,
    pub birth_date: String,
}

pub async fn reader(db: &Db, person: i64) -> Result<Option<ReaderRow>, sqlx::Error> {
    db.optional(
        "SELECT region, birth_date FROM person WHERE id = $1",
        (person,),
    )
    .await
}

pub async fn conditions(db: &Db, person: i64) -> Result<Vec<String>, sqlx::Error> {
    db.scalars(
        "SELECT icd10 FROM offline_diagnosis WHERE person_id = $1 \
         UNION SELECT condition_icd10 FROM consultation WHERE person_id = $1 AND condition_icd10 IS NOT NULL \
         UNION SELECT icd10 FROM prior_record WHERE person_id = $1 AND icd10 IS NOT NULL",
        (person,),
    )
    .await
}

/// Who a push reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceFilter {
    pub audience: Audience,
    /// The sender's hospital: for [`Audience::Hospital`], only patients seen there.
    pub hospital: i64,
    /// A region code prefix; empty for any.
    pub region: String,
    /// An ICD-10 code prefix; empty for any.
    pub condition: String,
}

/// How the audience query reaches each account's person.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Joined: for counting the whole audience, where a hash join over every person is right.
    Join,
    /// Looked up per account by primary key: for a batch of a few thousand accounts, where a
    /// planner that expects most persons to match would otherwise scan them all per batch.
    PerAccount,
}

/// `FROM … WHERE …` of the active patient accounts a push reaches (account `a`; `person` is
/// the SQL naming the account's person id).
fn audience(q: &mut Sql, f: &AudienceFilter, reach: Reach) {
    let person = match reach {
        Reach::Join => {
            q.push(" FROM account a JOIN person p ON p.id = a.person_id");
            "p.id"
        }
        Reach::PerAccount => {
            q.push(" FROM account a");
            "a.person_id"
        }
    };
    q.push(" WHERE a.role = 'patient' AND a.status = 'active'");
    if !f.region.is_empty() {
        match reach {
            Reach::Join => q.push(" AND p.region LIKE "),
            Reach::PerAccount => {
                q.push(" AND (SELECT p.region FROM person p WHERE p.id = a.person_id) LIKE ")
            }
        };
        q.bind(format!("{}%", f.region));
    }
    if !f.condition.is_empty() {
        let like = q.param(format!("{}%", f.condition));
        q.push(&format!(
            " AND (EXISTS (SELECT 1 FROM offline_diagnosis d WHERE d.person_id = {person} AND d.icd10 LIKE {like}) \
             OR EXISTS (SELECT 1 FROM consultation c WHERE c.person_id = {person} AND c.condition_icd10 LIKE {like}))"
        ));
    }
    if f.audience == Audience::Hospital {
        q.push(&format!(
            " AND EXISTS (SELECT 1 FROM care_link l WHERE l.person_id = {person} AND l.hospital_id = "
        ))
        .bind(f.hospital)
        .push(")");
    }
}

/// How many accounts a push would reach.
pub async fn audience_size(db: &Db, f: &AudienceFilter) -> Result<i64, sqlx::Error> {
    let mut q = Sql::new("SELECT COUNT(*)");
    audience(&mut q, f, Reach::Join);
    q.fetch_scalar(db).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushRow {
    pub id: i64,
    pub article_id: i64,
    pub sender_id: i64,
    pub hospital_id: i64,
    pub audience: Audience,
    pub region: String,
    pub condition: String,
    pub alert_id: Option<i64>,
    pub status: PushStatus,
    pub cursor: i64,
    pub recipients: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const PUSH: &str = "id, article_id, sender_id, hospital_id, audience, region, condition, alert_id, \
     status, cursor, recipients, created_at, finished_at";

impl PushRow {
    pub fn filter(&self) -> AudienceFilter {
        AudienceFilter {
            audience: self.audience,
            hospital: self.hospital_id,
            region: self.region.clone(),
            condition: self.condition.clone(),
        }
    }
}

pub struct NewPush<'a> {
    pub article: i64,
    pub sender: i64,
    pub filter: &'a AudienceFilter,
    pub alert: Option<i64>,
}

pub async fn insert_push(tx: &mut Tx, p: &NewPush<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO education_push (article_id, sender_id, hospital_id, audience, region, \
         condition, alert_id, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending', $8) \
         RETURNING id",
        (
            p.article,
            p.sender,
            p.filter.hospital,
            p.filter.audience,
            &p.filter.region,
            &p.filter.condition,
            p.alert,
            now,
        ),
    )
    .await
}

pub async fn push(db: &Db, id: i64) -> Result<Option<PushRow>, sqlx::Error> {
    db.optional(
        &format!("SELECT {PUSH} FROM education_push WHERE id = $1"),
        (id,),
    )
    .await
}

/// A push as its list shows it: the article's title and how many read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushListRow {
    #[sqlx(flatten)]
    pub push: PushRow,
    pub title: String,
    pub sender: String,
    /// How many recipients opened its notification.
    pub reads: i64,
}

/// The pushes a hospital's staff sent (or the one with `id`), newest first. A push's
/// notifications carry the cause `<cause_prefix><push id>`, which counts its reads.
pub async fn pushes(
    db: &Db,
    (hospital, id): (i64, Option<i64>),
    cause_prefix: &str,
    limit: i64,
) -> Result<Vec<PushListRow>, sqlx::Error> {
    db.all(
        "SELECT e.id, e.article_id, e.sender_id, e.hospital_id, e.audience, e.region, e.condition, \
         e.alert_id, e.status, e.cursor, e.recipients, e.created_at, e.finished_at, v.title, \
         s.display_name AS sender, \
         (SELECT COUNT(*) FROM notification n WHERE n.dedupe_key = $4 || CAST(e.id AS TEXT) \
          AND n.read_at IS NOT NULL) AS reads \
         FROM education_push e JOIN article a ON a.id = e.article_id \
         JOIN article_version v ON v.article_id = a.id AND v.version = a.latest_version \
         JOIN account s ON s.id = e.sender_id \
         WHERE e.hospital_id = $1 AND e.id = COALESCE($3, e.id) ORDER BY e.id DESC LIMIT $2",
        (hospital, limit, id, cause_prefix),
    )
    .await
}

/// The highest account id: where a push's fan-out stops (accounts opened after the push
/// are not in its audience).
pub async fn last_account(db: &Db) -> Result<i64, sqlx::Error> {
    db.scalar("SELECT COALESCE(MAX(id), 0) FROM account", ())
        .await
}

/// What every notification of one push says.
pub struct PushNotice<'a> {
    pub params: &'a str,
    pub link: &'a str,
    pub dedupe_key: &'a str,
}

/// The notifications of one push to its audience among the accounts with ids in `(after,
/// to]`, written in one statement; how many were new (a batch written twice adds none). The
/// batch is a range of account ids, not of matches: the range keeps the database on the
/// primary key, where "the next 5,000 who match" would make it scan the region's index.
pub async fn insert_push_notifications(
    tx: &mut Tx,
    f: &AudienceFilter,
    (after, to): (i64, i64),
    n: &PushNotice<'_>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut q = Sql::new(
        "INSERT INTO notification (account_id, event, params, link, urgent, dedupe_key, created_at) \
         SELECT a.id, 'education.push', ",
    );
    q.bind(n.params).push(", ").bind(n.link).push(", FALSE, ");
    q.bind(n.dedupe_key).push(", ").bind(now);
    audience(&mut q, f, Reach::PerAccount);
    q.push(" AND a.id > ").bind(after);
    q.push(" AND a.id <= ").bind(to);
    q.push(" ON CONFLICT (account_id, dedupe_key) DO NOTHING");
    let (text, params) = q.into_parts();
    tx.execute(&text, params).await
}

/// Moves a push's cursor past a batch; false when another worker moved it first.
pub async fn advance_push(
    tx: &mut Tx,
    id: i64,
    (cursor, to): (i64, i64),
    added: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE education_push SET cursor = $3, recipients = recipients + $4 \
         WHERE id = $1 AND cursor = $2 AND status = 'sending'",
        (id, cursor, to, added),
    )
    .await
    .map(|n| n == 1)
}

pub async fn finish_push(db: &Db, id: i64, now: i64) -> Result<(), sqlx::Error> {
    db.execute(
        "UPDATE education_push SET status = 'done', finished_at = $2 WHERE id = $1 AND status = 'sending'",
        (id, now),
    )
    .await
    .map(|_| ())
}

/// Lists an uploaded picture (again: the same picture uploaded twice is one).
pub async fn insert_image(
    db: &Db,
    key: &str,
    content_type: &str,
    (hospital, by): (i64, i64),
    now: i64,
) -> Result<(), sqlx::Error> {
    db.execute(
        "INSERT INTO article_image (blob_key, content_type, hospital_id, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (blob_key) DO NOTHING",
        (key, content_type, hospital, by, now),
    )
    .await
    .map(|_| ())
}

/// The type of an article picture, if the key names one.
pub async fn image_type(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    db.scalar_optional(
        "SELECT content_type FROM article_image WHERE blob_key = $1",
        (key,),
    )
    .await
}
