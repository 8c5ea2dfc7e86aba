//! The `alerting` section: alert relabeling and Alertmanager endpoints.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::http::{raw_section, HttpClientConfig};
use crate::relabel::RelabelConfigYaml;
use crate::scrape::{
    check_static_targets, FileSdConfig, HttpSdConfig, StaticConfig, UnsupportedSd,
};
use crate::types::Duration;

/// `alerting`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// Relabeling applied to every alert before sending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_relabel_configs: Vec<RelabelConfigYaml>,
    /// Alertmanager endpoint groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// One `alertmanagers` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawAlertmanager")]
pub struct AlertmanagerConfig {
    /// HTTP client settings.
    #[serde(flatten)]
    pub http_client_config: HttpClientConfig,
    /// `http` or `https`.
    pub scheme: String,
    /// Prefix of the push endpoint path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path_prefix: String,
    /// Send timeout (10s).
    pub timeout: Duration,
    /// Alertmanager API version; only `v2` in Prometheus 3.
    pub api_version: String,
    /// Target relabeling for discovered Alertmanagers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfigYaml>,
    /// Alert relabeling for this Alertmanager group only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_relabel_configs: Vec<RelabelConfigYaml>,
    /// `static_configs`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_configs: Vec<StaticConfig>,
    /// `file_sd_configs`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// `http_sd_configs`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_sd_configs: Vec<HttpSdConfig>,
    /// `sigv4`, kept as written (not implemented by promlite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<serde_json::Value>,
    /// Discovery kinds promlite ignores.
    #[serde(skip)]
    pub unsupported_sd_configs: Vec<UnsupportedSd>,
    #[serde(skip)]
    pub(crate) warnings: Vec<String>,
}

/// `api_version`, checked where it is written: Prometheus 3 only speaks v2.
struct ApiVersion(String);

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = String::deserialize(d)?;
        if v != "v2" {
            return Err(serde::de::Error::custom(format!(
                "expected Alertmanager api version to be one of [v2] but got {v}"
            )));
        }
        Ok(ApiVersion(v))
    }
}

raw_section!(@http_sd struct RawAlertmanager {
    #[serde(default)] scheme: Option<String>,
    #[serde(default)] path_prefix: String,
    #[serde(default)] timeout: Option<Duration>,
    #[serde(default)] api_version: Option<ApiVersion>,
    #[serde(default)] relabel_configs: Vec<RelabelConfigYaml>,
    #[serde(default)] alert_relabel_configs: Vec<RelabelConfigYaml>,
    #[serde(default)] sigv4: Option<serde_json::Value>,
});

impl TryFrom<RawAlertmanager> for AlertmanagerConfig {
    type Error = String;

    fn try_from(mut r: RawAlertmanager) -> Result<Self, String> {
        let api_version = r.api_version.take().map_or_else(|| "v2".into(), |v| v.0);
        let mut warnings = Vec::new();
        let raw_http = r.take_http();
        let has_auth = raw_http.basic_auth.is_some()
            || raw_http.authorization.is_some()
            || raw_http.oauth2.is_some();
        let http_client_config = raw_http.build(true, &mut warnings)?;
        if has_auth && r.sigv4.is_some() {
            return Err(
                "at most one of basic_auth, authorization, oauth2, & sigv4 must be configured"
                    .into(),
            );
        }
        if r.sigv4.is_some() {
            warnings.push("alertmanager: sigv4 is not supported by promlite".into());
        }
        if r.relabel_configs.is_empty() {
            check_static_targets(&r.static_configs)?;
        }
        let unsupported_sd_configs = r.take_unsupported_sd();
        for sd in &unsupported_sd_configs {
            warnings.push(format!(
                "alertmanager: {} is not supported by promlite; its targets are ignored",
                sd.kind
            ));
        }
        Ok(AlertmanagerConfig {
            http_client_config,
            scheme: r.scheme.unwrap_or_else(|| "http".into()),
            path_prefix: r.path_prefix,
            timeout: r.timeout.unwrap_or(Duration::from_secs(10)),
            api_version,
            relabel_configs: r.relabel_configs,
            alert_relabel_configs: r.alert_relabel_configs,
            static_configs: r.static_configs,
            file_sd_configs: r.file_sd_configs,
            http_sd_configs: r.http_sd_configs,
            sigv4: r.sigv4,
            unsupported_sd_configs,
            warnings,
        })
    }
}

impl AlertmanagerConfig {
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.http_client_config.set_directory(dir);
        for f in &mut self.file_sd_configs {
            for p in &mut f.files {
                *p = crate::join_dir(dir, p);
            }
        }
    }
}
