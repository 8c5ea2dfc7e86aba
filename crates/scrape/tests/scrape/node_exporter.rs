//! Scraping Debian's `prometheus-node-exporter` on loopback.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use promlite_model::Labels;
use promlite_scrape::{ScrapeManager, ScrapeSettings, TargetGroup};
use promlite_tsdb::{Db, DbOptions};

use crate::{series, wait_for};

const BIN: &str = "prometheus-node-exporter";

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_binary() -> Option<String> {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
        let p = format!("{dir}/{BIN}");
        if std::path::Path::new(&p).exists() {
            return Some(p);
        }
    }
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_exporter_is_scraped() {
    let Some(bin) = find_binary() else {
        if std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("{BIN} is required (PROMLITE_REQUIRE_PEERS=1) but not installed");
        }
        eprintln!("SKIP node_exporter_is_scraped: {BIN} not installed (apt-get install {BIN})");
        return;
    };
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _child = Kill(
        Command::new(bin)
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let db = Db::open_in_memory(DbOptions::default());
    let mgr = ScrapeManager::new(Arc::new(db.clone()), 1);
    let mut cfg = ScrapeSettings::new("node");
    cfg.interval = Duration::from_millis(500);
    cfg.timeout = Duration::from_millis(450);
    mgr.apply_config(vec![cfg]);
    mgr.set_groups(
        "node",
        vec![TargetGroup {
            source: "0".into(),
            targets: vec![Labels::from_pairs(&[("__address__", addr.as_str())])],
            labels: Labels::empty(),
        }],
    );
    let ok = wait_for(Duration::from_secs(20), || {
        series(&db, "up")
            .first()
            .and_then(|(_, v)| v.last().map(|s| s.1))
            == Some(1.0)
    })
    .await;
    let targets = mgr.active_targets();
    assert!(
        ok,
        "node exporter scraped with up=1; last error: {:?}",
        targets.first().map(|t| t.status().last_error)
    );
    let node = series(&db, "node_.*");
    assert!(node.len() >= 100, "only {} node_* series", node.len());
    assert!(node
        .iter()
        .all(|(l, _)| l.contains(&format!("instance=\"{addr}\"")) && l.contains("job=\"node\"")));
    let meta = targets[0].metadata();
    let cpu = meta
        .get("node_cpu_seconds_total")
        .expect("metadata for node_cpu_seconds_total");
    assert_eq!(cpu.metric_type, "counter");
    assert!(!cpu.help.is_empty());
    mgr.stop(false).await;
}
