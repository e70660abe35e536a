//! Search over HTTP under load, side by side with Postgres full-text search on the same
//! articles and the same queries, plus index build time and the server's memory.
//!
//! Run: `bash scripts/pg-up.sh && cargo bench --bench http_search` (MDN), or
//! `cargo bench --bench http_search -- --corpus docker-docs`. Options after `--`:
//! `--corpus mdn|docker-docs`, `--seconds 5` (measured per series, after `--warmup 1`),
//! `--concurrency 1,8,64`, `--build-runs 3`, `--no-postgres`, `--database-url URL`
//! (else `HC_BENCH_FTS_DATABASE_URL`, else the local `helpcenter_fts_bench`, created if
//! missing), `--helpcenter PATH` (the binary to run; else the one cargo built for this
//! bench, `target/release/helpcenter`, which a concurrent release build of another
//! checkout sharing the target folder replaces: measure on a quiet machine),
//! `--edits 20` (0: no edit measurement, and the corpus is served in place).
//!
//! What it does, in one run:
//! 1. Copies the corpus to a temporary folder (the edits of step 6 write to it).
//! 2. `helpcenter index` (the release binary cargo builds for benches) on a fresh index
//!    folder, `--build-runs` times: build time, articles per second, peak RSS.
//! 3. `helpcenter serve` on that index, in its own process (its watcher on); waits for
//!    `/readyz`.
//! 4. Loads the same articles into Postgres (the product's loader gives title and body
//!    text; a GIN index on a tsvector with weight A for the title and B for the body),
//!    unless the table already holds exactly these files.
//! 5. For each concurrency: keep-alive HTTP/1.1 connections, each sending
//!    `GET /api/v1/search?q=...` back to back, cycling through the committed query list
//!    (`benches/queries/<corpus>.txt`), as browsers call it (`Accept-Encoding: gzip`),
//!    then the same without compression, then the same queries on Postgres from a pool
//!    of as many connections (`websearch_to_tsquery`, `ts_rank_cd`, top 10 with
//!    `ts_headline` snippets). Requests per second, p50/p99/max latency, and the number
//!    of requests over 30 ms: a compressed reply stalled by Nagle's algorithm against
//!    the client's delayed ACK takes about 40 ms, so that count must stay at 0.
//!    The server's resident memory (`/proc/<pid>/status`) before and after the load.
//! 6. Single edit to visible: editor-style saves of one article at a time, each timed
//!    until the server's search finds the new word.
//!
//! The load generator runs on one thread, so that on a small machine it takes at most
//! one core from the server it measures. Postgres is measured from this process over
//! sqlx, without HTTP in front: what a backend built on it would pay at least.

// Shared with the other search bench; each uses only part of it.
#[allow(dead_code)]
mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ms, percentile, BenchQuery, Corpus};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{ACCEPT_ENCODING, CONTENT_ENCODING, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Row};
use tokio::net::TcpStream;

/// A reply slower than this counts as stalled: the Nagle/delayed-ACK stall is ~40 ms,
/// a search on this corpus a few milliseconds at most.
const STALL: Duration = Duration::from_millis(30);

/// Bound of the wait for `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(300);

const DEFAULT_FTS_DATABASE_URL: &str =
    "postgres://postgres:postgres@127.0.0.1:5432/helpcenter_fts_bench";

/// Command-line options (after `cargo bench --bench http_search --`).
struct Options {
    corpus: Corpus,
    seconds: f64,
    warmup: f64,
    concurrency: Vec<usize>,
    build_runs: usize,
    postgres: bool,
    database_url: String,
    helpcenter: PathBuf,
    edits: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench http_search -- [--corpus mdn|docker-docs] [--seconds N] \
         [--warmup N] [--concurrency 1,8,64] [--build-runs N] [--no-postgres] [--database-url URL] \
         [--helpcenter PATH] [--edits N]"
    );
    std::process::exit(2)
}

