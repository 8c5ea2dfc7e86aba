//! Vector and matrix selectors and subqueries: each series is read once
//! for the whole evaluation range and the steps then walk over it.

use promlite_model::{is_stale_nan, Labels, MatchType, Matcher, METRIC_NAME};
use promlite_storage::SelectHints;
use promql_parser::label::{MatchOp, Matcher as PMatcher};
use promql_parser::parser::{MatrixSelector, SubqueryExpr, VectorSelector};

use crate::engine::{dur_ms, offset_ms, Evaluator, Val};
use crate::error::{Error, Result};
use crate::value::{Point, SeriesData};

/// A range-vector argument: series with their samples (stale markers
/// removed), and how to find the window of a step.
#[derive(Debug)]
pub(crate) struct RangeArg {
    pub(crate) series: Vec<SeriesData>,
    /// Window length in milliseconds.
    pub(crate) range: i64,
    /// Offset in milliseconds.
    pub(crate) offset: i64,
    /// Fixed `@` time, if any.
    pub(crate) at: Option<i64>,
    /// Whether the samples come from storage (a matrix selector), so that
    /// the windows a function reads count toward the query's statistics.
    pub(crate) from_storage: bool,
    /// Start timestamps per series and point (parallel to `series`), for
    /// series that have any; empty when they were not asked for or the
    /// argument is a subquery (which has none).
    pub(crate) sts: Vec<Option<Vec<i64>>>,
}

impl RangeArg {
    /// The end of the window for step `t`; the window is `(end-range, end]`.
    pub(crate) fn window_end(&self, t: i64) -> i64 {
        self.at.unwrap_or(t) - self.offset
    }

    /// The start timestamps of series `i`, if it has any.
    pub(crate) fn st(&self, i: usize) -> Option<&[i64]> {
        self.sts.get(i).and_then(|s| s.as_deref())
    }

    /// Every series cut to its window at `t` (raw samples), for a range
    /// vector returned as a query result.
    pub(crate) fn windows_at(self, t: i64) -> Vec<SeriesData> {
        let end = self.window_end(t);
        let start = end - self.range;
        self.series
            .into_iter()
            .map(|mut s| {
                s.points.retain(|p| p.t > start && p.t <= end);
                s
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    }
}

/// One selected series: labels, points and (when asked for and present)
/// one start timestamp per point.
#[derive(Debug)]
pub(crate) struct Selected {
    pub(crate) labels: Labels,
    pub(crate) points: Vec<Point>,
    pub(crate) st: Option<Vec<i64>>,
}

/// Sliding window over one series' points for increasing window ends.
pub(crate) struct Window {
    lo: usize,
    hi: usize,
}

impl Window {
    pub(crate) fn new() -> Self {
        Window { lo: 0, hi: 0 }
    }

    /// The points in `(end-range, end]`. Ends must not decrease between
    /// calls unless they are equal (an `@` time).
    pub(crate) fn slice<'p>(&mut self, pts: &'p [Point], end: i64, range: i64) -> &'p [Point] {
        let start = end - range;
        if self.hi > 0 && pts.get(self.hi - 1).is_some_and(|p| p.t > end) {
            self.lo = 0;
            self.hi = 0;
        }
        while self.hi < pts.len() && pts[self.hi].t <= end {
            self.hi += 1;
        }
        if self.lo > self.hi {
            self.lo = self.hi;
        }
        while self.lo < self.hi && pts[self.lo].t <= start {
            self.lo += 1;
        }
        &pts[self.lo..self.hi]
    }

    /// The index range of the last [`Window::slice`].
    pub(crate) fn bounds(&self) -> (usize, usize) {
        (self.lo, self.hi)
    }
}

fn convert_matcher(m: &PMatcher) -> Result<Matcher> {
    let (t, v) = match &m.op {
        MatchOp::Equal => (MatchType::Equal, m.value.as_str()),
        MatchOp::NotEqual => (MatchType::NotEqual, m.value.as_str()),
        MatchOp::Re(_) => (MatchType::Regex, m.value.as_str()),
        MatchOp::NotRe(_) => (MatchType::NotRegex, m.value.as_str()),
    };
    Matcher::new(t, &m.name, v).map_err(|e| Error::InvalidArgument(e.to_string()))
}

