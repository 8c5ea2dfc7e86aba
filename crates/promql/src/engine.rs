//! The engine: options, query entry points and the expression evaluator.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use promlite_model::{Labels, METRIC_NAME};
use promlite_storage::Queryable;
use promql_parser::parser::{self, AtModifier, Expr, Offset};

use crate::annotations::Annotations;
use crate::error::{Error, Result};
use crate::value::{Point, QueryResult, QueryStats, Sample, Series, SeriesData, Value};

/// Engine options (Prometheus' `promql.EngineOpts`).
#[derive(Debug, Clone)]
pub struct EngineOpts {
    /// How far back an instant selector looks for a sample (default 5m).
    pub lookback_delta: Duration,
    /// The most samples a query may hold in memory (default 50,000,000).
    pub max_samples: usize,
    /// The longest a query may run (default 2m).
    pub timeout: Duration,
    /// The step of subqueries that do not give one (default 1m).
    pub default_subquery_step: Duration,
}

impl Default for EngineOpts {
    fn default() -> Self {
        EngineOpts {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

/// The PromQL engine. Cheap to share; holds only options.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOpts,
    /// The default subquery step set from the configuration's
    /// `evaluation_interval`, in milliseconds; 0 while unset (then
    /// [`EngineOpts::default_subquery_step`] applies). Shared by clones.
    default_step_ms: Arc<AtomicI64>,
}

/// A flag that cancels running queries when set.
pub type CancelFlag = Arc<AtomicBool>;

impl Engine {
    /// An engine with `opts`.
    pub fn new(opts: EngineOpts) -> Self {
        Engine {
            opts,
            default_step_ms: Arc::default(),
        }
    }

    /// Sets the step of subqueries that give none, as Prometheus'
    /// `promql.SetDefaultEvaluationInterval` does with the global
    /// `evaluation_interval` on every configuration (re)load. Applies to
    /// this engine and its clones; zero restores
    /// [`EngineOpts::default_subquery_step`].
    pub fn set_default_subquery_step(&self, step: Duration) {
        let ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        self.default_step_ms.store(ms, Ordering::Relaxed);
    }

    /// The step of subqueries that give none.
    pub fn default_subquery_step(&self) -> Duration {
        match self.default_step_ms.load(Ordering::Relaxed) {
            ms if ms > 0 => Duration::from_millis(ms as u64),
            _ => self.opts.default_subquery_step,
        }
    }

    /// The engine's options.
    pub fn opts(&self) -> &EngineOpts {
        &self.opts
    }

    /// Evaluates `query` at time `t` (milliseconds).
    pub fn instant_query(&self, q: &dyn Queryable, query: &str, t: i64) -> Result<QueryResult> {
        self.instant_query_with_cancel(q, query, t, None)
    }

    /// Like [`Engine::instant_query`], stopping early when `cancel` is set.
    pub fn instant_query_with_cancel(
        &self,
        q: &dyn Queryable,
        query: &str,
        t: i64,
        cancel: Option<CancelFlag>,
    ) -> Result<QueryResult> {
        let expr = parse(query)?;
        self.exec(q, &expr, t, t, 0, cancel)
    }

    /// Evaluates an already parsed expression at time `t`.
    pub fn instant_query_expr(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        t: i64,
    ) -> Result<QueryResult> {
        self.exec(q, expr, t, t, 0, None)
    }

    /// Evaluates an already parsed expression as a range query.
    pub fn range_query_expr(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult> {
        check_range_expr(expr, step)?;
        self.exec(q, expr, start, end, step, None)
    }

    /// Evaluates `query` at every `step` from `start` to `end` (milliseconds).
    pub fn range_query(
        &self,
        q: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult> {
        self.range_query_with_cancel(q, query, start, end, step, None)
    }

    /// Like [`Engine::range_query`], stopping early when `cancel` is set.
    pub fn range_query_with_cancel(
        &self,
        q: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<CancelFlag>,
    ) -> Result<QueryResult> {
        let expr = parse(query)?;
        check_range_expr(&expr, step)?;
        self.exec(q, &expr, start, end, step, cancel)
    }

    fn exec(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<CancelFlag>,
    ) -> Result<QueryResult> {
        let mut ev = Evaluator {
            queryable: q,
            opts: &self.opts,
            default_subquery_step: self.default_subquery_step(),
            start,
            end,
            interval: step.max(1),
            query_start: start,
            query_end: end,
            query_step: step,
            annos: Annotations::default(),
            samples: 0,
            total_samples: 0,
            deadline: Instant::now().checked_add(self.opts.timeout),
            cancel,
        };
        let instant = step == 0;
        let val = ev.eval(expr)?;
        let value = match val {
            Val::Scalar(v) => {
                if instant {
                    Value::Scalar {
                        t: start,
                        v: v.first().copied().unwrap_or(f64::NAN),
                    }
                } else {
                    let points = v
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| Point {
                            t: start + i as i64 * step,
                            v,
                        })
                        .collect();
                    Value::Matrix(vec![Series {
                        labels: Labels::empty(),
                        points,
                    }])
                }
            }
            Val::Str(s) => Value::String { t: start, v: s },
            Val::Vector(series) => {
                let series = finish_names(series)?;
                if instant {
                    let out: Vec<Sample> = series
                        .into_iter()
                        .filter_map(|s| {
                            s.points.first().map(|p| Sample {
                                labels: s.labels,
                                t: p.t,
                                v: p.v,
                            })
                        })
                        .collect();
                    // As in Prometheus, an instant vector keeps evaluation
                    // order (storage order for selectors; the order of
                    // `sort`, `topk` and the like): sorting 100k label sets
                    // would cost more than selecting them.
                    Value::Vector(out)
                } else {
                    let mut m: Vec<Series> = series
                        .into_iter()
                        .filter(|s| !s.points.is_empty())
                        .map(|s| Series {
                            labels: s.labels,
                            points: s.points,
                        })
                        .collect();
                    sort_by_labels(&mut m, |s| &s.labels);
                    Value::Matrix(m)
                }
            }
            Val::Matrix(series) => {
                let series = finish_names(series)?;
                let mut m: Vec<Series> = series
                    .into_iter()
                    .filter(|s| !s.points.is_empty())
                    .map(|s| Series {
                        labels: s.labels,
                        points: s.points,
                    })
                    .collect();
                sort_by_labels(&mut m, |s| &s.labels);
                Value::Matrix(m)
            }
        };
        Ok(QueryResult {
            value,
            warnings: ev.annos.warnings.into_iter().collect(),
            infos: ev.annos.infos.into_iter().collect(),
            stats: QueryStats {
                total_samples: ev.total_samples,
                peak_samples: ev.samples as u64,
            },
        })
    }
}

fn check_range_expr(expr: &Expr, step: i64) -> Result<()> {
    if step <= 0 {
        return Err(Error::InvalidArgument(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
    }
    match expr.value_type() {
        parser::value::ValueType::Vector | parser::value::ValueType::Scalar => {}
        other => {
            return Err(Error::InvalidArgument(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                type_name(other)
            )))
        }
    }
    Ok(())
}

fn type_name(t: parser::value::ValueType) -> &'static str {
    match t {
        parser::value::ValueType::Vector => "instant vector",
        parser::value::ValueType::Scalar => "scalar",
        parser::value::ValueType::Matrix => "range vector",
        parser::value::ValueType::String => "string",
    }
}

/// Parses a query with promql-parser, decoding string literals as Go does.
pub(crate) fn parse(query: &str) -> Result<Expr> {
    crate::literals::parse_query(query)
}

/// Sorts by label set (Prometheus' `labels.Compare` order). The pairs of
/// each set are decoded once up front, so the comparisons do not decode
/// the packed label sets again and again.
pub(crate) fn sort_by_labels<T>(v: &mut Vec<T>, labels: impl Fn(&T) -> &Labels) {
    if v.len() < 2 {
        return;
    }
    let mut order: Vec<usize> = (0..v.len()).collect();
    {
        let keys: Vec<Vec<(&str, &str)>> = v
            .iter()
            .map(|x| labels(x).iter().map(|l| (l.name, l.value)).collect())
            .collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    }
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// Strips `__name__` (and `__type__`/`__unit__`) from series marked for
/// delayed removal and merges series that became equal; two of them
/// holding a point at the same time is the duplicate-labelset error.
pub(crate) fn finish_names(series: Vec<SeriesData>) -> Result<Vec<SeriesData>> {
    let mut any = false;
    let mut out: Vec<SeriesData> = Vec::with_capacity(series.len());
    for mut s in series {
        if s.drop_name {
            s.labels = drop_reserved(&s.labels);
            s.drop_name = false;
            any = true;
        }
        out.push(s);
    }
    // Operators keep label sets unique; only dropping names can make two
    // series equal.
    if !any {
        return Ok(out);
    }
    let mut idx: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
    let mut merged: Vec<SeriesData> = Vec::with_capacity(out.len());
    for s in out {
        if s.points.is_empty() {
            continue;
        }
        match idx.get(&s.labels) {
            Some(&i) => {
                let dst = &mut merged[i];
                let mut pts = std::mem::take(&mut dst.points);
                pts.extend_from_slice(&s.points);
                pts.sort_by_key(|p| p.t);
                if pts.windows(2).any(|w| w[0].t == w[1].t) {
                    return Err(Error::DuplicateLabelset);
                }
                dst.points = pts;
            }
            None => {
                idx.insert(s.labels.clone(), merged.len());
                merged.push(s);
            }
        }
    }
    Ok(merged)
}

/// Drops `__name__`, `__type__` and `__unit__`.
pub(crate) fn drop_reserved(l: &Labels) -> Labels {
    if !l.iter().any(|l| l.name.starts_with("__")) {
        return l.clone();
    }
    l.drop_names(&[METRIC_NAME, "__type__", "__unit__"])
}

/// An evaluated expression over all steps of the current evaluation.
#[derive(Debug)]
pub(crate) enum Val {
    /// An instant vector: per series, a point at each step where it has one.
    Vector(Vec<SeriesData>),
    /// A range vector for an instant evaluation (raw samples).
    Matrix(Vec<SeriesData>),
    /// A scalar per step.
    Scalar(Vec<f64>),
    /// A string.
    Str(String),
}

/// The state of one query evaluation.
pub(crate) struct Evaluator<'a> {
    pub(crate) queryable: &'a dyn Queryable,
    pub(crate) opts: &'a EngineOpts,
    /// The step of subqueries that give none ([`Engine::default_subquery_step`]).
    pub(crate) default_subquery_step: Duration,
    /// First step of the current (sub)evaluation.
    pub(crate) start: i64,
    /// Last step of the current (sub)evaluation.
    pub(crate) end: i64,
    /// Step width (1 for instant evaluations).
    pub(crate) interval: i64,
    pub(crate) query_start: i64,
    pub(crate) query_end: i64,
    /// The query's step (0 for instant queries).
    pub(crate) query_step: i64,
    pub(crate) annos: Annotations,
    /// Samples held in memory (checked against the limit).
    pub(crate) samples: usize,
    /// Samples read by selectors, per step (for [`QueryStats`]).
    pub(crate) total_samples: u64,
    deadline: Option<Instant>,
    cancel: Option<CancelFlag>,
}

/// Milliseconds of a duration.
pub(crate) fn dur_ms(d: &Duration) -> i64 {
    d.as_millis() as i64
}

/// Milliseconds of an offset (negative for `offset -5m`).
pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => dur_ms(d),
        Some(Offset::Neg(d)) => -dur_ms(d),
    }
}

fn systime_ms(t: &SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

impl Evaluator<'_> {
    /// Number of steps of the current evaluation.
    pub(crate) fn steps(&self) -> usize {
        ((self.end - self.start) / self.interval) as usize + 1
    }

    /// Timestamp of step `i`.
    pub(crate) fn step_ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.interval
    }

