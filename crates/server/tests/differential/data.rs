//! The dataset both servers receive: a deterministic hour of samples at a
//! 15s interval, pushed through remote write 1.0.

use promlite_prompb::write::{Label, Sample, TimeSeries, WriteRequest};
use prost::Message;

/// The scrape interval of the dataset, in milliseconds.
pub(crate) const STEP_MS: i64 = 15_000;
/// Samples per series when nothing is missing (one hour and the end point).
pub(crate) const POINTS: i64 = 241;
/// Prometheus' stale marker.
pub(crate) const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// One series: labels (name first) and its samples.
pub(crate) struct Series {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) samples: Vec<(i64, f64)>,
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let mut l = vec![("__name__".to_string(), name.to_string())];
    l.extend(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Series {
        labels: l,
        samples: Vec::new(),
    }
}

/// A small deterministic pseudo-random number from a seed and an index.
fn noise(seed: u64, i: i64) -> u64 {
    let mut x = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(i as u64)
        .wrapping_mul(1_442_695_040_888_963_407);
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 32)
}

/// Builds the dataset for samples starting at `base_ms`.
pub(crate) fn dataset(base_ms: i64) -> Vec<Series> {
    let ts = |i: i64| base_ms + i * STEP_MS;
    let mut out = Vec::new();
    let mut seed = 1u64;

    // Request counters with resets, several jobs and instances.
    for job in ["api", "web"] {
        for inst in ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"] {
            for method in ["GET", "POST"] {
                for code in ["200", "404", "500"] {
                    seed += 1;
                    let mut s = series(
                        "http_requests_total",
                        &[
                            ("job", job),
                            ("instance", inst),
                            ("method", method),
                            ("code", code),
                        ],
                    );
                    let reset_at = if seed.is_multiple_of(3) {
                        Some(60 + (seed as i64 * 7) % 120)
                    } else {
                        None
                    };
                    let mut v = (seed * 100) as f64;
                    for i in 0..POINTS {
                        if Some(i) == reset_at {
                            v = (noise(seed, i) % 5) as f64;
                        } else {
                            v += (noise(seed, i) % 20) as f64;
                        }
                        s.samples.push((ts(i), v));
                    }
                    out.push(s);
                }
            }
        }
    }

    // CPU seconds: fractional counters.
    for n in 1..=4 {
        let inst = format!("node{n}:9100");
        for cpu in ["0", "1"] {
            for mode in ["idle", "user", "system", "iowait"] {
                seed += 1;
                let mut s = series(
                    "node_cpu_seconds_total",
                    &[
                        ("job", "node"),
                        ("instance", &inst),
                        ("cpu", cpu),
                        ("mode", mode),
                    ],
                );
                let mut v = 1000.0 * n as f64;
                for i in 0..POINTS {
                    v += (noise(seed, i) % 1500) as f64 / 100.0;
                    s.samples.push((ts(i), v));
                }
                out.push(s);
            }
        }
        // Memory gauge.
        seed += 1;
        let mut s = series(
            "node_memory_free_bytes",
            &[("job", "node"), ("instance", &inst)],
        );
        for i in 0..POINTS {
            let v = 4.0e9 + (noise(seed, i) % 1_000_000) as f64 * 1024.0;
            s.samples.push((ts(i), v));
        }
        out.push(s);
    }

    // Classic histograms.
    let les = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"];
    for job in ["api", "web"] {
        for inst in ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"] {
            seed += 1;
            let mut buckets: Vec<Series> = les
                .iter()
                .map(|le| {
                    series(
                        "http_request_duration_seconds_bucket",
                        &[("job", job), ("instance", inst), ("le", le)],
                    )
                })
                .collect();
            let mut sum = series(
                "http_request_duration_seconds_sum",
                &[("job", job), ("instance", inst)],
            );
            let mut count = series(
                "http_request_duration_seconds_count",
                &[("job", job), ("instance", inst)],
            );
            let mut cum = vec![0.0f64; les.len()];
            let mut total_sum = 0.0f64;
            for i in 0..POINTS {
                // New observations per bucket, accumulated over `le`.
                let mut running = 0.0;
                for (b, slot) in cum.iter_mut().enumerate() {
                    running += (noise(seed + b as u64, i) % (4 + b as u64)) as f64;
                    *slot += running;
                }
                total_sum += (noise(seed, i) % 1000) as f64 / 8.0;
                for (b, bs) in buckets.iter_mut().enumerate() {
                    bs.samples.push((ts(i), cum[b]));
                }
                sum.samples.push((ts(i), total_sum));
                count.samples.push((ts(i), cum[les.len() - 1]));
            }
            out.extend(buckets);
            out.push(sum);
            out.push(count);
        }
    }

    // Up, for every target.
    for (job, insts) in [
        (
            "api",
            &["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"][..],
        ),
        (
            "web",
            &["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"][..],
        ),
        (
            "node",
            &["node1:9100", "node2:9100", "node3:9100", "node4:9100"][..],
        ),
    ] {
        for inst in insts {
            seed += 1;
            let mut s = series("up", &[("job", job), ("instance", inst)]);
            for i in 0..POINTS {
                let down = job == "node" && *inst == "node3:9100" && (100..130).contains(&i);
                s.samples.push((ts(i), if down { 0.0 } else { 1.0 }));
            }
            out.push(s);
        }
    }

    // Gauges with unicode, quotes and backslashes in label values.
    for loc in ["Zürich", "東京", "say \"hi\"", "back\\slash", "plain"] {
        seed += 1;
        let mut s = series(
            "temperature_celsius",
            &[("job", "weather"), ("location", loc)],
        );
        for i in 0..POINTS {
            let v = -5.0 + (noise(seed, i) % 400) as f64 / 10.0;
            s.samples.push((ts(i), v));
        }
        out.push(s);
    }

    // Many shards for cardinality, topk and count_values.
    for shard in 0..100 {
        seed += 1;
        let zone = ["a", "b", "c"][shard % 3];
        let shard_s = shard.to_string();
        let mut s = series(
            "queue_length",
            &[("job", "queue"), ("shard", &shard_s), ("zone", zone)],
        );
        // A per-shard binary fraction keeps values distinct across shards,
        // so topk/bottomk/sort have no ties (their tie order is unspecified).
        for i in 0..POINTS {
            let v = (noise(seed, i) % 50) as f64 + shard as f64 / 128.0;
            s.samples.push((ts(i), v));
        }
        out.push(s);
    }

    // A gauge with a gap between minutes 20 and 35.
    let mut s = series("gappy_gauge", &[("job", "gaps")]);
    for i in 0..POINTS {
        if !(80..140).contains(&i) {
            s.samples.push((ts(i), i as f64 * 0.5));
        }
    }
    out.push(s);

    // Series that end at minute 40, one with a stale marker, one without.
    for (name, stale) in [("ended_gauge", true), ("vanished_gauge", false)] {
        let mut s = series(name, &[("job", "gone")]);
        for i in 0..160 {
            s.samples.push((ts(i), 100.0 - i as f64 * 0.25));
        }
        if stale {
            s.samples.push((ts(160), f64::from_bits(STALE_NAN)));
        }
        out.push(s);
    }

    // An info metric for joins and label_replace.
    for (job, version) in [("api", "1.2.3"), ("web", "2.0.0-rc.1")] {
        let mut s = series(
            "build_info",
            &[("job", job), ("version", version), ("goversion", "go1.22")],
        );
        for i in 0..POINTS {
            s.samples.push((ts(i), 1.0));
        }
        out.push(s);
    }

    // A label value with a newline (regex `.` semantics differ by version).
    let mut s = series("weird_labels", &[("job", "weird"), ("v", "a\nb")]);
    for i in 0..POINTS {
        s.samples.push((ts(i), 1.0));
    }
    out.push(s);

    out
}

