//! The state every handler shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use promlite_model::Labels;
use promlite_promql::Engine;
use promlite_storage::{Appendable, Queryable};
use tokio::sync::Semaphore;

use crate::providers::{RulesProvider, StatusProvider, TargetsProvider, TsdbAdmin};

/// Options of the API (Prometheus' `--web.*` and `--query.*` flags).
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Default lookback delta of queries and `/federate`
    /// (`--query.lookback-delta`, 5m). Overrides the engine's own setting
    /// for API queries; the engine supplies the other options (max samples,
    /// subquery step).
    pub lookback_delta: Duration,
    /// Queries evaluated at once; the rest wait (`--query.max-concurrency`, 20).
    pub max_concurrency: usize,
    /// Longest a query may wait and run (`--query.timeout`, 2m); the
    /// `timeout` parameter can only shorten it. Overrides the engine's own.
    pub query_timeout: Duration,
    /// Enables `/api/v1/admin/*` (`--web.enable-admin-api`).
    pub enable_admin: bool,
    /// Enables `/-/reload` and `/-/quit` (`--web.enable-lifecycle`).
    pub enable_lifecycle: bool,
    /// Enables `/api/v1/write` (`--web.enable-remote-write-receiver`).
    pub enable_remote_write_receiver: bool,
    /// Enables `/api/v1/otlp/v1/metrics` (`--web.enable-otlp-receiver`).
    pub enable_otlp_receiver: bool,
    /// How OTLP metrics are translated (the configuration's `otlp`
    /// section) at start; [`ApiState::set_otlp_options`] replaces it on
    /// reload.
    pub otlp: OtlpOptions,
    /// Largest urlencoded form body read (bytes).
    pub max_form_body_bytes: usize,
    /// Largest compressed remote-write body (bytes).
    pub max_remote_write_body_bytes: usize,
    /// Largest decompressed remote-write body (bytes), against snappy bombs.
    pub max_remote_write_decoded_bytes: usize,
    /// `global.external_labels`, added by `/federate` to series lacking them.
    pub external_labels: Labels,
    /// `--web.cors.origin`: a regular expression (anchored) of the origins
    /// allowed to read API responses; `.*` answers `*`.
    pub cors_origin: String,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            lookback_delta: Duration::from_secs(300),
            max_concurrency: 20,
            query_timeout: Duration::from_secs(120),
            enable_admin: false,
            enable_lifecycle: false,
            enable_remote_write_receiver: false,
            enable_otlp_receiver: false,
            otlp: OtlpOptions::default(),
            max_form_body_bytes: 10 << 20,
            max_remote_write_body_bytes: 32 << 20,
            max_remote_write_decoded_bytes: 256 << 20,
            external_labels: Labels::empty(),
            cors_origin: ".*".to_string(),
        }
    }
}

/// How OTLP metric and attribute names become Prometheus names
/// (`otlp.translation_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpTranslationStrategy {
    /// Escape names to `[a-zA-Z0-9_:]` and add unit and type suffixes
    /// (Prometheus' default).
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Escape names; no suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Keep UTF-8 names; add suffixes.
    NoUtf8EscapingWithSuffixes,
    /// Keep names as they are.
    NoTranslation,
}

impl OtlpTranslationStrategy {
    /// The strategy of a configuration value (Prometheus' spelling), if
    /// known.
    pub fn from_config(s: &str) -> Option<Self> {
        Some(match s {
            "UnderscoreEscapingWithSuffixes" => Self::UnderscoreEscapingWithSuffixes,
            "UnderscoreEscapingWithoutSuffixes" => Self::UnderscoreEscapingWithoutSuffixes,
            "NoUTF8EscapingWithSuffixes" => Self::NoUtf8EscapingWithSuffixes,
            "NoTranslation" => Self::NoTranslation,
            _ => return None,
        })
    }
}

/// The OTLP receiver's translation settings: Prometheus' `otlp`
/// configuration section, minus what promlite does not implement
/// (`promote_scope_metadata`, `convert_histograms_to_nhcb`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpOptions {
    /// Name translation strategy.
    pub translation_strategy: OtlpTranslationStrategy,
    /// Resource attributes copied to every series' labels.
    pub promote_resource_attributes: Vec<String>,
    /// Copy every resource attribute except `ignore_resource_attributes`.
    pub promote_all_resource_attributes: bool,
    /// Attributes not promoted by `promote_all_resource_attributes`.
    pub ignore_resource_attributes: Vec<String>,
    /// Keep `service.name`, `service.namespace` and `service.instance.id`
    /// as labels of `target_info` too.
    pub keep_identifying_resource_attributes: bool,
    /// Prefix `key` to label names starting with a single `_`.
    pub label_name_underscore_sanitization: bool,
    /// Keep runs of `_` in escaped label names (else one `_`).
    pub label_name_preserve_multiple_underscores: bool,
}

impl Default for OtlpOptions {
    fn default() -> Self {
        OtlpOptions {
            translation_strategy: OtlpTranslationStrategy::default(),
            promote_resource_attributes: Vec::new(),
            promote_all_resource_attributes: false,
            ignore_resource_attributes: Vec::new(),
            keep_identifying_resource_attributes: false,
            label_name_underscore_sanitization: true,
            label_name_preserve_multiple_underscores: true,
        }
    }
}

/// The OTLP translation settings an [`ApiState`] uses, shared with
/// whoever replaces them on reload. Cloning is cheap (one `Arc`).
#[derive(Debug, Clone)]
pub struct OtlpSettings(Arc<RwLock<Arc<OtlpOptions>>>);

