//! Targets: what service discovery yields, the labels a target ends up
//! with (Prometheus' `PopulateLabels`), and its health.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use promlite_model::{
    format_duration, parse_duration, process_builder, Labels, LabelsBuilder, RelabelConfig,
};

use crate::format::ScrapeProtocol;
use crate::sample_labels::LabelLimits;

/// `__address__`: the host:port to scrape.
pub const ADDRESS_LABEL: &str = "__address__";
/// `__scheme__`.
pub const SCHEME_LABEL: &str = "__scheme__";
/// `__metrics_path__`.
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// `__scrape_interval__`.
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// `__scrape_timeout__`.
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of URL parameter labels.
pub const PARAM_LABEL_PREFIX: &str = "__param_";
/// Prefix of labels that service discovery attaches and relabeling may use.
pub const META_LABEL_PREFIX: &str = "__meta_";

/// A group of targets sharing labels, as service discovery yields them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetGroup {
    /// Where the group came from (file name, "0" for the first static config...).
    pub source: String,
    /// One label set per target; each has at least `__address__`.
    pub targets: Vec<Labels>,
    /// Labels common to all targets of the group.
    pub labels: Labels,
}

/// TLS settings of the scrape client, with file contents already read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSettings {
    /// PEM of the CA bundle that verifies the target.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM of the client certificate and its key, concatenated.
    pub identity_pem: Option<Vec<u8>>,
    /// Skip verifying the target's certificate.
    pub insecure_skip_verify: bool,
}

/// HTTP client settings of a scrape job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpSettings {
    /// `basic_auth` username and password.
    pub basic_auth: Option<(String, String)>,
    /// `authorization`: type (`Bearer` by default) and credentials.
    pub authorization: Option<(String, String)>,
    /// TLS.
    pub tls: TlsSettings,
    /// `follow_redirects` (default true).
    pub follow_redirects: bool,
    /// `proxy_url`.
    pub proxy_url: Option<String>,
}

/// What the scrape layer needs of a `scrape_config`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeSettings {
    /// `job_name`.
    pub job_name: String,
    /// `scrape_interval`.
    pub interval: Duration,
    /// `scrape_timeout`.
    pub timeout: Duration,
    /// `metrics_path`.
    pub metrics_path: String,
    /// `scheme`.
    pub scheme: String,
    /// `params`.
    pub params: Vec<(String, Vec<String>)>,
    /// `honor_labels`.
    pub honor_labels: bool,
    /// `honor_timestamps`.
    pub honor_timestamps: bool,
    /// `relabel_configs`.
    pub relabel_configs: Vec<RelabelConfig>,
    /// `metric_relabel_configs`.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// `sample_limit` (0 = none).
    pub sample_limit: usize,
    /// `label_limit` and the name/value length limits.
    pub label_limits: LabelLimits,
    /// `body_size_limit` in bytes (0 = none).
    pub body_size_limit: usize,
    /// `target_limit` (0 = none).
    pub target_limit: usize,
    /// `scrape_protocols`, in preference order.
    pub scrape_protocols: Vec<ScrapeProtocol>,
    /// `fallback_scrape_protocol`.
    pub fallback_protocol: Option<ScrapeProtocol>,
    /// `enable_compression` (ask for gzip).
    pub enable_compression: bool,
    /// HTTP client configuration.
    pub http: HttpSettings,
}

impl ScrapeSettings {
    /// Settings with Prometheus' defaults for `job_name`.
    pub fn new(job_name: &str) -> Self {
        ScrapeSettings {
            job_name: job_name.to_string(),
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            metrics_path: "/metrics".to_string(),
            scheme: "http".to_string(),
            params: Vec::new(),
            honor_labels: false,
            honor_timestamps: true,
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            sample_limit: 0,
            label_limits: LabelLimits::default(),
            body_size_limit: 0,
            target_limit: 0,
            scrape_protocols: crate::format::DEFAULT_SCRAPE_PROTOCOLS.to_vec(),
            fallback_protocol: None,
            enable_compression: true,
            http: HttpSettings {
                follow_redirects: true,
                ..HttpSettings::default()
            },
        }
    }
}

