//! The pages' CSS and JavaScript, compiled into the binary (no CDN, no external font),
//! served with a content hash in their URL, an `ETag`, and `Cache-Control` that lets a
//! browser keep a hashed URL for a year and revalidate anything else.

use std::sync::LazyLock;

use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Set to a folder (`src/web/assets`) to serve the files from disk instead of the
/// binary, for front-end work without rebuilding. Never set in production.
pub const DEV_ASSETS_DIR: &str = "HELPCENTER_DEV_ASSETS";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    /// First 16 hex digits of the content's BLAKE3 hash.
    hash: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "site.css",
            "text/css; charset=utf-8",
            include_str!("assets/site.css"),
        ),
        (
            "site.js",
            "text/javascript; charset=utf-8",
            include_str!("assets/site.js"),
        ),
        (
            "portal.js",
            "text/javascript; charset=utf-8",
            include_str!("assets/portal.js"),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, body)| Asset {
        name,
        content_type,
        body,
        hash: blake3::hash(body.as_bytes()).to_hex()[..16].to_string(),
    })
    .collect()
});

/// Every embedded file's name and size in bytes (for the size budget's test).
pub fn sizes() -> Vec<(&'static str, usize)> {
    ASSETS.iter().map(|a| (a.name, a.body.len())).collect()
}

/// The URL of an embedded file, with its content hash so a new build is fetched anew.
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => format!("/assets/{}?v={}", a.name, a.hash),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`
pub async fn serve(
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    if let Some(dir) = std::env::var_os(DEV_ASSETS_DIR) {
        // Front-end work without a rebuild: the file as it is on disk, never cached.
        let body = std::fs::read(std::path::Path::new(&dir).join(asset.name)).unwrap_or_default();
        return (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response();
    }
    // Weak: the compression layer may send the same content gzipped or not.
    let etag = format!("W/\"{}\"", asset.hash);
    // A URL carrying the current hash never changes; any other is revalidated.
    let versioned = query.as_deref() == Some(&format!("v={}", asset.hash));
    let cache_control = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            // Weak comparison (RFC 9110): `W/"x"` and `"x"` match.
            let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
            v.split(',')
                .any(|t| t.trim() == "*" || strip(t) == strip(&etag))
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
