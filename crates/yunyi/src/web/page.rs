//! What every HTML page needs: the language, the current address (for the language switch),
//! the asset prefix and the active navigation item. Handlers take a [`PageCtx`] argument.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::assets;
use super::i18n::Lang;

#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    /// Path and query of this request, for "switch language and come back here".
    pub here: String,
    pub assets: &'static str,
    pub nav: &'static str,
}

impl PageCtx {
    pub fn from_parts(parts: &Parts) -> Self {
        Self {
            lang: Lang::negotiate(&parts.headers),
            here: parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| "/".to_owned()),
            assets: assets::PREFIX,
            nav: "",
        }
    }

    pub fn with_nav(mut self, nav: &'static str) -> Self {
        self.nav = nav;
        self
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    pub fn other_lang(&self) -> Lang {
        match self.lang {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn switch_href(&self) -> String {
        let next: String = url::form_urlencoded::byte_serialize(self.here.as_bytes()).collect();
        format!("/lang/{}?next={next}", self.other_lang().short())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}
