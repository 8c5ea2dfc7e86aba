//! Function calls: dispatch and the element-wise and range-vector drivers.
//! Each family lives in its own file.

pub(crate) mod histogram;
pub(crate) mod labels;
pub(crate) mod math;
pub(crate) mod over_time;
pub(crate) mod rate;

use promlite_model::{Labels, LabelsBuilder, METRIC_NAME};
use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr};

use crate::engine::{Evaluator, Val};
use crate::error::{Error, Result};
use crate::selector::{RangeArg, Window};
use crate::value::{Point, SeriesData};

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        _ => e,
    }
}

/// Whether `name` takes a range vector, and at which argument.
fn range_arg_index(name: &str) -> Option<usize> {
    Some(match name {
        "rate"
        | "increase"
        | "delta"
        | "irate"
        | "idelta"
        | "deriv"
        | "predict_linear"
        | "resets"
        | "changes"
        | "avg_over_time"
        | "sum_over_time"
        | "min_over_time"
        | "max_over_time"
        | "count_over_time"
        | "last_over_time"
        | "first_over_time"
        | "present_over_time"
        | "absent_over_time"
        | "stddev_over_time"
        | "stdvar_over_time"
        | "mad_over_time"
        | "double_exponential_smoothing"
        | "holt_winters"
        | "ts_of_max_over_time"
        | "ts_of_min_over_time"
        | "ts_of_last_over_time"
        | "ts_of_first_over_time" => 0,
        "quantile_over_time" => 1,
        _ => return None,
    })
}

/// Labels for `absent`/`absent_over_time`: the selector's equality
/// matchers, except names matched more than once and the metric name.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match unparen(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut b = LabelsBuilder::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut dup: Vec<&str> = Vec::new();
    let all = vs
        .matchers
        .matchers
        .iter()
        .chain(vs.matchers.or_matchers.iter().flatten());
    for m in all {
        if m.name == METRIC_NAME {
            continue;
        }
        if seen.contains(&m.name.as_str()) {
            dup.push(m.name.as_str());
        }
        seen.push(m.name.as_str());
        if matches!(m.op, MatchOp::Equal) {
            b.set(&m.name, &m.value);
        }
    }
    for d in dup {
        b.del(d);
    }
    b.labels()
}

