//! The top-level configuration: reading, validating across sections,
//! merging `scrape_config_files`, and printing back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::alerting::AlertingConfig;
use crate::error::{refine_line, ConfigError, Result};
use crate::global::GlobalConfig;
use crate::remote::{RemoteReadConfig, RemoteWriteConfig};
use crate::scrape::ScrapeConfig;
use crate::sections::{OtlpConfig, RuntimeConfig, StorageConfig, TracingConfig};
use crate::types::ValidationScheme;

/// The default configuration promlite runs with when given none: scrape
/// itself, as Prometheus' shipped `prometheus.yml` does.
pub const DEFAULT_CONFIG: &str = r#"# promlite's default configuration, shaped like Prometheus' shipped one.
global:
  scrape_interval: 15s # Default is every 1 minute.
  evaluation_interval: 15s # Default is every 1 minute.
  # scrape_timeout is set to the global default (10s).

# Alertmanager configuration.
alerting:
  alertmanagers:
    - static_configs:
        - targets: []
          # - alertmanager:9093

# Rule files, evaluated every 'evaluation_interval'.
rule_files:
  # - "first_rules.yml"

# Scrape promlite itself.
scrape_configs:
  - job_name: "prometheus"
    # metrics_path defaults to '/metrics', scheme to 'http'.
    static_configs:
      - targets: ["localhost:9090"]
        labels:
          app: "prometheus"
"#;

/// A parsed and validated `prometheus.yml`, defaults filled in and relative
/// paths resolved against the file's directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Config {
    /// `global`.
    pub global: GlobalConfig,
    /// `runtime`.
    pub runtime: RuntimeConfig,
    /// `alerting`.
    #[serde(skip_serializing_if = "is_empty_alerting")]
    pub alerting: AlertingConfig,
    /// `rule_files` globs, resolved against the config directory.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rule_files: Vec<String>,
    /// `scrape_config_files` globs, resolved against the config directory.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scrape_config_files: Vec<String>,
    /// Scrape jobs of the main file followed by those of
    /// `scrape_config_files`, in glob order (see
    /// [`ScrapeConfig::source_file`]). Printing shows only the main file's,
    /// as Prometheus' `/api/v1/status/config` does.
    #[serde(
        skip_serializing_if = "no_main_scrape_configs",
        serialize_with = "serialize_main_scrape_configs"
    )]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `storage`.
    pub storage: StorageConfig,
    /// `tracing`, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingConfig>,
    /// `remote_write`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote_write: Vec<RemoteWriteConfig>,
    /// `remote_read`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote_read: Vec<RemoteReadConfig>,
    /// `otlp`.
    pub otlp: OtlpConfig,
}

fn no_main_scrape_configs(v: &[ScrapeConfig]) -> bool {
    v.iter().all(|s| s.source_file.is_some())
}

fn serialize_main_scrape_configs<S: serde::Serializer>(
    v: &[ScrapeConfig],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().filter(|c| c.source_file.is_none()))
}

fn is_empty_alerting(a: &AlertingConfig) -> bool {
    a.alert_relabel_configs.is_empty() && a.alertmanagers.is_empty()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: Option<GlobalConfig>,
    #[serde(default)]
    runtime: Option<RuntimeConfig>,
    #[serde(default)]
    alerting: Option<AlertingConfig>,
    #[serde(default)]
    rule_files: Option<Vec<String>>,
    #[serde(default)]
    scrape_config_files: Option<Vec<String>>,
    #[serde(default)]
    scrape_configs: Option<Vec<ScrapeConfig>>,
    #[serde(default)]
    storage: Option<StorageConfig>,
    #[serde(default)]
    tracing: Option<TracingConfig>,
    #[serde(default)]
    remote_write: Option<Vec<RemoteWriteConfig>>,
    #[serde(default)]
    remote_read: Option<Vec<RemoteReadConfig>>,
    #[serde(default)]
    otlp: Option<OtlpConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScrapeConfigFile {
    #[serde(default)]
    scrape_configs: Option<Vec<ScrapeConfig>>,
}

/// A configuration plus the warnings raised while loading it (unsupported
/// service discovery kinds, deprecated or unimplemented settings).
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The configuration.
    pub config: Config,
    /// Human-readable warnings, one per problem.
    pub warnings: Vec<String>,
}

/// True when the text holds no YAML content (only blanks and comments).
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

