//! `/api/v1/otlp/v1/metrics`: OTLP metrics translated as Prometheus 3
//! does with the default `otlp` configuration.

use std::collections::BTreeMap;
use std::io::Write;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use promlite_api::{router, ApiOptions, ApiState, OtlpOptions};
use promlite_prompb::otlp::*;
use prost::Message;
use tower::ServiceExt;

use super::support::*;

const URI: &str = "/api/v1/otlp/v1/metrics";

/// Milliseconds to OTLP nanoseconds.
fn ns(ms: i64) -> u64 {
    ms as u64 * 1_000_000
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue::string(k, v)
}

fn number(attrs: Vec<KeyValue>, st: i64, t: i64, v: NumberValue) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: if st == 0 { 0 } else { ns(st) },
        time_unix_nano: ns(t),
        value: Some(v),
        flags: 0,
    }
}

fn metric(name: &str, unit: &str, data: MetricData) -> Metric {
    Metric {
        name: name.into(),
        description: String::new(),
        unit: unit.into(),
        data: Some(data),
    }
}

fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "test".into(),
                    ..InstrumentationScope::default()
                }),
                metrics,
            }],
        }],
    }
}

const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;

/// The request of the main test: a gauge, a ratio gauge with a stale
/// point, a counter in seconds, a histogram, a summary, a delta sum and an
/// exponential histogram, from one resource.
fn full_request() -> ExportMetricsServiceRequest {
    let counter: Vec<NumberDataPoint> = (0..5)
        .map(|i| {
            number(
                vec![kv("cpu", "0")],
                T0 - 1_000,
                T0 + i * 15_000,
                NumberValue::AsDouble((i * 15) as f64),
            )
        })
        // Same value trend, but the start time moved past the previous
        // point: a counter reset only the start timestamp reveals.
        .chain([number(
            vec![kv("cpu", "0")],
            T0 + 65_000,
            T0 + 75_000,
            NumberValue::AsDouble(100.0),
        )])
        .collect();
    let mut stale = number(vec![], 0, T0 + 30_000, NumberValue::AsDouble(0.0));
    stale.flags = FLAG_NO_RECORDED_VALUE;
    request(
        vec![
            kv("service.name", "checkout"),
            kv("service.namespace", "shop"),
            kv("service.instance.id", "pod-1"),
            kv("deployment.environment", "prod"),
        ],
        vec![
            metric(
                "process.memory.usage",
                "By",
                MetricData::Gauge(Gauge {
                    data_points: vec![number(
                        vec![kv("host.arch", "amd64")],
                        0,
                        T0,
                        NumberValue::AsInt(1024),
                    )],
                }),
            ),
            metric(
                "cpu.utilization",
                "1",
                MetricData::Gauge(Gauge {
                    data_points: vec![number(vec![], 0, T0, NumberValue::AsDouble(0.25)), stale],
                }),
            ),
            metric(
                "cpu.time",
                "s",
                MetricData::Sum(Sum {
                    data_points: counter,
                    aggregation_temporality: CUMULATIVE,
                    is_monotonic: true,
                }),
            ),
            metric(
                "http.server.request.duration",
                "s",
                MetricData::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: vec![kv("http.request.method", "GET")],
                        start_time_unix_nano: ns(T0 - 1_000),
                        time_unix_nano: ns(T0),
                        count: 10,
                        sum: Some(4.5),
                        bucket_counts: vec![2, 3, 4, 1],
                        explicit_bounds: vec![0.1, 0.5, 1.0],
                        flags: 0,
                    }],
                    aggregation_temporality: CUMULATIVE,
                }),
            ),
            metric(
                "rpc.latency",
                "ms",
                MetricData::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        attributes: vec![],
                        start_time_unix_nano: ns(T0 - 1_000),
                        time_unix_nano: ns(T0),
                        count: 4,
                        sum: 12.0,
                        quantile_values: vec![
                            ValueAtQuantile {
                                quantile: 0.5,
                                value: 2.0,
                            },
                            ValueAtQuantile {
                                quantile: 0.99,
                                value: 7.0,
                            },
                        ],
                        flags: 0,
                    }],
                }),
            ),
            metric(
                "requests.delta",
                "{request}",
                MetricData::Sum(Sum {
                    data_points: vec![
                        number(vec![], T0 - 15_000, T0, NumberValue::AsInt(3)),
                        number(vec![], T0, T0 + 15_000, NumberValue::AsInt(4)),
                    ],
                    aggregation_temporality: AggregationTemporality::Delta as i32,
                    is_monotonic: true,
                }),
            ),
            metric(
                "queue.wait",
                "s",
                MetricData::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        time_unix_nano: ns(T0),
                        count: 1,
                        ..ExponentialHistogramDataPoint::default()
                    }],
                    aggregation_temporality: CUMULATIVE,
                }),
            ),
        ],
    )
}

