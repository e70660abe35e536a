//! The `helpcenter` command.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use helpcenter::auth::jwks::{JwksCache, JwksSource};
use helpcenter::auth::keys::{generate_es256, Signer};
use helpcenter::auth::{JwtKeys, DEV_SECRET};
use helpcenter::config::{
    AblationArgs, BaselineArg, BeirArgs, CheckArgs, CheckFormat, Cli, Command, DbArgs, EvalCommand,
    JwtArgs, KbArgs, KeysCommand, KnownItemsArgs, QueryFormArg, ServeArgs, TokenArgs, UsersCommand,
};
use helpcenter::db::{Database, DbConfig, RoleChange};
use helpcenter::eval::{self, Overrides, QueryForm, Variant};
use helpcenter::http::AppState;
use helpcenter::kb::search::SearchSettings;
use helpcenter::kb::KnowledgeBase;
use helpcenter::limits::{Limits, WriteLimit};
use helpcenter::server;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tantivy=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Index(args) => index(args),
        Command::Check(args) => return check(args),
        Command::Token(args) => token(args),
        Command::Users(UsersCommand::SetRole { who, role, db }) => set_role(&who, role, db),
        Command::Keys(KeysCommand::Generate { out, kid }) => keys_generate(&out, kid),
        Command::Eval(EvalCommand::Beir(args)) => eval_beir(args),
        Command::Eval(EvalCommand::KnownItems(args)) => eval_known_items(args),
        Command::Insights(args) => insights(args),
        Command::Openapi => {
            println!("{}", helpcenter::http::openapi::document_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let kb = Arc::new(KnowledgeBase::new(&args.kb.articles, &args.kb.index));
        server::start_indexing(kb.clone());
        if !args.no_watch {
            server::start_watching(&kb);
        }
        server::follow_index_rebuilds(kb.clone());
        let db = Database::new(&db_config(&args.db))
            .map_err(|e| anyhow::anyhow!("invalid database URL: {e}"))?;
        db.start();
        let jwt = Arc::new(jwt_keys(&args.jwt)?);
        if let Some(jwks) = jwt.jwks() {
            jwks.start();
        }
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
        tracing::info!("listening on http://{}", listener.local_addr()?);
        let mut state = AppState::new(kb, Some(db.clone()), jwt);
        state.recorder = Arc::new(helpcenter::insights::Recorder::new(
            helpcenter::insights::RecorderSettings {
                enabled: args.insights == "on",
                retention_days: args.insights_retention_days,
                ..Default::default()
            },
        ));
        state.recorder.start(db.clone());
        helpcenter::tickets::closing::start(
            db.clone(),
            Duration::from_secs(args.close_solved_after),
        );
        let attachment_settings = helpcenter::attachments::AttachmentSettings {
            max_file_bytes: args.attachment_max_mb * 1024 * 1024,
            max_message_bytes: args.message_attachments_max_mb * 1024 * 1024,
            upload_ttl: Duration::from_secs(args.upload_ttl),
            ..Default::default()
        };
        let attachments = match &args.attachments_s3_bucket {
            Some(bucket) => helpcenter::attachments::Attachments::s3(bucket, attachment_settings)
                .map_err(|e| anyhow::anyhow!("attachments bucket {bucket}: {e}"))?,
            None => helpcenter::attachments::Attachments::local(
                &args.attachments_dir,
                attachment_settings,
            )
            .map_err(|e| {
                anyhow::anyhow!("attachments folder {}: {e}", args.attachments_dir.display())
            })?,
        };
        let attachments = Arc::new(attachments);
        helpcenter::attachments::sweeper::start(db.clone(), attachments.clone());
        state.attachments = Some(attachments);
        let write_limit = |action, writes, secs| {
            (writes > 0).then_some(WriteLimit {
                action,
                writes,
                window: Duration::from_secs(secs),
            })
        };
        state.limits = Arc::new(Limits::new(
            write_limit("tickets", args.tickets_per_hour, 3600),
            write_limit("replies", args.replies_per_minute, 60),
        ));
        let options = server::ServeOptions {
            max_connections: args.max_connections.max(1),
            header_timeout: Duration::from_secs(args.header_timeout.max(1)),
        };
        let recorder = state.recorder.clone();
        server::serve_with(listener, state, options, server::shutdown_signal()).await?;
        // What is queued or still settling goes to the database before the process ends
        // (a deploy must not lose the last second of insights); bounded, never blocking
        // the shutdown for long.
        let _ = tokio::time::timeout(Duration::from_secs(5), recorder.flush(&db)).await;
        Ok(())
    })
}

