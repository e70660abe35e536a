//! Command-line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use uuid::Uuid;

use crate::auth::Role;
use crate::db::DEFAULT_DATABASE_URL;

/// The address `serve` listens on by default.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// helpcenter: help-center knowledge base and ticket portal API.
#[derive(Debug, Parser)]
#[command(name = "helpcenter", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the knowledge base and the API over HTTP.
    Serve(ServeArgs),
    /// Build the search index from the articles and exit.
    Index(KbArgs),
    /// Lint the articles (front matter, slugs, links, anchors); exit 1 on errors.
    Check(CheckArgs),
    /// Mint a user token for local use and print it.
    Token(TokenArgs),
    /// Manage user profiles.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Signing keys for local development.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Measure search relevance on judged datasets.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Print the API's OpenAPI 3.1 document (as served at /api/v1/openapi.json).
    Openapi,
    /// Print the search insights: queries that found nothing first, then top queries,
    /// queries whose results nobody opens, unhelpful articles, deflection.
    Insights(InsightsArgs),
}

/// `eval` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum EvalCommand {
    /// nDCG@10, MRR@10 and Recall@100 on BEIR datasets (corpus.jsonl, queries.jsonl,
    /// qrels/test.tsv), with the product's default search settings.
    Beir(BeirArgs),
    /// hit@1, hit@3 and MRR@10 of known-item queries over an articles folder.
    KnownItems(KnownItemsArgs),
}

/// How a BEIR query's text is typed into the search box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryFormArg {
    /// Quotes and leading '-' removed: the text is read as plain words.
    Plain,
    /// As written: "x" is a phrase and -x an exclusion.
    AsTyped,
}

/// The relevance baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BaselineArg {
    /// PostgreSQL full-text search: tsvector (title A, body B) + GIN,
    /// websearch_to_tsquery('english'), ts_rank_cd.
    Postgres,
}

/// Changes to the default search settings, for ablations.
#[derive(Debug, Clone, Args)]
pub struct AblationArgs {
    /// Turn typo tolerance off.
    #[arg(long, env = "HELPCENTER_EVAL_NO_TYPOS")]
    pub no_typos: bool,
    /// Turn prefix matching of the last word off.
    #[arg(long, env = "HELPCENTER_EVAL_NO_PREFIX")]
    pub no_prefix: bool,
    /// Queries with up to this many significant words require every word and rank by
    /// tiers (0: every query ranks by BM25 alone).
    #[arg(long, env = "HELPCENTER_EVAL_TIERED_MAX_WORDS")]
    pub tiered_max_words: Option<usize>,
    /// The hybrid rows' weight of meaning against words, in [0, 1] (default: the
    /// product's).
    #[arg(long, env = "HELPCENTER_EVAL_SEMANTIC_RATIO", value_parser = parse_ratio)]
    pub semantic_ratio: Option<f32>,
    /// Only the hybrid rows (the chosen ratio), not also lexical and semantic alone.
    #[arg(long)]
    pub hybrid_only: bool,
}

fn parse_ratio(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("must be a number between 0 and 1, got {s:?}")),
    }
}

/// Options of `eval beir`.
#[derive(Debug, Clone, Args)]
pub struct BeirArgs {
    /// BEIR dataset folders.
    #[arg(required = true)]
    pub datasets: Vec<PathBuf>,
    /// Also run a baseline on the same documents and queries.
    #[arg(long, value_enum, env = "HELPCENTER_EVAL_BASELINE")]
    pub baseline: Option<BaselineArg>,
    /// The baseline's database (created if missing; the documents go into a temporary
    /// table).
    #[arg(long, env = "HELPCENTER_EVAL_DATABASE_URL", default_value = crate::eval::postgres::DEFAULT_EVAL_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// How query text is typed into the search box.
    #[arg(
        long,
        value_enum,
        env = "HELPCENTER_EVAL_QUERY_FORM",
        default_value = "plain"
    )]
    pub query_form: QueryFormArg,
    /// Also run with typo tolerance off, prefix matching off, both off, and the other
    /// query form, each as its own row.
    #[arg(long, env = "HELPCENTER_EVAL_ABLATIONS")]
    pub ablations: bool,
    /// Settings switched off.
    #[command(flatten)]
    pub off: AblationArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `eval known-items`.
