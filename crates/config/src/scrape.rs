//! `scrape_configs` entries and the service discovery sections promlite
//! implements (`static_configs`, `file_sd_configs`, `http_sd_configs`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::global::GlobalConfig;
use crate::http::{raw_section, HttpClientConfig};
use crate::relabel::RelabelConfigYaml;
use crate::types::{ByteSize, Duration, ValidationScheme};

/// The scrape protocols Prometheus can negotiate.
pub const SCRAPE_PROTOCOLS: [&str; 5] = [
    "OpenMetricsText0.0.1",
    "OpenMetricsText1.0.0",
    "PrometheusProto",
    "PrometheusText0.0.4",
    "PrometheusText1.0.0",
];

/// Default `scrape_protocols` when native histograms are not scraped.
pub const DEFAULT_SCRAPE_PROTOCOLS: [&str; 4] = [
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
];

/// Default `scrape_protocols` when native histograms are scraped.
pub const PROTO_FIRST_SCRAPE_PROTOCOLS: [&str; 5] = [
    "PrometheusProto",
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
];

pub(crate) fn validate_scrape_protocols(ps: &[String]) -> Result<(), String> {
    if ps.is_empty() {
        return Err("scrape_protocols cannot be empty".into());
    }
    let mut seen = std::collections::HashSet::new();
    for p in ps {
        if !seen.insert(p.to_lowercase()) {
            return Err(format!(
                "duplicated protocol in scrape_protocols, got {ps:?}"
            ));
        }
        validate_protocol(p).map_err(|e| format!("scrape_protocols: {e}"))?;
    }
    Ok(())
}

fn validate_protocol(p: &str) -> Result<(), String> {
    if SCRAPE_PROTOCOLS.contains(&p) {
        Ok(())
    } else {
        Err(format!(
            "unknown scrape protocol {p}, supported: {SCRAPE_PROTOCOLS:?}"
        ))
    }
}

/// A target group: `targets` plus the `labels` attached to all of them
/// (`static_configs` entries and file_sd file contents).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels for every target of the group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawFileSd")]
pub struct FileSdConfig {
    /// File paths or globs (`*` only in the last path element).
    pub files: Vec<String>,
    /// How often files are re-read besides change notifications (5m).
    pub refresh_interval: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileSd {
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    refresh_interval: Option<Duration>,
}

/// Prometheus' `patFileSDName`: `*` only in the last element, and a
/// `.json`, `.yml` or `.yaml` extension.
pub(crate) fn is_valid_file_sd_name(name: &str) -> bool {
    let ext_ok = ["json", "yml", "yaml", "JSON", "YML", "YAML"]
        .iter()
        .any(|e| name.strip_suffix(e).is_some_and(|s| s.ends_with('.')));
    if !ext_ok {
        return false;
    }
    match name.find('*') {
        None => true,
        Some(i) => !name[i + 1..].contains('*') && !name[i..].contains('/'),
    }
}

impl TryFrom<RawFileSd> for FileSdConfig {
    type Error = String;

    fn try_from(r: RawFileSd) -> Result<Self, String> {
        if r.files.is_empty() {
            return Err("file service discovery config must contain at least one path name".into());
        }
        for f in &r.files {
            if !is_valid_file_sd_name(f) {
                return Err(format!("path name {f:?} is not valid for file discovery"));
            }
        }
        Ok(FileSdConfig {
            files: r.files,
            refresh_interval: r.refresh_interval.unwrap_or(Duration::from_secs(300)),
        })
    }
}

/// `http_sd_configs` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawHttpSd")]
pub struct HttpSdConfig {
    /// HTTP client settings.
    #[serde(flatten)]
    pub http_client_config: HttpClientConfig,
    /// How often the URL is polled (60s).
    pub refresh_interval: Duration,
    /// The endpoint returning target groups as JSON.
    pub url: String,
    #[serde(skip)]
    pub(crate) warnings: Vec<String>,
}

raw_section!(@http struct RawHttpSd {
    #[serde(default)] url: String,
    #[serde(default)] refresh_interval: Option<Duration>,
});

/// Checks an http(s) URL the way Prometheus' SD configs do.
pub(crate) fn check_http_url(u: &str) -> Result<(), String> {
    if u.is_empty() {
        return Err("URL is missing".into());
    }
    let Some((scheme, rest)) = u.split_once("://") else {
        return Err("URL scheme must be 'http' or 'https'".into());
    };
    if scheme != "http" && scheme != "https" {
        return Err("URL scheme must be 'http' or 'https'".into());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err("host is missing in URL".into());
    }
    Ok(())
}

impl TryFrom<RawHttpSd> for HttpSdConfig {
    type Error = String;

