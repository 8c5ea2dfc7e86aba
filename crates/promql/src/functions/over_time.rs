//! The `*_over_time` family and `double_exponential_smoothing`.

use super::rate::kahan_inc;
use crate::value::Point;

/// `avg_over_time` with Prometheus' overflow-safe mean.
pub(crate) fn avg(pts: &[Point]) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
    let (mut sum, mut mean, mut count, mut c) = (0.0, 0.0, 0.0, 0.0);
    let mut incremental = false;
    for p in pts {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(p.v, sum, c);
            if count == 1.0 || !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(p.v / count, q * mean, q * c);
    }
    if incremental {
        Some(mean + c)
    } else {
        Some(sum / count + c / count)
    }
}

/// `sum_over_time`.
pub(crate) fn sum(pts: &[Point]) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
    let (mut s, mut c) = (0.0, 0.0);
    for p in pts {
        (s, c) = kahan_inc(p.v, s, c);
    }
    if s.is_infinite() {
        return Some(s);
    }
    Some(s + c)
}

/// `min_over_time` / `max_over_time`.
pub(crate) fn min_max(pts: &[Point], max: bool) -> Option<f64> {
    let mut it = pts.iter();
    let mut m = it.next()?.v;
    for p in it {
        if (max && p.v > m) || (!max && p.v < m) || m.is_nan() {
            m = p.v;
        }
    }
    Some(m)
}

/// Variance with Prometheus' compensated Welford algorithm.
pub(crate) fn stdvar(pts: &[Point]) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
    let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in pts {
        count += 1.0;
        let delta = p.v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / count, mean, cmean);
        (aux, caux) = kahan_inc(delta * (p.v - (mean + cmean)), aux, caux);
    }
    Some((aux + caux) / count)
}

/// Prometheus' `quantile` over plain values; sorts `vals` (NaN first).
pub(crate) fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    vals[lower as usize] * (1.0 - w) + vals[upper as usize] * w
}

/// `mad_over_time`: median absolute deviation.
pub(crate) fn mad(pts: &[Point]) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
    if pts.iter().any(|p| p.v.is_nan()) {
        return Some(f64::NAN);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| p.v).collect();
    let median = quantile(0.5, &mut vals);
    let mut dev: Vec<f64> = pts.iter().map(|p| (p.v - median).abs()).collect();
    Some(quantile(0.5, &mut dev))
}

/// `double_exponential_smoothing` (formerly `holt_winters`).
pub(crate) fn double_exp(pts: &[Point], sf: f64, tf: f64) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, pts[0].v);
    let mut b = pts[1].v - pts[0].v;
    for (i, p) in pts.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}
