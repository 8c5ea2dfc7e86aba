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

    assert_full_request_stored(&app).await;
}

/// The series [`full_request`] (or its JSON form) leaves behind, as
/// Prometheus' translation rules name and compute them.
async fn assert_full_request_stored(app: &axum::Router) {
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
        query(app, "process_memory_usage_bytes", T0).await,
        vec![(
            with("process_memory_usage_bytes", &[("host_arch", "amd64")]),
            "1024".into()
        )]
    );
    // Unit "1" on a gauge: `_ratio`. The no-recorded-value point is a
    // staleness marker: the series is gone at T0+30s.
    assert_eq!(
        query(app, "cpu_utilization_ratio", T0 + 15_000).await,
        vec![(with("cpu_utilization_ratio", &[]), "0.25".into())]
    );
    assert!(query(app, "cpu_utilization_ratio", T0 + 45_000)
        .await
        .is_empty());

    // Monotonic cumulative sum in seconds: `_seconds_total`, a counter
    // growing by 1/s (rate rounded: extrapolation is not exact in floats).
    assert_eq!(
        query(app, "cpu_time_seconds_total", T0 + 60_000).await,
        vec![(with("cpu_time_seconds_total", &[("cpu", "0")]), "60".into())]
    );
    assert_eq!(
        query(
            app,
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
        query(app, "resets(cpu_time_seconds_total[2m])", T0 + 75_000).await,
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
    let buckets = query(app, "http_server_request_duration_seconds_bucket", T0).await;
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
        query(app, "http_server_request_duration_seconds_count", T0).await,
        vec![(
            with("http_server_request_duration_seconds_count", &m),
            "10".into()
        )]
    );
    assert_eq!(
        query(app, "http_server_request_duration_seconds_sum", T0).await,
        vec![(
            with("http_server_request_duration_seconds_sum", &m),
            "4.5".into()
        )]
    );
    assert_eq!(
        query(
            app,
            "histogram_quantile(0.5, http_server_request_duration_seconds_bucket)",
            T0
        )
        .await
        .len(),
        1
    );

    // Summary: quantile series plus `_sum` and `_count`.
    assert_eq!(
        query(app, "rpc_latency_milliseconds", T0).await,
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
        query(app, "rpc_latency_milliseconds_sum", T0).await,
        vec![(with("rpc_latency_milliseconds_sum", &[]), "12".into())]
    );
    assert_eq!(
        query(app, "rpc_latency_milliseconds_count", T0).await,
        vec![(with("rpc_latency_milliseconds_count", &[]), "4".into())]
    );

    // target_info: the non-identifying resource attributes.
    assert_eq!(
        query(app, "target_info", T0 + 75_000).await,
        vec![(
            with("target_info", &[("deployment_environment", "prod")]),
            "1".into()
        )]
    );
    // Dropped data is not stored.
    assert!(
        query(app, "{__name__=~\"requests.*|queue.*\"}", T0 + 15_000)
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
    // Unknown content type and compression, as Prometheus: 400.
    let (status, _, body) = send_raw(&app, post(Vec::new(), "text/plain", "")).await;
    assert_eq!(status, 400);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "unsupported content type: text/plain, supported: [application/json, application/x-protobuf]\n"
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

// OTLP/HTTP JSON: the "JSON Protobuf Encoding" of the OTLP specification
// (proto3 JSON with lowerCamelCase keys, integer enums, 64-bit integers as
// decimal strings or numbers, unknown fields ignored).

fn json(body: &str) -> Request<Body> {
    post(body.as_bytes().to_vec(), "application/json", "")
}

/// [`full_request`] written out in the JSON encoding, int64 fields as the
/// decimal strings encoders send. T0 is 1_700_000_000_000 ms.
const FULL_REQUEST_JSON: &str = r#"{
  "resourceMetrics": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "checkout"}},
      {"key": "service.namespace", "value": {"stringValue": "shop"}},
      {"key": "service.instance.id", "value": {"stringValue": "pod-1"}},
      {"key": "deployment.environment", "value": {"stringValue": "prod"}}
    ]},
    "scopeMetrics": [{
      "scope": {"name": "test"},
      "metrics": [
        {"name": "process.memory.usage", "unit": "By", "gauge": {"dataPoints": [
          {"attributes": [{"key": "host.arch", "value": {"stringValue": "amd64"}}],
           "timeUnixNano": "1700000000000000000", "asInt": "1024"}
        ]}},
        {"name": "cpu.utilization", "unit": "1", "gauge": {"dataPoints": [
          {"timeUnixNano": "1700000000000000000", "asDouble": 0.25},
          {"timeUnixNano": "1700000030000000000", "asDouble": 0, "flags": 1}
        ]}},
        {"name": "cpu.time", "unit": "s", "sum": {
          "aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [
            {"attributes": [{"key": "cpu", "value": {"stringValue": "0"}}],
             "startTimeUnixNano": "1699999999000000000", "timeUnixNano": "1700000000000000000", "asDouble": 0},
            {"attributes": [{"key": "cpu", "value": {"stringValue": "0"}}],
             "startTimeUnixNano": "1699999999000000000", "timeUnixNano": "1700000015000000000", "asDouble": 15},
            {"attributes": [{"key": "cpu", "value": {"stringValue": "0"}}],
             "startTimeUnixNano": "1699999999000000000", "timeUnixNano": "1700000030000000000", "asDouble": 30},
            {"attributes": [{"key": "cpu", "value": {"stringValue": "0"}}],
             "startTimeUnixNano": "1699999999000000000", "timeUnixNano": "1700000045000000000", "asDouble": 45},
            {"attributes": [{"key": "cpu", "value": {"stringValue": "0"}}],
             "startTimeUnixNano": "1699999999000000000", "timeUnixNano": "1700000060000000000", "asDouble": 60},
            {"attributes": [{"key": "cpu", "value": {"stringValue": "0"}}],
             "startTimeUnixNano": "1700000065000000000", "timeUnixNano": "1700000075000000000", "asDouble": 100}
          ]}},
        {"name": "http.server.request.duration", "unit": "s", "histogram": {
          "aggregationTemporality": 2, "dataPoints": [
            {"attributes": [{"key": "http.request.method", "value": {"stringValue": "GET"}}],
             "startTimeUnixNano": "1699999999000000000", "timeUnixNano": "1700000000000000000",
             "count": "10", "sum": 4.5, "bucketCounts": ["2", "3", "4", "1"],
             "explicitBounds": [0.1, 0.5, 1.0]}
          ]}},
        {"name": "rpc.latency", "unit": "ms", "summary": {"dataPoints": [
          {"startTimeUnixNano": "1699999999000000000", "timeUnixNano": "1700000000000000000",
           "count": "4", "sum": 12.0,
           "quantileValues": [{"quantile": 0.5, "value": 2.0}, {"quantile": 0.99, "value": 7.0}]}
        ]}},
        {"name": "requests.delta", "unit": "{request}", "sum": {
          "aggregationTemporality": 1, "isMonotonic": true, "dataPoints": [
            {"startTimeUnixNano": "1699999985000000000", "timeUnixNano": "1700000000000000000", "asInt": "3"},
            {"startTimeUnixNano": "1700000000000000000", "timeUnixNano": "1700000015000000000", "asInt": "4"}
          ]}},
        {"name": "queue.wait", "unit": "s", "exponentialHistogram": {
          "aggregationTemporality": 2, "dataPoints": [
            {"timeUnixNano": "1700000000000000000", "count": "1", "scale": 0, "zeroCount": "0",
             "positive": {"offset": 0, "bucketCounts": ["1"]}}
          ]}}
      ]
    }]
  }]
}"#;

