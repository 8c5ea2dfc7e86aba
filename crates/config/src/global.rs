//! The `global` section: defaults every scrape job and rule group inherits,
//! and the external labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scrape::{parse_scheme, validate_scrape_protocols};
use crate::types::{is_false, ByteSize, Duration, ValidationScheme};

/// `global` with Prometheus' defaults (scrape_interval 1m, scrape_timeout
/// 10s, evaluation_interval 1m).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawGlobal")]
pub struct GlobalConfig {
    /// Default scrape interval.
    pub scrape_interval: Duration,
    /// Default scrape timeout (at most the interval).
    pub scrape_timeout: Duration,
    /// Default scrape protocols; `None` lets each job pick by its native
    /// histogram setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<String>>,
    /// Default rule evaluation interval.
    pub evaluation_interval: Duration,
    /// Default rule query offset.
    #[serde(skip_serializing_if = "crate::types::is_zero_duration")]
    pub rule_query_offset: Duration,
    /// File PromQL queries are logged to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query_log_file: String,
    /// File scrape failures are logged to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scrape_failure_log_file: String,
    /// Labels added to series and alerts sent outside; `$VAR` and `${VAR}`
    /// are expanded from the environment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
    /// Default body size limit; 0 is no limit.
    #[serde(skip_serializing_if = "ByteSize::is_zero")]
    pub body_size_limit: ByteSize,
    /// Default sample limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub sample_limit: u64,
    /// Default target limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub target_limit: u64,
    /// Default label limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub label_limit: u64,
    /// Default label name length limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub label_name_length_limit: u64,
    /// Default label value length limit.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub label_value_length_limit: u64,
    /// Default number of dropped targets kept.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub keep_dropped_targets: u64,
    /// Label/metric name validation (`utf8` default, or `legacy`).
    pub metric_name_validation_scheme: ValidationScheme,
    /// Escaping requested from targets; empty derives from the scheme.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metric_name_escaping_scheme: String,
    /// Scrape native histograms by default.
    pub scrape_native_histograms: bool,
    /// Convert classic histograms to NHCB by default.
    #[serde(skip_serializing_if = "is_false")]
    pub convert_classic_histograms_to_nhcb: bool,
    /// Keep classic histograms alongside native ones by default.
    #[serde(skip_serializing_if = "is_false")]
    pub always_scrape_classic_histograms: bool,
    /// Store extra scrape metrics by default.
    #[serde(skip_serializing_if = "is_false")]
    pub extra_scrape_metrics: bool,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            scrape_protocols: None,
            evaluation_interval: Duration::from_secs(60),
            rule_query_offset: Duration(0),
            query_log_file: String::new(),
            scrape_failure_log_file: String::new(),
            external_labels: BTreeMap::new(),
            body_size_limit: ByteSize(0),
            sample_limit: 0,
            target_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            keep_dropped_targets: 0,
            metric_name_validation_scheme: ValidationScheme::Utf8,
            metric_name_escaping_scheme: String::new(),
            scrape_native_histograms: false,
            convert_classic_histograms_to_nhcb: false,
            always_scrape_classic_histograms: false,
            extra_scrape_metrics: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    #[serde(default)]
    scrape_interval: Option<Duration>,
    #[serde(default)]
    scrape_timeout: Option<Duration>,
    #[serde(default)]
    scrape_protocols: Option<Vec<String>>,
    #[serde(default)]
    evaluation_interval: Option<Duration>,
    #[serde(default)]
    rule_query_offset: Option<Duration>,
    #[serde(default)]
    query_log_file: String,
    #[serde(default)]
    scrape_failure_log_file: String,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    body_size_limit: ByteSize,
    #[serde(default)]
    sample_limit: u64,
    #[serde(default)]
    target_limit: u64,
    #[serde(default)]
    label_limit: u64,
    #[serde(default)]
    label_name_length_limit: u64,
    #[serde(default)]
    label_value_length_limit: u64,
    #[serde(default)]
    keep_dropped_targets: u64,
    #[serde(default)]
    metric_name_validation_scheme: String,
    #[serde(default)]
    metric_name_escaping_scheme: String,
    #[serde(default)]
    scrape_native_histograms: Option<bool>,
    #[serde(default)]
    convert_classic_histograms_to_nhcb: bool,
    #[serde(default)]
    always_scrape_classic_histograms: bool,
    #[serde(default)]
    extra_scrape_metrics: bool,
}