    fn try_from(mut r: RawHttpSd) -> Result<Self, String> {
        let mut warnings = Vec::new();
        let http_client_config = r.take_http().build(true, &mut warnings)?;
        check_http_url(&r.url)?;
        Ok(HttpSdConfig {
            http_client_config,
            refresh_interval: r.refresh_interval.unwrap_or(Duration::from_secs(60)),
            url: r.url,
            warnings,
        })
    }
}

/// A service discovery section promlite does not implement, kept as written.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsupportedSd {
    /// The YAML key, e.g. `kubernetes_sd_configs`.
    pub kind: &'static str,
    /// The section's content.
    pub config: serde_json::Value,
}

/// One `scrape_configs` entry with defaults and globals applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawScrape")]
pub struct ScrapeConfig {
    /// `job_name`, unique over the configuration.
    pub job_name: String,
    /// Keep scraped labels on conflict.
    pub honor_labels: bool,
    /// Use scraped timestamps (default true).
    pub honor_timestamps: bool,
    /// Track staleness of scraped timestamps.
    pub track_timestamps_staleness: bool,
    /// Query parameters added to the scrape URL.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<String>>,
    /// Scrape interval (inherits `global.scrape_interval`).
    pub scrape_interval: Duration,
    /// Scrape timeout (inherits `global.scrape_timeout`, at most the interval).
    pub scrape_timeout: Duration,
    /// Protocols offered in the Accept header, most wanted first.
    pub scrape_protocols: Vec<String>,
    /// Protocol used when the target's Content-Type is unusable.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fallback_scrape_protocol: String,
    /// Scrape native histograms.
    pub scrape_native_histograms: bool,
    /// Also keep the classic form of histograms that have a native form.
    pub always_scrape_classic_histograms: bool,
    /// Convert classic histograms to native histograms with custom buckets.
    pub convert_classic_histograms_to_nhcb: bool,
    /// File scrape failures are logged to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scrape_failure_log_file: String,
    /// HTTP path of the metrics endpoint (`/metrics`).
    pub metrics_path: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Ask targets for compressed responses (default true).
    pub enable_compression: bool,
    /// Largest uncompressed body accepted; 0 is no limit.
    #[serde(skip_serializing_if = "ByteSize::is_zero")]
    pub body_size_limit: ByteSize,
    /// Per-scrape sample limit; 0 is no limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub sample_limit: u64,
    /// Per-job target limit; 0 is no limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub target_limit: u64,
    /// Per-series label count limit; 0 is no limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub label_limit: u64,
    /// Label name length limit; 0 is no limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub label_name_length_limit: u64,
    /// Label value length limit; 0 is no limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub label_value_length_limit: u64,
    /// Native histogram bucket limit; 0 is no limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub native_histogram_bucket_limit: u64,
    /// Native histogram minimum bucket growth factor.
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub native_histogram_min_bucket_factor: f64,
    /// Dropped targets kept for the targets page; 0 is no limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub keep_dropped_targets: u64,
    /// Label/metric name validation for this job.
    pub metric_name_validation_scheme: ValidationScheme,
    /// Escaping scheme requested from targets.
    pub metric_name_escaping_scheme: String,
    /// Store extra scrape metrics.
    pub extra_scrape_metrics: bool,
    /// HTTP client settings.
    #[serde(flatten)]
    pub http_client_config: HttpClientConfig,
    /// Target relabeling rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfigYaml>,
    /// Sample relabeling rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metric_relabel_configs: Vec<RelabelConfigYaml>,
    /// `static_configs`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_configs: Vec<StaticConfig>,
    /// `file_sd_configs`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// `http_sd_configs`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_sd_configs: Vec<HttpSdConfig>,
    /// Service discovery sections promlite ignores (with a warning).
    #[serde(skip)]
    pub unsupported_sd_configs: Vec<UnsupportedSd>,
    /// Line of `job_name` in the file it came from.
    #[serde(skip)]
    pub line: Option<u64>,
    /// The `scrape_config_files` file this job came from; `None` for jobs
    /// of the main file.
    #[serde(skip)]
    pub source_file: Option<std::path::PathBuf>,
    #[serde(skip)]
    pub(crate) local: LocalSettings,
    #[serde(skip)]
    pub(crate) warnings: Vec<String>,
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

/// What the job set itself, before globals are applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LocalSettings {
    scrape_interval: Option<Duration>,
    scrape_timeout: Option<Duration>,
    scrape_protocols: Option<Vec<String>>,
    scrape_native_histograms: Option<bool>,
    always_scrape_classic_histograms: Option<bool>,
    convert_classic_histograms_to_nhcb: Option<bool>,
    extra_scrape_metrics: Option<bool>,
    metric_name_validation_scheme: Option<ValidationScheme>,
    metric_name_escaping_scheme: Option<String>,
    body_size_limit: Option<ByteSize>,
    sample_limit: Option<u64>,
    target_limit: Option<u64>,
    label_limit: Option<u64>,
    label_name_length_limit: Option<u64>,
    label_value_length_limit: Option<u64>,
    keep_dropped_targets: Option<u64>,
    scrape_failure_log_file: Option<String>,
}

