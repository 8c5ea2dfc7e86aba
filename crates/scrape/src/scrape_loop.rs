//! The scrape loop of one target (Prometheus' `scrapeLoop`).
//!
//! Every interval, at a phase fixed by the target's hash: fetch the body,
//! parse it, relabel and append its samples in one appender, commit or roll
//! back, then append the report series (`up`, `scrape_duration_seconds`,
//! ...). Series that were in the previous scrape but not in this one get a
//! staleness marker; a failed scrape counts as an empty one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promlite_model::{Labels, LabelsBuilder, METRIC_NAME, STALE_NAN};
use promlite_storage::{Appendable, Appender, SeriesRef};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::body::decode_body;
use crate::error::{ContentTypeError, LimitError, ParseError};
use crate::format::{accept_header, negotiate_format, Format};
use crate::parser::{Entry, Parser};
use crate::sample_labels::{check_sample_limit, mutate_sample_labels, verify_label_limits};
use crate::target::{Health, MetricMetadata, ScrapeSettings, ScrapeStatus, Target};

/// Why a scrape failed; the message is what `/api/v1/targets` shows as `lastError`.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The target answered with a non-2xx status.
    #[error("server returned HTTP status {0}")]
    HttpStatus(String),
    /// The request could not be made or its body not read.
    #[error("{0}")]
    Fetch(String),
    /// The scrape took longer than `scrape_timeout`.
    #[error("context deadline exceeded")]
    Timeout,
    /// The body exceeded `body_size_limit`.
    #[error("body size limit exceeded")]
    BodyTooLarge,
    /// The body could not be decompressed.
    #[error("{0}")]
    Body(crate::Error),
    /// The Content-Type is not one we can parse.
    #[error(transparent)]
    ContentType(#[from] ContentTypeError),
    /// The body is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// More samples than `sample_limit`, or a label limit.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The storage failed (disk full, closed).
    #[error("storage: {0}")]
    Storage(#[from] promlite_storage::Error),
}

struct CacheEntry {
    series_ref: Option<SeriesRef>,
    labels: Labels,
    /// The scrape iteration that last saw the series.
    last_iter: u64,
    /// The iteration that first saw it.
    first_iter: u64,
}

/// Per-target state carried from one scrape to the next.
#[derive(Default)]
pub struct ScrapeCache {
    /// Parsed series text → storage reference and final labels.
    series: HashMap<String, CacheEntry>,
    /// Series text dropped by metric relabeling.
    dropped: HashMap<String, u64>,
    /// Report series references.
    report: HashMap<&'static str, SeriesRef>,
    iter: u64,
}

/// What one scrape appended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendStats {
    /// Samples in the body.
    pub scraped: usize,
    /// Samples left after metric relabeling.
    pub post_relabel: usize,
    /// Series not in the previous scrape's cache.
    pub added: usize,
    /// Samples the storage rejected as out of order, duplicate or too old.
    pub rejected: usize,
}

fn add_metadata(
    meta: &mut HashMap<String, MetricMetadata>,
    name: &str,
    f: impl FnOnce(&mut MetricMetadata),
) {
    let m = meta
        .entry(name.to_string())
        .or_insert_with(|| MetricMetadata {
            metric_type: "unknown".into(),
            ..MetricMetadata::default()
        });
    f(m);
}

