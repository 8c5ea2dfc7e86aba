//! Debian's Prometheus reads promlite's data through `remote_read`
//! (streamed XOR chunks, as Prometheus asks for them first).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promlite::{ConfigSource, Server, ServerOptions};

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_reads_promlite_over_remote_read() {
    let bin = "/usr/bin/prometheus";
    if !std::path::Path::new(bin).exists() {
        assert!(
            std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "prometheus is required (PROMLITE_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!("SKIP prometheus_reads_promlite_over_remote_read: {bin} not installed");
        return;
    }
    let s = Server::start(ServerOptions {
        config: ConfigSource::Text("global:\n  external_labels:\n    site: lite\n".into()),
        scrape: false,
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = now - 10 * 60_000;
    s.append_series(
        r#"peer_read_metric{job="lite", i="1"} 0+1x39"#,
        start,
        15_000,
    )
    .unwrap();
    s.append_series(
        r#"peer_read_metric{job="lite", i="2"} 100x39"#,
        start,
        15_000,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.yml"),
        format!(
            "remote_read:\n  - url: {}/api/v1/read\n    read_recent: true\n",
            s.url()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _p = Kill(
        Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("p.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prom = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::get(format!("{prom}/-/ready"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = (start + 39 * 15_000) as f64 / 1000.0;
    let v: serde_json::Value = reqwest::get(format!(
        "{prom}/api/v1/query?query=sort(peer_read_metric)&time={t}"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let r = v["data"]["result"].as_array().expect("result");
    assert_eq!(r.len(), 2, "{v}");
    assert_eq!(r[0]["value"][1], "39");
    assert_eq!(r[1]["value"][1], "100");
    assert_eq!(
        r[0]["metric"]["site"], "lite",
        "external labels are added to remote-read results"
    );
    let v: serde_json::Value = reqwest::get(format!(
        "{prom}/api/v1/query?query=sum(increase(peer_read_metric{{i=\"1\"}}[5m]))&time={t}"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let inc: f64 = v["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(inc > 19.0 && inc < 21.0, "{v}");
    s.shutdown().await;
}