raw_section!(@http_sd struct RawScrape {
    job_name: Option<Spanned<String>>,
    #[serde(default)] honor_labels: bool,
    #[serde(default)] honor_timestamps: Option<bool>,
    #[serde(default)] track_timestamps_staleness: bool,
    #[serde(default)] params: BTreeMap<String, Vec<String>>,
    #[serde(default)] scrape_interval: Option<Duration>,
    #[serde(default)] scrape_timeout: Option<Duration>,
    #[serde(default)] scrape_protocols: Option<Vec<String>>,
    #[serde(default)] fallback_scrape_protocol: String,
    #[serde(default)] scrape_native_histograms: Option<bool>,
    #[serde(default)] always_scrape_classic_histograms: Option<bool>,
    #[serde(default)] convert_classic_histograms_to_nhcb: Option<bool>,
    #[serde(default)] scrape_failure_log_file: Option<String>,
    #[serde(default)] metrics_path: Option<String>,
    #[serde(default)] scheme: Option<String>,
    #[serde(default)] enable_compression: Option<bool>,
    #[serde(default)] body_size_limit: Option<ByteSize>,
    #[serde(default)] sample_limit: Option<u64>,
    #[serde(default)] target_limit: Option<u64>,
    #[serde(default)] label_limit: Option<u64>,
    #[serde(default)] label_name_length_limit: Option<u64>,
    #[serde(default)] label_value_length_limit: Option<u64>,
    #[serde(default)] native_histogram_bucket_limit: u64,
    #[serde(default)] native_histogram_min_bucket_factor: f64,
    #[serde(default)] keep_dropped_targets: Option<u64>,
    #[serde(default)] metric_name_validation_scheme: Option<String>,
    #[serde(default)] metric_name_escaping_scheme: Option<String>,
    #[serde(default)] extra_scrape_metrics: Option<bool>,
    #[serde(default)] relabel_configs: Vec<RelabelConfigYaml>,
    #[serde(default)] metric_relabel_configs: Vec<RelabelConfigYaml>,
});

pub(crate) fn parse_scheme(s: &str) -> Result<Option<ValidationScheme>, String> {
    match s {
        "" => Ok(None),
        "utf8" => Ok(Some(ValidationScheme::Utf8)),
        "legacy" => Ok(Some(ValidationScheme::Legacy)),
        other => Err(format!("unrecognized name validation scheme: {other:?}")),
    }
}

/// Prometheus' `checkStaticTargets`: without relabeling, a target must be
/// a host, not a URL.
pub(crate) fn check_static_targets(groups: &[StaticConfig]) -> Result<(), String> {
    for g in groups {
        for t in &g.targets {
            if t.contains('/') {
                return Err(format!("{t:?} is not a valid hostname"));
            }
        }
    }
    Ok(())
}

