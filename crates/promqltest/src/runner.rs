//! Running scripts: loading data, evaluating, and the implicit checks of
//! README §7 (`@` pinning and range-mode consistency).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use promlite_promql::{Engine, EngineOpts, Expr, QueryResult, Value};
use promql_parser::parser::AtModifier;

use crate::check::{almost_equal, check_annotations, check_error, check_instant, check_matrix};
use crate::error::{Error, Result};
use crate::script::{parse_script, Command, Eval, EvalKind, SeqValue};
use crate::storage::TestStorage;

/// Creates a fresh, empty storage (for `clear` and for each file).
pub type StorageFactory = Box<dyn Fn() -> Arc<dyn TestStorage> + Send + Sync>;

/// One skip-list or known-failure entry.
#[derive(Debug, Clone)]
pub struct SkipEntry {
    /// Why it is skipped.
    pub reason: String,
}

/// Skip entries keyed by `file:line`.
pub type SkipList = HashMap<String, SkipEntry>;

/// Parses `file:line | reason | expr` lines (`#` comments allowed).
pub fn parse_skip_list(text: &str) -> SkipList {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.splitn(3, " | ");
            let key = parts.next()?.trim().to_string();
            let reason = parts.next()?.trim().to_string();
            Some((key, SkipEntry { reason }))
        })
        .collect()
}

/// The outcome of one eval.
#[derive(Debug, Clone)]
pub struct EvalOutcome {
    /// `file:line`.
    pub key: String,
    /// The expression.
    pub expr: String,
    /// `None` when it passed, else why it failed.
    pub failure: Option<String>,
    /// The skip entry's reason, if listed.
    pub skipped: Option<String>,
    /// Whether promql-parser rejected the expression.
    pub parse_error: bool,
    /// Whether the eval touches native histograms (heuristic of README §8).
    pub native_histogram: bool,
}

/// Results of one file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// File name.
    pub name: String,
    /// Every eval.
    pub evals: Vec<EvalOutcome>,
}

impl FileReport {
    /// (passed, failed, skipped). A skipped eval that passes counts as failed.
    pub fn counts(&self) -> (usize, usize, usize) {
        let (mut p, mut f, mut s) = (0, 0, 0);
        for e in &self.evals {
            match (&e.skipped, &e.failure) {
                (Some(_), Some(_)) => s += 1,
                (Some(_), None) => f += 1,
                (None, None) => p += 1,
                (None, Some(_)) => f += 1,
            }
        }
        (p, f, s)
    }
}

/// Engine settings the conformance scripts assume (README §5).
pub fn test_engine() -> Engine {
    Engine::new(EngineOpts {
        lookback_delta: Duration::from_secs(300),
        max_samples: 10_000,
        timeout: Duration::from_secs(100),
        default_subquery_step: Duration::from_secs(60),
    })
}

const AT_UNSAFE: [&str; 15] = [
    "time",
    "timestamp",
    "predict_linear",
    "start",
    "end",
    "range",
    "step",
    "minute",
    "hour",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "month",
    "year",
];

fn systime(ms: i64) -> SystemTime {
    if ms >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

fn uses_at_unsafe(e: &Expr) -> bool {
    match e {
        Expr::Call(c) => {
            AT_UNSAFE.contains(&c.func.name) || c.args.args.iter().any(|a| uses_at_unsafe(a))
        }
        Expr::Aggregate(a) => {
            uses_at_unsafe(&a.expr) || a.param.as_ref().is_some_and(|p| uses_at_unsafe(p))
        }
        Expr::Binary(b) => uses_at_unsafe(&b.lhs) || uses_at_unsafe(&b.rhs),
        Expr::Unary(u) => uses_at_unsafe(&u.expr),
        Expr::Paren(p) => uses_at_unsafe(&p.expr),
        Expr::Subquery(s) => uses_at_unsafe(&s.expr),
        _ => false,
    }
}

fn pin_at(e: &mut Expr, t: i64) {
    match e {
        Expr::VectorSelector(vs) if vs.at.is_none() => {
            vs.at = Some(AtModifier::At(systime(t)));
        }
        Expr::MatrixSelector(ms) if ms.vs.at.is_none() => {
            ms.vs.at = Some(AtModifier::At(systime(t)));
        }
        // Selectors inside a subquery are left alone.
        Expr::Subquery(s) if s.at.is_none() => {
            s.at = Some(AtModifier::At(systime(t)));
        }
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| pin_at(a, t)),
        Expr::Aggregate(a) => {
            pin_at(&mut a.expr, t);
            if let Some(p) = a.param.as_mut() {
                pin_at(p, t);
            }
        }
        Expr::Binary(b) => {
            pin_at(&mut b.lhs, t);
            pin_at(&mut b.rhs, t);
        }
        Expr::Unary(u) => pin_at(&mut u.expr, t),
        Expr::Paren(p) => pin_at(&mut p.expr, t),
        _ => {}
    }
}

