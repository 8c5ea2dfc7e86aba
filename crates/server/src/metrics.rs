//! Self-monitoring at `/metrics`, in Prometheus' own metric names so that
//! existing Prometheus dashboards work.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use promlite_scrape::ScrapeManager;
use promlite_tsdb::Db;

/// Server-level counters that are not kept by a library crate.
#[derive(Debug, Default)]
pub(crate) struct ServerMetrics {
    /// 1 when the last configuration reload succeeded.
    pub(crate) reload_success: AtomicU64,
    /// Unix seconds of the last successful reload.
    pub(crate) reload_success_ts: AtomicI64,
    /// Unix seconds when the process started.
    pub(crate) start_ts: AtomicI64,
    /// The remote-write sender's metrics, per endpoint.
    pub(crate) remote: parking_lot::Mutex<Vec<std::sync::Arc<promlite_remote::RemoteMetrics>>>,
    /// HTTP requests by (handler, status code).
    pub(crate) http_requests: parking_lot::Mutex<std::collections::BTreeMap<(String, u16), u64>>,
}

/// Middleware counting requests as `prometheus_http_requests_total{code, handler}`,
/// the handler being the matched route pattern.
pub(crate) async fn count_requests(
    app: std::sync::Arc<crate::server::App>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let handler = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".to_string());
    let resp = next.run(req).await;
    let code = resp.status().as_u16();
    *app.metrics
        .http_requests
        .lock()
        .entry((handler, code))
        .or_default() += 1;
    resp
}

pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &str, v: f64) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {}", fmt(v));
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {}", fmt(v));
        }
    }
    fn one(&mut self, name: &str, kind: &str, help: &str, v: f64) {
        self.family(name, kind, help);
        self.sample(name, "", v);
    }
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Reads `/proc/self/stat` for CPU seconds and resident memory (Linux).
fn process_stats() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state(0) ... utime(11) stime(12) ... rss(21).
    let ticks = 100.0;
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    let rss_pages: f64 = f.get(21)?.parse().ok()?;
    Some(((utime + stime) / ticks, rss_pages * 4096.0))
}