/// Why a discovered target was not turned into a scrape target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Relabeling left no `__address__`.
    #[error("no address")]
    NoAddress,
    /// `__scrape_interval__` or `__scrape_timeout__` is not a duration.
    #[error("error parsing {label}: {detail}")]
    BadDuration {
        /// The label.
        label: &'static str,
        /// The parse error.
        detail: String,
    },
    /// A zero interval or timeout, or a timeout above the interval.
    #[error("{0}")]
    BadTiming(String),
    /// A label value that is not valid UTF-8 or an invalid label name.
    #[error("invalid label value for {name:?}: {value:?}")]
    BadLabel {
        /// The label name.
        name: String,
        /// Its value.
        value: String,
    },
}

/// The outcome of [`populate_labels`] for one discovered target.
#[derive(Debug, Clone, PartialEq)]
pub struct Populated {
    /// The labels before relabeling (`discoveredLabels` in the API).
    pub discovered: Labels,
    /// The target's labels after relabeling, `None` when relabeling dropped it.
    pub labels: Option<Labels>,
}

/// Builds a target's labels from a discovered target as Prometheus'
/// `PopulateLabels` does: group labels, target labels, the job's defaults
/// (`job`, `__scheme__`, `__metrics_path__`, `__scrape_interval__`,
/// `__scrape_timeout__`, `__param_*`), relabeling, then `__meta_*` labels
/// removed and `instance` defaulted to `__address__`.
pub fn populate_labels(
    group_labels: &Labels,
    target: &Labels,
    cfg: &ScrapeSettings,
) -> Result<Populated, TargetError> {
    let mut lb = LabelsBuilder::from_labels(group_labels);
    for l in target.iter() {
        lb.set(l.name, l.value);
    }
    let defaults = [
        ("job", cfg.job_name.clone()),
        (
            SCRAPE_INTERVAL_LABEL,
            format_duration(cfg.interval.as_millis() as i64),
        ),
        (
            SCRAPE_TIMEOUT_LABEL,
            format_duration(cfg.timeout.as_millis() as i64),
        ),
        (METRICS_PATH_LABEL, cfg.metrics_path.clone()),
        (SCHEME_LABEL, cfg.scheme.clone()),
    ];
    for (name, value) in defaults {
        if lb.get(name).is_none_or(str::is_empty) {
            lb.set(name, &value);
        }
    }
    for (k, vs) in &cfg.params {
        let name = format!("{PARAM_LABEL_PREFIX}{k}");
        if lb.get(&name).is_none_or(str::is_empty) {
            if let Some(v) = vs.first() {
                lb.set(&name, v);
            }
        }
    }
    let discovered = lb.labels();
    if !process_builder(&mut lb, &cfg.relabel_configs) {
        return Ok(Populated {
            discovered,
            labels: None,
        });
    }
    let addr = match lb.get(ADDRESS_LABEL) {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => return Err(TargetError::NoAddress),
    };
    let interval = lb
        .get(SCRAPE_INTERVAL_LABEL)
        .unwrap_or_default()
        .to_string();
    let timeout = lb.get(SCRAPE_TIMEOUT_LABEL).unwrap_or_default().to_string();
    let iv = parse_duration(&interval).map_err(|e| TargetError::BadDuration {
        label: SCRAPE_INTERVAL_LABEL,
        detail: e.to_string(),
    })?;
    let to = parse_duration(&timeout).map_err(|e| TargetError::BadDuration {
        label: SCRAPE_TIMEOUT_LABEL,
        detail: e.to_string(),
    })?;
    if iv == 0 {
        return Err(TargetError::BadTiming("scrape interval cannot be 0".into()));
    }
    if to == 0 {
        return Err(TargetError::BadTiming("scrape timeout cannot be 0".into()));
    }
    if to > iv {
        return Err(TargetError::BadTiming(format!(
            "scrape timeout cannot be greater than scrape interval ({timeout:?} > {interval:?})"
        )));
    }
    lb.retain(|n, _| !n.starts_with(META_LABEL_PREFIX));
    if lb.get("instance").is_none_or(str::is_empty) {
        lb.set("instance", &addr);
    }
    Ok(Populated {
        discovered,
        labels: Some(lb.labels()),
    })
}

