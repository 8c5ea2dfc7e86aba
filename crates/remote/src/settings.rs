//! What one remote-write endpoint needs, mapped by the server from
//! `remote_write` in prometheus.yml.

use std::time::Duration;

use promlite_model::{Labels, RelabelConfig};

/// Queue tuning (`queue_config`), with Prometheus' defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSettings {
    /// Samples buffered per shard before the WAL watcher waits (10000).
    pub capacity: usize,
    /// Most shards (50).
    pub max_shards: usize,
    /// Fewest shards, also the number started with (1).
    pub min_shards: usize,
    /// Samples per request (2000).
    pub max_samples_per_send: usize,
    /// Longest a sample waits in a shard before a partial batch is sent
    /// (5s).
    pub batch_send_deadline: Duration,
    /// First retry backoff (30ms).
    pub min_backoff: Duration,
    /// Longest retry backoff (5s).
    pub max_backoff: Duration,
    /// Retry on HTTP 429 instead of dropping the batch (false).
    pub retry_on_http_429: bool,
    /// Samples older than this when read are dropped; zero keeps all.
    pub sample_age_limit: Duration,
    /// At stop, how long shards keep trying to deliver what they hold
    /// (Prometheus' flush deadline, 1m). Undelivered samples are sent
    /// again after the next start, from the WAL.
    pub flush_deadline: Duration,
    /// How often the number of shards is reconsidered (10s).
    pub reshard_interval: Duration,
    /// How long the WAL watcher sleeps when it has caught up with the
    /// writer (100ms).
    pub wal_poll_interval: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2_000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            retry_on_http_429: false,
            sample_age_limit: Duration::ZERO,
            flush_deadline: Duration::from_secs(60),
            reshard_interval: Duration::from_secs(10),
            wal_poll_interval: Duration::from_millis(100),
        }
    }
}

/// TLS settings of the HTTP client (files already read by the server).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSettings {
    /// PEM of the CA bundle that verifies the receiver.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM of the client certificate and its key, concatenated.
    pub identity_pem: Option<Vec<u8>>,
    /// Skip verifying the receiver's certificate.
    pub insecure_skip_verify: bool,
}

/// HTTP client settings of an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// `basic_auth` username and password.
    pub basic_auth: Option<(String, String)>,
    /// `authorization`: type (`Bearer` by default) and credentials.
    pub authorization: Option<(String, String)>,
    /// TLS.
    pub tls: TlsSettings,
    /// `follow_redirects` (true).
    pub follow_redirects: bool,
    /// `proxy_url`.
    pub proxy_url: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            basic_auth: None,
            authorization: None,
            tls: TlsSettings::default(),
            follow_redirects: true,
            proxy_url: None,
        }
    }
}

/// The protobuf message sent (`protobuf_message`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtobufMessage {
    /// `prometheus.WriteRequest` (Remote-Write 1.0).
    #[default]
    V1,
    /// `io.prometheus.write.v2.Request` (Remote-Write 2.0, interned symbols).
    V2,
}

/// One `remote_write` endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSettings {
    /// `protobuf_message`: Remote-Write 1.0 or 2.0.
    pub protobuf_message: ProtobufMessage,
    /// `name`; with `url` it identifies the endpoint (metrics label
    /// `remote_name`, position file).
    pub name: String,
    /// `url`.
    pub url: String,
    /// `remote_timeout` of each request (30s).
    pub remote_timeout: Duration,
    /// Extra `headers`.
    pub headers: Vec<(String, String)>,
    /// `global.external_labels`, added to series that lack them (before
    /// relabeling, as Prometheus does).
    pub external_labels: Labels,
    /// `write_relabel_configs`, applied once per series.
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// `queue_config`.
    pub queue: QueueSettings,
    /// HTTP client settings.
    pub http: HttpSettings,
}

impl WriteSettings {
    /// Settings with defaults for `url`.
    pub fn new(url: impl Into<String>) -> WriteSettings {
        WriteSettings {
            protobuf_message: ProtobufMessage::V1,
            name: String::new(),
            url: url.into(),
            remote_timeout: Duration::from_secs(30),
            headers: Vec::new(),
            external_labels: Labels::empty(),
            write_relabel_configs: Vec::new(),
            queue: QueueSettings::default(),
            http: HttpSettings::default(),
        }
    }

    /// The endpoint's identity: a hash of name and URL, used to name its
    /// position file (`<data>/remote/<key>.position`).
    pub fn key(&self) -> String {
        // FNV-1a, stable across releases and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.name.bytes().chain([0u8]).chain(self.url.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    /// The `remote_name` label: the name, or the key when unnamed (as
    /// Prometheus uses a hash of the config).
    pub fn remote_name(&self) -> String {
        if self.name.is_empty() {
            self.key()[..6].to_string()
        } else {
            self.name.clone()
        }
    }
}
