//! `/api/v1/write` and `/federate`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, Method, Request};
use promlite_api::{router, ApiOptions};
use promlite_prompb::write::{Label, Sample, TimeSeries, WriteRequest};
use promlite_storage::Appendable;
use prost::Message;

use super::support::*;

fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: pairs
            .iter()
            .map(|(n, v)| Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
        exemplars: Vec::new(),
    }
}

fn encode(wr: &WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&wr.encode_to_vec())
        .unwrap()
}

fn write_req(body: Vec<u8>, content_type: &str, encoding: &str) -> Request<Body> {
    let mut b = Request::builder().method(Method::POST).uri("/api/v1/write");
    if !content_type.is_empty() {
        b = b.header(header::CONTENT_TYPE, content_type);
    }
    if !encoding.is_empty() {
        b = b.header(header::CONTENT_ENCODING, encoding);
    }
    b.header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(Body::from(body))
        .unwrap()
}

fn receiver(opts: ApiOptions) -> axum::Router {
    router(state_with(ApiOptions {
        enable_remote_write_receiver: true,
        ..opts
    }))
}

#[tokio::test]
async fn receiver_is_off_by_default() {
    let r = send(
        &app(),
        write_req(Vec::new(), "application/x-protobuf", "snappy"),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        "remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n"
    );
}

