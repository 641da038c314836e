//! Identity proofing for people already on record (issue #30).
//!
//! A name and an identity number are no secret: they are printed on cards, forms and
//! prescriptions. So knowing them must never be enough to act for someone. When a patient adds
//! a family member, or registers, with the number of a person Yunyi already knows, nothing is
//! linked; a **claim** is opened instead, and it is proven by one of:
//! - the **holder's approval**: the person's own account, else their guardians of record, else
//!   the other accounts that act for them, approve it in Yunyi;
//! - the **code** sent by SMS to the holders' phones, which a holder tells the claimant;
//! - **hospital staff at a counter** (nurses, administrators: the front desk) who have checked
//!   the claimant's papers; the document type is recorded.
//!
//! Until then the claimant sees nothing of the person. Every answer is the same whether the
//! name matches the number or not: a claim whose name differs from the record is stored, looks
//! pending to the claimant, is shown to nobody and can never be approved.

use serde::{Deserialize, Serialize};

use super::actor::Actor;
use super::claim_store::{self as store, ClaimRow, NewClaim};
use super::model::{Phone, Relationship, Role};
use super::notify::Message;
use super::store as identity_store;
use crate::app::AppState;
use crate::audit::{self, NewEvent, Outcome};
use crate::crypto;
use crate::db::{Tx, is_unique_violation};
use crate::error::{AppError, AppResult, Reason};
use crate::web::i18n::Lang;

/// A claim waits this long for its proof.
pub const CLAIM_TTL_MS: i64 = 72 * 3_600_000;
/// Tries of a claim's code before the code stops working (approval still can).
pub const CODE_ATTEMPTS: i64 = 5;
/// Claims one account may have waiting at once: each sends messages to strangers' phones.
pub const MAX_LIVE_CLAIMS: i64 = 5;

/// Papers a front desk accepts as proof, as recorded in the audit trail.
pub const DOCUMENT_TYPES: [&str; 5] = [
    "resident_id_card",
    "household_register",
    "birth_certificate",
    "passport",
    "travel_permit",
];

/// What the claimant asked for.
pub enum Wanted<'a> {
    /// To add the person as a family member.
    Family {
        relationship: Relationship,
        guardian: bool,
    },
    /// That the claimant's new account be the person's own.
    Account { phone: &'a Phone },
}

/// Opens a claim in the caller's transaction (answers the same whatever the name) and returns
/// its id and, when the name matched, the message for the holders, to send after the commit.
pub(super) async fn open(
    state: &AppState,
    tx: &mut Tx,
    actor: &Actor,
    claimant: i64,
    person: &identity_store::PersonRow,
    claimed_name: &str,
    wanted: &Wanted<'_>,
) -> AppResult<(i64, Option<PendingNotice>)> {
    let now = state.now_ms();
    let name_matches = person.name == claimed_name;
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let code_hash = code_hash(state, claimant, person.id, &code);
    let (kind, relationship, guardian) = match wanted {
        Wanted::Family {
            relationship,
            guardian,
        } => ("family", Some(relationship.as_str()), *guardian),
        Wanted::Account { .. } => ("account", None, false),
    };
    let id = store::insert(
        tx,
        &NewClaim {
            kind,
            claimant_id: claimant,
            person_id: person.id,
            claimed_name,
            relationship,
            guardian,
            name_matches,
            // A claim that can never be approved has no code to guess either.
            code_hash: name_matches.then_some(code_hash.as_str()),
            expires_at: now + CLAIM_TTL_MS,
        },
        now,
    )
    .await?;
    audit::append(
        tx,
        &NewEvent::new(actor.audit(), "identity_claim.open", "identity_claim")
            .object(id)
            .patient(person.id)
            .reason(if name_matches {
                kind.to_owned()
            } else {
                format!("{kind}; the name differs from the record")
            }),
    )
    .await?;
    let notice = name_matches.then(|| PendingNotice {
        person: person.id,
        text: notice_text(person, wanted, &code),
    });
    Ok((id, notice))
}

/// The holders' message about a new claim, sent once the claim is committed.
pub struct PendingNotice {
    person: i64,
    text: String,
}

fn notice_text(person: &identity_store::PersonRow, wanted: &Wanted<'_>, code: &str) -> String {
    match wanted {
        Wanted::Family { relationship, .. } => format!(
            "【云医】有人申请把“{}”添加为家庭成员（关系：{}）。如同意，请在云医“我的”页面确认，或把验证码 {code} 告诉对方；如不认识对方，请拒绝。72 小时内有效。",
            person.name,
            Lang::Zh.t(&format!("rel.{}", relationship.as_str())),
        ),
        Wanted::Account { phone } => format!(
            "【云医】有人以“{}”的身份注册云医账号（手机 {}）。如确为本人，请在云医“我的”页面确认，或把验证码 {code} 告诉对方；否则请拒绝。72 小时内有效。",
            person.name,
            phone.masked(),
        ),
    }
}

