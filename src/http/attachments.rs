//! Uploads and downloads of ticket attachments. Both stream: an upload is read a chunk
//! at a time into the object store (never whole in memory), its type decided from its
//! first bytes, its size counted as it arrives; a download is the store's stream. Both
//! routes sit outside the API's body limit and request timeout, with limits of their
//! own (size, a pause between chunks, a total time).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use object_store::WriteMultipart;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::AuthUser;
use super::error::{ApiError, Problem};
use super::extract::IdPair;
use super::tickets::db;
use super::AppState;
use crate::attachments::queries::{self, StoredFile};
use crate::attachments::sniff::{self, SNIFF_BYTES};
use crate::attachments::{Attachments, FileName, Upload, UPLOAD_TOTAL_TIMEOUT};

/// The attachments' store, or 503 when the service runs without one.
fn files(state: &AppState) -> Result<&Arc<Attachments>, ApiError> {
    state
        .attachments
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("attachments are not configured".into()))
}

fn storage_error(e: object_store::Error) -> ApiError {
    ApiError::Unavailable(format!("the attachments' store failed: {e}"))
}

/// The next chunk of an upload's body, waiting at most `idle`.
async fn next_chunk(
    stream: &mut axum::body::BodyDataStream,
    idle: std::time::Duration,
) -> Result<Option<axum::body::Bytes>, ApiError> {
    match tokio::time::timeout(idle, stream.next()).await {
        Err(_) => Err(ApiError::invalid(
            "body",
            format!(
                "no bytes arrived for {} s; the upload was abandoned and nothing was stored",
                idle.as_secs_f32()
            ),
        )),
        Ok(None) => Ok(None),
        Ok(Some(Err(e))) => Err(ApiError::invalid(
            "body",
            format!("the upload broke off: {e}"),
        )),
        Ok(Some(Ok(chunk))) => Ok(Some(chunk)),
    }
}

