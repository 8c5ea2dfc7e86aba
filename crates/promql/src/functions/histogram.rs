//! `histogram_quantile` and `histogram_fraction` over classic `le`
//! buckets (Prometheus' `promql/quantile.go`).

use std::collections::HashMap;

use promlite_model::{Labels, BUCKET_LABEL, METRIC_NAME};
use promql_parser::parser::Expr;

use crate::engine::{Evaluator, StepCursor, Val};
use crate::error::Result;
use crate::value::{Point, SeriesData};

/// One classic bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub(crate) upper: f64,
    pub(crate) count: f64,
}

const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a == b {
        return true;
    }
    let min_normal = f64::from_bits(0x0010000000000000);
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || a.abs() + b.abs() < min_normal {
        return diff < eps * min_normal;
    }
    diff / (a.abs() + b.abs()).min(f64::MAX) < eps
}

fn sort_and_coalesce(buckets: &mut Vec<Bucket>) {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match out.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => out.push(*b),
        }
    }
    *buckets = out;
}

fn ensure_monotonic(buckets: &mut [Bucket]) -> bool {
    let mut forced = false;
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let cur = b.count;
        if cur == prev {
            continue;
        }
        if almost_equal(prev, cur, SMALL_DELTA_TOLERANCE) {
            b.count = prev;
            continue;
        }
        if cur < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = cur;
    }
    forced
}

/// Prometheus' `BucketQuantile`: the quantile and whether monotonicity had
/// to be forced.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return (f64::NAN, false),
    }
    sort_and_coalesce(buckets);
    let forced = ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, false);
    }
    let n = buckets.len();
    let observations = buckets[n - 1].count;
    if observations == 0.0 {
        return (f64::NAN, false);
    }
    let mut rank = q * observations;
    let b = buckets[..n - 1].partition_point(|b| b.count < rank);
    if b == n - 1 {
        return (buckets[n - 2].upper, forced);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let mut start = 0.0;
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Prometheus' `BucketFraction`.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    sort_and_coalesce(buckets);
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, b) in buckets.iter().enumerate() {
        let mut lb = if i > 0 {
            buckets[i - 1].upper
        } else {
            f64::NEG_INFINITY
        };
        let ub = b.upper;
        if i == 0 && ub > 0.0 {
            // The first bucket is assumed to start at zero for positive bounds.
            lb = 0.0;
        }
        let interp = |v: f64| {
            if lb == f64::NEG_INFINITY {
                // No interpolation in a bucket of infinite width.
                return b.count;
            }
            rank + (b.count - rank) * (v - lb) / (ub - lb)
        };
        if !lower_set && lb >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lb >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lb < lower && ub > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && lb < upper && ub > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

/// Parses an `le` value as Go's `strconv.ParseFloat` would.
fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse::<f64>().ok(),
    }
}