/// Sends the notice to every holder with a phone. A failure is logged: the holders still find
/// the claim in Yunyi, and a counter can verify it.
pub(super) async fn send_notice(state: &AppState, notice: PendingNotice) {
    let holders = match holders(state, notice.person).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "claim holders could not be read");
            return;
        }
    };
    for holder in holders {
        let Some(enc) = holder.phone_enc else {
            continue;
        };
        let phone = match state.keys.decrypt(&enc).map(|p| Phone::parse(&p)) {
            Ok(Ok(phone)) => phone,
            _ => {
                tracing::warn!(account = holder.account, "a holder's phone cannot be read");
                continue;
            }
        };
        let message = Message {
            to: phone,
            kind: "identity.claim",
            text: notice.text.clone(),
            params: Default::default(),
        };
        if let Err(e) = state.notifier.send(&message).await {
            tracing::warn!(error = %e, "claim notice not sent");
        }
    }
}

fn code_hash(state: &AppState, claimant: i64, person: i64, code: &str) -> String {
    state
        .keys
        .lookup_hash("identity_claim", &format!("{claimant}:{person}:{code}"))
}

struct Holder {
    account: i64,
    phone_enc: Option<Vec<u8>>,
}

/// Who may approve a claim on a person: their own account; without one, their guardians of
/// record; without guardians, every account that acts for them.
async fn holders(state: &AppState, person: i64) -> AppResult<Vec<Holder>> {
    if let Some((account, phone_enc)) = store::own_account(&state.db, person).await? {
        return Ok(vec![Holder { account, phone_enc }]);
    }
    let family = store::family_holders(&state.db, person).await?;
    let any_guardian = family.iter().any(|(_, guardian, _)| *guardian);
    Ok(family
        .into_iter()
        .filter(|(_, guardian, _)| *guardian || !any_guardian)
        .map(|(account, _, phone_enc)| Holder { account, phone_enc })
        .collect())
}

/// A claim as the claimant, a holder or the front desk sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimView {
    pub id: i64,
    pub kind: String,
    /// pending, approved, rejected or expired.
    pub status: String,
    /// The name as the claimant typed it.
    pub name: String,
    pub relationship: Option<String>,
    pub guardian: bool,
    pub created_at: i64,
    pub expires_at: i64,
    /// Who asked (for holders and the front desk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimant_phone: Option<String>,
}

fn status_of(c: &ClaimRow, now: i64) -> &str {
    if c.status == "pending" && c.expires_at <= now {
        "expired"
    } else {
        &c.status
    }
}

fn view(c: &ClaimRow, now: i64) -> ClaimView {
    ClaimView {
        id: c.id,
        kind: c.kind.clone(),
        status: status_of(c, now).to_owned(),
        name: c.claimed_name.clone(),
        relationship: c.relationship.clone(),
        guardian: c.guardian,
        created_at: c.created_at,
        expires_at: c.expires_at,
        claimant: None,
        claimant_phone: None,
    }
}

async fn with_claimant(state: &AppState, c: &ClaimRow, now: i64) -> AppResult<ClaimView> {
    let mut v = view(c, now);
    if let Some(a) = identity_store::account(&state.db, c.claimant_id).await? {
        v.claimant = Some(a.display_name);
        v.claimant_phone = a.phone_mask;
    }
    Ok(v)
}

/// My claims, and the claims waiting for my decision.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Claims {
    pub mine: Vec<ClaimView>,
    pub to_decide: Vec<ClaimView>,
}

pub async fn mine(state: &AppState, actor: &Actor) -> AppResult<Claims> {
    let me = actor.require()?;
    let now = state.now_ms();
    if me.role != Role::Patient {
        return Ok(Claims {
            mine: Vec::new(),
            to_decide: Vec::new(),
        });
    }
    let mine = store::by_claimant(&state.db, me.account_id)
        .await?
        .iter()
        .map(|c| view(c, now))
        .collect();
    let people = store::people_held_by(&state.db, me.account_id).await?;
    let mut to_decide = Vec::new();
    for c in store::live_on(&state.db, &people, now).await? {
        if c.claimant_id != me.account_id && is_holder(state, me.account_id, c.person_id).await? {
            to_decide.push(with_claimant(state, &c, now).await?);
        }
    }
    Ok(Claims { mine, to_decide })
}

async fn is_holder(state: &AppState, account: i64, person: i64) -> AppResult<bool> {
    Ok(holders(state, person)
        .await?
        .iter()
        .any(|h| h.account == account))
}

