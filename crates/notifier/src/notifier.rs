//! The notification queue and its sender.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use promlite_model::{process, Labels, RelabelConfig};
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Alerts per request, as Prometheus' `maxBatchSize`.
pub const MAX_BATCH_SIZE: usize = 256;

/// One alert as Alertmanager's API v2 takes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alert {
    /// The alert's labels (`alertname` among them).
    pub labels: Labels,
    /// Its annotations.
    pub annotations: Labels,
    /// When it started firing.
    pub starts_at: Option<SystemTime>,
    /// When it resolved, or when it will be considered resolved if not resent.
    pub ends_at: Option<SystemTime>,
    /// A link back to the expression in Prometheus' UI.
    pub generator_url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    labels: std::collections::BTreeMap<String, String>,
    annotations: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    starts_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: String,
}

fn to_map(l: &Labels) -> std::collections::BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

impl Alert {
    fn wire(&self) -> WireAlert {
        WireAlert {
            labels: to_map(&self.labels),
            annotations: to_map(&self.annotations),
            starts_at: self.starts_at.map(promlite_model::format_rfc3339_millis),
            ends_at: self.ends_at.map(promlite_model::format_rfc3339_millis),
            generator_url: self.generator_url.clone(),
        }
    }
}

/// One `alertmanagers` entry: its endpoints and how to reach them.
#[derive(Debug, Clone)]
pub struct AlertmanagerSet {
    /// Base URLs (`scheme://host:port/path_prefix`).
    pub urls: Vec<String>,
    /// Base URLs of the targets `relabel_configs` dropped (listed as
    /// `droppedAlertmanagers`, never notified).
    pub dropped_urls: Vec<String>,
    /// Request timeout (`timeout`, 10s).
    pub timeout: Duration,
    /// `basic_auth` username and password.
    pub basic_auth: Option<(String, String)>,
    /// `authorization`: type and credentials.
    pub authorization: Option<(String, String)>,
    /// This set's `alert_relabel_configs`.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// The HTTP client (TLS settings applied by the caller).
    pub client: Option<reqwest::Client>,
}

impl AlertmanagerSet {
    /// A set of plain-HTTP endpoints with default settings.
    pub fn new(urls: Vec<String>) -> Self {
        AlertmanagerSet {
            urls,
            dropped_urls: Vec::new(),
            timeout: Duration::from_secs(10),
            basic_auth: None,
            authorization: None,
            alert_relabel_configs: Vec::new(),
            client: None,
        }
    }
}

/// Settings of the notifier.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// Queue capacity (`--alertmanager.notification-queue-capacity`, 10000).
    pub queue_capacity: usize,
    /// Labels added to every alert (`global.external_labels`).
    pub external_labels: Labels,
    /// `alerting.alert_relabel_configs`.
    pub alert_relabel_configs: Vec<RelabelConfig>,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue_capacity: 10_000,
            external_labels: Labels::empty(),
            alert_relabel_configs: Vec::new(),
        }
    }
}

/// Counters named after Prometheus' `prometheus_notifications_*` metrics.
#[derive(Debug, Default)]
pub struct NotifierMetrics {
    /// `prometheus_notifications_sent_total` (summed over Alertmanagers).
    pub sent: AtomicU64,
    /// `prometheus_notifications_errors_total`.
    pub errors: AtomicU64,
    /// `prometheus_notifications_dropped_total`.
    pub dropped: AtomicU64,
    /// `prometheus_notifications_queue_length`.
    pub queue_length: AtomicU64,
    /// `prometheus_notifications_alertmanagers_discovered`.
    pub alertmanagers_discovered: AtomicU64,
}

struct Shared {
    opts: Mutex<NotifierOptions>,
    queue: Mutex<VecDeque<Alert>>,
    sets: Mutex<Vec<AlertmanagerSet>>,
    more: Notify,
    metrics: NotifierMetrics,
    default_client: reqwest::Client,
}

/// The notifier: a bounded queue and a task sending batches. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    shared: Arc<Shared>,
    cancel: CancellationToken,
}

impl Notifier {
    /// Starts the sending task. Must be called inside a Tokio runtime.
    pub fn start(opts: NotifierOptions) -> Notifier {
        let shared = Arc::new(Shared {
            opts: Mutex::new(opts),
            queue: Mutex::new(VecDeque::new()),
            sets: Mutex::new(Vec::new()),
            more: Notify::new(),
            metrics: NotifierMetrics::default(),
            default_client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_default(),
        });
        let cancel = CancellationToken::new();
        tokio::spawn(run(shared.clone(), cancel.clone()));
        Notifier { shared, cancel }
    }

