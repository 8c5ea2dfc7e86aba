//! An alert goes pending, fires, reaches a real Alertmanager (Debian's
//! `prometheus-alertmanager`) with its labels and annotations, resolves,
//! and the resolution arrives.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promlite::{ConfigSource, Server, ServerOptions};
use promlite_model::Labels;
use promlite_storage::Appendable;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn json(url: &str) -> Option<serde_json::Value> {
    reqwest::get(url).await.ok()?.json().await.ok()
}

/// Polls `f` every 100ms for up to `secs` seconds.
async fn until<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_lifecycle_reaches_a_real_alertmanager() {
    let bin = "/usr/bin/prometheus-alertmanager";
    if !std::path::Path::new(bin).exists() {
        assert!(
            std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "prometheus-alertmanager is required (PROMLITE_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!("SKIP alert_lifecycle_reaches_a_real_alertmanager: {bin} not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let am_port = free_port();
    std::fs::write(
        dir.path().join("am.yml"),
        "route:\n  receiver: blackhole\n  group_wait: 0s\n  group_interval: 1s\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let _am = Kill(
        Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("am.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("am-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let am = format!("http://127.0.0.1:{am_port}");
    assert!(
        until(20, || async {
            reqwest::get(format!("{am}/-/ready"))
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await,
        "alertmanager ready"
    );
    std::fs::write(
        dir.path().join("rules.yml"),
        r#"groups:
  - name: g
    interval: 1s
    rules:
      - alert: FlagRaised
        expr: test_flag > 0
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "flag is {{ $value }} on {{ $labels.instance }}"
"#,
    )
    .unwrap();
    let cfg = format!(
        "global:\n  evaluation_interval: 1s\n  external_labels:\n    site: test\nrule_files: [\"{}\"]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"127.0.0.1:{am_port}\"]\n",
        dir.path().join("rules.yml").display()
    );
    let server = Server::start(ServerOptions {
        config: ConfigSource::Text(cfg),
        scrape: false,
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let db = server.db().clone();
    let raise = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let feeder = {
        let raise = raise.clone();
        tokio::spawn(async move {
            let l = Labels::from_pairs(&[("__name__", "test_flag"), ("instance", "box-1")]);
            for _ in 0..600 {
                let v = if raise.load(std::sync::atomic::Ordering::Relaxed) {
                    1.0
                } else {
                    0.0
                };
                let mut app = db.appender();
                let _ = app.append(None, &l, now_ms(), v);
                let _ = app.commit();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let alerts_url = format!("{}/api/v1/alerts", server.url());
    let state =
        |v: &serde_json::Value| v["data"]["alerts"][0]["state"].as_str().map(str::to_string);
    let pending = until(10, || async {
        json(&alerts_url).await.and_then(|v| state(&v)).as_deref() == Some("pending")
    })
    .await;
    assert!(pending, "the alert goes pending first");
    let firing = until(15, || async {
        json(&alerts_url).await.and_then(|v| state(&v)).as_deref() == Some("firing")
    })
    .await;
    assert!(firing, "then fires");
    // It reaches Alertmanager with its labels, the external labels and the rendered annotation.
    let am_alerts = format!("{am}/api/v2/alerts");
    let arrived = until(15, || async {
        json(&am_alerts).await.is_some_and(|v| {
            v.as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x["labels"]["alertname"] == "FlagRaised"
                        && x["labels"]["severity"] == "page"
                        && x["labels"]["site"] == "test"
                        && x["labels"]["instance"] == "box-1"
                        && x["annotations"]["summary"] == "flag is 1 on box-1"
                })
            })
        })
    })
    .await;
    assert!(
        arrived,
        "alert in Alertmanager: {:?}",
        json(&am_alerts).await
    );
    // The condition clears: the alert resolves and Alertmanager learns it.
    raise.store(false, std::sync::atomic::Ordering::Relaxed);
    let resolved_here = until(15, || async {
        json(&alerts_url)
            .await
            .is_some_and(|v| v["data"]["alerts"].as_array().is_some_and(|a| a.is_empty()))
    })
    .await;
    assert!(resolved_here, "no active alert in promlite");
    let resolved_there = until(20, || async {
        json(&am_alerts).await.is_some_and(|v| {
            v.as_array().is_some_and(|a| {
                !a.iter().any(|x| {
                    x["labels"]["alertname"] == "FlagRaised" && x["status"]["state"] == "active"
                })
            })
        })
    })
    .await;
    assert!(
        resolved_there,
        "resolution reached Alertmanager: {:?}",
        json(&am_alerts).await
    );
    // Self-monitoring shows the group and the notifications sent.
    let metrics = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("prometheus_rule_group_rules{rule_group="),
        "{metrics}"
    );
    let sent = metrics
        .lines()
        .find_map(|l| l.strip_prefix("prometheus_notifications_sent_total "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(
        sent.is_some_and(|n| n >= 2.0),
        "firing and resolved were sent: {sent:?}"
    );
    feeder.abort();
    server.shutdown().await;
}
