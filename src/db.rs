//! PostgreSQL: the two pools, migrations, the `authenticator` login set-up, availability
//! tracking, and [`Database::read_as`] / [`Database::write_as`], which run a closure in
//! a transaction scoped to a user's verified claims.
//!
//! Invariants:
//! * Requests run on the *app* pool, which logs in as `authenticator` (LOGIN, NOINHERIT,
//!   member of `anon` and `authenticated`). By itself that role can read no ticket: a
//!   query that skipped the set-up fails with "permission denied".
//! * Every user transaction starts with ONE statement, `hc_request_setup($claims)`
//!   (migration 0004), which sets `request.jwt.claims` and `role = authenticated`
//!   transaction-locally, like PostgREST's `set_config` pair, creates the caller's
//!   profile on first sight and returns the caller's role.
//! * The hottest reads skip the transaction: [`Database::read_one_as`] runs ONE
//!   statement that calls an `hc_*` request function (migration 0008), which does the
//!   same set-up for the statement's own transaction and then reads.
//! * Migrations and administrative commands use the *owner* pool (`DATABASE_URL`).
//! * Both pools are lazy with a short acquire timeout, so the service starts without
//!   PostgreSQL; a background task migrates once it appears. While it is known to be
//!   down, callers get [`DbError::Unavailable`] at once.
//! * **Cancel safety by construction**: every piece of user work runs on a task of its
//!   own ([`run_to_end`]), so a client that goes away mid-request cannot cut a
//!   transaction between `BEGIN` and its end; the connection goes back to the pool only
//!   after a commit or rollback. Behind that, a connection is never pooled while sqlx
//!   counts an open transaction (`after_release`), and the server ends any session left
//!   idle in a transaction (`idle_in_transaction_session_timeout`).
//! * **A busy pool is not an outage**: an acquire that times out while every connection
//!   is in use is [`DbError::Busy`] for that request alone; only a failing connection
//!   marks the database down.
//! * **Budgets**: event streams and article votes take their connections through small
//!   semaphores ([`Budget`]), so that however many of them wait, ticket requests keep
//!   most of the pool.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::{Claims, Role};

/// The local development database.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/helpcenter";
/// How long a request waits for a connection before answering 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections of the request pool.
pub const APP_POOL_SIZE: u32 = 16;
/// At most this many of the pool's connections serve event streams at once.
pub const STREAM_CONNECTIONS: usize = 4;
/// At most this many of the pool's connections serve article votes at once.
pub const VOTE_CONNECTIONS: usize = 2;
/// The server ends a request session left idle inside a transaction this long: the last
/// line of defence should a connection ever go back to the pool mid-transaction.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "5s";

/// The migrations, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A unit of work run inside a user transaction.
pub type Work<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// Who runs a user transaction, as the database sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// `auth.uid()`.
    pub user_id: Uuid,
    /// The profile's role.
    pub role: Role,
}

/// Who a one-statement read ([`Database::read_one_as`]) runs for.
#[derive(Debug, Clone)]
pub enum ReadScope {
    /// A request: the statement calls an `hc_*` request function (migration 0008) with
    /// these verified claims; the function sets up Row Level Security for them and
    /// reads, in the same statement.
    Claims {
        /// The claims as `request.jwt.claims` takes them.
        json: String,
        /// `sub`: what `auth.uid()` will return.
        user_id: Uuid,
    },
    /// **Benchmarks only**: the owner's connection, RLS bypassed; the statement calls
    /// the page function directly for this session.
    Bypassed(Session),
}

impl ReadScope {
    /// The caller's profile id.
    pub fn user_id(&self) -> Uuid {
        match self {
            ReadScope::Claims { user_id, .. } => *user_id,
            ReadScope::Bypassed(session) => session.user_id,
        }
    }
}

/// Errors of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// PostgreSQL cannot be reached, or the schema is not migrated yet.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Every connection of the caller's budget stayed in use for the whole acquire
    /// timeout: this request only, the database itself is fine.
    #[error("database busy: {0}")]
    Busy(String),
    /// A statement failed (constraint, policy, trigger, or a bug).
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The task running the work failed (a bug: a panic in the work).
    #[error("database task failed: {0}")]
    Task(String),
}

