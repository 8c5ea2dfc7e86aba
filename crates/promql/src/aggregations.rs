//! Aggregation operators (`sum`, `avg`, `topk`, `count_values`, ...) with
//! `by`/`without` grouping. Groups are computed once per series; each step
//! then only folds values.

use std::collections::HashMap;

use promlite_model::{Labels, METRIC_NAME};
use promql_parser::parser::token::*;
use promql_parser::parser::{AggregateExpr, LabelModifier};

use crate::engine::{Evaluator, StepCursor, Val};
use crate::error::{Error, Result};
use crate::functions::over_time::quantile;
use crate::functions::rate::kahan_inc;
use crate::value::{Point, SeriesData};

/// Running state of one group at one step.
#[derive(Clone, Copy, Default)]
struct Acc {
    seen: bool,
    v: f64,
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

/// Prometheus' `Labels.Hash()` (xxHash64 over `name\xffvalue\xff...`),
/// used by `limit_ratio` to pick series deterministically.
fn prom_hash(l: &Labels) -> u64 {
    let mut buf = Vec::with_capacity(l.heap_size() + 16);
    for lb in l.iter() {
        buf.extend_from_slice(lb.name.as_bytes());
        buf.push(0xff);
        buf.extend_from_slice(lb.value.as_bytes());
        buf.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&buf, 0)
}

fn group_labels(l: &Labels, m: &Option<LabelModifier>) -> Labels {
    match m {
        None => Labels::empty(),
        Some(LabelModifier::Include(ls)) => l.keep(&ls.labels),
        Some(LabelModifier::Exclude(ls)) => {
            let mut names: Vec<&str> = ls.labels.iter().map(String::as_str).collect();
            names.push(METRIC_NAME);
            l.drop_names(&names)
        }
    }
}

fn param_k(v: f64) -> Result<i64> {
    if v.is_nan() {
        return Err(Error::ParameterNaN);
    }
    if v >= 9.223_372_036_854_776e18 || v <= -9.223_372_036_854_776e18 {
        return Err(Error::ParameterOverflow(v));
    }
    Ok(v as i64)
}

impl Evaluator<'_> {
    /// Evaluates an aggregation.
    pub(crate) fn eval_aggregate(&mut self, a: &AggregateExpr) -> Result<Val> {
        let op = a.op.id();
        let steps = self.steps();
        let mut param: Vec<f64> = Vec::new();
        let mut label = String::new();
        if let Some(p) = &a.param {
            if op == T_COUNT_VALUES {
                match self.eval(p)? {
                    Val::Str(s) => label = s,
                    _ => return Err(Error::InvalidArgument("expected string".into())),
                }
            } else {
                param = self.eval_scalar(p)?;
            }
        }
        let input = self.eval_vector(&a.expr)?;
        if op == T_COUNT_VALUES && (label.is_empty() || crate::literals::has_invalid_utf8(&label)) {
            return Err(Error::InvalidLabelName(label));
        }
        if matches!(op, T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO) {
            return self.eval_select_agg(op, a, input, &param);
        }
        if op == T_QUANTILE {
            if let Some(&q) = param.first() {
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    self.annos.invalid_quantile(q);
                }
            }
        }
        // Groups.
        let mut gidx: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<SeriesData> = Vec::new();
        let mut group_of: Vec<usize> = Vec::with_capacity(input.len());
        for s in &input {
            let gl = group_labels(&s.labels, &a.modifier);
            let keeps_name = gl.has(METRIC_NAME);
            let g = *gidx.entry(gl.clone()).or_insert_with(|| {
                out.push(SeriesData::new(gl, false));
                out.len() - 1
            });
            if keeps_name && s.drop_name {
                out[g].drop_name = true;
            }
            group_of.push(g);
        }
        if op == T_COUNT_VALUES {
            return self.eval_count_values(&input, &group_of, &out, &label);
        }
        let ng = out.len();
        let mut accs = vec![Acc::default(); ng];
        let mut vals: Vec<Vec<f64>> = if op == T_QUANTILE {
            vec![Vec::new(); ng]
        } else {
            Vec::new()
        };
        let mut cursor = StepCursor::new(input.len());
        let mut present = Vec::new();
        #[allow(clippy::needless_range_loop)] // `i` indexes steps, not only `param`.
        for i in 0..steps {
            if i % 256 == 255 {
                self.check()?;
            }
            let t = self.step_ts(i);
            cursor.at(&input, t, &mut present);
            if present.is_empty() {
                continue;
            }
            accs.iter_mut().for_each(|a| *a = Acc::default());
            vals.iter_mut().for_each(Vec::clear);
            for &(si, f) in &present {
                let g = group_of[si];
                let acc = &mut accs[g];
                if !acc.seen {
                    acc.seen = true;
                    acc.count = 1.0;
                    acc.v = f;
                    acc.c = 0.0;
                    acc.mean = f;
                    if op == T_QUANTILE {
                        vals[g].push(f);
                    }
                    if matches!(op, T_STDDEV | T_STDVAR) {
                        acc.v = if f.is_nan() || f.is_infinite() {
                            f64::NAN
                        } else {
                            0.0
                        };
                    }
                    continue;
                }
                acc.count += 1.0;
                match op {
                    T_SUM => (acc.v, acc.c) = kahan_inc(f, acc.v, acc.c),
                    T_AVG => {
                        if !acc.incremental {
                            let (ns, nc) = kahan_inc(f, acc.v, acc.c);
                            if !ns.is_infinite() {
                                acc.v = ns;
                                acc.c = nc;
                                continue;
                            }
                            acc.incremental = true;
                            acc.mean = acc.v / (acc.count - 1.0);
                            acc.c /= acc.count - 1.0;
                        }
                        let q = (acc.count - 1.0) / acc.count;
                        (acc.mean, acc.c) = kahan_inc(f / acc.count, q * acc.mean, q * acc.c);
                    }
                    T_MAX if acc.v < f || acc.v.is_nan() => acc.v = f,
                    T_MIN if acc.v > f || acc.v.is_nan() => acc.v = f,
                    T_STDDEV | T_STDVAR => {
                        let delta = f - acc.mean;
                        acc.mean += delta / acc.count;
                        acc.v += delta * (f - acc.mean);
                    }
                    T_QUANTILE => vals[g].push(f),
                    _ => {}
                }
            }
            for (g, acc) in accs.iter().enumerate() {
                if !acc.seen {
                    continue;
                }
                let v = match op {
                    T_SUM => {
                        if acc.v.is_infinite() {
                            acc.v
                        } else {
                            acc.v + acc.c
                        }
                    }
                    T_AVG => {
                        if acc.incremental {
                            acc.mean + acc.c
                        } else if acc.v.is_infinite() {
                            acc.v / acc.count
                        } else {
                            acc.v / acc.count + acc.c / acc.count
                        }
                    }
                    T_COUNT => acc.count,
                    T_GROUP => 1.0,
                    T_MAX | T_MIN => acc.v,
                    T_STDVAR => acc.v / acc.count,
                    T_STDDEV => (acc.v / acc.count).sqrt(),
                    T_QUANTILE => quantile(param[i], &mut vals[g]),
                    _ => return Err(Error::Unsupported(format!("aggregation {}", a.op))),
                };
                out[g].points.push(Point { t, v });
            }
        }
        out.retain(|s| !s.points.is_empty());
        Ok(Val::Vector(out))
    }

    fn eval_count_values(
        &mut self,
        input: &[SeriesData],
        group_of: &[usize],
        groups: &[SeriesData],
        label: &str,
    ) -> Result<Val> {
        let mut idx: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<SeriesData> = Vec::new();
        let mut counts: HashMap<usize, f64> = HashMap::new();
        let mut cursor = StepCursor::new(input.len());
        let mut present = Vec::new();
        for i in 0..self.steps() {
            let t = self.step_ts(i);
            cursor.at(input, t, &mut present);
            counts.clear();
            let mut order: Vec<usize> = Vec::new();
            for &(si, f) in &present {
                let g = &groups[group_of[si]];
                let mut b = g.labels.builder();
                b.set(label, &crate::format::format_prom_value(f));
                let l = b.labels();
                let o = *idx.entry(l.clone()).or_insert_with(|| {
                    out.push(SeriesData::new(l, false));
                    out.len() - 1
                });
                let c = counts.entry(o).or_insert_with(|| {
                    order.push(o);
                    0.0
                });
                *c += 1.0;
            }
            for o in order {
                out[o].points.push(Point { t, v: counts[&o] });
            }
        }
        Ok(Val::Vector(out))
    }

    /// `topk`, `bottomk`, `limitk`, `limit_ratio`: they keep input series.
    fn eval_select_agg(
        &mut self,
        op: TokenId,
        a: &AggregateExpr,
        input: Vec<SeriesData>,
        param: &[f64],
    ) -> Result<Val> {
        let mut gidx: HashMap<Labels, usize> = HashMap::new();
        let mut group_of = Vec::with_capacity(input.len());
        for s in &input {
            let gl = group_labels(&s.labels, &a.modifier);
            let n = gidx.len();
            group_of.push(*gidx.entry(gl).or_insert(n));
        }
        let ng = gidx.len();
        let mut out: Vec<SeriesData> = input
            .iter()
            .map(|s| SeriesData::new(s.labels.clone(), s.drop_name))
            .collect();
        let mut order: Vec<usize> = Vec::new();
        let mut members: Vec<Vec<(usize, f64)>> = vec![Vec::new(); ng];
        let mut cursor = StepCursor::new(input.len());
        let mut present = Vec::new();
        let hashes: Vec<f64> = if op == T_LIMIT_RATIO {
            input
                .iter()
                .map(|s| prom_hash(&s.labels) as f64 / u64::MAX as f64)
                .collect()
        } else {
            Vec::new()
        };
        for i in 0..self.steps() {
            let t = self.step_ts(i);
            cursor.at(&input, t, &mut present);
            let p = param.get(i).copied().unwrap_or(f64::NAN);
            if p.is_nan() {
                return Err(if op == T_LIMIT_RATIO {
                    Error::RatioNaN
                } else {
                    Error::ParameterNaN
                });
            }
            if present.is_empty() {
                continue;
            }
            if op == T_LIMIT_RATIO {
                if p.is_nan() {
                    return Err(Error::RatioNaN);
                }
                let mut r = p;
                if !(-1.0..=1.0).contains(&r) {
                    r = r.clamp(-1.0, 1.0);
                    self.annos.invalid_ratio(p, r);
                }
                for &(si, f) in &present {
                    let off = hashes[si];
                    if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                        if i == 0 {
                            order.push(si);
                        }
                        out[si].points.push(Point { t, v: f });
                    }
                }
                continue;
            }
            let k = param_k(p)?;
            if k < 1 {
                continue;
            }
            members.iter_mut().for_each(Vec::clear);
            for &(si, f) in &present {
                members[group_of[si]].push((si, f));
            }
            for m in members.iter_mut() {
                if m.is_empty() {
                    continue;
                }
                match op {
                    T_TOPK => m.sort_by(|x, y| cmp_desc_nan_last(x.1, y.1)),
                    T_BOTTOMK => m.sort_by(|x, y| cmp_asc_nan_last(x.1, y.1)),
                    _ => {}
                }
                for &(si, f) in m.iter().take(k.min(m.len() as i64) as usize) {
                    if i == 0 {
                        order.push(si);
                    }
                    out[si].points.push(Point { t, v: f });
                }
            }
        }
        if self.steps() == 1 {
            let mut ordered = Vec::with_capacity(order.len());
            for si in order {
                ordered.push(std::mem::replace(
                    &mut out[si],
                    SeriesData::new(Labels::empty(), false),
                ));
            }
            return Ok(Val::Vector(ordered));
        }
        out.retain(|s| !s.points.is_empty());
        Ok(Val::Vector(out))
    }
}

fn cmp_desc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => b.partial_cmp(&a).unwrap_or(Equal),
    }
}

fn cmp_asc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => a.partial_cmp(&b).unwrap_or(Equal),
    }
}
