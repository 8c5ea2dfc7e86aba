//! XOR chunk encode and decode speed, without and with start timestamps.
//!
//! `cargo bench -p promlite-benches --bench chunkenc`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use promlite_benches::{kind_for, samples, Rng};
use promlite_storage::{SampleIterator, ValueType};
use promlite_tsdb::chunkenc::{XorChunk, XorIterator, XorStIterator};

fn chunks(n_chunks: usize) -> Vec<Vec<(i64, f64)>> {
    let mut rng = Rng::new(42);
    (0..n_chunks)
        .map(|i| {
            let mut v = Vec::new();
            samples(
                &mut rng,
                kind_for(i),
                1_700_000_000_000,
                15_000,
                120,
                &mut v,
            );
            v
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let data = chunks(1000);
    let total: usize = data.iter().map(|c| c.len()).sum();
    let mut g = c.benchmark_group("xor");
    g.throughput(Throughput::Elements(total as u64));
    g.bench_function("encode", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for s in &data {
                let mut c = XorChunk::new();
                for &(t, v) in s {
                    c.append(t, v);
                }
                bytes += c.bytes().len();
            }
            black_box(bytes)
        })
    });
    let encoded: Vec<XorChunk> = data
        .iter()
        .map(|s| {
            let mut c = XorChunk::new();
            for &(t, v) in s {
                c.append(t, v);
            }
            c
        })
        .collect();
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            let mut n = 0usize;
            for c in &encoded {
                let mut it = XorIterator::new(c.bytes());
                while it.next() == ValueType::Float {
                    let (t, v) = it.at();
                    sum += v + t as f64;
                    n += 1;
                }
            }
            black_box((sum, n))
        })
    });
    g.finish();

    // The same samples with start timestamps: counters (one start
    // timestamp per chunk) and delta series (st = previous t) alternate.
    let st_of = |chunk: usize, i: usize, s: &[(i64, f64)]| -> i64 {
        if chunk.is_multiple_of(2) {
            s[0].0 - 60_000
        } else if i == 0 {
            s[0].0 - 15_000
        } else {
            s[i - 1].0
        }
    };
    let mut g = c.benchmark_group("xor_st");
    g.throughput(Throughput::Elements(total as u64));
    g.bench_function("encode", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for (k, s) in data.iter().enumerate() {
                let mut c = XorChunk::new_with_st();
                for (i, &(t, v)) in s.iter().enumerate() {
                    c.append_st(st_of(k, i, s), t, v);
                }
                bytes += c.bytes().len();
            }
            black_box(bytes)
        })
    });
    let encoded: Vec<XorChunk> = data
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let mut c = XorChunk::new_with_st();
            for (i, &(t, v)) in s.iter().enumerate() {
                c.append_st(st_of(k, i, s), t, v);
            }
            c
        })
        .collect();
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            let mut n = 0usize;
            for c in &encoded {
                let mut it = XorStIterator::new(c.bytes());
                while it.next() == ValueType::Float {
                    let (t, v) = it.at();
                    sum += v + (t - it.at_st()) as f64;
                    n += 1;
                }
            }
            black_box((sum, n))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
