//! Starting, running and stopping a promlite server, in a binary or in
//! another program's process.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use promlite_api::{ApiOptions, ApiState};
use promlite_config::LoadedConfig;
use promlite_model::Labels;
use promlite_promql::{Engine, EngineOpts};
use promlite_scrape::ScrapeManager;
use promlite_tsdb::{Db, DbOptions};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::discovery::Discovery;
use crate::metrics::{self, unix_now, ServerMetrics};
use crate::{providers, settings, web_config};

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A `prometheus.yml` file, re-read on every reload.
    File(PathBuf),
    /// Configuration text (relative paths resolve against the working directory).
    Text(String),
    /// The embedded default, which scrapes this server itself.
    Embedded,
}

/// Where samples are kept.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Nothing on disk: no WAL, no blocks.
    InMemory,
    /// A data directory (`--storage.tsdb.path`).
    Dir(PathBuf),
}

/// Everything a server is started with; [`ServerOptions::default`] is an
/// in-memory server on an ephemeral loopback port, with the flags'
/// defaults otherwise.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The configuration.
    pub config: ConfigSource,
    /// The storage.
    pub storage: Storage,
    /// Time retention in milliseconds (0 disables).
    pub retention_time: i64,
    /// Size retention in bytes (0 disables).
    pub retention_size: u64,
    /// The address to listen on; port 0 picks a free one.
    pub listen_address: SocketAddr,
    /// `--web.enable-lifecycle`.
    pub enable_lifecycle: bool,
    /// `--web.enable-admin-api`.
    pub enable_admin_api: bool,
    /// `--web.enable-remote-write-receiver`.
    pub enable_remote_write_receiver: bool,
    /// `--web.enable-otlp-receiver`.
    pub enable_otlp_receiver: bool,
    /// `--web.config.file`.
    pub web_config_file: Option<PathBuf>,
    /// `--query.timeout`.
    pub query_timeout: Duration,
    /// `--query.max-samples`.
    pub query_max_samples: usize,
    /// `--query.lookback-delta`.
    pub query_lookback_delta: Duration,
    /// `--query.max-concurrency`.
    pub query_max_concurrency: usize,
    /// Start scrape loops for the configured jobs.
    pub scrape: bool,
    /// Run compaction and retention every minute.
    pub compaction: bool,
    /// Reload the configuration on SIGHUP.
    pub reload_on_sighup: bool,
    /// The flags as `/api/v1/status/flags` shows them.
    pub flags: BTreeMap<String, String>,
    /// An OpenMetrics file (with timestamps) loaded into the in-memory
    /// storage at start-up (`--storage.load-openmetrics`).
    pub load_openmetrics: Option<PathBuf>,
    /// Evaluate the configuration's rule files on their intervals.
    pub rules: bool,
    /// `--web.external-url` (default `http://<hostname>:<port>`).
    pub external_url: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            config: ConfigSource::Embedded,
            storage: Storage::InMemory,
            retention_time: promlite_tsdb::DEFAULT_RETENTION,
            retention_size: 0,
            listen_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            enable_lifecycle: false,
            enable_admin_api: false,
            enable_remote_write_receiver: false,
            enable_otlp_receiver: false,
            web_config_file: None,
            query_timeout: Duration::from_secs(120),
            query_max_samples: 50_000_000,
            query_lookback_delta: Duration::from_secs(300),
            query_max_concurrency: 20,
            scrape: true,
            compaction: true,
            reload_on_sighup: false,
            flags: BTreeMap::new(),
            load_openmetrics: None,
            rules: true,
            external_url: None,
        }
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error("error loading config: {0}")]
    Config(String),
    /// The storage could not be opened.
    #[error("opening storage: {0}")]
    Storage(#[from] promlite_storage::Error),
    /// `--web.config.file` is invalid.
    #[error("--web.config.file: {0}")]
    WebConfig(String),
    /// The OpenMetrics fixture could not be loaded.
    #[error("--storage.load-openmetrics: {0}")]
    Fixture(#[from] crate::fixtures::FixtureError),
    /// The listen address could not be bound.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The running server's shared state.
pub(crate) struct App {
    pub(crate) db: Db,
    pub(crate) scrape: Arc<ScrapeManager>,
    source: ConfigSource,
    port: u16,
    pub(crate) config: Mutex<Option<Arc<LoadedConfig>>>,
    discovery: Mutex<Option<Discovery>>,
    pub(crate) metrics: ServerMetrics,
    pub(crate) quit: CancellationToken,
    scrape_enabled: bool,
    pub(crate) rules: Arc<promlite_rules::RuleManager>,
    pub(crate) notifier: promlite_notifier::Notifier,
    engine: Arc<Engine>,
    external_url: String,
    /// The local storage plus `remote_read` stores, for queries.
    fanout: crate::remote_read::Fanout,
    /// Endpoints that get metric metadata, their interval and batch size.
    metadata_targets: Mutex<Vec<(promlite_remote::WriteSettings, Duration, usize)>>,
    /// New `remote_write` settings for the sender task.
    remote_tx: tokio::sync::watch::Sender<Vec<promlite_remote::WriteSettings>>,
    /// The API's OTLP settings once built, for reloads to update (a
    /// handle, not the `ApiState`, whose providers hold this `App`).
    otlp: Mutex<Option<promlite_api::OtlpSettings>>,
}

impl App {
    fn load(&self) -> Result<LoadedConfig, String> {
        let embedded;
        let (text, base, name): (&str, &Path, &Path) = match &self.source {
            ConfigSource::File(p) => {
                return promlite_config::load_file(p).map_err(|e| e.to_string());
            }
            ConfigSource::Text(t) => (t, Path::new("."), Path::new("<config text>")),
            ConfigSource::Embedded => {
                embedded = promlite_config::DEFAULT_CONFIG
                    .replace("localhost:9090", &format!("localhost:{}", self.port));
                (
                    &embedded,
                    Path::new("."),
                    Path::new("<embedded default config>"),
                )
            }
        };
        promlite_config::parse_str(text, base, name).map_err(|e| e.to_string())
    }

    /// Loads and applies the configuration. On any error the running
    /// configuration stays in place and `prometheus_config_last_reload_successful` is 0.
    pub(crate) fn reload(&self) -> Result<(), String> {
        let res = self.load().and_then(|loaded| {
            let jobs = settings::all_scrape_settings(&loaded.config)?;
            Ok((loaded, jobs))
        });
        let res = res.and_then(|(loaded, jobs)| {
            let cfg = &loaded.config;
            let nopts = crate::rules_glue::notifier_options(cfg)?;
            let remotes = crate::remote_read::Fanout::prepare(cfg)?;
            let writes = settings::remote_write_settings(cfg)?;
            let meta_targets = settings::metadata_targets(cfg, &writes);
            let ams = crate::rules_glue::alertmanager_sets(cfg)?;
            // Rules load last: a bad rule file fails the reload and the
            // previous rule set keeps running.
            let mut gopts = promlite_rules::GroupOptions::new(
                self.engine.clone(),
                Arc::new(self.fanout.clone()),
                Arc::new(self.db.clone()),
            );
            gopts.notifier = Some(Arc::new(crate::rules_glue::NotifierAdapter(
                self.notifier.clone(),
            )));
            gopts.external_labels = cfg.global.external_labels.clone();
            gopts.external_url = self.external_url.clone();
            gopts.default_interval_ms = cfg.global.evaluation_interval.as_millis();
            gopts.default_query_offset_ms = cfg.global.rule_query_offset.as_millis();
            let previous = self.rules.options();
            self.rules.set_options(gopts);
            if let Err(errs) = self.rules.update(&cfg.rule_files) {
                self.rules.set_options(previous);
                let msg: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                return Err(format!("error loading rules: {}", msg.join("; ")));
            }
            self.notifier.set_options(nopts);
            self.notifier.set_alertmanagers(ams);
            self.fanout.set(remotes);
            self.remote_tx.send_replace(writes);
            *self.metadata_targets.lock() = meta_targets;
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
        // Subqueries without a step use the evaluation interval, as
        // Prometheus' SetDefaultEvaluationInterval (API and rules alike).
        self.engine
            .set_default_subquery_step(loaded.config.global.evaluation_interval.to_std());
        if self.scrape_enabled {
            self.scrape.apply_config(jobs);
            let disc = Discovery::start(&loaded.config, self.scrape.clone());
            if let Some(old) = self.discovery.lock().replace(disc) {
                old.stop();
            }
        }
        if let Some(otlp) = self.otlp.lock().as_ref() {
            otlp.set(settings::otlp_options(&loaded.config.otlp));
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
        metrics::render(
            &app.db,
            &app.scrape,
            &app.notifier,
            &app.rules,
            &app.metrics,
        ),
    )
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

/// A per-instance seed for scrape offsets, so that two servers scraping the
/// same targets spread their load (Prometheus hashes hostname and external labels).
fn offset_seed(s: &str) -> u64 {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let mut h = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut h, host.trim().as_bytes());
    std::hash::Hasher::write(&mut h, s.as_bytes());
    std::hash::Hasher::finish(&h)
}

/// A running promlite server. Dropping it stops it (without waiting); call
/// [`Server::shutdown`] to wait until everything is flushed and closed.
pub struct Server {
    app: Arc<App>,
    addr: SocketAddr,
    tls: bool,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    engine: Arc<Engine>,
}

impl Server {
    /// Starts a server: loads the configuration (refusing a bad one),
    /// opens the storage (replaying the WAL), starts scraping and serves
    /// the HTTP API. Must be called inside a Tokio runtime.
    pub async fn start(opts: ServerOptions) -> Result<Server, StartError> {
        let listener = tokio::net::TcpListener::bind(opts.listen_address)
            .await
            .map_err(|source| StartError::Listen {
                addr: opts.listen_address,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: opts.listen_address,
            source,
        })?;
        // Serve at once: until storage is open and the WAL replayed,
        // `/-/healthy` is 200 and everything else 503, as in Prometheus.
        let web = match &opts.web_config_file {
            Some(p) => web_config::WebConfig::load(p).map_err(StartError::WebConfig)?,
            None => web_config::WebConfig::default(),
        };
        let tls = web.tls().map_err(StartError::WebConfig)?;
        let slot: Arc<parking_lot::RwLock<Option<Router>>> = Arc::default();
        let front = protect(front_router(slot.clone()), &web)?;
        let stop = CancellationToken::new();
        let quit = CancellationToken::new();
        let serving = {
            let (stop, quit) = (stop.clone(), quit.clone());
            tokio::spawn(async move {
                let shutdown = async move {
                    tokio::select! {
                        _ = stop.cancelled() => {},
                        _ = quit.cancelled() => {},
                    }
                };
                match tls {
                    Some(tls) => web_config::serve_tls(listener, tls, front, shutdown).await,
                    None => {
                        if let Err(e) = axum::serve(listener, front)
                            .with_graceful_shutdown(shutdown)
                            .await
                        {
                            error!(error = %e, "HTTP server failed");
                        }
                    }
                }
            })
        };
        // Stops serving if start-up fails below.
        let guard = stop.clone().drop_guard();
        let mut db_opts = DbOptions {
            retention_time: opts.retention_time,
            retention_size: opts.retention_size,
            ..DbOptions::default()
        };
        let fixture = match &opts.load_openmetrics {
            Some(p) => {
                if !matches!(opts.storage, Storage::InMemory) {
                    return Err(StartError::Config(
                        "--storage.load-openmetrics needs --storage.in-memory; for a data \
                         directory use `promlite tsdb create-blocks-from openmetrics`"
                            .into(),
                    ));
                }
                let series = crate::fixtures::read_openmetrics(p)?;
                // The in-memory head must accept the whole history: its
                // out-of-bounds window is half a block range.
                db_opts.block_range = 1000 * 24 * 3600 * 1000;
                db_opts.retention_time = 0;
                Some(series)
            }
            None => None,
        };
        let db = match &opts.storage {
            Storage::InMemory => {
                let db = Db::open_in_memory(db_opts);
                if let Some(series) = &fixture {
                    let n = crate::fixtures::load_into(&db, series)?;
                    info!(
                        samples = n,
                        series = series.len(),
                        "OpenMetrics fixture loaded"
                    );
                }
                db
            }
            Storage::Dir(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || Db::open(dir, db_opts))
                    .await
                    .map_err(|e| StartError::Config(e.to_string()))??
            }
        };
        let scrape = Arc::new(ScrapeManager::new(
            Arc::new(db.clone()),
            offset_seed(&addr.to_string()),
        ));
        let engine = Arc::new(Engine::new(EngineOpts {
            lookback_delta: opts.query_lookback_delta,
            max_samples: opts.query_max_samples,
            timeout: opts.query_timeout,
            ..EngineOpts::default()
        }));
        let external_url = opts.external_url.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "localhost".into());
            format!("http://{host}:{}", addr.port())
        });
        let rules = Arc::new(promlite_rules::RuleManager::new(
            promlite_rules::GroupOptions::new(
                engine.clone(),
                Arc::new(db.clone()),
                Arc::new(db.clone()),
            ),
        ));
        let notifier =
            promlite_notifier::Notifier::start(promlite_notifier::NotifierOptions::default());
        let (remote_tx, mut remote_rx) = tokio::sync::watch::channel(Vec::new());
        let app = Arc::new(App {
            db: db.clone(),
            scrape: scrape.clone(),
            source: opts.config.clone(),
            port: addr.port(),
            config: Mutex::new(None),
            discovery: Mutex::new(None),
            metrics: ServerMetrics::default(),
            quit: quit.clone(),
            scrape_enabled: opts.scrape,
            rules: rules.clone(),
            notifier: notifier.clone(),
            engine: engine.clone(),
            external_url,
            fanout: crate::remote_read::Fanout::new(db.clone()),
            remote_tx,
            metadata_targets: Mutex::new(Vec::new()),
            otlp: Mutex::new(None),
        });
        app.metrics
            .start_ts
            .store(unix_now() as i64, Ordering::Relaxed);
        app.reload().map_err(StartError::Config)?;
        if opts.reload_on_sighup {
            tokio::spawn(reload_on_sighup(app.clone()));
        }
        // The remote-write sender follows the WAL; it starts with the
        // configuration just loaded and follows reloads.
        let remote_stop = CancellationToken::new();
        let remote_task = {
            let wal_dir = match &opts.storage {
                Storage::Dir(d) => Some(d.join("wal")),
                Storage::InMemory => None,
            };
            let data_dir = match &opts.storage {
                Storage::Dir(d) => d.clone(),
                Storage::InMemory => PathBuf::from("."),
            };
            let (app, stop) = (app.clone(), remote_stop.clone());
            let initial = remote_rx.borrow_and_update().clone();
            tokio::spawn(async move {
                let mut writer = match promlite_remote::RemoteWriter::start(
                    initial,
                    wal_dir.as_deref(),
                    &data_dir,
                    stop.clone(),
                ) {
                    Ok(w) => {
                        *app.metrics.remote.lock() = w.metrics();
                        Some(w)
                    }
                    Err(e) => {
                        error!(error = %e, "remote write disabled");
                        None
                    }
                };
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        changed = remote_rx.changed() => {
                            if changed.is_err() {
                                break;
                            }
                            let settings = remote_rx.borrow_and_update().clone();
                            match writer.as_mut() {
                                Some(w) => {
                                    if let Err(e) = w.apply(settings).await {
                                        error!(error = %e, "applying remote_write failed");
                                    }
                                    *app.metrics.remote.lock() = w.metrics();
                                }
                                None if !settings.is_empty() => {
                                    error!("remote_write needs on-disk storage (it reads the WAL)");
                                }
                                None => {}
                            }
                        }
                    }
                }
                if let Some(w) = writer {
                    w.stop().await;
                }
            })
        };
        // Metric metadata from the scrape targets, sent every send_interval.
        {
            let (app, stop) = (app.clone(), remote_stop.clone());
            tokio::spawn(async move {
                let mut last_sent: std::collections::HashMap<String, std::time::Instant> =
                    std::collections::HashMap::new();
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                    let targets = app.metadata_targets.lock().clone();
                    if targets.is_empty() {
                        continue;
                    }
                    let mut fams: std::collections::BTreeMap<
                        String,
                        promlite_remote::FamilyMetadata,
                    > = std::collections::BTreeMap::new();
                    for t in app.scrape.active_targets() {
                        for (name, m) in t.metadata() {
                            fams.entry(name.clone())
                                .or_insert(promlite_remote::FamilyMetadata {
                                    name,
                                    metric_type: m.metric_type,
                                    help: m.help,
                                    unit: m.unit,
                                });
                        }
                    }
                    if fams.is_empty() {
                        continue;
                    }
                    let fams: Vec<promlite_remote::FamilyMetadata> = fams.into_values().collect();
                    for (w, interval, max) in targets {
                        let key = w.key();
                        if last_sent.get(&key).is_some_and(|t| t.elapsed() < interval) {
                            continue;
                        }
                        last_sent.insert(key, std::time::Instant::now());
                        if let Err(e) = promlite_remote::send_metadata(&w, &fams, max).await {
                            warn!(url = %w.url, error = %e, "sending metadata failed");
                        }
                    }
                }
            });
        }
        let rules_stop = CancellationToken::new();
        if opts.rules {
            let (r, c) = (rules.clone(), rules_stop.clone());
            tokio::spawn(async move { r.run(c).await });
        }
        let compactor = opts.compaction.then(|| {
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
        });

        let external_labels = {
            let cfg = app.config.lock();
            cfg.as_ref()
                .map(|c| {
                    Labels::from_pairs(&c.config.global.external_labels.iter().collect::<Vec<_>>())
                })
                .unwrap_or_default()
        };
        let otlp = app
            .config
            .lock()
            .as_ref()
            .map(|c| settings::otlp_options(&c.config.otlp))
            .unwrap_or_default();
        let retention = promlite_model::format_duration(opts.retention_time);
        let api = ApiState::builder(
            Arc::new(app.fanout.clone()),
            Arc::new(db.clone()),
            engine.clone(),
        )
        .options(ApiOptions {
            lookback_delta: opts.query_lookback_delta,
            query_timeout: opts.query_timeout,
            max_concurrency: opts.query_max_concurrency.max(1),
            enable_admin: opts.enable_admin_api,
            enable_lifecycle: opts.enable_lifecycle,
            enable_remote_write_receiver: opts.enable_remote_write_receiver,
            enable_otlp_receiver: opts.enable_otlp_receiver,
            otlp,
            external_labels,
            ..ApiOptions::default()
        })
        .with_targets(Arc::new(providers::Targets {
            scrape: scrape.clone(),
        }))
        .with_rules(Arc::new(crate::rules_glue::Rules {
            manager: rules.clone(),
            notifier: notifier.clone(),
        }))
        .with_status(Arc::new(providers::Status {
            app: app.clone(),
            flags: opts.flags.clone(),
            retention,
        }))
        .with_admin(Arc::new(providers::Admin {
            db: db.clone(),
            dir: match &opts.storage {
                Storage::Dir(d) => Some(d.clone()),
                Storage::InMemory => None,
            },
        }))
        .build();
        *app.otlp.lock() = Some(api.otlp_settings());
        // The WAL was replayed before we got here.
        api.set_ready(true);
        *slot.write() = Some(build_router(api, app.clone()));
        info!(address = %addr, "server is ready to receive web requests");
        let task = {
            let app = app.clone();
            tokio::spawn(async move {
                let _ = serving.await;
                info!("shutting down");
                rules_stop.cancel();
                remote_stop.cancel();
                let _ = remote_task.await;
                app.notifier.stop();
                if let Some(d) = app.discovery.lock().take() {
                    d.stop();
                }
                app.scrape.stop(false).await;
                if let Some(c) = compactor {
                    c.abort();
                }
                let db = app.db.clone();
                match tokio::task::spawn_blocking(move || db.close()).await {
                    Ok(Ok(())) => info!("storage closed"),
                    Ok(Err(e)) => error!(error = %e, "closing storage failed"),
                    Err(e) => error!(error = %e, "closing storage failed"),
                }
            })
        };
        guard.disarm();
        Ok(Server {
            app,
            addr,
            tls: web.tls_server_config.is_some(),
            stop,
            task: Some(task),
            engine,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's base URL, e.g. `http://127.0.0.1:43121`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The storage, to append or query directly.
    pub fn db(&self) -> &Db {
        &self.app.db
    }

    /// The PromQL engine the API uses.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The rule manager: its groups can be stepped on a virtual clock with
    /// `group.lock().eval(ts)` (start the server with `rules: false` so that
    /// no real-time loop evaluates them too).
    pub fn rules(&self) -> &promlite_rules::RuleManager {
        &self.app.rules
    }

    /// Runs an instant query at `t_ms` and returns the typed result.
    pub fn query(
        &self,
        expr: &str,
        t_ms: i64,
    ) -> promlite_promql::Result<promlite_promql::QueryResult> {
        self.engine.instant_query(&self.app.db, expr, t_ms)
    }

    /// Runs a range query over `[start_ms, end_ms]` every `step_ms`.
    pub fn query_range(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> promlite_promql::Result<promlite_promql::QueryResult> {
        self.engine
            .range_query(&self.app.db, expr, start_ms, end_ms, step_ms)
    }

    /// Appends a series written in promqltest/promtool notation, e.g.
    /// `http_requests_total{job="a"} 0+10x100` or `up 1 1 _ 0 stale`: the
    /// k-th value gets timestamp `start_ms + k * step_ms`. Returns the
    /// number of samples appended.
    pub fn append_series(&self, line: &str, start_ms: i64, step_ms: i64) -> Result<usize, String> {
        use promlite_promqltest::SeqValue;
        use promlite_storage::Appendable;
        let s = promlite_promqltest::parse_series_line(line).map_err(|e| e.to_string())?;
        let mut app = self.app.db.appender();
        let mut r = None;
        let mut n = 0;
        for (k, v) in s.values.iter().enumerate() {
            match v {
                SeqValue::Omitted => {}
                SeqValue::Float(v) => {
                    let t = start_ms + k as i64 * step_ms;
                    r = Some(app.append(r, &s.labels, t, *v).map_err(|e| e.to_string())?);
                    n += 1;
                }
                SeqValue::Histogram => {
                    return Err("native histogram samples are not supported".into());
                }
            }
        }
        app.commit().map_err(|e| e.to_string())?;
        Ok(n)
    }

    /// Evaluates every rule group once at `ts_ms` (a virtual clock), in
    /// file order. Start the server with `rules: false` so that no
    /// real-time loop evaluates them as well.
    pub fn eval_rules(&self, ts_ms: i64) {
        for g in self.app.rules.groups() {
            g.lock().eval(ts_ms);
        }
    }

    /// Evaluates the rule groups at every `step_ms` from `from_ms` to
    /// `to_ms` inclusive.
    pub fn step_rules(&self, from_ms: i64, to_ms: i64, step_ms: i64) {
        let mut t = from_ms;
        while t <= to_ms {
            self.eval_rules(t);
            t += step_ms.max(1);
        }
    }

    /// Active alerts (pending or firing) of every alerting rule.
    pub fn alerts(&self) -> Vec<promlite_rules::ActiveAlert> {
        self.app
            .rules
            .active_alerts()
            .into_iter()
            .filter(|a| a.state != promlite_rules::AlertState::Inactive)
            .collect()
    }

    /// Reloads the configuration as SIGHUP would.
    pub fn reload(&self) -> Result<(), String> {
        self.app.reload()
    }

    /// Resolves when `/-/quit` was requested.
    pub async fn quit_requested(&self) {
        self.app.quit.cancelled().await
    }

    /// Stops serving, stops scraping, flushes and closes the storage.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The router served from the start: the full router once it is in
/// `slot`, before that `/-/healthy` and 503 for everything else.
fn front_router(slot: Arc<parking_lot::RwLock<Option<Router>>>) -> Router {
    use tower::ServiceExt;
    Router::new().fallback(move |req: axum::extract::Request| {
        let full = slot.read().clone();
        async move {
            match full {
                Some(r) => match r.oneshot(req).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                },
                None if req.uri().path() == "/-/healthy" => {
                    "Prometheus Server is Healthy.\n".into_response()
                }
                None => (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                )
                    .into_response(),
            }
        }
    })
}

/// The API, `/metrics` and request counting.
fn build_router(api: ApiState, app: Arc<App>) -> Router {
    let router = promlite_api::router(api).merge(
        Router::new()
            .route("/metrics", get(metrics_handler))
            .with_state(app.clone()),
    );
    router.route_layer(axum::middleware::from_fn(move |req, next| {
        metrics::count_requests(app.clone(), req, next)
    }))
}

/// Response headers and basic authentication of `--web.config.file`.
fn protect(mut router: Router, web: &web_config::WebConfig) -> Result<Router, StartError> {
    for (k, v) in web.headers() {
        let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(k.as_str()),
            axum::http::HeaderValue::try_from(v.as_str()),
        ) else {
            return Err(StartError::WebConfig(format!("invalid header {k:?}")));
        };
        router = router.layer(axum::middleware::map_response(
            move |mut r: axum::response::Response| {
                let (name, value) = (name.clone(), value.clone());
                async move {
                    r.headers_mut().insert(name, value);
                    r
                }
            },
        ));
    }
    if let Some(auth) = web_config::BasicAuth::new(web.basic_auth_users.clone()) {
        router = router.layer(axum::middleware::from_fn(move |req, next| {
            web_config::require_basic_auth(auth.clone(), req, next)
        }));
    }
    Ok(router)
}
