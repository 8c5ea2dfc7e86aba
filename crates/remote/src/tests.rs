//! Sender tests against a fake receiver on loopback.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use promlite_model::{Action, Labels, RelabelConfig, RelabelRegex};
use promlite_storage::Appendable;
use promlite_tsdb::{Db, DbOptions};
use prost::Message;
use tokio_util::sync::CancellationToken;

use promlite_prompb::write::WriteRequest;
use promlite_prompb::write_v2::WriteRequestV2;

use crate::{position, Error, ProtobufMessage, RemoteWriter, WriteSettings};

/// What the fake receiver got and how it answers.
#[derive(Default)]
pub(crate) struct Recv {
    /// Series (rendered labels) → samples in arrival order.
    pub(crate) series: Mutex<BTreeMap<String, Vec<(i64, f64)>>>,
    /// Remote-Write 2.0 only: series → `(timestamp, start_timestamp)` of
    /// its samples in arrival order.
    pub(crate) start_timestamps: Mutex<BTreeMap<String, Vec<(i64, i64)>>>,
    /// Remote-Write 2.0 requests received (also counted in `requests`).
    pub(crate) v2_requests: AtomicU64,
    /// Statuses returned (one per request) before accepting again.
    pub(crate) script: Mutex<VecDeque<u16>>,
    /// While set, every request gets this status.
    pub(crate) fail: AtomicU16,
    pub(crate) requests: AtomicU64,
    pub(crate) bad_headers: AtomicBool,
    pub(crate) times: Mutex<Vec<Instant>>,
    pub(crate) delay_ms: AtomicU64,
}

impl Recv {
    pub(crate) fn total(&self) -> usize {
        self.series.lock().values().map(Vec::len).sum()
    }
}

async fn handle(State(r): State<Arc<Recv>>, h: HeaderMap, body: Bytes) -> StatusCode {
    r.requests.fetch_add(1, Ordering::Relaxed);
    r.times.lock().push(Instant::now());
    let hv = |k: &str| {
        h.get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let v2 = hv("content-type") == "application/x-protobuf;proto=io.prometheus.write.v2.Request";
    let version = if v2 { "2.0.0" } else { "0.1.0" };
    if hv("content-encoding") != "snappy"
        || !(v2 || hv("content-type") == "application/x-protobuf")
        || hv("x-prometheus-remote-write-version") != version
        || !hv("user-agent").starts_with("Prometheus/")
    {
        r.bad_headers.store(true, Ordering::Relaxed);
    }
    let d = r.delay_ms.load(Ordering::Relaxed);
    if d > 0 {
        tokio::time::sleep(Duration::from_millis(d)).await;
    }
    let fail = r.fail.load(Ordering::Relaxed);
    if fail != 0 {
        return StatusCode::from_u16(fail).unwrap();
    }
    if let Some(s) = r.script.lock().pop_front() {
        return StatusCode::from_u16(s).unwrap();
    }
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    if v2 {
        r.v2_requests.fetch_add(1, Ordering::Relaxed);
        let req = WriteRequestV2::decode(raw.as_slice()).unwrap();
        let mut series = r.series.lock();
        let mut starts = r.start_timestamps.lock();
        for ts in req.timeseries {
            let sym = |i: u32| req.symbols[i as usize].as_str();
            let name = ts
                .labels_refs
                .chunks(2)
                .map(|p| format!("{}={}", sym(p[0]), sym(p[1])))
                .collect::<Vec<_>>()
                .join(",");
            let v = series.entry(name.clone()).or_default();
            v.extend(ts.samples.iter().map(|s| (s.timestamp, s.value)));
            let st = starts.entry(name).or_default();
            st.extend(ts.samples.iter().map(|s| (s.timestamp, s.start_timestamp)));
        }
        return StatusCode::NO_CONTENT;
    }
    let req = WriteRequest::decode(raw.as_slice()).unwrap();
    let mut series = r.series.lock();
    for ts in req.timeseries {
        let name = ts
            .labels
            .iter()
            .map(|l| format!("{}={}", l.name, l.value))
            .collect::<Vec<_>>()
            .join(",");
        let v = series.entry(name).or_default();
        v.extend(ts.samples.iter().map(|s| (s.timestamp, s.value)));
    }
    StatusCode::NO_CONTENT
}

/// A running fake receiver; shut down on drop.
pub(crate) struct FakeReceiver {
    pub(crate) url: String,
    pub(crate) recv: Arc<Recv>,
    stop: CancellationToken,
}

impl Drop for FakeReceiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub(crate) async fn receiver() -> FakeReceiver {
    let recv = Arc::new(Recv::default());
    let app = axum::Router::new()
        .route("/write", axum::routing::post(handle))
        .with_state(recv.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/write", l.local_addr().unwrap());
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        axum::serve(l, app)
            .with_graceful_shutdown(async move { s.cancelled().await })
            .await
            .unwrap();
    });
    FakeReceiver { url, recv, stop }
}

