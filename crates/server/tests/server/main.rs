//! The `promlite` binary end to end: embedded config, file_sd pickup,
//! reloads that keep the old configuration on error, `check config`.

mod otlp;
mod web;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_promlite");

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    request("GET", &format!("http://{addr}{path}"))
}

/// A tiny blocking HTTP/1.1 client (GET/POST) so the tests need no HTTP crate.
fn request(method: &str, url: &str) -> Option<(u16, String)> {
    use std::io::Read;
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let code: u16 = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    Some((code, body))
}

fn start(args: &[&str], dir: &Path) -> Server {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args(args)
        .arg(format!("--web.listen-address={addr}"))
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = Server { child, addr };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if get(&s.addr, "/-/ready").is_some_and(|(c, _)| c == 200) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not become ready");
}

/// The value of an unlabelled (or exactly labelled) metric in /metrics.
fn metric(addr: &str, series: &str) -> Option<f64> {
    let (_, body) = get(addr, "/metrics")?;
    body.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

fn wait_metric(addr: &str, series: &str, want: f64, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if metric(addr, series) == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn embedded_default_config_scrapes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&["--storage.in-memory"], dir.path());
    assert_eq!(
        metric(&s.addr, "prometheus_config_last_reload_successful"),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &s.addr,
            "prometheus_target_scrape_pool_targets{scrape_job=\"prometheus\"}"
        ),
        Some(1.0)
    );
}

#[test]
fn file_sd_changes_are_picked_up_and_a_bad_reload_keeps_the_old_config() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.json");
    std::fs::write(
        &targets,
        r#"[{"targets": ["127.0.0.1:1"], "labels": {"env": "a"}}]"#,
    )
    .unwrap();
    let cfg = dir.path().join("prometheus.yml");
    let good = "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\nscrape_configs:\n  - job_name: files\n    file_sd_configs:\n      - files: [targets.json]\n";
    std::fs::write(&cfg, good).unwrap();
    let s = start(
        &[
            "--storage.in-memory",
            "--web.enable-lifecycle",
            "--config.file=prometheus.yml",
        ],
        dir.path(),
    );
    let pool = "prometheus_target_scrape_pool_targets{scrape_job=\"files\"}";
    assert!(wait_metric(&s.addr, pool, 1.0, Duration::from_secs(10)));
    // A second target appears in the file.
    std::fs::write(
        &targets,
        r#"[{"targets": ["127.0.0.1:1", "127.0.0.1:2"], "labels": {"env": "a"}}]"#,
    )
    .unwrap();
    assert!(
        wait_metric(&s.addr, pool, 2.0, Duration::from_secs(15)),
        "file_sd change picked up"
    );

    // A broken configuration is rejected; the old one keeps running.
    std::fs::write(
        &cfg,
        "scrape_configs:\n  - job_name: files\n    bogus_field: 1\n",
    )
    .unwrap();
    let (code, body) = request("POST", &format!("http://{}/-/reload", s.addr)).unwrap();
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("bogus_field"), "{body}");
    assert_eq!(
        metric(&s.addr, "prometheus_config_last_reload_successful"),
        Some(0.0)
    );
    assert_eq!(metric(&s.addr, pool), Some(2.0));
    // Fixing it and reloading by SIGHUP works again.
    std::fs::write(&cfg, good).unwrap();
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    assert!(wait_metric(
        &s.addr,
        "prometheus_config_last_reload_successful",
        1.0,
        Duration::from_secs(10)
    ));
}

#[test]
fn lifecycle_endpoints_need_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&["--storage.in-memory"], dir.path());
    let (code, body) = request("POST", &format!("http://{}/-/reload", s.addr)).unwrap();
    assert_eq!(code, 403);
    assert_eq!(body, "Lifecycle API is not enabled.");
    let (code, _) = request("POST", &format!("http://{}/-/quit", s.addr)).unwrap();
    assert_eq!(code, 403);
}

#[test]
fn quit_and_sigterm_shut_down_cleanly_keeping_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(
        &["--storage.tsdb.path=data", "--web.enable-lifecycle"],
        dir.path(),
    );
    // Wait until the self-scrape stored something.
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&s.addr, "prometheus_tsdb_head_samples_appended_total").unwrap_or(0.0) == 0.0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let appended = metric(&s.addr, "prometheus_tsdb_head_samples_appended_total").unwrap();
    assert!(appended > 0.0);
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "server did not stop within 10s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    // Restart on the same directory: the WAL replay brings the samples back.
    let s2 = start(
        &["--storage.tsdb.path=data", "--web.enable-lifecycle"],
        dir.path(),
    );
    let series = metric(&s2.addr, "prometheus_tsdb_head_series").unwrap();
    assert!(series >= 10.0, "head series after restart: {series}");
    let (code, _) = request("POST", &format!("http://{}/-/quit", s2.addr)).unwrap();
    assert_eq!(code, 200);
}

#[test]
fn deploy_examples_are_valid_configs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    for f in [
        "prometheus.yml",
        "remote-write/thanos-receive.yml",
        "remote-write/mimir.yml",
        "remote-write/victoriametrics.yml",
    ] {
        let out = Command::new(BIN)
            .args(["check", "config"])
            .arg(root.join(f))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{f}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn check_config_exit_codes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config");
    let ok = Command::new(BIN)
        .args(["check", "config"])
        .arg(root.join("valid/minimal.yml"))
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("SUCCESS"));
    let invalid = std::fs::read_dir(root.join("invalid"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bad = Command::new(BIN)
        .args(["check", "config"])
        .arg(&invalid)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1), "{}", invalid.display());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("FAILED"));
}