/// Whose share of the request pool a piece of work draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Ticket requests: the whole pool.
    Requests,
    /// Event streams' reads: at most [`STREAM_CONNECTIONS`] at once.
    Streams,
    /// Article votes: at most [`VOTE_CONNECTIONS`] at once.
    Votes,
}

/// What the outcome of `users set-role` was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    /// Exactly this profile now has the role.
    Changed {
        /// The profile.
        id: Uuid,
        /// Its email, if known.
        email: Option<String>,
    },
    /// No profile has that email.
    NoSuchEmail,
    /// Several profiles have that email (compared case-insensitively): nothing changed;
    /// name one by id.
    Ambiguous(Vec<(Uuid, Option<String>)>),
}

/// Runs `work` on a task of its own and waits for it. The request that waits may be
/// dropped (the client went away): the task still runs to its end, commit or rollback,
/// and returns its connection clean. This is what makes user transactions cancel-safe.
async fn run_to_end<T, Fut>(work: Fut) -> Result<T, DbError>
where
    T: Send + 'static,
    Fut: Future<Output = Result<T, DbError>> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(e) => Err(DbError::Task(e.to_string())),
    }
}

/// Where to connect.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// The owner's URL: migrations and administration.
    pub database_url: String,
    /// The login role that serves requests; derived from the owner's URL when absent.
    pub authenticator_url: Option<String>,
}

const STARTING: u8 = 0;
const READY: u8 = 1;
const DOWN: u8 = 2;

/// The database handle shared by every request.
pub struct Database {
    owner: PgPool,
    app: PgPool,
    /// The `LISTEN` connection's own pool (authenticator), so that it never holds one
    /// of the request pool's connections.
    listener: PgPool,
    owner_opts: PgConnectOptions,
    app_opts: PgConnectOptions,
    /// Set when the authenticator's password is ours to manage.
    managed_password: Option<String>,
    state: AtomicU8,
    /// Milliseconds since `epoch` of the last outage: pooled connections older than
    /// that are discarded instead of failing a request.
    last_down_ms: Arc<AtomicU64>,
    epoch: Instant,
    stream_permits: tokio::sync::Semaphore,
    vote_permits: tokio::sync::Semaphore,
    /// User transactions and one-statement reads started on the request pool.
    work_started: AtomicU64,
    bypass_rls: Option<Mutex<HashMap<Uuid, Role>>>,
    /// The newest ticket event id announced by PostgreSQL (`NOTIFY hc_ticket_events`),
    /// from any replica; subscribers wake on each change. Holds one value, so a slow
    /// subscriber never makes it buffer.
    ticket_events: tokio::sync::watch::Sender<i64>,
    /// Ephemeral signals (typing, agents viewing a ticket) from every replica
    /// (`NOTIFY hc_ticket_signals`). Bounded: a subscriber that falls behind skips the
    /// oldest, which are stale by then anyway.
    ticket_signals: tokio::sync::broadcast::Sender<TicketSignal>,
    ticket_events_listening: std::sync::Once,
    /// Set when the server shuts down: event streams end, so that a graceful shutdown
    /// is not held open forever by subscribers.
    closing: tokio::sync::watch::Sender<bool>,
}

