//! Writing notifications in the caller's transaction, and the inbox a person reads.

use std::collections::BTreeMap;

use serde::Serialize;

use super::deliver::Deliver;
use super::model::{Channel, Event, Notice, Topic};
use super::store::{self, NewNotification, NotificationRow, PreferenceRow};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::db::Tx;
use crate::error::AppResult;
use crate::identity::actor::Actor;
use crate::jobs::{self, NewJob};
use crate::paging::{Page, PageRequest};
use crate::web::i18n::Lang;

/// Writes a notification in the caller's transaction and queues its delivery, so a person is
/// told if and only if the change was committed. A cause already reported to this account is
/// not reported again.
pub async fn notify(tx: &mut Tx, notice: &Notice, now: i64) -> Result<(), sqlx::Error> {
    // A map of strings always serializes.
    let params = serde_json::to_string(&notice.params).unwrap_or_else(|_| "{}".to_owned());
    let dedupe_key = notice.dedupe_key();
    let new = NewNotification {
        account_id: notice.account_id,
        event: notice.event,
        params: &params,
        link: notice.link.as_deref(),
        urgent: notice.event.urgent(),
        dedupe_key: &dedupe_key,
    };
    let Some(id) = store::insert(tx, &new, now).await? else {
        return Ok(());
    };
    // An inbox-only event has no channel to deliver by; its job still rings the bell.
    if !notice.event.inbox_only() {
        for channel in Channel::ALL {
            store::insert_delivery(tx, id, channel, notice.account_id, now).await?;
        }
    }
    jobs::enqueue(
        tx,
        &NewJob::of(&Deliver {
            notification_id: id,
        })
        .dedupe_key(format!("{}:{id}", super::deliver::KIND))
        .run_at(now),
    )
    .await?;
    Ok(())
}

/// A notification as its reader sees it, in their language.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub event: String,
    pub title: String,
    pub body: String,
    /// Where it takes its reader: a path in this application.
    pub link: Option<String>,
    pub urgent: bool,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// The title and body of a notification in `lang`.
pub fn render(lang: Lang, event: Event, params: &str) -> (String, String) {
    let params: BTreeMap<String, String> = serde_json::from_str(params).unwrap_or_default();
    let args: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), named(lang, k, v).unwrap_or(v.as_str())))
        .collect();
    (
        lang.t_with(&event.key("title"), &args),
        lang.t_with(&event.key("body"), &args),
    )
}

/// Parameters stored as codes and the catalogue prefix of their names, so a reader sees
/// "呼吸道（流感样）", not `respiratory` (stored notices keep the code: the name follows the
/// reader's language).
const NAMED_PARAMS: [(&str, &str); 3] = [
    ("syndrome", "epi.syndrome."),
    ("step", "teleconsult.status."),
    ("urgency", "teleconsult.urgency."),
];

/// A coded parameter's name in `lang`, if it is one and the catalogue knows the code.
fn named(lang: Lang, key: &str, code: &str) -> Option<&'static str> {
    let (_, prefix) = NAMED_PARAMS.iter().find(|(k, _)| *k == key)?;
    lang.lookup(&format!("{prefix}{code}"))
}

pub fn view(lang: Lang, row: &NotificationRow) -> NotificationView {
    let (title, body) = render(lang, row.event, &row.params);
    NotificationView {
        id: row.id,
        event: row.event.as_str().to_owned(),
        title,
        body,
        link: row.link.clone(),
        urgent: row.urgent,
        created_at: row.created_at,
        read_at: row.read_at,
    }
}

/// The signed-in person's notifications, newest first (`after` is the last id of the previous
/// page). Audited when there is anything to see: notices speak of appointments and
/// prescriptions.
pub async fn inbox(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    page: &PageRequest,
) -> AppResult<Page<NotificationView>> {
    let me = actor.require()?;
    let rows = store::list(&state.db, me.account_id, page.after, page.fetch_limit()).await?;
    if !rows.is_empty() {
        audit::record(
            &state.db,
            &NewEvent::new(actor.audit(), "notification.list", "notification")
                .patient_opt(me.person_id)
                .reason("own inbox"),
        )
        .await?;
    }
    let views = rows.iter().map(|r| view(lang, r)).collect();
    Ok(Page::from_rows(views, page, |v: &NotificationView| v.id))
}

/// A notification with what became of it on each channel.
pub struct Sent {
    pub view: NotificationView,
    pub deliveries: Vec<store::DeliveryRow>,
}

/// The signed-in person's notifications (one by id, or the newest `limit`) with their
/// deliveries, for FHIR. Someone else's notification is not found; reading is audited as the
/// inbox is.
pub async fn sent(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    (id, limit): (Option<i64>, i64),
) -> AppResult<Vec<Sent>> {
    let me = actor.require()?;
    let rows = match id {
        Some(id) => store::get(&state.db, id)
            .await?
            .filter(|r| r.account_id == me.account_id)
            .into_iter()
            .collect(),
        None => store::list(&state.db, me.account_id, None, limit).await?,
    };
    if !rows.is_empty() {
        audit::record(
            &state.db,
            &NewEvent::new(actor.audit(), "notification.list", "notification")
                .patient_opt(me.person_id)
                .reason("own inbox (FHIR)"),
        )
        .await?;
    }
    let (lo, hi) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| {
        (lo.min(r.id), hi.max(r.id))
    });
    let mut by_notification: std::collections::HashMap<i64, Vec<store::DeliveryRow>> =
        std::collections::HashMap::new();
    if !rows.is_empty() {
        for (id, d) in store::deliveries_between(&state.db, me.account_id, (lo, hi)).await? {
            by_notification.entry(id).or_default().push(d);
        }
    }
    Ok(rows
        .iter()
        .map(|r| Sent {
            view: view(lang, r),
            deliveries: by_notification.remove(&r.id).unwrap_or_default(),
        })
        .collect())
}