#[tokio::test]
async fn written_samples_can_be_queried() {
    let app = receiver(ApiOptions::default());
    let wr = WriteRequest {
        timeseries: vec![
            series(
                &[("__name__", "rw_metric"), ("src", "x")],
                &[(T0, 1.5), (T0 + 15_000, 2.5)],
            ),
            // No metric name: dropped, the rest is kept.
            series(&[("src", "y")], &[(T0, 1.0)]),
        ],
        metadata: Vec::new(),
    };
    let r = send(
        &app,
        write_req(encode(&wr), "application/x-protobuf", "snappy"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = get(&app, "/api/v1/query?query=rw_metric&time=1700000015").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"rw_metric","src":"x"},"value":[1700000015,"2.5"]}]}}"#
    );
    // Prometheus' defaults when the headers are absent: protobuf + snappy.
    let wr = WriteRequest {
        timeseries: vec![series(&[("__name__", "rw_metric2")], &[(T0, 7.0)])],
        metadata: Vec::new(),
    };
    let r = send(&app, write_req(encode(&wr), "", "")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = send(
        &app,
        write_req(
            encode(&wr),
            "application/x-protobuf;proto=prometheus.WriteRequest",
            "snappy",
        ),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[tokio::test]
async fn out_of_order_samples_are_400_and_roll_back() {
    let app = receiver(ApiOptions::default());
    let wr = WriteRequest {
        timeseries: vec![
            series(&[("__name__", "fresh")], &[(T0, 1.0)]),
            // `up` already has samples up to T0+300s.
            series(
                &[("__name__", "up"), ("instance", "a"), ("job", "api")],
                &[(T0, 5.0)],
            ),
        ],
        metadata: Vec::new(),
    };
    let r = send(
        &app,
        write_req(encode(&wr), "application/x-protobuf", "snappy"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(!r.body.is_empty());
    let r = get(&app, "/api/v1/series?match[]=fresh").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
}

#[tokio::test]
async fn malformed_requests_are_rejected() {
    let app = receiver(ApiOptions {
        max_remote_write_body_bytes: 1024,
        max_remote_write_decoded_bytes: 1000,
        ..ApiOptions::default()
    });
    let r = send(
        &app,
        write_req(b"not snappy".to_vec(), "application/x-protobuf", "snappy"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let garbage = snap::raw::Encoder::new().compress_vec(&[0xff; 16]).unwrap();
    let r = send(&app, write_req(garbage, "application/x-protobuf", "snappy")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = send(&app, write_req(Vec::new(), "text/plain", "snappy")).await;
    assert_eq!(r.status, 415);
    let r = send(
        &app,
        write_req(Vec::new(), "application/x-protobuf", "gzip"),
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(
        r.body,
        "gzip encoding (compression) is not accepted by this server; only snappy is acceptable\n"
    );
    let r = send(
        &app,
        write_req(
            Vec::new(),
            "application/x-protobuf;proto=io.prometheus.write.v3.Request",
            "snappy",
        ),
    )
    .await;
    assert_eq!(r.status, 415);
    let r = send(
        &app,
        write_req(vec![0; 4096], "application/x-protobuf", "snappy"),
    )
    .await;
    assert_eq!(r.status, 413);
    // A small body that claims to inflate past the decoded limit.
    let bomb = snap::raw::Encoder::new()
        .compress_vec(&[0u8; 10_000])
        .unwrap();
    assert!(bomb.len() < 1024);
    let r = send(&app, write_req(bomb, "application/x-protobuf", "snappy")).await;
    assert_eq!(r.status, 413, "{}", r.body);
}

#[tokio::test]
async fn federate_returns_latest_samples_as_text() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let db = fixture_db();
    let mut a = db.appender();
    let l = labels(&[("__name__", "fed"), ("job", "x")]);
    a.append(None, &l, now - 20_000, 1.0).unwrap();
    a.append(None, &l, now - 10_000, 2.0).unwrap();
    let l2 = labels(&[("__name__", "fed"), ("job", "y"), ("zone", "z1")]);
    a.append(None, &l2, now - 10_000, 1e6).unwrap();
    a.commit().unwrap();
    let state = builder_for(db)
        .options(ApiOptions {
            external_labels: labels(&[("zone", "eu")]),
            ..ApiOptions::default()
        })
        .build();
    state.set_ready(true);
    let app = router(state);
    let r = get(&app, "/federate?match[]=fed&match[]=up").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(
        r.body,
        format!(
            "# TYPE fed untyped\nfed{{job=\"x\",instance=\"\",zone=\"eu\"}} 2 {}\nfed{{job=\"y\",zone=\"z1\",instance=\"\"}} 1e+06 {}\n",
            now - 10_000,
            now - 10_000
        )
    );
    let r = get(&app, "/federate").await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, ""));
    let r = get(&app, "/federate?match[]=sum(x)").await;
    assert_eq!(r.status, 400);
}

/// Posts a snappy-compressed remote-write 2.0 request.
async fn send_v2(
    app: &axum::Router,
    wr: &promlite_prompb::write_v2::WriteRequestV2,
) -> axum::response::Response {
    let body = snap::raw::Encoder::new()
        .compress_vec(&wr.encode_to_vec())
        .unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/write")
        .header(
            header::CONTENT_TYPE,
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        )
        .header(header::CONTENT_ENCODING, "snappy")
        .header("X-Prometheus-Remote-Write-Version", "2.0.0")
        .body(Body::from(body))
        .unwrap();
    tower::ServiceExt::oneshot(app.clone(), req).await.unwrap()
}

#[tokio::test]
async fn remote_write_2_0_keeps_valid_samples_and_reports_what_was_written() {
    use promlite_prompb::write_v2::{SampleV2, TimeSeriesV2, WriteRequestV2};
    let app = receiver(ApiOptions::default());
    let symbols: Vec<String> = [
        "",
        "__name__",
        "rw2_metric",
        "src",
        "x",
        "up",
        "instance",
        "a",
        "job",
        "api",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let wr = WriteRequestV2 {
        symbols,
        timeseries: vec![
            TimeSeriesV2 {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![
                    SampleV2 {
                        value: 1.0,
                        timestamp: T0,
                        start_timestamp: 0,
                    },
                    SampleV2 {
                        value: 2.0,
                        timestamp: T0 + 15_000,
                        start_timestamp: 0,
                    },
                ],
            },
            // `up` already has newer samples: this one is out of order.
            TimeSeriesV2 {
                labels_refs: vec![1, 5, 6, 7, 8, 9],
                samples: vec![SampleV2 {
                    value: 5.0,
                    timestamp: T0,
                    start_timestamp: 0,
                }],
            },
        ],
    };
    let resp = send_v2(&app, &wr).await;
    assert_eq!(
        resp.status().as_u16(),
        400,
        "the out-of-order sample is reported"
    );
    let h = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        h("X-Prometheus-Remote-Write-Samples-Written").as_deref(),
        Some("2")
    );
    assert_eq!(
        h("X-Prometheus-Remote-Write-Histograms-Written").as_deref(),
        Some("0")
    );
    // The valid samples were kept.
    let r = get(&app, "/api/v1/query?query=rw2_metric&time=1700000015").await;
    assert!(r.body.contains(r#""value":[1700000015,"2"]"#), "{}", r.body);
    // A reference past the symbol table is a 400 and writes nothing.
    let bad = WriteRequestV2 {
        symbols: vec!["".into(), "__name__".into()],
        timeseries: vec![TimeSeriesV2 {
            labels_refs: vec![1, 7],
            samples: vec![SampleV2 {
                value: 1.0,
                timestamp: T0,
                start_timestamp: 0,
            }],
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&bad.encode_to_vec())
        .unwrap();
    let r = send(
        &app,
        write_req(
            body,
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            "snappy",
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("out of range"), "{}", r.body);
}

fn read_req(q: promlite_prompb::read::ReadRequest) -> Request<Body> {
    let body = snap::raw::Encoder::new()
        .compress_vec(&q.encode_to_vec())
        .unwrap();
    Request::builder()
        .method(Method::POST)
        .uri("/api/v1/read")
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .header(header::CONTENT_ENCODING, "snappy")
        .header("X-Prometheus-Remote-Read-Version", "0.1.0")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn remote_read_answers_samples_and_streamed_chunks() {
    use promlite_prompb::read::{
        ChunkedReadResponse, LabelMatcher, Query, ReadRequest, ReadResponse,
    };
    use promlite_storage::{SampleIterator, ValueType};
    let app = receiver(ApiOptions::default());
    let wr = WriteRequest {
        timeseries: vec![series(
            &[("__name__", "rr_metric"), ("src", "x")],
            &[(T0, 1.0), (T0 + 15_000, 2.0), (T0 + 30_000, f64::NAN)],
        )],
        metadata: Vec::new(),
    };
    assert_eq!(
        send(
            &app,
            write_req(encode(&wr), "application/x-protobuf", "snappy")
        )
        .await
        .status,
        204
    );
    let query = Query {
        start_timestamp_ms: T0,
        end_timestamp_ms: T0 + 15_000,
        matchers: vec![LabelMatcher {
            r#type: 0,
            name: "__name__".into(),
            value: "rr_metric".into(),
        }],
    };
    // SAMPLES.
    let resp = tower::ServiceExt::oneshot(
        app.clone(),
        read_req(ReadRequest {
            queries: vec![query.clone()],
            accepted_response_types: vec![0],
        }),
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-encoding"], "snappy");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let rr = ReadResponse::decode(
        snap::raw::Decoder::new()
            .decompress_vec(&body)
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let ts = &rr.results[0].timeseries[0];
    assert!(ts.labels.iter().any(|l| l.name == "src" && l.value == "x"));
    let got: Vec<(i64, f64)> = ts.samples.iter().map(|s| (s.timestamp, s.value)).collect();
    assert_eq!(got, vec![(T0, 1.0), (T0 + 15_000, 2.0)], "inclusive range");
    // STREAMED_XOR_CHUNKS: frames of uvarint length, CRC-32C, message.
    let resp = tower::ServiceExt::oneshot(
        app.clone(),
        read_req(ReadRequest {
            queries: vec![query],
            accepted_response_types: vec![1, 0],
        }),
    )
    .await
    .unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("ChunkedReadResponse"));
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let (mut len, mut shift, mut pos) = (0usize, 0, 0);
    loop {
        let b = body[pos];
        pos += 1;
        len |= ((b & 0x7f) as usize) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    let msg = &body[pos + 4..pos + 4 + len];
    assert_eq!(pos + 4 + len, body.len(), "one frame for one series");
    let c = ChunkedReadResponse::decode(msg).unwrap();
    let chunk = &c.chunked_series[0].chunks[0];
    assert_eq!(chunk.r#type, 1);
    let mut it = promlite_tsdb::chunkenc::XorIterator::new(&chunk.data);
    let mut samples = vec![];
    while it.next() == ValueType::Float {
        samples.push(it.at());
    }
    assert_eq!(samples, vec![(T0, 1.0), (T0 + 15_000, 2.0)]);
    // A malformed body is a 400.
    let r = send(
        &app,
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/read")
            .body(Body::from(vec![1, 2, 3]))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn remote_write_2_0_start_timestamps_turn_deltas_into_counters() {
    use promlite_prompb::write_v2::{SampleV2, TimeSeriesV2, WriteRequestV2};
    let app = receiver(ApiOptions::default());
    let symbols: Vec<String> = ["", "__name__", "rw2_delta_total", "rw2_plain_total"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // Four OTLP-style deltas of 6 each, every one covering the minute
    // before it; the same values without start timestamps look constant.
    let deltas = |with_st: bool| -> Vec<SampleV2> {
        (1..=4)
            .map(|i| SampleV2 {
                value: 6.0,
                timestamp: T0 + i * 60_000,
                start_timestamp: if with_st { T0 + (i - 1) * 60_000 } else { 0 },
            })
            .collect()
    };
    let wr = WriteRequestV2 {
        symbols,
        timeseries: vec![
            TimeSeriesV2 {
                labels_refs: vec![1, 2],
                samples: deltas(true),
            },
            TimeSeriesV2 {
                labels_refs: vec![1, 3],
                samples: deltas(false),
            },
        ],
    };
    let resp = send_v2(&app, &wr).await;
    assert_eq!(resp.status().as_u16(), 204);
    let t = (T0 + 240_000) / 1000;
    for (q, want) in [
        // (T0+1m, T0+4m]: the samples at 3m and 4m start at their
        // predecessor's time, which had a start of its own: two resets.
        ("resets(rw2_delta_total[3m])", "2"),
        // (T0, T0+4m]: the first sample starts at T0, on the window's open
        // edge; three resets add 6 + 6 + 6 over 3m, extrapolated to 4m.
        ("increase(rw2_delta_total[4m])", "24"),
        // Without start timestamps the same values are a flat counter.
        ("increase(rw2_plain_total[4m])", "0"),
    ] {
        let r = get(&app, &format!("/api/v1/query?query={q}&time={t}")).await;
        assert!(
            r.body.contains(&format!(r#""value":[{t},"{want}"]"#)),
            "{q}: {}",
            r.body
        );
    }
}