#[derive(Debug, Clone, Args)]
pub struct KnownItemsArgs {
    /// Folder of markdown articles.
    #[arg(long, env = "HELPCENTER_ARTICLES", default_value = "./articles")]
    pub articles: PathBuf,
    /// The queries files: kind <TAB> query <TAB> answer slugs (comma-separated). Give
    /// several (`--queries tune.tsv --queries heldout.tsv`) to report each, e.g. a
    /// tuning half and a held-out half.
    #[arg(long, env = "HELPCENTER_EVAL_QUERIES", required = true, num_args = 1..)]
    pub queries: Vec<PathBuf>,
    /// Settings switched off.
    #[command(flatten)]
    pub off: AblationArgs,
    /// List the queries not answered in the top 3.
    #[arg(long)]
    pub misses: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where the ticket database is.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// The owner's connection (migrations, administration); the database is created if
    /// missing.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// The login role that serves requests (Supabase's `authenticator`). Without it the
    /// service sets up `authenticator` itself on the owner's cluster.
    #[arg(long, env = "AUTHENTICATOR_DATABASE_URL", hide_env_values = true)]
    pub authenticator_url: Option<String>,
}

/// How user tokens are verified: the issuer's public keys (JWKS), the legacy shared
/// HS256 secret, or both during a migration.
#[derive(Debug, Clone, Args)]
pub struct JwtArgs {
    /// Legacy HS256 secret of user tokens (Supabase's JWT secret). With a key set
    /// configured and no secret, HS256 tokens are refused; with neither, a fixed
    /// development secret is used, with a warning.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// The issuer's JSON Web Key Set URL (Supabase:
    /// `https://<project>.supabase.co/auth/v1/.well-known/jwks.json`).
    #[arg(long, env = "JWT_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// A Supabase project URL: stands in for `--jwks-url` and `--jwt-issuer`
    /// (`<url>/auth/v1/.well-known/jwks.json`, `<url>/auth/v1`).
    #[arg(long, env = "SUPABASE_URL")]
    pub supabase_url: Option<String>,
    /// A JWKS file instead of a URL (local development: `helpcenter keys generate`).
    #[arg(long, env = "JWT_JWKS_FILE", conflicts_with = "jwks_url")]
    pub jwks_file: Option<PathBuf>,
    /// The `iss` every token must carry; unchecked when not set.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Seconds a fetched key set is used before it is fetched again (at most 600).
    #[arg(long, env = "JWT_JWKS_TTL", default_value_t = 600)]
    pub jwks_ttl: u64,
}

/// `keys` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Write a new ES256 key pair for local development: the private key as
    /// `<out>/<kid>.pem` and the public key added to `<out>/jwks.json` (a second run
    /// adds a second key, as a rotation's standby key).
    Generate {
        /// The folder to write to.
        #[arg(long, default_value = "./keys")]
        out: PathBuf,
        /// The key's id (default: a random one).
        #[arg(long)]
        kid: Option<String>,
    },
}

/// Options of `token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user's id.
    #[arg(long)]
    pub sub: Uuid,
    /// The user's email.
    #[arg(long)]
    pub email: Option<String>,
    /// Lifetime: `30m`, `1h`, `2d` or seconds.
    #[arg(long, default_value = "1h", value_parser = crate::auth::parse_ttl)]
    pub ttl: u64,
    /// A segment the customer belongs to (`app_metadata.segments`), for articles whose
    /// `audience` names it; repeatable.
    #[arg(long = "segment", value_name = "NAME")]
    pub segments: Vec<String>,
    /// Print a sign-in link to the portal instead of the bare token, the way Supabase
    /// Auth's magic link hands one to a site (`/portal#access_token=...`). Optionally
    /// the site's base URL (default: `http://` and `HELPCENTER_BIND`).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "BASE_URL")]
    pub url: Option<String>,
    /// Sign with this PEM private key (ES256, RS256 or Ed25519) instead of the HS256
    /// secret.
    #[arg(long, value_name = "PEM", env = "HELPCENTER_TOKEN_KEY")]
    pub key: Option<PathBuf>,
    /// The `kid` to put in the header (with `--key`; default: the key file's name
    /// without `.pem`).
    #[arg(long)]
    pub kid: Option<String>,
    /// Signing secret.
    #[command(flatten)]
    pub jwt: JwtArgs,
}

/// `users` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum UsersCommand {
    /// Change a user's role.
    SetRole {
        /// The profile's email address or id.
        who: String,
        /// customer, agent or admin.
        #[arg(value_parser = parse_role)]
        role: Role,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("expected customer, agent or admin, got {s:?}"))
}

