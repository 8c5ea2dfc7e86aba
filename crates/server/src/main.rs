//! The `promlite` server binary: flags, storage, lifecycle endpoints.
//!
//! Scraping, PromQL and the `/api/v1` HTTP API are wired in by later
//! milestones; today the binary opens (or creates) the TSDB, replays its
//! WAL, runs compaction and retention every minute, serves `/-/healthy`,
//! `/-/ready` and `/metrics`, and shuts down cleanly on SIGTERM or Ctrl-C.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use promlite_tsdb::{Db, DbOptions};
use tracing::{error, info};

/// Command-line flags, named and defaulted as Prometheus' own.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "promlite",
    version,
    about = "A miniature, Prometheus-compatible time-series database."
)]
struct Flags {
    /// Base path for metrics storage.
    #[arg(long = "storage.tsdb.path", default_value = "data/")]
    tsdb_path: String,
    /// How long to retain samples in storage (Prometheus duration, e.g. 15d).
    #[arg(long = "storage.tsdb.retention.time", default_value = "15d")]
    retention_time: String,
    /// Maximum number of bytes of storage blocks to retain, e.g. 512MB; 0 disables.
    #[arg(long = "storage.tsdb.retention.size", default_value = "0")]
    retention_size: String,
    /// Keep everything in memory: no data directory, no WAL, no blocks.
    #[arg(long = "storage.in-memory")]
    in_memory: bool,
    /// Address to listen on for the web interface and API.
    #[arg(long = "web.listen-address", default_value = "0.0.0.0:9090")]
    listen_address: SocketAddr,
    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    log_level: String,
    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    log_format: String,
}

fn init_logging(f: &Flags) -> anyhow::Result<()> {
    let level: tracing::Level = f
        .log_level
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid --log.level {:?}", f.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr);
    match f.log_format.as_str() {
        "json" => builder.json().init(),
        "logfmt" => builder.init(),
        other => anyhow::bail!("invalid --log.format {other:?}: must be logfmt or json"),
    }
    Ok(())
}

fn open_db(f: &Flags) -> anyhow::Result<Db> {
    let retention_time = promlite_model::parse_duration(&f.retention_time)
        .context("--storage.tsdb.retention.time")?;
    let retention_size =
        promlite_model::parse_bytes(&f.retention_size).context("--storage.tsdb.retention.size")?;
    let opts = DbOptions {
        retention_time,
        retention_size,
        ..DbOptions::default()
    };
    if f.in_memory {
        info!("storage is in memory; nothing is written to disk");
        return Ok(Db::open_in_memory(opts));
    }
    Db::open(&f.tsdb_path, opts).with_context(|| format!("opening storage at {}", f.tsdb_path))
}

async fn healthy() -> &'static str {
    "Prometheus Server is Healthy.\n"
}

async fn ready() -> &'static str {
    "Prometheus Server is Ready.\n"
}

/// Self-monitoring in Prometheus' metric names.
async fn metrics(State(db): State<Db>) -> impl IntoResponse {
    let h = db.head();
    let hm = h.metrics();
    let dm = db.metrics();
    let mut out = String::new();
    let mut put = |name: &str, kind: &str, help: &str, v: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    };
    put(
        "prometheus_tsdb_head_series",
        "gauge",
        "Total number of series in the head block.",
        h.num_series() as f64,
    );
    put(
        "prometheus_tsdb_head_samples_appended_total",
        "counter",
        "Total number of appended samples.",
        hm.samples_appended.load(Ordering::Relaxed) as f64,
    );
    put(
        "prometheus_tsdb_head_series_created_total",
        "counter",
        "Total number of series created in the head",
        hm.series_created.load(Ordering::Relaxed) as f64,
    );
    put(
        "prometheus_tsdb_head_series_removed_total",
        "counter",
        "Total number of series removed in the head",
        hm.series_removed.load(Ordering::Relaxed) as f64,
    );
    put(
        "prometheus_tsdb_out_of_order_samples_total",
        "counter",
        "Total number of out of order samples ingestion failed attempts.",
        hm.out_of_order_samples.load(Ordering::Relaxed) as f64,
    );
    put(
        "prometheus_tsdb_out_of_bound_samples_total",
        "counter",
        "Total number of out of bound samples ingestion failed attempts.",
        hm.out_of_bound_samples.load(Ordering::Relaxed) as f64,
    );
    put(
        "prometheus_tsdb_blocks_loaded",
        "gauge",
        "Number of currently loaded data blocks",
        db.blocks().len() as f64,
    );
    put(
        "prometheus_tsdb_compactions_total",
        "counter",
        "Total number of compactions that were executed for the partition.",
        dm.compactions.load(Ordering::Relaxed) as f64,
    );
    put(
        "prometheus_tsdb_compactions_failed_total",
        "counter",
        "Total number of compactions that failed for the partition.",
        dm.compactions_failed.load(Ordering::Relaxed) as f64,
    );
    put(
        "prometheus_tsdb_storage_blocks_bytes",
        "gauge",
        "The number of bytes that are currently used for local storage by all blocks.",
        db.blocks_size() as f64,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    init_logging(&flags)?;
    let db = tokio::task::spawn_blocking({
        let f = flags.clone();
        move || open_db(&f)
    })
    .await??;

    let compactor = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            loop {
                tick.tick().await;
                let db = db.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || db.compact()).await {
                    error!(error = %e, "compaction failed");
                }
            }
        })
    };

    let app = Router::new()
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/metrics", get(metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
        .with_state(db.clone());
    let listener = tokio::net::TcpListener::bind(flags.listen_address)
        .await
        .with_context(|| format!("listening on {}", flags.listen_address))?;
    info!(address = %flags.listen_address, "promlite is ready to receive web requests");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    info!("shutting down");
    compactor.abort();
    tokio::task::spawn_blocking(move || db.close()).await??;
    info!("storage closed; bye");
    Ok(())
}
