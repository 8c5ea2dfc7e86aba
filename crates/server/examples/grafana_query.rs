//! A test of a Grafana-style query against an in-process promlite: data
//! in promtool's series notation, a `query_range` POSTed as a form, as
//! Grafana's Prometheus datasource sends it.
//!
//! `cargo run -p promlite --example grafana_query` runs it once;
//! `cargo test -p promlite --example grafana_query` runs it as a test.

#![allow(clippy::print_stdout)]

use promlite::{ConfigSource, Server, ServerOptions};

const T0: i64 = 1_700_000_000_000;

async fn check() {
    let server = Server::start(ServerOptions {
        config: ConfigSource::Text(String::new()),
        ..ServerOptions::default()
    })
    .await
    .expect("server starts");
    for line in [
        r#"http_requests_total{job="api", instance="a"} 0+60x60"#,
        r#"http_requests_total{job="api", instance="b"} 0+120x60"#,
    ] {
        server
            .append_series(line, T0, 15_000)
            .expect("series appended");
    }
    let form = [
        ("query", "sum by (job) (rate(http_requests_total[1m]))"),
        ("start", "1700000300"),
        ("end", "1700000600"),
        ("step", "60"),
    ];
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/query_range", server.url()))
        .form(&form)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(resp["status"], "success", "{resp}");
    let series = &resp["data"]["result"][0];
    assert_eq!(series["metric"]["job"], "api");
    let values = series["values"].as_array().expect("values");
    assert_eq!(values.len(), 6);
    for v in values {
        // 60/15s + 120/15s = 12 per second (values are strings, as in Prometheus).
        let x: f64 = v[1].as_str().expect("string value").parse().expect("float");
        assert!((x - 12.0).abs() < 1e-9, "{v}");
    }
    server.shutdown().await;
}

#[tokio::main]
async fn main() {
    check().await;
    println!("ok");
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn grafana_style_range_query() {
        super::check().await;
    }
}