/// Runs evals against storages made by a factory.
pub struct Runner {
    engine: Engine,
    factory: StorageFactory,
    skips: SkipList,
}

struct State {
    storage: Arc<dyn TestStorage>,
    histogram_names: Vec<String>,
}

impl Runner {
    /// A runner using `factory` for storage and `skips` for skipped evals.
    pub fn new(factory: StorageFactory, skips: SkipList) -> Self {
        Runner {
            engine: test_engine(),
            factory,
            skips,
        }
    }

    /// Runs one script file.
    pub fn run_file(&self, path: &std::path::Path) -> Result<FileReport> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        self.run_text(&name, &text)
    }

    /// Runs a script given as text; `name` identifies it in skip entries.
    pub fn run_text(&self, name: &str, text: &str) -> Result<FileReport> {
        let cmds = parse_script(text)?;
        let mut st = State {
            storage: (self.factory)(),
            histogram_names: Vec::new(),
        };
        let mut report = FileReport {
            name: name.to_string(),
            evals: Vec::new(),
        };
        for c in cmds {
            match c {
                Command::Clear => {
                    st.storage = (self.factory)();
                    st.histogram_names.clear();
                }
                Command::Load { step, nhcb, series } => {
                    let mut app = st.storage.appender();
                    for s in &series {
                        let mut has_h = false;
                        for (k, v) in s.values.iter().enumerate() {
                            match v {
                                SeqValue::Float(f) => {
                                    let t = k as i64 * step;
                                    match s.st_offsets.get(k).copied().flatten() {
                                        Some(off) => {
                                            app.append_st(None, &s.labels, t + off, t, *f)?
                                        }
                                        None => app.append(None, &s.labels, t, *f)?,
                                    };
                                }
                                SeqValue::Histogram => has_h = true,
                                SeqValue::Omitted => {}
                            }
                        }
                        let name = s.labels.get_or_empty("__name__");
                        if has_h {
                            st.histogram_names.push(name.to_string());
                        }
                        if nhcb {
                            for suf in ["_bucket", "_count", "_sum"] {
                                if let Some(base) = name.strip_suffix(suf) {
                                    st.histogram_names.push(base.to_string());
                                }
                            }
                        }
                    }
                    app.commit()?;
                }
                Command::Eval(ev) => {
                    let key = format!("{name}:{}", ev.line);
                    let skipped = self.skips.get(&key).map(|s| s.reason.clone());
                    let parse_error = promql_parser::parser::parse(&ev.expr).is_err();
                    let native_histogram = is_nh(&ev, &st.histogram_names);
                    let failure = self.run_eval(&st, &ev).err().map(|mut f| {
                        if f.len() > 600 {
                            let mut cut = 600;
                            while !f.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            f.truncate(cut);
                            f.push_str("...");
                        }
                        f
                    });
                    report.evals.push(EvalOutcome {
                        key,
                        expr: ev.expr.clone(),
                        failure,
                        skipped,
                        parse_error,
                        native_histogram,
                    });
                }
            }
        }
        Ok(report)
    }

    fn run_eval(&self, st: &State, ev: &Eval) -> std::result::Result<(), String> {
        let expr = promlite_promql::parse_query(&ev.expr).map_err(|e| format!("parse: {e}"))?;
        let q: &dyn promlite_storage::Queryable = st.storage.as_ref();
        match ev.kind {
            EvalKind::Range { start, end, step } => {
                let res = self.engine.range_query_expr(q, &expr, start, end, step);
                let r = expect_outcome(ev, res)?;
                let Some(r) = r else { return Ok(()) };
                match &r.value {
                    Value::Matrix(m) => check_matrix(&ev.series, start, end, step, m),
                    other => Err(format!("range query returned {other}")),
                }
            }
            EvalKind::Instant { t } => {
                let at = match ev.expect.range_vector {
                    Some((_, e, _)) => e,
                    None => t,
                };
                let res = self.engine.instant_query_expr(q, &expr, at);
                if let Some(r) = expect_outcome(ev, res)? {
                    check_instant(ev, &r.value)?;
                }
                if ev.expect.range_vector.is_some() {
                    return Ok(());
                }
                // README §7.1: `@` pinning.
                if !uses_at_unsafe(&expr) {
                    let mut pinned = expr.clone();
                    pin_at(&mut pinned, t);
                    let times = if t == 0 {
                        vec![-1000, 0, 1000]
                    } else {
                        vec![-10 * t, 0, t / 5, t, 10 * t]
                    };
                    for et in times {
                        let res = self.engine.instant_query_expr(q, &pinned, et);
                        let r = expect_outcome(ev, res)
                            .map_err(|e| format!("@-pinned at {et}: {e}"))?;
                        if let Some(r) = r {
                            check_instant(ev, &r.value)
                                .map_err(|e| format!("@-pinned at {et}: {e}"))?;
                        }
                    }
                }
                // README §7.2: range-mode consistency.
                let text = &ev.expr;
                if ev.expect.fail
                    || ev.expect.string.is_some()
                    || ["start()", "end()", "range()", "step()"]
                        .iter()
                        .any(|f| text.contains(f))
                {
                    return Ok(());
                }
                let r = self
                    .engine
                    .range_query_expr(q, &expr, t - 60_000, t + 60_000, 60_000)
                    .map_err(|e| format!("range-mode: {e}"))?;
                let Value::Matrix(m) = &r.value else {
                    return Err("range-mode: not a matrix".into());
                };
                for w in m.windows(2) {
                    if w[0].labels >= w[1].labels {
                        return Err("range-mode: matrix not sorted".into());
                    }
                }
                if ev.expect.ordered {
                    return Ok(());
                }
                if let Some(x) = ev.expect.scalar {
                    let v = m
                        .first()
                        .and_then(|s| s.points.iter().find(|p| p.t == t))
                        .map(|p| p.v);
                    return match v {
                        Some(v) if almost_equal(v, x) => Ok(()),
                        other => Err(format!("range-mode: expected scalar {x}, got {other:?}")),
                    };
                }
                let vec: Vec<promlite_promql::Sample> = m
                    .iter()
                    .filter_map(|s| {
                        s.points
                            .iter()
                            .find(|p| p.t == t)
                            .map(|p| promlite_promql::Sample {
                                labels: s.labels.clone(),
                                t,
                                v: p.v,
                            })
                    })
                    .collect();
                check_instant(ev, &Value::Vector(vec)).map_err(|e| format!("range-mode: {e}"))
            }
        }
    }
}

