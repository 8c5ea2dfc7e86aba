//! The `promlite` server binary: Prometheus' flags, `prometheus.yml`,
//! storage, scraping, the HTTP API, reloads and a clean shutdown; plus
//! `promlite check config` (as `promtool check config`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use promlite::{ConfigSource, Server, ServerOptions, Storage};
use tracing::info;

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
    /// Path to a configuration file that can enable TLS or authentication
    /// (exporter-toolkit format: tls_server_config, basic_auth_users).
    #[arg(long = "web.config.file")]
    web_config_file: Option<PathBuf>,
    /// Load this OpenMetrics file (samples with timestamps) into the
    /// in-memory storage at start-up; needs --storage.in-memory.
    #[arg(long = "storage.load-openmetrics")]
    load_openmetrics: Option<PathBuf>,
    /// The URL under which promlite is externally reachable (alert
    /// generator URLs, $externalURL in templates).
    #[arg(long = "web.external-url")]
    external_url: Option<String>,
    /// Enable shutdown and reload via HTTP request.
    #[arg(long = "web.enable-lifecycle")]
    enable_lifecycle: bool,
    /// Enable API endpoints for admin control actions.
    #[arg(long = "web.enable-admin-api")]
    enable_admin_api: bool,
    /// Enable the API endpoint accepting remote write requests.
    #[arg(long = "web.enable-remote-write-receiver")]
    enable_remote_write_receiver: bool,
    /// Enable the API endpoint accepting OTLP metrics (/api/v1/otlp/v1/metrics).
    #[arg(long = "web.enable-otlp-receiver")]
    enable_otlp_receiver: bool,
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
    /// Unit testing (as `promtool test`).
    Test {
        #[command(subcommand)]
        what: TestWhat,
    },
    /// Work with TSDB data (as `promtool tsdb`).
    Tsdb {
        #[command(subcommand)]
        what: TsdbWhat,
    },
}

#[derive(Debug, Clone, Subcommand)]
enum TestWhat {
    /// Unit tests for rules (promtool's format).
    Rules {
        /// The test files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Subcommand)]
enum TsdbWhat {
    /// Create blocks from data in another format (as promtool's backfill).
    #[command(name = "create-blocks-from")]
    CreateBlocksFrom {
        #[command(subcommand)]
        from: CreateFrom,
    },
}

#[derive(Debug, Clone, Subcommand)]
enum CreateFrom {
    /// From an OpenMetrics file whose samples carry timestamps.
    Openmetrics {
        /// The OpenMetrics input file.
        input: PathBuf,
        /// The data directory to write blocks into.
        #[arg(default_value = "data/")]
        output: PathBuf,
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
    /// Check if the rule files are valid or not.
    Rules {
        /// The rule files to check.
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
        "logfmt" => builder.event_format(promlite::logfmt::Logfmt).init(),
        other => anyhow::bail!("invalid --log.format {other:?}: must be logfmt or json"),
    }
    Ok(())
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
        (
            "web.enable-otlp-receiver",
            f.enable_otlp_receiver.to_string(),
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

async fn shutdown_signal(server: &Server) {
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
        _ = server.quit_requested() => {},
    }
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
        None => {
            info!("no prometheus.yml found; running the embedded default configuration");
            ConfigSource::Embedded
        }
    }
}

fn options(flags: &Flags) -> anyhow::Result<ServerOptions> {
    Ok(ServerOptions {
        config: config_source(flags),
        storage: if flags.in_memory {
            info!("storage is in memory; nothing is written to disk");
            Storage::InMemory
        } else {
            Storage::Dir(PathBuf::from(&flags.tsdb_path))
        },
        retention_time: promlite_model::parse_duration(&flags.retention_time)
            .context("--storage.tsdb.retention.time")?,
        retention_size: promlite_model::parse_bytes(&flags.retention_size)
            .context("--storage.tsdb.retention.size")?,
        listen_address: flags.listen_address,
        enable_lifecycle: flags.enable_lifecycle,
        enable_admin_api: flags.enable_admin_api,
        enable_remote_write_receiver: flags.enable_remote_write_receiver,
        enable_otlp_receiver: flags.enable_otlp_receiver,
        web_config_file: flags.web_config_file.clone(),
        query_timeout: duration_flag("query.timeout", &flags.query_timeout)?,
        query_max_samples: flags.query_max_samples,
        query_lookback_delta: duration_flag("query.lookback-delta", &flags.query_lookback_delta)?,
        query_max_concurrency: flags.query_max_concurrency,
        scrape: true,
        compaction: true,
        reload_on_sighup: true,
        flags: flag_map(flags),
        load_openmetrics: flags.load_openmetrics.clone(),
        rules: true,
        external_url: flags.external_url.clone(),
    })
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
    if let Some(Command::Check {
        what: CheckWhat::Rules { files },
    }) = &flags.command
    {
        let (code, out) = promlite_rules::check_rules(files);
        #[allow(clippy::print_stdout)]
        {
            print!("{out}");
        }
        std::process::exit(code);
    }
    if let Some(Command::Test {
        what: TestWhat::Rules { files },
    }) = &flags.command
    {
        let (code, out) =
            promlite_rules::test_rules(files, &promlite_rules::TestRulesOptions::default());
        #[allow(clippy::print_stdout)]
        {
            print!("{out}");
        }
        std::process::exit(code);
    }
    if let Some(Command::Tsdb {
        what:
            TsdbWhat::CreateBlocksFrom {
                from: CreateFrom::Openmetrics { input, output },
            },
    }) = &flags.command
    {
        match promlite::fixtures::create_blocks_from_openmetrics(input, output) {
            Ok(metas) => {
                #[allow(clippy::print_stdout)]
                for m in metas {
                    println!(
                        "BLOCK ULID {} MIN TIME {} MAX TIME {} SAMPLES {} SERIES {}",
                        m.ulid, m.min_time, m.max_time, m.stats.num_samples, m.stats.num_series
                    );
                }
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    init_logging(&flags)?;
    let server = Server::start(options(&flags)?).await?;
    shutdown_signal(&server).await;
    server.shutdown().await;
    info!("bye");
    Ok(())
}
