//! Traits through which other crates (scrape, rules, server, tsdb) feed the
//! API, and the data they hand over. Every provider is optional: without
//! one the API answers as Prometheus does with nothing configured.
//!
//! All providers are called from async handlers and must be cheap and
//! non-blocking (take a snapshot under a lock and return it); they are
//! `Send + Sync` and may be called from several threads at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use promlite_model::{Labels, Matcher};
use serde::Serialize;

use crate::error::ProviderError;
use crate::json::ser_time;

/// Health of a scrape target (`scrape.TargetHealth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TargetHealth {
    /// Not scraped yet.
    #[default]
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
}

/// One active target as `/api/v1/targets` shows it.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ActiveTarget {
    /// Labels before relabeling.
    pub discovered_labels: BTreeMap<String, String>,
    /// Labels after relabeling.
    pub labels: BTreeMap<String, String>,
    /// The scrape pool (job) name.
    pub scrape_pool: String,
    /// The URL scraped.
    pub scrape_url: String,
    /// The URL as seen from outside (usually the same).
    pub global_url: String,
    /// The last scrape error, or empty.
    pub last_error: String,
    /// When the last scrape started.
    #[serde(serialize_with = "ser_time")]
    pub last_scrape: Option<SystemTime>,
    /// How long the last scrape took, in seconds.
    pub last_scrape_duration: f64,
    /// Health after the last scrape.
    pub health: TargetHealth,
    /// The scrape interval, as a Prometheus duration string (`15s`).
    pub scrape_interval: String,
    /// The scrape timeout (`10s`).
    pub scrape_timeout: String,
}

/// A target dropped by relabeling.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DroppedTarget {
    /// Labels before relabeling.
    pub discovered_labels: BTreeMap<String, String>,
    /// The scrape pool it was discovered for.
    pub scrape_pool: String,
}

/// Metadata of one metric family as a target exposes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub struct MetricMetadata {
    /// The metric family name.
    #[serde(skip)]
    pub metric: String,
    /// `counter`, `gauge`, `histogram`, `summary`, `unknown`, ...
    #[serde(rename = "type")]
    pub metric_type: String,
    /// The HELP text.
    pub help: String,
    /// The UNIT, or empty.
    pub unit: String,
}

/// The metadata one target exposes.
#[derive(Debug, Clone, Default)]
pub struct TargetMetadata {
    /// The target's labels (after relabeling).
    pub target: Labels,
    /// Its metric families, in exposition order.
    pub metadata: Vec<MetricMetadata>,
}

/// Supplies targets and metadata (implemented by the scrape manager).
pub trait TargetsProvider: Send + Sync {
    /// Active targets, in any order (the API sorts by pool).
    fn active_targets(&self) -> Vec<ActiveTarget>;
    /// Dropped targets.
    fn dropped_targets(&self) -> Vec<DroppedTarget>;
    /// Metadata per active target.
    fn target_metadata(&self) -> Vec<TargetMetadata>;
    /// The configured scrape pools, sorted; by default the pools of the
    /// active and dropped targets.
    fn scrape_pools(&self) -> Vec<String> {
        let mut pools: Vec<String> = self
            .active_targets()
            .into_iter()
            .map(|t| t.scrape_pool)
            .chain(self.dropped_targets().into_iter().map(|t| t.scrape_pool))
            .collect();
        pools.sort();
        pools.dedup();
        pools
    }
}

/// An alert as `/api/v1/alerts` and rule listings show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// The alert's labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
    /// When it became active.
    #[serde(serialize_with = "ser_time")]
    pub active_at: Option<SystemTime>,
    /// The value, formatted with Go's `%e` (`1e+00`).
    pub value: String,
}

/// A rule in a group (alerting or recording), as Prometheus lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Rule {
    /// An alerting rule.
    Alerting(AlertingRule),
    /// A recording rule.
    Recording(RecordingRule),
}

