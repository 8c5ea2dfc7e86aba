//! Label functions (`label_replace`, `label_join`), the sort functions and
//! `info`.

use std::cmp::Ordering;
use std::collections::HashMap;

use promlite_model::{Labels, METRIC_NAME};
use promql_parser::parser::Expr;

use crate::engine::{Evaluator, Val};
use crate::error::{Error, Result};
use crate::value::SeriesData;

fn string_arg(e: &Expr) -> Result<String> {
    match e {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        Expr::Paren(p) => string_arg(&p.expr),
        _ => Err(Error::InvalidArgument("expected string literal".into())),
    }
}

/// Merges series with equal labels; two of them at one step is an error.
pub(crate) fn merge_same_labels(series: Vec<SeriesData>) -> Result<Vec<SeriesData>> {
    let mut idx: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<SeriesData> = Vec::with_capacity(series.len());
    for s in series {
        match idx.get(&s.labels) {
            Some(&i) => {
                let dst = &mut out[i];
                let mut pts = std::mem::take(&mut dst.points);
                pts.extend_from_slice(&s.points);
                pts.sort_by_key(|p| p.t);
                if pts.windows(2).any(|w| w[0].t == w[1].t) {
                    return Err(Error::DuplicateLabelset);
                }
                dst.points = pts;
                dst.drop_name |= s.drop_name;
            }
            None => {
                idx.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// Natural-order comparison of two strings (digits compared as numbers).
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let na = a[si..i].trim_start_matches('0');
            let nb = b[sj..j].trim_start_matches('0');
            let c = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if c != Ordering::Equal {
                return c;
            }
        } else {
            let c = ab[i].cmp(&bb[j]);
            if c != Ordering::Equal {
                return c;
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

impl Evaluator<'_> {
    /// `label_replace(v, dst, replacement, src, regex)`.
    pub(crate) fn label_replace(&mut self, args: &[&Expr]) -> Result<Val> {
        let v = self.eval_vector(args[0])?;
        let dst = string_arg(args[1])?;
        let repl = string_arg(args[2])?;
        let src = string_arg(args[3])?;
        let re_s = string_arg(args[4])?;
        let re = regex::Regex::new(&format!("^(?s:{re_s})$"))
            .map_err(|_| Error::InvalidRegex(re_s.clone()))?;
        if dst.is_empty() || crate::literals::has_invalid_utf8(&dst) {
            let quoted = crate::literals::go_quote(&dst);
            return Err(Error::InvalidArgument(format!(
                "invalid destination label name in label_replace(): {}",
                quoted.trim_matches('"')
            )));
        }
        let mut out = Vec::with_capacity(v.len());
        for mut s in v {
            let sv = s.labels.get_or_empty(&src).to_string();
            if let Some(caps) = re.captures(&sv) {
                let mut res = String::new();
                caps.expand(&repl, &mut res);
                let mut b = s.labels.builder();
                b.set(&dst, &res);
                s.labels = b.labels();
                if dst == METRIC_NAME {
                    s.drop_name = false;
                }
            }
            out.push(s);
        }
        Ok(Val::Vector(merge_same_labels(out)?))
    }

    /// `label_join(v, dst, separator, src...)`.
    pub(crate) fn label_join(&mut self, args: &[&Expr]) -> Result<Val> {
        let v = self.eval_vector(args[0])?;
        let dst = string_arg(args[1])?;
        let sep = string_arg(args[2])?;
        let srcs: Vec<String> = args[3..]
            .iter()
            .map(|a| string_arg(a))
            .collect::<Result<_>>()?;
        if dst.is_empty() || crate::literals::has_invalid_utf8(&dst) {
            let quoted = crate::literals::go_quote(&dst);
            return Err(Error::InvalidArgument(format!(
                "invalid destination label name in label_join(): {}",
                quoted.trim_matches('"')
            )));
        }
        let mut out = Vec::with_capacity(v.len());
        for mut s in v {
            let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get_or_empty(n)).collect();
            let joined = joined.join(&sep);
            let mut b = s.labels.builder();
            b.set(&dst, &joined);
            s.labels = b.labels();
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
            out.push(s);
        }
        Ok(Val::Vector(merge_same_labels(out)?))
    }

    /// `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`. Only
    /// instant evaluations have an order to change.
    pub(crate) fn sort_call(&mut self, name: &str, args: &[&Expr]) -> Result<Val> {
        let mut v = self.eval_vector(args[0])?;
        if self.query_step > 0 {
            self.annos.warn(
                "sort is ineffective for range queries since results are always ordered by labels"
                    .into(),
            );
        }
        if self.steps() != 1 {
            return Ok(Val::Vector(v));
        }
        let val = |s: &SeriesData| s.points.first().map(|p| p.v).unwrap_or(f64::NAN);
        match name {
            "sort" | "sort_desc" => {
                let desc = name == "sort_desc";
                v.sort_by(|a, b| {
                    let (x, y) = (val(a), val(b));
                    match (x.is_nan(), y.is_nan()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => Ordering::Greater,
                        (false, true) => Ordering::Less,
                        _ => {
                            let c = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                            if desc {
                                c.reverse()
                            } else {
                                c
                            }
                        }
                    }
                });
            }
            _ => {
                let names: Vec<String> = args[1..]
                    .iter()
                    .map(|a| string_arg(a))
                    .collect::<Result<_>>()?;
                let desc = name == "sort_by_label_desc";
                v.sort_by(|a, b| {
                    let mut c = Ordering::Equal;
                    for n in &names {
                        let (x, y) = (a.labels.get_or_empty(n), b.labels.get_or_empty(n));
                        if x != y {
                            c = natural_cmp(x, y);
                            break;
                        }
                    }
                    if c == Ordering::Equal {
                        c = a.labels.cmp(&b.labels);
                    }
                    if desc {
                        c.reverse()
                    } else {
                        c
                    }
                });
            }
        }
        Ok(Val::Vector(v))
    }

    /// `info(v [, selector])`: adds the data labels of matching
    /// `target_info` series (joined on `instance` and `job`).
    pub(crate) fn info_call(&mut self, args: &[&Expr]) -> Result<Val> {
        crate::info::eval_info(self, args)
    }
}
