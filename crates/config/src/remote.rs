//! `remote_write` and `remote_read` endpoints.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::http::{raw_section, HttpClientConfig};
use crate::relabel::RelabelConfigYaml;
use crate::types::{is_false, Duration};

/// Headers a user may not set on remote requests (lower case).
const RESERVED_HEADERS: [&str; 17] = [
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "authorization",
];

fn validate_headers(h: &BTreeMap<String, String>) -> Result<(), String> {
    for k in h.keys() {
        let l = k.to_lowercase();
        if l == "authorization" {
            return Err("authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter".into());
        }
        if RESERVED_HEADERS.contains(&l.as_str()) {
            return Err(format!("{k} is a reserved header. It must not be changed"));
        }
    }
    Ok(())
}

/// Prometheus only requires the URL to be present; a URL without a scheme
/// parses (and fails when used), so it is a warning here too.
fn check_url(u: &str, section: &str, warnings: &mut Vec<String>) -> Result<(), String> {
    if u.is_empty() {
        return Err(format!("url for {section} is empty"));
    }
    match u.split_once("://") {
        Some((scheme, _)) if !scheme.is_empty() => {}
        _ => warnings.push(format!(
            "{section} url {u:?} is not an absolute URL; requests to it will fail"
        )),
    }
    Ok(())
}

/// `queue_config` of a remote_write endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Samples buffered per shard (10000).
    pub capacity: u64,
    /// Maximum shards (50).
    pub max_shards: u64,
    /// Minimum shards (1).
    pub min_shards: u64,
    /// Samples per request (2000).
    pub max_samples_per_send: u64,
    /// Longest a sample waits in a shard (5s).
    pub batch_send_deadline: Duration,
    /// First retry backoff (30ms).
    pub min_backoff: Duration,
    /// Longest retry backoff (5s).
    pub max_backoff: Duration,
    /// Retry on HTTP 429 (Prometheus 3 default: false).
    #[serde(skip_serializing_if = "is_false")]
    pub retry_on_http_429: bool,
    /// Samples older than this are dropped; 0 keeps all.
    #[serde(skip_serializing_if = "is_zero_dur")]
    pub sample_age_limit: Duration,
}

fn is_zero_dur(d: &Duration) -> bool {
    d.0 == 0
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration(30),
            max_backoff: Duration::from_secs(5),
            retry_on_http_429: false,
            sample_age_limit: Duration(0),
        }
    }
}

/// `metadata_config` of a remote_write endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    /// Send metric metadata (true).
    pub send: bool,
    /// How often metadata is sent (1m).
    pub send_interval: Duration,
    /// Metadata entries per request (2000).
    pub max_samples_per_send: u64,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            send: true,
            send_interval: Duration::from_secs(60),
            max_samples_per_send: 2000,
        }
    }
}

/// The remote-write protobuf messages Prometheus 3 can send.
pub const PROTOBUF_MESSAGES: [&str; 2] =
    ["prometheus.WriteRequest", "io.prometheus.write.v2.Request"];

/// `protobuf_message`, checked where it is written.
struct ProtobufMessage(String);

impl<'de> Deserialize<'de> for ProtobufMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = String::deserialize(d)?;
        if !PROTOBUF_MESSAGES.contains(&m.as_str()) {
            return Err(serde::de::Error::custom(format!(
                "invalid protobuf_message value: unknown remote write protobuf message {m}, supported: {}",
                PROTOBUF_MESSAGES.join(", ")
            )));
        }
        Ok(ProtobufMessage(m))
    }
}