/// The health of a target as `/api/v1/targets` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not scraped yet.
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
}

impl Health {
    /// `"unknown"`, `"up"` or `"down"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// Metadata of one metric family, from HELP, TYPE and UNIT lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, ... or `unknown`.
    pub metric_type: String,
    /// The HELP text.
    pub help: String,
    /// The UNIT (OpenMetrics).
    pub unit: String,
}

/// What the last scrape of a target left behind.
#[derive(Debug, Clone)]
pub struct ScrapeStatus {
    /// Up, down or unknown.
    pub health: Health,
    /// The last scrape's error, empty when it succeeded.
    pub last_error: String,
    /// When the last scrape started.
    pub last_scrape: Option<SystemTime>,
    /// How long it took.
    pub last_duration: Duration,
    /// Samples it produced (after relabeling).
    pub last_samples: usize,
}

/// A scrape target: its labels, URL and health. Shared between the scrape
/// loop, which updates the status, and the API, which reads it.
#[derive(Debug)]
pub struct Target {
    labels: Labels,
    discovered: Labels,
    job: String,
    url: String,
    interval: Duration,
    timeout: Duration,
    status: Mutex<ScrapeStatus>,
    metadata: Mutex<HashMap<String, MetricMetadata>>,
}

impl Target {
    /// A target from its populated labels (with `__`-labels) and discovered labels.
    pub fn new(labels: Labels, discovered: Labels, cfg: &ScrapeSettings) -> Target {
        let get = |n: &str| labels.get(n).unwrap_or_default().to_string();
        let mut url = format!(
            "{}://{}{}",
            get(SCHEME_LABEL),
            get(ADDRESS_LABEL),
            get(METRICS_PATH_LABEL)
        );
        let params: Vec<(String, String)> = labels
            .iter()
            .filter_map(|l| {
                l.name
                    .strip_prefix(PARAM_LABEL_PREFIX)
                    .map(|k| (k.to_string(), l.value.to_string()))
            })
            .collect();
        if !params.is_empty() {
            let mut first = !url.contains('?');
            for (k, v) in params {
                url.push(if first { '?' } else { '&' });
                first = false;
                url.push_str(&query_escape(&k));
                url.push('=');
                url.push_str(&query_escape(&v));
            }
        }
        let interval = parse_duration(labels.get(SCRAPE_INTERVAL_LABEL).unwrap_or_default())
            .map(|ms| Duration::from_millis(ms as u64))
            .unwrap_or(cfg.interval);
        let timeout = parse_duration(labels.get(SCRAPE_TIMEOUT_LABEL).unwrap_or_default())
            .map(|ms| Duration::from_millis(ms as u64))
            .unwrap_or(cfg.timeout);
        Target {
            labels,
            discovered,
            job: cfg.job_name.clone(),
            url,
            interval,
            timeout,
            status: Mutex::new(ScrapeStatus {
                health: Health::Unknown,
                last_error: String::new(),
                last_scrape: None,
                last_duration: Duration::ZERO,
                last_samples: 0,
            }),
            metadata: Mutex::new(HashMap::new()),
        }
    }

    /// All labels, including `__address__`, `__scheme__` and the like.
    pub fn all_labels(&self) -> &Labels {
        &self.labels
    }

    /// The labels attached to scraped samples: those not starting with `__`.
    pub fn labels(&self) -> Labels {
        self.labels.drop_names(
            &self
                .labels
                .iter()
                .filter(|l| l.name.starts_with("__"))
                .map(|l| l.name)
                .collect::<Vec<_>>(),
        )
    }

    /// The labels before relabeling.
    pub fn discovered_labels(&self) -> &Labels {
        &self.discovered
    }

    /// The job the target belongs to.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The URL scraped.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The scrape interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The scrape timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The last scrape's outcome.
    pub fn status(&self) -> ScrapeStatus {
        self.status.lock().clone()
    }

    pub(crate) fn set_status(&self, s: ScrapeStatus) {
        *self.status.lock() = s;
    }

    /// Metadata of the metric families the target exposes.
    pub fn metadata(&self) -> HashMap<String, MetricMetadata> {
        self.metadata.lock().clone()
    }