impl TryFrom<RawGlobal> for GlobalConfig {
    type Error = String;

    fn try_from(r: RawGlobal) -> Result<Self, String> {
        let d = GlobalConfig::default();
        let scheme = parse_scheme(&r.metric_name_validation_scheme)?.unwrap_or_default();
        for (name, value) in &r.external_labels {
            if !scheme.is_valid_label_name(name) {
                return Err(format!("{name:?} is not a valid label name"));
            }
            // Values are valid UTF-8 by construction; nothing else to check.
            let _ = value;
        }
        let scrape_interval = r
            .scrape_interval
            .filter(|d| d.0 != 0)
            .unwrap_or(d.scrape_interval);
        let timeout = r.scrape_timeout.unwrap_or(Duration(0));
        if timeout > scrape_interval {
            return Err("global scrape timeout greater than scrape interval".into());
        }
        let scrape_timeout = if timeout.0 == 0 {
            d.scrape_timeout.min(scrape_interval)
        } else {
            timeout
        };
        if let Some(p) = &r.scrape_protocols {
            validate_scrape_protocols(p).map_err(|e| format!("{e} for global config"))?;
        }
        let external_labels = r
            .external_labels
            .into_iter()
            .map(|(k, v)| (k, expand_env(&v)))
            .collect();
        Ok(GlobalConfig {
            scrape_interval,
            scrape_timeout,
            scrape_protocols: r.scrape_protocols,
            evaluation_interval: r
                .evaluation_interval
                .filter(|d| d.0 != 0)
                .unwrap_or(d.evaluation_interval),
            rule_query_offset: r.rule_query_offset.unwrap_or_default(),
            query_log_file: r.query_log_file,
            scrape_failure_log_file: r.scrape_failure_log_file,
            external_labels,
            body_size_limit: r.body_size_limit,
            sample_limit: r.sample_limit,
            target_limit: r.target_limit,
            label_limit: r.label_limit,
            label_name_length_limit: r.label_name_length_limit,
            label_value_length_limit: r.label_value_length_limit,
            keep_dropped_targets: r.keep_dropped_targets,
            metric_name_validation_scheme: scheme,
            metric_name_escaping_scheme: r.metric_name_escaping_scheme,
            scrape_native_histograms: r.scrape_native_histograms.unwrap_or(false),
            convert_classic_histograms_to_nhcb: r.convert_classic_histograms_to_nhcb,
            always_scrape_classic_histograms: r.always_scrape_classic_histograms,
            extra_scrape_metrics: r.extra_scrape_metrics,
        })
    }
}

/// Expands `$VAR`, `${VAR}` and `$$` like Go's `os.Expand` with the
/// environment, as Prometheus does for external label values. Unset
/// variables expand to the empty string.
pub fn expand_env(s: &str) -> String {
    expand_with(s, |name| std::env::var(name).unwrap_or_default())
}

pub(crate) fn expand_with(s: &str, lookup: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) if end > 0 => {
                    out.push_str(&lookup(&braced[..end]));
                    rest = &braced[end + 1..];
                }
                // Go drops a malformed `${`; keep the text instead.
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        } else if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if n == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&after[..n]));
            }
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_expansion_like_os_expand() {
        let f = |n: &str| {
            if n == "A" {
                "x".to_string()
            } else {
                String::new()
            }
        };
        assert_eq!(expand_with("a-$A-${A}-$$-$B.", f), "a-x-x-$-.");
        assert_eq!(expand_with("cost $", f), "cost $");
    }
}
