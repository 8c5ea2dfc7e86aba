//! promlite: a miniature, Prometheus-compatible time-series database
//! server, as a library.
//!
//! [`Server`] runs the whole server in the current process — storage,
//! scraping, the Prometheus HTTP API — in memory or on a directory, on an
//! ephemeral loopback port by default. It is what the `promlite` binary
//! runs, and what tests use to get a real Prometheus API in milliseconds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use promlite::{Server, ServerOptions};
//!
//! let server = Server::start(ServerOptions::default()).await?;
//! println!("Prometheus API at {}/api/v1/query", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod discovery;
pub mod fixtures;
pub mod logfmt;
mod metrics;
mod providers;
mod remote_read;
mod rules_glue;
mod server;
mod settings;
mod web_config;

pub use server::{ConfigSource, Server, ServerOptions, StartError, Storage};