fn post(body: Vec<u8>, content_type: &str, encoding: &str) -> Request<Body> {
    let mut b = Request::builder().method(Method::POST).uri(URI);
    if !content_type.is_empty() {
        b = b.header(header::CONTENT_TYPE, content_type);
    }
    if !encoding.is_empty() {
        b = b.header(header::CONTENT_ENCODING, encoding);
    }
    b.body(Body::from(body)).unwrap()
}

fn proto(req: &ExportMetricsServiceRequest) -> Request<Body> {
    post(req.encode_to_vec(), "application/x-protobuf", "")
}

/// Status, content type and raw body (protobuf is not text).
async fn send_raw(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, ct, bytes.to_vec())
}

fn receiver_state() -> ApiState {
    state_with(ApiOptions {
        enable_otlp_receiver: true,
        ..ApiOptions::default()
    })
}

/// The instant vector of `q` at `t_ms` as (labels, value) pairs, sorted.
async fn query(app: &axum::Router, q: &str, t_ms: i64) -> Vec<(BTreeMap<String, String>, String)> {
    let t = t_ms as f64 / 1000.0;
    let r = get(app, &format!("/api/v1/query?query={}&time={t}", enc(q))).await;
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    let v = r.json();
    let mut out: Vec<_> = v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{q}: {}", r.body))
        .iter()
        .map(|s| {
            let labels = s["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            (labels, s["value"][1].as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

fn ls(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn receiver_is_off_by_default() {
    let (status, _, body) = send_raw(&app(), proto(&full_request())).await;
    assert_eq!(status, 404);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "otlp write receiver needs to be enabled with --web.enable-otlp-receiver\n"
    );
}

#[tokio::test]
async fn metrics_are_translated_as_prometheus_does() {
    let app = router(receiver_state());
    let (status, ct, body) = send_raw(&app, proto(&full_request())).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/x-protobuf");
    // The delta sum (2 points) and the exponential histogram (1 point)
    // are dropped and reported; everything else is kept.
    let resp = ExportMetricsServiceResponse::decode(body.as_slice()).unwrap();
    let partial = resp.partial_success.expect("partial success");
    assert_eq!(partial.rejected_data_points, 3);
    assert!(
        partial
            .error_message
            .contains("invalid temporality and type combination for metric \"requests.delta\""),
        "{}",
        partial.error_message
    );
    assert!(
        partial.error_message.contains("\"queue.wait\""),
        "{}",
        partial.error_message
    );

    let id = [("instance", "pod-1"), ("job", "shop/checkout")];
    let with = |name: &str, extra: &[(&str, &str)]| {
        let mut l = ls(&id);
        l.insert("__name__".into(), name.into());
        for (k, v) in extra {
            l.insert(k.to_string(), v.to_string());
        }
        l
    };

    // Gauge: unit suffix, attribute name escaped, int value.
    assert_eq!(
        query(&app, "process_memory_usage_bytes", T0).await,
        vec![(
            with("process_memory_usage_bytes", &[("host_arch", "amd64")]),
            "1024".into()
        )]
    );
    // Unit "1" on a gauge: `_ratio`. The no-recorded-value point is a
    // staleness marker: the series is gone at T0+30s.
    assert_eq!(
        query(&app, "cpu_utilization_ratio", T0 + 15_000).await,
        vec![(with("cpu_utilization_ratio", &[]), "0.25".into())]
    );
    assert!(query(&app, "cpu_utilization_ratio", T0 + 45_000)
        .await
        .is_empty());

    // Monotonic cumulative sum in seconds: `_seconds_total`, a counter
    // growing by 1/s (rate rounded: extrapolation is not exact in floats).
    assert_eq!(
        query(&app, "cpu_time_seconds_total", T0 + 60_000).await,
        vec![(with("cpu_time_seconds_total", &[("cpu", "0")]), "60".into())]
    );
    assert_eq!(
        query(
            &app,
            "round(rate(cpu_time_seconds_total[1m]), 0.001)",
            T0 + 60_000
        )
        .await,
        vec![(
            ls(&[
                ("cpu", "0"),
                ("instance", "pod-1"),
                ("job", "shop/checkout")
            ]),
            "1".into()
        )]
    );
    // The last point's start time is after the previous point: a reset
    // that only the stored start timestamp shows (the value went up).
    assert_eq!(
        query(&app, "resets(cpu_time_seconds_total[2m])", T0 + 75_000).await,
        vec![(
            ls(&[
                ("cpu", "0"),
                ("instance", "pod-1"),
                ("job", "shop/checkout")
            ]),
            "1".into()
        )]
    );

    // Histogram: cumulative buckets, `+Inf` = count, `_count`, `_sum`.
    let m = [("http_request_method", "GET")];
    let buckets = query(&app, "http_server_request_duration_seconds_bucket", T0).await;
    let b = "http_server_request_duration_seconds_bucket";
    let le = |le: &str| {
        let mut l = with(b, &m);
        l.insert("le".into(), le.into());
        l
    };
    let mut want = vec![
        (le("0.1"), "2".to_string()),
        (le("0.5"), "5".to_string()),
        (le("1"), "9".to_string()),
        (le("+Inf"), "10".to_string()),
    ];
    want.sort();
    assert_eq!(buckets, want);
    assert_eq!(
        query(&app, "http_server_request_duration_seconds_count", T0).await,
        vec![(
            with("http_server_request_duration_seconds_count", &m),
            "10".into()
        )]
    );
    assert_eq!(
        query(&app, "http_server_request_duration_seconds_sum", T0).await,
        vec![(
            with("http_server_request_duration_seconds_sum", &m),
            "4.5".into()
        )]
    );
    assert_eq!(
        query(
            &app,
            "histogram_quantile(0.5, http_server_request_duration_seconds_bucket)",
            T0
        )
        .await
        .len(),
        1
    );

    // Summary: quantile series plus `_sum` and `_count`.
    assert_eq!(
        query(&app, "rpc_latency_milliseconds", T0).await,
        vec![
            (
                with("rpc_latency_milliseconds", &[("quantile", "0.5")]),
                "2".into()
            ),
            (
                with("rpc_latency_milliseconds", &[("quantile", "0.99")]),
                "7".into()
            ),
        ]
    );
    assert_eq!(
        query(&app, "rpc_latency_milliseconds_sum", T0).await,
        vec![(with("rpc_latency_milliseconds_sum", &[]), "12".into())]
    );
    assert_eq!(
        query(&app, "rpc_latency_milliseconds_count", T0).await,
        vec![(with("rpc_latency_milliseconds_count", &[]), "4".into())]
    );

    // target_info: the non-identifying resource attributes.
    assert_eq!(
        query(&app, "target_info", T0 + 75_000).await,
        vec![(
            with("target_info", &[("deployment_environment", "prod")]),
            "1".into()
        )]
    );
    // Dropped data is not stored.
    assert!(
        query(&app, "{__name__=~\"requests.*|queue.*\"}", T0 + 15_000)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let app = router(receiver_state());
    let req = request(
        vec![kv("service.name", "svc")],
        vec![metric(
            "temperature",
            "Cel",
            MetricData::Gauge(Gauge {
                data_points: vec![number(vec![], 0, T0, NumberValue::AsDouble(21.5))],
            }),
        )],
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&req.encode_to_vec()).unwrap();
    let (status, _, body) = send_raw(
        &app,
        post(gz.finish().unwrap(), "application/x-protobuf", "gzip"),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // Full success: an empty ExportMetricsServiceResponse.
    assert!(body.is_empty());
    // Only service.name: no target_info, job only.
    assert_eq!(
        query(&app, "temperature_celsius", T0).await,
        vec![(
            ls(&[("__name__", "temperature_celsius"), ("job", "svc")]),
            "21.5".into()
        )]
    );
    assert!(query(&app, "target_info", T0).await.is_empty());

    // A body that claims gzip but is not.
    let (status, _, body) = send_raw(
        &app,
        post(req.encode_to_vec(), "application/x-protobuf", "gzip"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(String::from_utf8(body).unwrap().starts_with("gzip: "));
}

#[tokio::test]
async fn bad_requests_are_rejected_and_the_server_keeps_serving() {
    let app = router(receiver_state());
    // Not protobuf.
    let (status, _, body) = send_raw(
        &app,
        post(
            b"\xff\xff\xff garbage".to_vec(),
            "application/x-protobuf",
            "",
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert!(!body.is_empty());
    // JSON is not implemented.
    let (status, _, body) = send_raw(&app, post(b"{}".to_vec(), "application/json", "")).await;
    assert_eq!(status, 415);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "JSON-encoded OTLP requests are not supported by this server; send application/x-protobuf\n"
    );
    // Unknown content type and compression, as Prometheus: 400.
    let (status, _, body) = send_raw(&app, post(Vec::new(), "text/plain", "")).await;
    assert_eq!(status, 400);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "unsupported content type: text/plain, supported: [application/x-protobuf]\n"
    );
    let (status, _, body) =
        send_raw(&app, post(Vec::new(), "application/x-protobuf", "snappy")).await;
    assert_eq!(status, 400);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "unsupported compression: snappy. Only \"gzip\" or no compression supported\n"
    );
    // Still serving.
    let (status, _, _) = send_raw(&app, proto(&ExportMetricsServiceRequest::default())).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn out_of_order_samples_are_400_and_roll_back() {
    let app = router(receiver_state());
    let g = |name: &str, t: i64| {
        metric(
            name,
            "",
            MetricData::Gauge(Gauge {
                data_points: vec![number(vec![], 0, t, NumberValue::AsDouble(1.0))],
            }),
        )
    };
    let first = request(
        vec![kv("service.name", "svc")],
        vec![g("late", T0 + 60_000)],
    );
    assert_eq!(send_raw(&app, proto(&first)).await.0, 200);
    let second = request(
        vec![kv("service.name", "svc")],
        vec![g("fresh", T0), g("late", T0)],
    );
    let (status, _, body) = send_raw(&app, proto(&second)).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(query(&app, "fresh", T0).await.is_empty());
}

#[tokio::test]
async fn promoted_resource_attributes_follow_reloads() {
    let state = receiver_state();
    let app = router(state.clone());
    let req = |name: &str| {
        request(
            vec![kv("service.name", "svc"), kv("k8s.cluster.name", "east")],
            vec![metric(
                name,
                "",
                MetricData::Gauge(Gauge {
                    data_points: vec![number(
                        vec![kv("k8s.cluster.name", "from-point")],
                        0,
                        T0,
                        NumberValue::AsDouble(1.0),
                    )],
                }),
            )],
        )
    };
    let mut r = req("before");
    // Drop the point attribute to see the promoted one.
    if let Some(MetricData::Gauge(g)) = &mut r.resource_metrics[0].scope_metrics[0].metrics[0].data
    {
        g.data_points[0].attributes.clear();
    }
    assert_eq!(send_raw(&app, proto(&r)).await.0, 200);
    assert_eq!(
        query(&app, "before", T0).await,
        vec![(ls(&[("__name__", "before"), ("job", "svc")]), "1".into())]
    );

    state.set_otlp_options(OtlpOptions {
        promote_resource_attributes: vec!["k8s.cluster.name".into()],
        ..OtlpOptions::default()
    });
    let mut r = req("after");
    if let Some(MetricData::Gauge(g)) = &mut r.resource_metrics[0].scope_metrics[0].metrics[0].data
    {
        g.data_points[0].attributes.clear();
    }
    assert_eq!(send_raw(&app, proto(&r)).await.0, 200);
    assert_eq!(
        query(&app, "after", T0).await,
        vec![(
            ls(&[
                ("__name__", "after"),
                ("job", "svc"),
                ("k8s_cluster_name", "east")
            ]),
            "1".into()
        )]
    );
    // A data point attribute wins over a promoted resource attribute.
    assert_eq!(send_raw(&app, proto(&req("point_wins"))).await.0, 200);
    assert_eq!(
        query(&app, "point_wins", T0).await,
        vec![(
            ls(&[
                ("__name__", "point_wins"),
                ("job", "svc"),
                ("k8s_cluster_name", "from-point")
            ]),
            "1".into()
        )]
    );
    // target_info carries the resource attribute either way.
    assert_eq!(
        query(&app, "target_info", T0).await,
        vec![(
            ls(&[
                ("__name__", "target_info"),
                ("job", "svc"),
                ("k8s_cluster_name", "east")
            ]),
            "1".into()
        )]
    );
}