/// An ephemeral ticket signal: not stored, delivered to whoever listens right now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TicketSignal {
    /// `typing`, `viewing` or `left`.
    pub kind: String,
    /// The ticket.
    pub ticket_id: Uuid,
    /// Who is typing or viewing.
    pub user_id: Uuid,
    /// The ticket's requester, as the sender's Row Level Security read it: with staff,
    /// who may receive a typing signal (streams decide without a read of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_id: Option<Uuid>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Builds the (lazy) pools; connects to nothing yet.
    pub fn new(config: &DbConfig) -> Result<Arc<Database>, sqlx::Error> {
        let owner_opts = PgConnectOptions::from_str(&config.database_url)?
            .application_name("helpcenter-owner")
            .disable_statement_logging();
        let (app_opts, managed_password) = match &config.authenticator_url {
            Some(url) => (PgConnectOptions::from_str(url)?, None),
            None => {
                let password = derived_password(&config.database_url);
                (
                    owner_opts
                        .clone()
                        .username("authenticator")
                        .password(&password),
                    Some(password),
                )
            }
        };
        let app_opts = app_opts
            .application_name("helpcenter")
            .options([(
                "idle_in_transaction_session_timeout",
                IDLE_IN_TRANSACTION_TIMEOUT,
            )])
            .disable_statement_logging();
        let epoch = Instant::now();
        let last_down_ms = Arc::new(AtomicU64::new(0));
        let owner = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(owner_opts.clone());
        let down = last_down_ms.clone();
        let app = PgPoolOptions::new()
            .max_connections(APP_POOL_SIZE)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // No ping before every request (a round trip): connections made before the
            // last outage are dropped instead, see `last_down_ms`.
            .test_before_acquire(false)
            .before_acquire(move |_conn, meta| {
                let down_at = down.load(Ordering::Relaxed);
                let born_at = (epoch.elapsed().saturating_sub(meta.age)).as_millis() as u64;
                Box::pin(async move { Ok(down_at == 0 || born_at > down_at) })
            })
            // A connection whose transaction sqlx still counts as open is closed, not
            // pooled (the work runs to its end on its own task, so this is a backstop).
            .after_release(|conn, _meta| {
                let clean = !conn.is_in_transaction();
                if !clean {
                    tracing::warn!("a connection came back inside a transaction: closed");
                }
                Box::pin(async move { Ok(clean) })
            })
            .connect_lazy_with(app_opts.clone());
        let listener = PgPoolOptions::new()
            .max_connections(2)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(app_opts.clone());
        Ok(Arc::new(Database {
            owner,
            app,
            listener,
            owner_opts,
            app_opts,
            managed_password,
            state: AtomicU8::new(STARTING),
            last_down_ms,
            epoch,
            stream_permits: tokio::sync::Semaphore::new(STREAM_CONNECTIONS),
            vote_permits: tokio::sync::Semaphore::new(VOTE_CONNECTIONS),
            work_started: AtomicU64::new(0),
            bypass_rls: None,
            ticket_events: tokio::sync::watch::channel(0).0,
            ticket_signals: tokio::sync::broadcast::channel(256).0,
            ticket_events_listening: std::sync::Once::new(),
            closing: tokio::sync::watch::channel(false).0,
        }))
    }

    /// Ends every event stream of this replica (the server is shutting down; clients
    /// reconnect elsewhere with `Last-Event-ID`).
    pub fn end_event_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Turns true when the event streams must end.
    pub fn event_streams_closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Receives the ephemeral signals of every replica (starts the listener like
    /// [`Self::subscribe_ticket_events`]).
    pub fn subscribe_ticket_signals(
        self: &Arc<Self>,
    ) -> tokio::sync::broadcast::Receiver<TicketSignal> {
        let _ = self.subscribe_ticket_events();
        self.ticket_signals.subscribe()
    }

    /// Sends an ephemeral signal to every replica's subscribers (`pg_notify`, with the
    /// payload bound).
    pub async fn send_ticket_signal(&self, signal: &TicketSignal) -> Result<(), DbError> {
        let payload = serde_json::to_string(signal).unwrap_or_default();
        sqlx::query("select pg_catalog.pg_notify('hc_ticket_signals', $1)")
            .bind(payload)
            .execute(&self.app)
            .await
            .map_err(|e| self.classify(e))?;
        Ok(())
    }

    /// Wakes on every ticket event written through any replica. The first call starts
    /// this replica's one `LISTEN` connection (reconnected after outages, after which
    /// subscribers are woken to read what they missed from the table).
    pub fn subscribe_ticket_events(self: &Arc<Self>) -> tokio::sync::watch::Receiver<i64> {
        self.ticket_events_listening.call_once(|| {
            let db = Arc::downgrade(self);
            tokio::spawn(listen_for_ticket_events(db));
        });
        self.ticket_events.subscribe()
    }

    /// **Benchmarks only.** The same handle, but user work runs on the owner's pool with
    /// no transaction, no role switch and no claims: Row Level Security is bypassed.
    /// Exists to measure what RLS costs; never reachable from the command line.
    pub fn without_rls_for_benchmarks(config: &DbConfig) -> Result<Arc<Database>, sqlx::Error> {
        let db = Database::new(config)?;
        let mut db = Arc::try_unwrap(db).map_err(|_| sqlx::Error::PoolClosed)?;
        db.bypass_rls = Some(Mutex::new(HashMap::new()));
        Ok(Arc::new(db))
    }

    /// The owner's pool (migrations, administration, tests).
    pub fn owner_pool(&self) -> &PgPool {
        &self.owner
    }

    /// The request pool (`authenticator`).
    pub fn app_pool(&self) -> &PgPool {
        &self.app
    }

    /// How many user transactions and one-statement reads this handle has started: what
    /// a request costs the database, counted (tests check that a typing signal costs
    /// one read however many streams are open).
    pub fn work_started(&self) -> u64 {
        self.work_started.load(Ordering::Relaxed)
    }

    /// Whether the schema is migrated and the database was reachable last time.
    pub fn is_ready(&self) -> bool {
        self.state.load(Ordering::Acquire) == READY
    }

    /// Starts the background task that migrates once PostgreSQL is reachable and then
    /// watches for recovery after outages.
    pub fn start(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let db = self.clone();
        tokio::spawn(async move { db.maintain().await })
    }

    async fn maintain(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.migrate_now().await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!("database not ready, retrying in {backoff:?}: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.state.store(READY, Ordering::Release);
        tracing::info!("database ready");
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if self.state.load(Ordering::Acquire) != DOWN {
                continue;
            }
            let probe = tokio::time::timeout(Duration::from_secs(1), async {
                let mut conn = PgConnection::connect_with(&self.app_opts).await?;
                sqlx::query("select 1").execute(&mut conn).await?;
                conn.close().await
            })
            .await;
            if let Ok(Ok(())) = probe {
                self.state.store(READY, Ordering::Release);
                tracing::info!("database reachable again");
            }
        }
    }

    /// Creates the database if missing, runs the migrations and sets up the login role.
    pub async fn migrate_now(&self) -> Result<(), sqlx::Error> {
        self.create_database_if_missing().await?;
        MIGRATOR.run(&self.owner).await?;
        if let Some(password) = &self.managed_password {
            self.set_up_authenticator(password).await?;
        }
        Ok(())
    }

    async fn create_database_if_missing(&self) -> Result<(), sqlx::Error> {
        match PgConnection::connect_with(&self.owner_opts).await {
            Ok(conn) => return conn.close().await,
            Err(e) if sqlstate(&e).as_deref() == Some("3D000") => {}
            Err(e) => return Err(e),
        }
        let name = self
            .owner_opts
            .get_database()
            .unwrap_or("postgres")
            .to_string();
        tracing::info!("creating database {name}");
        let mut conn =
            PgConnection::connect_with(&self.owner_opts.clone().database("postgres")).await?;
        // Utility statements take no bind parameters: quote the identifier.
        let sql = format!("create database {}", quote_ident(&name));
        match sqlx::query(&sql).execute(&mut conn).await {
            Ok(_) => {}
            Err(e) if sqlstate(&e).as_deref() == Some("42P04") => {} // created concurrently
            Err(e) => return Err(e),
        }
        conn.close().await
    }

    /// Gives `authenticator` the password derived from the owner's URL unless it can
    /// already log in with it: idempotent, and parallel services on one cluster agree.
    async fn set_up_authenticator(&self, password: &str) -> Result<(), sqlx::Error> {
        match PgConnection::connect_with(&self.app_opts).await {
            Ok(conn) => return conn.close().await,
            Err(e) if matches!(sqlstate(&e).as_deref(), Some("28P01") | Some("28000")) => {}
            Err(e) => return Err(e),
        }
        debug_assert!(password.chars().all(|c| c.is_ascii_hexdigit()));
        tracing::info!("setting the password of role authenticator");
        // `alter role` takes no bind parameters; the password is hex digits only.
        let sql = format!("alter role authenticator with login password '{password}'");
        sqlx::query(&sql).execute(&self.owner).await?;
        Ok(())
    }

    /// Runs `work` in a read transaction as the caller. Nothing is committed unless the
    /// set-up created the caller's profile; the transaction's `ROLLBACK` is queued and
    /// sent when the connection goes back to the pool, after the response. The work
    /// runs to its end even if the caller stops waiting (see [`run_to_end`]).
    pub async fn read_as<T, F>(self: &Arc<Self>, claims: &Claims, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, Session) -> Work<'c, T> + Send + 'static,
    {
        self.run_as(Budget::Requests, claims, false, work).await
    }

    /// [`Self::read_as`] within a budget: event streams read with [`Budget::Streams`].
    pub async fn read_as_within<T, F>(
        self: &Arc<Self>,
        budget: Budget,
        claims: &Claims,
        work: F,
    ) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, Session) -> Work<'c, T> + Send + 'static,
    {
        self.run_as(budget, claims, false, work).await
    }

    /// Runs `work` in a transaction as the caller and commits it (to its end even if the
    /// caller stops waiting: a 201 that never reached the client is still committed).
    pub async fn write_as<T, F>(self: &Arc<Self>, claims: &Claims, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, Session) -> Work<'c, T> + Send + 'static,
    {
        self.run_as(Budget::Requests, claims, true, work).await
    }

    /// [`Self::write_as`] within a budget: signed-in votes write with [`Budget::Votes`].
    pub async fn write_as_within<T, F>(
        self: &Arc<Self>,
        budget: Budget,
        claims: &Claims,
        work: F,
    ) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, Session) -> Work<'c, T> + Send + 'static,
    {
        self.run_as(budget, claims, true, work).await
    }

    /// Runs ONE read statement for the caller, outside any explicit transaction: one
    /// round trip where [`Database::read_as`] needs three (`BEGIN`, the set-up, the
    /// query). `work` must run a single statement that calls an `hc_*` request function
    /// (migration 0008) with [`ReadScope::Claims`]: the function sets the role and the
    /// claims for the statement's own transaction, which ends with the statement.
    ///
    /// `work` may be called up to twice more, on fresh connections, when a connection
    /// turns out dead (the server restarted): a read is safe to repeat.
    ///
    /// Only outside a transaction: inside one, the role and claims would last until it
    /// ends (migration 0009).
    pub async fn read_one_as<T, F>(self: &Arc<Self>, claims: &Claims, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut PgConnection, ReadScope) -> Work<'c, T> + Send + 'static,
    {
        self.check_ready()?;
        let db = self.clone();
        let claims = claims.clone();
        run_to_end(async move { db.read_one_now(&claims, work).await }).await
    }

    async fn read_one_now<T, F>(&self, claims: &Claims, work: F) -> Result<T, DbError>
    where
        F: for<'c> Fn(&'c mut PgConnection, ReadScope) -> Work<'c, T>,
    {
        if let Some(roles) = &self.bypass_rls {
            let mut conn = self.owner.acquire().await.map_err(|e| self.classify(e))?;
            let session = self.bypassed_session(roles, claims, &mut conn).await?;
            return work(&mut conn, ReadScope::Bypassed(session))
                .await
                .map_err(|e| self.classify(e));
        }
        let scope = ReadScope::Claims {
            json: claims.to_db_json(),
            user_id: claims.sub,
        };
        self.work_started.fetch_add(1, Ordering::Relaxed);
        let mut attempt = 0;
        loop {
            let result = match self.app.acquire().await {
                Ok(mut conn) => {
                    let result = work(&mut conn, scope.clone()).await;
                    if matches!(&result, Err(e) if is_connection_error(e)) {
                        // Not back into the pool: the next attempt needs a live one.
                        drop(conn.detach());
                    }
                    result
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if self.retry_after_lost_connection(&e, &mut attempt) => {}
                other => return other.map_err(|e| self.classify(e)),
            }
        }
    }

    /// Whether a statement that failed with `e` before doing anything should be tried
    /// again on a fresh connection: at most twice, and only for a connection that died.
    /// One dead connection may be alone (a backend killed, a proxy's idle timeout), so
    /// the first retry just takes another; a second in a row means the server
    /// restarted and left every pooled connection dead, so the pool is told to drop
    /// those made before now instead of handing out the next dead one.
    fn retry_after_lost_connection(&self, e: &sqlx::Error, attempt: &mut u32) -> bool {
        if *attempt >= 2 || !is_connection_error(e) || matches!(e, sqlx::Error::PoolTimedOut) {
            return false;
        }
        *attempt += 1;
        if *attempt == 2 {
            let now = self.epoch.elapsed().as_millis() as u64;
            self.last_down_ms.store(now.max(1), Ordering::Relaxed);
        }
        true
    }

    fn check_ready(&self) -> Result<(), DbError> {
        match self.state.load(Ordering::Acquire) {
            READY => Ok(()),
            STARTING => Err(DbError::Unavailable("the database is not ready yet".into())),
            _ => Err(DbError::Unavailable("the database is unreachable".into())),
        }
    }

    /// Takes a permit of `budget` (none for ticket requests), waiting at most the
    /// acquire timeout.
    async fn permit(
        &self,
        budget: Budget,
    ) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, DbError> {
        let semaphore = match budget {
            Budget::Requests => return Ok(None),
            Budget::Streams => &self.stream_permits,
            Budget::Votes => &self.vote_permits,
        };
        match tokio::time::timeout(ACQUIRE_TIMEOUT, semaphore.acquire()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(DbError::Busy(format!(
                "too many {} at once; try again in a moment",
                match budget {
                    Budget::Votes => "votes",
                    _ => "event streams reading",
                }
            ))),
        }
    }

    async fn run_as<T, F>(
        self: &Arc<Self>,
        budget: Budget,
        claims: &Claims,
        commit: bool,
        work: F,
    ) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, Session) -> Work<'c, T> + Send + 'static,
    {
        self.check_ready()?;
        let db = self.clone();
        let claims = claims.clone();
        run_to_end(async move {
            let _permit = db.permit(budget).await?;
            db.run_now(&claims, commit, work).await
        })
        .await
    }

    async fn run_now<T, F>(&self, claims: &Claims, commit: bool, work: F) -> Result<T, DbError>
    where
        F: for<'c> FnOnce(&'c mut PgConnection, Session) -> Work<'c, T>,
    {
        if let Some(roles) = &self.bypass_rls {
            return self.run_bypassing_rls(roles, claims, work).await;
        }
        self.work_started.fetch_add(1, Ordering::Relaxed);
        // A connection that died with the server fails at BEGIN; nothing ran yet, so a
        // fresh connection may be tried.
        let mut attempt = 0;
        let mut tx = loop {
            match self.app.begin().await {
                Ok(tx) => break tx,
                Err(e) if self.retry_after_lost_connection(&e, &mut attempt) => {}
                Err(e) => return Err(self.classify(e)),
            }
        };
        let (role, created): (String, bool) =
            sqlx::query_as("select role, created from public.hc_request_setup($1)")
                .bind(claims.to_db_json())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.classify(e))?;
        let role = Role::parse(&role).unwrap_or(Role::Customer);
        let session = Session {
            user_id: claims.sub,
            role,
        };
        let out = work(&mut tx, session).await.map_err(|e| self.classify(e))?;
        if commit || created {
            tx.commit().await.map_err(|e| self.classify(e))?;
        }
        Ok(out)
    }

    /// Runs `work` in a transaction as Supabase's `anon` role (no user: claims
    /// `{"role":"anon"}`) and commits it, within the votes' budget. For the few things
    /// anyone may do, such as an anonymous article vote; what `anon` may touch is the
    /// grants' and policies' call.
    pub async fn write_as_anonymous<T, F>(self: &Arc<Self>, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection) -> Work<'c, T> + Send + 'static,
    {
        self.check_ready()?;
        let db = self.clone();
        run_to_end(async move {
            let _permit = db.permit(Budget::Votes).await?;
            db.work_started.fetch_add(1, Ordering::Relaxed);
            let mut tx = db.app.begin().await.map_err(|e| db.classify(e))?;
            sqlx::query(
                "select pg_catalog.set_config('request.jwt.claims', $1, true), \
                        pg_catalog.set_config('role', 'anon', true)",
            )
            .bind(r#"{"role":"anon"}"#)
            .execute(&mut *tx)
            .await
            .map_err(|e| db.classify(e))?;
            let out = work(&mut tx).await.map_err(|e| db.classify(e))?;
            tx.commit().await.map_err(|e| db.classify(e))?;
            Ok(out)
        })
        .await
    }

    async fn run_bypassing_rls<T, F>(
        &self,
        roles: &Mutex<HashMap<Uuid, Role>>,
        claims: &Claims,
        work: F,
    ) -> Result<T, DbError>
    where
        F: for<'c> FnOnce(&'c mut PgConnection, Session) -> Work<'c, T>,
    {
        let mut conn = self.owner.acquire().await.map_err(|e| self.classify(e))?;
        let session = self.bypassed_session(roles, claims, &mut conn).await?;
        work(&mut conn, session).await.map_err(|e| self.classify(e))
    }

    /// The benchmark baseline's caller, with the role looked up once per user.
    async fn bypassed_session(
        &self,
        roles: &Mutex<HashMap<Uuid, Role>>,
        claims: &Claims,
        conn: &mut PgConnection,
    ) -> Result<Session, DbError> {
        let known = roles.lock().ok().and_then(|m| m.get(&claims.sub).copied());
        let role = match known {
            Some(r) => r,
            None => {
                let (r,): (String,) =
                    sqlx::query_as("select role from public.profiles where id = $1")
                        .bind(claims.sub)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(|e| self.classify(e))?;
                let r = Role::parse(&r).unwrap_or(Role::Customer);
                if let Ok(mut m) = roles.lock() {
                    m.insert(claims.sub, r);
                }
                r
            }
        };
        Ok(Session {
            user_id: claims.sub,
            role,
        })
    }

    /// Gives exactly one profile the role `role`, on the owner's connection: `who` is a
    /// profile id (an id without a profile yet gets one), or an email address that
    /// exactly one profile has (compared case-insensitively, as addresses are). When
    /// several profiles share the address, nothing changes and they are listed: a
    /// look-alike account must never be promoted along with the real one.
    pub async fn set_role(&self, who: &str, role: Role) -> Result<RoleChange, sqlx::Error> {
        if let Ok(id) = Uuid::parse_str(who) {
            let (email,): (Option<String>,) = sqlx::query_as(
                "insert into public.profiles (id, role) values ($1, $2) \
                 on conflict (id) do update set role = excluded.role returning email",
            )
            .bind(id)
            .bind(role.as_str())
            .fetch_one(&self.owner)
            .await?;
            return Ok(RoleChange::Changed { id, email });
        }
        let mut tx = self.owner.begin().await?;
        // Locked, so a profile created meanwhile cannot slip between the count and the
        // update.
        let matches: Vec<(Uuid, Option<String>)> = sqlx::query_as(
            "select id, email from public.profiles where lower(email) = lower($1) \
             order by email, id for update",
        )
        .bind(who)
        .fetch_all(&mut *tx)
        .await?;
        match matches.as_slice() {
            [] => Ok(RoleChange::NoSuchEmail),
            [(id, email)] => {
                sqlx::query("update public.profiles set role = $2 where id = $1")
                    .bind(id)
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(RoleChange::Changed {
                    id: *id,
                    email: email.clone(),
                })
            }
            _ => Ok(RoleChange::Ambiguous(matches)),
        }
    }

    /// Sorts an error into "the database is unreachable" (and remembers the outage),
    /// "the pool is busy" (this request only), or a statement's failure.
    fn classify(&self, e: sqlx::Error) -> DbError {
        if matches!(e, sqlx::Error::PoolTimedOut) && self.pool_is_saturated() {
            // Every connection is in use: load, not an outage. Nothing is condemned and
            // the next request is served as soon as a connection comes back.
            return DbError::Busy("every database connection is in use; try again".into());
        }
        if is_connection_error(&e) {
            // A timed-out acquire with room in the pool means no connection could be
            // made: that is an outage, but the pooled connections are not condemned.
            if !matches!(e, sqlx::Error::PoolTimedOut) {
                let now = self.epoch.elapsed().as_millis() as u64;
                self.last_down_ms.store(now.max(1), Ordering::Relaxed);
            }
            if self.state.load(Ordering::Acquire) == READY {
                tracing::warn!("database unreachable: {e}");
                self.state.store(DOWN, Ordering::Release);
            }
            return DbError::Unavailable("the database is unreachable".into());
        }
        DbError::Sql(e)
    }

    /// Whether every connection the request pool may hold exists and is handed out.
    fn pool_is_saturated(&self) -> bool {
        self.app.size() >= APP_POOL_SIZE && self.app.num_idle() == 0
    }
}

