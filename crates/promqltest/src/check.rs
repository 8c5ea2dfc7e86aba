//! Comparing query results with expectations (README §6).

use std::collections::HashMap;

use promlite_model::{is_stale_nan, Labels};
use promlite_promql::{QueryResult, Value};

use crate::script::{Eval, Expect, Matcher, SeqValue, SeriesLine};

const EPSILON: f64 = 1e-6;
const MIN_NORMAL: f64 = 2.2250738585072014e-308;

/// Prometheus' `almost.Equal` with the stale-marker rule.
pub(crate) fn almost_equal(a: f64, b: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || a.abs() + b.abs() < MIN_NORMAL {
        return diff < EPSILON * MIN_NORMAL;
    }
    diff / (a.abs() + b.abs()).min(f64::MAX) < EPSILON
}

fn matches(m: &Matcher, s: &str) -> bool {
    match m {
        Matcher::Msg(t) => t == s,
        Matcher::Regex(r) => regex::Regex::new(r)
            .map(|re| re.is_match(s))
            .unwrap_or(false),
    }
}

/// Checks the error of a failing query against the expectation.
pub(crate) fn check_error(e: &Expect, err: &str) -> Result<(), String> {
    if let Some(m) = &e.fail_msg {
        if m != err.trim() {
            return Err(format!("expected error {m:?}, got {err:?}"));
        }
    }
    if let Some(r) = &e.fail_regex {
        if !matches(&Matcher::Regex(r.clone()), err) {
            return Err(format!("expected error matching {r:?}, got {err:?}"));
        }
    }
    Ok(())
}

fn check_annos(
    kind: &str,
    lines: &[Option<Matcher>],
    none: bool,
    any: bool,
    got: &[String],
) -> Result<(), String> {
    if none && !got.is_empty() {
        return Err(format!("expected no {kind}, got {got:?}"));
    }
    if any && got.is_empty() {
        return Err(format!("expected a {kind}, got none"));
    }
    if lines.is_empty() {
        return Ok(());
    }
    for l in lines.iter().flatten() {
        if !got.iter().any(|g| matches(l, g)) {
            return Err(format!("expected {kind} {l:?}, got {got:?}"));
        }
    }
    for g in got {
        if !lines
            .iter()
            .any(|l| l.as_ref().is_none_or(|l| matches(l, g)))
        {
            return Err(format!("unexpected {kind} {g:?}"));
        }
    }
    Ok(())
}

/// Checks annotations.
pub(crate) fn check_annotations(e: &Expect, r: &QueryResult) -> Result<(), String> {
    check_annos("warn", &e.warn, e.no_warn, e.any_warn, &r.warnings)?;
    check_annos("info", &e.info, e.no_info, e.any_info, &r.infos)
}

fn fmt_v(v: f64) -> String {
    format!("{v}")
}

/// Checks an instant vector / scalar / string result.
pub(crate) fn check_instant(ev: &Eval, val: &Value) -> Result<(), String> {
    let e = &ev.expect;
    if let Some(s) = &e.string {
        return match val {
            Value::String { v, .. } if v == s => Ok(()),
            other => Err(format!("expected string {s:?}, got {other:?}")),
        };
    }
    if let Some(x) = e.scalar {
        return match val {
            Value::Scalar { v, .. } if almost_equal(*v, x) => Ok(()),
            Value::Scalar { v, .. } => Err(format!("expected scalar {x}, got {v}")),
            other => Err(format!("expected scalar {x}, got {other}")),
        };
    }
    if let Some((s, en, st)) = e.range_vector {
        return match val {
            Value::Matrix(m) => check_matrix(&ev.series, s, en, st, m),
            other => Err(format!("expected range vector, got {other}")),
        };
    }
    let samples = match val {
        Value::Vector(v) => v,
        Value::Scalar { v, .. } => {
            return Err(format!("expected vector, got scalar {v}"));
        }
        other => return Err(format!("expected vector, got {other}")),
    };
    let mut exp: HashMap<&Labels, (usize, &SeriesLine)> = HashMap::new();
    for (i, s) in ev.series.iter().enumerate() {
        exp.insert(&s.labels, (i, s));
    }
    for (pos, s) in samples.iter().enumerate() {
        let Some((i, line)) = exp.get(&s.labels) else {
            return Err(format!("unexpected series {} {}", s.labels, fmt_v(s.v)));
        };
        if e.ordered && *i != pos {
            return Err(format!(
                "series {} at position {pos}, expected {i}",
                s.labels
            ));
        }
        match line.values.first() {
            Some(SeqValue::Float(x)) => {
                if !almost_equal(*x, s.v) {
                    return Err(format!("{}: expected {x}, got {}", s.labels, s.v));
                }
            }
            Some(SeqValue::Histogram) => {
                return Err(format!("{}: expected histogram, got float", s.labels))
            }
            _ => return Err(format!("{}: no expected value", s.labels)),
        }
    }
    if samples.len() != ev.series.len() {
        let got: Vec<&Labels> = samples.iter().map(|s| &s.labels).collect();
        let missing: Vec<String> = ev
            .series
            .iter()
            .filter(|s| !got.contains(&&s.labels))
            .map(|s| s.labels.to_string())
            .collect();
        return Err(format!(
            "expected {} series, got {}; missing {missing:?}",
            ev.series.len(),
            samples.len()
        ));
    }
    Ok(())
}

/// Checks a matrix against expected series sampled at `start + k*step`.
pub(crate) fn check_matrix(
    expected: &[SeriesLine],
    start: i64,
    _end: i64,
    step: i64,
    m: &[promlite_promql::Series],
) -> Result<(), String> {
    for w in m.windows(2) {
        if w[0].labels >= w[1].labels {
            return Err("matrix not sorted by labels".into());
        }
    }
    let exp: HashMap<&Labels, &SeriesLine> = expected.iter().map(|s| (&s.labels, s)).collect();
    for s in m {
        let Some(line) = exp.get(&s.labels) else {
            return Err(format!("unexpected series {} {:?}", s.labels, s.points));
        };
        let want: Vec<(i64, f64)> = line
            .values
            .iter()
            .enumerate()
            .filter_map(|(k, v)| match v {
                SeqValue::Float(x) => Some((start + k as i64 * step, *x)),
                _ => None,
            })
            .collect();
        if line.values.iter().any(|v| matches!(v, SeqValue::Histogram)) {
            return Err(format!("{}: expected histograms", s.labels));
        }
        if want.len() != s.points.len() {
            return Err(format!(
                "{}: expected {} points {:?}, got {} {:?}",
                s.labels,
                want.len(),
                want,
                s.points.len(),
                s.points.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>()
            ));
        }
        for (w, p) in want.iter().zip(&s.points) {
            if w.0 != p.t || !almost_equal(w.1, p.v) {
                return Err(format!(
                    "{}: expected {:?}, got {:?}",
                    s.labels,
                    want,
                    s.points.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>()
                ));
            }
        }
    }
    if m.len() != expected.len() {
        return Err(format!(
            "expected {} series, got {}",
            expected.len(),
            m.len()
        ));
    }
    Ok(())
}
