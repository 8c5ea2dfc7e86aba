//! The smaller top-level sections: `storage`, `tracing`, `otlp`, `runtime`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::http::TlsConfig;
use crate::types::{is_false, ByteSize, Duration};

/// `storage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `storage.tsdb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsdb: Option<TsdbConfig>,
    /// `storage.exemplars`.
    #[serde(default = "default_exemplars")]
    pub exemplars: Option<ExemplarsConfig>,
}

fn default_exemplars() -> Option<ExemplarsConfig> {
    Some(ExemplarsConfig::default())
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            tsdb: None,
            exemplars: default_exemplars(),
        }
    }
}

/// `storage.tsdb`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// How far back out-of-order samples are accepted; 0 disables.
    #[serde(default)]
    pub out_of_order_time_window: Duration,
    /// `storage.tsdb.retention`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<TsdbRetentionConfig>,
}

/// `storage.tsdb.retention`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbRetentionConfig {
    /// Retention by age; 0 leaves the flag's value.
    #[serde(default)]
    pub time: Duration,
    /// Retention by size; 0 leaves the flag's value.
    #[serde(default)]
    pub size: ByteSize,
}

/// `storage.exemplars`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// Size of the exemplar ring buffer (100000); 0 or less disables.
    #[serde(default = "default_max_exemplars")]
    pub max_exemplars: i64,
}

fn default_max_exemplars() -> i64 {
    100_000
}

impl Default for ExemplarsConfig {
    fn default() -> Self {
        ExemplarsConfig {
            max_exemplars: default_max_exemplars(),
        }
    }
}

/// `tracing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawTracing")]
pub struct TracingConfig {
    /// `grpc` (default) or `http`.
    pub client_type: String,
    /// OTLP endpoint (required when the section is present).
    pub endpoint: String,
    /// Fraction of traces sampled.
    pub sampling_fraction: f64,
    /// Plain-text connection.
    #[serde(skip_serializing_if = "is_false")]
    pub insecure: bool,
    /// TLS settings.
    pub tls_config: TlsConfig,
    /// Extra headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `gzip` or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub compression: String,
    /// Export timeout.
    pub timeout: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTracing {
    #[serde(default)]
    client_type: Option<String>,
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    sampling_fraction: f64,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    tls_config: TlsConfig,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    compression: String,
    #[serde(default)]
    timeout: Duration,
}

impl TryFrom<RawTracing> for TracingConfig {
    type Error = String;

    fn try_from(r: RawTracing) -> Result<Self, String> {
        let client_type = r.client_type.unwrap_or_else(|| "grpc".into());
        if client_type != "grpc" && client_type != "http" {
            return Err(format!(
                "expected tracing client type to be to be http or grpc, but got {client_type}"
            ));
        }
        for h in r.headers.keys() {
            if h.eq_ignore_ascii_case("authorization") {
                return Err(
                    "custom authorization header configuration is not yet supported".into(),
                );
            }
        }
        if r.endpoint.is_empty() {
            return Err("tracing endpoint must be set".into());
        }
        if !r.compression.is_empty() && r.compression != "gzip" {
            return Err(format!(
                "invalid compression type {} provided, valid options: gzip",
                r.compression
            ));
        }
        r.tls_config.validate()?;
        Ok(TracingConfig {
            client_type,
            endpoint: r.endpoint,
            sampling_fraction: r.sampling_fraction,
            insecure: r.insecure,
            tls_config: r.tls_config,
            headers: r.headers,
            compression: r.compression,
            timeout: r.timeout,
        })
    }
}

/// OTLP translation strategies Prometheus 3 accepts.
pub const TRANSLATION_STRATEGIES: [&str; 4] = [
    "UnderscoreEscapingWithSuffixes",
    "UnderscoreEscapingWithoutSuffixes",
    "NoUTF8EscapingWithSuffixes",
    "NoTranslation",
];

/// `otlp`: how OTLP metrics received on the write endpoint are translated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    /// Promote every resource attribute to a label.
    #[serde(skip_serializing_if = "is_false")]
    pub promote_all_resource_attributes: bool,
    /// Resource attributes promoted to labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub promote_resource_attributes: Vec<String>,
    /// Attributes not promoted when all are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_resource_attributes: Vec<String>,
    /// Name translation strategy.
    pub translation_strategy: String,
    /// Keep `service.*` attributes in `target_info`.
    #[serde(skip_serializing_if = "is_false")]
    pub keep_identifying_resource_attributes: bool,
    /// Convert histograms to NHCB.
    #[serde(skip_serializing_if = "is_false")]
    pub convert_histograms_to_nhcb: bool,
    /// Promote scope metadata to labels.
    #[serde(skip_serializing_if = "is_false")]
    pub promote_scope_metadata: bool,
    /// Prefix `key_` to labels starting with `_`.
    pub label_name_underscore_sanitization: bool,
    /// Keep runs of underscores in label names.
    pub label_name_preserve_multiple_underscores: bool,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            promote_all_resource_attributes: false,
            promote_resource_attributes: Vec::new(),
            ignore_resource_attributes: Vec::new(),
            translation_strategy: TRANSLATION_STRATEGIES[0].into(),
            keep_identifying_resource_attributes: false,
            convert_histograms_to_nhcb: false,
            promote_scope_metadata: false,
            label_name_underscore_sanitization: true,
            label_name_preserve_multiple_underscores: true,
        }
    }
}

impl OtlpConfig {
    /// Prometheus' checks of the `otlp` section.
    pub(crate) fn validate(&self, legacy_names: bool) -> Result<(), String> {
        if self.promote_all_resource_attributes {
            if !self.promote_resource_attributes.is_empty() {
                return Err("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously".into());
            }
        } else if !self.ignore_resource_attributes.is_empty() {
            return Err("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true".into());
        }
        let s = self.translation_strategy.as_str();
        if !TRANSLATION_STRATEGIES.contains(&s) {
            return Err(format!("unsupported OTLP translation strategy {s:?}"));
        }
        if legacy_names && (s == "NoUTF8EscapingWithSuffixes" || s == "NoTranslation") {
            return Err(format!(
                "OTLP translation strategy {s:?} is not allowed when UTF8 is disabled"
            ));
        }
        Ok(())
    }
}

/// `runtime`: process tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Go's GC percentage in Prometheus; accepted for compatibility (75).
    pub gogc: i64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig { gogc: 75 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_rules() {
        let mut o = OtlpConfig::default();
        assert!(o.validate(false).is_ok());
        o.translation_strategy = "NoTranslation".into();
        assert!(o
            .validate(true)
            .unwrap_err()
            .contains("not allowed when UTF8 is disabled"));
        o.translation_strategy = "Bogus".into();
        assert!(o
            .validate(false)
            .unwrap_err()
            .contains("unsupported OTLP translation strategy"));
        let o = OtlpConfig {
            ignore_resource_attributes: vec!["a".into()],
            ..OtlpConfig::default()
        };
        assert!(o.validate(false).is_err());
    }

    #[test]
    fn tracing_needs_endpoint_and_known_client() {
        let e = serde_saphyr::from_str::<TracingConfig>("insecure: true\n").unwrap_err();
        assert!(e.to_string().contains("tracing endpoint must be set"));
        let e =
            serde_saphyr::from_str::<TracingConfig>("endpoint: x\nclient_type: udp\n").unwrap_err();
        assert!(e.to_string().contains("expected tracing client type"));
        let t: TracingConfig = serde_saphyr::from_str("endpoint: x\n").unwrap();
        assert_eq!(t.client_type, "grpc");
    }
}