impl Evaluator<'_> {
    /// Groups the input by labels without `le` and calls `f` per group and
    /// step with that step's buckets.
    fn bucket_groups(
        &mut self,
        v: &[SeriesData],
        mut f: impl FnMut(&mut Self, usize, &mut Vec<Bucket>, &str) -> Option<f64>,
    ) -> Vec<SeriesData> {
        let mut groups: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<SeriesData> = Vec::new();
        // Per input series: (group, upper bound) or None when `le` is bad.
        let mut info: Vec<Option<(usize, f64)>> = Vec::with_capacity(v.len());
        for s in v {
            let le = s.labels.get_or_empty(BUCKET_LABEL);
            match parse_le(le) {
                Some(u) => {
                    let key = s.labels.drop_names(&[BUCKET_LABEL]);
                    let g = *groups.entry(key.clone()).or_insert_with(|| {
                        out.push(SeriesData::new(key, true));
                        out.len() - 1
                    });
                    info.push(Some((g, u)));
                }
                None => {
                    let name = s.labels.get_or_empty(METRIC_NAME).to_string();
                    self.annos.bad_bucket_label(&name, le);
                    info.push(None);
                }
            }
        }
        let mut cursor = StepCursor::new(v.len());
        let mut present = Vec::new();
        let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); out.len()];
        for i in 0..self.steps() {
            let t = self.step_ts(i);
            cursor.at(v, t, &mut present);
            if present.is_empty() {
                continue;
            }
            buckets.iter_mut().for_each(Vec::clear);
            for &(si, val) in &present {
                if let Some((g, u)) = info[si] {
                    buckets[g].push(Bucket {
                        upper: u,
                        count: val,
                    });
                }
            }
            for (g, b) in buckets.iter_mut().enumerate() {
                if b.is_empty() {
                    continue;
                }
                let name = out[g].labels.get_or_empty(METRIC_NAME).to_string();
                if let Some(r) = f(self, i, b, &name) {
                    out[g].points.push(Point { t, v: r });
                }
            }
        }
        out.retain(|s| !s.points.is_empty());
        out
    }

    /// `histogram_quantile(q, v)`.
    pub(crate) fn histogram_quantile(&mut self, args: &[&Expr]) -> Result<Val> {
        let q = self.eval_scalar(args[0])?;
        let v = self.eval_vector(args[1])?;
        if let Some(&q0) = q.first() {
            if q0.is_nan() || !(0.0..=1.0).contains(&q0) {
                self.annos.invalid_quantile(q0);
            }
        }
        let out = self.bucket_groups(&v, |ev, i, b, name| {
            let (r, forced) = bucket_quantile(q[i], b);
            if forced {
                ev.annos.forced_monotonicity(name);
            }
            Some(r)
        });
        Ok(Val::Vector(out))
    }

    /// `histogram_fraction(lower, upper, v)`.
    pub(crate) fn histogram_fraction(&mut self, args: &[&Expr]) -> Result<Val> {
        let lo = self.eval_scalar(args[0])?;
        let hi = self.eval_scalar(args[1])?;
        let v = self.eval_vector(args[2])?;
        let out = self.bucket_groups(&v, |_, i, b, _| Some(bucket_fraction(lo[i], hi[i], b)));
        Ok(Val::Vector(out))
    }
}

impl Evaluator<'_> {
    /// `histogram_quantiles(v, label, q...)`: one output series per
    /// quantile, told apart by `label`.
    pub(crate) fn histogram_quantiles(&mut self, args: &[&Expr]) -> Result<Val> {
        let v = self.eval_vector(args[0])?;
        let label = match args[1] {
            Expr::StringLiteral(s) => s.val.clone(),
            _ => {
                return Err(crate::error::Error::InvalidArgument(
                    "expected string".into(),
                ))
            }
        };
        let mut qs = Vec::new();
        for a in &args[2..] {
            let q = self.eval_scalar(a)?;
            if let Some(&q0) = q.first() {
                if q0.is_nan() || !(0.0..=1.0).contains(&q0) {
                    self.annos.invalid_quantile(q0);
                }
            }
            qs.push(q);
        }
        if v.iter().any(|s| s.labels.has(&label)) {
            return Err(crate::error::Error::DuplicateLabelset);
        }
        let mut out = Vec::new();
        for q in &qs {
            let qv = q.first().copied().unwrap_or(f64::NAN);
            let mut res = self.bucket_groups(&v, |ev, i, b, name| {
                let (r, forced) = bucket_quantile(q[i], b);
                if forced {
                    ev.annos.forced_monotonicity(name);
                }
                Some(r)
            });
            let qs = format!("{qv:?}");
            for s in &mut res {
                let mut b = s.labels.builder();
                b.set(&label, &qs);
                s.labels = b.labels();
            }
            out.extend(res);
        }
        Ok(Val::Vector(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[(f64, f64)]) -> Vec<Bucket> {
        v.iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn quantile_interpolates_within_bucket() {
        let mut x = b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(bucket_quantile(0.75, &mut x), (1.5, false));
    }

    #[test]
    fn non_monotonic_buckets_are_fixed_and_reported() {
        let mut x = b(&[(1.0, 10.0), (2.0, 8.0), (f64::INFINITY, 20.0)]);
        let (_, forced) = bucket_quantile(0.5, &mut x);
        assert!(forced);
    }

    #[test]
    fn missing_inf_bucket_gives_nan() {
        let mut x = b(&[(1.0, 10.0), (2.0, 20.0)]);
        assert!(bucket_quantile(0.5, &mut x).0.is_nan());
    }
}