/// One `remote_write` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRemoteWrite")]
pub struct RemoteWriteConfig {
    /// Endpoint URL.
    pub url: String,
    /// Request timeout (30s).
    pub remote_timeout: Duration,
    /// Extra HTTP headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Relabeling applied before sending.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub write_relabel_configs: Vec<RelabelConfigYaml>,
    /// Name, unique among remote_write entries when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Send exemplars.
    pub send_exemplars: bool,
    /// Send native histograms.
    pub send_native_histograms: bool,
    /// Resolve the host and pick addresses round robin.
    #[serde(skip_serializing_if = "is_false")]
    pub round_robin_dns: bool,
    /// Protobuf message sent (`prometheus.WriteRequest` by default).
    pub protobuf_message: String,
    /// HTTP client settings (enable_http2 defaults to false here).
    #[serde(flatten)]
    pub http_client_config: HttpClientConfig,
    /// Queue tuning.
    pub queue_config: QueueConfig,
    /// Metadata sending.
    pub metadata_config: MetadataConfig,
    /// `sigv4`, kept as written (not implemented by promlite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<serde_json::Value>,
    /// `azuread`, kept as written (not implemented by promlite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azuread: Option<serde_json::Value>,
    /// `google_iam`, kept as written (not implemented by promlite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_iam: Option<serde_json::Value>,
    /// Line of `url` in the file.
    #[serde(skip)]
    pub line: Option<u64>,
    #[serde(skip)]
    pub(crate) warnings: Vec<String>,
}

raw_section!(@http struct RawRemoteWrite {
    #[serde(default)] url: Option<Spanned<String>>,
    #[serde(default)] remote_timeout: Option<Duration>,
    #[serde(default)] headers: BTreeMap<String, String>,
    #[serde(default)] write_relabel_configs: Vec<RelabelConfigYaml>,
    #[serde(default)] name: String,
    #[serde(default)] send_exemplars: bool,
    #[serde(default)] send_native_histograms: bool,
    #[serde(default)] round_robin_dns: bool,
    #[serde(default)] protobuf_message: Option<ProtobufMessage>,
    #[serde(default)] queue_config: QueueConfig,
    #[serde(default)] metadata_config: MetadataConfig,
    #[serde(default)] sigv4: Option<serde_json::Value>,
    #[serde(default)] azuread: Option<serde_json::Value>,
    #[serde(default)] google_iam: Option<serde_json::Value>,
});

impl TryFrom<RawRemoteWrite> for RemoteWriteConfig {
    type Error = String;

    fn try_from(mut r: RawRemoteWrite) -> Result<Self, String> {
        let (url, line) = match r.url.take() {
            Some(s) => (s.value, Some(s.referenced.line())),
            None => (String::new(), None),
        };
        let mut warnings = Vec::new();
        check_url(&url, "remote_write", &mut warnings)?;
        validate_headers(&r.headers)?;
        let protobuf_message = r
            .protobuf_message
            .take()
            .map_or_else(|| PROTOBUF_MESSAGES[0].to_string(), |m| m.0);
        let raw_http = r.take_http();
        let mut auth = Vec::new();
        if raw_http.basic_auth.is_some() {
            auth.push("basic_auth");
        }
        if raw_http.authorization.is_some() {
            auth.push("authorization");
        }
        if raw_http.oauth2.is_some() {
            auth.push("oauth2");
        }
        for (k, v) in [
            ("sigv4", &r.sigv4),
            ("azuread", &r.azuread),
            ("google_iam", &r.google_iam),
        ] {
            if v.is_some() {
                auth.push(k);
                warnings.push(format!(
                    "remote_write {url}: {k} is not supported by promlite; requests are sent without it"
                ));
            }
        }
        let http_client_config = raw_http.build(false, &mut warnings)?;
        if auth.len() > 1 {
            return Err(format!(
                "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [{}]",
                auth.join(" ")
            ));
        }
        Ok(RemoteWriteConfig {
            url,
            remote_timeout: r.remote_timeout.unwrap_or(Duration::from_secs(30)),
            headers: r.headers,
            write_relabel_configs: r.write_relabel_configs,
            name: r.name,
            send_exemplars: r.send_exemplars,
            send_native_histograms: r.send_native_histograms,
            round_robin_dns: r.round_robin_dns,
            protobuf_message,
            http_client_config,
            queue_config: r.queue_config,
            metadata_config: r.metadata_config,
            sigv4: r.sigv4,
            azuread: r.azuread,
            google_iam: r.google_iam,
            line,
            warnings,
        })
    }
}

