//! The `promlite` server binary: Prometheus' flags, `prometheus.yml`,
//! storage, scraping, reloads and a clean shutdown; plus `promlite check
//! config` (as `promtool check config`).

mod discovery;
mod metrics;
mod providers;
mod settings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use clap::{Parser, Subcommand};
use parking_lot::Mutex;
use promlite_api::{ApiOptions, ApiState};
use promlite_config::LoadedConfig;
use promlite_model::Labels;
use promlite_promql::{Engine, EngineOpts};
use promlite_scrape::ScrapeManager;
use promlite_tsdb::{Db, DbOptions};
use tracing::{error, info, warn};

use crate::discovery::Discovery;
use crate::metrics::{unix_now, ServerMetrics};

/// Command-line flags, named and defaulted as Prometheus' own.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "promlite",
    version,
    about = "A miniature, Prometheus-compatible time-series database."
)]
struct Flags {
    /// Prometheus configuration file path. Without it, ./prometheus.yml is
    /// used when present, else an embedded default that scrapes promlite itself.
    #[arg(long = "config.file")]
    config_file: Option<PathBuf>,
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
    /// Enable shutdown and reload via HTTP request.
    #[arg(long = "web.enable-lifecycle")]
    enable_lifecycle: bool,
    /// Enable API endpoints for admin control actions.
    #[arg(long = "web.enable-admin-api")]
    enable_admin_api: bool,
    /// Enable the API endpoint accepting remote write requests.
    #[arg(long = "web.enable-remote-write-receiver")]
    enable_remote_write_receiver: bool,
    /// Maximum time a query may take before being aborted.
    #[arg(long = "query.timeout", default_value = "2m")]
    query_timeout: String,
    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    query_max_samples: usize,
    /// The maximum lookback duration for retrieving metrics during expression evaluations and federation.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    query_lookback_delta: String,
    /// Maximum number of queries executed concurrently.
    #[arg(long = "query.max-concurrency", default_value_t = 20)]
    query_max_concurrency: usize,
    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    log_level: String,
    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt")]
    log_format: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
enum Command {
    /// Check resources for validity (as `promtool check`).
    Check {
        #[command(subcommand)]
        what: CheckWhat,
    },
}

#[derive(Debug, Clone, Subcommand)]
enum CheckWhat {
    /// Check if the config files are valid or not.
    Config {
        /// The configuration files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn init_logging(f: &Flags) -> anyhow::Result<()> {
    let level: tracing::Level = f
        .log_level
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid --log.level {:?}", f.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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

/// Where the configuration comes from.
#[derive(Debug, Clone)]
enum ConfigSource {
    File(PathBuf),
    /// The embedded default, scraping this server on `port`.
    Embedded {
        port: u16,
    },
}

impl ConfigSource {
    fn load(&self) -> Result<LoadedConfig, String> {
        match self {
            ConfigSource::File(p) => promlite_config::load_file(p).map_err(|e| e.to_string()),
            ConfigSource::Embedded { port } => promlite_config::parse_str(
                &promlite_config::DEFAULT_CONFIG
                    .replace("localhost:9090", &format!("localhost:{port}")),
                Path::new("."),
                Path::new("<embedded default config>"),
            )
            .map_err(|e| e.to_string()),
        }
    }
}

/// The running server's shared state.
struct App {
    db: Db,
    /// The engine whose default subquery step follows `evaluation_interval`.
    engine: Arc<Engine>,
    scrape: Arc<ScrapeManager>,
    source: ConfigSource,
    config: Mutex<Option<Arc<LoadedConfig>>>,
    discovery: Mutex<Option<Discovery>>,
    metrics: ServerMetrics,
    quit: tokio::sync::Notify,
}

impl App {
    /// Loads and applies the configuration. On any error the running
    /// configuration stays in place and `prometheus_config_last_reload_successful` is 0.
    fn reload(&self) -> Result<(), String> {
        let res = self.source.load().and_then(|loaded| {
            let jobs = settings::all_scrape_settings(&loaded.config)?;
            Ok((loaded, jobs))
        });
        let (loaded, jobs) = match res {
            Ok(x) => x,
            Err(e) => {
                self.metrics.reload_success.store(0, Ordering::Relaxed);
                error!(error = %e, "error loading config; keeping the previous configuration");
                return Err(e);
            }
        };
        for w in &loaded.warnings {
            warn!("{w}");
        }
        self.scrape.apply_config(jobs);
        self.engine
            .set_default_subquery_step(loaded.config.global.evaluation_interval.to_std());
        let disc = Discovery::start(&loaded.config, self.scrape.clone());
        if let Some(old) = self.discovery.lock().replace(disc) {
            old.stop();
        }
        *self.config.lock() = Some(Arc::new(loaded));
        self.metrics.reload_success.store(1, Ordering::Relaxed);
        self.metrics
            .reload_success_ts
            .store(unix_now() as i64, Ordering::Relaxed);
        info!("completed loading of configuration file");
        Ok(())
    }
}

async fn metrics_handler(State(app): State<Arc<App>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&app.db, &app.scrape, &app.metrics),
    )
}

fn duration_flag(name: &str, v: &str) -> anyhow::Result<Duration> {
    let ms = promlite_model::parse_duration(v).with_context(|| format!("--{name}"))?;
    Ok(Duration::from_millis(ms as u64))
}

/// The flags as `/api/v1/status/flags` reports them (Prometheus' names).
fn flag_map(f: &Flags) -> std::collections::BTreeMap<String, String> {
    let mut m = std::collections::BTreeMap::new();
    let config = f
        .config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "prometheus.yml".into());
    for (k, v) in [
        ("config.file", config),
        ("storage.tsdb.path", f.tsdb_path.clone()),
        ("storage.tsdb.retention.time", f.retention_time.clone()),
        ("storage.tsdb.retention.size", f.retention_size.clone()),
        ("storage.in-memory", f.in_memory.to_string()),
        ("web.listen-address", f.listen_address.to_string()),
        ("web.enable-lifecycle", f.enable_lifecycle.to_string()),
        ("web.enable-admin-api", f.enable_admin_api.to_string()),
        (
            "web.enable-remote-write-receiver",
            f.enable_remote_write_receiver.to_string(),
        ),
        ("query.timeout", f.query_timeout.clone()),
        ("query.max-samples", f.query_max_samples.to_string()),
        ("query.lookback-delta", f.query_lookback_delta.clone()),
        ("query.max-concurrency", f.query_max_concurrency.to_string()),
        ("log.level", f.log_level.clone()),
        ("log.format", f.log_format.clone()),
    ] {
        m.insert(k.to_string(), v);
    }
    m
}