/// Prometheus' `patRulePath`: `*` only in the last path element.
fn is_valid_rule_path(p: &str) -> bool {
    match p.find('*') {
        None => true,
        Some(i) => !p[i..].contains('/'),
    }
}

/// Reads and validates `prometheus.yml` at `path`.
pub fn load_file(path: impl AsRef<Path>) -> Result<LoadedConfig> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    parse_str(&text, dir, path)
}

fn parse_yaml<'a, T: Deserialize<'a>>(text: &'a str, file: &Path) -> Result<T> {
    serde_saphyr::from_str(text).map_err(|e| refine_line(text, ConfigError::from_yaml(file, &e)))
}

/// Parses and validates configuration text. Relative paths resolve against
/// `base_dir`; `filename` names the source in errors.
pub fn parse_str(text: &str, base_dir: &Path, filename: &Path) -> Result<LoadedConfig> {
    parse_config(text, base_dir, filename).map_err(|e| refine_line(text, e))
}

fn parse_config(text: &str, base_dir: &Path, filename: &Path) -> Result<LoadedConfig> {
    let invalid = |line: Option<u64>, message: String| ConfigError::Invalid {
        file: filename.to_path_buf(),
        line,
        message,
    };
    let raw: RawConfig = if is_blank_yaml(text) {
        parse_yaml("{}", filename)?
    } else {
        parse_yaml(text, filename)?
    };
    let mut cfg = Config {
        global: raw.global.unwrap_or_default(),
        runtime: raw.runtime.unwrap_or_default(),
        alerting: raw.alerting.unwrap_or_default(),
        rule_files: raw.rule_files.unwrap_or_default(),
        scrape_config_files: raw.scrape_config_files.unwrap_or_default(),
        scrape_configs: raw.scrape_configs.unwrap_or_default(),
        storage: raw.storage.unwrap_or_default(),
        tracing: raw.tracing,
        remote_write: raw.remote_write.unwrap_or_default(),
        remote_read: raw.remote_read.unwrap_or_default(),
        otlp: raw.otlp.unwrap_or_default(),
    };
    let mut warnings = Vec::new();
    for rf in &cfg.rule_files {
        if !is_valid_rule_path(rf) {
            return Err(invalid(None, format!("invalid rule file path {rf:?}")));
        }
    }
    for sf in &cfg.scrape_config_files {
        if !is_valid_rule_path(sf) {
            return Err(invalid(
                None,
                format!("invalid scrape config file path {sf:?}"),
            ));
        }
    }
    let mut job_names: HashMap<String, String> = HashMap::new();
    for sc in &mut cfg.scrape_configs {
        sc.apply_global(&cfg.global)
            .map_err(|m| invalid(sc.line, m))?;
        if job_names
            .insert(sc.job_name.clone(), "main config file".into())
            .is_some()
        {
            return Err(invalid(
                sc.line,
                format!(
                    "found multiple scrape configs with job name {:?}",
                    sc.job_name
                ),
            ));
        }
        sc.set_directory(base_dir);
        warnings.extend(sc.warnings.iter().cloned());
    }
    let scheme = cfg.global.metric_name_validation_scheme;
    validate_alerting(&cfg.alerting, scheme).map_err(|m| invalid(None, m))?;
    for am in &mut cfg.alerting.alertmanagers {
        am.set_directory(base_dir);
        warnings.extend(am.warnings.iter().cloned());
    }
    let mut names = std::collections::HashSet::new();
    let mut seen_rw: Vec<String> = Vec::new();
    for rw in &mut cfg.remote_write {
        if !rw.name.is_empty() && !names.insert(rw.name.clone()) {
            return Err(invalid(
                rw.line,
                format!(
                    "found multiple remote write configs with job name {:?}",
                    rw.name
                ),
            ));
        }
        for rc in &rw.write_relabel_configs {
            rc.validate(scheme).map_err(|m| invalid(rw.line, m))?;
        }
        // Prometheus refuses identical remote_write entries when applying
        // the configuration; catch it at load time.
        let key = serde_json::to_string(&*rw).unwrap_or_default();
        if seen_rw.contains(&key) {
            return Err(invalid(
                rw.line,
                format!(
                    "duplicate remote write configs are not allowed, found duplicate for URL: {}",
                    rw.url
                ),
            ));
        }
        seen_rw.push(key);
        rw.set_directory(base_dir);
        warnings.extend(rw.warnings.iter().cloned());
    }
    let mut names = std::collections::HashSet::new();
    for rr in &mut cfg.remote_read {
        if !rr.name.is_empty() && !names.insert(rr.name.clone()) {
            return Err(invalid(
                rr.line,
                format!(
                    "found multiple remote read configs with job name {:?}",
                    rr.name
                ),
            ));
        }
        rr.set_directory(base_dir);
        warnings.extend(rr.warnings.iter().cloned());
    }
    cfg.otlp
        .validate(scheme == ValidationScheme::Legacy)
        .map_err(|m| invalid(None, m))?;
    if !cfg.global.query_log_file.is_empty() {
        cfg.global.query_log_file = crate::join_dir(base_dir, &cfg.global.query_log_file);
    }
    if !cfg.global.scrape_failure_log_file.is_empty() {
        cfg.global.scrape_failure_log_file =
            crate::join_dir(base_dir, &cfg.global.scrape_failure_log_file);
    }
    if let Some(t) = &mut cfg.tracing {
        for f in [
            &mut t.tls_config.ca_file,
            &mut t.tls_config.cert_file,
            &mut t.tls_config.key_file,
        ] {
            *f = crate::join_dir(base_dir, f);
        }
    }
    for f in cfg
        .rule_files
        .iter_mut()
        .chain(cfg.scrape_config_files.iter_mut())
    {
        *f = crate::join_dir(base_dir, f);
    }
    let extra = load_scrape_config_files(&cfg, &mut job_names, filename, &mut warnings)?;
    cfg.scrape_configs.extend(extra);
    Ok(LoadedConfig {
        config: cfg,
        warnings,
    })
}

