//! Binary operators: arithmetic, comparisons (with and without `bool`),
//! set operators and vector matching (`on`, `ignoring`, `group_left`,
//! `group_right`, `fill`).

use std::collections::HashMap;

use promlite_model::{Labels, METRIC_NAME};
use promql_parser::parser::token::*;
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::engine::{Evaluator, StepCursor, Val};
use crate::error::{Error, Result};
use crate::value::{Point, SeriesData};

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

fn is_set(op: TokenId) -> bool {
    matches!(op, T_LAND | T_LOR | T_LUNLESS)
}

/// Prometheus' `vectorElemBinop` for floats: the value and whether to keep it.
fn elem(op: TokenId, l: f64, r: f64) -> (f64, bool) {
    match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_POW => (l.powf(r), true),
        T_MOD => (go_mod(l, r), true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

/// Go's `math.Mod`: result has the sign of `l`.
fn go_mod(l: f64, r: f64) -> f64 {
    l % r
}

struct Matching {
    on: bool,
    names: Vec<String>,
    card: VectorMatchCardinality,
    include: Vec<String>,
}

impl Matching {
    fn from(m: &Option<BinModifier>) -> Self {
        let (on, names) = match m.as_ref().and_then(|m| m.matching.as_ref()) {
            Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
            None => (false, Vec::new()),
        };
        let card = m
            .as_ref()
            .map(|m| m.card.clone())
            .unwrap_or(VectorMatchCardinality::OneToOne);
        let include = card.labels().map(|l| l.labels.clone()).unwrap_or_default();
        Matching {
            on,
            names,
            card,
            include,
        }
    }

    fn signature(&self, l: &Labels) -> u64 {
        if self.on {
            l.hash_for_labels(&self.names)
        } else {
            l.hash_without_labels(&self.names)
        }
    }

    fn match_labels(&self, l: &Labels) -> Labels {
        if self.on {
            l.keep(&self.names)
        } else {
            let mut n: Vec<&str> = self.names.iter().map(String::as_str).collect();
            n.push(METRIC_NAME);
            l.drop_names(&n)
        }
    }
}

/// Builds output series keyed by labels.
#[derive(Default)]
struct Outputs {
    idx: HashMap<Labels, usize>,
    series: Vec<SeriesData>,
}

impl Outputs {
    fn push(&mut self, l: Labels, drop_name: bool, p: Point) -> Result<()> {
        let i = match self.idx.get(&l) {
            Some(&i) => i,
            None => {
                self.idx.insert(l.clone(), self.series.len());
                self.series.push(SeriesData::new(l, drop_name));
                self.series.len() - 1
            }
        };
        let s = &mut self.series[i];
        if s.points.last().is_some_and(|q| q.t == p.t) {
            return Err(Error::DuplicateLabelset);
        }
        s.drop_name |= drop_name;
        s.points.push(p);
        Ok(())
    }
}

impl Evaluator<'_> {
    /// Evaluates a binary expression.
    pub(crate) fn eval_binary(&mut self, b: &BinaryExpr) -> Result<Val> {
        let op = b.op.id();
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(&l, &r)| {
                        let (v, keep) = elem(op, l, r);
                        if is_comparison(op) {
                            if keep {
                                1.0
                            } else {
                                0.0
                            }
                        } else {
                            v
                        }
                    })
                    .collect(),
            )),
            (Val::Vector(v), Val::Scalar(s)) => Ok(Val::Vector(self.vector_scalar(
                op,
                v,
                &s,
                false,
                return_bool,
            ))),
            (Val::Scalar(s), Val::Vector(v)) => Ok(Val::Vector(self.vector_scalar(
                op,
                v,
                &s,
                true,
                return_bool,
            ))),
            (Val::Vector(l), Val::Vector(r)) => {
                let m = Matching::from(&b.modifier);
                if is_set(op) {
                    self.set_op(op, l, r, &m).map(Val::Vector)
                } else {
                    let fill = b
                        .modifier
                        .as_ref()
                        .map(|m| (m.fill_values.lhs, m.fill_values.rhs))
                        .unwrap_or((None, None));
                    self.vector_vector(op, l, r, &m, return_bool, fill)
                        .map(Val::Vector)
                }
            }
            _ => Err(Error::Unsupported("binary operation on these types".into())),
        }
    }

    fn vector_scalar(
        &self,
        op: TokenId,
        v: Vec<SeriesData>,
        s: &[f64],
        swap: bool,
        return_bool: bool,
    ) -> Vec<SeriesData> {
        let cmp = is_comparison(op);
        let mut out = Vec::with_capacity(v.len());
        for mut series in v {
            let mut pts = Vec::with_capacity(series.points.len());
            for p in &series.points {
                let sv = s[self.step_index(p.t)];
                let (l, r) = if swap { (sv, p.v) } else { (p.v, sv) };
                let (mut val, mut keep) = elem(op, l, r);
                if cmp && swap {
                    val = r;
                }
                if return_bool {
                    val = if keep { 1.0 } else { 0.0 };
                    keep = true;
                }
                if keep {
                    pts.push(Point { t: p.t, v: val });
                }
            }
            series.points = pts;
            if !cmp || return_bool {
                series.drop_name = true;
            }
            if !series.points.is_empty() {
                out.push(series);
            }
        }
        out
    }

    fn set_op(
        &mut self,
        op: TokenId,
        l: Vec<SeriesData>,
        r: Vec<SeriesData>,
        m: &Matching,
    ) -> Result<Vec<SeriesData>> {
        let lsig: Vec<u64> = l.iter().map(|s| m.signature(&s.labels)).collect();
        let rsig: Vec<u64> = r.iter().map(|s| m.signature(&s.labels)).collect();
        let mut lout: Vec<SeriesData> = l
            .iter()
            .map(|s| SeriesData::new(s.labels.clone(), s.drop_name))
            .collect();
        let mut rout: Vec<SeriesData> = if op == T_LOR {
            r.iter()
                .map(|s| SeriesData::new(s.labels.clone(), s.drop_name))
                .collect()
        } else {
            Vec::new()
        };
        let mut lc = StepCursor::new(l.len());
        let mut rc = StepCursor::new(r.len());
        let (mut lp, mut rp) = (Vec::new(), Vec::new());
        let mut sigs: std::collections::HashSet<u64> = std::collections::HashSet::new();
        for i in 0..self.steps() {
            let t = self.step_ts(i);
            lc.at(&l, t, &mut lp);
            rc.at(&r, t, &mut rp);
            sigs.clear();
            match op {
                T_LAND | T_LUNLESS => {
                    sigs.extend(rp.iter().map(|&(ri, _)| rsig[ri]));
                    for &(li, v) in &lp {
                        if sigs.contains(&lsig[li]) == (op == T_LAND) {
                            lout[li].points.push(Point { t, v });
                        }
                    }
                }
                _ => {
                    for &(li, v) in &lp {
                        sigs.insert(lsig[li]);
                        lout[li].points.push(Point { t, v });
                    }
                    for &(ri, v) in &rp {
                        if !sigs.contains(&rsig[ri]) {
                            rout[ri].points.push(Point { t, v });
                        }
                    }
                }
            }
        }
        lout.extend(rout);
        lout.retain(|s| !s.points.is_empty());
        Ok(lout)
    }

    fn vector_vector(
        &mut self,
        op: TokenId,
        l: Vec<SeriesData>,
        r: Vec<SeriesData>,
        m: &Matching,
        return_bool: bool,
        fill: (Option<f64>, Option<f64>),
    ) -> Result<Vec<SeriesData>> {
        let swap = matches!(m.card, VectorMatchCardinality::OneToMany(_));
        let one_to_one = matches!(m.card, VectorMatchCardinality::OneToOne);
        // `many` is the side whose series are kept; `one` must be unique.
        let (many, one) = if swap { (&r, &l) } else { (&l, &r) };
        // Prometheus swaps the sides for group_right but not the fill values.
        let (fill_many, fill_one) = (fill.0, fill.1);
        let cmp_filter = is_comparison(op) && !return_bool;
        let msig: Vec<u64> = many.iter().map(|s| m.signature(&s.labels)).collect();
        let osig: Vec<u64> = one.iter().map(|s| m.signature(&s.labels)).collect();
        let drop_name_op = !is_comparison(op);
        let mut cache: HashMap<(usize, usize), Labels> = HashMap::new();
        let mut outs = Outputs::default();
        let mut mc = StepCursor::new(many.len());
        let mut oc = StepCursor::new(one.len());
        let (mut mp, mut op_) = (Vec::new(), Vec::new());
        let mut one_by_sig: HashMap<u64, (usize, f64)> = HashMap::new();
        let mut matched: HashMap<u64, Vec<u64>> = HashMap::new();
        for i in 0..self.steps() {
            if i % 256 == 255 {
                self.check()?;
            }
            let t = self.step_ts(i);
            mc.at(many, t, &mut mp);
            oc.at(one, t, &mut op_);
            if (mp.is_empty() || op_.is_empty()) && fill == (None, None) {
                continue;
            }
            one_by_sig.clear();
            matched.clear();
            for &(oi, v) in &op_ {
                if let Some(&(prev, _)) = one_by_sig.get(&osig[oi]) {
                    let side = if swap { "left" } else { "right" };
                    return Err(Error::ManyToMany {
                        group: m.match_labels(&one[oi].labels).to_string(),
                        side,
                        series: format!("{}, {}", one[oi].labels, one[prev].labels),
                    });
                }
                one_by_sig.insert(osig[oi], (oi, v));
            }
            for &(mi, mv) in &mp {
                let sig = msig[mi];
                let (ov, oi) = match one_by_sig.get(&sig) {
                    Some(&(oi, ov)) => (ov, Some(oi)),
                    None => match fill_one {
                        Some(f) => (f, None),
                        None => continue,
                    },
                };
                if oi.is_none() && cmp_filter && swap {
                    // The left side is missing: a filter has nothing to keep.
                    continue;
                }
                let (fl, fr) = if swap { (ov, mv) } else { (mv, ov) };
                let (mut v, keep) = elem(op, fl, fr);
                let labels = match oi {
                    Some(oi) => cache
                        .entry((mi, oi))
                        .or_insert_with(|| {
                            result_metric(&many[mi].labels, Some(&one[oi].labels), op, m)
                        })
                        .clone(),
                    None => result_metric(&many[mi].labels, None, op, m),
                };
                let entry = matched.entry(sig).or_default();
                if oi.is_some() {
                    if one_to_one {
                        if !entry.is_empty() {
                            return Err(Error::MultipleMatches);
                        }
                        entry.push(0);
                    } else {
                        let h = labels.hash64();
                        if entry.contains(&h) {
                            return Err(Error::InvalidArgument(
                                "multiple matches for labels: grouping labels must ensure unique matches".into(),
                            ));
                        }
                        entry.push(h);
                    }
                }
                if return_bool {
                    v = if keep { 1.0 } else { 0.0 };
                } else if !keep {
                    continue;
                }
                let dn = return_bool || (!drop_name_op && many[mi].drop_name);
                outs.push(labels, dn, Point { t, v })?;
            }
            if let Some(f) = fill_many {
                // One-side series without a partner get the fill value.
                let present: std::collections::HashSet<u64> =
                    mp.iter().map(|&(mi, _)| msig[mi]).collect();
                for &(oi, ov) in &op_ {
                    if present.contains(&osig[oi]) {
                        continue;
                    }
                    let (fl, fr) = if swap { (ov, f) } else { (f, ov) };
                    let (mut v, keep) = elem(op, fl, fr);
                    if return_bool {
                        v = if keep { 1.0 } else { 0.0 };
                    } else if !keep {
                        continue;
                    }
                    let labels = m.match_labels(&one[oi].labels);
                    let dn = return_bool || (!drop_name_op && one[oi].drop_name);
                    outs.push(labels, dn, Point { t, v })?;
                }
            }
        }
        Ok(outs.series)
    }
}

/// Prometheus' `resultMetric`: the output labels of a matched pair.
fn result_metric(many: &Labels, one: Option<&Labels>, op: TokenId, m: &Matching) -> Labels {
    let mut b = many.builder();
    if !is_comparison(op) {
        b.del(METRIC_NAME).del("__type__").del("__unit__");
    }
    if matches!(m.card, VectorMatchCardinality::OneToOne) {
        if m.on {
            let keep = &m.names;
            b.retain(|n, _| keep.iter().any(|k| k == n));
        } else {
            for n in &m.names {
                b.del(n);
            }
        }
    }
    for n in &m.include {
        match one.and_then(|o| o.get(n)) {
            Some(v) => {
                b.set(n, v);
            }
            None => {
                if one.is_some() {
                    b.del(n);
                }
            }
        }
    }
    b.labels()
}
