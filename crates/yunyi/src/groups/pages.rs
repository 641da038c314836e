//! Patient-group pages: the list (with the form to create one for doctors and nurses), a
//! group's page — joining, pinned announcements, live Q&A, the conversation with polls and
//! reports, and the moderators' forms — the members page and the moderation queue. Every form
//! works without script; with it, the conversation is live (`assets/group.js`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{CRISIS_LINES, Category, MemberStatus};
use super::model::{category, member_action, moderation, text_kind};
use super::service::{
    self, Access, GroupInput, GroupSummary, MemberView, MessageView, QaSessionInput, SessionView,
};
use super::store::FlagRow;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppForm, PathId, PathIds};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::web::PageCtx;
use crate::web::filters;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list).post(create))
        .route("/groups/{id}", get(group))
        .route("/groups/{id}/join", post(join))
        .route("/groups/{id}/leave", post(leave))
        .route("/groups/{id}/messages", post(post_message))
        .route("/groups/{id}/polls", post(post_poll))
        .route("/groups/{id}/sessions", post(schedule))
        .route("/groups/{id}/messages/{seq}/vote", post(vote))
        .route("/groups/{id}/messages/{seq}/report", post(report))
        .route("/groups/{id}/messages/{seq}/moderation", post(moderate))
        .route("/groups/{id}/members", get(members))
        .route("/groups/{id}/invitations", post(invite))
        .route("/groups/{id}/members/{member}", post(act_on_member))
        .route("/groups/{id}/moderation", get(queue))
        .route("/groups/words", get(words).post(save_words))
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: Option<String>,
    /// Why the message just posted was held (a category).
    #[serde(default)]
    held: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "groups.html")]
struct ListPage {
    page: PageCtx,
    mine: Vec<GroupSummary>,
    invited: Vec<GroupSummary>,
    others: Vec<GroupSummary>,
    /// Doctors and nurses create groups.
    may_create: bool,
    /// The hospital's staff see its screened words (its administrators change them).
    sees_words: bool,
    message: String,
}

async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<ListPage> {
    let all = service::list(&state, &actor).await?;
    let status = |g: &GroupSummary, s: MemberStatus| g.my_status.as_deref() == Some(s.as_str());
    let (mine, rest): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|g| status(g, MemberStatus::Active) || status(g, MemberStatus::Requested));
    let (invited, others) = rest
        .into_iter()
        .partition(|g| status(g, MemberStatus::Invited));
    Ok(ListPage {
        may_create: matches!(actor.role(), Some(Role::Doctor | Role::Nurse)),
        sees_words: matches!(
            actor.role(),
            Some(Role::Doctor | Role::Nurse | Role::HospitalAdmin)
        ),
        page: page.with_nav("groups"),
        mine,
        invited,
        others,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Deserialize, Default)]
struct GroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    condition: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    open: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<GroupForm>,
) -> AppResult<Redirect> {
    let input = GroupInput {
        name: form.name,
        description: form.description,
        condition: form.condition,
        open: form.open.is_some(),
    };
    match service::create(&state, &actor, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/groups/{id}"))),
        Err(e) => page.redirect_outcome("/groups", Err(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "group.html")]
struct GroupPage {
    page: PageCtx,
    g: GroupSummary,
    /// The reader's active membership id (their messages carry it), or 0.
    me: i64,
    moderator: bool,
    /// Doctors among the hosts and moderators (for scheduling a Q&A), as (member, name).
    doctors: Vec<(i64, String)>,
    pinned: Vec<MessageView>,
    sessions: Vec<SessionView>,
    messages: Vec<MessageView>,
    last: i64,
    open_flags: i64,
    message: String,
    held: String,
    crisis: &'static [(&'static str, &'static str, &'static str)],
}

impl GroupPage {
    fn status_is(&self, s: &str) -> bool {
        self.g.my_status.as_deref() == Some(s)
    }
    fn patient(&self) -> bool {
        self.page.is_patient()
    }
    fn role_label(&self, role: &str) -> &'static str {
        self.page.t(&format!("group.role.{role}"))
    }
    fn held_text(&self) -> &'static str {
        self.page.t(&format!("group.held.{}", self.held))
    }
    fn chosen(&self, p: &service::PollView, index: &usize) -> bool {
        p.mine == Some(*index as i64)
    }
    fn percent(&self, votes: &i64, p: &service::PollView) -> i64 {
        let total: i64 = p.options.iter().map(|o| o.votes).sum();
        if total == 0 { 0 } else { votes * 100 / total }
    }
}

