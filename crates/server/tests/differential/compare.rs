//! Normalisation and comparison of two API responses.

use serde_json::Value;

use crate::Response;

/// How a case's responses are compared.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Norm {
    /// A PromQL query: the whole envelope (status, errorType, error,
    /// warnings, infos, data). Instant vectors are sorted by labels unless
    /// `ordered` (Prometheus specifies their order only under `sort*`).
    Query { ordered: bool },
    /// The whole JSON body, as is.
    Exact,
    /// Both succeed; `data` compared without the listed object keys (at
    /// any depth).
    Without(&'static [&'static str]),
    /// Both succeed; `data` has the same set of keys.
    Keys,
    /// Only the status codes and the `status` field are compared.
    Status,
}

/// The result of comparing two responses.
pub(crate) enum Outcome {
    Same,
    /// Equal, but some float strings only within the relative tolerance.
    SameWithTolerance,
    Different(String),
}

const REL_TOLERANCE: f64 = 1e-9;

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(1500).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

/// Compares Prometheus' response `a` with promlite's `b`.
pub(crate) fn compare_responses(norm: &Norm, a: &Response, b: &Response) -> Outcome {
    let show = |why: String| {
        Outcome::Different(format!(
            "{why}\n  prometheus [{}]: {}\n  promlite   [{}]: {}",
            a.code,
            clip(&a.body),
            b.code,
            clip(&b.body)
        ))
    };
    if a.code != b.code {
        return show(format!("status code {} != {}", a.code, b.code));
    }
    let ja: Option<Value> = serde_json::from_str(&a.body).ok();
    let jb: Option<Value> = serde_json::from_str(&b.body).ok();
    let (mut ja, mut jb) = match (ja, jb) {
        (Some(x), Some(y)) => (x, y),
        (None, None) if matches!(norm, Norm::Status) => return Outcome::Same,
        (None, None) => {
            return if a.body == b.body {
                Outcome::Same
            } else {
                show("non-JSON bodies differ".to_string())
            }
        }
        _ => return show("only one body is JSON".to_string()),
    };
    if ja.get("status") != jb.get("status") {
        return show("status field differs".to_string());
    }
    let mut tol = false;
    let mut diffs = Vec::new();
    match norm {
        Norm::Query { ordered } => {
            for j in [&mut ja, &mut jb] {
                normalise_query(j, *ordered);
            }
            diff("", &ja, &jb, &mut tol, &mut diffs);
        }
        Norm::Exact => diff("", &ja, &jb, &mut tol, &mut diffs),
        Norm::Without(keys) => {
            let mut da = ja.get("data").cloned().unwrap_or(Value::Null);
            let mut db = jb.get("data").cloned().unwrap_or(Value::Null);
            strip(&mut da, keys);
            strip(&mut db, keys);
            diff("data", &da, &db, &mut tol, &mut diffs);
        }
        Norm::Keys => {
            let keys = |j: &Value| -> Vec<String> {
                j.get("data")
                    .and_then(Value::as_object)
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            };
            let (ka, kb) = (keys(&ja), keys(&jb));
            if ka != kb {
                diffs.push(format!("data keys {ka:?} != {kb:?}"));
            }
        }
        Norm::Status => {}
    }
    if !diffs.is_empty() {
        diffs.truncate(8);
        return show(diffs.join("\n"));
    }
    if tol {
        Outcome::SameWithTolerance
    } else {
        Outcome::Same
    }
}

fn normalise_query(j: &mut Value, ordered: bool) {
    for key in ["warnings", "infos"] {
        if let Some(Value::Array(a)) = j.get_mut(key) {
            a.sort_by_key(|v| v.to_string());
        }
    }
    let Some(data) = j.get_mut("data") else {
        return;
    };
    let is_vector = data.get("resultType").and_then(Value::as_str) == Some("vector");
    if let (true, false, Some(Value::Array(r))) = (is_vector, ordered, data.get_mut("result")) {
        r.sort_by_key(|s| s.get("metric").map(|m| m.to_string()).unwrap_or_default());
    }
}

fn strip(v: &mut Value, keys: &[&str]) {
    match v {
        Value::Object(o) => {
            for k in keys {
                o.remove(*k);
            }
            for x in o.values_mut() {
                strip(x, keys);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| strip(x, keys)),
        _ => {}
    }
}

fn floats_close(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => {
            (x - y).abs() <= REL_TOLERANCE * x.abs().max(y.abs())
        }
        _ => false,
    }
}

/// A `[timestamp, "value"]` sample pair.
fn is_sample(v: &[Value]) -> bool {
    v.len() == 2 && v[0].is_number() && v[1].is_string()
}

fn diff(path: &str, a: &Value, b: &Value, tol: &mut bool, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => diff(&format!("{path}.{k}"), va, vb, tol, out),
                    None => out.push(format!("{path}.{k}: only in prometheus")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("{path}.{k}: only in promlite"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{path}: length {} != {}", x.len(), y.len()));
                return;
            }
            if is_sample(x) && is_sample(y) {
                if x[0] != y[0] {
                    out.push(format!("{path}: timestamp {} != {}", x[0], y[0]));
                }
                let (sa, sb) = (x[1].as_str().unwrap_or(""), y[1].as_str().unwrap_or(""));
                if sa != sb {
                    if floats_close(sa, sb) {
                        *tol = true;
                    } else {
                        out.push(format!("{path}: value {sa} != {sb}"));
                    }
                }
                return;
            }
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), va, vb, tol, out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} != {b}")),
    }
}
