//! Shared data generators for the benchmarks: exporter-like series.
#![allow(missing_docs)]

use promlite_model::Labels;

/// A small deterministic PRNG (xorshift64*), so runs are comparable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The kind of an exporter series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request counter growing by a random integer each scrape.
    Counter,
    /// A gauge wandering around a level (memory, temperature).
    Gauge,
    /// A value that never changes (build info, limits).
    Constant,
    /// A classic histogram bucket: a counter that grows slowly, often not at all.
    Bucket,
}

/// A labelled series with ten labels, like node_exporter's or an app's.
pub fn series_labels(i: usize, kind: Kind) -> Labels {
    let name = match kind {
        Kind::Counter => "http_requests_total",
        Kind::Gauge => "process_resident_memory_bytes",
        Kind::Constant => "app_build_info",
        Kind::Bucket => "http_request_duration_seconds_bucket",
    };
    let inst = format!("10.0.{}.{}:9100", (i / 250) % 250, i % 250);
    let path = format!("/api/v1/resource{}", i % 37);
    let le = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ][i % 10];
    Labels::from_pairs(&[
        ("__name__", name),
        ("job", "node"),
        ("instance", inst.as_str()),
        ("env", "production"),
        ("region", "eu-west-1"),
        ("cluster", "main"),
        ("namespace", "default"),
        ("handler", path.as_str()),
        ("method", if i.is_multiple_of(3) { "POST" } else { "GET" }),
        ("le", le),
    ])
}

/// Generates `n` samples of a series of `kind` scraped every `interval_ms`,
/// with Prometheus-like timestamp jitter: most scrapes land on the interval
/// (Prometheus aligns timestamps within its 2ms tolerance), some a few
/// milliseconds off.
pub fn samples(
    rng: &mut Rng,
    kind: Kind,
    start: i64,
    interval_ms: i64,
    n: usize,
    out: &mut Vec<(i64, f64)>,
) {
    out.clear();
    let mut v = match kind {
        Kind::Counter => rng.below(100_000) as f64,
        Kind::Gauge => 5e8 + rng.below(1_000_000) as f64,
        Kind::Constant => 1.0,
        Kind::Bucket => rng.below(10_000) as f64,
    };
    for k in 0..n {
        let mut t = start + k as i64 * interval_ms;
        if rng.below(10) == 0 {
            t += rng.below(7) as i64 - 3;
        }
        match kind {
            Kind::Counter => v += rng.below(50) as f64,
            Kind::Gauge => v = 5e8 + (rng.below(4096) as f64) * 4096.0,
            Kind::Constant => {}
            Kind::Bucket => {
                if rng.below(4) == 0 {
                    v += rng.below(5) as f64;
                }
            }
        }
        out.push((t, v));
    }
}

/// The mix used for "exporter-like" data: mostly counters and buckets.
pub fn kind_for(i: usize) -> Kind {
    match i % 10 {
        0..=3 => Kind::Counter,
        4..=6 => Kind::Bucket,
        7..=8 => Kind::Gauge,
        _ => Kind::Constant,
    }
}