pub(crate) fn fast_settings(url: &str) -> WriteSettings {
    let mut s = WriteSettings::new(url);
    s.remote_timeout = Duration::from_secs(5);
    s.queue.batch_send_deadline = Duration::from_millis(30);
    s.queue.min_backoff = Duration::from_millis(10);
    s.queue.max_backoff = Duration::from_millis(80);
    s.queue.wal_poll_interval = Duration::from_millis(10);
    s.queue.flush_deadline = Duration::from_millis(500);
    s.queue.max_samples_per_send = 100;
    s.queue.capacity = 500;
    s
}

fn labels(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())])
}

/// Appends timestamps `from..from+n` (one commit each) to `series` series.
pub(crate) fn append(db: &Db, series: usize, from: i64, n: i64) {
    for t in from..from + n {
        let mut app = db.appender();
        for i in 0..series {
            app.append(None, &labels(i), t * 1000, t as f64 + i as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

async fn wait_until(limit: Duration, f: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

/// Every series has exactly timestamps `0..n` (seconds) once, in order.
fn assert_exactly_once(recv: &Recv, series: usize, n: i64) {
    let got = recv.series.lock();
    assert_eq!(got.len(), series, "series received");
    for (name, samples) in got.iter() {
        let ts: Vec<i64> = samples.iter().map(|s| s.0 / 1000).collect();
        let want: Vec<i64> = (0..n).collect();
        assert_eq!(ts, want, "samples of {name}");
    }
}

fn open(dir: &Path, segment: u64) -> Db {
    Db::open(
        dir,
        DbOptions {
            wal_segment_size: segment,
            ..DbOptions::default()
        },
    )
    .unwrap()
}

fn start(s: WriteSettings, dir: &Path) -> RemoteWriter {
    RemoteWriter::start(
        vec![s],
        Some(&dir.join("wal")),
        dir,
        CancellationToken::new(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_every_sample_in_order_per_series_across_segments() {
    let rx = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 4 << 10);
    append(&db, 20, 0, 50);
    let mut s = fast_settings(&rx.url);
    s.queue.min_shards = 3;
    let w = start(s, dir.path());
    // More data while the writer runs, cutting further segments.
    append(&db, 20, 50, 150);
    let r = rx.recv.clone();
    assert!(wait_until(Duration::from_secs(20), || r.total() >= 4000).await);
    let segs = promlite_tsdb::wal::list_segments(&dir.path().join("wal")).unwrap();
    assert!(segs.len() > 3, "{segs:?}");
    let m = w.metrics()[0].clone();
    w.stop().await;
    assert_exactly_once(&rx.recv, 20, 200);
    assert!(!rx.recv.bad_headers.load(Ordering::Relaxed));
    assert_eq!(m.samples_total.load(Ordering::Relaxed), 4000);
    assert_eq!(m.samples_pending.load(Ordering::Relaxed), 0);
    assert_eq!(m.shards.load(Ordering::Relaxed), 0);
    assert_eq!(m.highest_sent_timestamp_ms.load(Ordering::Relaxed), 199_000);
    assert!(m.bytes_total.load(Ordering::Relaxed) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_growing_backoff() {
    let rx = receiver().await;
    rx.recv.script.lock().extend([500, 503, 500, 502]);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 1 << 20);
    append(&db, 3, 0, 10);
    let w = start(fast_settings(&rx.url), dir.path());
    let r = rx.recv.clone();
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 30).await);
    let m = w.metrics()[0].clone();
    w.stop().await;
    assert_exactly_once(&rx.recv, 3, 10);
    assert_eq!(m.samples_retried_total.load(Ordering::Relaxed), 4 * 30);
    assert_eq!(m.samples_failed_total.load(Ordering::Relaxed), 0);
    let times = rx.recv.times.lock().clone();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // 10ms, 20ms, 40ms, 80ms (capped): each wait at least the backoff.
    for (g, min) in gaps.iter().zip([10u64, 20, 40, 80]) {
        assert!(*g >= Duration::from_millis(min), "{gaps:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_drop_the_batch_and_429_is_retried_only_when_configured() {
    let rx = receiver().await;
    rx.recv.script.lock().extend([400, 429]);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 1 << 20);
    let mut s = fast_settings(&rx.url);
    s.queue.max_samples_per_send = 10;
    s.queue.batch_send_deadline = Duration::from_secs(5);
    let w = start(s.clone(), dir.path());
    append(&db, 10, 0, 3);
    let r = rx.recv.clone();
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 10).await);
    let m = w.metrics()[0].clone();
    w.stop().await;
    // The first two batches (two timestamps) were rejected for good.
    assert_eq!(m.samples_failed_total.load(Ordering::Relaxed), 20);
    assert_eq!(rx.recv.total(), 10);

    // With retry_on_http_429 the 429 is retried and nothing is lost.
    rx.recv.series.lock().clear();
    rx.recv.script.lock().extend([429, 429]);
    s.queue.retry_on_http_429 = true;
    let w = start(s, dir.path());
    append(&db, 10, 3, 2);
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 20).await);
    let m = w.metrics()[0].clone();
    w.stop().await;
    assert_eq!(m.samples_failed_total.load(Ordering::Relaxed), 0);
    assert_eq!(m.samples_retried_total.load(Ordering::Relaxed), 20);
    assert_eq!(
        rx.recv.total(),
        20,
        "resumed after the acknowledged position"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_and_sender_restarts_lose_and_duplicate_nothing() {
    let rx = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 32 << 10);
    let mut s = fast_settings(&rx.url);
    s.queue.min_shards = 4;
    s.queue.max_shards = 4;
    append(&db, 30, 0, 20);
    let w = start(s.clone(), dir.path());
    let r = rx.recv.clone();
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 600).await);
    // Receiver down; the sender retries, then is restarted twice while
    // data keeps coming.
    rx.recv.fail.store(503, Ordering::Relaxed);
    append(&db, 30, 20, 20);
    tokio::time::sleep(Duration::from_millis(200)).await;
    w.stop().await;
    append(&db, 30, 40, 20);
    let w = start(s.clone(), dir.path());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Let one shard through for a moment so the shards' positions differ.
    rx.recv.fail.store(0, Ordering::Relaxed);
    rx.recv.delay_ms.store(30, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(60)).await;
    rx.recv.fail.store(503, Ordering::Relaxed);
    rx.recv.delay_ms.store(0, Ordering::Relaxed);
    w.stop().await;
    append(&db, 30, 60, 20);
    let w = start(s, dir.path());
    rx.recv.fail.store(0, Ordering::Relaxed);
    assert!(wait_until(Duration::from_secs(20), || r.total() >= 2400).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    w.stop().await;
    assert_exactly_once(&rx.recv, 30, 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_holds_the_watcher_back() {
    let rx = receiver().await;
    rx.recv.fail.store(500, Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 1 << 20);
    append(&db, 50, 0, 400);
    let mut s = fast_settings(&rx.url);
    s.queue.capacity = 100;
    let w = start(s, dir.path());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = w.metrics()[0].clone();
    // Capacity, a batch and a piece per shard, plus the watcher's channel,
    // its buffer and the batch being dispatched.
    let pending = m.samples_pending.load(Ordering::Relaxed);
    assert!(pending > 0 && pending <= 3 * 100 + 6 * 2000, "{pending}");
    rx.recv.fail.store(0, Ordering::Relaxed);
    let r = rx.recv.clone();
    assert!(wait_until(Duration::from_secs(20), || r.total() >= 20_000).await);
    w.stop().await;
    assert_exactly_once(&rx.recv, 50, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_receiver_adds_shards_and_keeps_order() {
    let rx = receiver().await;
    rx.recv.delay_ms.store(40, Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 1 << 20);
    let mut s = fast_settings(&rx.url);
    s.queue.max_shards = 8;
    s.queue.reshard_interval = Duration::from_millis(300);
    s.queue.max_samples_per_send = 50;
    let w = start(s, dir.path());
    let m = w.metrics()[0].clone();
    let started = Instant::now();
    let mut t = 0;
    while started.elapsed() < Duration::from_secs(3) {
        append(&db, 100, t, 5);
        t += 5;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shards = m.shards.load(Ordering::Relaxed);
    let n = 100 * t as usize;
    let r = rx.recv.clone();
    rx.recv.delay_ms.store(0, Ordering::Relaxed);
    assert!(wait_until(Duration::from_secs(30), || r.total() >= n).await);
    w.stop().await;
    assert!(shards > 1, "shards {shards}");
    assert_exactly_once(&rx.recv, 100, t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_labels_and_write_relabeling_apply_per_series() {
    let rx = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 1 << 20);
    append(&db, 4, 0, 5);
    let mut s = fast_settings(&rx.url);
    s.external_labels = Labels::from_pairs(&[("cluster", "c1"), ("i", "ignored")]);
    s.write_relabel_configs = vec![RelabelConfig {
        source_labels: vec!["i".into()],
        regex: RelabelRegex::new("3").unwrap(),
        action: Action::Drop,
        ..RelabelConfig::default()
    }];
    let w = start(s, dir.path());
    let r = rx.recv.clone();
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 15).await);
    let m = w.metrics()[0].clone();
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.stop().await;
    let got: Vec<String> = rx.recv.series.lock().keys().cloned().collect();
    assert_eq!(
        got,
        vec![
            "__name__=m,cluster=c1,i=0",
            "__name__=m,cluster=c1,i=1",
            "__name__=m,cluster=c1,i=2"
        ]
    );
    assert_eq!(m.samples_dropped_total.load(Ordering::Relaxed), 5);
}

/// A `Db` with 4 KiB WAL segments and 10s blocks, so that a few hundred
/// samples span several segments and compaction checkpoints them.
fn small_db(dir: &std::path::Path) -> Db {
    Db::open(
        dir,
        DbOptions {
            wal_segment_size: 4 << 10,
            block_range: 10_000,
            ..DbOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_segments_are_replaced_by_the_checkpoint() {
    let rx = receiver().await;
    rx.recv.fail.store(503, Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let mut s = fast_settings(&rx.url);
    s.queue.flush_deadline = Duration::from_millis(100);
    // The writer saves a position at the very start, then stops.
    let w = start(s.clone(), dir.path());
    append(&db, 5, 0, 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.stop().await;
    let p = position::file_path(dir.path(), &s.key());
    assert!(position::load(&p).unwrap().is_some());
    // The head compacts [0s, 10s) into a block and checkpoints the WAL,
    // deleting the segments the writer still needs.
    append(&db, 5, 3, 27);
    db.compact().unwrap();
    let wal = dir.path().join("wal");
    assert!(promlite_tsdb::wal::last_checkpoint(&wal).unwrap().is_some());
    assert_ne!(promlite_tsdb::wal::list_segments(&wal).unwrap()[0], 0);
    rx.recv.fail.store(0, Ordering::Relaxed);
    let w = start(s, dir.path());
    let r = rx.recv.clone();
    // Samples at or after the head's new minimum time come from the
    // checkpoint and the remaining segments; older ones are gone.
    let mint = db.head().min_time().unwrap() / 1000;
    assert!((10..29).contains(&mint), "{mint}");
    let want = 5 * (30 - mint) as usize;
    assert!(
        wait_until(Duration::from_secs(10), || r.total() >= want).await,
        "{} of {want}",
        r.total()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.stop().await;
    for (name, samples) in rx.recv.series.lock().iter() {
        let ts: Vec<i64> = samples.iter().map(|s| s.0 / 1000).collect();
        assert_eq!(ts, (mint..30).collect::<Vec<_>>(), "{name}");
    }
}

#[tokio::test]
async fn in_memory_storage_has_no_remote_write() {
    let dir = tempfile::tempdir().unwrap();
    let s = WriteSettings::new("http://127.0.0.1:1/write");
    let e = RemoteWriter::start(vec![s.clone()], None, dir.path(), CancellationToken::new());
    assert!(matches!(e, Err(Error::NoWal)));
    let e = RemoteWriter::start(
        vec![s.clone(), s],
        Some(dir.path()),
        dir.path(),
        CancellationToken::new(),
    );
    assert!(matches!(e, Err(Error::DuplicateEndpoint { .. })));
    let w = RemoteWriter::start(Vec::new(), None, dir.path(), CancellationToken::new()).unwrap();
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_keeps_unchanged_endpoints_and_restarts_changed_ones() {
    let rx = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), 1 << 20);
    let a = fast_settings(&rx.url);
    let mut b = fast_settings(&rx.url);
    b.name = "b".into();
    let mut w = start(a.clone(), dir.path());
    let m_a = w.metrics()[0].clone();
    w.apply(vec![a.clone(), b.clone()]).await.unwrap();
    assert!(Arc::ptr_eq(&m_a, &w.metrics()[0]));
    append(&db, 2, 0, 5);
    let r = rx.recv.clone();
    // Both endpoints deliver to the same receiver: every sample twice.
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 20).await);
    b.queue.max_samples_per_send = 7;
    w.apply(vec![b]).await.unwrap();
    assert_eq!(w.metrics().len(), 1);
    assert_eq!(w.metrics()[0].remote_name, "b");
    append(&db, 2, 5, 5);
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 30).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.stop().await;
    assert_eq!(rx.recv.total(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_dropped_by_the_head_leave_the_cache_after_a_checkpoint() {
    let rx = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let w = start(fast_settings(&rx.url), dir.path());
    let m = w.metrics()[0].clone();
    // Ten short-lived series, then five that keep going.
    append(&db, 10, 0, 2);
    append(&db, 5, 2, 38);
    let r = rx.recv.clone();
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 20 + 5 * 38).await);
    assert_eq!(m.series_cached.load(Ordering::Relaxed), 10);
    db.compact().unwrap();
    // New segments after the checkpoint make the watcher move on.
    append(&db, 5, 40, 40);
    assert!(
        wait_until(Duration::from_secs(10), || m
            .series_cached
            .load(Ordering::Relaxed)
            == 5)
        .await,
        "{}",
        m.series_cached.load(Ordering::Relaxed)
    );
    assert!(wait_until(Duration::from_secs(10), || r.total() >= 20 + 5 * 78).await);
    w.stop().await;
    assert_eq!(rx.recv.total(), 20 + 5 * 78);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_segment_is_skipped_after_sending_what_precedes_it() {
    let rx = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path(), 4 << 10);
        append(&db, 20, 0, 60);
        db.close().unwrap();
    }
    let wal = dir.path().join("wal");
    let segs = promlite_tsdb::wal::list_segments(&wal).unwrap();
    assert!(segs.len() >= 3, "{segs:?}");
    let p = promlite_tsdb::wal::segment_path(&wal, segs[1]);
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&p, bytes).unwrap();
    let w = start(fast_settings(&rx.url), dir.path());
    let r = rx.recv.clone();
    // The last timestamp of every series arrives: reading went on.
    let last = || {
        r.series
            .lock()
            .values()
            .filter(|v| v.last().is_some_and(|s| s.0 == 59_000))
            .count()
            == 20
    };
    let ok = wait_until(Duration::from_secs(10), last).await;
    let m = w.metrics()[0].clone();
    assert!(
        ok,
        "{:?} sent {} dropped {}",
        r.series
            .lock()
            .values()
            .map(|v| (v.len(), v.last().map(|s| s.0)))
            .collect::<Vec<_>>(),
        m.samples_total.load(Ordering::Relaxed),
        m.samples_dropped_total.load(Ordering::Relaxed)
    );
    w.stop().await;
    let got = rx.recv.series.lock();
    for (name, samples) in got.iter() {
        // In order, without duplicates; some samples of the corrupt
        // segment are missing.
        assert!(samples.windows(2).all(|w| w[0].0 < w[1].0), "{name}");
        assert_eq!(samples[0].0, 0, "{name}");
    }
    let total: usize = got.values().map(Vec::len).sum();
    assert!(total < 1200, "{total}");
}

/// Appends timestamps `from..from+n` (one commit each) to `series` series,
/// with start timestamps on every other commit (records of type
/// `SamplesSt`) and none on the others (plain `Samples` records).
fn append_st(db: &Db, series: usize, from: i64, n: i64) {
    for t in from..from + n {
        let mut app = db.appender();
        for i in 0..series {
            let st = if t % 2 == 0 { (t - 1) * 1000 } else { 0 };
            app.append_st(None, &labels(i), st, t * 1000, t as f64 + i as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_with_start_timestamps_are_sent_from_checkpoints_and_segments() {
    let rx = send_start_timestamps(ProtobufMessage::V1).await;
    // 1.0 has no start timestamps.
    assert_eq!(rx.recv.v2_requests.load(Ordering::Relaxed), 0);
    assert!(rx.recv.start_timestamps.lock().is_empty());
    assert!(!rx.recv.bad_headers.load(Ordering::Relaxed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_2_0_sends_start_timestamps_from_checkpoints_and_segments() {
    let rx = send_start_timestamps(ProtobufMessage::V2).await;
    assert!(rx.recv.v2_requests.load(Ordering::Relaxed) > 0);
    assert!(!rx.recv.bad_headers.load(Ordering::Relaxed));
    let got = rx.recv.start_timestamps.lock();
    assert_eq!(got.len(), 5);
    for (name, samples) in got.iter() {
        for &(t, st) in samples {
            // As `append_st` wrote them: even seconds carry the previous
            // second, odd ones none (0, not encoded on the wire).
            let want = if (t / 1000) % 2 == 0 { t - 1000 } else { 0 };
            assert_eq!(st, want, "{name} at {t}");
        }
        assert!(samples.iter().any(|&(_, st)| st == 0), "{name}");
        assert!(samples.iter().any(|&(_, st)| st != 0), "{name}");
    }
}

/// Writes samples with and without start timestamps through a `Db`
/// appender, compacts so that the oldest kept ones are read from a
/// checkpoint, ships everything in `proto` and checks every sample
/// arrived once, in order. Returns the receiver for the protocol's checks.
async fn send_start_timestamps(proto: ProtobufMessage) -> FakeReceiver {
    let rx = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    append_st(&db, 5, 0, 30);
    // [0s, 10s) goes to a block; the checkpoint keeps the later samples
    // with their start timestamps, and the segments holding them are gone.
    db.compact().unwrap();
    let wal = dir.path().join("wal");
    let (cp, cp_path) = promlite_tsdb::wal::last_checkpoint(&wal).unwrap().unwrap();
    assert_ne!(promlite_tsdb::wal::list_segments(&wal).unwrap()[0], 0);
    let mut st_records = 0;
    let mut r = promlite_tsdb::wal::WalReader::open(&cp_path).unwrap();
    while let Some(rec) = r.next_record().unwrap() {
        if promlite_tsdb::wal::RecordType::of(rec)
            == Some(promlite_tsdb::wal::RecordType::SamplesSt)
        {
            st_records += 1;
        }
    }
    assert!(st_records > 0, "checkpoint {cp} has no SamplesSt records");
    let mint = db.head().min_time().unwrap() / 1000;
    assert!((10..29).contains(&mint), "{mint}");
    let mut s = fast_settings(&rx.url);
    s.protobuf_message = proto;
    let w = start(s, dir.path());
    // More while the writer tails the segment being written.
    append_st(&db, 5, 30, 20);
    let r = rx.recv.clone();
    let want = 5 * (50 - mint) as usize;
    assert!(
        wait_until(Duration::from_secs(10), || r.total() >= want).await,
        "{} of {want}",
        r.total()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.stop().await;
    {
        let got = rx.recv.series.lock();
        assert_eq!(got.len(), 5);
        for (name, samples) in got.iter() {
            let ts: Vec<i64> = samples.iter().map(|s| s.0 / 1000).collect();
            assert_eq!(ts, (mint..50).collect::<Vec<_>>(), "{name}");
        }
    }
    rx
}
