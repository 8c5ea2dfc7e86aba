//! Request parameters as Go's `r.FormValue` / `r.Form` see them, and the
//! parsers for Prometheus' time, duration, limit and selector parameters.

use axum::extract::Request;
use axum::http::{header, Method};
use promlite_model::{MatchType, Matcher, METRIC_NAME};
use promql_parser::label::{MatchOp, Matcher as PMatcher};
use promql_parser::parser::Expr;

use crate::error::{ApiError, ParamError, Result};

/// The smallest timestamp Prometheus' API accepts and uses as the default
/// `start` (`time.Unix(math.MinInt64/1000+62135596801, 0)`), in milliseconds.
pub(crate) const MIN_TIME: i64 = (i64::MIN / 1000 + 62_135_596_801) * 1000;
/// The largest timestamp, the default `end`, in milliseconds.
pub(crate) const MAX_TIME: i64 = (i64::MAX / 1000 - 62_135_596_801) * 1000 + 999;
const MIN_TIME_FORMATTED: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_FORMATTED: &str = "292277025-08-18T07:12:54.999999999Z";

/// Decoded form values: the urlencoded body first, then the query string,
/// so that [`Params::get`] is Go's `FormValue` and [`Params::all`] its
/// `Form[name]`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Reads the query string and, for POST/PUT/PATCH with a urlencoded
    /// content type, the body (at most `limit` bytes).
    pub(crate) async fn from_request(req: Request, limit: usize) -> Result<Params> {
        let (parts, body) = req.into_parts();
        let mut pairs = Vec::new();
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if is_form && matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
            let bytes = axum::body::to_bytes(body, limit)
                .await
                .map_err(|e| ApiError::Form(e.to_string()))?;
            pairs.extend(form_urlencoded::parse(&bytes).into_owned());
        }
        if let Some(q) = parts.uri.query() {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Ok(Params { pairs })
    }

    /// Parses only a query string (for tests and GET-only handlers).
    #[cfg(test)]
    pub(crate) fn from_query(q: &str) -> Params {
        Params {
            pairs: form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        }
    }

    /// The first value of `name`, or `""` (Go's `FormValue`).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name` in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Prometheus' `parseTime`: float Unix seconds (rounded to milliseconds)
