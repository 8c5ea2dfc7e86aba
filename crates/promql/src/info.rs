//! `info()`: enriches series with the data labels of info metrics
//! (best effort, as Prometheus' experimental `info` function).

use std::collections::HashMap;

use promlite_model::{Labels, Matcher, METRIC_NAME};
use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};

use crate::engine::{Evaluator, StepCursor, Val};
use crate::error::Result;
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
    let has_name =
        sel.name.is_some() || sel.matchers.matchers.iter().any(|m| m.name == METRIC_NAME);
    if !has_name {
        sel.name = Some("target_info".to_string());
    }
    // Data-label matchers are applied to the info series' labels after the join.
    let data_matchers: Vec<(String, promql_parser::label::Matcher)> = sel
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != METRIC_NAME)
        .map(|m| (m.name.clone(), m.clone()))
        .collect();
    sel.matchers.matchers.retain(|m| m.name == METRIC_NAME);
    let infos = ev.eval_vector_selector(&sel)?;
    let _ = Matcher::equal;
    // Index info series by identifying labels.
    let mut by_id: HashMap<Labels, Vec<usize>> = HashMap::new();
    for (i, s) in infos.iter().enumerate() {
        if IDENTIFYING.iter().all(|n| s.labels.has(n)) {
            by_id
                .entry(s.labels.keep(&IDENTIFYING))
                .or_default()
                .push(i);
        }
    }
    let mut out: HashMap<Labels, usize> = HashMap::new();
    let mut res: Vec<SeriesData> = Vec::new();
    let mut cur = StepCursor::new(infos.len());
    let mut present = Vec::new();
    let mut present_v: Vec<Option<f64>> = vec![None; infos.len()];
    let mut vcur = StepCursor::new(v.len());
    let mut vpresent = Vec::new();
    for step in 0..ev.steps() {
        let t = ev.step_ts(step);
        cur.at(&infos, t, &mut present);
        present_v.iter_mut().for_each(|x| *x = None);
        for &(i, val) in &present {
            present_v[i] = Some(val);
        }
        vcur.at(&v, t, &mut vpresent);
        for &(si, val) in &vpresent {
            let s = &v[si];
            let id = s.labels.keep(&IDENTIFYING);
            let mut b = s.labels.builder();
            let mut matched_any = false;
            if let Some(list) = by_id.get(&id) {
                for &ii in list {
                    if present_v[ii].is_none() {
                        continue;
                    }
                    let il = &infos[ii].labels;
                    let ok = data_matchers
                        .iter()
                        .all(|(n, m)| m.is_match(il.get_or_empty(n)));
                    if !ok {
                        continue;
                    }
                    matched_any = true;
                    for l in il.iter() {
                        if l.name == METRIC_NAME || IDENTIFYING.contains(&l.name) {
                            continue;
                        }
                        if !data_matchers.is_empty()
                            && !data_matchers.iter().any(|(n, _)| n == l.name)
                        {
                            continue;
                        }
                        if !s.labels.has(l.name) {
                            b.set(l.name, l.value);
                        }
                    }
                }
            }
            let requires_match = data_matchers
                .iter()
                .any(|(_, m)| !m.is_match("") || matches!(m.op, MatchOp::Equal));
            if !matched_any && requires_match {
                continue;
            }
            let l = b.labels();
            let idx = *out.entry(l.clone()).or_insert_with(|| {
                res.push(SeriesData::new(l, s.drop_name));
                res.len() - 1
            });
            res[idx].points.push(Point { t, v: val });
        }
    }
    Ok(Val::Vector(res))
}