    /// Replaces the options (on a configuration reload).
    pub fn set_options(&self, opts: NotifierOptions) {
        *self.shared.opts.lock() = opts;
    }

    /// Replaces the Alertmanagers alerts go to.
    pub fn set_alertmanagers(&self, sets: Vec<AlertmanagerSet>) {
        let n: usize = sets.iter().map(|s| s.urls.len()).sum();
        self.shared
            .metrics
            .alertmanagers_discovered
            .store(n as u64, Ordering::Relaxed);
        *self.shared.sets.lock() = sets;
    }

    /// Queues alerts: external labels are added, then alert relabeling
    /// applies (an alert it drops is not sent). When the queue is full the
    /// oldest alerts are dropped.
    pub fn send(&self, alerts: Vec<Alert>) {
        let opts = self.shared.opts.lock().clone();
        let mut prepared = Vec::with_capacity(alerts.len());
        for mut a in alerts {
            if !opts.external_labels.is_empty() {
                let mut b = a.labels.builder();
                for l in opts.external_labels.iter() {
                    if !a.labels.has(l.name) {
                        b.set(l.name, l.value);
                    }
                }
                a.labels = b.labels();
            }
            match process(&a.labels, &opts.alert_relabel_configs) {
                Some(l) if !l.is_empty() => {
                    a.labels = l;
                    prepared.push(a);
                }
                _ => {}
            }
        }
        if prepared.is_empty() {
            return;
        }
        let mut q = self.shared.queue.lock();
        q.extend(prepared);
        let cap = opts.queue_capacity.max(1);
        if q.len() > cap {
            let over = q.len() - cap;
            q.drain(..over);
            self.shared
                .metrics
                .dropped
                .fetch_add(over as u64, Ordering::Relaxed);
            warn!(
                count = over,
                "alert notification queue full, dropping alerts"
            );
        }
        self.shared
            .metrics
            .queue_length
            .store(q.len() as u64, Ordering::Relaxed);
        drop(q);
        self.shared.more.notify_one();
    }

    /// The notifier's counters.
    pub fn metrics(&self) -> &NotifierMetrics {
        &self.shared.metrics
    }

    /// The Alertmanager URLs alerts are sent to (`/api/v1/alertmanagers`).
    pub fn alertmanager_urls(&self) -> Vec<String> {
        self.shared
            .sets
            .lock()
            .iter()
            .flat_map(|s| {
                s.urls
                    .iter()
                    .map(|u| format!("{}/api/v2/alerts", u.trim_end_matches('/')))
            })
            .collect()
    }

    /// The alert URLs of Alertmanagers dropped by relabeling
    /// (`droppedAlertmanagers` of `/api/v1/alertmanagers`).
    pub fn dropped_alertmanager_urls(&self) -> Vec<String> {
        self.shared
            .sets
            .lock()
            .iter()
            .flat_map(|s| {
                s.dropped_urls
                    .iter()
                    .map(|u| format!("{}/api/v2/alerts", u.trim_end_matches('/')))
            })
            .collect()
    }

    /// Stops the sending task (queued alerts are dropped).
    pub fn stop(&self) {
        self.cancel.cancel();
    }
}

async fn run(shared: Arc<Shared>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = shared.more.notified() => {}
        }
        loop {
            let batch: Vec<Alert> = {
                let mut q = shared.queue.lock();
                let n = q.len().min(MAX_BATCH_SIZE);
                let b = q.drain(..n).collect();
                shared
                    .metrics
                    .queue_length
                    .store(q.len() as u64, Ordering::Relaxed);
                b
            };
            if batch.is_empty() {
                break;
            }
            send_batch(&shared, &batch).await;
        }
    }
}

