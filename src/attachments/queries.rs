//! The attachments' SQL (every value bound), on a connection scoped to the caller: the
//! policies of migration 0020 decide what is visible and what may be attached.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Attachment, FileName, Upload, UploadToken};

/// What the upload wrote, to record.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// The id its bytes are stored under.
    pub id: Uuid,
    /// The display name.
    pub file_name: FileName,
    /// The checked type.
    pub content_type: &'static str,
    /// Bytes.
    pub size: u64,
    /// sha256, hex.
    pub sha256: String,
    /// When it expires unless attached.
    pub expires_at: OffsetDateTime,
}

/// Records an upload of the caller; its token.
pub async fn register(
    conn: &mut PgConnection,
    owner: Uuid,
    file: &StoredFile,
) -> Result<Upload, sqlx::Error> {
    let token = UploadToken::generate();
    let expires_at: OffsetDateTime = sqlx::query_scalar(
        "insert into public.ticket_attachments \
             (id, upload_token, owner_id, file_name, content_type, size, sha256, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning expires_at",
    )
    .bind(file.id)
    .bind(token.as_str())
    .bind(owner)
    .bind(file.file_name.as_str())
    .bind(file.content_type)
    .bind(i64::try_from(file.size).unwrap_or(i64::MAX))
    .bind(&file.sha256)
    .bind(file.expires_at)
    .fetch_one(conn)
    .await?;
    Ok(Upload {
        token: token.as_str().to_string(),
        attachment: Attachment {
            id: file.id,
            file_name: file.file_name.as_str().to_string(),
            size: i64::try_from(file.size).unwrap_or(i64::MAX),
            content_type: file.content_type.to_string(),
        },
        sha256: file.sha256.clone(),
        expires_at: crate::insights::rfc3339(expires_at),
    })
}

/// Attaches the caller's uploads named by `tokens` to a message the caller just wrote,
/// all or none: when a token is not the caller's unattached, unexpired upload (another
/// user's token reads exactly like a made-up one), or the files together exceed
/// `max_message_bytes`, the transaction is aborted (`hc_refuse`: 422 naming `uploads`,
/// or 413), so the message is not stored either.
pub async fn attach(
    conn: &mut PgConnection,
    ticket: Uuid,
    message: Uuid,
    owner: Uuid,
    tokens: &[UploadToken],
    max_message_bytes: u64,
) -> Result<Vec<Attachment>, sqlx::Error> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let tokens: Vec<&str> = tokens.iter().map(UploadToken::as_str).collect();
    let mut rows: Vec<(Uuid, String, i64, String, OffsetDateTime)> = sqlx::query_as(
        "update public.ticket_attachments a set ticket_id = $1, message_id = $2, expires_at = null \
         where a.upload_token = any($3) and a.owner_id = $4 and a.message_id is null \
           and a.expires_at > now() \
         returning a.id, a.file_name, a.size, a.content_type, a.created_at",
    )
    .bind(ticket)
    .bind(message)
    .bind(&tokens)
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = rows.iter().map(|r| r.2).sum();
    let refusal = if rows.len() != tokens.len() {
        Some((
            "23514",
            "an upload token is unknown, expired, already attached or not yours",
        ))
    } else if total as u64 > max_message_bytes {
        Some((
            "P0413",
            "the message's files are larger than allowed together",
        ))
    } else {
        None
    };
    if let Some((code, why)) = refusal {
        let message = if code == "P0413" {
            format!("{why}: at most {max_message_bytes} bytes; nothing was stored")
        } else {
            why.to_string()
        };
        sqlx::query("select public.hc_refuse($1, 'ticket_attachments_uploads_check', $2)")
            .bind(code)
            .bind(message)
            .execute(&mut *conn)
            .await?;
    }
    // The timeline's order: as uploaded.
    rows.sort_by_key(|r| (r.4, r.0));
    Ok(rows
        .into_iter()
        .map(|(id, file_name, size, content_type, _)| Attachment {
            id,
            file_name,
            size,
            content_type,
        })
        .collect())
}

/// An attachment to download: its metadata, if the caller may read it on this ticket.
pub async fn find(
    conn: &mut PgConnection,
    ticket: Uuid,
    id: Uuid,
) -> Result<Option<(Attachment, String)>, sqlx::Error> {
    let row: Option<(Uuid, String, i64, String, String)> = sqlx::query_as(
        "select id, file_name, size, content_type, sha256 from public.ticket_attachments \
         where id = $1 and ticket_id = $2",
    )
    .bind(id)
    .bind(ticket)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, file_name, size, content_type, sha256)| {
        (
            Attachment {
                id,
                file_name,
                size,
                content_type,
            },
            sha256,
        )
    }))
}