/// Renders every metric in the text exposition format 0.0.4.
pub(crate) fn render(
    db: &Db,
    scrape: &ScrapeManager,
    notifier: &promlite_notifier::Notifier,
    rules: &promlite_rules::RuleManager,
    m: &ServerMetrics,
) -> String {
    let mut o = Out(String::with_capacity(8192));
    let h = db.head();
    let hm = h.metrics();
    let dm = db.metrics();
    let ld = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
    let mut simple: Vec<(&str, &str, &str, f64)> = vec![
        ("prometheus_build_info", "gauge", "A metric with a constant '1' value labeled by version, revision, branch, goversion from which prometheus was built, and the goos and goarch for the build.", 1.0),
        ("prometheus_config_last_reload_successful", "gauge", "Whether the last configuration reload attempt was successful.", ld(&m.reload_success)),
        ("prometheus_config_last_reload_success_timestamp_seconds", "gauge", "Timestamp of the last successful configuration reload.", m.reload_success_ts.load(Ordering::Relaxed) as f64),
        ("prometheus_ready", "gauge", "Whether Prometheus startup was fully completed and the server is ready for normal operation.", 1.0),
        ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", m.start_ts.load(Ordering::Relaxed) as f64),
        ("prometheus_tsdb_head_series", "gauge", "Total number of series in the head block.", h.num_series() as f64),
        ("prometheus_tsdb_head_samples_appended_total", "counter", "Total number of appended samples.", ld(&hm.samples_appended)),
        ("prometheus_tsdb_head_series_created_total", "counter", "Total number of series created in the head", ld(&hm.series_created)),
        ("prometheus_tsdb_head_series_removed_total", "counter", "Total number of series removed in the head", ld(&hm.series_removed)),
        ("prometheus_tsdb_head_truncations_total", "counter", "Total number of head truncations attempted.", ld(&hm.truncations)),
        ("prometheus_tsdb_head_min_time", "gauge", "Minimum time bound of the head block.", h.min_time().unwrap_or(0) as f64),
        ("prometheus_tsdb_head_max_time", "gauge", "Maximum timestamp of the head block.", h.max_time().unwrap_or(0) as f64),
        ("prometheus_tsdb_out_of_order_samples_total", "counter", "Total number of out of order samples ingestion failed attempts.", ld(&hm.out_of_order_samples)),
        ("prometheus_tsdb_out_of_bound_samples_total", "counter", "Total number of out of bound samples ingestion failed attempts.", ld(&hm.out_of_bound_samples)),
        ("prometheus_tsdb_wal_writes_failed_total", "counter", "Total number of write log writes that failed.", ld(&hm.wal_write_failures)),
        ("prometheus_tsdb_blocks_loaded", "gauge", "Number of currently loaded data blocks", db.blocks().len() as f64),
        ("prometheus_tsdb_compactions_total", "counter", "Total number of compactions that were executed for the partition.", ld(&dm.compactions)),
        ("prometheus_tsdb_compactions_failed_total", "counter", "Total number of compactions that failed for the partition.", ld(&dm.compactions_failed)),
        ("prometheus_tsdb_reloads_total", "counter", "Number of times the database reloaded block data from disk.", ld(&dm.reloads)),
        ("prometheus_tsdb_time_retentions_total", "counter", "The number of times that blocks were deleted because the maximum time limit was exceeded.", ld(&dm.time_retentions)),
        ("prometheus_tsdb_size_retentions_total", "counter", "The number of times that blocks were deleted because the maximum number of bytes was exceeded.", ld(&dm.size_retentions)),
        ("prometheus_tsdb_storage_blocks_bytes", "gauge", "The number of bytes that are currently used for local storage by all blocks.", db.blocks_size() as f64),
        ("prometheus_tsdb_lowest_timestamp", "gauge", "Lowest timestamp value stored in the database. The unit is decided by the library consumer.", db.min_time().unwrap_or(0) as f64),
    ];
    if let Some((cpu, rss)) = process_stats() {
        simple.push((
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            cpu,
        ));
        simple.push((
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            rss,
        ));
    }
    for (name, kind, help, v) in simple {
        o.one(name, kind, help, v);
    }
    let targets = scrape.active_targets();
    o.family(
        "prometheus_target_scrape_pool_targets",
        "gauge",
        "Current number of targets in this scrape pool.",
    );
    let mut per_job: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for t in &targets {
        *per_job.entry(t.job().to_string()).or_default() += 1;
    }
    for (job, n) in &per_job {
        o.sample(
            "prometheus_target_scrape_pool_targets",
            &format!("scrape_job={job:?}"),
            *n as f64,
        );
    }
    o.family(
        "prometheus_target_interval_length_seconds",
        "summary",
        "Actual intervals between scrapes.",
    );
    for st in scrape.interval_stats() {
        let iv = promlite_model::format_duration(st.interval.as_millis() as i64);
        for (q, v) in &st.quantiles {
            o.sample(
                "prometheus_target_interval_length_seconds",
                &format!("interval=\"{iv}\",quantile=\"{q}\""),
                *v,
            );
        }
        o.sample(
            "prometheus_target_interval_length_seconds_sum",
            &format!("interval=\"{iv}\""),
            st.sum,
        );
        o.sample(
            "prometheus_target_interval_length_seconds_count",
            &format!("interval=\"{iv}\""),
            st.count as f64,
        );
    }
    let nm = notifier.metrics();
    let nmetrics: [(&str, &str, &str, f64); 6] = [
        (
            "prometheus_notifications_queue_capacity",
            "gauge",
            "The capacity of the alert notifications queue.",
            10_000.0,
        ),
        (
            "prometheus_notifications_queue_length",
            "gauge",
            "The number of alert notifications in the queue.",
            ld(&nm.queue_length),
        ),
        (
            "prometheus_notifications_dropped_total",
            "counter",
            "Total number of alerts dropped due to errors when sending to Alertmanager.",
            ld(&nm.dropped),
        ),
        (
            "prometheus_notifications_alertmanagers_discovered",
            "gauge",
            "The number of alertmanagers discovered and active.",
            ld(&nm.alertmanagers_discovered),
        ),
        (
            "prometheus_notifications_sent_total",
            "counter",
            "Total number of alerts sent.",
            ld(&nm.sent),
        ),
        (
            "prometheus_notifications_errors_total",
            "counter",
            "Total number of sent alerts affected by errors.",
            ld(&nm.errors),
        ),
    ];
    for (name, kind, help, v) in nmetrics {
        o.one(name, kind, help, v);
    }
    let groups = rules.groups();
    let gauges: [(&str, &str); 4] = [
        (
            "prometheus_rule_group_last_evaluation_timestamp_seconds",
            "The timestamp of the last rule group evaluation in seconds.",
        ),
        (
            "prometheus_rule_group_last_duration_seconds",
            "The duration of the last rule group evaluation.",
        ),
        (
            "prometheus_rule_group_interval_seconds",
            "The interval of a rule group.",
        ),
        ("prometheus_rule_group_rules", "The number of rules."),
    ];
    for (k, (name, help)) in gauges.iter().enumerate() {
        o.family(name, "gauge", help);
        for g in &groups {
            let g = g.lock();
            let label = format!(
                "rule_group={:?}",
                format!("{};{}", g.file().display(), g.name())
            );
            let v = match k {
                0 => g.last_evaluation_ms() as f64 / 1000.0,
                1 => g.evaluation_duration().as_secs_f64(),
                2 => g.interval_ms() as f64 / 1000.0,
                _ => g.rules().len() as f64,
            };
            o.sample(name, &label, v);
        }
    }
    let remotes = m.remote.lock().clone();
    let mut by_name: std::collections::BTreeMap<&'static str, Vec<(String, f64)>> =
        std::collections::BTreeMap::new();
    for r in &remotes {
        let labels = format!("remote_name={:?},url={:?}", r.remote_name, r.url);
        for (name, v) in r.samples() {
            by_name.entry(name).or_default().push((labels.clone(), v));
        }
    }
    for (name, rows) in by_name {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        o.family(name, kind, "Remote-write sender metric.");
        for (labels, v) in rows {
            o.sample(name, &labels, v);
        }
    }
    o.family(
        "prometheus_http_requests_total",
        "counter",
        "Counter of HTTP requests.",
    );
    for ((handler, code), n) in m.http_requests.lock().iter() {
        o.sample(
            "prometheus_http_requests_total",
            &format!("code=\"{code}\",handler={handler:?}"),
            *n as f64,
        );
    }
    o.0
}
