//! Ticket attachments: files uploaded first, then attached to a message by their upload
//! token (as Zendesk's API does). The bytes live in an object store (the local file
//! system under a data folder by default, any S3-compatible store by configuration);
//! the metadata in PostgreSQL under Row Level Security (migration 0020): who may read a
//! message may read its attachments, and nobody else.
//!
//! The order of writes keeps both sides whole: the bytes are written (a multipart
//! upload that becomes visible only when complete), then the row is inserted; a row
//! always has its bytes, and bytes without a row are orphans the sweeper deletes
//! ([`sweeper`]). Knows nothing about HTTP.

pub mod queries;
pub mod sniff;
pub mod sweeper;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as StorePath;
use object_store::ObjectStore;
use serde::Serialize;
use uuid::Uuid;

/// Default largest file.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// Default largest sum of one message's files.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 50 * 1024 * 1024;
/// Most files on one message.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// Default time an unattached upload is kept.
pub const DEFAULT_UPLOAD_TTL: Duration = Duration::from_secs(3600);
/// Default longest pause in an upload's bytes before it is abandoned.
pub const UPLOAD_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest an upload may take in all.
pub const UPLOAD_TOTAL_TIMEOUT: Duration = Duration::from_secs(600);

/// The limits of attachments.
#[derive(Debug, Clone, Copy)]
pub struct AttachmentSettings {
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// Largest sum of one message's files, in bytes.
    pub max_message_bytes: u64,
    /// How long an unattached upload is kept.
    pub upload_ttl: Duration,
    /// The longest pause in an upload's bytes before it is abandoned.
    pub upload_idle_timeout: Duration,
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        AttachmentSettings {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            upload_ttl: DEFAULT_UPLOAD_TTL,
            upload_idle_timeout: UPLOAD_IDLE_TIMEOUT,
        }
    }
}

/// Where the bytes are and the limits: one per service, shared by every request.
pub struct Attachments {
    /// The object store.
    pub store: Arc<dyn ObjectStore>,
    /// The limits.
    pub settings: AttachmentSettings,
    /// The folder of a local store (for the sweeper's look at half-written files).
    pub local_root: Option<PathBuf>,
    /// Bytes per multipart part: small on the local disk (flat memory), S3's minimum on S3.
    pub part_bytes: usize,
}

impl std::fmt::Debug for Attachments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachments")
            .field("store", &self.store.to_string())
            .field("settings", &self.settings)
            .finish()
    }
}

impl Attachments {
    /// Files under `dir` on the local file system (created if missing).
    pub fn local(
        dir: &std::path::Path,
        settings: AttachmentSettings,
    ) -> std::io::Result<Attachments> {
        std::fs::create_dir_all(dir)?;
        let root = dir.canonicalize()?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&root)
            .map_err(std::io::Error::other)?
            .with_automatic_cleanup(true);
        Ok(Attachments {
            store: Arc::new(store),
            settings,
            local_root: Some(root),
            part_bytes: 256 * 1024,
        })
    }

    /// An S3-compatible bucket (AWS, Supabase Storage, MinIO), configured from the
    /// standard `AWS_*` variables (`AWS_ENDPOINT` for a store other than AWS).
    pub fn s3(
        bucket: &str,
        settings: AttachmentSettings,
    ) -> Result<Attachments, object_store::Error> {
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?;
        Ok(Attachments {
            store: Arc::new(store),
            settings,
            local_root: None,
            part_bytes: 5 * 1024 * 1024,
        })
    }

    /// The file of an attachment's bytes, on a local store.
    pub fn local_path(&self, id: Uuid) -> Option<PathBuf> {
        self.local_root
            .as_ref()
            .map(|root| root.join("attachments").join(id.to_string()))
    }

    /// The key of an attachment's bytes: derived from its id, never from a file name
    /// (migration 0020 derives the same in `storage_key`).
    pub fn key_of(id: Uuid) -> StorePath {
        StorePath::from(format!("attachments/{id}"))
    }
}

/// A file name as given, for display only (never a path): control characters
/// dropped, trimmed, at most 255 characters; empty becomes `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// Cleans a client's name; the error says why it cannot be used.
    pub fn parse(raw: &str) -> Result<FileName, String> {
        let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
        let cleaned = cleaned.trim();
        if cleaned.chars().count() > 255 {
            return Err("must be at most 255 characters".into());
        }
        Ok(FileName(if cleaned.is_empty() {
            "file".into()
        } else {
            cleaned.to_string()
        }))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An upload token as a client names it: 43 characters of URL-safe base64 (32 random
/// bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadToken(String);

impl UploadToken {
    /// A fresh random token.
    pub fn generate() -> UploadToken {
        use rand_core::RngCore;
        let mut bytes = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut bytes);
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        // 32 bytes as 43 base64url characters (6 bits each, the last one partial).
        let mut out = String::with_capacity(43);
        let mut acc: u32 = 0;
        let mut bits = 0;
        for b in bytes {
            acc = (acc << 8) | b as u32;
            bits += 8;
            while bits >= 6 {
                bits -= 6;
                out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
            }
        }
        if bits > 0 {
            out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
        }
        UploadToken(out)
    }

    /// Parses a client's token: 32 to 64 URL-safe characters.
    pub fn parse(raw: &str) -> Option<UploadToken> {
        let ok = (32..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| UploadToken(raw.to_string()))
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An attachment as a timeline message carries it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Attachment {
    /// Its id (download: `GET /api/v1/tickets/{ticket}/attachments/{id}`).
    pub id: Uuid,
    /// The name it was uploaded with (display only).
    pub file_name: String,
    /// Bytes.
    pub size: i64,
    /// The type checked from its bytes.
    pub content_type: String,
}

/// An upload, not yet attached.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Upload {
    /// Name it in a new ticket's or a reply's `uploads` to attach it.
    pub token: String,
    /// The file.
    #[serde(flatten)]
    pub attachment: Attachment,
    /// Its sha256, hex.
    pub sha256: String,
    /// When it is deleted unless attached (RFC 3339).
    pub expires_at: String,
}
