//! The baseline: PostgreSQL full-text search over the same documents, the approach this
//! project replaces. Title weighted `A`, body `B`, a GIN index,
//! `websearch_to_tsquery('english', q)` for matching and `ts_rank_cd` for ranking.
//!
//! The documents go into a temporary table of one connection, in the evaluation's own
//! database (created when missing): nothing is left behind, and runs side by side do
//! not see each other's rows. Every value is a bind parameter; only DDL is constant text.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Instant;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use super::beir::BeirDataset;
use super::{query_text, BeirRow, EvalError, QueryForm, RunScores, DEPTH};

/// The evaluation's database on the local development cluster.
pub const DEFAULT_EVAL_DATABASE_URL: &str =
    "postgres://postgres:postgres@127.0.0.1:5432/helpcenter_eval";

const CREATE_TABLE: &str = "
    create temporary table eval_docs (
        id text primary key,
        title text not null,
        body text not null,
        tsv tsvector generated always as (
            setweight(to_tsvector('english', title), 'A') ||
            setweight(to_tsvector('english', body), 'B')
        ) stored
    )";

const CREATE_INDEX: &str = "create index eval_docs_tsv on eval_docs using gin (tsv)";

const INSERT: &str = "
    insert into eval_docs (id, title, body)
    select * from unnest($1::text[], $2::text[], $3::text[])";

const SEARCH: &str = "
    select id
    from eval_docs, websearch_to_tsquery('english', $1) as q
    where tsv @@ q
    order by ts_rank_cd(tsv, q) desc, id
    limit $2";

/// Rows per `INSERT … UNNEST`: a few megabytes of binds per statement.
const BATCH: usize = 1000;

/// Connects, creating the database first when it does not exist (SQLSTATE 3D000).
async fn connect(database_url: &str) -> Result<PgConnection, EvalError> {
    let opts = PgConnectOptions::from_str(database_url)?;
    match PgConnection::connect_with(&opts).await {
        Ok(conn) => return Ok(conn),
        Err(e) if crate::db::sqlstate(&e).as_deref() == Some("3D000") => {}
        Err(e) => return Err(e.into()),
    }
    let name = opts.get_database().unwrap_or("postgres").to_string();
    tracing::info!("creating database {name}");
    let mut admin = PgConnection::connect_with(&opts.clone().database("postgres")).await?;
    // CREATE DATABASE takes no bind parameters: the name is quoted as an identifier.
    let sql = format!("create database \"{}\"", name.replace('"', "\"\""));
    match sqlx::query(&sql).execute(&mut admin).await {
        Ok(_) => {}
        Err(e) if crate::db::sqlstate(&e).as_deref() == Some("42P04") => {} // raced
        Err(e) => return Err(e.into()),
    }
    admin.close().await?;
    Ok(PgConnection::connect_with(&opts).await?)
}

/// Loads the dataset's documents into PostgreSQL, runs every test query and scores the run.
pub async fn evaluate(
    dataset: &BeirDataset,
    database_url: &str,
    form: QueryForm,
) -> Result<BeirRow, EvalError> {
    let started = Instant::now();
    let mut conn = connect(database_url).await?;
    sqlx::query(CREATE_TABLE).execute(&mut conn).await?;
    for chunk in dataset.docs.chunks(BATCH) {
        let ids: Vec<&str> = chunk.iter().map(|d| d.id.as_str()).collect();
        let titles: Vec<&str> = chunk.iter().map(|d| d.title.as_str()).collect();
        let bodies: Vec<&str> = chunk.iter().map(|d| d.text.as_str()).collect();
        sqlx::query(INSERT)
            .bind(&ids)
            .bind(&titles)
            .bind(&bodies)
            .execute(&mut conn)
            .await?;
    }
    sqlx::query(CREATE_INDEX).execute(&mut conn).await?;
    sqlx::query("analyze eval_docs").execute(&mut conn).await?;
    let index_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut runs = HashMap::with_capacity(dataset.queries.len());
    for q in &dataset.queries {
        let ids: Vec<String> = sqlx::query_scalar(SEARCH)
            .bind(query_text(&q.text, form))
            .bind(DEPTH as i64)
            .fetch_all(&mut conn)
            .await?;
        runs.insert(q.id.clone(), ids);
    }
    let query_seconds = started.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(BeirRow {
        dataset: dataset.name.clone(),
        system: "postgres".to_string(),
        scores: RunScores::of(dataset, &runs),
        index_seconds,
        query_seconds,
    })
}
