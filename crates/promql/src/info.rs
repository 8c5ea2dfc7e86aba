//! `info()`: enriches series with the data labels of info metrics
//! (best effort, as Prometheus' experimental `info` function).

use std::collections::HashMap;

use promlite_model::{Labels, METRIC_NAME};
use promql_parser::label::{MatchOp, Matcher as PMatcher};
use promql_parser::parser::token::T_EQL_REGEX;
use promql_parser::parser::{Expr, VectorSelector};

use crate::engine::{Evaluator, StepCursor, Val};
use crate::error::{Error, Result};
use crate::value::{Point, SeriesData};

const IDENTIFYING: [&str; 2] = ["instance", "job"];

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        _ => e,
    }
}

/// Evaluates `info(v [, selector])`.
pub(crate) fn eval_info(ev: &mut Evaluator<'_>, args: &[&Expr]) -> Result<Val> {
    let v = ev.eval_vector(args[0])?;
    let mut sel = match args.get(1).map(|a| unparen(a)) {
        Some(Expr::VectorSelector(vs)) => vs.clone(),
        _ => VectorSelector::default(),
    };
    let mut name_matchers: Vec<PMatcher> = sel
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name == METRIC_NAME)
        .cloned()
        .collect();
    if let Some(n) = &sel.name {
        name_matchers.push(PMatcher::new(MatchOp::Equal, METRIC_NAME, n));
    }
    let has_positive = name_matchers
        .iter()
        .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Re(_)));
    if name_matchers.is_empty() {
        sel.name = Some("target_info".to_string());
        name_matchers.push(PMatcher::new(MatchOp::Equal, METRIC_NAME, "target_info"));
    } else if !has_positive {
        // Prometheus' effectiveInfoNameMatchers: with only negated name
        // matchers, info series are still limited to `*_info` metrics.
        let m = PMatcher::new_matcher(T_EQL_REGEX, METRIC_NAME.to_string(), ".+_info".to_string())
            .map_err(Error::InvalidArgument)?;
        sel.matchers.matchers.push(m.clone());
        name_matchers.push(m);
    }
    // Data-label matchers filter the info series; they are not used to select.
    let data_matchers: Vec<PMatcher> = sel
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != METRIC_NAME)
        .cloned()
        .collect();
    sel.matchers.matchers.retain(|m| m.name == METRIC_NAME);
    sel.matchers.or_matchers.clear();
    let infos = ev.eval_vector_selector_timestamps(&sel)?;
    let is_info_name = |l: &Labels| {
        let n = l.get_or_empty(METRIC_NAME);
        name_matchers.iter().all(|m| m.is_match(n))
    };
    let requires_match = data_matchers.iter().any(|m| !m.is_match(""));
    let mut out: HashMap<Labels, usize> = HashMap::new();
    let mut res: Vec<SeriesData> = Vec::new();
    let mut cur = StepCursor::new(infos.len());
    let mut present = Vec::new();
    let mut vcur = StepCursor::new(v.len());
    let mut vpresent = Vec::new();
    // Per (info name, identifying labels): the newest info series at a step.
    let mut newest: HashMap<(String, Labels), (usize, f64)> = HashMap::new();
    let mut by_id: HashMap<Labels, Vec<usize>> = HashMap::new();
    for step in 0..ev.steps() {
        let t = ev.step_ts(step);
        cur.at(&infos, t, &mut present);
        newest.clear();
        for &(i, ts) in &present {
            let l = &infos[i].labels;
            let key = (
                l.get_or_empty(METRIC_NAME).to_string(),
                l.keep(&IDENTIFYING),
            );
            match newest.get(&key) {
                Some(&(_, old)) if old >= ts => {}
                _ => {
                    newest.insert(key, (i, ts));
                }
            }
        }
        by_id.clear();
        for ((_, id), (i, _)) in &newest {
            by_id.entry(id.clone()).or_default().push(*i);
        }
        vcur.at(&v, t, &mut vpresent);
        for &(si, val) in &vpresent {
            let s = &v[si];
            if is_info_name(&s.labels) {
                push(&mut out, &mut res, s.labels.clone(), s.drop_name, t, val);
                continue;
            }
            let id = s.labels.keep(&IDENTIFYING);
            let mut added: Vec<(String, String)> = Vec::new();
            let mut matched_any = false;
            if let Some(list) = by_id.get(&id) {
                for &ii in list {
                    let il = &infos[ii].labels;
                    if !data_matchers
                        .iter()
                        .all(|m| m.is_match(il.get_or_empty(&m.name)))
                    {
                        continue;
                    }
                    matched_any = true;
                    for l in il.iter() {
                        if l.name == METRIC_NAME || IDENTIFYING.contains(&l.name) {
                            continue;
                        }
                        if !data_matchers.is_empty()
                            && !data_matchers.iter().any(|m| m.name == l.name)
                        {
                            continue;
                        }
                        if s.labels.has(l.name) {
                            continue;
                        }
                        match added.iter().find(|(n, _)| n == l.name) {
                            Some((_, v)) if v != l.value => {
                                return Err(Error::InvalidArgument(format!(
                                    "conflicting label: {}",
                                    l.name
                                )))
                            }
                            Some(_) => {}
                            None => added.push((l.name.to_string(), l.value.to_string())),
                        }
                    }
                }
            }
            if !matched_any && requires_match {
                continue;
            }
            let mut b = s.labels.builder();
            for (n, v) in &added {
                b.set(n, v);
            }
            push(&mut out, &mut res, b.labels(), s.drop_name, t, val);
        }
    }
    Ok(Val::Vector(res))
}

fn push(
    out: &mut HashMap<Labels, usize>,
    res: &mut Vec<SeriesData>,
    l: Labels,
    drop_name: bool,
    t: i64,
    v: f64,
) {
    let idx = *out.entry(l.clone()).or_insert_with(|| {
        res.push(SeriesData::new(l, drop_name));
        res.len() - 1
    });
    res[idx].points.push(Point { t, v });
}