/// An alerting rule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertingRule {
    /// `inactive`, `pending` or `firing`.
    pub state: String,
    /// The alert name.
    pub name: String,
    /// The expression.
    pub query: String,
    /// `for`, in seconds.
    pub duration: f64,
    /// `keep_firing_for`, in seconds.
    pub keep_firing_for: f64,
    /// Labels added to alerts.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Active alerts.
    pub alerts: Vec<Alert>,
    /// `ok`, `err` or `unknown`.
    pub health: String,
    /// The last evaluation error.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_error: String,
    /// Seconds the last evaluation took.
    pub evaluation_time: f64,
    /// When it was last evaluated.
    #[serde(serialize_with = "ser_time")]
    pub last_evaluation: Option<SystemTime>,
    /// Always `alerting`.
    #[serde(rename = "type")]
    pub rule_type: &'static str,
}

/// A recording rule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingRule {
    /// The recorded metric name.
    pub name: String,
    /// The expression.
    pub query: String,
    /// Labels added to the result.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `ok`, `err` or `unknown`.
    pub health: String,
    /// The last evaluation error.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_error: String,
    /// Seconds the last evaluation took.
    pub evaluation_time: f64,
    /// When it was last evaluated.
    #[serde(serialize_with = "ser_time")]
    pub last_evaluation: Option<SystemTime>,
    /// Always `recording`.
    #[serde(rename = "type")]
    pub rule_type: &'static str,
}

/// A rule group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleGroup {
    /// The group name.
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// Its rules in file order.
    pub rules: Vec<Rule>,
    /// The evaluation interval in seconds.
    pub interval: f64,
    /// The group's alert/series limit (0 = none).
    pub limit: i64,
    /// Seconds the last evaluation took.
    pub evaluation_time: f64,
    /// When it was last evaluated.
    #[serde(serialize_with = "ser_time")]
    pub last_evaluation: Option<SystemTime>,
}

/// Supplies rules, alerts and Alertmanagers (implemented by the rule manager
/// and notifier).
pub trait RulesProvider: Send + Sync {
    /// Every rule group.
    fn rule_groups(&self) -> Vec<RuleGroup>;
    /// Every active alert of every alerting rule.
    fn alerts(&self) -> Vec<Alert>;
    /// Active and dropped Alertmanager URLs.
    fn alertmanagers(&self) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
}

/// `/api/v1/status/buildinfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The Prometheus version this server is compatible with (`3.x.y`),
    /// which Grafana uses to pick features.
    pub version: String,
    /// The source revision.
    pub revision: String,
    /// The source branch.
    pub branch: String,
    /// Who built it.
    pub build_user: String,
    /// When.
    pub build_date: String,
    /// Prometheus reports the Go version; we report the compiler.
    pub go_version: String,
}

impl Default for BuildInfo {
    fn default() -> Self {
        BuildInfo {
            version: "3.5.0".to_string(),
            revision: format!("promlite-{}", env!("CARGO_PKG_VERSION")),
            branch: String::new(),
            build_user: String::new(),
            build_date: String::new(),
            go_version: "rust".to_string(),
        }
    }
}

/// `/api/v1/status/runtimeinfo`.
#[derive(Debug, Clone, Serialize)]
#[allow(non_snake_case)]
pub struct RuntimeInfo {
    /// Process start.
    #[serde(rename = "startTime", serialize_with = "ser_time")]
    pub start_time: Option<SystemTime>,
    /// Working directory.
    pub CWD: String,
    /// Host name.
    pub hostname: String,
    /// Current time.
    #[serde(rename = "serverTime", serialize_with = "ser_time")]
    pub server_time: Option<SystemTime>,
    /// Whether the last reload worked.
    #[serde(rename = "reloadConfigSuccess")]
    pub reload_config_success: bool,
    /// When the configuration was last loaded.
    #[serde(rename = "lastConfigTime", serialize_with = "ser_time")]
    pub last_config_time: Option<SystemTime>,
    /// Blocks found corrupted.
    #[serde(rename = "corruptionCount")]
    pub corruption_count: i64,
    /// Prometheus' goroutine count; our worker thread count.
    #[serde(rename = "goroutineCount")]
    pub goroutine_count: i64,
    /// Available parallelism.
    pub GOMAXPROCS: i64,
    /// Memory limit (0 = none).
    pub GOMEMLIMIT: i64,
    /// Garbage collector setting (empty for us).
    pub GOGC: String,
    /// Debug settings (empty for us).
    pub GODEBUG: String,
    /// Retention, e.g. `15d`.
    #[serde(rename = "storageRetention")]
    pub storage_retention: String,
}