async fn send_batch(shared: &Shared, batch: &[Alert]) {
    let sets = shared.sets.lock().clone();
    if sets.is_empty() {
        shared
            .metrics
            .dropped
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        return;
    }
    for set in &sets {
        let alerts: Vec<WireAlert> = batch
            .iter()
            .filter_map(|a| {
                let labels = process(&a.labels, &set.alert_relabel_configs)?;
                let mut a = a.clone();
                a.labels = labels;
                Some(a.wire())
            })
            .collect();
        if alerts.is_empty() {
            continue;
        }
        let body = match serde_json::to_vec(&alerts) {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "encoding alerts failed");
                continue;
            }
        };
        let client = set
            .client
            .clone()
            .unwrap_or_else(|| shared.default_client.clone());
        for url in &set.urls {
            let url = format!("{}/api/v2/alerts", url.trim_end_matches('/'));
            let mut req = client
                .post(&url)
                .timeout(set.timeout)
                .header("Content-Type", "application/json")
                .header(
                    "User-Agent",
                    concat!("Prometheus/", env!("CARGO_PKG_VERSION")),
                )
                .body(body.clone());
            if let Some((u, p)) = &set.basic_auth {
                req = req.basic_auth(u, Some(p));
            }
            if let Some((kind, cred)) = &set.authorization {
                req = req.header("Authorization", format!("{kind} {cred}"));
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => {
                    shared
                        .metrics
                        .sent
                        .fetch_add(alerts.len() as u64, Ordering::Relaxed);
                    debug!(url = %url, count = alerts.len(), "alerts sent");
                }
                Ok(r) => {
                    shared
                        .metrics
                        .errors
                        .fetch_add(alerts.len() as u64, Ordering::Relaxed);
                    warn!(url = %url, status = %r.status(), "error sending alerts");
                }
                Err(e) => {
                    shared
                        .metrics
                        .errors
                        .fetch_add(alerts.len() as u64, Ordering::Relaxed);
                    warn!(url = %url, error = %e, "error sending alerts");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use promlite_model::{Action, RelabelRegex};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn alerts_reach_alertmanager_with_external_labels_and_relabeling() {
        let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let g = got.clone();
        let app = Router::new().route(
            "/prefix/api/v2/alerts",
            post(move |body: axum::Json<serde_json::Value>| {
                let g = g.clone();
                async move {
                    g.lock().push(body.0);
                    ""
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let n = Notifier::start(NotifierOptions {
            external_labels: Labels::from_pairs(&[("site", "a"), ("severity", "ignored")]),
            alert_relabel_configs: vec![RelabelConfig {
                source_labels: vec!["alertname".into()],
                regex: RelabelRegex::new("Drop.*").unwrap(),
                action: Action::Drop,
                ..RelabelConfig::default()
            }],
            ..NotifierOptions::default()
        });
        n.set_alertmanagers(vec![AlertmanagerSet::new(vec![format!(
            "http://{addr}/prefix"
        )])]);
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        n.send(vec![
            Alert {
                labels: Labels::from_pairs(&[("alertname", "High"), ("severity", "page")]),
                annotations: Labels::from_pairs(&[("summary", "it is high")]),
                starts_at: Some(start),
                ends_at: None,
                generator_url: "http://x/graph".into(),
            },
            Alert {
                labels: Labels::from_pairs(&[("alertname", "DropMe")]),
                ..Alert::default()
            },
        ]);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.lock().is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let bodies = got.lock().clone();
        assert_eq!(bodies.len(), 1);
        let alerts = bodies[0].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "the relabeled-away alert is not sent");
        assert_eq!(alerts[0]["labels"]["alertname"], "High");
        assert_eq!(alerts[0]["labels"]["site"], "a");
        assert_eq!(
            alerts[0]["labels"]["severity"], "page",
            "own labels win over external ones"
        );
        assert_eq!(alerts[0]["annotations"]["summary"], "it is high");
        assert_eq!(alerts[0]["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(alerts[0]["generatorURL"], "http://x/graph");
        assert_eq!(n.metrics().sent.load(Ordering::Relaxed), 1);
        n.stop();
        server.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_drops_the_oldest_and_counts_them() {
        let n = Notifier::start(NotifierOptions {
            queue_capacity: 3,
            ..NotifierOptions::default()
        });
        n.stop();
        let a = |i: usize| Alert {
            labels: Labels::from_pairs(&[("alertname", format!("a{i}").as_str())]),
            ..Alert::default()
        };
        n.send((0..5).map(a).collect());
        assert_eq!(n.metrics().dropped.load(Ordering::Relaxed), 2);
        assert_eq!(n.metrics().queue_length.load(Ordering::Relaxed), 3);
    }
}