async fn group(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<GroupPage> {
    let (g, a) = service::get(&state, &actor, id).await?;
    let (messages, pinned) = if a.reads() {
        (
            service::messages(&state, &a, None).await?,
            service::pinned(&state, &a).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let open_flags = service::open_flag_count(&state, &a).await?;
    let doctors = service::session_doctors(&state, &a).await?;
    Ok(GroupPage {
        me: a.active().map_or(0, |m| m.id),
        moderator: a.moderator,
        doctors,
        last: messages.last().map_or(0, |m| m.seq),
        sessions: service::sessions(&state, &a).await?,
        page: page.with_nav("groups"),
        g,
        pinned,
        messages,
        open_flags,
        message: q.message.unwrap_or_default(),
        held: q.held.unwrap_or_default(),
        crisis: CRISIS_LINES,
    })
}

#[derive(Deserialize, Default)]
struct JoinForm {
    #[serde(default)]
    nickname: String,
}

async fn join(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<JoinForm>,
) -> AppResult<Redirect> {
    let result = service::join(&state, &actor, id, &form.nickname).await;
    page.redirect_outcome(&format!("/groups/{id}"), result.map(|_| ()))
}

async fn leave(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = service::leave(&state, &actor, id).await;
    page.redirect_outcome("/groups", result)
}

#[derive(Deserialize, Default)]
struct MessageForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    kind: Option<String>,
}

async fn post_message(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<MessageForm>,
) -> AppResult<Redirect> {
    let path = format!("/groups/{id}");
    let posted = match text_kind(form.kind.as_deref()) {
        Ok(kind) => service::post_text(&state, &actor, id, kind, &form.text).await,
        Err(e) => Err(e),
    };
    match posted {
        Ok(p) => Ok(Redirect::to(&match p.category {
            Some(c) => format!("{path}?held={c}#composer"),
            None => format!("{path}#composer"),
        })),
        Err(e) => page.redirect_outcome(&path, Err(e)),
    }
}

#[derive(Deserialize, Default)]
struct PollForm {
    #[serde(default)]
    question: String,
    #[serde(default)]
    option1: String,
    #[serde(default)]
    option2: String,
    #[serde(default)]
    option3: String,
    #[serde(default)]
    option4: String,
}

async fn post_poll(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<PollForm>,
) -> AppResult<Redirect> {
    let options = [form.option1, form.option2, form.option3, form.option4];
    let result = match service::access(&state, &actor, id).await {
        Ok(a) => service::post_poll(&state, &actor, &a, &form.question, &options)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    page.redirect_outcome(&format!("/groups/{id}"), result)
}

#[derive(Deserialize, Default)]
struct SessionForm {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    doctor_member: Option<i64>,
}

async fn schedule(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<SessionForm>,
) -> AppResult<Redirect> {
    let input = QaSessionInput {
        topic: form.topic,
        starts_at: form.starts_at,
        minutes: form.minutes.unwrap_or(60),
        doctor_member: form.doctor_member,
    };
    let result = service::schedule(&state, &actor, id, &input).await;
    page.redirect_outcome(&format!("/groups/{id}"), result.map(|_| ()))
}

#[derive(Deserialize, Default)]
struct VoteForm {
    #[serde(default)]
    choice: Option<i64>,
}

async fn vote(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathIds(id, seq): PathIds,
    AppForm(form): AppForm<VoteForm>,
) -> AppResult<Redirect> {
    let result = match form.choice {
        Some(choice) => service::vote(&state, &actor, id, seq, choice)
            .await
            .map(|_| ()),
        None => Err(AppError::required("choice")),
    };
    page.redirect_outcome(&format!("/groups/{id}"), result)
}

#[derive(Deserialize, Default)]
struct ReportForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    note: String,
}

async fn report(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathIds(id, seq): PathIds,
    AppForm(form): AppForm<ReportForm>,
) -> AppResult<Redirect> {
    let result = match category(&form.category) {
        Ok(c) => service::report(&state, &actor, id, seq, c, &form.note).await,
        Err(e) => Err(e),
    };
    page.redirect_outcome(&format!("/groups/{id}"), result)
}

#[derive(Deserialize, Default)]
struct ModerationForm {
    #[serde(default)]
    action: String,
    /// Where to go back to: the queue or the group.
    #[serde(default)]
    back: Option<String>,
}

async fn moderate(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathIds(id, seq): PathIds,
    AppForm(form): AppForm<ModerationForm>,
) -> AppResult<Redirect> {
    let result = match moderation(&form.action) {
        Ok(action) => service::moderate(&state, &actor, id, seq, action).await,
        Err(e) => Err(e),
    };
    let back = match form.back.as_deref() {
        Some("queue") => format!("/groups/{id}/moderation"),
        _ => format!("/groups/{id}"),
    };
    page.redirect_outcome(&back, result)
}

#[derive(Template, WebTemplate)]
#[template(path = "group_members.html")]
struct MembersPage {
    page: PageCtx,
    g: GroupSummary,
    moderator: bool,
    host: bool,
    members: Vec<MemberView>,
    message: String,
}

async fn members(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<MembersPage> {
    let (g, a) = service::get(&state, &actor, id).await?;
    let members = service::members(&state, &actor, id).await?;
    Ok(MembersPage {
        page: page.with_nav("groups"),
        g,
        moderator: a.moderator,
        host: host_or_admin(&a),
        members,
        message: q.message.unwrap_or_default(),
    })
}

/// Acts on moderators too: the host, or the hospital's administrator (who has no membership).
fn host_or_admin(a: &Access) -> bool {
    a.host() || (a.moderator && a.active().is_none())
}

#[derive(Deserialize, Default)]
struct InviteForm {
    #[serde(default)]
    who: String,
}

async fn invite(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<InviteForm>,
) -> AppResult<Redirect> {
    let result = service::invite(&state, &actor, id, &form.who).await;
    page.redirect_outcome(&format!("/groups/{id}/members"), result.map(|_| ()))
}

#[derive(Deserialize, Default)]
struct MemberForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    hours: Option<i64>,
}

async fn act_on_member(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathIds(id, member): PathIds,
    AppForm(form): AppForm<MemberForm>,
) -> AppResult<Redirect> {
    let result = match member_action(&form.action) {
        Ok(action) => service::act_on_member(&state, &actor, id, member, action, form.hours).await,
        Err(e) => Err(e),
    };
    page.redirect_outcome(&format!("/groups/{id}/members"), result)
}

#[derive(Template, WebTemplate)]
#[template(path = "group_moderation.html")]
struct QueuePage {
    page: PageCtx,
    g: GroupSummary,
    flags: Vec<FlagRow>,
    message: String,
}

async fn queue(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<QueuePage> {
    let flags = service::queue(&state, &actor, id).await?;
    let (g, _) = service::get(&state, &actor, id).await?;
    Ok(QueuePage {
        page: page.with_nav("groups"),
        g,
        flags,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Deserialize, Default)]
struct WordsQuery {
    /// Which hospital's words; the signed-in staff member's own by default.
    hospital: Option<i64>,
    message: Option<String>,
}

/// One category's words, a word a line.
struct WordList {
    category: &'static str,
    text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "group_words.html")]
struct WordsPage {
    page: PageCtx,
    hospital: i64,
    can_edit: bool,
    lists: Vec<WordList>,
    message: String,
    /// What was wrong with the list just sent, word by word (it is shown again as typed).
    errors: Vec<String>,
}

fn words_page(
    page: PageCtx,
    own: &service::OwnWords,
    lists: Vec<WordList>,
    message: String,
    errors: Vec<String>,
) -> WordsPage {
    WordsPage {
        page: page.with_nav("groups"),
        hospital: own.hospital,
        can_edit: own.may_change,
        lists,
        message,
        errors,
    }
}

async fn words(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<WordsQuery>,
) -> AppResult<WordsPage> {
    let own = service::own_words(&state, &actor, q.hospital).await?;
    let lists = super::model::screened_categories()
        .map(|c| WordList {
            category: c.as_str(),
            text: own
                .words
                .iter()
                .filter(|w| w.category == c)
                .map(|w| w.word.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect();
    let message = q.message.unwrap_or_default();
    Ok(words_page(page, &own, lists, message, Vec::new()))
}

#[derive(Deserialize, Default)]
struct WordsForm {
    #[serde(default)]
    self_harm: String,
    #[serde(default)]
    drug_sales: String,
    #[serde(default)]
    advertising: String,
    #[serde(default)]
    contact: String,
}

async fn save_words(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<WordsQuery>,
    AppForm(form): AppForm<WordsForm>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let typed = [
        (Category::SelfHarm, form.self_harm),
        (Category::DrugSales, form.drug_sales),
        (Category::Advertising, form.advertising),
        (Category::Contact, form.contact),
    ];
    let input: Vec<(String, String)> = typed
        .iter()
        .flat_map(|(c, text)| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| (c.as_str().to_owned(), l.to_owned()))
        })
        .collect();
    match service::set_own_words(&state, &actor, q.hospital, Some(&input)).await {
        Ok(saved) => {
            let hospital = saved.hospital;
            let to = format!("/groups/words?hospital={hospital}&message=ok");
            Ok(Redirect::to(&to).into_response())
        }
        Err(AppError::Validation(fields)) => {
            // Each error shown with the word it is about, the list kept as typed.
            let errors = fields
                .iter()
                .map(|f| {
                    let word = f
                        .field
                        .strip_prefix("words[")
                        .and_then(|rest| rest.split(']').next())
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| input.get(i));
                    match word {
                        Some((_, w)) => format!("{w} — {}", page.message_of(f)),
                        None => page.message_of(f),
                    }
                })
                .collect();
            let lists = typed
                .into_iter()
                .map(|(c, text)| WordList {
                    category: c.as_str(),
                    text,
                })
                .collect();
            // Only someone who may change the words gets this far; the page shows them anew.
            let own = service::own_words(&state, &actor, q.hospital).await?;
            let page = words_page(page, &own, lists, String::new(), errors);
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e),
    }
}
