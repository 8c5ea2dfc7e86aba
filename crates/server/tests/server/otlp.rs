//! `--web.enable-otlp-receiver` and the `otlp` configuration section,
//! through the binary.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite_prompb::otlp::*;
use prost::Message;

use crate::{get, request, start};

/// A request with one gauge `temp` from service `svc` with a
/// `k8s.cluster.name` resource attribute, at `t_ms`.
fn gauge_request(t_ms: u64) -> Vec<u8> {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    KeyValue::string("service.name", "svc"),
                    KeyValue::string("k8s.cluster.name", "east"),
                ],
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics: vec![Metric {
                    name: "temp".into(),
                    unit: "Cel".into(),
                    data: Some(MetricData::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: t_ms * 1_000_000,
                            value: Some(NumberValue::AsDouble(20.0)),
                            ..NumberDataPoint::default()
                        }],
                    })),
                    ..Metric::default()
                }],
            }],
        }],
    }
    .encode_to_vec()
}

fn post(addr: &str, body: Vec<u8>) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("http://{addr}/api/v1/otlp/v1/metrics"))
        .header("Content-Type", "application/x-protobuf")
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn otlp_receiver_needs_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&["--storage.in-memory"], dir.path());
    let (code, body) = post(&s.addr, gauge_request(now_ms()));
    assert_eq!(code, 404);
    assert_eq!(
        body,
        "otlp write receiver needs to be enabled with --web.enable-otlp-receiver\n"
    );
    let (_, flags) = get(&s.addr, "/api/v1/status/flags").unwrap();
    assert!(
        flags.contains(r#""web.enable-otlp-receiver":"false""#),
        "{flags}"
    );
}

#[test]
fn otlp_settings_come_from_the_config_and_follow_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.yml");
    std::fs::write(
        &cfg,
        "otlp:\n  promote_resource_attributes: [k8s.cluster.name]\n",
    )
    .unwrap();
    let s = start(
        &[
            "--storage.in-memory",
            "--web.enable-otlp-receiver",
            "--web.enable-lifecycle",
            &format!("--config.file={}", cfg.display()),
        ],
        dir.path(),
    );
    let t = now_ms();
    assert_eq!(post(&s.addr, gauge_request(t)), (200, String::new()));
    let q = |query: &str| {
        get(
            &s.addr,
            &format!("/api/v1/query?query={query}&time={}", t as f64 / 1000.0),
        )
        .unwrap()
        .1
    };
    let body = q("temp_celsius");
    assert!(
        body.contains(
            r#""metric":{"__name__":"temp_celsius","job":"svc","k8s_cluster_name":"east"},"#
        ),
        "{body}"
    );

    // Without the promotion and with names kept as they are.
    std::fs::write(&cfg, "otlp:\n  translation_strategy: NoTranslation\n").unwrap();
    let (code, _) = request("POST", &format!("http://{}/-/reload", s.addr)).unwrap();
    assert_eq!(code, 200);
    assert_eq!(post(&s.addr, gauge_request(t)), (200, String::new()));
    let body = q("temp");
    assert!(
        body.contains(r#""metric":{"__name__":"temp","job":"svc"},"#),
        "{body}"
    );
}