/// The matcher sets of a selector; more than one for `or` selectors.
fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>> {
    let name = vs.name.as_ref().map(|n| Matcher::equal(METRIC_NAME, n));
    let base: Vec<Matcher> = vs
        .matchers
        .matchers
        .iter()
        .map(convert_matcher)
        .collect::<Result<_>>()?;
    let mut sets = Vec::new();
    if vs.matchers.or_matchers.is_empty() {
        let mut s = base;
        s.extend(name);
        sets.push(s);
    } else {
        for group in &vs.matchers.or_matchers {
            let mut s: Vec<Matcher> = group.iter().map(convert_matcher).collect::<Result<_>>()?;
            s.extend(base.iter().cloned());
            s.extend(name.clone());
            sets.push(s);
        }
    }
    Ok(sets)
}

impl Evaluator<'_> {
    /// Loads every series matching `vs` with its samples in `[mint, maxt]`,
    /// in storage order (sorted and deduplicated only for `or` selectors).
    /// With `want_st`, each series that has start timestamps gets them,
    /// one per point.
    pub(crate) fn select(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        want_st: bool,
    ) -> Result<Vec<Selected>> {
        let querier = self.queryable.querier(mint, maxt)?;
        let hints = SelectHints {
            start: mint,
            end: maxt,
        };
        let mut out: Vec<Selected> = Vec::new();
        // Samples are decoded into one reused buffer and then copied out at
        // their exact size: one allocation per series instead of a
        // doubling series of them.
        let mut buf: Vec<Point> = Vec::new();
        let mut st_buf: Vec<i64> = Vec::new();
        let sets = matcher_sets(vs)?;
        for ms in &sets {
            // As Prometheus' engine: unsorted; results are sorted at the end.
            let set = querier.select(false, Some(&hints), ms)?;
            for s in set {
                if out.len() % 1024 == 1023 {
                    self.check()?;
                }
                let s = s?;
                let pts = &mut buf;
                pts.clear();
                st_buf.clear();
                let mut any_st = false;
                let want_st = want_st && s.may_have_start_timestamps();
                let mut it = s.iterator();
                let mut vt = it.seek(mint);
                while vt == promlite_storage::ValueType::Float {
                    let (t, v) = it.at();
                    if t > maxt {
                        break;
                    }
                    pts.push(Point { t, v });
                    if want_st {
                        let st = it.at_st();
                        any_st |= st != 0;
                        st_buf.push(st);
                    }
                    vt = it.next();
                }
                if let Some(e) = it.err() {
                    return Err(Error::InvalidArgument(e.to_string()));
                }
                out.push(Selected {
                    labels: s.labels().clone(),
                    points: pts.as_slice().to_vec(),
                    st: any_st.then(|| st_buf.as_slice().to_vec()),
                });
            }
        }
        // Only `or` selectors can select a series twice.
        if sets.len() > 1 && out.len() > 1 {
            crate::engine::sort_by_labels(&mut out, |s| &s.labels);
            out.dedup_by(|a, b| a.labels == b.labels);
        }
        Ok(out)
    }

    /// Evaluates an instant vector selector at every step.
    pub(crate) fn eval_vector_selector(&mut self, vs: &VectorSelector) -> Result<Vec<SeriesData>> {
        self.eval_vector_selector_inner(vs, false)
    }

    /// Like [`Self::eval_vector_selector`] but each point's value is the
    /// timestamp (seconds) of the sample it came from (`timestamp()`).
    pub(crate) fn eval_vector_selector_timestamps(
        &mut self,
        vs: &VectorSelector,
    ) -> Result<Vec<SeriesData>> {
        self.eval_vector_selector_inner(vs, true)
    }

    fn eval_vector_selector_inner(
        &mut self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Vec<SeriesData>> {
        let offset = offset_ms(&vs.offset);
        let at = self.at_ms(&vs.at);
        let lookback = dur_ms(&self.opts.lookback_delta);
        let (first, last) = match at {
            Some(a) => (a - offset, a - offset),
            None => (self.start - offset, self.end - offset),
        };
        let data = self.select(vs, first - lookback + 1, last, false)?;
        let steps = self.steps();
        let mut out = Vec::with_capacity(data.len());
        // A sample is seen by at most this many steps (its lookback).
        let per_sample = (lookback / self.interval.max(1)) as usize + 1;
        for Selected {
            labels,
            points: pts,
            ..
        } in data
        {
            let mut s = SeriesData::new(labels, false);
            s.points
                .reserve_exact(steps.min(pts.len().saturating_mul(per_sample)));
            let mut j = 0usize;
            for i in 0..steps {
                let ts = self.step_ts(i);
                let r = at.unwrap_or(ts) - offset;
                while j < pts.len() && pts[j].t <= r {
                    j += 1;
                }
                if j == 0 {
                    continue;
                }
                let p = pts[j - 1];
                if p.t <= r - lookback || is_stale_nan(p.v) {
                    continue;
                }
                let v = if timestamps { p.t as f64 / 1000.0 } else { p.v };
                s.points.push(Point { t: ts, v });
            }
            if !s.points.is_empty() {
                out.push(s);
            }
        }
        // The selected points stay in memory until the query ends.
        let n: usize = out.iter().map(|s| s.points.len()).sum();
        self.total_samples += n as u64;
        self.add_samples(n)?;
        Ok(out)
    }

    /// Loads the samples a matrix selector needs for every step, with
    /// their start timestamps when `want_st`.
    pub(crate) fn load_matrix_selector(
        &mut self,
        ms: &MatrixSelector,
        want_st: bool,
    ) -> Result<RangeArg> {
        let vs = &ms.vs;
        let offset = offset_ms(&vs.offset);
        let at = self.at_ms(&vs.at);
        let range = dur_ms(&ms.range);
        let (first, last) = match at {
            Some(a) => (a - offset, a - offset),
            None => (self.start - offset, self.end - offset),
        };
        let data = self.select(vs, first - range + 1, last, want_st)?;
        // One window per series is in use at a time; count the largest.
        let mut peak = 0;
        for d in &data {
            let pts = &d.points;
            let mut w = Window::new();
            let mut most = 0;
            for i in 0..self.steps() {
                let end = at.unwrap_or(self.step_ts(i)) - offset;
                most = most.max(w.slice(pts, end, range).len());
                if at.is_some() {
                    break;
                }
            }
            peak += most;
        }
        self.add_samples(peak)?;
        let mut series = Vec::with_capacity(data.len());
        let mut sts = Vec::new();
        for (i, d) in data.into_iter().enumerate() {
            let Selected {
                labels,
                mut points,
                st,
            } = d;
            // Stale markers leave both columns alike.
            let st: Option<Vec<i64>> = st.map(|st| {
                st.into_iter()
                    .zip(&points)
                    .filter(|(_, p)| !is_stale_nan(p.v))
                    .map(|(s, _)| s)
                    .collect()
            });
            points.retain(|p| !is_stale_nan(p.v));
            if st.is_some() {
                sts.resize(i, None);
                sts.push(st);
            }
            series.push(SeriesData {
                labels,
                drop_name: false,
                points,
            });
        }
        Ok(RangeArg {
            series,
            range,
            offset,
            at,
            from_storage: true,
            sts,
        })
    }

    /// Evaluates a subquery's inner expression at the steps it needs for
    /// every outer step, as series a range function can walk.
    pub(crate) fn eval_subquery(&mut self, sq: &SubqueryExpr) -> Result<RangeArg> {
        let offset = offset_ms(&sq.offset);
        let at = self.at_ms(&sq.at);
        let range = dur_ms(&sq.range);
        let step = match &sq.step {
            Some(s) if !s.is_zero() => dur_ms(s),
            _ => dur_ms(&self.default_subquery_step),
        }
        .max(1);
        let (first, last) = match at {
            Some(a) => (a - offset, a - offset),
            None => (self.start - offset, self.end - offset),
        };
        let lo = first - range;
        // First multiple of the step strictly after... no: at or after lo,
        // as Prometheus aligns subquery steps to absolute time.
        let mut sub_start = lo.div_euclid(step) * step;
        if sub_start < lo {
            sub_start += step;
        }
        let saved = (self.start, self.end, self.interval);
        self.start = sub_start;
        self.end = last;
        self.interval = step;
        let res = if sub_start > last {
            Ok(Val::Vector(Vec::new()))
        } else {
            self.eval(&sq.expr)
        };
        let steps = if sub_start > last { 0 } else { self.steps() };
        let sub_first = self.start;
        (self.start, self.end, self.interval) = saved;
        let series = match res? {
            Val::Vector(v) => v,
            Val::Scalar(v) => vec![SeriesData {
                labels: Labels::empty(),
                drop_name: false,
                points: (0..steps)
                    .map(|i| Point {
                        t: sub_first + i as i64 * step,
                        v: v[i],
                    })
                    .collect(),
            }],
            _ => return Err(Error::Unsupported("subquery of non-vector".into())),
        };
        let series = series
            .into_iter()
            .map(|mut s| {
                s.points.retain(|p| !is_stale_nan(p.v));
                s
            })
            .collect();
        Ok(RangeArg {
            series,
            range,
            offset,
            at,
            from_storage: false,
            sts: Vec::new(),
        })
    }
}
