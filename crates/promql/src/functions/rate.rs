//! Counter and gauge rate functions: `rate`, `increase`, `delta`
//! (Prometheus' `extrapolatedRate`), `irate`, `idelta` (`instantValue`),
//! `deriv`, `predict_linear`, `resets` and `changes`.

use crate::value::Point;

/// Prometheus' `kahanSumInc`: Neumaier-compensated addition.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// `rate`, `increase` and `delta` over one window `(end-range, end]`
/// (Prometheus' `extrapolatedRate`).
pub(crate) fn extrapolated_rate(
    pts: &[Point],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    extrapolated_rate_with(
        pts,
        range_start,
        range_end,
        range_ms,
        is_counter,
        is_rate,
        is_counter,
    )
}

/// [`extrapolated_rate`] for a caller that knows whether the window holds
/// a counter reset: with `scan_resets` false the per-point reset scan is
/// skipped (the result is the same when there is no reset).
pub(crate) fn extrapolated_rate_with(
    pts: &[Point],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
    scan_resets: bool,
) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let first = pts[0];
    let last = pts[pts.len() - 1];
    let mut result = last.v - first.v;
    if is_counter && scan_resets {
        let mut prev = first.v;
        for p in &pts[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut duration_to_start = (first.t - range_start) as f64 / 1000.0;
    let mut duration_to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let avg = sampled_interval / (pts.len() - 1) as f64;
    let threshold = avg * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = avg / 2.0;
    }
    if is_counter {
        let mut duration_to_zero = duration_to_start;
        if result > 0.0 && first.v >= 0.0 {
            duration_to_zero = sampled_interval * (first.v / result);
        }
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = avg / 2.0;
    }
    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` and `idelta` (Prometheus' `instantValue`).
pub(crate) fn instant_value(pts: &[Point], is_rate: bool) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let last = pts[pts.len() - 1];
    let prev = pts[pts.len() - 2];
    let mut result = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// Least-squares slope and intercept at `intercept_t` (Prometheus'
/// `linearRegression`).
pub(crate) fn linear_regression(pts: &[Point], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = pts[0].v;
    let mut const_y = true;
    for (i, p) in pts.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    let intercept = sy / n - slope * sx / n;
    (slope, intercept)
}

/// `deriv`.
pub(crate) fn deriv(pts: &[Point]) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    Some(linear_regression(pts, pts[0].t).0)
}

/// `predict_linear` at evaluation time `t`, `secs` seconds ahead.
pub(crate) fn predict_linear(pts: &[Point], t: i64, secs: f64) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(pts, t);
    Some(intercept + slope * secs)
}

/// `resets`.
pub(crate) fn resets(pts: &[Point]) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
    Some(pts.windows(2).filter(|w| w[1].v < w[0].v).count() as f64)
}

/// `changes`.
pub(crate) fn changes(pts: &[Point]) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
    Some(
        pts.windows(2)
            .filter(|w| w[1].v != w[0].v && !(w[1].v.is_nan() && w[0].v.is_nan()))
            .count() as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<Point> {
        v.iter().map(|&(t, v)| Point { t, v }).collect()
    }

    #[test]
    fn extrapolation_stops_at_zero_for_counters() {
        // Samples 30s..90s in a (0, 120s] window: a counter starting at 10
        // would reach zero 30s before the first sample, no further.
        let p = pts(&[(30_000, 10.0), (60_000, 20.0), (90_000, 30.0)]);
        let inc = extrapolated_rate(&p, 0, 120_000, 120_000, true, false).unwrap();
        assert!((inc - 40.0).abs() < 1e-9, "{inc}");
        let delta = extrapolated_rate(&p, 0, 120_000, 120_000, false, false).unwrap();
        assert!((delta - 40.0).abs() < 1e-9, "{delta}");
    }

    #[test]
    fn skipping_the_reset_scan_is_exact_without_resets() {
        let p = pts(&[(15_000, 3.0), (30_000, 7.5), (45_000, 7.5), (60_000, 11.0)]);
        for is_rate in [true, false] {
            let full = extrapolated_rate(&p, 0, 60_000, 60_000, true, is_rate).unwrap();
            let fast = extrapolated_rate_with(&p, 0, 60_000, 60_000, true, is_rate, false).unwrap();
            assert_eq!(full.to_bits(), fast.to_bits());
        }
    }

    #[test]
    fn counter_resets_are_added_back() {
        let p = pts(&[(0, 5.0), (60_000, 10.0), (120_000, 2.0)]);
        assert_eq!(resets(&p), Some(1.0));
        let inc = extrapolated_rate(&p, -1, 120_000, 120_001, true, false).unwrap();
        assert!(inc > 7.0);
    }

    #[test]
    fn irate_uses_last_two_samples() {
        let p = pts(&[(0, 1.0), (10_000, 5.0), (20_000, 8.0)]);
        assert_eq!(instant_value(&p, true), Some(0.3));
        assert_eq!(instant_value(&p, false), Some(3.0));
    }

    #[test]
    fn deriv_of_a_line_is_its_slope() {
        let p = pts(&[(0, 1.0), (1_000, 3.0), (2_000, 5.0)]);
        assert_eq!(deriv(&p), Some(2.0));
        assert_eq!(predict_linear(&p, 2_000, 10.0), Some(25.0));
    }
}
