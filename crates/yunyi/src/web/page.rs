//! What every HTML page needs: the language, the current address (for the language switch),
//! the asset prefix, the active navigation item, who is signed in and the CSRF token for its
//! forms. Handlers take a [`PageCtx`] argument.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::assets;
use super::i18n::{Lang, cookie_value};
use crate::app::AppState;
use crate::error::FieldError;
use crate::identity::Actor;
use crate::identity::csrf::{self, CsrfNonce};
use crate::identity::model::Role;

/// The signed-in person, as the header shows them.
#[derive(Debug, Clone)]
pub struct UserBadge {
    pub display_name: String,
    pub role: Role,
    /// Unread notifications, for the header's badge (kept current by `bell.js`).
    pub unread: i64,
}

/// The cookie that remembers the large-text, high-contrast mode (适老化).
pub const TEXT_COOKIE: &str = "yunyi_text";

#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    /// Large text and high contrast, chosen from the header (`/text/large`).
    pub large_text: bool,
    /// Path and query of this request, for "switch language and come back here".
    pub here: String,
    pub assets: &'static str,
    pub nav: &'static str,
    pub user: Option<UserBadge>,
    /// Token for this visitor's forms; empty on error pages rendered outside a handler.
    pub csrf: String,
}

impl PageCtx {
    /// Without state: for error pages (no user, no forms).
    pub fn from_parts(parts: &Parts) -> Self {
        Self {
            lang: Lang::negotiate(&parts.headers),
            large_text: cookie_value(&parts.headers, TEXT_COOKIE).as_deref() == Some("large"),
            here: parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| "/".to_owned()),
            assets: assets::prefix(),
            nav: "",
            user: None,
            csrf: String::new(),
        }
    }

    pub fn with_nav(mut self, nav: &'static str) -> Self {
        self.nav = nav;
        self
    }

    /// The catalogue's message `key` filled with `args`.
    pub fn t_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.t_with(key, args)
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// A syndrome's name, or its code when the catalog does not know it (officers define
    /// their own syndromes in the screening rules).
    pub fn syndrome(&self, code: &str) -> String {
        self.lang
            .lookup(&format!("epi.syndrome.{code}"))
            .map_or_else(|| code.to_owned(), str::to_owned)
    }

    pub fn other_lang(&self) -> Lang {
        match self.lang {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The header's link to the other text size, coming back to this page.
    pub fn text_size_href(&self) -> String {
        let size = if self.large_text { "standard" } else { "large" };
        super::with_next(&format!("/text/{size}"), &self.here)
    }

    pub fn switch_href(&self) -> String {
        super::with_next(&format!("/lang/{}", self.other_lang().short()), &self.here)
    }

    pub fn is_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| matches!(u.role, Role::PlatformAdmin | Role::HospitalAdmin))
    }

    /// Doctors and hospital administrators: they work on their hospital's articles.
    pub fn is_staff_writer(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| matches!(u.role, Role::Doctor | Role::HospitalAdmin))
    }

    /// Who sends health-education pushes.
    pub fn may_push(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| crate::education::push::may_push(u.role))
    }

    /// A signed-in patient: their pages get the phone's tab bar (首页 / 问诊 / 预约 / 处方 / 我的).
    pub fn is_patient(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Patient)
    }

    pub fn is_platform_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.role == Role::PlatformAdmin)
    }

    pub fn can_audit(&self) -> bool {
        self.user.as_ref().is_some_and(|u| {
            matches!(
                u.role,
                Role::PlatformAdmin | Role::HospitalAdmin | Role::Regulator
            )
        })
    }

    /// A day as a patient reads it on a date tab: 今天, 明天, else 周三 12-09.
    pub fn day_label(&self, day: &str, today: chrono::NaiveDate) -> String {
        use chrono::Datelike as _;
        let Ok(d) = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
            return day.to_owned();
        };
        match (d - today).num_days() {
            0 => self.t("booking.today").to_owned(),
            1 => self.t("booking.tomorrow").to_owned(),
            _ => format!(
                "{} {}",
                self.t(&format!(
                    "booking.weekday.{}",
                    d.weekday().number_from_monday()
                )),
                d.format("%m-%d")
            ),
        }
    }

    /// An appointment's time as people say it: `周一 12-07 08:30` (China Standard Time).
    pub fn when(&self, ms: i64) -> String {
        use chrono::Datelike as _;
        let Some(t) = chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&crate::time::cst()))
        else {
            return String::new();
        };
        format!(
            "{} {}",
            self.t(&format!(
                "booking.weekday.{}",
                t.weekday().number_from_monday()
            )),
            t.format("%m-%d %H:%M")
        )
    }

    pub fn role_label(&self) -> &'static str {
        self.user
            .as_ref()
            .map(|u| self.t(&format!("role.{}", u.role.as_str())))
            .unwrap_or("")
    }

    /// The message for one field, for forms shown again with their errors.
    /// The error of `field`, in the page's language when the catalogue has it.
    pub fn field_error(&self, errors: &[FieldError], field: &str) -> Option<String> {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| self.message_of(e))
    }

    /// A field error's message, in the page's language when the catalogue has it.
    pub fn message_of(&self, e: &FieldError) -> String {
        match &e.message_key {
            Some((key, args)) => {
                let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.lang.t_with(key, &args)
            }
            None => e.message.clone(),
        }
    }

    /// What a person is told about a refused form, in the page's language where the catalogue
    /// has it: the reason's message, or each field's.
    pub fn error_text(&self, e: &crate::error::AppError) -> String {
        use crate::error::AppError;
        if let Some(text) = e.reason().and_then(|r| self.lang.lookup(&r.message_key())) {
            return text.to_owned();
        }
        if let AppError::TooManyRequests { .. } = e {
            return self.t("error.too-many-requests").to_owned();
        }
        match e {
            AppError::Validation(fields) | AppError::ConflictFields(fields) => fields
                .iter()
                .map(|f| format!("{}: {}", f.field, self.message_of(f)))
                .collect::<Vec<_>>()
                .join("; "),
            // What was not found is named in English for the API; a page says it in its own
            // language (and never tells a stranger more than that).
            AppError::NotFound(_) => self.t("error.not_found_item").to_owned(),
            other => other.to_string(),
        }
    }

    /// As [`redirect_with_outcome`], with the message in the page's language.
    pub fn redirect_outcome(
        &self,
        path: &str,
        result: crate::error::AppResult<()>,
    ) -> crate::error::AppResult<axum::response::Redirect> {
        self.redirect_outcome_with(path, &[], result)
    }

    /// As [`Self::redirect_outcome`], keeping `pairs` in the address (the form's context).
    pub fn redirect_outcome_with(
        &self,
        path: &str,
        pairs: &[(&str, String)],
        result: crate::error::AppResult<()>,
    ) -> crate::error::AppResult<axum::response::Redirect> {
        use crate::error::AppError;
        match result {
            Ok(()) => redirect_with_outcome(path, pairs, Ok(())),
            Err(e @ (AppError::Internal(_) | AppError::Unauthorized)) => Err(e),
            Err(e) => {
                redirect_with_outcome(path, pairs, Err(AppError::BadRequest(self.error_text(&e))))
            }
        }
    }
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let mut page = Self::from_parts(parts);
        // A page never fails because of a stale session: it is shown signed out instead.
        if let Ok(actor) = Actor::from_request_parts(parts, state).await {
            // A count that cannot be read is shown as none rather than failing the page.
            let unread = crate::notification::service::unread(state, &actor)
                .await
                .unwrap_or(0);
            page.user = actor.signed_in.map(|s| UserBadge {
                display_name: s.display_name,
                role: s.role,
                unread,
            });
        }
        if let Some(CsrfNonce(nonce)) = parts.extensions.get::<CsrfNonce>() {
            page.csrf = csrf::token_for(state, nonce);
        }
        Ok(page)
    }
}

/// Back to a page after a form, with the outcome in `message`: "ok", or what was wrong (which
/// field and why) for the page to show. Server faults and lost sessions still go to the error
/// page. `pairs` are kept in the query (e.g. which hospital the page was showing).
pub fn redirect_with_outcome(
    path: &str,
    pairs: &[(&str, String)],
    result: crate::error::AppResult<()>,
) -> crate::error::AppResult<axum::response::Redirect> {
    use crate::error::AppError;
    let message = match result {
        Ok(()) => "ok".to_owned(),
        Err(e @ (AppError::Internal(_) | AppError::Unauthorized)) => return Err(e),
        Err(e) => e.to_string(),
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    query.append_pair("message", &message);
    Ok(axum::response::Redirect::to(&format!(
        "{path}?{}",
        query.finish()
    )))
}