impl TryFrom<RawScrape> for ScrapeConfig {
    type Error = String;

    fn try_from(mut r: RawScrape) -> Result<Self, String> {
        let (job_name, line) = match r.job_name.take() {
            Some(s) => (s.value, Some(s.referenced.line())),
            None => (String::new(), None),
        };
        if job_name.is_empty() {
            return Err("job_name is empty".into());
        }
        let mut warnings = Vec::new();
        let http_client_config = r
            .take_http()
            .build(true, &mut warnings)
            .map_err(|e| format!("{e} (job {job_name:?})"))?;
        if r.relabel_configs.is_empty() {
            check_static_targets(&r.static_configs)?;
        }
        let unsupported_sd_configs = r.take_unsupported_sd();
        for sd in &unsupported_sd_configs {
            warnings.push(format!(
                "job {job_name}: {} is not supported by promlite; its targets are ignored",
                sd.kind
            ));
        }
        for h in &r.http_sd_configs {
            warnings.extend(h.warnings.iter().map(|w| format!("job {job_name}: {w}")));
        }
        let warnings = warnings
            .into_iter()
            .map(|w| {
                if w.starts_with("job ") {
                    w
                } else {
                    format!("job {job_name}: {w}")
                }
            })
            .collect();
        let metric_name_validation_scheme = match r.metric_name_validation_scheme.as_deref() {
            None => None,
            Some(s) => parse_scheme(s)?,
        };
        let local = LocalSettings {
            scrape_interval: r.scrape_interval,
            scrape_timeout: r.scrape_timeout,
            scrape_protocols: r.scrape_protocols,
            scrape_native_histograms: r.scrape_native_histograms,
            always_scrape_classic_histograms: r.always_scrape_classic_histograms,
            convert_classic_histograms_to_nhcb: r.convert_classic_histograms_to_nhcb,
            extra_scrape_metrics: r.extra_scrape_metrics,
            metric_name_validation_scheme,
            metric_name_escaping_scheme: r.metric_name_escaping_scheme.filter(|s| !s.is_empty()),
            body_size_limit: r.body_size_limit,
            sample_limit: r.sample_limit,
            target_limit: r.target_limit,
            label_limit: r.label_limit,
            label_name_length_limit: r.label_name_length_limit,
            label_value_length_limit: r.label_value_length_limit,
            keep_dropped_targets: r.keep_dropped_targets,
            scrape_failure_log_file: r.scrape_failure_log_file,
        };
        Ok(ScrapeConfig {
            job_name,
            honor_labels: r.honor_labels,
            honor_timestamps: r.honor_timestamps.unwrap_or(true),
            track_timestamps_staleness: r.track_timestamps_staleness,
            params: r.params,
            scrape_interval: Duration(0),
            scrape_timeout: Duration(0),
            scrape_protocols: Vec::new(),
            fallback_scrape_protocol: r.fallback_scrape_protocol,
            scrape_native_histograms: false,
            always_scrape_classic_histograms: false,
            convert_classic_histograms_to_nhcb: false,
            scrape_failure_log_file: String::new(),
            metrics_path: r.metrics_path.unwrap_or_else(|| "/metrics".into()),
            scheme: r.scheme.unwrap_or_else(|| "http".into()),
            enable_compression: r.enable_compression.unwrap_or(true),
            body_size_limit: ByteSize(0),
            sample_limit: 0,
            target_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            native_histogram_bucket_limit: r.native_histogram_bucket_limit,
            native_histogram_min_bucket_factor: r.native_histogram_min_bucket_factor,
            keep_dropped_targets: 0,
            metric_name_validation_scheme: ValidationScheme::Utf8,
            metric_name_escaping_scheme: String::new(),
            extra_scrape_metrics: false,
            http_client_config,
            relabel_configs: r.relabel_configs,
            metric_relabel_configs: r.metric_relabel_configs,
            static_configs: r.static_configs,
            file_sd_configs: r.file_sd_configs,
            http_sd_configs: r.http_sd_configs,
            unsupported_sd_configs,
            line,
            source_file: None,
            local,
            warnings,
        })
    }
}