fn validate_alerting(
    a: &AlertingConfig,
    scheme: ValidationScheme,
) -> std::result::Result<(), String> {
    for rc in &a.alert_relabel_configs {
        rc.validate(scheme)?;
    }
    for am in &a.alertmanagers {
        for rc in am.relabel_configs.iter().chain(&am.alert_relabel_configs) {
            rc.validate(scheme)?;
        }
    }
    Ok(())
}

/// Expands a glob into the matching paths, sorted as Go's `filepath.Glob`.
pub(crate) fn expand_glob(pattern: &str, file: &Path) -> Result<Vec<PathBuf>> {
    let paths = glob::glob(pattern).map_err(|source| ConfigError::Glob {
        file: file.to_path_buf(),
        pattern: pattern.to_string(),
        source,
    })?;
    let mut v: Vec<PathBuf> = paths.filter_map(|p| p.ok()).collect();
    v.sort();
    Ok(v)
}

fn load_scrape_config_files(
    cfg: &Config,
    job_names: &mut HashMap<String, String>,
    filename: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<ScrapeConfig>> {
    let mut out = Vec::new();
    for pat in &cfg.scrape_config_files {
        for f in expand_glob(pat, filename)? {
            let text = std::fs::read_to_string(&f).map_err(|source| ConfigError::Io {
                path: f.clone(),
                source,
            })?;
            let raw: RawScrapeConfigFile = if is_blank_yaml(&text) {
                RawScrapeConfigFile {
                    scrape_configs: None,
                }
            } else {
                parse_yaml(&text, &f)?
            };
            let dir = f.parent().unwrap_or(Path::new("")).to_path_buf();
            for mut sc in raw.scrape_configs.unwrap_or_default() {
                let line = sc.line;
                let invalid = |m: String| ConfigError::Invalid {
                    file: f.clone(),
                    line,
                    message: m,
                };
                sc.apply_global(&cfg.global).map_err(invalid)?;
                if let Some(first) = job_names.get(&sc.job_name) {
                    return Err(invalid(format!(
                        "found multiple scrape configs with job name {:?}, first found in {first}",
                        sc.job_name
                    )));
                }
                job_names.insert(
                    sc.job_name.clone(),
                    format!("{:?}", f.display().to_string()),
                );
                sc.set_directory(&dir);
                sc.source_file = Some(f.clone());
                warnings.extend(sc.warnings.iter().cloned());
                out.push(sc);
            }
        }
    }
    Ok(out)
}

impl Config {
    /// Prints the configuration as YAML with defaults filled in and secrets
    /// shown as `<secret>`, for `/api/v1/status/config`.
    pub fn to_yaml_string(&self) -> String {
        serde_saphyr::to_string(self)
            .unwrap_or_else(|e| format!("<error creating config string: {e}>"))
    }

    /// Parses [`DEFAULT_CONFIG`].
    pub fn default_config() -> Result<LoadedConfig> {
        parse_str(DEFAULT_CONFIG, Path::new(""), Path::new("<default config>"))
    }
}