/// The JSON response body, parsed.
fn response_json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn json_metrics_are_translated_as_protobuf_ones() {
    let app = router(receiver_state());
    let (status, ct, body) = send_raw(&app, json(FULL_REQUEST_JSON)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/json");
    // The same partial success as over protobuf, in proto3 JSON: the
    // int64 count is a decimal string.
    let resp = response_json(&body);
    let partial = &resp["partialSuccess"];
    assert_eq!(partial["rejectedDataPoints"], "3", "{resp}");
    let msg = partial["errorMessage"].as_str().unwrap();
    assert!(
        msg.contains("invalid temporality and type combination for metric \"requests.delta\""),
        "{msg}"
    );
    assert!(msg.contains("\"queue.wait\""), "{msg}");
    assert_eq!(resp.as_object().unwrap().len(), 1, "{resp}");
    assert_eq!(partial.as_object().unwrap().len(), 2, "{resp}");

    assert_full_request_stored(&app).await;
}

#[tokio::test]
async fn json_full_success_answers_an_empty_object() {
    let app = router(receiver_state());
    let body = r#"{"resourceMetrics": [{
      "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
      "scopeMetrics": [{"metrics": [{"name": "temperature", "unit": "Cel", "gauge": {"dataPoints": [
        {"timeUnixNano": "1700000000000000000", "asDouble": 21.5}
      ]}}]}]
    }]}"#;
    let (status, ct, resp) = send_raw(&app, json(body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    assert_eq!(ct, "application/json");
    assert_eq!(resp, b"{}");
    assert_eq!(
        query(&app, "temperature_celsius", T0).await,
        vec![(
            ls(&[("__name__", "temperature_celsius"), ("job", "svc")]),
            "21.5".into()
        )]
    );
    // A content type with parameters is still JSON; an empty request is
    // a full success.
    let (status, ct, resp) = send_raw(
        &app,
        post(b"{}".to_vec(), "application/json; charset=utf-8", ""),
    )
    .await;
    assert_eq!((status.as_u16(), ct.as_str()), (200, "application/json"));
    assert_eq!(resp, b"{}");
}

#[tokio::test]
async fn json_int64_fields_may_be_strings_or_numbers() {
    let app = router(receiver_state());
    // The same values written both ways; special doubles as strings.
    let body = r#"{"resourceMetrics": [{
      "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
      "scopeMetrics": [{"metrics": [
        {"name": "as_strings", "gauge": {"dataPoints": [
          {"attributes": [{"key": "n", "value": {"intValue": "-7"}}],
           "timeUnixNano": "1700000000000000000", "asInt": "9007199254740993"}
        ]}},
        {"name": "as_numbers", "gauge": {"dataPoints": [
          {"attributes": [{"key": "n", "value": {"intValue": -7}}],
           "timeUnixNano": 1700000000000000000, "asInt": 9007199254740993}
        ]}},
        {"name": "specials", "gauge": {"dataPoints": [
          {"attributes": [{"key": "v", "value": {"stringValue": "nan"}}],
           "timeUnixNano": 1700000000000000000, "asDouble": "NaN"},
          {"attributes": [{"key": "v", "value": {"stringValue": "inf"}}],
           "timeUnixNano": 1700000000000000000, "asDouble": "Infinity"},
          {"attributes": [{"key": "v", "value": {"stringValue": "-inf"}}],
           "timeUnixNano": 1700000000000000000, "asDouble": "-Infinity"}
        ]}},
        {"name": "h", "histogram": {"aggregationTemporality": 2, "dataPoints": [
          {"timeUnixNano": 1700000000000000000, "startTimeUnixNano": "1699999999000000000",
           "count": 5, "sum": 1, "bucketCounts": [1, "4"], "explicitBounds": [1]}
        ]}}
      ]}]
    }]}"#;
    let (status, _, resp) = send_raw(&app, json(body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    assert_eq!(resp, b"{}");
    // 2^53 + 1 as an int64 point; stored as the nearest double, 2^53.
    for name in ["as_strings", "as_numbers"] {
        assert_eq!(
            query(&app, name, T0).await,
            vec![(
                ls(&[("__name__", name), ("job", "svc"), ("n", "-7")]),
                "9007199254740992".into()
            )]
        );
    }
    let specials = query(&app, "specials", T0).await;
    let values: Vec<(&str, &str)> = specials
        .iter()
        .map(|(l, v)| (l["v"].as_str(), v.as_str()))
        .collect();
    assert_eq!(
        values,
        vec![("-inf", "-Inf"), ("inf", "+Inf"), ("nan", "NaN")]
    );
    assert_eq!(
        query(&app, "h_bucket", T0)
            .await
            .into_iter()
            .map(|(l, v)| (l["le"].clone(), v))
            .collect::<Vec<_>>(),
        vec![
            ("+Inf".to_string(), "5".to_string()),
            ("1".into(), "1".into())
        ]
    );
    assert_eq!(query(&app, "h_count", T0).await[0].1, "5");
}

#[tokio::test]
async fn json_snake_case_names_and_enum_names_are_accepted() {
    let app = router(receiver_state());
    let body = r#"{"resource_metrics": [{
      "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "svc"}}]},
      "scope_metrics": [{"metrics": [
        {"name": "jobs", "sum": {
          "aggregation_temporality": "AGGREGATION_TEMPORALITY_CUMULATIVE",
          "is_monotonic": true,
          "data_points": [
            {"attributes": [{"key": "queue", "value": {"int_value": "3"}}],
             "start_time_unix_nano": "1699999999000000000",
             "time_unix_nano": "1700000000000000000", "as_int": "12"}
          ]}},
        {"name": "lat", "unit": "s", "summary": {"data_points": [
          {"time_unix_nano": "1700000000000000000", "count": "2", "sum": 0.5,
           "quantile_values": [{"quantile": 0.9, "value": 0.4}]}
        ]}},
        {"name": "sizes", "exponential_histogram": {"aggregation_temporality": 2, "data_points": [
          {"time_unix_nano": "1700000000000000000", "count": "1"}
        ]}}
      ]}]
    }]}"#;
    let (status, _, resp) = send_raw(&app, json(body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    // The exponential histogram was recognised under its snake_case name
    // and reported as dropped.
    assert_eq!(
        response_json(&resp)["partialSuccess"]["rejectedDataPoints"],
        "1"
    );
    assert_eq!(
        query(&app, "jobs_total", T0).await,
        vec![(
            ls(&[("__name__", "jobs_total"), ("job", "svc"), ("queue", "3")]),
            "12".into()
        )]
    );
    assert_eq!(
        query(&app, "lat_seconds", T0).await,
        vec![(
            ls(&[
                ("__name__", "lat_seconds"),
                ("job", "svc"),
                ("quantile", "0.9")
            ]),
            "0.4".into()
        )]
    );
}

#[tokio::test]
async fn json_unknown_fields_are_ignored() {
    let app = router(receiver_state());
    // Fields this server does not read (exemplars with hex ids, schema
    // URLs, metadata, dropped counts) and fields no version of the proto
    // has.
    let body = r#"{"resourceMetrics": [{
      "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}],
                   "droppedAttributesCount": 0, "futureField": {"a": [1, {"b": null}]}},
      "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
      "scopeMetrics": [{
        "scope": {"name": "lib", "version": "1.0", "droppedAttributesCount": 0},
        "schemaUrl": "",
        "metrics": [{"name": "up_ish", "description": "d", "metadata": [
            {"key": "k", "value": {"stringValue": "v"}}],
          "gauge": {"dataPoints": [
            {"timeUnixNano": "1700000000000000000", "asDouble": 1,
             "exemplars": [{"timeUnixNano": "1700000000000000000", "asDouble": 0.5,
               "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
               "filteredAttributes": []}],
             "unknownNumber": 1.5e300}
          ]}}]
      }]
    }], "extra": true}"#;
    let (status, _, resp) = send_raw(&app, json(body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    assert_eq!(resp, b"{}");
    assert_eq!(
        query(&app, "up_ish", T0).await,
        vec![(ls(&[("__name__", "up_ish"), ("job", "svc")]), "1".into())]
    );
}

#[tokio::test]
async fn json_attribute_values_of_every_kind() {
    let app = router(receiver_state());
    let body = r#"{"resourceMetrics": [{
      "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
      "scopeMetrics": [{"metrics": [{"name": "kinds", "gauge": {"dataPoints": [
        {"timeUnixNano": "1700000000000000000", "asInt": 1, "attributes": [
          {"key": "b", "value": {"boolValue": true}},
          {"key": "d", "value": {"doubleValue": 1.5}},
          {"key": "bytes", "value": {"bytesValue": "aGkhPw=="}},
          {"key": "bytes_url", "value": {"bytesValue": "aGkhPw"}},
          {"key": "arr", "value": {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "a"}]}}},
          {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "x", "value": {"boolValue": false}}]}}}
        ]}
      ]}}]}]
    }]}"#;
    let (status, _, resp) = send_raw(&app, json(body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    let got = query(&app, "kinds", T0).await;
    assert_eq!(
        got[0].0,
        ls(&[
            ("__name__", "kinds"),
            ("job", "svc"),
            ("b", "true"),
            ("d", "1.5"),
            // "hi!?" in standard base64, whichever alphabet it came in.
            ("bytes", "aGkhPw=="),
            ("bytes_url", "aGkhPw=="),
            ("arr", "[1,\"a\"]"),
            ("kv", "{\"x\":false}"),
        ])
    );
}

#[tokio::test]
async fn json_gzip_bodies_are_accepted() {
    let app = router(receiver_state());
    let body = r#"{"resourceMetrics": [{
      "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
      "scopeMetrics": [{"metrics": [{"name": "zipped", "gauge": {"dataPoints": [
        {"timeUnixNano": "1700000000000000000", "asDouble": 2}
      ]}}]}]
    }]}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let (status, ct, resp) =
        send_raw(&app, post(gz.finish().unwrap(), "application/json", "gzip")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    assert_eq!(ct, "application/json");
    assert_eq!(resp, b"{}");
    assert_eq!(
        query(&app, "zipped", T0).await,
        vec![(ls(&[("__name__", "zipped"), ("job", "svc")]), "2".into())]
    );
    // Plain JSON that claims gzip.
    let (status, _, resp) = send_raw(&app, post(body.into(), "application/json", "gzip")).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8(resp).unwrap().starts_with("gzip: "));
}