    pub(crate) fn set_metadata(&self, m: HashMap<String, MetricMetadata>) {
        *self.metadata.lock() = m;
    }

    /// A hash identifying the target within its job (labels and URL), as
    /// Prometheus' `Target.hash` for the scrape offset.
    pub fn hash(&self) -> u64 {
        let mut h = fnv::FnvHasher::default();
        std::hash::Hasher::write_u64(&mut h, self.labels.hash64());
        std::hash::Hasher::write(&mut h, self.url.as_bytes());
        std::hash::Hasher::finish(&h)
    }

    /// When to scrape first: the offset into the interval is fixed by the
    /// target's hash, so restarts keep the same phase (Prometheus' `offset`).
    pub fn offset(&self, now_unix_nanos: u128, seed: u64) -> Duration {
        let iv = self.interval.as_nanos().max(1);
        let base = iv - now_unix_nanos % iv;
        let off = ((self.hash() ^ seed) as u128) % iv;
        let mut next = base + off;
        if next > iv {
            next -= iv;
        }
        Duration::from_nanos(next as u64)
    }
}

/// Percent-escapes a URL query component like Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::{Action, RelabelRegex};

    fn settings() -> ScrapeSettings {
        let mut s = ScrapeSettings::new("node");
        s.interval = Duration::from_secs(15);
        s.params = vec![("module".into(), vec!["http_2xx".into()])];
        s
    }

    #[test]
    fn populate_adds_defaults_and_instance() {
        let t = Labels::from_pairs(&[("__address__", "h:9100"), ("__meta_x", "y")]);
        let p = populate_labels(&Labels::from_pairs(&[("env", "prod")]), &t, &settings()).unwrap();
        let l = p.labels.unwrap();
        assert_eq!(l.get("job"), Some("node"));
        assert_eq!(l.get("instance"), Some("h:9100"));
        assert_eq!(l.get("__scrape_interval__"), Some("15s"));
        assert_eq!(l.get("__param_module"), Some("http_2xx"));
        assert_eq!(l.get("__meta_x"), None);
        assert_eq!(p.discovered.get("__meta_x"), Some("y"));
        let target = Target::new(l, p.discovered, &settings());
        assert_eq!(target.url(), "http://h:9100/metrics?module=http_2xx");
        assert_eq!(
            target.labels().to_string(),
            r#"{env="prod", instance="h:9100", job="node"}"#
        );
    }

    #[test]
    fn relabeling_can_drop_or_rewrite_targets() {
        let mut cfg = settings();
        cfg.relabel_configs = vec![RelabelConfig {
            source_labels: vec!["__address__".into()],
            regex: RelabelRegex::new("drop.*").unwrap(),
            action: Action::Drop,
            ..RelabelConfig::default()
        }];
        let t = Labels::from_pairs(&[("__address__", "drop-me:1")]);
        assert_eq!(
            populate_labels(&Labels::empty(), &t, &cfg).unwrap().labels,
            None
        );
        let t = Labels::from_pairs(&[("__address__", "keep:1"), ("__scrape_timeout__", "20s")]);
        assert!(matches!(
            populate_labels(&Labels::empty(), &t, &cfg),
            Err(TargetError::BadTiming(_))
        ));
        let t = Labels::from_pairs(&[("x", "1")]);
        assert_eq!(
            populate_labels(&Labels::empty(), &t, &cfg),
            Err(TargetError::NoAddress)
        );
    }

    #[test]
    fn offset_is_stable_and_within_the_interval() {
        let cfg = settings();
        let p = populate_labels(
            &Labels::empty(),
            &Labels::from_pairs(&[("__address__", "a:1")]),
            &cfg,
        )
        .unwrap();
        let t = Target::new(p.labels.unwrap(), p.discovered, &cfg);
        let now = 1_700_000_000_123_456_789u128;
        let o = t.offset(now, 42);
        assert!(o <= Duration::from_secs(15));
        // The first scrape lands at the same phase within the interval whenever we start.
        let phase = |now: u128| (now + t.offset(now, 42).as_nanos()) % 15_000_000_000;
        assert_eq!(phase(now), phase(now + 3_333_333_333));
    }
}