fn index(args: KbArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let kb = KnowledgeBase::new(&args.articles, &args.index);
    // The bar appears only when the build takes more than a moment.
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} indexing {pos}/{len} articles [{elapsed}] {wide_bar}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = kb.rebuild(&|done, total| {
        if bar.is_hidden() && started.elapsed() > Duration::from_millis(500) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    println!(
        "indexed {} articles ({} drafts skipped, {} files with errors) in {:.2}s",
        report.articles,
        report.drafts,
        report.errors,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Exit codes like other linters': 0 clean or warnings only, 1 errors found, 2 when the
/// check could not run.
fn check(args: CheckArgs) -> ExitCode {
    let report = match helpcenter::kb::check::check_articles(&args.dir) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: cannot check {}: {e}", args.dir.display());
            return ExitCode::from(2);
        }
    };
    match args.format {
        CheckFormat::Text => print!("{}", report.to_text(&args.dir)),
        CheckFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    }
    if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn db_config(args: &DbArgs) -> DbConfig {
    DbConfig {
        database_url: args.database_url.clone(),
        authenticator_url: args.authenticator_url.clone(),
    }
}

/// How tokens are verified, from the options: a key set (URL, Supabase project or
/// file) with the legacy secret when given, or the secret alone (the development secret
/// when nothing is configured).
fn jwt_keys(args: &JwtArgs) -> anyhow::Result<JwtKeys> {
    let secret = args.jwt_secret.as_deref().filter(|s| !s.is_empty());
    let supabase = args
        .supabase_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty());
    let source = match (&args.jwks_url, &args.jwks_file, &supabase) {
        (Some(url), _, _) => Some(JwksSource::Url(url.clone())),
        (None, Some(file), _) => Some(JwksSource::File(file.clone())),
        (None, None, Some(project)) => Some(JwksSource::Url(format!(
            "{project}/auth/v1/.well-known/jwks.json"
        ))),
        (None, None, None) => None,
    };
    let issuer = args
        .jwt_issuer
        .clone()
        .or_else(|| supabase.as_ref().map(|p| format!("{p}/auth/v1")));
    if let Some(source) = source {
        if let JwksSource::Url(url) = &source {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                anyhow::bail!("the JWKS URL must be http(s)://..., got {url:?}");
            }
        }
        tracing::info!(%source, issuer = ?issuer, hs256 = secret.is_some(), "tokens are verified with the issuer's key set");
        let cache = JwksCache::new(source, Duration::from_secs(args.jwks_ttl));
        return Ok(JwtKeys::with_jwks(cache, secret.map(str::as_bytes), issuer));
    }
    let keys = match secret {
        Some(secret) => JwtKeys::new(secret.as_bytes()),
        None => {
            tracing::warn!(
                "JWT_SECRET is not set: using the development secret; never do this in production"
            );
            JwtKeys::new(DEV_SECRET.as_bytes())
        }
    };
    Ok(keys)
}

fn keys_generate(out: &std::path::Path, kid: Option<String>) -> anyhow::Result<()> {
    let kid = kid.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_string());
    if kid.is_empty()
        || !kid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        anyhow::bail!("--kid must be letters, digits, '-' or '_', got {kid:?}");
    }
    let (pem, jwk) = generate_es256(&kid).map_err(|e| anyhow::anyhow!(e))?;
    std::fs::create_dir_all(out)?;
    let jwks_path = out.join("jwks.json");
    let mut jwks: serde_json::Value = match std::fs::read(&jwks_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is not a key set: {e}", jwks_path.display()))?,
        Err(_) => serde_json::json!({ "keys": [] }),
    };
    let keys = jwks["keys"]
        .as_array_mut()
        .ok_or_else(|| anyhow::anyhow!("{} has no \"keys\" list", jwks_path.display()))?;
    if keys.iter().any(|k| k["kid"] == kid.as_str()) {
        anyhow::bail!("{} already has a key {kid:?}", jwks_path.display());
    }
    keys.push(jwk);
    let key_path = out.join(format!("{kid}.pem"));
    write_private(&key_path, pem.as_bytes())?;
    // Replaced by rename, so a server reading it never sees half a file.
    let tmp = out.join(".jwks.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&jwks)?)?;
    std::fs::rename(&tmp, &jwks_path)?;
    println!("{}", key_path.display());
    eprintln!(
        "key {kid} (ES256): private key {}, public key added to {}",
        key_path.display(),
        jwks_path.display()
    );
    Ok(())
}

