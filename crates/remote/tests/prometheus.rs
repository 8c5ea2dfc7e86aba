//! The real Prometheus (`/usr/bin/prometheus`, 2.42 in Debian) as the
//! receiver, with `--web.enable-remote-write-receiver`.
//!
//! Skipped with a message when Prometheus is not installed, unless
//! `PROMLITE_REQUIRE_PEERS=1`, which makes a missing binary a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promlite_model::Labels;
use promlite_remote::{RemoteWriter, WriteSettings};
use promlite_storage::Appendable;
use promlite_tsdb::{Db, DbOptions};
use tokio_util::sync::CancellationToken;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const SERIES: usize = 10;

/// A Prometheus process, killed on drop.
struct Prom {
    child: Option<Child>,
    port: u16,
}

impl Prom {
    fn start(dir: &Path, port: u16) -> Prom {
        let cfg = dir.join("prometheus.yml");
        std::fs::write(&cfg, "global:\n  scrape_interval: 1h\n").unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("prometheus.log"))
            .unwrap();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Prom {
            child: Some(child),
            port,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self, http: &reqwest::Client) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = http.get(format!("{}/-/ready", self.base())).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Prometheus did not become ready within 30s");
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Prom {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Appends samples `k` in `range` of every series at `base + k` seconds.
fn append(db: &Db, base_ms: i64, range: std::ops::Range<i64>) {
    for k in range {
        let mut app = db.appender();
        for i in 0..SERIES {
            let l = Labels::from_pairs(&[("__name__", "rw_test"), ("i", &i.to_string())]);
            app.append(None, &l, base_ms + k * 1000, (k * 10 + i as i64) as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

/// Series `i` → timestamps (ms) Prometheus holds for `rw_test`.
async fn stored(
    http: &reqwest::Client,
    base: &str,
    at_ms: i64,
) -> Option<BTreeMap<String, Vec<(i64, f64)>>> {
    let r = http
        .get(format!("{base}/api/v1/query"))
        .query(&[
            ("query", "rw_test[1h]".to_string()),
            ("time", format!("{:.3}", at_ms as f64 / 1000.0)),
        ])
        .send()
        .await
        .ok()?;
    let v: serde_json::Value = serde_json::from_str(&r.text().await.ok()?).ok()?;
    let mut out = BTreeMap::new();
    for s in v["data"]["result"].as_array()? {
        let i = s["metric"]["i"].as_str()?.to_string();
        let vals = s["values"]
            .as_array()?
            .iter()
            .map(|p| {
                let t = (p[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
                let v = p[1]
                    .as_str()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(f64::NAN);
                (t, v)
            })
            .collect();
        out.insert(i, vals);
    }
    Some(out)
}

fn expected(base_ms: i64, n: i64) -> BTreeMap<String, Vec<(i64, f64)>> {
    (0..SERIES)
        .map(|i| {
            let v = (0..n)
                .map(|k| (base_ms + k * 1000, (k * 10 + i as i64) as f64))
                .collect();
            (i.to_string(), v)
        })
        .collect()
}

async fn wait_stored(
    http: &reqwest::Client,
    prom: &Prom,
    base_ms: i64,
    n: i64,
) -> BTreeMap<String, Vec<(i64, f64)>> {
    let want = expected(base_ms, n);
    let at = base_ms + n * 1000;
    let start = Instant::now();
    let mut got = BTreeMap::new();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(g) = stored(http, &prom.base(), at).await {
            if g == want {
                return g;
            }
            got = g;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    got
}

fn writer(url: &str, dir: &Path) -> RemoteWriter {
    let mut s = WriteSettings::new(url);
    s.queue.batch_send_deadline = Duration::from_millis(50);
    s.queue.min_backoff = Duration::from_millis(50);
    s.queue.max_backoff = Duration::from_millis(500);
    s.queue.wal_poll_interval = Duration::from_millis(20);
    s.queue.flush_deadline = Duration::from_secs(1);
    s.queue.max_samples_per_send = 50;
    s.queue.min_shards = 2;
    s.queue.max_shards = 2;
    s.remote_timeout = Duration::from_secs(5);
    RemoteWriter::start(
        vec![s],
        Some(&dir.join("wal")),
        dir,
        CancellationToken::new(),
    )
    .unwrap()
}

fn require_prometheus() -> Option<PathBuf> {
    let p = PathBuf::from(PROMETHEUS);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{PROMETHEUS} is missing and PROMLITE_REQUIRE_PEERS=1");
    }
    eprintln!("SKIPPED: {PROMETHEUS} is not installed (apt-get install prometheus); set PROMLITE_REQUIRE_PEERS=1 to fail instead");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_receives_everything_across_its_and_our_restarts() {
    if require_prometheus().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let prom_dir = tmp.path().join("prom");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let ours = tmp.path().join("promlite");
    let port = free_port();
    let http = reqwest::Client::new();
    let mut prom = Prom::start(&prom_dir, port);
    prom.wait_ready(&http).await;
    let url = format!("{}/api/v1/write", prom.base());

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let base = (now - 300_000) / 1000 * 1000;
    let db = Db::open(&ours, DbOptions::default()).unwrap();
    append(&db, base, 0..60);
    let w = writer(&url, &ours);
    let got = wait_stored(&http, &prom, base, 60).await;
    assert_eq!(got, expected(base, 60), "phase 1");
    let m1 = w.metrics()[0].clone();

    // Prometheus goes down for 30 seconds; we keep appending, and restart
    // ourselves halfway through the outage.
    let down = std::time::Instant::now();
    prom.kill();
    append(&db, base, 60..90);
    tokio::time::sleep(Duration::from_secs(15)).await;
    w.stop().await;
    append(&db, base, 90..120);
    let w = writer(&url, &ours);
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(down.elapsed())).await;
    assert!(down.elapsed() >= Duration::from_secs(30));
    let mut prom = Prom::start(&prom_dir, port);
    prom.wait_ready(&http).await;
    let got = wait_stored(&http, &prom, base, 120).await;
    assert_eq!(got, expected(base, 120), "after the restarts");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m2 = w.metrics()[0].clone();
    w.stop().await;
    prom.kill();

    // Exactly once from our side: every sample acknowledged once, none
    // rejected (a re-sent older sample would be an out-of-order 400).
    let sent = m1.samples_total.load(Ordering::Relaxed) + m2.samples_total.load(Ordering::Relaxed);
    assert_eq!(sent, (SERIES * 120) as u64);
    assert_eq!(m1.samples_failed_total.load(Ordering::Relaxed), 0);
    assert_eq!(m2.samples_failed_total.load(Ordering::Relaxed), 0);
    assert!(
        m1.samples_retried_total.load(Ordering::Relaxed)
            + m2.samples_retried_total.load(Ordering::Relaxed)
            > 0
    );
}