fn parse_options() -> Options {
    let mut o = Options {
        corpus: Corpus::Mdn,
        seconds: 5.0,
        warmup: 1.0,
        concurrency: vec![1, 8, 64],
        build_runs: 3,
        postgres: true,
        database_url: std::env::var("HC_BENCH_FTS_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_FTS_DATABASE_URL.into()),
        helpcenter: PathBuf::from(env!("CARGO_BIN_EXE_helpcenter")),
        edits: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            "--corpus" => o.corpus = Corpus::parse(&value()).unwrap_or_else(|| usage()),
            "--seconds" => o.seconds = value().parse().unwrap_or_else(|_| usage()),
            "--warmup" => o.warmup = value().parse().unwrap_or_else(|_| usage()),
            "--concurrency" => {
                o.concurrency = value()
                    .split(',')
                    .map(|n| n.trim().parse().unwrap_or_else(|_| usage()))
                    .collect()
            }
            "--build-runs" => o.build_runs = value().parse().unwrap_or_else(|_| usage()),
            "--no-postgres" => o.postgres = false,
            "--database-url" => o.database_url = value(),
            "--helpcenter" => o.helpcenter = PathBuf::from(value()),
            "--edits" => o.edits = value().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if o.concurrency.contains(&0) || o.seconds <= 0.0 {
        usage();
    }
    o
}

// ---------------------------------------------------------------------------------
// Index build and the server process
// ---------------------------------------------------------------------------------

/// One `helpcenter index` run on a fresh folder.
struct Build {
    took: Duration,
    articles: usize,
    /// The process's peak resident memory (VmHWM) as last seen while it ran, in KiB.
    peak_kib: Option<u64>,
}

fn build_index(helpcenter: &Path, articles: &Path, index: &Path) -> Build {
    let started = Instant::now();
    let mut child = Command::new(helpcenter)
        .arg("index")
        .arg("--articles")
        .arg(articles)
        .arg("--index")
        .arg(index)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run helpcenter index");
    // The peak is only readable while the process lives: poll it.
    let mut peak_kib = None;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for helpcenter index") {
            break status;
        }
        if let Some(m) = Memory::of(child.id()) {
            peak_kib = Some(m.hwm);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
    }
    assert!(status.success(), "helpcenter index failed: {stdout}");
    // "indexed 14076 articles (0 drafts skipped, ...) in 3.52s"
    let count = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output of helpcenter index: {stdout}"));
    Build {
        took,
        articles: count,
        peak_kib,
    }
}

/// The `helpcenter serve` process; killed when dropped, so a failed run leaves nothing.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(helpcenter: &Path, articles: &Path, index: &Path, log: PathBuf) -> Server {
        // A free port: bind, read it, release it for the server.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let log_file = std::fs::File::create(&log).expect("server log");
        let child = Command::new(helpcenter)
            .arg("serve")
            .arg("--articles")
            .arg(articles)
            .arg("--index")
            .arg(index)
            .arg("--bind")
            .arg(addr.to_string())
            .stdout(log_file.try_clone().expect("server log"))
            .stderr(log_file)
            .spawn()
            .expect("start helpcenter serve");
        Server { child, addr, log }
    }

    fn memory(&self) -> Option<Memory> {
        Memory::of(self.child.id())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process, from `/proc/<pid>/status` (Linux only), in KiB.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss: u64,
    hwm: u64,
    anon: u64,
    file: u64,
}

impl Memory {
    fn of(pid: u32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        };
        Some(Memory {
            rss: field("VmRSS:")?,
            hwm: field("VmHWM:")?,
            anon: field("RssAnon:").unwrap_or(0),
            file: field("RssFile:").unwrap_or(0),
        })
    }

    fn describe(&self) -> String {
        let mib = |kib: u64| kib as f64 / 1024.0;
        format!(
            "VmRSS {:.0} MiB (anonymous {:.0}, file-backed {:.0}), VmHWM {:.0} MiB",
            mib(self.rss),
            mib(self.anon),
            mib(self.file),
            mib(self.hwm)
        )
    }
}

