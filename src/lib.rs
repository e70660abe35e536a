//! helpcenter: a customer-support backend. A markdown knowledge base indexed with
//! tantivy ([`kb`]) and its HTTP API ([`http`]). See ARCHITECTURE.md for the codemap.

pub mod config;
pub mod http;
pub mod kb;
pub mod server;
