//! JSON encoding exactly as Prometheus writes it: the success envelope,
//! timestamps (`jsonutil.MarshalTimestamp`), sample values
//! (`jsonutil.MarshalFloat`) and query results.

use std::fmt::Write;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promlite_model::Labels;
use promlite_promql::Value;
use serde::Serialize;

use crate::error::json_response;

/// A successful API answer: `{"status":"success","data":...}` plus
/// `warnings`/`infos` when non-empty.
#[derive(Debug)]
pub(crate) struct Success {
    /// The `data` member, already encoded as JSON.
    data: String,
    warnings: Vec<String>,
    infos: Vec<String>,
}

impl Success {
    /// Wraps already encoded JSON.
    pub(crate) fn raw(data: String) -> Self {
        Success {
            data,
            warnings: Vec::new(),
            infos: Vec::new(),
        }
    }

    /// Encodes `data` with serde.
    pub(crate) fn json<T: Serialize + ?Sized>(data: &T) -> Self {
        // Serializing plain data structures into a String cannot fail.
        Self::raw(serde_json::to_string(data).unwrap_or_else(|_| "null".to_string()))
    }

    /// Adds warnings.
    pub(crate) fn warnings(mut self, w: Vec<String>) -> Self {
        self.warnings.extend(w);
        self
    }

    /// Adds infos.
    pub(crate) fn infos(mut self, i: Vec<String>) -> Self {
        self.infos.extend(i);
        self
    }
}

impl IntoResponse for Success {
    fn into_response(self) -> Response {
        let mut out = String::with_capacity(self.data.len() + 64);
        out.push_str("{\"status\":\"success\",\"data\":");
        out.push_str(&self.data);
        for (key, list) in [("warnings", &self.warnings), ("infos", &self.infos)] {
            if !list.is_empty() {
                let _ = write!(out, ",\"{key}\":");
                out.push_str(&serde_json::to_string(list).unwrap_or_else(|_| "[]".into()));
            }
        }
        out.push('}');
        json_response(StatusCode::OK, out)
    }
}

/// `jsonutil.MarshalTimestamp`: seconds, then `.` and exactly three digits
/// of milliseconds unless they are zero.
pub(crate) fn write_timestamp(out: &mut String, t: i64) {
    let neg = t < 0;
    let t = t.unsigned_abs();
    if neg {
        out.push('-');
    }
    let _ = write!(out, "{}", t / 1000);
    let frac = t % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// `jsonutil.MarshalFloat` without the quotes: Go's `'f'` format, or `'e'`
/// below 1e-6 and from 1e21 up; `NaN`, `+Inf`, `-Inf`.
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        go_exponent(&format!("{v:e}"))
    } else {
        format!("{v}")
    }
}

/// Rewrites Rust's `1.5e-7` as Go's `1.5e-07` (signed, two-digit exponent).
fn go_exponent(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            if digits.len() < 2 {
                format!("{m}e{sign}0{digits}")
            } else {
                format!("{m}e{sign}{digits}")
            }
        }
        None => s.to_string(),
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` (the text exposition format).
pub(crate) fn format_go_g_shortest(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let e = format!("{v:e}");
    let exp: i32 = e
        .split_once('e')
        .and_then(|(_, x)| x.parse().ok())
        .unwrap_or(0);
    // Go: %e when exp < -4 || exp >= eprec, and eprec is 6 for the shortest
    // representation.
    if !(-4..6).contains(&exp) {
        go_exponent(&e)
    } else {
        format!("{v}")
    }
}

/// Appends a JSON string literal.
pub(crate) fn write_str(out: &mut String, s: &str) {
    // serde_json escapes exactly as JSON requires; HTML escaping happens on
    // the whole body in `json_response`.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

/// Appends a label set as a JSON object (Prometheus' `labels.MarshalJSON`).
pub(crate) fn write_labels(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, lb) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, lb.name);
        out.push(':');
        write_str(out, lb.value);
    }
    out.push('}');
}

fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    out.push_str(&format_value(v));
    out.push_str("\"]");
}

/// The result type name of a value.
pub(crate) fn result_type(v: &Value) -> &'static str {
    match v {
        Value::Vector(_) => "vector",
        Value::Matrix(_) => "matrix",
        Value::Scalar { .. } => "scalar",
        Value::String { .. } => "string",
    }
}

/// Appends a query value as Prometheus' `result` member.
pub(crate) fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"value\":");
                write_point(out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(out, p.t, p.v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
        Value::Scalar { t, v } => write_point(out, *t, *v),
        Value::String { t, v } => {
            out.push('[');
            write_timestamp(out, *t);
            out.push(',');
            write_str(out, v);
            out.push(']');
        }
    }
}

/// A time as Go's `time.Time` marshals to JSON (RFC 3339 with trimmed
/// nanoseconds, UTC).
pub(crate) fn go_time(t: std::time::SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ns = dt.timestamp_subsec_nanos();
    if ns != 0 {
        let frac = format!("{ns:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Serializes an optional time as Go's zero time when absent.
pub(crate) fn ser_time<S: serde::Serializer>(
    t: &Option<std::time::SystemTime>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&go_time(*t)),
        None => s.serialize_str("0001-01-01T00:00:00Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(t: i64) -> String {
        let mut s = String::new();
        write_timestamp(&mut s, t);
        s
    }

    #[test]
    fn timestamps_match_marshal_timestamp() {
        assert_eq!(ts(1_700_000_000_123), "1700000000.123");
        assert_eq!(ts(1_700_000_000_000), "1700000000");
        assert_eq!(ts(1_500), "1.500");
        assert_eq!(ts(5), "0.005");
        assert_eq!(ts(-1_500), "-1.500");
    }

    #[test]
    fn values_match_marshal_float() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(-0.0), "-0");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1e-300), "1e-300");
        assert_eq!(format_value(1e300), "1e+300");
        assert_eq!(format_value(1e-7), "1e-07");
        assert_eq!(format_value(1e-6), "0.000001");
        assert_eq!(format_value(1e20), "100000000000000000000");
        assert_eq!(format_value(1.5e21), "1.5e+21");
        assert_eq!(format_value(123456789.0), "123456789");
    }

    #[test]
    fn go_g_shortest_matches_strconv() {
        assert_eq!(format_go_g_shortest(1.0), "1");
        assert_eq!(format_go_g_shortest(100000.0), "100000");
        assert_eq!(format_go_g_shortest(1e6), "1e+06");
        assert_eq!(format_go_g_shortest(1234567.0), "1.234567e+06");
        assert_eq!(format_go_g_shortest(0.0001), "0.0001");
        assert_eq!(format_go_g_shortest(0.00001), "1e-05");
        assert_eq!(format_go_g_shortest(0.5), "0.5");
    }
}
