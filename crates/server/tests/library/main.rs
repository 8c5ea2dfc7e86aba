//! The library API only: start in-process servers, append, query over
//! HTTP and through the engine, run two side by side, shut down.

mod alertmanager;
mod fixtures;
mod remote_read;

use std::time::Duration;

use promlite::{ConfigSource, Server, ServerOptions};
use promlite_model::Labels;
use promlite_storage::Appendable;

fn no_scrape() -> ServerOptions {
    ServerOptions {
        config: ConfigSource::Text("global:\n  scrape_interval: 15s\n".into()),
        ..ServerOptions::default()
    }
}

async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_append_query_and_shutdown() {
    let server = Server::start(no_scrape()).await.unwrap();
    assert!(server.url().starts_with("http://127.0.0.1:"));
    let mut app = server.db().appender();
    let l = Labels::from_pairs(&[("__name__", "http_requests_total"), ("job", "api")]);
    for i in 0..=10 {
        app.append(None, &l, 1_700_000_000_000 + i * 15_000, (i * 10) as f64)
            .unwrap();
    }
    app.commit().unwrap();
    // Over HTTP, as Grafana would ask.
    let v = get_json(&format!(
        "{}/api/v1/query?query=rate(http_requests_total[1m])&time=1700000150",
        server.url()
    ))
    .await;
    assert_eq!(v["status"], "success");
    let val: f64 = v["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((val - 10.0 / 15.0).abs() < 1e-9, "{v}");
    // Directly through the engine.
    let r = server
        .engine()
        .instant_query(server.db(), "sum(http_requests_total)", 1_700_000_150_000)
        .unwrap();
    assert!(format!("{:?}", r.value).contains("100"), "{:?}", r.value);
    let url = server.url();
    server.shutdown().await;
    assert!(
        reqwest::get(format!("{url}/-/ready")).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_side_by_side_keep_their_own_data() {
    let a = Server::start(no_scrape()).await.unwrap();
    let b = Server::start(no_scrape()).await.unwrap();
    assert_ne!(a.addr(), b.addr());
    for (s, v) in [(&a, 1.0), (&b, 2.0)] {
        let mut app = s.db().appender();
        app.append(
            None,
            &Labels::from_pairs(&[("__name__", "which")]),
            1_000,
            v,
        )
        .unwrap();
        app.commit().unwrap();
    }
    for (s, want) in [(&a, "1"), (&b, "2")] {
        let v = get_json(&format!("{}/api/v1/query?query=which&time=1", s.url())).await;
        assert_eq!(v["data"]["result"][0]["value"][1], want);
    }
    a.shutdown().await;
    // b is unaffected.
    let v = get_json(&format!("{}/api/v1/query?query=which&time=1", b.url())).await;
    assert_eq!(v["data"]["result"][0]["value"][1], "2");
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_options_scrape_the_server_itself() {
    let s = Server::start(ServerOptions::default()).await.unwrap();
    let url = format!("{}/api/v1/targets", s.url());
    let v = get_json(&url).await;
    let t = &v["data"]["activeTargets"][0];
    assert_eq!(t["labels"]["job"], "prometheus");
    assert_eq!(
        t["scrapeUrl"],
        format!("{}/metrics", s.url().replace("127.0.0.1", "localhost"))
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_refuses_to_start() {
    let err = Server::start(ServerOptions {
        config: ConfigSource::Text("scrape_configs:\n  - job_name: x\n    nope: 1\n".into()),
        ..ServerOptions::default()
    })
    .await
    .err()
    .expect("start fails");
    assert!(err.to_string().contains("nope"), "{err}");
    // A reload with a bad file keeps the good configuration.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yml");
    std::fs::write(&p, "global:\n  scrape_interval: 15s\n").unwrap();
    let s = Server::start(ServerOptions {
        config: ConfigSource::File(p.clone()),
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    std::fs::write(&p, "global: [\n").unwrap();
    assert!(s.reload().is_err());
    let v = get_json(&format!("{}/api/v1/status/config", s.url())).await;
    assert!(v["data"]["yaml"]
        .as_str()
        .unwrap()
        .contains("scrape_interval: 15s"));
    tokio::time::sleep(Duration::from_millis(10)).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_query_results_from_series_notation() {
    let s = Server::start(no_scrape()).await.unwrap();
    let n = s
        .append_series(r#"http_requests_total{job="a"} 0+10x100"#, 0, 15_000)
        .unwrap();
    assert_eq!(n, 101);
    let r = s.query("http_requests_total", 30_000).unwrap();
    match r.value {
        promlite_promql::Value::Vector(v) => {
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].v, 20.0);
            assert_eq!(v[0].labels.get("job"), Some("a"));
        }
        other => panic!("{other:?}"),
    }
    let r = s
        .query_range("rate(http_requests_total[1m])", 60_000, 120_000, 30_000)
        .unwrap();
    match r.value {
        promlite_promql::Value::Matrix(m) => {
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].points.len(), 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(s.append_series("bad{ 1 2", 0, 1).is_err());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_delete_series_removes_data() {
    let s = Server::start(ServerOptions {
        enable_admin_api: true,
        ..no_scrape()
    })
    .await
    .unwrap();
    s.append_series(r#"gone{job="x"} 1x10"#, 0, 1_000).unwrap();
    s.append_series(r#"kept{job="x"} 1x10"#, 0, 1_000).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/admin/tsdb/delete_series", s.url()))
        .form(&[("match[]", "gone"), ("start", "0"), ("end", "100")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let v = get_json(&format!(
        "{}/api/v1/series?match[]={{job=\"x\"}}&start=0&end=100",
        s.url()
    ))
    .await;
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["__name__"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["kept"]);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/admin/tsdb/clean_tombstones", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    s.shutdown().await;
}