/// How many of the signed-in person's notifications are unread.
pub async fn unread(state: &AppState, actor: &Actor) -> AppResult<i64> {
    let me = actor.require()?;
    Ok(store::unread(&state.db, me.account_id).await?)
}

/// Marks one notification read and returns where it leads. Someone else's notification is
/// not found, as if it did not exist.
pub async fn open(state: &AppState, actor: &Actor, id: i64) -> AppResult<Option<String>> {
    let me = actor.require()?;
    if !store::mark_read(&state.db, me.account_id, id, state.now_ms()).await? {
        return Err(crate::error::AppError::NotFound(format!(
            "notification {id}"
        )));
    }
    ring(state, me.account_id).await;
    let row = store::get(&state.db, id).await?;
    Ok(row.and_then(|r| r.link))
}

/// Marks all of the signed-in person's notifications read; how many were unread.
pub async fn read_all(state: &AppState, actor: &Actor) -> AppResult<u64> {
    let me = actor.require()?;
    let n = store::mark_all_read(&state.db, me.account_id, state.now_ms()).await?;
    ring(state, me.account_id).await;
    Ok(n)
}

/// Tells the account's open pages its unread count (after a commit).
pub async fn ring(state: &AppState, account: i64) {
    match store::unread(&state.db, account).await {
        Ok(unread) => {
            let news = super::bell::Unread { unread };
            crate::hub::publish(&state.db, &state.bells, account, news).await;
        }
        Err(e) => tracing::warn!(error = %e, "could not count unread notifications"),
    }
}

/// Tells every open page to count its unread notifications again: after a push wrote to
/// many accounts at once (one message, not one per account).
pub async fn ring_everyone(state: &AppState) {
    let news = super::bell::Unread { unread: -1 };
    crate::hub::publish(&state.db, &state.bells, super::bell::EVERYONE, news).await;
}

/// Whether a person gets a topic by a channel: as they chose, else the topic's default.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preference {
    pub topic: String,
    pub channel: String,
    pub enabled: bool,
}

/// Every topic and channel for the signed-in person, as they chose or by default (on).
pub async fn preferences(state: &AppState, actor: &Actor) -> AppResult<Vec<Preference>> {
    let me = actor.require()?;
    let chosen = store::preferences(&state.db, me.account_id).await?;
    Ok(Topic::ALL
        .into_iter()
        .flat_map(|topic| Channel::ALL.into_iter().map(move |c| (topic, c)))
        .map(|(topic, channel)| Preference {
            topic: topic.as_str().to_owned(),
            channel: channel.as_str().to_owned(),
            enabled: chosen
                .iter()
                .find(|p| p.topic == topic && p.channel == channel)
                .is_none_or(|p| p.enabled),
        })
        .collect())
}

/// Sets the signed-in person's choices; topics and channels not named keep theirs.
pub async fn set_preferences(
    state: &AppState,
    actor: &Actor,
    choices: &[(Topic, Channel, bool)],
) -> AppResult<Vec<Preference>> {
    let me = actor.require()?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    for &(topic, channel, enabled) in choices {
        let row = PreferenceRow {
            topic,
            channel,
            enabled,
        };
        store::set_preference(&mut tx, me.account_id, &row, now).await?;
    }
    tx.commit().await?;
    preferences(state, actor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every placeholder any template uses, filled.
    const PARAMS: &str = r#"{"alert":"1","amount":"¥1.00","arranged":"a","case":"2","count":"3","courier":"c",
        "day":"d","doctor":"王","group":"g","hospital":"h","nickname":"n","method":"C1","number":"5","patient":"p",
        "prescription":"4","reason":"r","region":"440106","rule":"r","status":"s","step":"held",
        "syndrome":"y","team":"t","threshold":"1.0","time":"t","title":"x","tracking":"k","until":"u","urgency":"urgent"}"#;

    #[test]
    fn every_event_has_a_title_and_body_in_both_languages() {
        for event in Event::ALL {
            for lang in [Lang::Zh, Lang::En] {
                let (title, body) = render(lang, event, PARAMS);
                for text in [&title, &body] {
                    assert!(!text.contains('⟨'), "{event} {lang:?}: missing");
                    assert!(!text.contains('{'), "{event} {lang:?}: unfilled {text}");
                    assert!(!text.is_empty());
                }
            }
        }
    }

    #[test]
    fn params_fill_the_reader_s_language() {
        let params = r#"{"doctor":"王医生","time":"2026-12-07 09:00"}"#;
        let (_, zh) = render(Lang::Zh, Event::AppointmentBooked, params);
        let (_, en) = render(Lang::En, Event::AppointmentBooked, params);
        assert!(
            zh.contains("王医生") && zh.contains("2026-12-07 09:00"),
            "{zh}"
        );
        assert!(en.starts_with("You are booked"), "{en}");
    }

    #[test]
    fn coded_params_are_shown_by_their_names() {
        let params = r#"{"alert":"7","region":"440106","syndrome":"respiratory","day":"2026-12-07",
            "count":"30","threshold":"12.5","method":"C1"}"#;
        let (_, zh) = render(Lang::Zh, Event::EpiAlert, params);
        let (_, en) = render(Lang::En, Event::EpiAlert, params);
        assert!(
            zh.contains("呼吸道（流感样）") && !zh.contains("respiratory"),
            "{zh}"
        );
        assert!(en.contains("Respiratory (ILI)"), "{en}");
        // A code the catalogue does not know is shown as it is.
        let (_, other) = render(Lang::Zh, Event::EpiAlert, r#"{"syndrome":"new_one"}"#);
        assert!(other.contains("new_one"), "{other}");
    }
}