/// Parses `body` and appends its samples, plus staleness markers for series
/// of the previous scrape that are gone. Returns statistics, or an error
/// after which the caller rolls back. The caller commits.
#[allow(clippy::too_many_arguments)]
pub fn append_body(
    app: &mut dyn Appender,
    cache: &mut ScrapeCache,
    target_labels: &Labels,
    cfg: &ScrapeSettings,
    body: &[u8],
    format: Format,
    ts: i64,
    metadata: &mut HashMap<String, MetricMetadata>,
) -> Result<AppendStats, ScrapeError> {
    cache.iter += 1;
    let iter = cache.iter;
    let mut stats = AppendStats::default();
    let mut lb = LabelsBuilder::new();
    for entry in Parser::new(body, format) {
        let s = match entry? {
            Entry::Series(s) => s,
            Entry::Help { name, help } => {
                add_metadata(metadata, &name, |m| m.help = help.into_owned());
                continue;
            }
            Entry::Type { name, metric_type } => {
                add_metadata(metadata, &name, |m| {
                    m.metric_type = metric_type.as_str().into()
                });
                continue;
            }
            Entry::Unit { name, unit } => {
                add_metadata(metadata, &name, |m| m.unit = unit.into_owned());
                continue;
            }
            Entry::Comment(_) => continue,
        };
        stats.scraped += 1;
        let key = s.text();
        if let Some(seen) = cache.dropped.get_mut(key) {
            *seen = iter;
            continue;
        }
        let t = match (cfg.honor_timestamps, s.timestamp) {
            (true, Some(t)) => t,
            _ => ts,
        };
        let entry = match cache.series.get_mut(key) {
            Some(e) => e,
            None => {
                s.write_labels(&mut lb);
                let scraped = lb.labels();
                let Some(l) = mutate_sample_labels(
                    &scraped,
                    target_labels,
                    cfg.honor_labels,
                    &cfg.metric_relabel_configs,
                ) else {
                    cache.dropped.insert(key.to_string(), iter);
                    continue;
                };
                verify_label_limits(&l, &cfg.label_limits)?;
                stats.added += 1;
                cache.series.entry(key.to_string()).or_insert(CacheEntry {
                    series_ref: None,
                    labels: l,
                    last_iter: 0,
                    first_iter: iter,
                })
            }
        };
        if entry.last_iter == iter {
            // The same series twice in one body: Prometheus rejects the
            // second sample as a duplicate; skip it.
            stats.rejected += 1;
            continue;
        }
        entry.last_iter = iter;
        stats.post_relabel += 1;
        match app.append(entry.series_ref, &entry.labels, t, s.value) {
            Ok(r) => entry.series_ref = Some(r),
            Err(e) if e.is_sample_rejection() => stats.rejected += 1,
            Err(e) => return Err(e.into()),
        }
    }
    check_sample_limit(stats.post_relabel, cfg.sample_limit)?;
    append_staleness(app, cache, ts)?;
    Ok(stats)
}

/// Marks series seen in the previous scrape but not in this one as stale,
/// then forgets them (Prometheus' scrape cache `iterDone`).
fn append_staleness(
    app: &mut dyn Appender,
    cache: &mut ScrapeCache,
    ts: i64,
) -> Result<(), promlite_storage::Error> {
    let iter = cache.iter;
    for e in cache.series.values_mut() {
        if e.last_iter + 1 == iter {
            match app.append(e.series_ref, &e.labels, ts, STALE_NAN) {
                Ok(r) => e.series_ref = Some(r),
                Err(err) if err.is_sample_rejection() => {}
                Err(err) => return Err(err),
            }
        }
    }
    cache.series.retain(|_, e| e.last_iter == iter);
    cache.dropped.retain(|_, seen| *seen == iter);
    Ok(())
}

impl ScrapeCache {
    /// Undoes what a failed iteration recorded: series it saw first are
    /// forgotten (nothing of them was committed), the others count as last
    /// seen in the previous iteration, so that the staleness pass that
    /// follows marks every series of the last good scrape.
    fn revert_failed_iteration(&mut self) {
        let iter = self.iter;
        self.series.retain(|_, e| e.first_iter != iter);
        for e in self.series.values_mut() {
            if e.last_iter == iter {
                e.last_iter = iter - 1;
            }
        }
    }
}

/// The report series of a scrape.
const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

