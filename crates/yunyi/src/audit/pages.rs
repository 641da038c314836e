//! `/admin/audit`: the audit viewer for administrators and regulators.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;

use super::{Event, service};
use crate::app::AppState;
use crate::error::AppResult;
use crate::identity::Actor;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(viewer))
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    page: PageCtx,
    events: Vec<Event>,
    actor: String,
    patient: String,
    action: String,
    outcome: String,
    flagged: bool,
    next_before: Option<i64>,
}

impl AuditPage {
    /// UTC time of an event, to the second.
    fn when(&self, at: &i64) -> String {
        chrono::DateTime::from_timestamp_millis(*at)
            .map(|t| {
                t.with_timezone(
                    &chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!()),
                )
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
            })
            .unwrap_or_default()
    }

    fn next_href(&self, before: &i64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("actor", &self.actor),
            ("patient", &self.patient),
            ("action", &self.action),
            ("outcome", &self.outcome),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if self.flagged {
            q.append_pair("flagged", "true");
        }
        q.append_pair("before", &before.to_string());
        format!("/admin/audit?{}", q.finish())
    }
}

async fn viewer(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<AuditPage> {
    let filter = service::parse_filter(query.as_deref())?;
    let limit = usize::try_from(filter.limit).unwrap_or(50);
    let view = AuditPage {
        page: page.with_nav("audit"),
        events: Vec::new(),
        actor: filter.actor_id.map(|n| n.to_string()).unwrap_or_default(),
        patient: filter.patient_id.map(|n| n.to_string()).unwrap_or_default(),
        action: filter.action.clone().unwrap_or_default(),
        outcome: filter.outcome.clone().unwrap_or_default(),
        flagged: filter.flagged_only,
        next_before: None,
    };
    let events = service::search(&state, &actor, filter).await?;
    let next_before = (events.len() == limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(AuditPage {
        events,
        next_before,
        ..view
    })
}
