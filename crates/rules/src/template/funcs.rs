//! Built-in functions: Go's `text/template` builtins and Prometheus'
//! template functions (`template/template.go`).

use std::collections::BTreeMap;

use super::exec::{quote, Env, Value};
use super::format::{go_g, go_time, query_escape, sprintf};

const FUNCS: &[&str] = &[
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "html",
    "js",
    "urlquery",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "toDuration",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "stripPort",
    "stripDomain",
    "urlQueryEscape",
];

/// Whether `name` is a known function.
pub(crate) fn is_func(name: &str) -> bool {
    FUNCS.contains(&name)
}

type R = Result<Value, String>;

fn want(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

/// Prometheus' `convertToFloat`.
pub(crate) fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => s
            .trim()
            .parse::<f64>()
            .or_else(|_| match s.trim().to_ascii_lowercase().as_str() {
                "nan" => Ok(f64::NAN),
                "inf" | "+inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(()),
            })
            .map_err(|_| {
                format!(
                    "strconv.ParseFloat: parsing {}: invalid syntax",
                    super::format::go_quote(s)
                )
            }),
        Value::Time(ns) => Ok(*ns as f64 / 1e9),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn to_str(_name: &str, v: &Value) -> Result<String, String> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

#[derive(PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

fn eq2(a: &Value, b: &Value) -> Result<bool, String> {
    if kind(a) == Kind::Other || kind(b) == Kind::Other {
        if matches!(a, Value::Nil) || matches!(b, Value::Nil) {
            return Ok(matches!((a, b), (Value::Nil, Value::Nil)));
        }
        return Err("invalid type for comparison".into());
    }
    if kind(a) != kind(b) {
        return Err("incompatible types for comparison".into());
    }
    Ok(a == b)
}

fn cmp2(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    use std::cmp::Ordering;
    if kind(a) != kind(b) {
        if kind(a) == Kind::Other || kind(b) == Kind::Other || kind(a) == Kind::Bool {
            return Err("invalid type for comparison".into());
        }
        return Err("incompatible types for comparison".into());
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => Ok(x.partial_cmp(y).unwrap_or(Ordering::Greater)),
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        _ => Err("invalid type for comparison".into()),
    }
}

fn sample(labels: BTreeMap<String, String>, v: f64) -> Value {
    Value::Struct(
        "*template.sample",
        vec![
            ("Labels".into(), Value::Map(labels)),
            ("Value".into(), Value::Float(v)),
        ],
    )
}

fn sample_parts(v: &Value) -> Result<(BTreeMap<String, String>, f64), String> {
    if let Value::Struct(_, f) = v {
        let mut l = BTreeMap::new();
        let mut val = 0.0;
        for (k, x) in f {
            match (k.as_str(), x) {
                ("Labels", Value::Map(m)) => l = m.clone(),
                ("Value", Value::Float(y)) => val = *y,
                _ => {}
            }
        }
        return Ok((l, val));
    }
    Err(format!(
        "wrong type for value; expected *template.sample; got {}",
        v.type_name()
    ))
}

fn si(mut v: f64, prefixes: &[&str], base: f64) -> String {
    let mut prefix = "";
    for p in prefixes {
        if v.abs() < base {
            break;
        }
        prefix = p;
        v /= base;
    }
    format!("{}{prefix}", go_g(v, Some(4)))
}

fn small(mut v: f64, suffix: &str) -> String {
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}{suffix}", go_g(v, Some(4)))
}

fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return go_g(v, Some(4));
    }
    if v.abs() >= 1.0 {
        return si(v, &["k", "M", "G", "T", "P", "E", "Z", "Y"], 1000.0);
    }
    small(v, "")
}

fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return go_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", go_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86_400);
        return if days != 0 {
            format!("{sign}{days}d {h}h {m}m {s}s")
        } else if h != 0 {
            format!("{sign}{h}h {m}m {s}s")
        } else if m != 0 {
            format!("{sign}{m}m {s}s")
        } else {
            format!("{sign}{}s", go_g(v, Some(4)))
        };
    }
    small(v, "s")
}

/// Prometheus' `floatToTime`: seconds to a time, through `model.Time`, so
/// truncated to the millisecond.
fn float_to_ns(v: f64) -> Result<i128, String> {
    if v.is_nan() || v.is_infinite() {
        return Err("NaN or Inf".into());
    }
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            go_g(v, None)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    Ok(ms as i128 * 1_000_000)
}

pub(crate) fn go_duration(ns: i128) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.abs();
    if ns < 1_000_000_000 {
        let (unit, div) = if ns < 1_000 {
            ("ns", 1.0)
        } else if ns < 1_000_000 {
            ("µs", 1e3)
        } else {
            ("ms", 1e6)
        };
        return format!("{sign}{}{unit}", super::format::go_float(ns as f64 / div));
    }
    let h = ns / 3_600_000_000_000;
    let m = (ns / 60_000_000_000) % 60;
    let s = (ns % 60_000_000_000) as f64 / 1e9;
    let mut out = String::from(sign);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", super::format::go_float(s)));
    out
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