const ESCAPING_SCHEMES: [&str; 4] = ["allow-utf-8", "underscores", "dots", "values"];

impl ScrapeConfig {
    /// Applies the global settings the job did not set and runs the checks
    /// of Prometheus' `ScrapeConfig.Validate`.
    pub(crate) fn apply_global(&mut self, g: &GlobalConfig) -> Result<(), String> {
        let l = self.local.clone();
        let job = &self.job_name;
        self.scrape_interval = l
            .scrape_interval
            .filter(|d| d.0 != 0)
            .unwrap_or(g.scrape_interval);
        let timeout = l.scrape_timeout.unwrap_or(Duration(0));
        if timeout > self.scrape_interval {
            return Err(format!(
                "scrape timeout greater than scrape interval for scrape config with job name {job:?}"
            ));
        }
        self.scrape_timeout = if timeout.0 == 0 {
            g.scrape_timeout.min(self.scrape_interval)
        } else {
            timeout
        };
        self.body_size_limit = l
            .body_size_limit
            .filter(|b| b.0 != 0)
            .unwrap_or(g.body_size_limit);
        let pick = |v: Option<u64>, gv: u64| v.filter(|x| *x != 0).unwrap_or(gv);
        self.sample_limit = pick(l.sample_limit, g.sample_limit);
        self.target_limit = pick(l.target_limit, g.target_limit);
        self.label_limit = pick(l.label_limit, g.label_limit);
        self.label_name_length_limit = pick(l.label_name_length_limit, g.label_name_length_limit);
        self.label_value_length_limit =
            pick(l.label_value_length_limit, g.label_value_length_limit);
        self.keep_dropped_targets = pick(l.keep_dropped_targets, g.keep_dropped_targets);
        self.scrape_failure_log_file = l
            .scrape_failure_log_file
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| g.scrape_failure_log_file.clone());
        self.scrape_native_histograms = l
            .scrape_native_histograms
            .unwrap_or(g.scrape_native_histograms);
        self.extra_scrape_metrics = l.extra_scrape_metrics.unwrap_or(g.extra_scrape_metrics);
        self.scrape_protocols = match (l.scrape_protocols, &g.scrape_protocols) {
            (Some(p), _) => p,
            (None, Some(gp)) => gp.clone(),
            (None, None) if self.scrape_native_histograms => PROTO_FIRST_SCRAPE_PROTOCOLS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            (None, None) => DEFAULT_SCRAPE_PROTOCOLS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        validate_scrape_protocols(&self.scrape_protocols)
            .map_err(|e| format!("{e} for scrape config with job name {job:?}"))?;
        if !self.fallback_scrape_protocol.is_empty() {
            validate_protocol(&self.fallback_scrape_protocol).map_err(|e| {
                format!(
                    "invalid fallback_scrape_protocol for scrape config with job name {job:?}: {e}"
                )
            })?;
        }
        let local_unset = l.metric_name_validation_scheme.is_none();
        self.metric_name_validation_scheme = l
            .metric_name_validation_scheme
            .unwrap_or(g.metric_name_validation_scheme);
        let global_escaping = if g.metric_name_escaping_scheme.is_empty() {
            match g.metric_name_validation_scheme {
                ValidationScheme::Legacy => "underscores".to_string(),
                ValidationScheme::Utf8 => "allow-utf-8".to_string(),
            }
        } else {
            g.metric_name_escaping_scheme.clone()
        };
        if !ESCAPING_SCHEMES.contains(&global_escaping.as_str()) {
            return Err(format!(
                "unknown global name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {global_escaping:?}"
            ));
        }
        self.metric_name_escaping_scheme = match l.metric_name_escaping_scheme {
            Some(s) => s,
            None if local_unset => global_escaping,
            None if self.metric_name_validation_scheme == ValidationScheme::Legacy => {
                "underscores".into()
            }
            None => "allow-utf-8".into(),
        };
        match self.metric_name_escaping_scheme.as_str() {
            "allow-utf-8" => {
                if self.metric_name_validation_scheme != ValidationScheme::Utf8 {
                    return Err(
                        "utf8 metric names requested but validation scheme is not set to UTF8"
                            .into(),
                    );
                }
            }
            "underscores" | "dots" | "values" => {}
            other => {
                return Err(format!(
                    "unknown scrape config name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {other:?}"
                ))
            }
        }
        self.convert_classic_histograms_to_nhcb = l
            .convert_classic_histograms_to_nhcb
            .unwrap_or(g.convert_classic_histograms_to_nhcb);
        self.always_scrape_classic_histograms = l
            .always_scrape_classic_histograms
            .unwrap_or(g.always_scrape_classic_histograms);
        let scheme = self.metric_name_validation_scheme;
        for rc in self
            .relabel_configs
            .iter()
            .chain(&self.metric_relabel_configs)
        {
            rc.validate(scheme)?;
        }
        for sc in &self.static_configs {
            for name in sc.labels.keys() {
                if !scheme.is_valid_label_name(name) {
                    return Err(format!("{name:?} is not a valid label name"));
                }
            }
        }
        Ok(())
    }

