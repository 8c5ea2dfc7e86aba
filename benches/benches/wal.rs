//! WAL throughput: logging scrape-sized sample batches, and replaying them.
//!
//! Run with `cargo bench -p promlite-benches --bench wal`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use promlite_model::Labels;
use promlite_tsdb::wal::{self, record, RefSample, RefSeries, Wal, WalOptions};

/// Samples per logged batch, like one scrape of a large target.
const BATCH: usize = 1000;

fn sample_batch(round: i64) -> Vec<RefSample> {
    (0..BATCH)
        .map(|i| RefSample {
            series_ref: i as u64,
            st: 0,
            t: 1_700_000_000_000 + round * 15_000,
            v: (i as f64) * 1.5 + round as f64,
        })
        .collect()
}

fn bench_log(c: &mut Criterion) {
    let mut g = c.benchmark_group("wal_log");
    g.throughput(Throughput::Elements(BATCH as u64));
    for compress in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = Wal::open(
            dir.path(),
            WalOptions {
                compress,
                ..WalOptions::default()
            },
        )
        .expect("open WAL");
        let mut buf = Vec::new();
        let mut round = 0i64;
        let name = if compress { "snappy" } else { "plain" };
        g.bench_function(format!("samples_x{BATCH}_{name}"), |b| {
            b.iter(|| {
                round += 1;
                record::encode_samples(&sample_batch(round), &mut buf);
                w.log(&[&buf]).expect("log");
            })
        });
        w.close().expect("close");
    }
    g.finish();
}

fn bench_replay(c: &mut Criterion) {
    let rounds = 200i64;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let w = Wal::open(dir.path(), WalOptions::default()).expect("open WAL");
        let series: Vec<RefSeries> = (0..BATCH)
            .map(|i| RefSeries {
                series_ref: i as u64,
                labels: Labels::from_pairs(&[
                    ("__name__", "bench_metric"),
                    ("instance", format!("host-{i}").as_str()),
                ]),
            })
            .collect();
        let mut buf = Vec::new();
        record::encode_series(&series, &mut buf);
        w.log(&[&buf]).expect("log");
        for r in 0..rounds {
            record::encode_samples(&sample_batch(r), &mut buf);
            w.log(&[&buf]).expect("log");
        }
        w.close().expect("close");
    }
    let mut g = c.benchmark_group("wal_replay");
    g.throughput(Throughput::Elements(rounds as u64 * BATCH as u64));
    g.bench_function("replay_dir", |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut n = 0usize;
                wal::replay_dir(dir.path(), |rec| {
                    if let wal::ReplayRecord::Samples(s) = rec {
                        n += s.len();
                    }
                    Ok(())
                })
                .expect("replay");
                n
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_log, bench_replay);
criterion_main!(benches);