impl Evaluator<'_> {
    /// Evaluates a function call.
    pub(crate) fn eval_call(&mut self, c: &Call) -> Result<Val> {
        let name = c.func.name;
        let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
        if let Some(i) = range_arg_index(name) {
            return self.eval_range_call(name, &args, i);
        }
        let steps = self.steps();
        match name {
            "time" => Ok(Val::Scalar(
                (0..steps)
                    .map(|i| self.step_ts(i) as f64 / 1000.0)
                    .collect(),
            )),
            "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; steps])),
            "start" => Ok(Val::Scalar(vec![self.query_start as f64 / 1000.0; steps])),
            "end" => Ok(Val::Scalar(vec![self.query_end as f64 / 1000.0; steps])),
            "range" => Ok(Val::Scalar(vec![
                (self.query_end - self.query_start) as f64
                    / 1000.0;
                steps
            ])),
            "step" => Ok(Val::Scalar(vec![self.query_step as f64 / 1000.0; steps])),
            "min_of" | "max_of" => {
                let mut acc = self.eval_scalar(args[0])?;
                for a in &args[1..] {
                    let b = self.eval_scalar(a)?;
                    for (x, y) in acc.iter_mut().zip(b) {
                        let pick_y = if name == "min_of" { y < *x } else { y > *x };
                        if x.is_nan() || y.is_nan() {
                            *x = f64::NAN;
                        } else if pick_y {
                            *x = y;
                        }
                    }
                }
                Ok(Val::Scalar(acc))
            }
            "vector" => {
                let v = self.eval_scalar(args[0])?;
                let mut s = SeriesData::new(Labels::empty(), false);
                s.points = v
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| Point {
                        t: self.step_ts(i),
                        v,
                    })
                    .collect();
                Ok(Val::Vector(vec![s]))
            }
            "scalar" => {
                let v = self.eval_vector(args[0])?;
                let mut out = vec![f64::NAN; steps];
                let mut count = vec![0u32; steps];
                for s in &v {
                    for p in &s.points {
                        let i = self.step_index(p.t);
                        count[i] += 1;
                        out[i] = p.v;
                    }
                }
                for (o, c) in out.iter_mut().zip(count) {
                    if c != 1 {
                        *o = f64::NAN;
                    }
                }
                Ok(Val::Scalar(out))
            }
            "absent" => {
                let v = self.eval_vector(args[0])?;
                let mut present = vec![false; steps];
                for s in &v {
                    for p in &s.points {
                        present[self.step_index(p.t)] = true;
                    }
                }
                let mut s = SeriesData::new(absent_labels(args[0]), false);
                for (i, p) in present.iter().enumerate() {
                    if !p {
                        s.points.push(Point {
                            t: self.step_ts(i),
                            v: 1.0,
                        });
                    }
                }
                Ok(Val::Vector(if s.points.is_empty() {
                    vec![]
                } else {
                    vec![s]
                }))
            }
            "timestamp" => {
                let mut v = match unparen(args[0]) {
                    Expr::VectorSelector(vs) => self.eval_vector_selector_timestamps(vs)?,
                    other => {
                        let mut v = self.eval_vector(other)?;
                        for s in &mut v {
                            for p in &mut s.points {
                                p.v = p.t as f64 / 1000.0;
                            }
                        }
                        v
                    }
                };
                v.iter_mut().for_each(|s| s.drop_name = true);
                Ok(Val::Vector(v))
            }
            "label_replace" => self.label_replace(&args),
            "label_join" => self.label_join(&args),
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
                self.sort_call(name, &args)
            }
            "histogram_quantile" => self.histogram_quantile(&args),
            "histogram_fraction" => self.histogram_fraction(&args),
            "histogram_quantiles" => self.histogram_quantiles(&args),
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => {
                // Native histograms only; float series produce nothing.
                // Evaluate the argument anyway so errors and limits apply.
                self.eval_vector(args[0])?;
                Ok(Val::Vector(Vec::new()))
            }
            "info" => self.info_call(&args),
            "clamp" | "clamp_min" | "clamp_max" => {
                let v = self.eval_vector(args[0])?;
                let a = self.eval_scalar(args[1])?;
                let b = if name == "clamp" {
                    self.eval_scalar(args[2])?
                } else {
                    Vec::new()
                };
                let mut out = Vec::with_capacity(v.len());
                for mut s in v {
                    s.drop_name = true;
                    let mut keep = Vec::with_capacity(s.points.len());
                    for p in &s.points {
                        let i = self.step_index(p.t);
                        let v = match name {
                            "clamp_min" => p.v.max(a[i]),
                            "clamp_max" => p.v.min(a[i]),
                            _ => {
                                if a[i] > b[i] {
                                    continue;
                                }
                                if p.v.is_nan() || a[i].is_nan() || b[i].is_nan() {
                                    f64::NAN
                                } else {
                                    p.v.max(a[i]).min(b[i])
                                }
                            }
                        };
                        let v = if name != "clamp" && (p.v.is_nan() || a[i].is_nan()) {
                            f64::NAN
                        } else {
                            v
                        };
                        keep.push(Point { t: p.t, v });
                    }
                    s.points = keep;
                    if !s.points.is_empty() {
                        out.push(s);
                    }
                }
                Ok(Val::Vector(out))
            }
            "round" => {
                let mut v = self.eval_vector(args[0])?;
                let to = match args.get(1) {
                    Some(a) => Some(self.eval_scalar(a)?),
                    None => None,
                };
                for s in &mut v {
                    s.drop_name = true;
                    for p in &mut s.points {
                        p.v = match &to {
                            Some(to) => math::round_to(p.v, to[self.step_index(p.t)]),
                            None => math::round_to(p.v, 1.0),
                        };
                    }
                }
                Ok(Val::Vector(v))
            }
            "minute" | "hour" | "day_of_month" | "day_of_week" | "day_of_year"
            | "days_in_month" | "month" | "year" => {
                let mut v = match args.first() {
                    Some(a) => self.eval_vector(a)?,
                    None => {
                        let mut s = SeriesData::new(Labels::empty(), false);
                        s.points = (0..steps)
                            .map(|i| {
                                let t = self.step_ts(i);
                                Point {
                                    t,
                                    v: t as f64 / 1000.0,
                                }
                            })
                            .collect();
                        vec![s]
                    }
                };
                for s in &mut v {
                    s.drop_name = true;
                    for p in &mut s.points {
                        p.v = math::calendar(name, p.v).unwrap_or(f64::NAN);
                    }
                }
                Ok(Val::Vector(v))
            }
            _ => match math::simple(name) {
                Some(f) => {
                    let mut v = self.eval_vector(args[0])?;
                    for s in &mut v {
                        s.drop_name = true;
                        s.points.iter_mut().for_each(|p| p.v = f(p.v));
                    }
                    Ok(Val::Vector(v))
                }
                None => Err(Error::Unsupported(format!("function {name}"))),
            },
        }
    }

    /// Loads a range-vector argument (matrix selector or subquery), with
    /// start timestamps when `want_st` (subqueries never have them).
    pub(crate) fn range_arg(&mut self, e: &Expr, want_st: bool) -> Result<RangeArg> {
        match unparen(e) {
            Expr::MatrixSelector(ms) => self.load_matrix_selector(ms, want_st),
            Expr::Subquery(sq) => self.eval_subquery(sq),
            _ => Err(Error::Unsupported("expected range vector argument".into())),
        }
    }

    fn eval_range_call(&mut self, name: &str, args: &[&Expr], idx: usize) -> Result<Val> {
        // Functions that treat their input as a counter use start
        // timestamps to find resets.
        let want_st = matches!(name, "rate" | "increase" | "irate" | "resets");
        let arg = self.range_arg(args[idx], want_st)?;
        let steps = self.steps();
        let mut params: Vec<Vec<f64>> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i != idx {
                params.push(self.eval_scalar(a)?);
            }
        }
        if name == "double_exponential_smoothing" || name == "holt_winters" {
            // Prometheus checks the factors per step; constant factors are the norm.
            for (k, what) in [(0usize, "smoothing"), (1, "trend")] {
                if let Some(&f) = params[k].first() {
                    if f <= 0.0 || f >= 1.0 {
                        return Err(Error::InvalidArgument(format!(
                            "invalid {what} factor. Expected: 0 < {} < 1, got: {}",
                            if k == 0 { "sf" } else { "tf" },
                            go_f(f)
                        )));
                    }
                }
            }
        }
        if name == "quantile_over_time" {
            for &q in params[0].iter().take(1) {
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    self.annos.invalid_quantile(q);
                }
            }
        }
        if name == "absent_over_time" {
            let mut present = vec![false; steps];
            for s in &arg.series {
                let mut w = Window::new();
                for (i, pr) in present.iter_mut().enumerate() {
                    let end = arg.window_end(self.step_ts(i));
                    if !w.slice(&s.points, end, arg.range).is_empty() {
                        *pr = true;
                    }
                }
            }
            let mut s = SeriesData::new(absent_labels(args[0]), false);
            for (i, p) in present.iter().enumerate() {
                if !p {
                    s.points.push(Point {
                        t: self.step_ts(i),
                        v: 1.0,
                    });
                }
            }
            return Ok(Val::Vector(if s.points.is_empty() {
                vec![]
            } else {
                vec![s]
            }));
        }
        let keep_name = matches!(name, "last_over_time" | "first_over_time");
        let counter = matches!(name, "rate" | "increase");
        let mut out = Vec::with_capacity(arg.series.len());
        let mut scratch: Vec<f64> = Vec::new();
        let mut resets: Vec<u32> = Vec::new();
        let mut overlaps: Vec<u32> = Vec::new();
        for (si, s) in arg.series.iter().enumerate() {
            self.check()?;
            let st = arg.st(si);
            // resets[k]: counter resets (by value or start timestamp) at
            // indices 1..=k, so a window can tell in O(1) whether it needs
            // the per-point reset scan; overlaps[k] likewise counts start
            // timestamps overlapping their previous sample.
            resets.clear();
            overlaps.clear();
            if counter {
                let mut n = 0u32;
                resets.push(0);
                for k in 1..s.points.len() {
                    n += u32::from(rate::is_reset(&s.points, st, k));
                    resets.push(n);
                }
                if let Some(st) = st {
                    let mut n = 0u32;
                    overlaps.push(0);
                    for k in 1..s.points.len() {
                        n += u32::from(rate::st_overlap(st[k - 1], s.points[k - 1].t, st[k]));
                        overlaps.push(n);
                    }
                }
            }
            let mut overlap_seen = false;
            let mut res = SeriesData::new(s.labels.clone(), s.drop_name || !keep_name);
            res.points.reserve_exact(steps.min(s.points.len()));
            let mut w = Window::new();
            let mut saw_floats = false;
            #[allow(clippy::needless_range_loop)] // `i` indexes steps, not only `params`.
            for i in 0..steps {
                let t = self.step_ts(i);
                let end = arg.window_end(t);
                let pts = w.slice(&s.points, end, arg.range);
                if pts.is_empty() {
                    continue;
                }
                if arg.from_storage {
                    self.total_samples += pts.len() as u64;
                }
                saw_floats = true;
                let start = end - arg.range;
                let (lo, hi) = w.bounds();
                let scan = counter && resets.get(hi - 1) != resets.get(lo);
                if counter && !overlap_seen && overlaps.get(hi - 1) != overlaps.get(lo) {
                    overlap_seen = true;
                }
                let wst = st.map(|st| &st[lo..hi]);
                let v = match name {
                    "rate" | "increase" => rate::extrapolated_rate_with(
                        pts,
                        wst,
                        start,
                        end,
                        arg.range,
                        true,
                        name == "rate",
                        scan,
                    ),
                    "delta" => rate::extrapolated_rate(pts, start, end, arg.range, false, false),
                    "irate" => rate::instant_value(pts, wst, true),
                    "idelta" => rate::instant_value(pts, None, false),
                    "deriv" => rate::deriv(pts),
                    "predict_linear" => rate::predict_linear(pts, t, params[0][i]),
                    "resets" => rate::resets(pts, wst),
                    "changes" => rate::changes(pts),
                    "avg_over_time" => over_time::avg(pts),
                    "sum_over_time" => over_time::sum(pts),
                    "min_over_time" => over_time::min_max(pts, false),
                    "max_over_time" => over_time::min_max(pts, true),
                    "count_over_time" => Some(pts.len() as f64),
                    "last_over_time" => pts.last().map(|p| p.v),
                    "first_over_time" => pts.first().map(|p| p.v),
                    "present_over_time" => Some(1.0),
                    "stddev_over_time" => over_time::stdvar(pts).map(f64::sqrt),
                    "stdvar_over_time" => over_time::stdvar(pts),
                    "mad_over_time" => over_time::mad(pts),
                    "quantile_over_time" => {
                        scratch.clear();
                        scratch.extend(pts.iter().map(|p| p.v));
                        Some(over_time::quantile(params[0][i], &mut scratch))
                    }
                    "double_exponential_smoothing" | "holt_winters" => {
                        over_time::double_exp(pts, params[0][i], params[1][i])
                    }
                    "ts_of_max_over_time" => ts_of_extreme(pts, true),
                    "ts_of_min_over_time" => ts_of_extreme(pts, false),
                    "ts_of_last_over_time" => pts.last().map(|p| p.t as f64 / 1000.0),
                    "ts_of_first_over_time" => pts.first().map(|p| p.t as f64 / 1000.0),
                    _ => return Err(Error::Unsupported(format!("function {name}"))),
                };
                if let Some(v) = v {
                    res.points.push(Point { t, v });
                }
            }
            if overlap_seen {
                self.annos
                    .start_time_overlap(s.labels.get(METRIC_NAME).unwrap_or(""));
            }
            if counter && saw_floats {
                let metric = s.labels.get(METRIC_NAME).unwrap_or("");
                match s.labels.get("__type__") {
                    Some(typ) if typ != "counter" && typ != "histogram" => {
                        self.annos.possible_non_counter_label(metric, typ)
                    }
                    Some(_) => {}
                    None => {
                        if !metric.is_empty()
                            && !["_total", "_sum", "_count", "_bucket"]
                                .iter()
                                .any(|suf| metric.ends_with(suf))
                        {
                            self.annos.possible_non_counter(metric);
                        }
                    }
                }
            }
            if !res.points.is_empty() {
                out.push(res);
            }
        }
        Ok(Val::Vector(out))
    }
}

/// Go's `%f` (six decimals).
fn go_f(v: f64) -> String {
    format!("{v:.6}")
}

fn ts_of_extreme(pts: &[Point], max: bool) -> Option<f64> {
    let mut it = pts.iter();
    let first = it.next()?;
    let (mut m, mut t) = (first.v, first.t);
    for p in it {
        if (max && p.v >= m) || (!max && p.v <= m) || m.is_nan() {
            m = p.v;
            t = p.t;
        }
    }
    Some(t as f64 / 1000.0)
}
