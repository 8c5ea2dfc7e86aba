//! PromQL query latency and throughput on an in-memory TSDB holding
//! realistic data (15s scrape interval):
//!
//! * `rate_sum_10k`: `sum by (instance) (rate(x[5m]))` over 10k counter
//!   series, a 1h range query at a 15s step.
//! * `histogram_quantile_1k`: `histogram_quantile(0.99, sum by (le)
//!   (rate(b[5m])))` over 1k classic-histogram bucket series (100
//!   instances × 10 buckets), a 1h range query at a 15s step.
//! * `regex_selector_100k`: `{__name__=~"x", path=~"/api/.*"}` over 100k
//!   series, an instant query (half of the series match).
//!
//! Throughput is in samples read from storage: the series selected times
//! the samples each has in the queried window (plus the 5m lookback).
//!
//! `cargo bench -p promlite-benches --bench promql`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promlite_benches::Rng;
use promlite_model::Labels;
use promlite_promql::{Engine, EngineOpts, Value};
use promlite_storage::{Appendable, SeriesRef};
use promlite_tsdb::{Db, DbOptions};

const SCRAPE_MS: i64 = 15_000;
const HOUR_MS: i64 = 3_600_000;
const LOOKBACK_MS: i64 = 300_000;

/// Appends `series` with one sample per scrape from 0 to `end` (inclusive),
/// one commit per scrape as the scrape loop does. `value(series, scrape)`.
fn load(db: &Db, series: &[Labels], end: i64, mut value: impl FnMut(usize, i64) -> f64) {
    let mut refs: Vec<Option<SeriesRef>> = vec![None; series.len()];
    let mut t = 0;
    while t <= end {
        let mut app = db.appender();
        for (i, l) in series.iter().enumerate() {
            let r = app.append(refs[i], l, t, value(i, t / SCRAPE_MS)).unwrap();
            refs[i] = Some(r);
        }
        app.commit().unwrap();
        t += SCRAPE_MS;
    }
}

fn counter_db(n: usize, metric: &str) -> Db {
    let db = Db::open_in_memory(DbOptions::default());
    let series: Vec<Labels> = (0..n)
        .map(|i| {
            let instance = format!("host-{}:9100", i / 100);
            let path = format!("/api/v1/resource{}", i % 100);
            Labels::from_pairs(&[
                ("__name__", metric),
                ("job", "api"),
                ("instance", instance.as_str()),
                ("path", path.as_str()),
                ("method", "GET"),
            ])
        })
        .collect();
    let mut rng = Rng::new(42);
    let mut acc = vec![0.0; n];
    load(&db, &series, HOUR_MS + LOOKBACK_MS, |i, _| {
        acc[i] += rng.below(10) as f64;
        acc[i]
    });
    db
}

fn bucket_db() -> Db {
    const LES: [&str; 10] = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ];
    let db = Db::open_in_memory(DbOptions::default());
    let series: Vec<Labels> = (0..1_000)
        .map(|i| {
            let instance = format!("host-{}:9100", i / LES.len());
            Labels::from_pairs(&[
                ("__name__", "b"),
                ("job", "api"),
                ("instance", instance.as_str()),
                ("le", LES[i % LES.len()]),
            ])
        })
        .collect();
    // Cumulative buckets: bucket k counts the observations up to its bound.
    let mut rng = Rng::new(7);
    let mut counts = vec![0.0; 1_000];
    let mut obs = [0.0; 10];
    // Series are instance-major, so `le` index 0 starts a new instance.
    load(&db, &series, HOUR_MS + LOOKBACK_MS, |i, _| {
        let k = i % LES.len();
        if k == 0 {
            let mut cum = 0.0;
            for o in obs.iter_mut() {
                cum += rng.below(5) as f64;
                *o = cum;
            }
        }
        counts[i] += obs[k];
        counts[i]
    });
    db
}

fn regex_db() -> Db {
    let db = Db::open_in_memory(DbOptions::default());
    let series: Vec<Labels> = (0..100_000)
        .map(|i| {
            let instance = format!("host-{}:9100", i / 200);
            let path = if i % 2 == 0 {
                format!("/api/v1/resource{}", (i / 2) % 100)
            } else {
                format!("/static/file{}", (i / 2) % 100)
            };
            Labels::from_pairs(&[
                ("__name__", "x"),
                ("job", "web"),
                ("instance", instance.as_str()),
                ("path", path.as_str()),
            ])
        })
        .collect();
    load(&db, &series, 4 * SCRAPE_MS, |i, s| (i as i64 + s) as f64);
    db
}

fn engine() -> Engine {
    Engine::new(EngineOpts::default())
}

fn result_len(v: &Value) -> usize {
    match v {
        Value::Vector(v) => v.len(),
        Value::Matrix(m) => m.len(),
        _ => 1,
    }
}

fn bench(c: &mut Criterion) {
    let e = engine();
    let mut g = c.benchmark_group("promql");
    g.sample_size(10);

    let db = counter_db(10_000, "x");
    // Samples in [0, 1h5m] per series.
    let per_series = (HOUR_MS + LOOKBACK_MS) / SCRAPE_MS + 1;
    g.throughput(Throughput::Elements(10_000 * per_series as u64));
    let q = "sum by (instance) (rate(x[5m]))";
    let (start, end) = (LOOKBACK_MS, HOUR_MS + LOOKBACK_MS);
    let r = e.range_query(&db, q, start, end, SCRAPE_MS).unwrap();
    assert_eq!(result_len(&r.value), 100);
    g.bench_function("rate_sum_10k_series_1h_15s", |b| {
        b.iter(|| e.range_query(&db, q, start, end, SCRAPE_MS).unwrap())
    });
    drop(db);

    let db = bucket_db();
    g.throughput(Throughput::Elements(1_000 * per_series as u64));
    let q = "histogram_quantile(0.99, sum by (le) (rate(b[5m])))";
    let r = e.range_query(&db, q, start, end, SCRAPE_MS).unwrap();
    assert_eq!(result_len(&r.value), 1);
    g.bench_function("histogram_quantile_1k_buckets_1h_15s", |b| {
        b.iter(|| e.range_query(&db, q, start, end, SCRAPE_MS).unwrap())
    });
    drop(db);

    let db = regex_db();
    // Five samples per series lie within the 5m lookback; 50k series match.
    g.throughput(Throughput::Elements(50_000 * 5));
    let q = r#"{__name__=~"x", path=~"/api/.*"}"#;
    let t = 4 * SCRAPE_MS;
    let r = e.instant_query(&db, q, t).unwrap();
    assert_eq!(result_len(&r.value), 50_000);
    g.bench_function("regex_selector_100k_series_instant", |b| {
        b.iter(|| e.instant_query(&db, q, t).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
