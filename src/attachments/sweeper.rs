//! Deletes what no message will ever show: expired uploads (row, then bytes), bytes
//! without a row (a crash between the write and the insert, or a failed insert) once
//! they are older than the upload period, and, on the local disk, half-written files
//! of uploads that never finished. Every replica sweeps; the database hands each
//! expired row to one of them (`hc_expire_uploads` skips locked rows).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use uuid::Uuid;

use super::Attachments;
use crate::db::Database;

/// What a sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Expired uploads (rows and bytes).
    pub expired: u64,
    /// Stored files without a row.
    pub orphans: u64,
    /// Half-written local files.
    pub partial: u64,
}

/// Runs one sweep now.
pub async fn sweep(db: &Database, files: &Attachments) -> Result<Swept, String> {
    let mut swept = Swept::default();
    loop {
        let expired: Vec<(Uuid, String)> =
            sqlx::query_as("select id, storage_key from public.hc_expire_uploads(500)")
                .fetch_all(db.app_pool())
                .await
                .map_err(|e| e.to_string())?;
        for (id, _) in &expired {
            delete(files, &Attachments::key_of(*id)).await;
        }
        swept.expired += expired.len() as u64;
        if expired.len() < 500 {
            break;
        }
    }
    // Bytes older than the upload period without a row: the row never came.
    let cutoff = orphan_cutoff(files.settings.upload_ttl);
    let mut listing = files.store.list(Some(&StorePath::from("attachments")));
    let mut batch: Vec<Uuid> = Vec::new();
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| e.to_string())?;
        let old = SystemTime::from(meta.last_modified) < cutoff;
        let id = meta
            .location
            .filename()
            .and_then(|name| Uuid::parse_str(name).ok());
        match id {
            Some(id) if old => batch.push(id),
            None if old => {
                delete(files, &meta.location).await;
                swept.orphans += 1;
            }
            _ => {}
        }
        if batch.len() >= 500 {
            swept.orphans += delete_unknown(db, files, std::mem::take(&mut batch)).await?;
        }
    }
    swept.orphans += delete_unknown(db, files, batch).await?;
    if let Some(root) = &files.local_root {
        swept.partial = delete_partial_files(&root.join("attachments"), cutoff);
    }
    Ok(swept)
}

/// `now - ttl`, at least an hour back (an upload may take ten minutes to arrive).
fn orphan_cutoff(ttl: Duration) -> SystemTime {
    SystemTime::now() - ttl.max(Duration::from_secs(3600))
}

async fn delete_unknown(db: &Database, files: &Attachments, ids: Vec<Uuid>) -> Result<u64, String> {
    if ids.is_empty() {
        return Ok(0);
    }
    let known: Vec<Uuid> = sqlx::query_scalar("select public.hc_attachments_known($1)")
        .bind(&ids)
        .fetch_all(db.app_pool())
        .await
        .map_err(|e| e.to_string())?;
    let mut deleted = 0;
    for id in ids.into_iter().filter(|id| !known.contains(id)) {
        delete(files, &Attachments::key_of(id)).await;
        deleted += 1;
    }
    Ok(deleted)
}

async fn delete(files: &Attachments, key: &StorePath) {
    match files.store.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => tracing::warn!("attachments: could not delete {key}: {e}"),
    }
}

/// The local store writes an upload to `<key>#<n>` and renames it when complete; what
/// is left of one that never completed (a crash) is deleted once old.
fn delete_partial_files(dir: &std::path::Path, cutoff: SystemTime) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut deleted = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let partial = name.to_string_lossy().contains('#');
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < cutoff);
        if partial && old && std::fs::remove_file(entry.path()).is_ok() {
            deleted += 1;
        }
    }
    deleted
}

/// How often the sweep runs: a quarter of the upload period, between a minute and
/// fifteen.
pub fn sweep_every(ttl: Duration) -> Duration {
    (ttl / 4).clamp(Duration::from_secs(60), Duration::from_secs(900))
}

/// Sweeps in the background for as long as the runtime lives.
pub fn start(db: Arc<Database>, files: Arc<Attachments>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(sweep_every(files.settings.upload_ttl));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if !db.is_ready() {
                continue;
            }
            match sweep(&db, &files).await {
                Ok(s) if s == Swept::default() => {}
                Ok(s) => tracing::info!(?s, "attachments swept"),
                Err(e) => tracing::warn!("attachments sweep failed: {e}"),
            }
        }
    });
}