/// Writes a private key readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    let keys = jwt_keys(&args.jwt)?;
    let keys = match &args.key {
        None => keys,
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let kid = args
                .kid
                .clone()
                .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()));
            keys.signing_with(Signer::from_pem(&pem, kid).map_err(|e| anyhow::anyhow!(e))?)
        }
    };
    let token = keys.mint_with_segments(args.sub, args.email.as_deref(), args.ttl, &args.segments);
    match args.url {
        None => println!("{token}"),
        Some(base) => {
            let base = if base.is_empty() {
                let bind = std::env::var("HELPCENTER_BIND")
                    .unwrap_or_else(|_| helpcenter::config::DEFAULT_BIND.to_string());
                format!("http://{bind}")
            } else {
                base
            };
            println!(
                "{}/portal#access_token={token}&token_type=bearer&expires_in={}&type=magiclink",
                base.trim_end_matches('/'),
                args.ttl
            );
        }
    }
    Ok(())
}

fn insights(args: helpcenter::config::InsightsArgs) -> anyhow::Result<()> {
    use helpcenter::insights::reports::{self, DateRange, Page};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let db = Database::new(&db_config(&args.db))?;
        db.migrate_now().await?;
        let days = args.since.div_ceil(86_400).clamp(1, 3650) as u32;
        let range = DateRange::last_days(days);
        let page = Page {
            limit: args.limit,
            offset: 0,
        };
        // The owner's connection: a writer in a terminal reads every report.
        let mut conn = db.owner_pool().acquire().await?;
        let zero = reports::zero_results(&mut conn, range, page).await?;
        let top = reports::top_queries(&mut conn, range, page).await?;
        let unopened = reports::unopened(&mut conn, range, page).await?;
        let unhelpful = reports::unhelpful_articles(&mut conn, range, page).await?;
        let deflection = reports::deflection(&mut conn, range).await?;
        if args.format == "json" {
            println!(
                "{}",
                serde_json::json!({
                    "from": range.from.to_string(),
                    "to": range.to.to_string(),
                    "zero_results": zero,
                    "top_queries": top,
                    "unopened": unopened,
                    "unhelpful_articles": unhelpful,
                    "deflection": deflection,
                })
            );
            return Ok(());
        }
        println!("Search insights {} to {} (UTC)\n", range.from, range.to);
        println!("Queries that found nothing");
        if zero.is_empty() {
            println!("  (none)");
        }
        for z in &zero {
            let next: Vec<String> = z
                .next
                .iter()
                .map(|n| match &n.text {
                    Some(t) => format!("{} {t:?}", n.kind),
                    None => n.kind.clone(),
                })
                .collect();
            println!("  {:>6}  {}  (then: {})", z.count, z.query, next.join("; "));
        }
        println!("\nTop queries (searches, found nothing, clicks)");
        for q in &top {
            println!(
                "  {:>6} {:>6} {:>6}  {}",
                q.searches, q.zero_results, q.clicks, q.query
            );
        }
        println!("\nResults nobody opened (searches)");
        for q in &unopened {
            println!("  {:>6}  {}", q.searches, q.query);
        }
        println!("\nArticles voted not helpful (no, yes, reasons)");
        for a in &unhelpful {
            let reasons: Vec<String> = a
                .reasons
                .iter()
                .map(|r| format!("{} {}", r.reason, r.count))
                .collect();
            println!(
                "  {:>6} {:>6}  {}  {}",
                a.not_helpful,
                a.helpful,
                a.slug,
                reasons.join(", ")
            );
        }
        println!("\nDeflection per day (sessions, with a ticket, deflected)");
        for d in &deflection {
            println!(
                "  {}  {:>6} {:>6}  {:.0}%",
                d.day,
                d.sessions,
                d.with_ticket,
                d.deflection_rate * 100.0
            );
        }
        Ok(())
    })
}

