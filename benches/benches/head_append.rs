//! Head append throughput for 100k series using series references,
//! on one and on two threads.
//!
//! `cargo bench -p promlite-benches --bench head_append`

use std::sync::atomic::{AtomicI64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promlite_benches::{kind_for, series_labels};
use promlite_storage::{Appendable, SeriesRef};
use promlite_tsdb::{Head, HeadOptions};

const SERIES: usize = 100_000;
/// Samples per commit, like one scrape of a large target.
const BATCH: usize = 1_000;

fn setup() -> (Head, Vec<SeriesRef>) {
    let head = Head::new(HeadOptions::default());
    let mut refs = Vec::with_capacity(SERIES);
    let mut app = head.appender();
    for i in 0..SERIES {
        refs.push(
            app.append(None, &series_labels(i, kind_for(i)), 0, 0.0)
                .unwrap(),
        );
    }
    app.commit().unwrap();
    (head, refs)
}

fn append_slice(head: &Head, refs: &[SeriesRef], t: i64) {
    let empty = promlite_model::Labels::empty();
    for batch in refs.chunks(BATCH) {
        let mut app = head.appender();
        for (k, r) in batch.iter().enumerate() {
            app.append(Some(*r), &empty, t, (t / 1000 + k as i64) as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("head_append_100k_series");
    g.throughput(Throughput::Elements(SERIES as u64));
    g.sample_size(20);
    for threads in [1usize, 2] {
        let (head, refs) = setup();
        let clock = AtomicI64::new(15_000);
        g.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| {
                let t = clock.fetch_add(15_000, Ordering::Relaxed);
                let per = refs.len() / threads;
                std::thread::scope(|s| {
                    for part in refs.chunks(per) {
                        let head = head.clone();
                        s.spawn(move || append_slice(&head, part, t));
                    }
                });
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