/// The load averages of `/proc/loadavg`, to note how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Copies the articles folder (hidden and ignored files included, so the loader sees
/// the same tree) for a server whose files the bench may edit.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Saves `text` to `path` the way editors do: a temporary file, renamed over.
fn atomic_save(path: &Path, text: &str) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("x");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// Single edit to visible, end to end: `edits` times, appends a unique word to one
/// article of the served folder (spread over the corpus) and polls the running server's
/// search over HTTP every millisecond until the word finds it. What a writer waits for
/// between saving and seeing the change on the help center.
async fn edit_to_visible(addr: SocketAddr, articles: &Path, edits: usize) -> Vec<Duration> {
    const GIVE_UP: Duration = Duration::from_secs(30);
    let files = helpcenter::kb::loader::list_article_files(articles).expect("list articles");
    let mut sender = connect(addr).await.expect("connect");
    let mut latencies = Vec::with_capacity(edits);
    let step = (files.len() / edits.max(1)).max(1);
    for i in 0..edits.min(files.len()) {
        let path = articles.join(&files[i * step]);
        let text = std::fs::read_to_string(&path).expect("read article");
        let word = format!("zqhttpedit{i:04}x");
        // A trailing space: the word is complete, no prefix expansion.
        let query = BenchQuery {
            q: format!("{word} "),
            category: None,
        }
        .api_path();
        let started = Instant::now();
        atomic_save(&path, &format!("{text}\n\nEdited: {word}\n"));
        loop {
            let reply = get(&mut sender, addr, &query, Encoding::Identity)
                .await
                .expect("search");
            let found = serde_json::from_slice::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["total"].as_u64())
                .is_some_and(|total| total >= 1);
            if found {
                latencies.push(started.elapsed());
                break;
            }
            assert!(
                started.elapsed() < GIVE_UP,
                "the edit of {} never became visible",
                files[i * step]
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Let the watcher go idle, as between a writer's saves.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort();
    latencies
}

// ---------------------------------------------------------------------------------
// HTTP load
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// `Accept-Encoding: gzip`, as browsers ask.
    Gzip,
    /// `Accept-Encoding: identity`: no compression.
    Identity,
}

impl Encoding {
    fn header(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Identity => "identity",
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// A keep-alive HTTP/1.1 connection; the client side keeps the kernel's defaults (no
/// TCP_NODELAY, delayed ACKs), as a browser's does.
async fn connect(addr: SocketAddr) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// What one GET returned.
struct Reply {
    status: StatusCode,
    gzip: bool,
    body: Bytes,
}

async fn get(
    sender: &mut Sender,
    addr: SocketAddr,
    path: &str,
    encoding: Encoding,
) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
    let req = Request::get(path)
        .header(HOST, addr.to_string())
        .header(ACCEPT_ENCODING, encoding.header())
        .body(Empty::new())?;
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let gzip = resp
        .headers()
        .get(CONTENT_ENCODING)
        .is_some_and(|v| v == "gzip");
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(Reply { status, gzip, body })
}

async fn wait_ready(server: &Server) {
    let started = Instant::now();
    loop {
        if let Ok(mut s) = connect(server.addr).await {
            if let Ok(r) = get(&mut s, server.addr, "/readyz", Encoding::Identity).await {
                if r.status == StatusCode::OK {
                    return;
                }
            }
        }
        assert!(
            started.elapsed() < READY_TIMEOUT,
            "the server did not become ready; its log ends with:\n{}",
            server.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The measured part of a series: requests that start in `[measure_from, end)`.
#[derive(Clone, Copy)]
struct Window {
    measure_from: Instant,
    end: Instant,
}

impl Window {
    fn after(warmup: f64, seconds: f64) -> Window {
        let measure_from = Instant::now() + Duration::from_secs_f64(warmup);
        Window {
            measure_from,
            end: measure_from + Duration::from_secs_f64(seconds),
        }
    }

    fn seconds(&self) -> f64 {
        (self.end - self.measure_from).as_secs_f64()
    }
}

/// What one connection (or pooled task) measured.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    errors: usize,
    uncompressed: usize,
    body_bytes: u64,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.uncompressed += other.uncompressed;
        self.body_bytes += other.body_bytes;
    }
}

/// One connection sending searches back to back until the window ends; reconnects
/// after an error.
async fn http_worker(
    addr: SocketAddr,
    paths: Arc<Vec<String>>,
    first: usize,
    encoding: Encoding,
    window: Window,
) -> Samples {
    let mut out = Samples::default();
    let mut i = first;
    let mut sender = None;
    while Instant::now() < window.end {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => sender.insert(s),
                Err(_) => {
                    out.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let path = &paths[i % paths.len()];
        i += 1;
        let started = Instant::now();
        let reply = get(s, addr, path, encoding).await;
        let took = started.elapsed();
        let measured = started >= window.measure_from && started < window.end;
        match reply {
            Ok(r) if r.status == StatusCode::OK => {
                if measured {
                    out.latencies.push(took);
                    out.body_bytes += r.body.len() as u64;
                    if encoding == Encoding::Gzip && !r.gzip {
                        out.uncompressed += 1;
                    }
                }
            }
            Ok(_) => out.errors += 1,
            Err(_) => {
                out.errors += 1;
                sender = None;
            }
        }
    }
    out
}

async fn http_series(
    addr: SocketAddr,
    paths: &Arc<Vec<String>>,
    conns: usize,
    encoding: Encoding,
    o: &Options,
) -> Series {
    let window = Window::after(o.warmup, o.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..conns {
        // Connections start at different places in the list, so that at any moment a
        // mix of queries is in flight.
        let first = c * paths.len() / conns;
        tasks.spawn(http_worker(addr, paths.clone(), first, encoding, window));
    }
    let mut samples = Samples::default();
    while let Some(done) = tasks.join_next().await {
        samples.merge(done.expect("load task"));
    }
    Series::new(
        format!("helpcenter HTTP, {}", encoding.header()),
        conns,
        samples,
        window,
    )
}

// ---------------------------------------------------------------------------------
// Postgres full-text search
// ---------------------------------------------------------------------------------

/// The table of a corpus's articles (fixed names: identifiers cannot be bound).
fn fts_table(corpus: Corpus) -> &'static str {
    match corpus {
        Corpus::Mdn => "fts_mdn",
        Corpus::DockerDocs => "fts_docker_docs",
    }
}

/// The search, as a backend on Postgres full-text search would run it: matches through
/// the GIN index, ranked by `ts_rank_cd` (title weighs A, body B), the total, and
/// `ts_headline` snippets computed for the top 10 only. `$1` is the search box's text,
/// `$2` the category filter (the category or any below it) or NULL.
fn fts_search_sql(corpus: Corpus) -> String {
    format!(
        "with q as (select websearch_to_tsquery('english', $1) as q), \
         top as ( \
           select a.slug, a.title, a.body, ts_rank_cd(a.tsv, q.q) as rank, \
                  count(*) over () as total \
           from {table} a, q \
           where a.tsv @@ q.q \
             and ($2::text is null or a.category = $2 or starts_with(a.category, $2 || '/')) \
           order by rank desc \
           limit 10) \
         select top.slug, top.title, top.rank, top.total, \
                ts_headline('english', top.body, q.q, \
                            'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15') as snippet \
         from top, q \
         order by top.rank desc",
        table = fts_table(corpus)
    )
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Connects to the benchmark database, creating it if missing.
async fn fts_connect(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let opts: PgConnectOptions = url.parse::<PgConnectOptions>()?.disable_statement_logging();
    match PgConnection::connect_with(&opts).await {
        Ok(conn) => {
            conn.close().await?;
            return Ok(opts);
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {}
        Err(e) => return Err(e),
    }
    let name = opts.get_database().unwrap_or("postgres").to_string();
    let mut admin = PgConnection::connect_with(&opts.clone().database("postgres")).await?;
    // Utility statements take no bind parameters: quote the identifier.
    sqlx::query(&format!("create database {}", quote_ident(&name)))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(opts)
}

/// The body text Postgres indexes and cuts snippets from: each section's heading and
/// text, in order, as the product's loader extracted them.
fn fts_body(article: &helpcenter::kb::article::Article) -> String {
    let mut body = String::new();
    for section in &article.sections {
        if let Some(h) = &section.heading {
            body.push_str(h);
            body.push('\n');
        }
        body.push_str(&section.text);
        body.push('\n');
    }
    body
}

/// Loads the corpus into its table unless it already holds exactly these files (same
/// fingerprint as the search index uses).
async fn fts_load(opts: &PgConnectOptions, corpus: Corpus, articles: &Path) -> sqlx::Result<()> {
    let table = fts_table(corpus);
    let loaded = helpcenter::kb::loader::load_articles(articles).expect("load articles");
    let fingerprint = loaded.fingerprint();
    let mut conn = PgConnection::connect_with(opts).await?;
    sqlx::query(
        "create table if not exists fts_bench_meta ( \
           corpus text primary key, fingerprint text not null, articles int not null, \
           loaded_at timestamptz not null default now())",
    )
    .execute(&mut conn)
    .await?;
    let current: Option<String> =
        sqlx::query_scalar("select fingerprint from fts_bench_meta where corpus = $1")
            .bind(corpus.name())
            .fetch_optional(&mut conn)
            .await?;
    let exists: bool = sqlx::query_scalar("select to_regclass($1) is not null")
        .bind(table)
        .fetch_one(&mut conn)
        .await?;
    if exists && current.as_deref() == Some(fingerprint.as_str()) {
        println!("postgres: {table} already holds these articles");
        return conn.close().await;
    }
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    sqlx::query(&format!("drop table if exists {table}"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "create table {table} ( \
           id serial primary key, slug text not null unique, category text not null, \
           title text not null, body text not null, \
           tsv tsvector generated always as ( \
             setweight(to_tsvector('english', title), 'A') || \
             setweight(to_tsvector('english', body), 'B')) stored)"
    ))
    .execute(&mut *tx)
    .await?;
    let insert = format!(
        "insert into {table} (slug, category, title, body) \
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])"
    );
    for chunk in loaded.articles.chunks(500) {
        let slugs: Vec<&str> = chunk.iter().map(|a| a.slug.as_str()).collect();
        let categories: Vec<&str> = chunk.iter().map(|a| a.category.as_str()).collect();
        let titles: Vec<&str> = chunk.iter().map(|a| a.title.as_str()).collect();
        let bodies: Vec<String> = chunk.iter().map(fts_body).collect();
        sqlx::query(&insert)
            .bind(&slugs)
            .bind(&categories)
            .bind(&titles)
            .bind(&bodies)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(&format!(
        "create index {table}_tsv on {table} using gin (tsv)"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into fts_bench_meta (corpus, fingerprint, articles) values ($1, $2, $3) \
         on conflict (corpus) do update set fingerprint = excluded.fingerprint, \
           articles = excluded.articles, loaded_at = now()",
    )
    .bind(corpus.name())
    .bind(&fingerprint)
    .bind(loaded.articles.len() as i32)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query(&format!("analyze {table}"))
        .execute(&mut conn)
        .await?;
    println!(
        "postgres: loaded {} articles into {table} with its GIN index in {:.1} s",
        loaded.articles.len(),
        started.elapsed().as_secs_f64()
    );
    conn.close().await
}

async fn fts_worker(
    pool: PgPool,
    sql: Arc<String>,
    queries: Arc<Vec<BenchQuery>>,
    first: usize,
    window: Window,
) -> Samples {
    let mut out = Samples::default();
    let mut i = first;
    while Instant::now() < window.end {
        let q = &queries[i % queries.len()];
        i += 1;
        let started = Instant::now();
        let rows = sqlx::query(sql.as_str())
            .bind(&q.q)
            .bind(q.category.as_deref())
            .fetch_all(&pool)
            .await;
        let took = started.elapsed();
        match rows {
            Ok(rows) => {
                if started >= window.measure_from && started < window.end {
                    out.latencies.push(took);
                    out.body_bytes += rows
                        .iter()
                        .map(|r| r.get::<String, _>("snippet").len() as u64)
                        .sum::<u64>();
                }
            }
            Err(_) => out.errors += 1,
        }
    }
    out
}

async fn fts_series(
    opts: &PgConnectOptions,
    sql: &Arc<String>,
    queries: &Arc<Vec<BenchQuery>>,
    conns: usize,
    o: &Options,
) -> sqlx::Result<Series> {
    let pool = PgPoolOptions::new()
        .max_connections(conns as u32)
        .min_connections(conns as u32)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts.clone())
        .await?;
    let window = Window::after(o.warmup, o.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..conns {
        let first = c * queries.len() / conns;
        tasks.spawn(fts_worker(
            pool.clone(),
            sql.clone(),
            queries.clone(),
            first,
            window,
        ));
    }
    let mut samples = Samples::default();
    while let Some(done) = tasks.join_next().await {
        samples.merge(done.expect("load task"));
    }
    pool.close().await;
    Ok(Series::new(
        "Postgres FTS (sqlx, no HTTP)".into(),
        conns,
        samples,
        window,
    ))
}

// ---------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------

/// One measured series: a target at one concurrency.
struct Series {
    target: String,
    conns: usize,
    latencies: Vec<Duration>,
    seconds: f64,
    errors: usize,
    uncompressed: usize,
    body_bytes: u64,
}

impl Series {
    fn new(target: String, conns: usize, mut samples: Samples, window: Window) -> Series {
        samples.latencies.sort();
        Series {
            target,
            conns,
            latencies: samples.latencies,
            seconds: window.seconds(),
            errors: samples.errors,
            uncompressed: samples.uncompressed,
            body_bytes: samples.body_bytes,
        }
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds
    }

    fn p(&self, q: f64) -> Duration {
        percentile(&self.latencies, q)
    }

    fn max(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }

    fn stalled(&self) -> usize {
        self.latencies.iter().filter(|d| **d > STALL).count()
    }

    /// A row of the results table. `errors` counts failed requests and, when gzip was
    /// asked for, replies that came back uncompressed.
    fn row(&self) -> String {
        let mean_bytes = self.body_bytes as f64 / self.latencies.len().max(1) as f64;
        format!(
            "| {} | {} | {:.0} | {:.3} | {:.3} | {:.1} | {} | {} | {:.0} |",
            self.target,
            self.conns,
            self.per_second(),
            ms(self.p(0.50)),
            ms(self.p(0.99)),
            ms(self.max()),
            self.stalled(),
            self.errors + self.uncompressed,
            mean_bytes
        )
    }
}

/// One pass over the query list on both sides, before timing: every search answers,
/// and how many queries find something on each side.
async fn check_answers(
    addr: SocketAddr,
    queries: &[BenchQuery],
    fts: Option<(&PgConnectOptions, &str)>,
) {
    let mut s = connect(addr).await.expect("connect");
    let mut ours_empty = Vec::new();
    for q in queries {
        let r = get(&mut s, addr, &q.api_path(), Encoding::Identity)
            .await
            .expect("search");
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: {}",
            q.q,
            String::from_utf8_lossy(&r.body)
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("search JSON");
        if v["total"].as_u64() == Some(0) {
            ours_empty.push(q.q.as_str());
        }
        let gz = get(&mut s, addr, &q.api_path(), Encoding::Gzip)
            .await
            .expect("search");
        assert!(
            gz.gzip && gz.body.starts_with(&[0x1f, 0x8b]),
            "{}: the reply to Accept-Encoding: gzip is not gzip",
            q.q
        );
    }
    println!(
        "helpcenter: {}/{} queries find articles{}",
        queries.len() - ours_empty.len(),
        queries.len(),
        if ours_empty.is_empty() {
            String::new()
        } else {
            format!(" (none for: {})", ours_empty.join(", "))
        }
    );
    let Some((opts, sql)) = fts else { return };
    let mut conn = PgConnection::connect_with(opts).await.expect("postgres");
    let mut fts_empty = Vec::new();
    for q in queries {
        let rows = sqlx::query(sql)
            .bind(&q.q)
            .bind(q.category.as_deref())
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("postgres search {:?}: {e}", q.q));
        if rows.is_empty() {
            fts_empty.push(q.q.as_str());
        }
    }
    println!(
        "postgres: {}/{} queries find articles (none for: {})",
        queries.len() - fts_empty.len(),
        queries.len(),
        fts_empty.join(", ")
    );
}

fn ratio(theirs: Duration, ours: Duration) -> String {
    if ours.is_zero() {
        return "-".into();
    }
    format!("{:.1}x", theirs.as_secs_f64() / ours.as_secs_f64())
}

fn main() {
    let o = parse_options();
    let name = o.corpus.name();
    let Some(articles) = o.corpus.articles() else {
        println!("skipped: ../shared/corpora/{name}/articles is absent");
        return;
    };
    let queries = o.corpus.queries();
    println!(
        "corpus {name}, {} queries (benches/queries/{name}.txt); {} cores; load average at start {}",
        queries.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    println!("binary: {}", o.helpcenter.display());

    let tmp = tempfile::tempdir().expect("temp dir");
    // The edit measurement writes to the served folder: serve a copy then.
    let served = if o.edits > 0 {
        let copy = tmp.path().join("articles");
        copy_tree(&articles, &copy);
        copy
    } else {
        articles.clone()
    };
    let mut builds = Vec::new();
    let mut index = PathBuf::new();
    for run in 0..o.build_runs.max(1) {
        if run > 0 {
            let _ = std::fs::remove_dir_all(&index);
        }
        index = tmp.path().join(format!("index-{run}"));
        let build = build_index(&o.helpcenter, &served, &index);
        println!(
            "index build {}: {} articles in {:.2} s ({:.0} articles/s), peak RSS {}",
            run + 1,
            build.articles,
            build.took.as_secs_f64(),
            build.articles as f64 / build.took.as_secs_f64(),
            build.peak_kib.map_or("unknown".into(), |k| format!(
                "{:.0} MiB",
                k as f64 / 1024.0
            ))
        );
        builds.push(build);
    }

    let server_started = Instant::now();
    let server = Server::start(&o.helpcenter, &served, &index, tmp.path().join("serve.log"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        wait_ready(&server).await;
        let ready_in = server_started.elapsed();
        let idle = server.memory();

        let fts = if o.postgres {
            match fts_connect(&o.database_url).await {
                Ok(opts) => match fts_load(&opts, o.corpus, &served).await {
                    Ok(()) => Some(opts),
                    Err(e) => panic!("postgres: loading the articles failed: {e}"),
                },
                Err(e) => {
                    println!(
                        "postgres: unreachable ({e}); start it with `bash scripts/pg-up.sh`. \
                         Measuring helpcenter alone."
                    );
                    None
                }
            }
        } else {
            None
        };
        let sql = Arc::new(fts_search_sql(o.corpus));
        if let Some(opts) = &fts {
            let mut conn = PgConnection::connect_with(opts).await.expect("postgres");
            let version: String = sqlx::query_scalar("show server_version")
                .fetch_one(&mut conn)
                .await
                .expect("version");
            println!("postgres {version}, default settings");
        }
        check_answers(
            server.addr,
            &queries,
            fts.as_ref().map(|opts| (opts, sql.as_str())),
        )
        .await;

        let paths: Arc<Vec<String>> = Arc::new(queries.iter().map(|q| q.api_path()).collect());
        let queries = Arc::new(queries);
        let mut table = Vec::new();
        let mut side_by_side = Vec::new();
        let mut stall_check = None;
        for &conns in &o.concurrency {
            let gzip = http_series(server.addr, &paths, conns, Encoding::Gzip, &o).await;
            let identity = http_series(server.addr, &paths, conns, Encoding::Identity, &o).await;
            let pg = match &fts {
                Some(opts) => Some(
                    fts_series(opts, &sql, &queries, conns, &o)
                        .await
                        .expect("postgres pool"),
                ),
                None => None,
            };
            for s in [Some(&gzip), Some(&identity), pg.as_ref()].into_iter().flatten() {
                println!("{}", s.row());
                table.push(s.row());
            }
            // Stalls show where requests do not queue: at the lowest concurrency.
            if stall_check.is_none() {
                stall_check = Some(format!(
                    "Nagle/delayed-ACK check ({conns} connection(s)): gzip {} of {} replies over {} ms, max {:.1} ms; identity {} of {}, max {:.1} ms",
                    gzip.stalled(),
                    gzip.latencies.len(),
                    STALL.as_millis(),
                    ms(gzip.max()),
                    identity.stalled(),
                    identity.latencies.len(),
                    ms(identity.max()),
                ));
            }
            if let Some(pg) = &pg {
                side_by_side.push(format!(
                    "| {conns} | {:.3} | {:.3} | {} | {:.3} | {:.3} | {} | {:.0} | {:.0} |",
                    ms(gzip.p(0.50)),
                    ms(pg.p(0.50)),
                    ratio(pg.p(0.50), gzip.p(0.50)),
                    ms(gzip.p(0.99)),
                    ms(pg.p(0.99)),
                    ratio(pg.p(0.99), gzip.p(0.99)),
                    gzip.per_second(),
                    pg.per_second(),
                ));
            }
        }
        let loaded = server.memory();
        if let Some(line) = stall_check {
            println!("{line}");
        }

        println!("\n## {name}: search under load ({} s per series after {} s warm-up; load average now {})\n",
            o.seconds, o.warmup, load_average());
        println!("| target | connections | req/s | p50 ms | p99 ms | max ms | > 30 ms | errors | bytes/reply |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for row in &table {
            println!("{row}");
        }
        if !side_by_side.is_empty() {
            println!("\n## {name}: helpcenter (HTTP, gzip) vs Postgres FTS, same queries\n");
            println!("| connections | ours p50 ms | Postgres p50 ms | ratio | ours p99 ms | Postgres p99 ms | ratio | ours req/s | Postgres req/s |");
            println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            for row in &side_by_side {
                println!("{row}");
            }
        }
        println!("\n## {name}: index and memory\n");
        let mut times: Vec<Duration> = builds.iter().map(|b| b.took).collect();
        times.sort();
        let count = builds[0].articles;
        let median = times[times.len() / 2];
        let peak = builds.iter().filter_map(|b| b.peak_kib).max();
        println!(
            "index build (helpcenter index, fresh folder, {} runs): median {:.2} s ({:.0} articles/s), best {:.2} s, worst {:.2} s; {count} articles; peak RSS {}",
            times.len(),
            median.as_secs_f64(),
            count as f64 / median.as_secs_f64(),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64(),
            peak.map_or("unknown".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
        );
        println!(
            "server start on the built index: ready in {:.2} s",
            ready_in.as_secs_f64()
        );
        match (idle, loaded) {
            (Some(idle), Some(loaded)) => {
                println!("server memory, ready before load: {}", idle.describe());
                println!("server memory, after the load runs: {}", loaded.describe());
            }
            _ => println!("server memory: not measured (needs /proc)"),
        }
        if o.edits > 0 {
            let latencies = edit_to_visible(server.addr, &served, o.edits).await;
            println!(
                "single edit to visible over HTTP ({} edits, editor-style atomic saves): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
                latencies.len(),
                ms(percentile(&latencies, 0.50)),
                ms(percentile(&latencies, 0.95)),
                ms(latencies.last().copied().unwrap_or_default()),
            );
        }
    });
    drop(server);
}
