//! helpcenter: a customer-support backend. A markdown knowledge base indexed with
//! tantivy ([`kb`]), a ticket portal on PostgreSQL with Row Level Security ([`tickets`],
//! [`db`], [`auth`]) and their HTTP API ([`http`]). [`eval`] measures search relevance. See ARCHITECTURE.md for the codemap.

pub mod attachments;
pub mod auth;
pub mod config;
pub mod db;
pub mod eval;
pub mod feedback;
pub mod http;
pub mod insights;
pub mod kb;
pub mod limits;
pub mod server;
pub mod tickets;
pub mod web;

/// The service's allocator, for every binary, test and bench that links the library:
/// searches allocate many small strings and vectors (hits, snippets, term lists).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
