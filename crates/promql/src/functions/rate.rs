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

/// Whether a sample's start timestamp says the counter was reset since
/// the previous sample (Prometheus' `isStartTimestampReset`). A start
/// timestamp is known when it is set (not 0) and before its sample.
pub(crate) fn st_reset(prev_st: i64, prev_t: i64, cur_st: i64, cur_t: i64) -> bool {
    if cur_st == 0 || cur_st >= cur_t || cur_st < prev_t {
        return false;
    }
    if cur_st > prev_t {
        return true;
    }
    // The current interval starts at the previous sample: a delta (reset)
    // if the previous sample had a known start of its own, otherwise a
    // cumulative series whose start is unknown (no reset).
    prev_st != 0 && prev_st < prev_t
}

/// Whether a sample's start timestamp overlaps the previous sample: it
/// starts before the previous sample's time yet does not share its start.
pub(crate) fn st_overlap(prev_st: i64, prev_t: i64, cur_st: i64) -> bool {
    cur_st != 0 && cur_st < prev_t && cur_st != prev_st
}

/// Whether the pair of samples at `i-1` and `i` is a counter reset, by
/// value or by start timestamp.
#[inline]
pub(crate) fn is_reset(pts: &[Point], st: Option<&[i64]>, i: usize) -> bool {
    pts[i].v < pts[i - 1].v || st.is_some_and(|s| st_reset(s[i - 1], pts[i - 1].t, s[i], pts[i].t))
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
        None,
        range_start,
        range_end,
        range_ms,
        is_counter,
        is_rate,
        is_counter,
    )
}