impl Default for RuntimeInfo {
    fn default() -> Self {
        RuntimeInfo {
            start_time: None,
            CWD: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            hostname: String::new(),
            server_time: Some(SystemTime::now()),
            reload_config_success: true,
            last_config_time: None,
            corruption_count: 0,
            goroutine_count: 0,
            GOMAXPROCS: std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1),
            GOMEMLIMIT: i64::MAX,
            GOGC: String::new(),
            GODEBUG: String::new(),
            storage_retention: String::new(),
        }
    }
}

/// One cardinality statistic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TsdbStat {
    /// Metric name, label name or `name=value`.
    pub name: String,
    /// The count (or bytes).
    pub value: u64,
}

/// Head statistics.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadStats {
    /// Series in the head.
    pub num_series: u64,
    /// Distinct label pairs.
    pub num_label_pairs: i64,
    /// Chunks in the head.
    pub chunk_count: i64,
    /// Oldest sample time (ms).
    pub min_time: i64,
    /// Newest sample time (ms).
    pub max_time: i64,
}

/// `/api/v1/status/tsdb`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TsdbStatus {
    /// Head statistics.
    pub head_stats: HeadStats,
    /// Top series counts by metric name.
    pub series_count_by_metric_name: Vec<TsdbStat>,
    /// Top distinct value counts by label name.
    pub label_value_count_by_label_name: Vec<TsdbStat>,
    /// Top bytes of values by label name.
    pub memory_in_bytes_by_label_name: Vec<TsdbStat>,
    /// Top series counts by label pair.
    pub series_count_by_label_value_pair: Vec<TsdbStat>,
}

/// `/api/v1/status/walreplay`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct WalReplayStatus {
    /// First segment.
    pub min: i64,
    /// Last segment.
    pub max: i64,
    /// Segment being replayed.
    pub current: i64,
}

/// Supplies configuration, flags and process status, and carries out the
/// lifecycle requests (implemented by the server).
pub trait StatusProvider: Send + Sync {
    /// The loaded configuration as YAML.
    fn config_yaml(&self) -> String {
        String::new()
    }
    /// Command-line flags by name (without dashes).
    fn flags(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Runtime information.
    fn runtime_info(&self) -> RuntimeInfo {
        RuntimeInfo::default()
    }
    /// Build information.
    fn build_info(&self) -> BuildInfo {
        BuildInfo::default()
    }
    /// Head cardinality statistics with the top `limit` of each list, or
    /// `None` to let the API compute them from the queryable.
    fn tsdb_status(&self, _limit: usize) -> Option<TsdbStatus> {
        None
    }
    /// The current `global.external_labels` (they change on reload), or
    /// `None` to use [`crate::ApiOptions::external_labels`].
    fn external_labels(&self) -> Option<Labels> {
        None
    }
    /// WAL replay progress.
    fn wal_replay_status(&self) -> WalReplayStatus {
        WalReplayStatus::default()
    }
    /// Reloads the configuration (`/-/reload`).
    fn reload(&self) -> Result<(), ProviderError> {
        Ok(())
    }
    /// Starts a graceful shutdown (`/-/quit`); must return promptly.
    fn quit(&self) {}
}

/// The TSDB operations behind `/api/v1/admin/tsdb/*`.
pub trait TsdbAdmin: Send + Sync {
    /// Writes a snapshot into `dir` (which exists), with the head unless
    /// `with_head` is false.
    fn snapshot(&self, dir: &Path, with_head: bool) -> Result<(), ProviderError>;
    /// The data directory; snapshots go to `<dir>/snapshots/<name>`.
    fn data_dir(&self) -> Option<&Path>;
    /// Deletes the samples of matching series in `[mint, maxt]`.
    fn delete_series(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
    ) -> Result<(), ProviderError>;
    /// Rewrites blocks without deleted data.
    fn clean_tombstones(&self) -> Result<(), ProviderError>;
}
