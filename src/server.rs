//! Running the HTTP server: listener set-up (hyper's HTTP/1 with a header-read timeout
//! and a connection cap), start-up indexing in the background, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

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

/// Limits of the HTTP server itself.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and to start its next request on
    /// a kept-alive connection (hyper starts this timer whenever it waits for a request
    /// head), after which the connection is closed.
    pub header_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves the API on `listener` with the default [`ServeOptions`] until `shutdown`
/// resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ServeOptions::default(), shutdown).await
}

/// Largest request head hyper buffers (its own hard limit, answered 431 with no body
/// before any handler runs). The service's own, lower limits on the URI and the
/// headers answer problem+json first (`http::HEADER_BYTES_LIMIT`, `http::URI_LIMIT`).
const MAX_BUF_SIZE: usize = 256 * 1024;

/// Serves the API on `listener` until `shutdown` resolves, then drains connections:
/// stops accepting, ends event streams, lets requests in flight finish.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let db = state.db.clone();
    let router = router(state);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(MAX_BUF_SIZE)
        .keep_alive(true);
    let connections = Arc::new(Semaphore::new(options.max_connections));
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // At the cap, stop accepting until a connection ends.
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (tcp, addr) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Nagle's algorithm against delayed ACKs stalls small compressed replies by
        // 40 ms: every accepted socket gets TCP_NODELAY.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {e}");
        }
        let router = router.clone();
        // Connection info gives handlers the client's address (anonymous limits).
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(addr));
            router.clone().oneshot(request)
        });
        let connection = http.serve_connection(TokioIo::new(tcp), service);
        let mut closing = closing.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("connection ended: {e}");
                    }
                    return;
                }
                _ = closing.wait_for(|closing| *closing) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    // Event streams never end by themselves: end them when shutdown starts, or the
    // graceful shutdown would wait for them forever.
    if let Some(db) = db {
        db.end_event_streams();
    }
    let _ = closing_tx.send(true);
    // Every connection holds a permit: all of them back means all connections ended.
    let _ = connections
        .acquire_many(u32::try_from(options.max_connections).unwrap_or(u32::MAX))
        .await;
    Ok(())
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