fn no_claim(id: i64) -> AppError {
    AppError::NotFound(format!("no identity claim with id {id}"))
}

async fn claim_or_404(state: &AppState, id: i64) -> AppResult<ClaimRow> {
    store::claim(&state.db, id)
        .await?
        .ok_or_else(|| no_claim(id))
}

async fn denied(
    state: &AppState,
    actor: &Actor,
    action: &str,
    c: &ClaimRow,
    why: &str,
) -> AppError {
    if let Err(e) = super::service::deny(
        state,
        actor,
        action,
        "identity_claim",
        Some(c.id.to_string()),
        Some(c.person_id),
        why,
    )
    .await
    {
        return e;
    }
    no_claim(c.id)
}

/// A holder approves (`approve = true`) or rejects a claim on a person they hold.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    id: i64,
    approve: bool,
) -> AppResult<ClaimView> {
    let me = actor.require()?;
    let c = claim_or_404(state, id).await?;
    let action = if approve {
        "identity_claim.approve"
    } else {
        "identity_claim.reject"
    };
    // A claim with a wrong name is shown to nobody: to a holder it does not exist.
    if me.role != Role::Patient
        || c.claimant_id == me.account_id
        || !c.name_matches
        || !is_holder(state, me.account_id, c.person_id).await?
    {
        return Err(denied(state, actor, action, &c, "not a holder of the person").await);
    }
    let how = "holder";
    if approve {
        grant(state, actor, &c, Some(me.account_id), how).await?;
    } else {
        refuse(state, actor, &c, Some(me.account_id), how).await?;
    }
    let c = claim_or_404(state, id).await?;
    Ok(view(&c, state.now_ms()))
}

/// The claimant enters the code a holder told them.
pub async fn enter_code(
    state: &AppState,
    actor: &Actor,
    id: i64,
    code: &str,
) -> AppResult<ClaimView> {
    let me = actor.require()?;
    let c = claim_or_404(state, id).await?;
    if c.claimant_id != me.account_id {
        return Err(denied(state, actor, "identity_claim.code", &c, "not the claimant").await);
    }
    let now = state.now_ms();
    let wrong = || AppError::invalid("code", "is wrong, or no longer valid");
    if status_of(&c, now) != "pending" {
        return Err(AppError::wrong_state(format!(
            "this request is {}",
            status_of(&c, now)
        )));
    }
    if !store::count_attempt(&state.db, c.id, CODE_ATTEMPTS, now).await? {
        return Err(AppError::refused(
            Reason::TooManyAttempts,
            format!(
                "the code was entered wrongly {CODE_ATTEMPTS} times; ask the person to approve in Yunyi, or go to a hospital counter with your papers"
            ),
        ));
    }
    let given = code_hash(state, c.claimant_id, c.person_id, code.trim());
    let right = c
        .code_hash
        .as_deref()
        .is_some_and(|h| crypto::constant_time_eq(h, &given));
    if !right {
        audit::record(
            &state.db,
            &NewEvent::new(actor.audit(), "identity_claim.code", "identity_claim")
                .object(c.id)
                .patient(c.person_id)
                .outcome(Outcome::Failure),
        )
        .await?;
        return Err(wrong());
    }
    grant(state, actor, &c, Some(me.account_id), "code").await?;
    let c = claim_or_404(state, id).await?;
    Ok(view(&c, state.now_ms()))
}

/// The front desk's view of a claim the claimant shows them: who asked, for whom (the record's
/// name and masked number, to compare with the papers), and whether the names agree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CounterView {
    pub claim: ClaimView,
    pub person_name: String,
    pub person_id_number: String,
    pub person_birth_date: String,
    pub name_matches: bool,
    pub document_types: [&'static str; 5],
}

/// The front desk's own page: nurses and hospital administrators; anyone else is refused,
/// audited.
pub async fn front_desk(state: &AppState, actor: &Actor) -> AppResult<()> {
    if let Err(e) = require_front_desk(actor) {
        super::service::deny(
            state,
            actor,
            "identity_claim.list",
            "identity_claim",
            None,
            None,
            "not front desk",
        )
        .await?;
        return Err(e);
    }
    Ok(())
}

fn require_front_desk(actor: &Actor) -> AppResult<()> {
    let me = actor.require()?;
    if matches!(me.role, Role::Nurse | Role::HospitalAdmin) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "identity papers are checked by a hospital's front desk (nurses, administrators)"
                .to_owned(),
        ))
    }
}