/// Where the knowledge base lives.
#[derive(Debug, Clone, Args)]
pub struct KbArgs {
    /// Folder of markdown articles.
    #[arg(long, env = "HELPCENTER_ARTICLES", default_value = "./articles")]
    pub articles: PathBuf,
    /// Folder of the generated search index.
    #[arg(long, env = "HELPCENTER_INDEX", default_value = "./index")]
    pub index: PathBuf,
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Knowledge base folders.
    #[command(flatten)]
    pub kb: KbArgs,
    /// Address to listen on.
    #[arg(long, env = "HELPCENTER_BIND", default_value = DEFAULT_BIND)]
    pub bind: SocketAddr,
    /// Do not follow changes to the articles folder (read-only deployments); the index
    /// then changes only on restart or `helpcenter index`.
    #[arg(long, env = "HELPCENTER_NO_WATCH")]
    pub no_watch: bool,
    /// Ticket database.
    #[command(flatten)]
    pub db: DbArgs,
    /// Token verification.
    #[command(flatten)]
    pub jwt: JwtArgs,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, env = "HELPCENTER_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers, and to start the next request
    /// on a kept-alive connection; then the connection is closed.
    #[arg(long, env = "HELPCENTER_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// New tickets a user may open per hour (counted in PostgreSQL, for every replica);
    /// 0: unlimited.
    #[arg(long, env = "HELPCENTER_TICKETS_PER_HOUR", default_value_t = crate::limits::NEW_TICKETS_PER_HOUR)]
    pub tickets_per_hour: u32,
    /// Replies and notes a user may post per minute (counted in PostgreSQL); 0: unlimited.
    #[arg(long, env = "HELPCENTER_REPLIES_PER_MINUTE", default_value_t = crate::limits::REPLIES_PER_MINUTE)]
    pub replies_per_minute: u32,
    /// Folder of attachments' files on the local disk (when no S3 bucket is set).
    #[arg(
        long,
        env = "HELPCENTER_ATTACHMENTS_DIR",
        default_value = "data/attachments"
    )]
    pub attachments_dir: std::path::PathBuf,
    /// An S3-compatible bucket for attachments instead of the local folder (AWS,
    /// Supabase Storage, MinIO), with the standard `AWS_*` variables (`AWS_ENDPOINT`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`).
    #[arg(long, env = "HELPCENTER_ATTACHMENTS_S3_BUCKET")]
    pub attachments_s3_bucket: Option<String>,
    /// Largest attachment, in megabytes.
    #[arg(long, env = "HELPCENTER_ATTACHMENT_MAX_MB", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub attachment_max_mb: u64,
    /// Largest sum of one message's attachments, in megabytes.
    #[arg(long, env = "HELPCENTER_MESSAGE_ATTACHMENTS_MAX_MB", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub message_attachments_max_mb: u64,
    /// How long an upload waits to be attached before it is deleted (`1h`, `30m`).
    #[arg(long, env = "HELPCENTER_UPLOAD_TTL", default_value = "1h", value_parser = crate::auth::parse_ttl)]
    pub upload_ttl: u64,
    /// How long a solved ticket without a change or a reply stays open to replies
    /// before it closes (`4d`, `96h`, `30m`); customers then open a follow-up.
    #[arg(long, env = "HELPCENTER_CLOSE_SOLVED_AFTER", default_value = "4d", value_parser = crate::auth::parse_ttl)]
    pub close_solved_after: u64,
    /// Record searches, clicks and article views for the insights reports (`off`:
    /// nothing is recorded).
    #[arg(long, env = "HELPCENTER_INSIGHTS", default_value = "on", value_parser = ["on", "off"])]
    pub insights: String,
    /// Days recorded insights are kept; older ones are deleted every hour.
    #[arg(long, env = "HELPCENTER_INSIGHTS_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub insights_retention_days: u32,
}

/// `insights`: the agents' reports in a terminal.
#[derive(Debug, Clone, clap::Args)]
pub struct InsightsArgs {
    /// How far back: `7d`, `30d`, `12h` (whole days, today included).
    #[arg(long, default_value = "7d", value_parser = crate::auth::parse_ttl)]
    pub since: u64,
    /// `text` (tables) or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Rows per report.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=100))]
    pub limit: i64,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// Options of `check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Folder of markdown articles.
    #[arg(
        value_name = "DIR",
        env = "HELPCENTER_ARTICLES",
        default_value = "./articles"
    )]
    pub dir: PathBuf,
    /// `text`: compiler-style lines and a summary; `json`: one object for tools.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// `path:line:col: error: message [code]` lines, then a summary line.
    Text,
    /// `{"files_checked", "files_with_diagnostics", "errors", "warnings", "diagnostics": [...]}`.
    Json,
}