fn split_host_port(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.to_string(), p.to_string()));
    }
    let (h, p) = s.rsplit_once(':')?;
    if h.contains(':') {
        return None;
    }
    Some((h.to_string(), p.to_string()))
}

fn path_prefix(url: &str) -> String {
    let after_scheme = url.split_once("://").map(|x| x.1).unwrap_or(url);
    match after_scheme.find('/') {
        Some(i) => after_scheme[i..]
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .to_string(),
        None => String::new(),
    }
}

/// Calls built-in `name` (not `and`/`or`, which are lazy) with `args`.
pub(crate) fn call_func(env: &Env<'_>, name: &str, args: Vec<Value>) -> R {
    let a = &args;
    let f1 = |a: &[Value]| -> Result<f64, String> {
        want(name, a, 1)?;
        to_float(&a[0])
    };
    Ok(match name {
        "not" => {
            want(name, a, 1)?;
            Value::Bool(!a[0].truthy())
        }
        "eq" => {
            if a.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            let mut r = false;
            for b in &a[1..] {
                if eq2(&a[0], b)? {
                    r = true;
                    break;
                }
            }
            Value::Bool(r)
        }
        "ne" => {
            want(name, a, 2)?;
            Value::Bool(!eq2(&a[0], &a[1])?)
        }
        "lt" | "le" | "gt" | "ge" => {
            want(name, a, 2)?;
            let o = cmp2(&a[0], &a[1])?;
            let nan = matches!((&a[0], &a[1]), (Value::Float(x), Value::Float(y)) if x.is_nan() || y.is_nan());
            Value::Bool(
                !nan && match name {
                    "lt" => o.is_lt(),
                    "le" => o.is_le(),
                    "gt" => o.is_gt(),
                    _ => o.is_ge(),
                },
            )
        }
        "len" => {
            want(name, a, 1)?;
            Value::Int(match &a[0] {
                Value::Str(s) => s.len(),
                Value::Map(m) => m.len(),
                Value::List(l) => l.len(),
                other => return Err(format!("len of type {}", other.type_name())),
            } as i64)
        }
        "index" => {
            let Some((first, keys)) = a.split_first() else {
                return Err("wrong number of args for index: want at least 1 got 0".into());
            };
            let mut v = first.clone();
            for k in keys {
                v = match (&v, k) {
                    (Value::Map(m), Value::Str(s)) => {
                        Value::Str(m.get(s).cloned().unwrap_or_default())
                    }
                    (Value::List(l), Value::Int(i)) => l
                        .get(usize::try_from(*i).map_err(|_| format!("index out of range: {i}"))?)
                        .cloned()
                        .ok_or_else(|| format!("index out of range: {i}"))?,
                    (Value::Nil, _) => return Err("index of untyped nil".into()),
                    (c, _) => return Err(format!("can't index item of type {}", c.type_name())),
                };
            }
            v
        }
        "print" => {
            let mut s = String::new();
            for (i, v) in a.iter().enumerate() {
                let is_str = |v: &Value| matches!(v, Value::Str(_));
                if i > 0 && !is_str(v) && !is_str(&a[i - 1]) {
                    s.push(' ');
                }
                s.push_str(&v.go_string());
            }
            Value::Str(s)
        }
        "println" => {
            let items: Vec<String> = a.iter().map(|v| v.go_string()).collect();
            Value::Str(format!("{}\n", items.join(" ")))
        }
        "printf" => {
            let Some((Value::Str(f), rest)) = a.split_first() else {
                return Err("wrong type for value; expected string".into());
            };
            Value::Str(sprintf(f, rest))
        }
        "html" | "safeHtml" => {
            want(name, a, 1)?;
            let s = a[0].go_string();
            if name == "safeHtml" {
                Value::Str(s)
            } else {
                Value::Str(
                    s.replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                        .replace('"', "&#34;")
                        .replace('\'', "&#39;"),
                )
            }
        }
        "js" => Value::Str(
            quote(&a.first().cloned().unwrap_or(Value::Nil))
                .trim_matches('"')
                .to_string(),
        ),
        "urlquery" | "urlQueryEscape" => {
            let items: Vec<String> = a.iter().map(|v| v.go_string()).collect();
            Value::Str(query_escape(&items.concat()))
        }
        "query" => {
            want(name, a, 1)?;
            let q = to_str(name, &a[0])?;
            let Some(run) = env.query else {
                return Err("query is not available here".into());
            };
            let res = run(&q)?;
            Value::List(res.into_iter().map(|(l, v)| sample(l, v)).collect())
        }
        "first" => {
            want(name, a, 1)?;
            match &a[0] {
                Value::List(l) => l
                    .first()
                    .cloned()
                    .ok_or("first() called on vector with no elements")?,
                other => {
                    return Err(format!(
                        "wrong type for value; expected template.queryResult; got {}",
                        other.type_name()
                    ))
                }
            }
        }
        "label" => {
            want(name, a, 2)?;
            let (l, _) = sample_parts(&a[1])?;
            Value::Str(l.get(&to_str(name, &a[0])?).cloned().unwrap_or_default())
        }
        "value" => {
            want(name, a, 1)?;
            Value::Float(sample_parts(&a[0])?.1)
        }
        "strvalue" => {
            want(name, a, 1)?;
            let (l, _) = sample_parts(&a[0])?;
            Value::Str(l.get("__value__").cloned().unwrap_or_default())
        }
        "args" => Value::Struct(
            "map[string]interface {}",
            a.iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v.clone()))
                .collect(),
        ),
        "reReplaceAll" => {
            want(name, a, 3)?;
            let re = regex::Regex::new(&to_str(name, &a[0])?).map_err(|e| e.to_string())?;
            let text = to_str(name, &a[2])?;
            Value::Str(
                re.replace_all(&text, to_str(name, &a[1])?.as_str())
                    .into_owned(),
            )
        }
        "match" => {
            want(name, a, 2)?;
            let re = regex::Regex::new(&to_str(name, &a[0])?).map_err(|e| e.to_string())?;
            Value::Bool(re.is_match(&to_str(name, &a[1])?))
        }
        "title" => Value::Str(title(&to_str(name, a.first().unwrap_or(&Value::Nil))?)),
        "toUpper" => Value::Str(to_str(name, a.first().unwrap_or(&Value::Nil))?.to_uppercase()),
        "toLower" => Value::Str(to_str(name, a.first().unwrap_or(&Value::Nil))?.to_lowercase()),
        "graphLink" | "tableLink" => {
            want(name, a, 1)?;
            let tab = if name == "graphLink" { 0 } else { 1 };
            Value::Str(format!(
                "/graph?g0.expr={}&g0.tab={tab}",
                query_escape(&to_str(name, &a[0])?)
            ))
        }
        "sortByLabel" => {
            want(name, a, 2)?;
            let key = to_str(name, &a[0])?;
            let Value::List(mut l) = a[1].clone() else {
                return Err("wrong type for value; expected template.queryResult".into());
            };
            l.sort_by_key(|s| {
                sample_parts(s)
                    .map(|(m, _)| m.get(&key).cloned().unwrap_or_default())
                    .unwrap_or_default()
            });
            Value::List(l)
        }
        "humanize" => Value::Str(humanize(f1(a)?)),
        "humanize1024" => {
            let v = f1(a)?;
            if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
                Value::Str(go_g(v, Some(4)))
            } else {
                Value::Str(si(
                    v,
                    &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"],
                    1024.0,
                ))
            }
        }
        "humanizeDuration" => Value::Str(humanize_duration(f1(a)?)),
        "humanizePercentage" => Value::Str(format!("{}%", go_g(f1(a)? * 100.0, Some(4)))),
        "humanizeTimestamp" => {
            let v = f1(a)?;
            match float_to_ns(v) {
                Ok(ns) => Value::Str(go_time(ns)),
                Err(_) if v.is_nan() || v.is_infinite() => Value::Str(go_g(v, Some(4))),
                Err(e) => return Err(e),
            }
        }
        "toTime" => Value::Time(float_to_ns(f1(a)?)?),
        "toDuration" => Value::Str(go_duration(float_to_ns(f1(a)?)?)),
        "parseDuration" => {
            want(name, a, 1)?;
            let ms =
                promlite_model::parse_duration(&to_str(name, &a[0])?).map_err(|e| e.to_string())?;
            Value::Float(ms as f64 / 1000.0)
        }
        "pathPrefix" => Value::Str(path_prefix(env.external_url)),
        "externalURL" => Value::Str(env.external_url.to_string()),
        "stripPort" => {
            want(name, a, 1)?;
            let s = to_str(name, &a[0])?;
            Value::Str(split_host_port(&s).map(|(h, _)| h).unwrap_or(s))
        }
        "stripDomain" => {
            want(name, a, 1)?;
            let s = to_str(name, &a[0])?;
            let (host, port) = split_host_port(&s).unwrap_or((s.clone(), String::new()));
            if host.parse::<std::net::IpAddr>().is_ok() {
                Value::Str(s)
            } else {
                let h = host.split('.').next().unwrap_or("").to_string();
                Value::Str(if port.is_empty() {
                    h
                } else if h.contains(':') {
                    format!("[{h}]:{port}")
                } else {
                    format!("{h}:{port}")
                })
            }
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}
