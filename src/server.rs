//! Running the HTTP server: listener set-up, start-up indexing in the background, and
//! graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::http::{router, AppState};
use crate::kb::KnowledgeBase;

/// Builds the state for `kb` and starts indexing in the background: the server answers
/// at once (`/readyz` says 503 until the index is searchable).
pub fn start_indexing(kb: Arc<KnowledgeBase>) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || match kb.open_or_build(&|_, _| {}) {
        Ok(report) => tracing::info!(
            articles = report.articles,
            drafts = report.drafts,
            errors = report.errors,
            reused = report.reused,
            millis = report.millis,
            "knowledge base ready"
        ),
        Err(e) => tracing::error!("knowledge base could not be loaded: {e}"),
    })
}

/// Starts the file watcher that keeps the index in step with the articles folder
/// while the server runs (it waits for the first index, and ends with `kb`).
pub fn start_watching(kb: &Arc<KnowledgeBase>) {
    if let Err(e) = crate::kb::watcher::spawn(kb, crate::kb::watcher::WatchOptions::default()) {
        tracing::error!("cannot start the articles watcher: {e}");
    }
}

/// Every few seconds, picks up an index generation that `helpcenter index` built while
/// the server runs (the swap is atomic: searches in flight finish on the old one).
pub fn follow_index_rebuilds(kb: Arc<KnowledgeBase>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            tick.tick().await;
            let kb = kb.clone();
            match tokio::task::spawn_blocking(move || kb.reload_if_replaced()).await {
                Ok(Err(e)) => tracing::warn!("cannot open the rebuilt index: {e}"),
                Err(e) => tracing::warn!("index reload task failed: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    })
}

/// Serves the API on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Nagle's algorithm against delayed ACKs stalls small compressed replies by 40 ms:
    // every accepted socket gets TCP_NODELAY.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {e}");
        }
    });
    // Event streams never end by themselves: end them when shutdown starts, or the
    // graceful shutdown would wait for them forever.
    let db = state.db.clone();
    let shutdown = async move {
        shutdown.await;
        if let Some(db) = db {
            db.end_event_streams();
        }
    };
    // Connection info gives handlers the client's address (anonymous feedback limits).
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
