//! Memory and disk footprint: heap bytes per head series and bytes per
//! sample in a persisted block, on exporter-like data. Prints a report.
//!
//! `cargo bench -p promlite-benches --bench footprint`
#![allow(clippy::print_stdout, clippy::needless_range_loop)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use promlite_benches::{kind_for, samples, series_labels, Kind, Rng};
use promlite_storage::{Appendable, SeriesRef};
use promlite_tsdb::{Db, DbOptions};

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: delegates to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        ALLOCATED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A block boundary well after the epoch.
const T0: i64 = 1_000 * 7_200_000;

fn heap() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

fn dir_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Heap bytes per series for `n` series with ten labels and `per_series`
/// samples in their one open chunk.
fn heap_per_series(n: usize, per_series: usize) -> f64 {
    let labels: Vec<_> = (0..n).map(|i| series_labels(i, kind_for(i))).collect();
    let mut rng = Rng::new(7);
    let mut buf = Vec::new();
    let data: Vec<Vec<(i64, f64)>> = (0..n)
        .map(|i| {
            samples(&mut rng, kind_for(i), 0, 15_000, per_series, &mut buf);
            buf.clone()
        })
        .collect();
    let before = heap();
    let db = Db::open_in_memory(DbOptions::default());
    let mut refs: Vec<Option<SeriesRef>> = vec![None; n];
    for k in 0..per_series {
        let mut app = db.appender();
        for i in 0..n {
            let (t, v) = data[i][k];
            refs[i] = Some(app.append(refs[i], &labels[i], t, v).unwrap());
        }
        app.commit().unwrap();
    }
    let after = heap();
    let per = (after - before) as f64 / n as f64;
    drop(db);
    per
}

fn main() {
    // Ignore the arguments cargo bench passes.
    let n = 100_000;
    for per_series in [1usize, 30, 119] {
        let per = heap_per_series(n, per_series);
        println!("head heap: {per:.0} bytes/series ({n} series, 10 labels, {per_series} samples in the open chunk)");
    }

    // Bytes per sample in a persisted block: 2h of exporter-like data,
    // starting on a block boundary (plus one interval, so that jitter never
    // moves a sample into the previous block).
    let series = 10_000usize;
    let per_series = 479usize; // just under 2h at 15s
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions::default();
    let db = Db::open(dir.path(), opts).unwrap();
    let mut rng = Rng::new(11);
    let mut buf = Vec::new();
    let data: Vec<Vec<(i64, f64)>> = (0..series)
        .map(|i| {
            samples(
                &mut rng,
                kind_for(i),
                T0 + 15_000,
                15_000,
                per_series,
                &mut buf,
            );
            buf.clone()
        })
        .collect();
    let mut refs: Vec<Option<SeriesRef>> = vec![None; series];
    for k in 0..per_series {
        let mut app = db.appender();
        for i in 0..series {
            let (t, v) = data[i][k];
            refs[i] = Some(
                app.append(refs[i], &series_labels(i, kind_for(i)), t, v)
                    .unwrap(),
            );
        }
        app.commit().unwrap();
    }
    // Push the head past 1.5 block ranges so the first 2h become a block.
    let mut app = db.appender();
    for (i, r) in refs.iter().enumerate() {
        app.append(*r, &series_labels(i, kind_for(i)), T0 + 4 * 3_600_000, 0.0)
            .unwrap();
    }
    app.commit().unwrap();
    db.compact().unwrap();
    let blocks = db.blocks();
    let b = blocks
        .iter()
        .max_by_key(|b| b.meta().stats.num_samples)
        .expect("a block");
    let samples_n = b.meta().stats.num_samples as f64;
    let chunks = dir_size(&b.dir().join("chunks")) as f64;
    let total = dir_size(b.dir()) as f64;
    println!(
        "block: {} samples, {} series; chunks {:.3} bytes/sample, whole block {:.3} bytes/sample",
        samples_n,
        b.meta().stats.num_series,
        chunks / samples_n,
        total / samples_n
    );
    for kind in [Kind::Counter, Kind::Bucket, Kind::Gauge, Kind::Constant] {
        let (mut xor, mut packed, mut count) = (0usize, 0usize, 0usize);
        for (_, s) in data
            .iter()
            .enumerate()
            .filter(|(i, _)| kind_for(*i) == kind)
        {
            for chunk in s.chunks(120) {
                let mut c = promlite_tsdb::chunkenc::XorChunk::new();
                for &(t, v) in chunk {
                    c.append(t, v);
                }
                let p = promlite_tsdb::chunkenc::encode_packed(chunk).len();
                xor += c.bytes().len();
                packed += p.min(c.bytes().len());
                count += chunk.len();
            }
        }
        println!(
            "  {kind:?}: XOR {:.3} bytes/sample, block encoding {:.3} bytes/sample",
            xor as f64 / count as f64,
            packed as f64 / count as f64
        );
    }
}