/// The SQLSTATE of a database error.
pub fn sqlstate(e: &sqlx::Error) -> Option<std::borrow::Cow<'_, str>> {
    match e {
        sqlx::Error::Database(db) => db.code(),
        _ => None,
    }
}

/// Errors meaning "no usable connection", as opposed to a statement's failure.
pub fn is_connection_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now,
        // class 08: connection exceptions.
        sqlx::Error::Database(_) => sqlstate(e)
            .is_some_and(|c| matches!(&*c, "57P01" | "57P02" | "57P03") || c.starts_with("08")),
        _ => false,
    }
}

/// A password for `authenticator` that every service sharing the owner's credentials
/// derives alike (so parallel services never fight over it), and nobody else knows.
fn derived_password(owner_url: &str) -> String {
    // Everything up to the database name: scheme, credentials, host and port.
    let authority_end = owner_url
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| owner_url[start..].find('/').map(|j| start + j))
        .unwrap_or(owner_url.len());
    let key = blake3::derive_key(
        "helpcenter authenticator password v1",
        &owner_url.as_bytes()[..authority_end],
    );
    key.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The replica's `LISTEN hc_ticket_events` loop: publishes each announced id, and
/// wakes every subscriber after a reconnection (notifications sent meanwhile are lost;
/// the events are not: subscribers read `id > last` from the table).
async fn listen_for_ticket_events(db: std::sync::Weak<Database>) {
    let mut pause = Duration::from_millis(200);
    loop {
        let Some(pool) = db.upgrade().map(|d| d.listener.clone()) else {
            return;
        };
        let listener = async {
            let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
            l.listen_all(["hc_ticket_events", "hc_ticket_signals"])
                .await?;
            Ok::<_, sqlx::Error>(l)
        };
        let mut listener = match listener.await {
            Ok(l) => l,
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        pause = Duration::from_millis(200);
        if let Some(d) = db.upgrade() {
            d.ticket_events.send_modify(|_| {});
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) if n.channel() == "hc_ticket_signals" => {
                    let Some(d) = db.upgrade() else { return };
                    if let Ok(signal) = serde_json::from_str::<TicketSignal>(n.payload()) {
                        let _ = d.ticket_signals.send(signal);
                    }
                }
                Ok(Some(n)) => {
                    let Some(d) = db.upgrade() else { return };
                    let id: i64 = n.payload().parse().unwrap_or(0);
                    d.ticket_events
                        .send_modify(|latest| *latest = (*latest).max(id));
                }
                // The connection was lost (and will be re-established): wake everyone.
                Ok(None) => {
                    let Some(d) = db.upgrade() else { return };
                    d.ticket_events.send_modify(|_| {});
                }
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_password_ignores_the_database_name() {
        let a = derived_password("postgres://u:p@h:5432/one");
        let b = derived_password("postgres://u:p@h:5432/two?sslmode=disable");
        let c = derived_password("postgres://u:other@h:5432/one");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("hc_test"), "\"hc_test\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