#[tokio::test]
async fn json_size_limits_are_the_protobuf_ones() {
    let app = router(state_with(ApiOptions {
        enable_otlp_receiver: true,
        max_remote_write_decoded_bytes: 64,
        ..ApiOptions::default()
    }));
    let body = format!(r#"{{"resourceMetrics": [], "pad": "{}"}}"#, "x".repeat(100));
    let (status, _, resp) = send_raw(&app, json(&body)).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&resp));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let (status, _, _) =
        send_raw(&app, post(gz.finish().unwrap(), "application/json", "gzip")).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn malformed_json_is_400_with_a_message_and_the_server_keeps_serving() {
    let app = router(receiver_state());
    let point = |p: &str| {
        format!(
            r#"{{"resourceMetrics": [{{"scopeMetrics": [{{"metrics": [{{"name": "m", "gauge": {{"dataPoints": [{p}]}}}}]}}]}}]}}"#
        )
    };
    let cases: Vec<(String, &str)> = vec![
        ("{\"resourceMetrics\": [".into(), "invalid OTLP JSON request: EOF while parsing a list"),
        ("not json".into(), "invalid OTLP JSON request: expected ident"),
        ("\"metrics\"".into(), "invalid OTLP JSON request: invalid type: string \"metrics\""),
        (
            point(r#"{"timeUnixNano": true}"#),
            "invalid OTLP JSON request: invalid type: boolean `true`, expected an integer or a string holding one",
        ),
        (
            point(r#"{"timeUnixNano": "soon"}"#),
            "invalid OTLP JSON request: invalid integer string \"soon\"",
        ),
        (
            point(r#"{"timeUnixNano": "-1"}"#),
            "invalid OTLP JSON request: integer -1 out of range",
        ),
        (
            point(r#"{"asDouble": "lots"}"#),
            "invalid OTLP JSON request: invalid number string \"lots\"",
        ),
        (
            point(r#"{"asDouble": 1, "asInt": "1"}"#),
            "invalid OTLP JSON request: number data point sets more than one of asDouble, asInt",
        ),
        (
            point(r#"{"attributes": [{"key": "k", "value": {"stringValue": "a", "intValue": 1}}]}"#),
            "invalid OTLP JSON request: attribute value sets more than one of stringValue, intValue",
        ),
        (
            point(r#"{"attributes": [{"key": "k", "value": {"bytesValue": "!!"}}]}"#),
            "invalid OTLP JSON request: invalid base64 in bytesValue",
        ),
        (
            r#"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "gauge": {}, "sum": {}}]}]}]}"#.into(),
            "invalid OTLP JSON request: metric \"m\" sets more than one of gauge, sum",
        ),
        (
            r#"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "sum": {"aggregationTemporality": "WEEKLY"}}]}]}]}"#.into(),
            "invalid OTLP JSON request: unknown aggregation temporality \"WEEKLY\"",
        ),
    ];
    for (body, want) in cases {
        let (status, _, resp) = send_raw(&app, json(&body)).await;
        let resp = String::from_utf8(resp).unwrap();
        assert_eq!(status, 400, "{body}: {resp}");
        assert!(resp.starts_with(want), "{body}: {resp}");
    }
    // Attribute values nested past the limit.
    let mut v = r#"{"intValue": 1}"#.to_string();
    // 33 levels of arrays: within serde_json's recursion limit, past ours.
    for _ in 0..33 {
        v = format!(r#"{{"arrayValue": {{"values": [{v}]}}}}"#);
    }
    let deep = format!(
        r#"{{"resourceMetrics": [{{"resource": {{"attributes": [{{"key": "k", "value": {v}}}]}}}}]}}"#
    );
    let (status, _, resp) = send_raw(&app, json(&deep)).await;
    let resp = String::from_utf8(resp).unwrap();
    assert_eq!(status, 400, "{resp}");
    assert_eq!(
        resp,
        "invalid OTLP JSON request: attribute value nested more than 32 levels deep\n"
    );
    // Still serving, JSON and protobuf alike.
    let (status, _, resp) = send_raw(&app, json("{}")).await;
    assert_eq!((status.as_u16(), resp.as_slice()), (200, b"{}".as_slice()));
    let (status, _, _) = send_raw(&app, proto(&ExportMetricsServiceRequest::default())).await;
    assert_eq!(status, 200);
}