/// Upload a file
///
/// The file's bytes are the body (any `Content-Type`; the type is decided from the
/// bytes, on an allow-list: PNG, JPEG, GIF, WebP, PDF, ZIP, gzip, plain text). Answers
/// the upload's `token`: name it in a new ticket's or a reply's `uploads` within the
/// hour, or the file is deleted. The name is kept for display only.
#[utoipa::path(
    post, path = "/api/v1/uploads", tag = "tickets",
    params(("filename" = String, Query, min_length = 1, max_length = 255, description = "The file's name, for display.")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes (at most 20 MB by default)."),
    responses(
        (status = 201, description = "Stored; attach it by its token.", body = Upload),
        (status = 400, description = "`filename` is missing or invalid, or the bytes stopped coming.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than the limit; nothing is stored.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The bytes are not an allowed type; nothing is stored.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database or the store is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn upload(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let files = files(&state)?.clone();
    let db = db(&state)?.clone();
    let mut name = None;
    for (key, value) in form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        if key == "filename" {
            name = Some(
                FileName::parse(&value).map_err(|reason| ApiError::invalid("filename", reason))?,
            );
        }
    }
    let name = name.ok_or_else(|| ApiError::invalid("filename", "is required"))?;
    let max = files.settings.max_file_bytes;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "a file may have at most {max} bytes; nothing was stored"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    if !db.is_ready() {
        return Err(ApiError::Unavailable(
            "the ticket database is unreachable".into(),
        ));
    }
    let id = Uuid::new_v4();
    let key = Attachments::key_of(id);
    let idle = files.settings.upload_idle_timeout;
    let written = tokio::time::timeout(UPLOAD_TOTAL_TIMEOUT, async {
        let mut stream = body.into_data_stream();
        // The first bytes decide the type, before anything is stored.
        let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
        let mut ended = false;
        let mut first_chunks = Vec::new();
        while head.len() < SNIFF_BYTES {
            match next_chunk(&mut stream, idle).await? {
                None => {
                    ended = true;
                    break;
                }
                Some(chunk) => {
                    let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                    first_chunks.push(chunk);
                }
            }
        }
        let content_type = sniff::content_type(&head).ok_or_else(|| {
            ApiError::UnsupportedMediaType(format!(
                "the file's bytes are not an allowed type ({}); nothing was stored",
                sniff::ALLOWED.join(", ")
            ))
        })?;
        drop(head);
        let upload = files
            .store
            .put_multipart(&key)
            .await
            .map_err(storage_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, files.part_bytes);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut pending = first_chunks.into_iter();
        loop {
            let chunk = match pending.next() {
                Some(c) => Some(c),
                None if ended => None,
                None => match next_chunk(&mut stream, idle).await {
                    Ok(c) => c,
                    Err(stop) => {
                        let _ = writer.abort().await;
                        return Err(stop);
                    }
                },
            };
            let Some(chunk) = chunk else { break };
            size += chunk.len() as u64;
            if size > max {
                let _ = writer.abort().await;
                return Err(too_large());
            }
            hasher.update(&chunk);
            // At most two parts in flight: memory stays flat whatever the file's size.
            if let Err(e) = writer.wait_for_capacity(2).await {
                return Err(storage_error(e));
            }
            writer.put(chunk);
        }
        writer.finish().await.map_err(storage_error)?;
        // On the local disk, the bytes reach the disk before the row is committed: a
        // machine that crashes after the commit still has the whole file.
        if let Some(path) = files.local_path(id) {
            let synced = async { tokio::fs::File::open(&path).await?.sync_all().await };
            synced
                .await
                .map_err(|e| ApiError::Unavailable(format!("the attachments' disk failed: {e}")))?;
        }
        Ok::<_, ApiError>((content_type, size, hex(&hasher.finalize())))
    })
    .await;
    let (content_type, size, sha256) = match written {
        Err(_) => {
            return Err(ApiError::invalid(
                "body",
                format!(
                    "the upload took longer than {} s; nothing was stored",
                    UPLOAD_TOTAL_TIMEOUT.as_secs()
                ),
            ))
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(done)) => done,
    };
    let ttl = time::Duration::try_from(files.settings.upload_ttl).unwrap_or(time::Duration::HOUR);
    let file = StoredFile {
        id,
        file_name: name,
        content_type,
        size,
        sha256,
        expires_at: time::OffsetDateTime::now_utc() + ttl,
    };
    // The bytes are in; now the row. Without it, the bytes go too.
    let registered = db
        .write_as(&claims, move |conn, session| {
            Box::pin(async move { queries::register(conn, session.user_id, &file).await })
        })
        .await;
    match registered {
        Ok(upload) => Ok((StatusCode::CREATED, Json(upload)).into_response()),
        Err(e) => {
            let _ = files.store.delete(&key).await;
            Err(e.into())
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Download an attachment
///
/// The file's bytes, to whoever may read the message it is attached to. Always with
/// `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, the checked
/// type and a sandboxing CSP; `inline=true` shows an image in the page.
#[utoipa::path(
    get, path = "/api/v1/tickets/{id}/attachments/{attachment_id}", tag = "tickets",
    params(
        ("id" = Uuid, Path, description = "The ticket's id."),
        ("attachment_id" = Uuid, Path, description = "The attachment's id."),
        ("inline" = Option<bool>, Query, description = "Images only: shown in the page instead of saved."),
    ),
    responses(
        (status = 200, description = "The file.", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 401, description = "Missing or invalid token.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such attachment on this ticket, or not the caller's to read.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database or the store is unreachable.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn download(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    IdPair(ticket, id): IdPair,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let files = files(&state)?.clone();
    let db = db(&state)?;
    let inline = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .any(|(k, v)| k == "inline" && (v == "true" || v == "1"));
    let found = db
        .read_as(&claims, move |conn, _| {
            Box::pin(async move { queries::find(conn, ticket, id).await })
        })
        .await?;
    let Some((attachment, sha256)) = found else {
        return Err(ApiError::NotFound("no such attachment".into()));
    };
    let stored = files
        .store
        .get(&Attachments::key_of(attachment.id))
        .await
        .map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                ApiError::Internal(format!("attachment {} has no bytes", attachment.id))
            }
            e => storage_error(e),
        })?;
    let content_type = if sniff::ALLOWED.contains(&attachment.content_type.as_str()) {
        attachment.content_type.clone()
    } else {
        "application/octet-stream".into()
    };
    let disposition = if inline && sniff::is_inline_image(&content_type) {
        "inline"
    } else {
        "attachment"
    };
    let body = match stored.payload {
        // A local file: read in large chunks (the store's own stream reads 8 KiB at a
        // time, a third of the disk's speed).
        object_store::GetResultPayload::File(file, _) => {
            Body::from_stream(file_chunks(tokio::fs::File::from_std(file)))
        }
        _ => Body::from_stream(stored.into_stream()),
    };
    let mut response = Response::new(body);
    let h = response.headers_mut();
    let value = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    h.insert(header::CONTENT_TYPE, value(&content_type));
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(attachment.size.max(0) as u64),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        value(&content_disposition(disposition, &attachment.file_name)),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
        ),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert(header::ETAG, value(&format!("\"{sha256}\"")));
    // Already in its final form: the compression layer leaves it as it is.
    h.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    Ok(response)
}

/// A file's bytes in chunks of 256 KiB: flat memory, few reads.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<axum::body::Bytes>> {
    futures_util::stream::unfold(Some(file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(axum::body::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266): the
/// ASCII fallback has quotes, backslashes and anything outside printable ASCII replaced.
fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn a_file_name_never_breaks_the_header() {
        assert_eq!(
            content_disposition("attachment", "../../etc/passwd"),
            "attachment; filename=\"../../etc/passwd\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd"
        );
        let d = content_disposition("attachment", "rapport \"final\"\r\n.pdf");
        assert!(!d.contains('\r') && !d.contains('\n'), "{d}");
        assert!(
            d.starts_with("attachment; filename=\"rapport _final___.pdf\""),
            "{d}"
        );
        assert!(content_disposition("inline", "été.png").ends_with("%C3%A9t%C3%A9.png"));
    }
}