async fn shutdown_signal(app: Arc<App>) {
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
        _ = app.quit.notified() => {},
    }
}

/// Reloads the configuration on SIGHUP.
async fn reload_on_sighup(app: Arc<App>) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            let a = app.clone();
            let _ = tokio::task::spawn_blocking(move || a.reload()).await;
        }
    }
    #[cfg(not(unix))]
    let _ = app;
}

fn check_config(files: &[PathBuf]) -> i32 {
    let mut code = 0;
    for f in files {
        let (c, out) = promlite_config::check_config(f, None);
        #[allow(clippy::print_stdout)]
        {
            print!("{out}");
        }
        code = code.max(c);
    }
    code
}

fn config_source(flags: &Flags) -> ConfigSource {
    match &flags.config_file {
        Some(p) => ConfigSource::File(p.clone()),
        None if Path::new("prometheus.yml").exists() => {
            ConfigSource::File(PathBuf::from("prometheus.yml"))
        }
        None => ConfigSource::Embedded {
            port: flags.listen_address.port(),
        },
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    if let Some(Command::Check {
        what: CheckWhat::Config { files },
    }) = &flags.command
    {
        std::process::exit(check_config(files));
    }
    init_logging(&flags)?;
    let source = config_source(&flags);
    // Refuse to start on a bad configuration, as Prometheus does.
    let initial = source
        .load()
        .map_err(|e| anyhow::anyhow!("error loading config: {e}"))?;
    settings::all_scrape_settings(&initial.config)
        .map_err(|e| anyhow::anyhow!("error loading config: {e}"))?;
    if matches!(source, ConfigSource::Embedded { .. }) {
        info!("no prometheus.yml found; running the embedded default configuration");
    }

    let db = tokio::task::spawn_blocking({
        let f = flags.clone();
        move || open_db(&f)
    })
    .await??;
    let seed = xxhash_seed(&flags.listen_address.to_string());
    let scrape = Arc::new(ScrapeManager::new(Arc::new(db.clone()), seed));
    let lookback = duration_flag("query.lookback-delta", &flags.query_lookback_delta)?;
    let query_timeout = duration_flag("query.timeout", &flags.query_timeout)?;
    let engine = Arc::new(Engine::new(EngineOpts {
        lookback_delta: lookback,
        max_samples: flags.query_max_samples,
        timeout: query_timeout,
        ..EngineOpts::default()
    }));
    let app = Arc::new(App {
        db: db.clone(),
        engine: engine.clone(),
        scrape: scrape.clone(),
        source,
        config: Mutex::new(None),
        discovery: Mutex::new(None),
        metrics: ServerMetrics::default(),
        quit: tokio::sync::Notify::new(),
    });
    app.metrics
        .start_ts
        .store(unix_now() as i64, Ordering::Relaxed);
    if let Err(e) = app.reload() {
        anyhow::bail!("error loading config: {e}");
    }
    tokio::spawn(reload_on_sighup(app.clone()));

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

    let external_labels = {
        let cfg = app.config.lock();
        cfg.as_ref()
            .map(|c| {
                Labels::from_pairs(&c.config.global.external_labels.iter().collect::<Vec<_>>())
            })
            .unwrap_or_default()
    };
    let api = ApiState::builder(Arc::new(db.clone()), Arc::new(db.clone()), engine)
        .options(ApiOptions {
            lookback_delta: lookback,
            query_timeout,
            max_concurrency: flags.query_max_concurrency.max(1),
            enable_admin: flags.enable_admin_api,
            enable_lifecycle: flags.enable_lifecycle,
            enable_remote_write_receiver: flags.enable_remote_write_receiver,
            external_labels,
            ..ApiOptions::default()
        })
        .with_targets(Arc::new(providers::Targets {
            scrape: scrape.clone(),
        }))
        .with_status(Arc::new(providers::Status {
            app: app.clone(),
            flags: flag_map(&flags),
            retention: flags.retention_time.clone(),
        }))
        .with_admin(Arc::new(providers::Admin {
            db: db.clone(),
            dir: (!flags.in_memory).then(|| PathBuf::from(&flags.tsdb_path)),
        }))
        .build();
    // The WAL was replayed before we got here.
    api.set_ready(true);
    let router = promlite_api::router(api).merge(
        Router::new()
            .route("/metrics", get(metrics_handler))
            .with_state(app.clone()),
    );
    let listener = tokio::net::TcpListener::bind(flags.listen_address)
        .await
        .with_context(|| format!("listening on {}", flags.listen_address))?;
    info!(address = %flags.listen_address, "server is ready to receive web requests");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal(app.clone()))
        .await?;
    info!("shutting down");
    if let Some(d) = app.discovery.lock().take() {
        d.stop();
    }
    scrape.stop(false).await;
    compactor.abort();
    tokio::task::spawn_blocking(move || db.close()).await??;
    info!("storage closed; bye");
    Ok(())
}

/// A per-instance seed for scrape offsets, so that two servers scraping the
/// same targets spread their load (Prometheus hashes hostname and external labels).
fn xxhash_seed(s: &str) -> u64 {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let mut h = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut h, host.trim().as_bytes());
    std::hash::Hasher::write(&mut h, s.as_bytes());
    std::hash::Hasher::finish(&h)
}
