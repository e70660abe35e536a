//! Command-line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    #[arg(long, env = "HELPCENTER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
}