    /// Index of the step at `t`.
    pub(crate) fn step_index(&self, t: i64) -> usize {
        ((t - self.start) / self.interval) as usize
    }

    /// The `@` time of a selector or subquery, if it has one.
    pub(crate) fn at_ms(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.query_start),
            Some(AtModifier::End) => Some(self.query_end),
            Some(AtModifier::At(t)) => Some(systime_ms(t)),
        }
    }

    /// Checks timeout and cancellation.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(c) = &self.cancel {
            if c.load(Ordering::Relaxed) {
                return Err(Error::Canceled);
            }
        }
        if let Some(d) = self.deadline {
            if Instant::now() > d {
                return Err(Error::Timeout);
            }
        }
        Ok(())
    }

    /// Accounts for `n` more samples held in memory.
    pub(crate) fn add_samples(&mut self, n: usize) -> Result<()> {
        self.samples += n;
        if self.samples > self.opts.max_samples {
            return Err(Error::TooManySamples);
        }
        Ok(())
    }

    /// Evaluates `e` over every step of the current evaluation.
    pub(crate) fn eval(&mut self, e: &Expr) -> Result<Val> {
        self.check()?;
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; self.steps()])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => match self.eval(&u.expr)? {
                Val::Scalar(mut v) => {
                    v.iter_mut().for_each(|x| *x = -*x);
                    Ok(Val::Scalar(v))
                }
                Val::Vector(mut vs) => {
                    for s in &mut vs {
                        s.drop_name = true;
                        s.points.iter_mut().for_each(|p| p.v = -p.v);
                    }
                    Ok(Val::Vector(vs))
                }
                _ => Err(Error::Unsupported("unary on non-numeric value".into())),
            },
            Expr::VectorSelector(vs) => self.eval_vector_selector(vs).map(Val::Vector),
            Expr::MatrixSelector(ms) => {
                let r = self.load_matrix_selector(ms, false)?;
                let m = r.windows_at(self.start);
                self.total_samples += m.iter().map(|s| s.points.len() as u64).sum::<u64>();
                Ok(Val::Matrix(m))
            }
            Expr::Subquery(sq) => {
                let r = self.eval_subquery(sq)?;
                Ok(Val::Matrix(r.windows_at(self.start)))
            }
            Expr::Call(c) => self.eval_call(c),
            Expr::Aggregate(a) => self.eval_aggregate(a),
            Expr::Binary(b) => self.eval_binary(b),
            Expr::Extension(_) => Err(Error::Unsupported("extension expressions".into())),
        }
    }

    /// Evaluates `e` as a scalar-per-step argument.
    pub(crate) fn eval_scalar(&mut self, e: &Expr) -> Result<Vec<f64>> {
        match self.eval(e)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(Error::Unsupported("expected scalar argument".into())),
        }
    }

    /// Evaluates `e` as an instant vector argument.
    pub(crate) fn eval_vector(&mut self, e: &Expr) -> Result<Vec<SeriesData>> {
        match self.eval(e)? {
            Val::Vector(v) => Ok(v),
            _ => Err(Error::Unsupported(
                "expected instant vector argument".into(),
            )),
        }
    }
}