impl OtlpSettings {
    /// Replaces the settings; requests already being translated keep the
    /// old ones.
    pub fn set(&self, otlp: OtlpOptions) {
        let mut g = self.0.write().unwrap_or_else(PoisonError::into_inner);
        *g = Arc::new(otlp);
    }

    /// The current settings.
    pub fn get(&self) -> Arc<OtlpOptions> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

pub(crate) struct Inner {
    pub(crate) queryable: Arc<dyn Queryable>,
    pub(crate) appendable: Arc<dyn Appendable>,
    pub(crate) engine: Arc<Engine>,
    pub(crate) opts: ApiOptions,
    pub(crate) query_slots: Arc<Semaphore>,
    pub(crate) ready: AtomicBool,
    pub(crate) started: SystemTime,
    pub(crate) targets: Option<Arc<dyn TargetsProvider>>,
    pub(crate) rules: Option<Arc<dyn RulesProvider>>,
    pub(crate) status: Option<Arc<dyn StatusProvider>>,
    pub(crate) admin: Option<Arc<dyn TsdbAdmin>>,
    /// The compiled CORS origin pattern; `None` means any origin (`*`) and
    /// an invalid pattern allows none.
    pub(crate) cors: Cors,
    /// The OTLP translation settings; replaced on reload.
    pub(crate) otlp: OtlpSettings,
}

/// How to answer a request's `Origin`.
#[derive(Debug)]
pub(crate) enum Cors {
    Any,
    Pattern(regex::Regex),
    Nothing,
}

/// What the handlers share: storage, engine, options and providers.
/// Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct ApiState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("opts", &self.inner.opts)
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// A builder over the storage and engine; providers are added with its
    /// `with_*` methods.
    pub fn builder(
        queryable: Arc<dyn Queryable>,
        appendable: Arc<dyn Appendable>,
        engine: Arc<Engine>,
    ) -> ApiStateBuilder {
        ApiStateBuilder {
            queryable,
            appendable,
            engine,
            opts: ApiOptions::default(),
            targets: None,
            rules: None,
            status: None,
            admin: None,
        }
    }

    /// Marks the server ready (`/-/ready` answers 200 and the API serves)
    /// or not ready (503 "Service Unavailable").
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Release);
    }

    /// Whether [`ApiState::set_ready`] was last called with `true`.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }

    /// The options.
    pub fn options(&self) -> &ApiOptions {
        &self.inner.opts
    }

    /// Replaces the OTLP translation settings (after a configuration
    /// reload); requests already being translated keep the old ones.
    pub fn set_otlp_options(&self, otlp: OtlpOptions) {
        self.inner.otlp.set(otlp);
    }

    /// A handle on the OTLP translation settings that does not keep the
    /// rest of the state alive (for a reloader the state's providers
    /// point back to).
    pub fn otlp_settings(&self) -> OtlpSettings {
        self.inner.otlp.clone()
    }

    /// The current OTLP translation settings.
    pub(crate) fn otlp_options(&self) -> Arc<OtlpOptions> {
        self.inner.otlp.get()
    }
}

/// Builds an [`ApiState`].
pub struct ApiStateBuilder {
    queryable: Arc<dyn Queryable>,
    appendable: Arc<dyn Appendable>,
    engine: Arc<Engine>,
    opts: ApiOptions,
    targets: Option<Arc<dyn TargetsProvider>>,
    rules: Option<Arc<dyn RulesProvider>>,
    status: Option<Arc<dyn StatusProvider>>,
    admin: Option<Arc<dyn TsdbAdmin>>,
}

impl std::fmt::Debug for ApiStateBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiStateBuilder")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl ApiStateBuilder {
    /// Sets the options.
    pub fn options(mut self, opts: ApiOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Adds the targets and metadata provider.
    pub fn with_targets(mut self, p: Arc<dyn TargetsProvider>) -> Self {
        self.targets = Some(p);
        self
    }

    /// Adds the rules, alerts and Alertmanager provider.
    pub fn with_rules(mut self, p: Arc<dyn RulesProvider>) -> Self {
        self.rules = Some(p);
        self
    }

    /// Adds the status and lifecycle provider.
    pub fn with_status(mut self, p: Arc<dyn StatusProvider>) -> Self {
        self.status = Some(p);
        self
    }

    /// Adds the TSDB admin operations.
    pub fn with_admin(mut self, p: Arc<dyn TsdbAdmin>) -> Self {
        self.admin = Some(p);
        self
    }

    /// The state; not ready until [`ApiState::set_ready`].
    pub fn build(self) -> ApiState {
        let slots = self.opts.max_concurrency.max(1);
        let cors = if self.opts.cors_origin == ".*" {
            Cors::Any
        } else {
            match regex::Regex::new(&format!("^(?:{})$", self.opts.cors_origin)) {
                Ok(re) => Cors::Pattern(re),
                Err(e) => {
                    tracing::error!(target: "api", error = %e, "invalid CORS origin pattern; CORS disabled");
                    Cors::Nothing
                }
            }
        };
        let otlp = OtlpSettings(Arc::new(RwLock::new(Arc::new(self.opts.otlp.clone()))));
        ApiState {
            inner: Arc::new(Inner {
                otlp,
                queryable: self.queryable,
                appendable: self.appendable,
                engine: self.engine,
                opts: self.opts,
                query_slots: Arc::new(Semaphore::new(slots)),
                ready: AtomicBool::new(false),
                started: SystemTime::now(),
                targets: self.targets,
                rules: self.rules,
                status: self.status,
                admin: self.admin,
                cors,
            }),
        }
    }
}
