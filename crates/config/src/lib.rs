//! Reading and validating Prometheus 3 `prometheus.yml` files.
//!
//! * [`load_file`] and [`parse_str`] return a [`LoadedConfig`]: the
//!   [`Config`] with Prometheus' defaults and globals applied, relative paths
//!   resolved against the file's directory, `scrape_config_files` merged in,
//!   plus warnings (unsupported service discovery kinds, deprecated fields).
//! * Unknown fields, duplicate keys, bad durations, regular expressions and
//!   label names are errors ([`ConfigError`]) naming the file and line.
//! * [`Config::to_yaml_string`] prints the configuration back with secrets
//!   as `<secret>`.
//! * [`check_config`] behaves like `promtool check config`.
//! * [`read_file_sd`] and [`FileSdWatcher`] read file_sd target groups.
//!
//! ```
//! use std::path::Path;
//! let yaml = "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['localhost:9100']\n";
//! let loaded = promlite_config::parse_str(yaml, Path::new("."), Path::new("prometheus.yml")).unwrap();
//! let job = &loaded.config.scrape_configs[0];
//! assert_eq!(job.scrape_interval.to_string(), "1m");
//! assert_eq!(job.metrics_path, "/metrics");
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod alerting;
mod check;
mod config;
mod error;
mod file_sd;
mod global;
mod http;
mod relabel;
mod remote;
mod scrape;
mod sections;
mod types;

pub use alerting::{AlertingConfig, AlertmanagerConfig};
pub use check::{check_config, RuleFileChecker};
pub use config::{load_file, parse_str, Config, LoadedConfig, DEFAULT_CONFIG};
pub use error::{ConfigError, Result};
pub use file_sd::{
    read_file_sd, read_target_groups, FileSdPoll, FileSdWatcher, TargetGroup, FILEPATH_LABEL,
};
pub use global::{expand_env, GlobalConfig};
pub use http::{Authorization, BasicAuth, HttpClientConfig, TlsConfig};
pub use relabel::{
    to_model_configs, RelabelAction, RelabelConfigYaml, RelabelRegex, DEFAULT_RELABEL_REGEX,
};
pub use remote::{
    MetadataConfig, QueueConfig, RemoteReadConfig, RemoteWriteConfig, PROTOBUF_MESSAGES,
};
pub use scrape::{
    FileSdConfig, HttpSdConfig, ScrapeConfig, StaticConfig, UnsupportedSd,
    DEFAULT_SCRAPE_PROTOCOLS, PROTO_FIRST_SCRAPE_PROTOCOLS, SCRAPE_PROTOCOLS,
};
pub use sections::{
    ExemplarsConfig, OtlpConfig, RuntimeConfig, StorageConfig, TracingConfig, TsdbConfig,
    TsdbRetentionConfig, TRANSLATION_STRATEGIES,
};
pub use types::{is_legacy_label_name, ByteSize, Duration, Secret, ValidationScheme};

/// Joins a relative path with `dir` as Prometheus' `config.JoinDir` does:
/// empty and absolute paths are left alone.
pub(crate) fn join_dir(dir: &std::path::Path, p: &str) -> String {
    if p.is_empty() || std::path::Path::new(p).is_absolute() || dir.as_os_str().is_empty() {
        return p.to_string();
    }
    dir.join(p).to_string_lossy().into_owned()
}