fn set_role(who: &str, role: helpcenter::auth::Role, args: DbArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let db = Database::new(&db_config(&args))?;
        db.migrate_now().await?;
        match db.set_role(who, role).await? {
            RoleChange::Changed { id, email } => {
                let email = email.map(|e| format!(" ({e})")).unwrap_or_default();
                println!("profile {id}{email} is now {}", role.as_str());
                Ok(())
            }
            RoleChange::NoSuchEmail => anyhow::bail!(
                "no profile with email {who:?} (a user gets one with their first request)"
            ),
            RoleChange::Ambiguous(candidates) => {
                let list: Vec<String> = candidates
                    .iter()
                    .map(|(id, email)| format!("  {id}  {}", email.as_deref().unwrap_or("")))
                    .collect();
                anyhow::bail!(
                    "{} profiles have the email {who:?} (compared without case); nothing \
                     changed. Name one by its id:\n{}",
                    candidates.len(),
                    list.join("\n")
                )
            }
        }
    })
}

fn eval_beir(args: BeirArgs) -> anyhow::Result<()> {
    let form = match args.query_form {
        QueryFormArg::Plain => QueryForm::Plain,
        QueryFormArg::AsTyped => QueryForm::AsTyped,
    };
    let base = SearchSettings::default();
    let overrides = overrides(&args.off);
    let chosen = Variant::new(&base, form, &overrides);
    let variants = if args.ablations {
        chosen.with_ablations(&base, &overrides)
    } else if args.off.hybrid_only {
        vec![chosen]
    } else {
        chosen.retrieval_modes()
    };
    let mut rows = Vec::new();
    for dir in &args.datasets {
        let dataset = eval::beir::load(dir)?;
        tracing::info!(
            dataset = %dataset.name,
            documents = dataset.docs.len(),
            queries = dataset.queries.len(),
            "evaluating"
        );
        rows.extend(eval::evaluate_variants(&dataset, &variants)?);
        if args.baseline == Some(BaselineArg::Postgres) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rows.push(runtime.block_on(eval::postgres::evaluate(
                &dataset,
                &args.database_url,
                form,
            ))?);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", eval::beir_table(&rows));
    }
    Ok(())
}

fn overrides(args: &AblationArgs) -> Overrides {
    Overrides {
        no_typos: args.no_typos,
        no_prefix: args.no_prefix,
        tiered_max_words: args.tiered_max_words,
        semantic_ratio: args.semantic_ratio,
    }
}

fn eval_known_items(args: KnownItemsArgs) -> anyhow::Result<()> {
    // Known items are typed into the search box: no other form applies.
    let chosen = Variant::new(
        &SearchSettings::default(),
        QueryForm::Plain,
        &overrides(&args.off),
    );
    let variants = if args.off.hybrid_only {
        vec![chosen]
    } else {
        chosen.retrieval_modes()
    };
    let named: Vec<(String, SearchSettings)> =
        variants.into_iter().map(|v| (v.name, v.settings)).collect();
    let runs = eval::known_items::evaluate_all(&args.articles, &args.queries, &named)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    if let Some(first) = runs.first() {
        println!(
            "{}: {} articles indexed in {:.2}s",
            args.articles.display(),
            first.report.articles,
            first.report.index_seconds
        );
    }
    print!("{}", eval::known_items::summary_table(&runs));
    if args.misses {
        // The details of the last variant (hybrid, the product's ranking).
        for run in runs
            .iter()
            .skip(runs.len().saturating_sub(args.queries.len()))
        {
            println!("\n{} ({}):", run.queries.display(), run.variant);
            print!("{}", eval::known_items::table(&run.report, true));
        }
    }
    Ok(())
}