pub async fn counter_view(state: &AppState, actor: &Actor, id: i64) -> AppResult<CounterView> {
    let c = claim_or_404(state, id).await?;
    if let Err(e) = require_front_desk(actor) {
        let _ = denied(state, actor, "identity_claim.read", &c, "not front desk").await;
        return Err(e);
    }
    let person = identity_store::person(&state.db, c.person_id)
        .await?
        .ok_or_else(|| no_claim(id))?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "identity_claim.read", "identity_claim")
            .object(c.id)
            .patient(c.person_id)
            .reason("front desk, checking papers"),
    )
    .await?;
    Ok(CounterView {
        claim: with_claimant(state, &c, state.now_ms()).await?,
        person_name: person.name,
        person_id_number: person.id_number_mask,
        person_birth_date: person.birth_date,
        name_matches: c.name_matches,
        document_types: DOCUMENT_TYPES,
    })
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CounterCheck {
    #[serde(default)]
    pub document_type: String,
}

/// The front desk has checked the claimant's papers and approves the claim.
pub async fn verify_at_counter(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &CounterCheck,
) -> AppResult<ClaimView> {
    let me = actor.require()?;
    let c = claim_or_404(state, id).await?;
    if let Err(e) = require_front_desk(actor) {
        let _ = denied(state, actor, "identity_claim.verify", &c, "not front desk").await;
        return Err(e);
    }
    if !DOCUMENT_TYPES.contains(&input.document_type.as_str()) {
        return Err(AppError::invalid(
            "document_type",
            format!("must be one of {}", DOCUMENT_TYPES.join(", ")),
        ));
    }
    if !c.name_matches {
        return Err(AppError::refused(
            Reason::NameMismatch,
            "the name given does not match the record: the claimant makes a new request with the name on their papers",
        ));
    }
    let how = format!("counter:{}", input.document_type);
    grant(state, actor, &c, Some(me.account_id), &how).await?;
    let c = claim_or_404(state, id).await?;
    Ok(view(&c, state.now_ms()))
}

/// Moves a pending claim to its decision, or says why it cannot be (decided or expired).
async fn settle(
    tx: &mut Tx,
    c: &ClaimRow,
    status: &str,
    by: Option<i64>,
    how: &str,
    now: i64,
) -> AppResult<()> {
    if store::decide(tx, c.id, status, by, how, now).await? {
        Ok(())
    } else {
        Err(AppError::wrong_state(format!(
            "this request is {} already",
            status_of(c, now)
        )))
    }
}

/// Approves a claim and makes its link, in one transaction.
async fn grant(
    state: &AppState,
    actor: &Actor,
    c: &ClaimRow,
    by: Option<i64>,
    how: &str,
) -> AppResult<()> {
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    settle(&mut tx, c, "approved", by, how, now).await?;
    match c.kind.as_str() {
        "family" => {
            match identity_store::insert_family_link(
                &mut tx,
                c.claimant_id,
                c.person_id,
                c.relationship.as_deref().unwrap_or("other"),
                c.guardian,
                now,
            )
            .await
            {
                Ok(_) => {}
                // Linked meanwhile by another proven claim: the link is what was asked for.
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        _ => {
            let given = match store::give_person(&mut tx, c.claimant_id, c.person_id).await {
                Ok(given) => given,
                Err(e) if is_unique_violation(&e) => false,
                Err(e) => return Err(e.into()),
            };
            if !given {
                return Err(AppError::refused(
                    Reason::AccountExists,
                    "this person has an account of their own already",
                ));
            }
        }
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "identity_claim.approve", "identity_claim")
            .object(c.id)
            .patient(c.person_id)
            .reason(format!("{} proven by {how}", c.kind)),
    )
    .await?;
    tx.commit().await?;
    // The claimant's sessions carry their person: read them afresh.
    let claimant = c.claimant_id;
    state
        .sessions
        .forget_where(|_, row| row.account_id == claimant);
    Ok(())
}

async fn refuse(
    state: &AppState,
    actor: &Actor,
    c: &ClaimRow,
    by: Option<i64>,
    how: &str,
) -> AppResult<()> {
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    settle(&mut tx, c, "rejected", by, how, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "identity_claim.reject", "identity_claim")
            .object(c.id)
            .patient(c.person_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The claimant's live claim on this person, if they asked before (no second message), and
/// the limit on claims waiting at once.
pub(super) async fn before_opening(
    state: &AppState,
    claimant: i64,
    person: i64,
) -> AppResult<Option<i64>> {
    let now = state.now_ms();
    if let Some(c) = store::live_for(&state.db, claimant, person, now).await? {
        return Ok(Some(c.id));
    }
    if store::live_count(&state.db, claimant, now).await? >= MAX_LIVE_CLAIMS {
        return Err(AppError::TooManyRequests {
            message: format!(
                "{MAX_LIVE_CLAIMS} requests are waiting for confirmation already; wait for them to be answered or to expire"
            ),
            retry_after_secs: 3600,
        });
    }
    Ok(None)
}