/// The dataset as remote-write bodies (snappy-compressed protobuf), one per
/// five minutes of data so both servers see samples in time order.
pub(crate) fn write_requests(data: &[Series]) -> Vec<Vec<u8>> {
    let min = data
        .iter()
        .flat_map(|s| s.samples.first())
        .map(|x| x.0)
        .min()
        .unwrap();
    let window = 20 * STEP_MS;
    let mut bodies = Vec::new();
    let mut start = min;
    loop {
        let end = start + window;
        let timeseries: Vec<TimeSeries> = data
            .iter()
            .filter_map(|s| {
                let samples: Vec<Sample> = s
                    .samples
                    .iter()
                    .filter(|(t, _)| *t >= start && *t < end)
                    .map(|&(timestamp, value)| Sample { value, timestamp })
                    .collect();
                (!samples.is_empty()).then(|| TimeSeries {
                    labels: s
                        .labels
                        .iter()
                        .map(|(name, value)| Label {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                    samples,
                    exemplars: Vec::new(),
                })
            })
            .collect();
        if timeseries.is_empty() {
            break;
        }
        let req = WriteRequest {
            timeseries,
            metadata: Vec::new(),
        };
        let raw = req.encode_to_vec();
        bodies.push(snap::raw::Encoder::new().compress_vec(&raw).unwrap());
        start = end;
    }
    bodies
}

fn one_sample(labels: &[(&str, &str)], t: i64, v: f64) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(name, value)| Label {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect(),
        samples: vec![Sample {
            value: v,
            timestamp: t,
        }],
        exemplars: Vec::new(),
    }
}

fn encode(timeseries: Vec<TimeSeries>) -> Vec<u8> {
    let raw = WriteRequest {
        timeseries,
        metadata: Vec::new(),
    }
    .encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&raw).unwrap()
}