fn append_report(
    app: &mut dyn Appender,
    cache: &mut ScrapeCache,
    target_labels: &Labels,
    ts: i64,
    values: [f64; 5],
) -> Result<(), promlite_storage::Error> {
    for (name, v) in REPORT_NAMES.iter().zip(values) {
        let mut lb = target_labels.builder();
        lb.set(METRIC_NAME, name);
        let l = lb.labels();
        let r = cache.report.get(name).copied();
        match app.append(r, &l, ts, v) {
            Ok(r) => {
                cache.report.insert(name, r);
            }
            Err(e) if e.is_sample_rejection() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One target's scrape loop.
pub struct ScrapeLoop {
    target: Arc<Target>,
    cfg: Arc<ScrapeSettings>,
    client: reqwest::Client,
    appendable: Arc<dyn Appendable>,
    cache: ScrapeCache,
    target_labels: Labels,
    intervals: Option<Arc<crate::interval::IntervalStats>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Prometheus aligns a scrape's timestamp to the schedule when it is within
/// this much of it (`--scrape.timestamp-tolerance`), which keeps chunks small.
const TIMESTAMP_TOLERANCE_MS: i64 = 2;

impl ScrapeLoop {
    /// A loop scraping `target` with `client` into `appendable`.
    pub fn new(
        target: Arc<Target>,
        cfg: Arc<ScrapeSettings>,
        client: reqwest::Client,
        appendable: Arc<dyn Appendable>,
    ) -> Self {
        let target_labels = target.labels();
        ScrapeLoop {
            target,
            cfg,
            client,
            appendable,
            cache: ScrapeCache::default(),
            target_labels,
            intervals: None,
        }
    }

    /// Records the actual time between scrapes in `stats`.
    pub fn with_interval_stats(mut self, stats: Arc<crate::interval::IntervalStats>) -> Self {
        self.intervals = Some(stats);
        self
    }

    async fn fetch(&self) -> Result<(Vec<u8>, String), ScrapeError> {
        let mut req = self
            .client
            .get(self.target.url())
            .header(
                "Accept",
                accept_header(&self.cfg.scrape_protocols, "underscores"),
            )
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", self.target.timeout().as_secs_f64()),
            )
            .header(
                "User-Agent",
                concat!("Prometheus/", env!("CARGO_PKG_VERSION")),
            );
        if self.cfg.enable_compression {
            req = req.header("Accept-Encoding", "gzip");
        } else {
            req = req.header("Accept-Encoding", "identity");
        }
        if let Some((u, p)) = &self.cfg.http.basic_auth {
            req = req.basic_auth(u, Some(p));
        }
        if let Some((kind, cred)) = &self.cfg.http.authorization {
            req = req.header("Authorization", format!("{kind} {cred}"));
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| ScrapeError::Fetch(error_chain(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ScrapeError::HttpStatus(format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )));
        }
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let encoding = header("content-encoding");
        let limit = self.cfg.body_size_limit;
        let mut raw = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ScrapeError::Fetch(error_chain(&e)))?
        {
            raw.extend_from_slice(&chunk);
            if limit > 0 && raw.len() >= limit {
                return Err(ScrapeError::BodyTooLarge);
            }
        }
        let body = decode_body(&raw, encoding.as_deref(), limit).map_err(|e| match e {
            crate::Error::BodySizeLimitExceeded => ScrapeError::BodyTooLarge,
            other => ScrapeError::Body(other),
        })?;
        Ok((body, content_type))
    }

    /// Scrapes once at `ts` and records the result; returns the error, if any.
    pub async fn scrape_once(&mut self, ts: i64) -> Option<String> {
        let start = Instant::now();
        let fetched = tokio::time::timeout(self.target.timeout(), self.fetch())
            .await
            .unwrap_or(Err(ScrapeError::Timeout));
        let mut metadata = self.target.metadata();
        let mut app = self.appendable.appender();
        let iter_before = self.cache.iter;
        let result = fetched.and_then(|(body, ct)| {
            let (format, _) = negotiate_format(&ct, self.cfg.fallback_protocol)?;
            append_body(
                app.as_mut(),
                &mut self.cache,
                &self.target_labels,
                &self.cfg,
                &body,
                format,
                ts,
                &mut metadata,
            )
        });
        let (stats, err) = match result {
            Ok(stats) => match app.commit() {
                Ok(()) => (stats, None),
                Err(e) => (AppendStats::default(), Some(ScrapeError::Storage(e))),
            },
            Err(e) => {
                let _ = app.rollback();
                (AppendStats::default(), Some(e))
            }
        };
        // A failed scrape is an empty one: everything seen last time is stale.
        let mut app = self.appendable.appender();
        if err.is_some() {
            if self.cache.iter != iter_before {
                // append_body ran (and counted an iteration): undo it.
                self.cache.revert_failed_iteration();
            } else {
                self.cache.iter += 1;
            }
            if let Err(e) = append_staleness(app.as_mut(), &mut self.cache, ts) {
                debug!(error = %e, "appending staleness markers failed");
            }
        }
        let duration = start.elapsed();
        let up = if err.is_none() { 1.0 } else { 0.0 };
        let values = [
            up,
            duration.as_secs_f64(),
            stats.scraped as f64,
            stats.post_relabel as f64,
            stats.added as f64,
        ];
        let report_err = append_report(
            app.as_mut(),
            &mut self.cache,
            &self.target_labels,
            ts,
            values,
        )
        .and_then(|_| app.commit());
        if let Err(e) = report_err {
            debug!(error = %e, "appending the scrape report failed");
        }
        if err.is_none() {
            self.target.set_metadata(metadata);
        }
        let msg = err.map(|e| e.to_string());
        self.target.set_status(ScrapeStatus {
            health: if msg.is_none() {
                Health::Up
            } else {
                Health::Down
            },
            last_error: msg.clone().unwrap_or_default(),
            last_scrape: Some(SystemTime::now() - duration),
            last_duration: duration,
            last_samples: stats.post_relabel,
        });
        msg
    }

    /// Runs until `cancel` fires, scraping every interval at the target's
    /// phase. When `cancel` fires with `stale_on_stop`, every series of the
    /// last scrape (report series included) gets a staleness marker.
    pub async fn run(
        mut self,
        seed: u64,
        cancel: CancellationToken,
        stale_on_stop: Arc<std::sync::atomic::AtomicBool>,
    ) {
        let interval = self.target.interval();
        let now_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let first = self.target.offset(now_nanos, seed);
        let start = tokio::time::Instant::now() + first;
        let mut ticker = tokio::time::interval_at(start, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut expected = now_ms() + first.as_millis() as i64;
        let mut last_start: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let started = Instant::now();
            if let (Some(prev), Some(stats)) = (last_start, &self.intervals) {
                stats.observe(interval, started - prev);
            }
            last_start = Some(started);
            let now = now_ms();
            // Keep the schedule's timestamps when the tick is on time.
            while expected + (interval.as_millis() as i64) <= now + TIMESTAMP_TOLERANCE_MS {
                expected += interval.as_millis() as i64;
            }
            let ts = if (now - expected).abs() <= TIMESTAMP_TOLERANCE_MS {
                expected
            } else {
                now
            };
            if let Some(e) = self.scrape_once(ts).await {
                debug!(target = %self.target.url(), error = %e, "scrape failed");
            }
        }
        if stale_on_stop.load(std::sync::atomic::Ordering::Acquire) {
            self.mark_all_stale(now_ms());
        }
    }

    /// Appends staleness markers for every series of the last scrape and the
    /// report series (the target went away).
    pub fn mark_all_stale(&mut self, ts: i64) {
        let mut app = self.appendable.appender();
        for e in self.cache.series.values() {
            let _ = app.append(e.series_ref, &e.labels, ts, STALE_NAN);
        }
        for name in REPORT_NAMES {
            let mut lb = self.target_labels.builder();
            lb.set(METRIC_NAME, name);
            let r = self.cache.report.get(name).copied();
            let _ = app.append(r, &lb.labels(), ts, STALE_NAN);
        }
        if let Err(e) = app.commit() {
            debug!(error = %e, "appending end-of-run staleness markers failed");
        }
        self.cache = ScrapeCache::default();
    }
}

/// The error and its causes, joined like Go's wrapped errors.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Builds the HTTP client of a scrape job.
pub fn build_client(cfg: &ScrapeSettings) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .redirect(if cfg.http.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        })
        .pool_idle_timeout(Duration::from_secs(300));
    if let Some(ca) = &cfg.http.tls.ca_pem {
        for cert in
            reqwest::Certificate::from_pem_bundle(ca).map_err(|e| format!("tls_config ca: {e}"))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    if let Some(id) = &cfg.http.tls.identity_pem {
        b = b.identity(
            reqwest::Identity::from_pem(id).map_err(|e| format!("tls_config cert/key: {e}"))?,
        );
    }
    if cfg.http.tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    match &cfg.http.proxy_url {
        Some(p) => {
            b = b.proxy(reqwest::Proxy::all(p).map_err(|e| format!("proxy_url: {e}"))?);
        }
        None => b = b.no_proxy(),
    }
    b.build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::{is_stale_nan, Action, MatchType, Matcher, RelabelConfig, RelabelRegex};
    use promlite_storage::{Queryable, ValueType};
    use promlite_tsdb::{Db, DbOptions};

    fn target_labels() -> Labels {
        Labels::from_pairs(&[("job", "app"), ("instance", "h:1")])
    }

    fn scrape(
        db: &Db,
        cache: &mut ScrapeCache,
        cfg: &ScrapeSettings,
        body: &str,
        ts: i64,
    ) -> Result<AppendStats, ScrapeError> {
        let mut app = db.appender();
        let mut meta = HashMap::new();
        let r = append_body(
            app.as_mut(),
            cache,
            &target_labels(),
            cfg,
            body.as_bytes(),
            Format::PrometheusText,
            ts,
            &mut meta,
        );
        match &r {
            Ok(_) => app.commit().unwrap(),
            Err(_) => app.rollback().unwrap(),
        }
        r
    }

    fn samples(db: &Db, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        q.select(
            true,
            None,
            &[Matcher::new(MatchType::Regex, "__name__", name).unwrap()],
        )
        .unwrap()
        .map(|s| {
            let s = s.unwrap();
            let mut it = s.iterator();
            let mut v = vec![];
            while it.next() == ValueType::Float {
                v.push(it.at());
            }
            (s.labels().clone(), v)
        })
        .collect()
    }

    #[test]
    fn samples_get_target_labels_and_vanished_series_go_stale() {
        let db = Db::open_in_memory(DbOptions::default());
        let cfg = ScrapeSettings::new("app");
        let mut cache = ScrapeCache::default();
        let st = scrape(&db, &mut cache, &cfg, "a 1\nb{x=\"y\"} 2\n", 1000).unwrap();
        assert_eq!((st.scraped, st.post_relabel, st.added), (2, 2, 2));
        let st = scrape(&db, &mut cache, &cfg, "a 3\n", 2000).unwrap();
        assert_eq!((st.scraped, st.added), (1, 0));
        let got = samples(&db, "a|b");
        assert_eq!(
            got[0].0.to_string(),
            r#"{__name__="a", instance="h:1", job="app"}"#
        );
        assert_eq!(got[0].1, vec![(1000, 1.0), (2000, 3.0)]);
        assert_eq!(
            got[1].0.to_string(),
            r#"{__name__="b", instance="h:1", job="app", x="y"}"#
        );
        assert_eq!(got[1].1.len(), 2);
        assert!(is_stale_nan(got[1].1[1].1));
        assert_eq!(got[1].1[1].0, 2000);
        // Once marked stale, the series is forgotten: no second marker.
        scrape(&db, &mut cache, &cfg, "a 4\n", 3000).unwrap();
        assert_eq!(samples(&db, "b")[0].1.len(), 2);
    }

    #[test]
    fn honor_labels_and_timestamps() {
        let db = Db::open_in_memory(DbOptions::default());
        let mut cfg = ScrapeSettings::new("app");
        let mut cache = ScrapeCache::default();
        scrape(&db, &mut cache, &cfg, "m{job=\"other\"} 1 500\n", 1000).unwrap();
        let got = samples(&db, "m");
        assert_eq!(
            got[0].0.to_string(),
            r#"{__name__="m", exported_job="other", instance="h:1", job="app"}"#
        );
        assert_eq!(got[0].1, vec![(500, 1.0)]);
        cfg.honor_labels = true;
        cfg.honor_timestamps = false;
        let mut cache = ScrapeCache::default();
        scrape(&db, &mut cache, &cfg, "n{job=\"other\"} 1 500\n", 1000).unwrap();
        let got = samples(&db, "n");
        assert_eq!(
            got[0].0.to_string(),
            r#"{__name__="n", instance="h:1", job="other"}"#
        );
        assert_eq!(got[0].1, vec![(1000, 1.0)]);
    }

    #[test]
    fn metric_relabeling_drops_series_and_limits_fail_the_scrape() {
        let db = Db::open_in_memory(DbOptions::default());
        let mut cfg = ScrapeSettings::new("app");
        cfg.metric_relabel_configs = vec![RelabelConfig {
            source_labels: vec!["__name__".into()],
            regex: RelabelRegex::new("go_.*").unwrap(),
            action: Action::Drop,
            ..RelabelConfig::default()
        }];
        let mut cache = ScrapeCache::default();
        let st = scrape(&db, &mut cache, &cfg, "go_gc 1\nkeep 2\n", 1000).unwrap();
        assert_eq!((st.scraped, st.post_relabel), (2, 1));
        assert!(samples(&db, "go_gc").is_empty());
        cfg.sample_limit = 1;
        let mut cache = ScrapeCache::default();
        let err = scrape(&db, &mut cache, &cfg, "x 1\ny 2\n", 2000).unwrap_err();
        assert!(err.to_string().contains("sample limit"), "{err}");
        assert!(
            samples(&db, "x|y").is_empty(),
            "a failed scrape stores nothing"
        );
    }

    #[test]
    fn malformed_body_names_the_line_and_stores_nothing() {
        let db = Db::open_in_memory(DbOptions::default());
        let cfg = ScrapeSettings::new("app");
        let mut cache = ScrapeCache::default();
        let err = scrape(&db, &mut cache, &cfg, "ok 1\nbad{ 2\n", 1000).unwrap_err();
        assert!(
            err.to_string().contains("line 2") || err.to_string().contains(":2"),
            "{err}"
        );
        assert!(samples(&db, "ok").is_empty());
    }
}