/// [`extrapolated_rate`] with the window's start timestamps (`st`, one
/// per point, for counters) and for a caller that knows whether the window
/// holds a counter reset: with `scan_resets` false the per-point reset
/// scan is skipped (the result is the same when there is no reset).
///
/// When the first point's start timestamp lies inside the window and
/// before the point, the counter is taken to be zero at that time instead
/// of extrapolating to the left.
#[allow(clippy::too_many_arguments)]
pub(crate) fn extrapolated_rate_with(
    pts: &[Point],
    st: Option<&[i64]>,
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
    scan_resets: bool,
) -> Option<f64> {
    let first = *pts.first()?;
    let last = pts[pts.len() - 1];
    let zero_at = st
        .filter(|_| is_counter)
        .and_then(|s| s.first().copied())
        .filter(|&s0| s0 != 0 && s0 > range_start && s0 < first.t);
    if pts.len() < 2 && zero_at.is_none() {
        return None;
    }
    let mut result = last.v - first.v;
    if is_counter && scan_resets {
        for i in 1..pts.len() {
            if is_reset(pts, st, i) {
                result += pts[i - 1].v;
            }
        }
    }
    let real_interval = (last.t - first.t) as f64 / 1000.0;
    let avg = if pts.len() > 1 {
        real_interval / (pts.len() - 1) as f64
    } else {
        0.0
    };
    let threshold = avg * 1.1;
    let mut duration_to_end = (range_end - last.t) as f64 / 1000.0;
    if duration_to_end >= threshold {
        duration_to_end = avg / 2.0;
    }
    let (sampled_interval, duration_to_start) = match zero_at {
        Some(s0) => {
            // A zero sample at the start timestamp replaces the left
            // extrapolation.
            result += first.v;
            ((last.t - s0) as f64 / 1000.0, 0.0)
        }
        None => {
            let mut duration_to_start = (first.t - range_start) as f64 / 1000.0;
            if duration_to_start >= threshold {
                duration_to_start = avg / 2.0;
            }
            if is_counter {
                let mut duration_to_zero = duration_to_start;
                if result > 0.0 && first.v >= 0.0 {
                    duration_to_zero = real_interval * (first.v / result);
                }
                if duration_to_zero < duration_to_start {
                    duration_to_start = duration_to_zero;
                }
            }
            (real_interval, duration_to_start)
        }
    };
    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` and `idelta` (Prometheus' `instantValue`); `st` holds the
/// window's start timestamps, if any.
pub(crate) fn instant_value(pts: &[Point], st: Option<&[i64]>, is_rate: bool) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len();
    let last = pts[n - 1];
    let prev = pts[n - 2];
    let mut result = if is_rate && is_reset(pts, st, n - 1) {
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

/// `resets`, counting start-timestamp resets too.
pub(crate) fn resets(pts: &[Point], st: Option<&[i64]>) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
    Some((1..pts.len()).filter(|&i| is_reset(pts, st, i)).count() as f64)
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
            let fast =
                extrapolated_rate_with(&p, None, 0, 60_000, 60_000, true, is_rate, false).unwrap();
            assert_eq!(full.to_bits(), fast.to_bits());
        }
    }

    #[test]
    fn counter_resets_are_added_back() {
        let p = pts(&[(0, 5.0), (60_000, 10.0), (120_000, 2.0)]);
        assert_eq!(resets(&p, None), Some(1.0));
        let inc = extrapolated_rate(&p, -1, 120_000, 120_001, true, false).unwrap();
        assert!(inc > 7.0);
    }

    #[test]
    fn start_timestamp_resets_follow_prometheus_rules() {
        // A later start than the previous sample: reset.
        assert!(st_reset(50, 100, 150, 200));
        // Starting at the previous sample: a delta when the previous
        // sample had a known start, else a cumulative series with unknown
        // start (or a previous start that is invalid).
        assert!(st_reset(40, 100, 100, 200));
        assert!(!st_reset(0, 100, 100, 200));
        assert!(!st_reset(100, 100, 100, 200));
        assert!(!st_reset(160, 100, 100, 200));
        // Unset, at or after the sample itself, or before the previous
        // sample: no reset.
        assert!(!st_reset(50, 100, 0, 200));
        assert!(!st_reset(50, 100, 200, 200));
        assert!(!st_reset(50, 100, 250, 200));
        assert!(!st_reset(50, 100, 60, 200));
        assert!(st_overlap(0, 100, 60));
        assert!(!st_overlap(60, 100, 60));
        assert!(!st_overlap(60, 100, 100));
        assert!(!st_overlap(60, 100, 0));
    }

    #[test]
    fn a_start_inside_the_window_replaces_left_extrapolation() {
        let m = 60_000;
        // Prometheus' start_timestamps.test, type st_inside_extrapolate_right:
        // samples 1..4 at 2m..5m started at 1m30s, increase over (1m, 6m].
        let p = pts(&[(2 * m, 1.0), (3 * m, 2.0), (4 * m, 3.0), (5 * m, 4.0)]);
        let st = [90_000; 4];
        let inc =
            extrapolated_rate_with(&p, Some(&st), m, 6 * m, 5 * m, true, false, true).unwrap();
        assert!((inc - 36.0 / 7.0).abs() < 1e-12, "{inc}");
        // A start outside the window, or at the sample itself, extrapolates
        // as without start timestamps.
        for s0 in [m, 2 * m] {
            let st = [s0; 4];
            let inc =
                extrapolated_rate_with(&p, Some(&st), m, 6 * m, 5 * m, true, false, true).unwrap();
            assert!((inc - 5.0).abs() < 1e-12, "{inc}");
        }
        // One sample with a start inside the window is enough: no
        // extrapolation to the right then.
        let one = pts(&[(4 * m, 3.0)]);
        let inc =
            extrapolated_rate_with(&one, Some(&[150_000]), m, 6 * m, 5 * m, true, false, true);
        assert_eq!(inc, Some(3.0));
        assert_eq!(extrapolated_rate(&one, m, 6 * m, 5 * m, true, false), None);
        // Deltas (start = previous sample) are resets: each sample adds.
        let p = pts(&[(m, 60.0), (2 * m, 60.0), (3 * m, 60.0)]);
        let st = [0, m, 2 * m];
        assert_eq!(resets(&p, Some(&st)), Some(1.0));
        let st = [1, m, 2 * m];
        assert_eq!(resets(&p, Some(&st)), Some(2.0));
        assert_eq!(instant_value(&p, Some(&st), true), Some(1.0));
        assert_eq!(instant_value(&p, None, true), Some(0.0));
    }

    #[test]
    fn irate_uses_last_two_samples() {
        let p = pts(&[(0, 1.0), (10_000, 5.0), (20_000, 8.0)]);
        assert_eq!(instant_value(&p, None, true), Some(0.3));
        assert_eq!(instant_value(&p, None, false), Some(3.0));
    }

    #[test]
    fn deriv_of_a_line_is_its_slope() {
        let p = pts(&[(0, 1.0), (1_000, 3.0), (2_000, 5.0)]);
        assert_eq!(deriv(&p), Some(2.0));
        assert_eq!(predict_linear(&p, 2_000, 10.0), Some(25.0));
    }
}
