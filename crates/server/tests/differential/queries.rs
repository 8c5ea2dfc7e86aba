//! The requests sent to both servers. Times are offsets from the dataset's
//! base time, so the case labels are stable across runs; in expressions,
//! `⟨N⟩` stands for the absolute time base + N seconds.

use crate::compare::Norm;
use crate::endpoints::endpoints;
use crate::exprs::{INSTANT, INSTANT_AT, RANGE, T_LATE, T_MID};

/// One HTTP request.
pub(crate) struct Request {
    pub(crate) path: String,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) post: bool,
}

/// One compared request with a stable label.
pub(crate) struct Case {
    pub(crate) label: String,
    pub(crate) request: Request,
    pub(crate) norm: Norm,
}

pub(crate) fn abs(expr: &str, base: i64) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(i) = rest.find('⟨') {
        out.push_str(&rest[..i]);
        let after = &rest[i + '⟨'.len_utf8()..];
        let j = after.find('⟩').unwrap();
        let off: i64 = after[..j].parse().unwrap();
        out.push_str(&(base + off).to_string());
        rest = &after[j + '⟩'.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// `secs` as RFC 3339 in UTC with milliseconds.
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(crate) fn p(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

pub(crate) fn get(path: &str, params: Vec<(String, String)>) -> Request {
    Request {
        path: path.to_string(),
        params,
        post: false,
    }
}

pub(crate) fn case(label: String, request: Request, norm: Norm) -> Case {
    Case {
        label,
        request,
        norm,
    }
}

fn ordered(expr: &str) -> bool {
    expr.starts_with("sort")
}

/// Every compared request.
pub(crate) fn cases(base: i64) -> Vec<Case> {
    let mut out = Vec::new();
    let t = |off: i64| (base + off).to_string();
    let instant = |off: i64, expr: &str, out: &mut Vec<Case>| {
        out.push(case(
            format!("query t={off:+}s: {expr}"),
            get(
                "/api/v1/query",
                vec![p("query", abs(expr, base)), p("time", base + off)],
            ),
            Norm::Query {
                ordered: ordered(expr),
            },
        ));
    };
    for expr in INSTANT {
        instant(T_MID, expr, &mut out);
    }
    // Again after the last sample (extrapolation at the end, lookback),
    // except the errors, which do not depend on the time.
    let errors_from = INSTANT
        .iter()
        .position(|e| *e == "up{")
        .unwrap_or(INSTANT.len());
    for expr in &INSTANT[..errors_from] {
        instant(T_LATE, expr, &mut out);
    }
    // And as range queries (5m steps over the hour).
    for expr in &INSTANT[..errors_from] {
        out.push(case(
            format!("query_range [+7s,+3607s] step=300: {expr}"),
            get(
                "/api/v1/query_range",
                vec![
                    p("query", abs(expr, base)),
                    p("start", t(7)),
                    p("end", t(3607)),
                    p("step", "300"),
                ],
            ),
            Norm::Query { ordered: true },
        ));
    }
    for (off, expr) in INSTANT_AT {
        instant(*off, expr, &mut out);
    }
    // The POST form.
    out.push(case(
        format!("POST query t=+{T_MID}s: sum by (job) (up)"),
        Request {
            path: "/api/v1/query".to_string(),
            params: vec![p("query", "sum by (job) (up)"), p("time", t(T_MID))],
            post: true,
        },
        Norm::Query { ordered: false },
    ));
    for (step, expr) in RANGE {
        out.push(case(
            format!("query_range [+7s,+3607s] step={step}: {expr}"),
            get(
                "/api/v1/query_range",
                vec![
                    p("query", abs(expr, base)),
                    p("start", t(7)),
                    p("end", t(3607)),
                    p("step", step),
                ],
            ),
            Norm::Query { ordered: true },
        ));
    }
    let range_post = |label: &str, params: Vec<(String, String)>| {
        case(
            format!("POST query_range {label}"),
            Request {
                path: "/api/v1/query_range".to_string(),
                params,
                post: true,
            },
            Norm::Query { ordered: true },
        )
    };
    out.push(range_post(
        "[+7s,+3607s] step=1m: rate(node_cpu_seconds_total{cpu=\"0\"}[5m])",
        vec![
            p("query", "rate(node_cpu_seconds_total{cpu=\"0\"}[5m])"),
            p("start", t(7)),
            p("end", t(3607)),
            p("step", "1m"),
        ],
    ));
    out.push(range_post(
        "step=0: up",
        vec![
            p("query", "up"),
            p("start", t(7)),
            p("end", t(3607)),
            p("step", "0"),
        ],
    ));
    out.push(range_post(
        "end<start: up",
        vec![
            p("query", "up"),
            p("start", t(3607)),
            p("end", t(7)),
            p("step", "15"),
        ],
    ));
    out.push(range_post(
        "step=0.1s (too many points): up",
        vec![
            p("query", "up"),
            p("start", t(7)),
            p("end", t(3607)),
            p("step", "0.1"),
        ],
    ));
    out.push(range_post(
        "start=bogus: up",
        vec![
            p("query", "up"),
            p("start", "bogus"),
            p("end", t(3607)),
            p("step", "15"),
        ],
    ));
    out.push(case(
        "query time=RFC 3339: up{job=\"api\"}".to_string(),
        get(
            "/api/v1/query",
            vec![
                p("query", "up{job=\"api\"}"),
                p("time", rfc3339(base + T_MID)),
            ],
        ),
        Norm::Query { ordered: false },
    ));
    out.push(case(
        "query_range start/end RFC 3339 step=2m: up{job=\"web\"}".to_string(),
        get(
            "/api/v1/query_range",
            vec![
                p("query", "up{job=\"web\"}"),
                p("start", rfc3339(base + 7)),
                p("end", rfc3339(base + 3607)),
                p("step", "2m"),
            ],
        ),
        Norm::Query { ordered: true },
    ));
    out.push(case(
        "query time=+1807.123s: up{job=\"web\"}".to_string(),
        get(
            "/api/v1/query",
            vec![
                p("query", "up{job=\"web\"}"),
                p("time", format!("{}.123", base + 1807)),
            ],
        ),
        Norm::Query { ordered: false },
    ));
    out.push(case(
        "query_range start=+7.5s step=15.5: queue_length{shard=\"9\"}".to_string(),
        get(
            "/api/v1/query_range",
            vec![
                p("query", "queue_length{shard=\"9\"}"),
                p("start", format!("{}.5", base + 7)),
                p("end", t(1207)),
                p("step", "15.5"),
            ],
        ),
        Norm::Query { ordered: true },
    ));
    out.push(case(
        "query lookback_delta=1m t=+1807s+45s: gappy_gauge".to_string(),
        get(
            "/api/v1/query",
            vec![
                p("query", "gappy_gauge"),
                p("time", t(1852)),
                p("lookback_delta", "1m"),
            ],
        ),
        Norm::Query { ordered: false },
    ));
    out.push(case(
        "query limit=2: up".to_string(),
        get(
            "/api/v1/query",
            vec![p("query", "up"), p("time", t(T_MID)), p("limit", "2")],
        ),
        Norm::Query { ordered: false },
    ));
    out.push(case(
        "query timeout=bogus: up".to_string(),
        get(
            "/api/v1/query",
            vec![p("query", "up"), p("time", t(T_MID)), p("timeout", "bogus")],
        ),
        Norm::Query { ordered: false },
    ));
    out.push(case(
        "query_range without step: up".to_string(),
        get(
            "/api/v1/query_range",
            vec![p("query", "up"), p("start", t(7)), p("end", t(3607))],
        ),
        Norm::Query { ordered: true },
    ));
    out.push(case(
        "query without query parameter".to_string(),
        get("/api/v1/query", vec![p("time", t(T_MID))]),
        Norm::Query { ordered: false },
    ));
    out.push(case(
        "query time=bogus: up".to_string(),
        get("/api/v1/query", vec![p("query", "up"), p("time", "bogus")]),
        Norm::Query { ordered: false },
    ));
    endpoints(base, &mut out);
    out
}

/// `promtool query` invocations: (label, arguments after `query`), with
/// `{SERVER}` for the server's URL.
pub(crate) fn promtool_cases(base: i64) -> Vec<(String, Vec<String>)> {
    let s = |x: &str| x.to_string();
    let t = |off: i64| (base + off).to_string();
    vec![
        (
            s("promtool query instant sort_desc(node_memory_free_bytes)"),
            vec![
                s("instant"),
                format!("--time={}", t(T_MID)),
                s("{SERVER}"),
                s("sort_desc(node_memory_free_bytes)"),
            ],
        ),
        (
            s("promtool query instant sum by (job) (rate(http_requests_total[5m]))"),
            vec![
                s("instant"),
                format!("--time={}", t(T_MID)),
                s("{SERVER}"),
                s("sort(sum by (job) (rate(http_requests_total[5m])))"),
            ],
        ),
        (
            s("promtool query instant -o json histogram_quantile"),
            vec![
                s("instant"),
                s("-o"),
                s("json"),
                format!("--time={}", t(T_MID)),
                s("{SERVER}"),
                s("histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"),
            ],
        ),
        (
            s("promtool query range up{job=\"node\"}"),
            vec![
                s("range"),
                format!("--start={}", t(7)),
                format!("--end={}", t(3607)),
                s("--step=5m"),
                s("{SERVER}"),
                s("up{job=\"node\"}"),
            ],
        ),
        (
            s("promtool query series --match=up{job=\"api\"}"),
            vec![
                s("series"),
                s("--match=up{job=\"api\"}"),
                format!("--start={}", t(0)),
                format!("--end={}", t(3607)),
                s("{SERVER}"),
            ],
        ),
        (
            s("promtool query labels job"),
            vec![
                s("labels"),
                format!("--start={}", t(0)),
                format!("--end={}", t(3607)),
                s("{SERVER}"),
                s("job"),
            ],
        ),
        (
            s("promtool query range -o json sum by (zone) (queue_length)"),
            vec![
                s("range"),
                s("-o"),
                s("json"),
                format!("--start={}", t(7)),
                format!("--end={}", t(3607)),
                s("--step=10m"),
                s("{SERVER}"),
                s("sum by (zone) (queue_length)"),
            ],
        ),
        (
            s("promtool query instant scalar"),
            vec![
                s("instant"),
                format!("--time={}", t(T_MID)),
                s("{SERVER}"),
                s("scalar(sum(up)) / 3"),
            ],
        ),
        (
            s("promtool query instant string (promtool's client cannot decode it: error)"),
            vec![
                s("instant"),
                format!("--time={}", t(T_MID)),
                s("{SERVER}"),
                s("\"a string\""),
            ],
        ),
        (
            s("promtool query instant execution error"),
            vec![
                s("instant"),
                format!("--time={}", t(T_MID)),
                s("{SERVER}"),
                s("label_replace(up, \"job\", \"x\", \"\", \"\")"),
            ],
        ),
        (
            s("promtool query series two matchers"),
            vec![
                s("series"),
                s("--match=build_info"),
                s("--match=temperature_celsius{location=~\".*h.*\"}"),
                format!("--start={}", t(0)),
                format!("--end={}", t(3607)),
                s("{SERVER}"),
            ],
        ),
        (
            s("promtool query labels __name__"),
            vec![s("labels"), s("{SERVER}"), s("__name__")],
        ),
        (
            s("promtool query labels location --match=temperature_celsius"),
            vec![
                s("labels"),
                s("--match=temperature_celsius"),
                s("{SERVER}"),
                s("location"),
            ],
        ),
    ]
}