/// Walks an instant vector step by step: for each step, the indices and
/// values of the series that have a point there.
pub(crate) struct StepCursor {
    pos: Vec<usize>,
}

impl StepCursor {
    pub(crate) fn new(n: usize) -> Self {
        StepCursor { pos: vec![0; n] }
    }

    /// Fills `out` with `(series index, value)` for every series with a
    /// point at `t`. Must be called with increasing `t`.
    pub(crate) fn at(&mut self, series: &[SeriesData], t: i64, out: &mut Vec<(usize, f64)>) {
        out.clear();
        for (i, s) in series.iter().enumerate() {
            let p = &mut self.pos[i];
            while *p < s.points.len() && s.points[*p].t < t {
                *p += 1;
            }
            if *p < s.points.len() && s.points[*p].t == t {
                out.push((i, s.points[*p].v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_storage::{Querier, VecQuerier, VecSeries};

    struct Store(Vec<VecSeries>);

    impl Queryable for Store {
        fn querier(&self, _: i64, _: i64) -> promlite_storage::Result<Box<dyn Querier>> {
            Ok(Box::new(VecQuerier::new(self.0.clone())))
        }
    }

    fn store() -> Store {
        let l = |job: &str| Labels::from_pairs(&[("__name__", "req_total"), ("job", job)]);
        Store(vec![
            VecSeries::new(
                l("a"),
                (0..=10).map(|i| (i * 60_000, i as f64 * 60.0)).collect(),
            ),
            VecSeries::new(
                l("b"),
                (0..=10).map(|i| (i * 60_000, i as f64 * 120.0)).collect(),
            ),
        ])
    }

    fn vector(r: QueryResult) -> Vec<(String, f64)> {
        match r.value {
            Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
            other => panic!("not a vector: {other}"),
        }
    }

    #[test]
    fn rate_over_regular_counter_is_exact() {
        let e = Engine::default();
        let r = e
            .instant_query(&store(), "rate(req_total[5m])", 600_000)
            .unwrap();
        assert_eq!(
            vector(r),
            vec![
                (r#"{job="a"}"#.to_string(), 1.0),
                (r#"{job="b"}"#.to_string(), 2.0)
            ]
        );
    }

    #[test]
    fn stats_count_samples_read_per_step() {
        let e = Engine::default();
        // Two series, one sample a minute: a 5m window holds 5 samples.
        let r = e
            .instant_query(&store(), "rate(req_total[5m])", 600_000)
            .unwrap();
        assert_eq!(r.stats.total_samples, 10);
        // Six steps, each seeing one sample of each series.
        let r = e
            .range_query(&store(), "sum(req_total)", 0, 600_000, 120_000)
            .unwrap();
        assert_eq!(r.stats.total_samples, 12);
        assert!(r.stats.peak_samples >= 12, "{:?}", r.stats);
        // A window that slides over 3 steps reads overlapping samples again:
        // windows (-2m,0] (0,2m] (2m,4m] hold 1, 2 and 2 samples per series.
        let r = e
            .range_query(&store(), "rate(req_total[2m])", 0, 240_000, 120_000)
            .unwrap();
        assert_eq!(r.stats.total_samples, 10);
        // Subquery results are not storage reads; their selector is, at
        // the inner steps 5m..10m (as Prometheus, the step on the window's
        // open edge is evaluated too): 6 per series.
        let r = e
            .instant_query(&store(), "max_over_time(req_total[5m:1m])", 600_000)
            .unwrap();
        assert_eq!(r.stats.total_samples, 12);
    }

    #[test]
    fn range_query_walks_every_step() {
        let e = Engine::default();
        let r = e
            .range_query(&store(), "sum(req_total)", 0, 600_000, 120_000)
            .unwrap();
        let Value::Matrix(m) = r.value else {
            panic!("not a matrix")
        };
        assert_eq!(m.len(), 1);
        let vals: Vec<f64> = m[0].points.iter().map(|p| p.v).collect();
        assert_eq!(vals, vec![0.0, 360.0, 720.0, 1080.0, 1440.0, 1800.0]);
    }

    #[test]
    fn subquery_without_step_uses_the_configured_evaluation_interval() {
        // Samples every minute; `[10m:]` at 10m takes the default step.
        let e = Engine::default();
        let q = "count_over_time(req_total{job=\"a\"}[10m:])";
        assert_eq!(
            vector(e.instant_query(&store(), q, 600_000).unwrap())[0].1,
            10.0
        );
        // A clone (as the API holds) sees the configuration's interval.
        let shared = e.clone();
        e.set_default_subquery_step(Duration::from_secs(15));
        assert_eq!(shared.default_subquery_step(), Duration::from_secs(15));
        assert_eq!(
            vector(shared.instant_query(&store(), q, 600_000).unwrap())[0].1,
            40.0
        );
        e.set_default_subquery_step(Duration::ZERO);
        assert_eq!(e.default_subquery_step(), Duration::from_secs(60));
    }

    #[test]
    fn lookback_ends_five_minutes_after_last_sample() {
        let e = Engine::default();
        let q = "req_total{job=\"a\"}";
        assert_eq!(
            vector(e.instant_query(&store(), q, 600_000 + 299_999).unwrap()).len(),
            1
        );
        assert!(vector(e.instant_query(&store(), q, 600_000 + 300_000).unwrap()).is_empty());
    }

    #[test]
    fn sort_by_labels_matches_labels_ord() {
        let mut v: Vec<Labels> = [
            &[("a", "2")][..],
            &[("a", "1"), ("b", "1")],
            &[("a", "1")],
            &[("__name__", "z")],
            &[("a", "10")],
        ]
        .iter()
        .map(|p| Labels::from_pairs(p))
        .collect();
        let mut want = v.clone();
        want.sort();
        sort_by_labels(&mut v, |l| l);
        assert_eq!(v, want);
    }

    #[test]
    fn cancelled_query_stops() {
        let e = Engine::default();
        let flag: CancelFlag = Arc::new(AtomicBool::new(true));
        let err = e
            .instant_query_with_cancel(&store(), "req_total", 0, Some(flag))
            .unwrap_err();
        assert!(matches!(err, Error::Canceled));
    }

    #[test]
    fn too_many_samples_is_an_error() {
        let e = Engine::new(EngineOpts {
            max_samples: 5,
            ..EngineOpts::default()
        });
        let err = e
            .instant_query(&store(), "count_over_time(req_total[10m])", 600_000)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
    }

    #[test]
    fn duplicate_labelsets_after_name_removal_fail() {
        let e = Engine::default();
        let err = e
            .instant_query(
                &store(),
                "label_replace(req_total, \"job\", \"x\", \"\", \"\")",
                0,
            )
            .unwrap_err();
        assert!(matches!(err, Error::DuplicateLabelset));
    }

    #[test]
    fn parse_errors_are_reported() {
        let e = Engine::default();
        assert!(matches!(
            e.instant_query(&store(), "sum(", 0),
            Err(Error::Parse(_))
        ));
    }
}