/// Applies fail/annotation expectations; returns the result to check
/// further, or `None` when the query was expected to fail and did.
fn expect_outcome(
    ev: &Eval,
    res: promlite_promql::Result<QueryResult>,
) -> std::result::Result<Option<QueryResult>, String> {
    match res {
        Err(e) => {
            if ev.expect.fail {
                check_error(&ev.expect, &e.to_string())?;
                Ok(None)
            } else {
                Err(format!("unexpected error: {e}"))
            }
        }
        Ok(r) => {
            if ev.expect.fail {
                return Err(format!("expected failure, got {}", r.value));
            }
            check_annotations(&ev.expect, &r)?;
            Ok(Some(r))
        }
    }
}

/// README §8's heuristic: `{{` in the expected output, or the query names
/// a series holding histograms (or has a name-less selector) while
/// histograms are loaded.
fn is_nh(ev: &Eval, names: &[String]) -> bool {
    if ev
        .series
        .iter()
        .any(|s| s.values.iter().any(|v| matches!(v, SeqValue::Histogram)))
    {
        return true;
    }
    if names.is_empty() {
        return false;
    }
    let idents: Vec<&str> = ev
        .expr
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .collect();
    if idents.iter().any(|i| names.iter().any(|n| n == i)) {
        return true;
    }
    let b = ev.expr.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'{'
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'{'))
    })
}