/// or RFC 3339, plus the API's own min/max time strings. Milliseconds.
pub(crate) fn parse_time(s: &str) -> std::result::Result<i64, ParamError> {
    if let Some(f) = parse_go_float(s) {
        if f.is_finite() {
            let secs = f.trunc();
            let frac = ((f - secs) * 1000.0).round();
            let ms = secs * 1000.0 + frac;
            if ms >= i64::MIN as f64 && ms <= i64::MAX as f64 {
                return Ok(ms as i64);
            }
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    match s {
        MIN_TIME_FORMATTED => Ok(MIN_TIME),
        MAX_TIME_FORMATTED => Ok(MAX_TIME),
        _ => Err(ParamError::Timestamp(s.to_string())),
    }
}

/// Go's `strconv.ParseFloat` for the forms clients send: decimal and
/// exponent notation, `Inf`/`NaN` in any case. Rejects what Rust accepts but
/// Go does not (nothing relevant) and is close enough for the rest.
fn parse_go_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Prometheus' `parseTimeParam`: `default` when absent, errors wrapped in
/// "invalid time value for 'name'".
pub(crate) fn time_param(p: &Params, name: &'static str, default: i64) -> Result<i64> {
    let v = p.get(name);
    if v.is_empty() {
        return Ok(default);
    }
    parse_time(v).map_err(|e| {
        ApiError::param(
            name,
            ParamError::TimeValue {
                name,
                source: Box::new(e),
            },
        )
    })
}

/// Prometheus' `parseDuration`: float seconds or a Prometheus duration.
/// Returns milliseconds (sub-millisecond float durations round down).
pub(crate) fn parse_duration(s: &str) -> std::result::Result<i64, ParamError> {
    if let Some(d) = parse_go_float(s) {
        let ns = d * 1e9;
        if ns.is_nan() || ns > i64::MAX as f64 || ns < i64::MIN as f64 {
            return Err(ParamError::DurationOverflow(s.to_string()));
        }
        return Ok((ns as i64) / 1_000_000);
    }
    promlite_model::parse_duration(s).map_err(|_| ParamError::Duration(s.to_string()))
}

/// Prometheus 3's `parseLimitParam`: absent or 0 means no limit.
pub(crate) fn limit_param(p: &Params) -> Result<usize> {
    let s = p.get("limit");
    if s.is_empty() {
        return Ok(usize::MAX);
    }
    let n: i64 = s
        .parse()
        .map_err(|_| ApiError::param("limit", ParamError::LimitSyntax(s.to_string())))?;
    if n < 0 {
        return Err(ApiError::param("limit", ParamError::NegativeLimit));
    }
    Ok(if n == 0 { usize::MAX } else { n as usize })
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> std::result::Result<bool, ParamError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(ParamError::Bool(s.to_string())),
    }
}

fn convert_matcher(m: &PMatcher) -> std::result::Result<Matcher, ParamError> {
    let t = match &m.op {
        MatchOp::Equal => MatchType::Equal,
        MatchOp::NotEqual => MatchType::NotEqual,
        MatchOp::Re(_) => MatchType::Regex,
        MatchOp::NotRe(_) => MatchType::NotRegex,
    };
    Matcher::new(t, &m.name, &m.value).map_err(|e| ParamError::Parse(e.to_string()))
}

/// Parses a PromQL expression, with errors in Prometheus' `ParseErr` form
/// (`line:col: parse error: msg`). promql-parser reports no positions, so
/// the column is the end of the input for errors about the input ending
/// early (exact for those) and the first character otherwise.
pub(crate) fn parse_expr(q: &str) -> std::result::Result<Expr, String> {
    promql_parser::parser::parse(q).map_err(|msg| {
        let at_end = msg.contains("end of input")
            || msg.contains("unclosed")
            || msg.contains("unterminated");
        let pos = if at_end { q.len() } else { 0 };
        let before = &q[..pos];
        let line = before.matches('\n').count() + 1;
        let col = pos - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        format!("{line}:{col}: parse error: {msg}")
    })
}

/// Prometheus' `parser.ParseMetricSelector`: a vector selector without
/// offset or `@`, as the matcher sets it stands for (several for `or`).
pub(crate) fn parse_selector(s: &str) -> std::result::Result<Vec<Vec<Matcher>>, ParamError> {
    let expr = parse_expr(s).map_err(|e| {
        // promql-parser checks this while parsing; Prometheus'
        // ParseMetricSelector leaves it to parseMatchersParam.
        if e.contains("vector selector must contain at least one non-empty matcher") {
            ParamError::EmptyMatcher
        } else {
            ParamError::Parse(e)
        }
    })?;
    let vs = match expr {
        Expr::VectorSelector(vs) if vs.offset.is_none() && vs.at.is_none() => vs,
        _ => {
            return Err(ParamError::Parse(format!(
                "1:1: parse error: unexpected expression {s:?}, expected a series selector"
            )))
        }
    };
    let name = vs.name.as_ref().map(|n| Matcher::equal(METRIC_NAME, n));
    let base: Vec<Matcher> = vs
        .matchers
        .matchers
        .iter()
        .map(convert_matcher)
        .collect::<std::result::Result<_, _>>()?;
    let mut sets = Vec::new();
    if vs.matchers.or_matchers.is_empty() {
        let mut set = base;
        set.extend(name);
        sets.push(set);
    } else {
        for group in &vs.matchers.or_matchers {
            let mut set: Vec<Matcher> = group
                .iter()
                .map(convert_matcher)
                .collect::<std::result::Result<_, _>>()?;
            set.extend(base.iter().cloned());
            set.extend(name.clone());
            sets.push(set);
        }
    }
    Ok(sets)
}

/// Prometheus' `parseMatchersParam`: every `match[]` parsed, and each set
/// must have a matcher that does not match the empty string.
pub(crate) fn parse_matchers_param(
    values: &[&str],
) -> std::result::Result<Vec<Vec<Matcher>>, ParamError> {
    let mut out = Vec::new();
    for v in values {
        out.extend(parse_selector(v)?);
    }
    for set in &out {
        if set.iter().all(|m| m.matches("")) {
            return Err(ParamError::EmptyMatcher);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_prometheus_does() {
        assert_eq!(parse_time("1700000000.123").unwrap(), 1_700_000_000_123);
        assert_eq!(parse_time("1.0006").unwrap(), 1001);
        assert_eq!(parse_time("-1.5").unwrap(), -1500);
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").unwrap(),
            1435781451781
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51+02:00").unwrap(),
            1435781451000
        );
        assert_eq!(parse_time(MIN_TIME_FORMATTED).unwrap(), MIN_TIME);
        assert_eq!(parse_time(MAX_TIME_FORMATTED).unwrap(), MAX_TIME);
        assert_eq!(
            parse_time("x").unwrap_err().to_string(),
            "cannot parse \"x\" to a valid timestamp"
        );
    }

    #[test]
    fn durations_parse_as_prometheus_does() {
        assert_eq!(parse_duration("30s").unwrap(), 30_000);
        assert_eq!(parse_duration("1.5").unwrap(), 1500);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert!(parse_duration("1e30").is_err());
        assert_eq!(
            parse_duration("abc").unwrap_err().to_string(),
            "cannot parse \"abc\" to a valid duration"
        );
    }

    #[test]
    fn form_values_merge_like_go() {
        let p = Params::from_query("match[]=a&match[]=b&x=1&x=2");
        assert_eq!(p.all("match[]"), vec!["a", "b"]);
        assert_eq!(p.get("x"), "1");
        assert_eq!(p.get("y"), "");
    }

    #[test]
    fn parse_errors_carry_prometheus_positions() {
        assert_eq!(
            parse_expr("sum(").err().unwrap(),
            "1:5: parse error: unclosed left parenthesis"
        );
        assert_eq!(
            parse_expr("up{").err().unwrap(),
            "1:4: parse error: unexpected end of input inside braces"
        );
        assert_eq!(
            parse_expr("").err().unwrap(),
            "1:1: parse error: no expression found in input"
        );
    }

    #[test]
    fn selectors_become_matcher_sets() {
        let s = parse_matchers_param(&["up", "{job=\"x\"}"]).unwrap();
        assert_eq!(s.len(), 2);
        assert!(parse_matchers_param(&["{job=~\".*\"}"]).is_err());
        assert!(parse_matchers_param(&["rate(x[5m])"]).is_err());
    }
}
