//! Actual intervals between scrapes, for Prometheus'
//! `prometheus_target_interval_length_seconds` summary.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;

/// How many recent observations each interval keeps for quantiles.
const WINDOW: usize = 1024;

#[derive(Default)]
struct Series {
    recent: Vec<f64>,
    next: usize,
    sum: f64,
    count: u64,
}

/// Observations grouped by configured interval.
#[derive(Default)]
pub struct IntervalStats {
    by_interval: Mutex<HashMap<Duration, Series>>,
}

/// A summary of one configured interval.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalSummary {
    /// The configured interval.
    pub interval: Duration,
    /// `(quantile, seconds)` for 0.01, 0.05, 0.5, 0.9 and 0.99 over recent scrapes.
    pub quantiles: Vec<(f64, f64)>,
    /// Sum of all observed intervals in seconds.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

impl IntervalStats {
    /// Records that `actual` passed between two scrapes of a target
    /// configured with `interval`.
    pub fn observe(&self, interval: Duration, actual: Duration) {
        let mut m = self.by_interval.lock();
        let s = m.entry(interval).or_default();
        let v = actual.as_secs_f64();
        if s.recent.len() < WINDOW {
            s.recent.push(v);
        } else {
            s.recent[s.next] = v;
        }
        s.next = (s.next + 1) % WINDOW;
        s.sum += v;
        s.count += 1;
    }

    /// The current summaries, sorted by interval.
    pub fn summaries(&self) -> Vec<IntervalSummary> {
        let m = self.by_interval.lock();
        let mut out: Vec<IntervalSummary> = m
            .iter()
            .map(|(iv, s)| {
                let mut sorted = s.recent.clone();
                sorted.sort_by(|a, b| a.total_cmp(b));
                let q = |p: f64| {
                    if sorted.is_empty() {
                        f64::NAN
                    } else {
                        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
                    }
                };
                IntervalSummary {
                    interval: *iv,
                    quantiles: [0.01, 0.05, 0.5, 0.9, 0.99]
                        .iter()
                        .map(|&p| (p, q(p)))
                        .collect(),
                    sum: s.sum,
                    count: s.count,
                }
            })
            .collect();
        out.sort_by_key(|s| s.interval);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_over_recent_observations() {
        let st = IntervalStats::default();
        for ms in [14_990u64, 15_000, 15_010, 15_000, 16_000] {
            st.observe(Duration::from_secs(15), Duration::from_millis(ms));
        }
        let s = &st.summaries()[0];
        assert_eq!(s.count, 5);
        assert_eq!(s.quantiles[2], (0.5, 15.0));
        assert_eq!(s.quantiles[4], (0.99, 16.0));
        assert!((s.sum - 76.0).abs() < 1e-9);
    }
}
