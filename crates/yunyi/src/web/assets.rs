//! Static assets, embedded in the binary so one file is the whole deployment and no page
//! depends on a CDN. URLs carry a hash of the assets' content, so browsers may cache them for
//! a year and still get a changed stylesheet the moment it changes.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// Asset URL prefix, `/assets/<content hash>`.
pub fn prefix() -> &'static str {
    static PREFIX: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for asset in ASSETS {
            hasher.update(asset.name.as_bytes());
            hasher.update(asset.body);
        }
        format!("/assets/{}", &hex::encode(hasher.finalize())[..12])
    });
    &PREFIX
}

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// A script (all of ours are UTF-8 JavaScript).
const fn js(name: &'static str, body: &'static [u8]) -> Asset {
    Asset {
        name,
        content_type: "text/javascript; charset=utf-8",
        body,
    }
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/app.css"),
    },
    js("admin.js", include_bytes!("../../assets/admin.js")),
    js("confirm.js", include_bytes!("../../assets/confirm.js")),
    js("bell.js", include_bytes!("../../assets/bell.js")),
    js(
        "drug-picker.js",
        include_bytes!("../../assets/drug-picker.js"),
    ),
    js("chat.js", include_bytes!("../../assets/chat.js")),
    js("group.js", include_bytes!("../../assets/group.js")),
    js(
        "teleconsult.js",
        include_bytes!("../../assets/teleconsult.js"),
    ),
    js(
        "article-editor.js",
        include_bytes!("../../assets/article-editor.js"),
    ),
    js("install.js", include_bytes!("../../assets/install.js")),
    js("push.js", include_bytes!("../../assets/push.js")),
    js(
        "report-upload.js",
        include_bytes!("../../assets/report-upload.js"),
    ),
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../assets/icon.svg"),
    },
    js(
        "htmx.min.js",
        include_bytes!("../../assets/vendor/htmx-2.0.11.min.js"),
    ),
];

/// `GET /assets/{hash}/{name}`. An old hash in the URL still gets today's file: after an
/// upgrade, pages cached by browsers keep working.
pub async fn serve(Path((_version, name)): Path<(String, String)>) -> Result<Response, AppError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| AppError::NotFound(format!("no asset named '{name}'")))?;
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