/// Remote-write requests that must fail or change nothing: (label,
/// content type, body).
pub(crate) fn bad_writes(base_ms: i64) -> Vec<(String, &'static str, Vec<u8>)> {
    let up = [
        ("__name__", "up"),
        ("job", "api"),
        ("instance", "10.0.0.1:8080"),
    ];
    let pb = "application/x-protobuf";
    vec![
        (
            "write: body is not snappy".to_string(),
            pb,
            b"not snappy at all".to_vec(),
        ),
        (
            "write: snappy but not protobuf".to_string(),
            pb,
            snap::raw::Encoder::new().compress_vec(&[0xff; 16]).unwrap(),
        ),
        (
            "write: out-of-order sample".to_string(),
            pb,
            encode(vec![one_sample(&up, base_ms + 7, 5.0)]),
        ),
        (
            "write: duplicate timestamp, other value".to_string(),
            pb,
            encode(vec![one_sample(&up, base_ms + 15_000, 42.0)]),
        ),
        (
            "write: duplicate sample".to_string(),
            pb,
            encode(vec![one_sample(&up, base_ms + 15_000, 1.0)]),
        ),
        (
            "write: sample older than the head".to_string(),
            pb,
            encode(vec![one_sample(&up, base_ms - 4 * 3_600_000, 1.0)]),
        ),
        (
            "write: valid series before an out-of-order one".to_string(),
            pb,
            encode(vec![
                one_sample(
                    &[("__name__", "late_arrival"), ("job", "api")],
                    base_ms + 3_600_000,
                    1.0,
                ),
                one_sample(&up, base_ms + 7, 5.0),
            ]),
        ),
        (
            "write: Content-Type text/plain".to_string(),
            "text/plain",
            encode(vec![one_sample(&up, base_ms + 3_600_000, 1.0)]),
        ),
    ]
}

/// `fresh_gauge{job="fresh"}` at now - 45s, - 30s and - 15s (whole seconds).
pub(crate) fn fresh_request(now_ms: i64) -> Vec<u8> {
    let now = now_ms / 1000 * 1000;
    let labels = [("__name__", "fresh_gauge"), ("job", "fresh")];
    encode(
        [45_000, 30_000, 15_000]
            .iter()
            .map(|ago| one_sample(&labels, now - ago, (ago / 1000) as f64))
            .collect(),
    )
}