    /// Joins relative file paths (file_sd files, secrets, TLS files, the
    /// scrape failure log) with `dir`.
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.http_client_config.set_directory(dir);
        for f in &mut self.file_sd_configs {
            for p in &mut f.files {
                *p = crate::join_dir(dir, p);
            }
        }
        for h in &mut self.http_sd_configs {
            h.http_client_config.set_directory(dir);
        }
        if !self.scrape_failure_log_file.is_empty() {
            self.scrape_failure_log_file = crate::join_dir(dir, &self.scrape_failure_log_file);
        }
        if let Some(f) = &mut self.local.scrape_failure_log_file {
            *f = crate::join_dir(dir, f);
        }
    }

    /// Warnings raised while reading this job (unsupported discovery kinds,
    /// deprecated settings).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sd_names_follow_prometheus_pattern() {
        for ok in ["a.json", "dir/*.yml", "dir/x*.YAML", "/abs/t.yaml"] {
            assert!(is_valid_file_sd_name(ok), "{ok}");
        }
        for bad in ["a.txt", "*/a.json", "a*b*.json", "json"] {
            assert!(!is_valid_file_sd_name(bad), "{bad}");
        }
    }

    #[test]
    fn http_sd_urls() {
        assert!(check_http_url("https://h:1/x").is_ok());
        assert_eq!(check_http_url("").unwrap_err(), "URL is missing");
        assert_eq!(
            check_http_url("http:///x").unwrap_err(),
            "host is missing in URL"
        );
        assert!(check_http_url("ftp://h").is_err());
    }

    fn job(y: &str) -> ScrapeConfig {
        serde_saphyr::from_str(y).unwrap()
    }

    #[test]
    fn native_histograms_pick_proto_first_protocols() {
        let mut j = job("job_name: a\nscrape_native_histograms: true\n");
        j.apply_global(&GlobalConfig::default()).unwrap();
        assert_eq!(j.scrape_protocols[0], "PrometheusProto");
        let mut j = job("job_name: a\n");
        j.apply_global(&GlobalConfig::default()).unwrap();
        assert_eq!(j.scrape_protocols, DEFAULT_SCRAPE_PROTOCOLS);
    }

    #[test]
    fn legacy_job_cannot_ask_for_utf8_escaping() {
        let mut j = job(
            "job_name: a\nmetric_name_validation_scheme: legacy\nmetric_name_escaping_scheme: allow-utf-8\n",
        );
        let e = j.apply_global(&GlobalConfig::default()).unwrap_err();
        assert!(e.contains("validation scheme is not set to UTF8"), "{e}");
        let mut j = job("job_name: a\nmetric_name_validation_scheme: legacy\n");
        j.apply_global(&GlobalConfig::default()).unwrap();
        assert_eq!(j.metric_name_escaping_scheme, "underscores");
    }

    #[test]
    fn duplicate_protocols_are_rejected() {
        let mut j = job("job_name: a\nscrape_protocols: [PrometheusProto, prometheusproto]\n");
        let e = j.apply_global(&GlobalConfig::default()).unwrap_err();
        assert!(e.contains("duplicated protocol"), "{e}");
    }
}
