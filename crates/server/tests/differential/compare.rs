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
    /// Both succeed; `data` has the same set of keys.
    Keys,
    /// `/status/tsdb`: `data` without `chunkCount` (head chunk layout is an
    /// implementation detail) and `memoryInBytesByLabelName` (compared in
    /// its own case); in the top-10 lists, names of entries whose count
    /// ties with another are not compared (their order is unspecified).
    Tsdb,
    /// Both succeed; only `data.<field>` is compared.
    Field(&'static str),
    /// A query with `stats`: the result, and the keys (not the values) of
    /// `data.stats` at every depth.
    Stats,
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
    if a.content_type != b.content_type {
        return show(format!(
            "Content-Type {:?} != {:?}",
            a.content_type, b.content_type
        ));
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
        Norm::Tsdb => {
            let mut da = ja.get("data").cloned().unwrap_or(Value::Null);
            let mut db = jb.get("data").cloned().unwrap_or(Value::Null);
            for d in [&mut da, &mut db] {
                strip(d, &["chunkCount", "memoryInBytesByLabelName"]);
                mask_ties(d);
            }
            diff("data", &da, &db, &mut tol, &mut diffs);
        }
        Norm::Field(f) => {
            let da = ja.get("data").and_then(|d| d.get(f)).cloned();
            let db = jb.get("data").and_then(|d| d.get(f)).cloned();
            diff(
                &format!("data.{f}"),
                &da.unwrap_or(Value::Null),
                &db.unwrap_or(Value::Null),
                &mut tol,
                &mut diffs,
            );
        }
        Norm::Stats => {
            let sa = ja["data"].get("stats").map(shape).unwrap_or(Value::Null);
            let sb = jb["data"].get("stats").map(shape).unwrap_or(Value::Null);
            diff("data.stats", &sa, &sb, &mut tol, &mut diffs);
            for j in [&mut ja, &mut jb] {
                if let Some(d) = j["data"].as_object_mut() {
                    d.remove("stats");
                }
            }
            diff("", &ja, &jb, &mut tol, &mut diffs);
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

/// Replaces the names of tied entries in `/status/tsdb`'s top-10 lists.
fn mask_ties(d: &mut Value) {
    let Some(o) = d.as_object_mut() else {
        return;
    };
    for list in o.values_mut() {
        let Some(items) = list.as_array_mut() else {
            continue;
        };
        let values: Vec<Value> = items.iter().map(|i| i["value"].clone()).collect();
        // The last count may tie with entries cut off by the top-10 limit.
        let last = values.last().cloned();
        for item in items.iter_mut() {
            let tied = values.iter().filter(|v| **v == item["value"]).count() > 1;
            if tied || (values.len() == 10 && Some(&item["value"]) == last.as_ref()) {
                item["name"] = Value::String("<tie>".to_string());
            }
        }
    }
}

/// Sorts runs of equal values by labels: `sort`/`sort_desc` leave the
/// order of ties unspecified.
fn sort_ties(r: &mut [Value]) {
    let value = |s: &Value| s.get("value").map(|v| v[1].to_string());
    let mut i = 0;
    while i < r.len() {
        let mut j = i + 1;
        while j < r.len() && value(&r[j]) == value(&r[i]) {
            j += 1;
        }
        r[i..j].sort_by_key(|s| s.get("metric").map(|m| m.to_string()).unwrap_or_default());
        i = j;
    }
}

/// The object keys of `v` at every depth, with every leaf replaced by null.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), shape(x))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        _ => Value::Null,
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
    if let (true, Some(Value::Array(r))) = (is_vector, data.get_mut("result")) {
        if ordered {
            sort_ties(r);
        } else {
            r.sort_by_key(|s| s.get("metric").map(|m| m.to_string()).unwrap_or_default());
        }
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
