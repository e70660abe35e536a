//! The `helpcenter` command.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use helpcenter::auth::{JwtKeys, DEV_SECRET};
use helpcenter::config::{
    AblationArgs, BaselineArg, BeirArgs, CheckArgs, CheckFormat, Cli, Command, DbArgs, EvalCommand,
    JwtArgs, KbArgs, KnownItemsArgs, QueryFormArg, ServeArgs, TokenArgs, UsersCommand,
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
        Command::Eval(EvalCommand::Beir(args)) => eval_beir(args),
        Command::Eval(EvalCommand::KnownItems(args)) => eval_known_items(args),
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
        let jwt = Arc::new(jwt_keys(&args.jwt));
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
        tracing::info!("listening on http://{}", listener.local_addr()?);
        let mut state = AppState::new(kb, Some(db), jwt);
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
        server::serve_with(listener, state, options, server::shutdown_signal()).await?;
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

fn jwt_keys(args: &JwtArgs) -> JwtKeys {
    match args.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
        Some(secret) => JwtKeys::new(secret.as_bytes()),
        None => {
            tracing::warn!(
                "JWT_SECRET is not set: using the development secret; never do this in production"
            );
            JwtKeys::new(DEV_SECRET.as_bytes())
        }
    }
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    let keys = jwt_keys(&args.jwt);
    let token = keys.mint(args.sub, args.email.as_deref(), args.ttl);
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
    } else {
        vec![chosen]
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
    }
}

fn eval_known_items(args: KnownItemsArgs) -> anyhow::Result<()> {
    // Known items are typed into the search box: no other form applies.
    let v = Variant::new(
        &SearchSettings::default(),
        QueryForm::Plain,
        &overrides(&args.off),
    );
    let report = eval::known_items::evaluate(&args.articles, &args.queries, &v.settings)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} articles indexed in {:.2}s; {}",
            report.articles, report.index_seconds, v.name
        );
        print!("{}", eval::known_items::table(&report, args.misses));
    }
    Ok(())
}