/// One `remote_read` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRemoteRead")]
pub struct RemoteReadConfig {
    /// Endpoint URL.
    pub url: String,
    /// Request timeout (1m).
    pub remote_timeout: Duration,
    /// Largest protobuf frame accepted in chunked responses (50000000).
    pub chunked_read_limit: u64,
    /// Extra HTTP headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Also read for time ranges the local TSDB holds.
    pub read_recent: bool,
    /// Name, unique among remote_read entries when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// HTTP client settings.
    #[serde(flatten)]
    pub http_client_config: HttpClientConfig,
    /// Equality matchers a selector must have to use this endpoint.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub required_matchers: BTreeMap<String, String>,
    /// Add external labels as matchers (true).
    pub filter_external_labels: bool,
    /// Line of `url` in the file.
    #[serde(skip)]
    pub line: Option<u64>,
    #[serde(skip)]
    pub(crate) warnings: Vec<String>,
}

raw_section!(@http struct RawRemoteRead {
    #[serde(default)] url: Option<Spanned<String>>,
    #[serde(default)] remote_timeout: Option<Duration>,
    #[serde(default)] chunked_read_limit: Option<u64>,
    #[serde(default)] headers: BTreeMap<String, String>,
    #[serde(default)] read_recent: bool,
    #[serde(default)] name: String,
    #[serde(default)] required_matchers: BTreeMap<String, String>,
    #[serde(default)] filter_external_labels: Option<bool>,
});

impl TryFrom<RawRemoteRead> for RemoteReadConfig {
    type Error = String;

    fn try_from(mut r: RawRemoteRead) -> Result<Self, String> {
        let (url, line) = match r.url.take() {
            Some(s) => (s.value, Some(s.referenced.line())),
            None => (String::new(), None),
        };
        let mut warnings = Vec::new();
        check_url(&url, "remote_read", &mut warnings)?;
        validate_headers(&r.headers)?;
        let http_client_config = r.take_http().build(true, &mut warnings)?;
        Ok(RemoteReadConfig {
            url,
            remote_timeout: r.remote_timeout.unwrap_or(Duration::from_secs(60)),
            chunked_read_limit: r.chunked_read_limit.unwrap_or(50_000_000),
            headers: r.headers,
            read_recent: r.read_recent,
            name: r.name,
            http_client_config,
            required_matchers: r.required_matchers,
            filter_external_labels: r.filter_external_labels.unwrap_or(true),
            line,
            warnings,
        })
    }
}

impl RemoteWriteConfig {
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.http_client_config.set_directory(dir);
    }
}

impl RemoteReadConfig {
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.http_client_config.set_directory(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(y: &str) -> Result<RemoteWriteConfig, String> {
        serde_saphyr::from_str(y).map_err(|e| e.without_snippet().to_string())
    }

    #[test]
    fn defaults_match_prometheus() {
        let c = rw("url: http://x/w\n").unwrap();
        assert_eq!(c.remote_timeout.to_string(), "30s");
        assert_eq!(c.queue_config, QueueConfig::default());
        assert_eq!(c.queue_config.capacity, 10000);
        assert_eq!(c.queue_config.max_backoff.to_string(), "5s");
        assert_eq!(c.metadata_config.max_samples_per_send, 2000);
        assert_eq!(c.protobuf_message, "prometheus.WriteRequest");
    }

    #[test]
    fn authorization_header_and_auth_conflicts() {
        let e = rw("url: http://x/w\nheaders: {Authorization: x}\n").unwrap_err();
        assert!(
            e.contains("authorization header must be changed via"),
            "{e}"
        );
        let e = rw("url: http://x/w\nbasic_auth: {username: u}\nsigv4: {region: r}\n").unwrap_err();
        assert!(
            e.contains("Currently configured: [basic_auth sigv4]"),
            "{e}"
        );
        let c = rw("url: http://x/w\nazuread: {cloud: AzurePublic}\n").unwrap();
        assert!(
            c.warnings[0].contains("azuread is not supported"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn relative_url_is_a_warning_as_prometheus_accepts_it() {
        let c = rw("url: /relative\n").unwrap();
        assert!(
            c.warnings[0].contains("not an absolute URL"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn remote_read_defaults() {
        let c: RemoteReadConfig = serde_saphyr::from_str("url: http://x/r\n").unwrap();
        assert_eq!(c.remote_timeout.to_string(), "1m");
        assert!(c.filter_external_labels);
        assert_eq!(c.chunked_read_limit, 50_000_000);
    }
}
