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

fn start_prometheus(dir: &std::path::Path, config: &str) -> (Kill, String) {
    std::fs::write(dir.join("p.yml"), config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("/usr/bin/prometheus")
        .arg(format!("--config.file={}", dir.join("p.yml").display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Kill(child), format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promlite_queries_include_a_remote_read_store() {
    use prost::Message;
    if !std::path::Path::new("/usr/bin/prometheus").exists() {
        assert!(
            std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "prometheus is required"
        );
        eprintln!("SKIP promlite_queries_include_a_remote_read_store: prometheus not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_p, prom) = start_prometheus(dir.path(), "global:\n  scrape_interval: 1m\n");
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
    // Data that only the remote store has.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t0 = now - 5 * 60_000;
    let wr = promlite_prompb::write::WriteRequest {
        timeseries: vec![promlite_prompb::write::TimeSeries {
            labels: vec![
                promlite_prompb::write::Label {
                    name: "__name__".into(),
                    value: "remote_only".into(),
                },
                promlite_prompb::write::Label {
                    name: "job".into(),
                    value: "far".into(),
                },
            ],
            samples: (0..20)
                .map(|i| promlite_prompb::write::Sample {
                    value: i as f64,
                    timestamp: t0 + i * 15_000,
                })
                .collect(),
            exemplars: vec![],
        }],
        metadata: vec![],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&wr.encode_to_vec())
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{prom}/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let cfg = format!(
        "remote_read:\n  - url: {prom}/api/v1/read\n    read_recent: true\n  - url: {prom}/api/v1/read\n    name: gated\n    required_matchers:\n      job: never\n"
    );
    let s = Server::start(ServerOptions {
        config: ConfigSource::Text(cfg),
        scrape: false,
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let t = (t0 + 19 * 15_000) as f64 / 1000.0;
    let v: serde_json::Value = reqwest::get(format!(
        "{}/api/v1/query?query=remote_only&time={t}",
        s.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let r = v["data"]["result"].as_array().expect("result");
    // Once, although two remotes are configured: the second requires job="never".
    assert_eq!(r.len(), 1, "{v}");
    assert_eq!(r[0]["value"][1], "19");
    assert_eq!(r[0]["metric"]["job"], "far");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_from_the_server_reaches_prometheus() {
    if !std::path::Path::new("/usr/bin/prometheus").exists() {
        assert!(
            std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "prometheus is required"
        );
        eprintln!("SKIP remote_write_from_the_server_reaches_prometheus: prometheus not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_p, prom) = start_prometheus(dir.path(), "global:\n  scrape_interval: 1m\n");
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
    let cfg = format!(
        "global:\n  external_labels:\n    edge: e1\nremote_write:\n  - url: {prom}/api/v1/write\n    queue_config:\n      batch_send_deadline: 100ms\n"
    );
    let s = Server::start(ServerOptions {
        config: ConfigSource::Text(cfg),
        storage: promlite::Storage::Dir(dir.path().join("lite")),
        scrape: false,
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t0 = now - 5 * 60_000;
    s.append_series(r#"shipped_metric{job="edge"} 0+1x19"#, t0, 15_000)
        .unwrap();
    let t = (t0 + 19 * 15_000) as f64 / 1000.0;
    let url = format!("{prom}/api/v1/query?query=count_over_time(shipped_metric[10m])&time={t}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = serde_json::Value::Null;
    while Instant::now() < deadline {
        last = reqwest::get(&url).await.unwrap().json().await.unwrap();
        if last["data"]["result"][0]["value"][1] == "20" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(last["data"]["result"][0]["value"][1], "20", "{last}");
    assert_eq!(
        last["data"]["result"][0]["metric"]["edge"], "e1",
        "external labels are attached"
    );
    let metrics = reqwest::get(format!("{}/metrics", s.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sent = metrics
        .lines()
        .find(|l| l.starts_with("prometheus_remote_storage_samples_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    assert!(sent.is_some_and(|n| n >= 20.0), "{sent:?}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promlite_receives_what_prometheus_remote_writes() {
    if !std::path::Path::new("/usr/bin/prometheus").exists() {
        assert!(
            std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "prometheus is required"
        );
        eprintln!("SKIP promlite_receives_what_prometheus_remote_writes: prometheus not installed");
        return;
    }
    let s = Server::start(ServerOptions {
        config: ConfigSource::Text(String::new()),
        scrape: false,
        enable_remote_write_receiver: true,
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  external_labels:\n    sender: debian\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\nremote_write:\n  - url: {}/api/v1/write\n    queue_config:\n      batch_send_deadline: 500ms\n",
        s.url()
    );
    std::fs::write(dir.path().join("p.yml"), config).unwrap();
    let _p = Kill(
        Command::new("/usr/bin/prometheus")
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
    // Prometheus scrapes itself every second and forwards the samples.
    let url = format!(
        "{}/api/v1/query?query=count(%7Bjob%3D%22prometheus%22%2Csender%3D%22debian%22%7D)",
        s.url()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0.0;
    while Instant::now() < deadline {
        let v: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        n = v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0.0);
        if n >= 100.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(n >= 100.0, "series received from Prometheus: {n}");
    let v: serde_json::Value = reqwest::get(format!(
        "{}/api/v1/query?query=up%7Bjob%3D%22prometheus%22%7D",
        s.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "1", "{v}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_2_0_between_two_promlite_servers() {
    let receiver = Server::start(ServerOptions {
        config: ConfigSource::Text(String::new()),
        scrape: false,
        enable_remote_write_receiver: true,
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "remote_write:\n  - url: {}/api/v1/write\n    protobuf_message: io.prometheus.write.v2.Request\n    queue_config:\n      batch_send_deadline: 100ms\n",
        receiver.url()
    );
    let sender = Server::start(ServerOptions {
        config: ConfigSource::Text(cfg),
        storage: promlite::Storage::Dir(dir.path().to_path_buf()),
        scrape: false,
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    sender
        .append_series(r#"v2_metric{job="a"} 1+1x9"#, now - 60_000, 5_000)
        .unwrap();
    let url = format!(
        "{}/api/v1/query?query=count_over_time(v2_metric[5m])&time={}",
        receiver.url(),
        now as f64 / 1000.0
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = serde_json::Value::Null;
    while Instant::now() < deadline {
        last = reqwest::get(&url).await.unwrap().json().await.unwrap();
        if last["data"]["result"][0]["value"][1] == "10" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["data"]["result"][0]["value"][1], "10", "{last}");
    sender.shutdown().await;
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_of_scraped_families_is_sent_to_remote_write_endpoints() {
    use promlite_prompb::write::{MetricMetadata, WriteRequest};
    use prost::Message;
    let got: std::sync::Arc<std::sync::Mutex<Vec<MetricMetadata>>> = Default::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/write",
        axum::routing::post(move |body: axum::body::Bytes| {
            let g = g.clone();
            async move {
                let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                if let Ok(r) = WriteRequest::decode(raw.as_slice()) {
                    g.lock().unwrap().extend(r.metadata);
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = format!("http://{}/write", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    // promlite scrapes itself every second and sends metadata every second.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\nremote_write:\n  - url: {fake}\n    metadata_config:\n      send_interval: 1s\n"
    );
    let s = Server::start(ServerOptions {
        config: ConfigSource::Text(cfg),
        storage: promlite::Storage::Dir(dir.path().to_path_buf()),
        listen_address: format!("127.0.0.1:{port}").parse().unwrap(),
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if got
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.metric_family_name == "prometheus_tsdb_head_series")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let md = got.lock().unwrap().clone();
    let head = md
        .iter()
        .find(|m| m.metric_family_name == "prometheus_tsdb_head_series")
        .expect("metadata sent");
    assert_eq!(head.r#type, 2, "gauge");
    assert!(head.help.contains("series"), "{:?}", head.help);
    s.shutdown().await;
    server.abort();
}
