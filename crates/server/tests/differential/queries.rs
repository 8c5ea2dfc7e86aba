//! The requests sent to both servers. Times are offsets from the dataset's
//! base time, so the case labels are stable across runs; in expressions,
//! `⟨N⟩` stands for the absolute time base + N seconds.

use crate::compare::Norm;

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

/// Instant queries at 30m07s: not on a sample timestamp, so range selectors
/// see the same samples whether their start is open (3.x) or closed (2.x).
const T_MID: i64 = 1807;
/// Just after the last sample.
const T_END: i64 = 3607;
/// 2m37s after the last sample: series are still within the lookback.
const T_LATE: i64 = 3757;
/// After `ended_gauge`'s stale marker (40m) and before `vanished_gauge`
/// leaves the lookback window.
const T_ENDED: i64 = 2500;
/// In `gappy_gauge`'s gap, beyond the lookback delta.
const T_GAP: i64 = 1507;
/// On a sample timestamp (30m): where 2.x's closed range start shows.
const T_ALIGNED: i64 = 1800;

/// Instant queries evaluated at [`T_MID`].
const INSTANT: &[&str] = &[
    // Selectors and modifiers.
    "up",
    "up{job=\"node\"}",
    "up{job=~\"a.*\"}",
    "up{job!=\"api\"}",
    "up{job!~\"api|web\"}",
    "{__name__=~\"node_.*\", instance=\"node1:9100\"}",
    "temperature_celsius{location=\"Zürich\"}",
    "temperature_celsius{location=~\".*\\\"hi\\\"\"}",
    "temperature_celsius{location=\"back\\\\slash\"}",
    "weird_labels{v=~\"a.b\"}",
    "http_requests_total offset 10m",
    "http_requests_total offset -5m",
    "http_requests_total @ ⟨600⟩",
    "sum(http_requests_total @ ⟨900⟩ offset 5m)",
    "node_memory_free_bytes[1m]",
    "queue_length{shard=\"7\"}[2m] offset 1m",
    "nonexistent_metric",
    // Counters.
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[10m])",
    "resets(http_requests_total[30m])",
    "rate(node_cpu_seconds_total{mode=\"idle\"}[2m])",
    "rate(http_requests_total[5m] offset 5m)",
    "rate(temperature_celsius[5m])",
    "changes(up[1h])",
    // Gauges.
    "delta(temperature_celsius[10m])",
    "idelta(temperature_celsius[5m])",
    "deriv(node_memory_free_bytes[10m])",
    "predict_linear(node_memory_free_bytes[10m], 3600)",
    "avg_over_time(queue_length{zone=\"a\"}[10m])",
    "min_over_time(temperature_celsius[10m])",
    "max_over_time(temperature_celsius[10m])",
    "sum_over_time(queue_length{zone=\"b\"}[5m])",
    "count_over_time(gappy_gauge[30m])",
    "last_over_time(gappy_gauge[1h])",
    "quantile_over_time(0.9, queue_length{zone=\"c\"}[10m])",
    "stddev_over_time(temperature_celsius[10m])",
    "stdvar_over_time(temperature_celsius[10m])",
    "present_over_time(up{job=\"node\"}[5m])",
    "absent_over_time(nonexistent_metric[5m])",
    "absent_over_time(up[5m])",
    "holt_winters(node_memory_free_bytes[10m], 0.5, 0.5)",
    "double_exponential_smoothing(node_memory_free_bytes[10m], 0.5, 0.5)",
    // Aggregations.
    "sum(rate(http_requests_total[5m])) by (job)",
    "sum without (instance) (rate(http_requests_total[5m]))",
    "avg by (zone) (queue_length)",
    "min by (zone) (queue_length)",
    "max by (zone) (queue_length)",
    "count by (zone) (queue_length)",
    "group by (job) (up)",
    "stddev by (zone) (queue_length)",
    "stdvar by (zone) (queue_length)",
    "sum(queue_length)",
    "avg(node_memory_free_bytes)",
    "topk(3, queue_length)",
    "bottomk(3, queue_length)",
    "topk(2, queue_length) by (zone)",
    "bottomk(1, http_requests_total) by (job)",
    "quantile(0.5, queue_length) by (zone)",
    "quantile(0.95, rate(http_requests_total[5m]))",
    "count_values(\"value\", up)",
    "count_values(\"v\", queue_length)",
    "sum(up) / count(up)",
    // Binary operators and vector matching.
    "http_requests_total / 1000",
    "rate(http_requests_total[5m]) / ignoring(code) group_left sum without (code) (rate(http_requests_total[5m]))",
    "up == 1",
    "up != bool 1",
    "queue_length > 40",
    "queue_length > bool 40",
    "node_memory_free_bytes * on(job, instance) up",
    "http_requests_total * on(job) group_left(version) build_info",
    "build_info * on(job) group_right(version) up",
    "up and on(job) build_info",
    "up{job=\"node\"} or vector(0)",
    "queue_length unless queue_length > 25",
    "vector(1) + vector(2)",
    "1 + 2 * 3",
    "2 ^ 3 ^ 2",
    "-up",
    "5 % 3",
    "queue_length % 7",
    "temperature_celsius atan2 on(location) temperature_celsius",
    // Functions.
    "abs(delta(temperature_celsius[5m]))",
    "ceil(temperature_celsius)",
    "floor(temperature_celsius)",
    "round(temperature_celsius, 0.5)",
    "sqrt(queue_length)",
    "exp(up)",
    "ln(queue_length)",
    "log2(node_memory_free_bytes)",
    "log10(node_memory_free_bytes)",
    "clamp(temperature_celsius, 0, 20)",
    "clamp_min(temperature_celsius, 10)",
    "clamp_max(temperature_celsius, 10)",
    "sgn(delta(temperature_celsius[5m]))",
    "timestamp(up)",
    "timestamp(up offset 1m)",
    "time()",
    "hour(timestamp(up{job=\"api\"}))",
    "minute()",
    "day_of_week()",
    "days_in_month(timestamp(up{job=\"web\"}))",
    "year(vector(0))",
    "month(vector(5000000))",
    "label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    "label_replace(up, \"job\", \"x\", \"job\", \"nomatch\")",
    "label_join(up, \"combo\", \"-\", \"job\", \"instance\")",
    "absent(nonexistent_metric{job=\"x\", env=~\"p.*\"})",
    "absent(up)",
    "scalar(sum(up))",
    "scalar(up)",
    "vector(scalar(sum(up)))",
    "sort(queue_length{zone=\"a\"})",
    "sort_desc(queue_length{zone=\"b\"})",
    "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(http_request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, http_request_duration_seconds_bucket{le=\"0.05\"})",
    "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
    // Subqueries.
    "max_over_time(rate(http_requests_total{job=\"api\"}[1m])[10m:1m])",
    "avg_over_time(up[30m:])",
    "min_over_time(sum(queue_length)[15m:30s] offset 2m)",
    "rate(sum(http_requests_total)[10m:15s])",
    "sum_over_time(queue_length{shard=\"1\"}[10m:2m] @ ⟨1200⟩)",
    // More functions, operators and edge cases.
    "deg(vector(pi()))",
    "rad(vector(180))",
    "sin(queue_length{shard=\"5\"}) + cos(queue_length{shard=\"5\"})",
    "acosh(queue_length{shard=\"6\"} + 1)",
    "tanh(temperature_celsius / 10)",
    "vector(time()) - timestamp(up{job=\"node\", instance=\"node1:9100\"})",
    "timestamp(vector(1))",
    "scalar(vector(1)) * 3",
    "absent(sum(nonexistent_metric))",
    "absent_over_time(nonexistent_metric{job=\"a\", zone=~\"b|c\"}[5m])",
    "quantile(1.5, queue_length)",
    "quantile(-1, queue_length)",
    "topk(0, queue_length)",
    "topk(1.7, temperature_celsius)",
    "count_values(\"mem\", node_memory_free_bytes / 1e9)",
    "count_values(\"job\", up)",
    "1 < up",
    "2 > bool 1",
    "up == bool on() group_left vector(1)",
    "up{job=\"api\"} + ignoring(job) up{job=\"web\"}",
    "up{job=\"api\"} or up{job=\"web\"}",
    "up{job=\"node\"} and up == 0",
    "http_requests_total{code=\"500\"} - http_requests_total{code=\"500\"} offset 5m",
    "sum by (method) (rate(http_requests_total[5m])) * on() group_left() scalar(count(up))",
    "-sum(queue_length) ^ 0.5",
    "1 / 0",
    "-1 / 0",
    "0 / 0",
    "vector(1e21)",
    "vector(1e-7)",
    "vector(123456789012345678)",
    "vector(-0)",
    "vector(0.1 + 0.2)",
    "changes(temperature_celsius[30m])",
    "resets(temperature_celsius[30m])",
    "irate(node_cpu_seconds_total{instance=\"node2:9100\", cpu=\"1\"}[1m])",
    "increase(http_request_duration_seconds_count[1h])",
    "http_requests_total @ start()",
    "http_requests_total{code=\"404\"} @ end() offset 30m",
    "sum_over_time(gappy_gauge[30m])",
    "avg_over_time(gappy_gauge[45m] offset 10m)",
    "sort_desc(sum by (location) (temperature_celsius))",
    "sort(count by (zone) (queue_length > 10))",
    "group_left_is_not_a_function",
    "max by (le) (http_request_duration_seconds_bucket)",
    "histogram_quantile(0.75, sum without (instance) (rate(http_request_duration_seconds_bucket[10m])))",
    "histogram_quantile(1, sum by (le) (http_request_duration_seconds_bucket))",
    "histogram_quantile(0, sum by (le) (http_request_duration_seconds_bucket))",
    "histogram_quantile(NaN, sum by (le) (http_request_duration_seconds_bucket))",
    "label_replace(temperature_celsius, \"city\", \"$1\", \"location\", \"(Z.*)\")",
    "label_join(temperature_celsius, \"both\", \"/\", \"location\", \"job\")",
    "{__name__=~\"http_request_duration_seconds_(sum|count)\", job=\"web\"}",
    "{job=\"weather\"}",
    "clamp(temperature_celsius, 20, 0)",
    "round(-temperature_celsius)",
    "round(temperature_celsius, 10)",
    "histogram_quantile(0.5, sum by (le) (http_request_duration_seconds_bucket{le!=\"+Inf\"}))",
    "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{le=~\"0.1|1|\\\\+Inf\"}[5m])))",
    "absent(up{job=~\"nomatch.*\"})",
    "absent(up{job=\"x\", job=\"y\"})",
    "last_over_time(rate(http_requests_total{job=\"web\", code=\"404\"}[2m])[5m:])",
    "max_over_time(deriv(node_memory_free_bytes[5m])[20m:2m])",
    "up offset 1h",
    "count(count by (version) (build_info))",
    "group(http_requests_total) by (code, method)",
    "sum by (__name__) ({job=\"api\"})",
    "count by (__name__) ({__name__=~\"http_.*\"})",
    "rate({__name__=~\"http_requests_total|node_cpu_seconds_total\", instance=~\".*1.*\"}[5m])",
    "stddev_over_time(http_requests_total{job=\"web\", code=\"200\", instance=\"10.0.0.1:8080\"}[30m])",
    "label_replace(up, \"instance\", \"$2\", \"instance\", \"(.*):(.*)\")",
    "label_replace(up, \"short\", \"$1\", \"instance\", \"10\")",
    "label_replace(up, \"x\", \"${1}y\", \"job\", \"(a)pi\")",
    "{\"http_requests_total\", code=\"500\", job=\"api\", instance=\"10.0.0.1:8080\"}",
    "limitk(2, queue_length)",
    "sort_by_label(up, \"instance\")",
    "mad_over_time(temperature_celsius[10m])",
    // Literals.
    "\"hello\"",
    "42",
    "-1.5e3",
    "Inf",
    "NaN",
    "0x1f",
    // Errors.
    "up{",
    "sum(up",
    // A many-to-many error: only evaluated as an instant query, since a
    // 2.42 range query names the duplicates in Go map order.
    "sum by (job) (rate(http_requests_total[5m])) > on(job) group_left sum by (job, code) (rate(http_requests_total[5m]))",

    "rate(up)",
    "foo bar",
    "http_requests_total * on(job) up",
    "sum by (job) (rate(http_requests_total[5m])) / on(job) http_requests_total",
    "label_replace(up, \"1bad\", \"x\", \"job\", \".*\")",
    "label_replace(up, \"job\", \"x\", \"\", \"\")",
    "count_values(\"bad-name\", up)",
    "topk(\"a\", up)",
    "histogram_quantile(0.5, 1)",
    "up[5m:1m:1m]",
    "",
    "{job=~\".*\"}",
    "rate(http_requests_total[5m:1m:])",
    "sum(up) by (job) group_left",
    "unknown_fn(up)",
    "vector(1) + on(job) group_left(job) vector(1)",
    "up @ \"bad\"",
];

/// Instant queries at other times: (offset, expr).
const INSTANT_AT: &[(i64, &str)] = &[
    (T_END, "up"),
    (T_END, "rate(http_requests_total[5m])"),
    (T_ENDED, "ended_gauge"),
    (T_ENDED, "vanished_gauge"),
    (T_ENDED, "last_over_time(ended_gauge[10m])"),
    (T_ENDED, "count_over_time(ended_gauge[10m])"),
    (T_GAP, "gappy_gauge"),
    (T_GAP, "absent(gappy_gauge)"),
    (T_ALIGNED, "count_over_time(up{job=\"api\"}[1m])"),
    (
        T_ALIGNED,
        "rate(http_requests_total{job=\"web\", code=\"200\"}[1m])",
    ),
    (T_ALIGNED, "up{job=\"web\"}[1m]"),
    (T_END + 86_400, "up"),
    (
        T_END,
        "increase(http_requests_total{job=\"api\", code=\"500\"}[1h])",
    ),
    (T_END, "absent_over_time(ended_gauge[10m])"),
    (T_END, "timestamp(vanished_gauge)"),
    (-600, "up"),
];

/// Range queries over [7s, 3607s]: (step, expr).
const RANGE: &[(&str, &str)] = &[
    ("60", "up"),
    ("60", "up{job=\"node\"} == 0"),
    (
        "15",
        "rate(http_requests_total{job=\"api\", instance=\"10.0.0.1:8080\"}[1m])",
    ),
    ("60", "sum by (job) (rate(http_requests_total[5m]))"),
    (
        "300",
        "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    ("120", "topk(2, queue_length{zone=\"a\"})"),
    ("60", "gappy_gauge"),
    ("60", "ended_gauge"),
    ("60", "vanished_gauge"),
    ("60", "absent(gappy_gauge)"),
    ("300", "count_values(\"up\", up)"),
    (
        "60",
        "label_replace(up{job=\"api\"}, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    ),
    (
        "60",
        "max_over_time(rate(http_requests_total{job=\"web\", code=\"500\"}[1m])[5m:30s])",
    ),
    ("60", "queue_length{shard=\"3\"} offset 10m"),
    ("60", "queue_length{shard=\"3\"} @ start()"),
    ("60", "queue_length{shard=\"4\"} @ end()"),
    ("60", "time()"),
    ("60", "scalar(sum(up))"),
    ("300", "changes(up[10m])"),
    ("37", "quantile_over_time(0.5, temperature_celsius[3m])"),
    ("60", "timestamp(gappy_gauge)"),
    ("60", "sum(queue_length) by (zone)"),
    ("60", "\"str\""),
    ("60", "up[5m]"),
    ("45", "last_over_time(ended_gauge[10m])"),
    ("45", "count_over_time(ended_gauge[2m])"),
    ("90", "timestamp(ended_gauge)"),
    ("60", "absent(ended_gauge)"),
    ("60", "rate(http_requests_total{job=\"web\", instance=\"10.0.0.2:8080\"}[2m])"),
    ("60", "resets(http_requests_total{code=\"500\"}[10m])"),
    ("300", "avg_over_time(gappy_gauge[10m])"),
    ("60", "deriv(node_memory_free_bytes{instance=\"node1:9100\"}[5m])"),
    ("60", "bottomk(1, temperature_celsius)"),
    ("60", "up{job=\"node\"} == bool 0"),
    ("60", "1"),
    ("60", "vector(time()) > bool 5"),
    ("900", "sum by (job) (increase(http_requests_total[15m]))"),
    ("60", "max_over_time(up{job=\"node\"}[5m:15s])"),
    ("60", "label_join(build_info, \"v\", \"-\", \"job\", \"version\")"),
    ("60", "nonexistent_metric"),
    ("300", "count_values(\"q\", queue_length{zone=\"a\"} > 45)"),
    ("60", "topk(1, up)"),
    ("60", "sort(vector(0/0) or vector(1))"),
    ("120", "predict_linear(node_memory_free_bytes{instance=\"node2:9100\"}[10m], 600)"),
    ("60", "histogram_quantile(0.5, rate(http_request_duration_seconds_bucket{job=\"api\", instance=\"10.0.0.1:8080\"}[5m]))"),
];

fn abs(expr: &str, base: i64) -> String {
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
fn rfc3339(secs: i64) -> String {
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

fn p(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn get(path: &str, params: Vec<(String, String)>) -> Request {
    Request {
        path: path.to_string(),
        params,
        post: false,
    }
}

fn case(label: String, request: Request, norm: Norm) -> Case {
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

fn endpoints(base: i64, out: &mut Vec<Case>) {
    let t = |off: i64| (base + off).to_string();
    let whole = || vec![p("start", t(0)), p("end", t(3607))];
    let with = |mut v: Vec<(String, String)>, extra: &[(&str, &str)]| {
        v.extend(extra.iter().map(|(k, x)| p(k, x)));
        v
    };
    let exact = |label: &str, path: &str, params: Vec<(String, String)>| {
        case(label.to_string(), get(path, params), Norm::Exact)
    };
    out.push(exact(
        "series match[]=up",
        "/api/v1/series",
        with(whole(), &[("match[]", "up")]),
    ));
    out.push(exact(
        "series match[]=http_requests_total{job=\"api\",code=\"500\"}&match[]=build_info",
        "/api/v1/series",
        with(
            whole(),
            &[
                ("match[]", "http_requests_total{job=\"api\",code=\"500\"}"),
                ("match[]", "build_info"),
            ],
        ),
    ));
    out.push(exact(
        "series match[]=temperature_celsius (no start/end)",
        "/api/v1/series",
        vec![p("match[]", "temperature_celsius")],
    ));
    out.push(exact(
        "series match[]=ended_gauge start=+2500s",
        "/api/v1/series",
        vec![
            p("match[]", "ended_gauge"),
            p("start", t(2500)),
            p("end", t(3607)),
        ],
    ));
    out.push(exact(
        "series match[]={job=\"queue\"} limit=5",
        "/api/v1/series",
        with(whole(), &[("match[]", "{job=\"queue\"}"), ("limit", "5")]),
    ));
    out.push(exact("series without match[]", "/api/v1/series", whole()));
    out.push(exact(
        "series match[]=up{ (bad selector)",
        "/api/v1/series",
        with(whole(), &[("match[]", "up{")]),
    ));
    out.push(case(
        "POST series match[]=up{job=\"web\"}".to_string(),
        Request {
            path: "/api/v1/series".to_string(),
            params: with(whole(), &[("match[]", "up{job=\"web\"}")]),
            post: true,
        },
        Norm::Exact,
    ));
    out.push(exact("labels", "/api/v1/labels", vec![]));
    out.push(exact("labels start/end", "/api/v1/labels", whole()));
    out.push(exact(
        "labels match[]=up",
        "/api/v1/labels",
        with(whole(), &[("match[]", "up")]),
    ));
    out.push(exact(
        "labels match[]=temperature_celsius&match[]=queue_length",
        "/api/v1/labels",
        with(
            whole(),
            &[
                ("match[]", "temperature_celsius"),
                ("match[]", "queue_length"),
            ],
        ),
    ));
    out.push(exact(
        "labels limit=3",
        "/api/v1/labels",
        with(whole(), &[("limit", "3")]),
    ));
    out.push(case(
        "POST labels match[]=build_info".to_string(),
        Request {
            path: "/api/v1/labels".to_string(),
            params: with(whole(), &[("match[]", "build_info")]),
            post: true,
        },
        Norm::Exact,
    ));
    out.push(exact(
        "label/job/values",
        "/api/v1/label/job/values",
        vec![],
    ));
    out.push(exact(
        "label/__name__/values start/end",
        "/api/v1/label/__name__/values",
        whole(),
    ));
    out.push(exact(
        "label/location/values",
        "/api/v1/label/location/values",
        whole(),
    ));
    out.push(exact(
        "label/instance/values match[]=up{job=\"node\"}",
        "/api/v1/label/instance/values",
        with(whole(), &[("match[]", "up{job=\"node\"}")]),
    ));
    out.push(exact(
        "label/shard/values limit=4",
        "/api/v1/label/shard/values",
        with(whole(), &[("limit", "4")]),
    ));
    out.push(exact(
        "label/job/values before the data",
        "/api/v1/label/job/values",
        vec![p("start", t(-7200)), p("end", t(-3600))],
    ));
    out.push(exact(
        "label/nonexistent/values",
        "/api/v1/label/nonexistent/values",
        vec![],
    ));
    out.push(exact(
        "label/1bad/values",
        "/api/v1/label/1bad/values",
        vec![],
    ));
    out.push(exact("metadata", "/api/v1/metadata", vec![]));
    out.push(exact(
        "metadata metric=up",
        "/api/v1/metadata",
        vec![p("metric", "up")],
    ));
    out.push(exact(
        "metadata limit=1",
        "/api/v1/metadata",
        vec![p("limit", "1")],
    ));
    out.push(exact("targets", "/api/v1/targets", vec![]));
    out.push(exact(
        "targets state=active",
        "/api/v1/targets",
        vec![p("state", "active")],
    ));
    out.push(exact(
        "targets/metadata",
        "/api/v1/targets/metadata",
        vec![p("match_target", "{job=\"api\"}")],
    ));
    out.push(exact(
        "query_exemplars",
        "/api/v1/query_exemplars",
        with(whole(), &[("query", "http_requests_total")]),
    ));
    out.push(exact(
        "query_exemplars without query",
        "/api/v1/query_exemplars",
        whole(),
    ));
    out.push(exact(
        "format_query",
        "/api/v1/format_query",
        vec![p("query", "sum(rate(up[5m]))by(job)")],
    ));
    out.push(exact(
        "parse_query",
        "/api/v1/parse_query",
        vec![p("query", "up{job=\"api\"}")],
    ));
    out.push(exact(
        "series match[]=nonexistent_metric",
        "/api/v1/series",
        with(whole(), &[("match[]", "nonexistent_metric")]),
    ));
    out.push(exact(
        "labels match[]=nonexistent_metric",
        "/api/v1/labels",
        with(whole(), &[("match[]", "nonexistent_metric")]),
    ));
    out.push(exact(
        "label/job/values match[]=nonexistent_metric",
        "/api/v1/label/job/values",
        with(whole(), &[("match[]", "nonexistent_metric")]),
    ));
    out.push(exact(
        "label/job/values match[]=up{ (bad selector)",
        "/api/v1/label/job/values",
        with(whole(), &[("match[]", "up{")]),
    ));
    out.push(exact(
        "labels end<start",
        "/api/v1/labels",
        vec![p("start", t(3607)), p("end", t(0))],
    ));
    out.push(exact(
        "targets/metadata (no parameters)",
        "/api/v1/targets/metadata",
        vec![],
    ));
    out.push(exact(
        "targets/metadata match_target=bad",
        "/api/v1/targets/metadata",
        vec![p("match_target", "{job=")],
    ));
    out.push(exact(
        "query_exemplars bad query",
        "/api/v1/query_exemplars",
        with(whole(), &[("query", "up{")]),
    ));
    out.push(exact(
        "query_exemplars end<start",
        "/api/v1/query_exemplars",
        vec![p("query", "up"), p("start", t(3607)), p("end", t(0))],
    ));
    out.push(exact(
        "federate match[]=up{job=\"node\"}",
        "/federate",
        vec![p("match[]", "up{job=\"node\"}")],
    ));
    out.push(exact(
        "federate match[]=temperature_celsius&match[]=build_info",
        "/federate",
        vec![
            p("match[]", "temperature_celsius"),
            p("match[]", "build_info"),
        ],
    ));
    out.push(exact(
        "federate match[]={job=~\"fresh|node\"}",
        "/federate",
        vec![p("match[]", "{job=~\"fresh|node\"}")],
    ));
    out.push(exact("federate without match[]", "/federate", vec![]));
    let post = |label: &str, path: &str, params: Vec<(String, String)>| {
        case(
            label.to_string(),
            Request {
                path: path.to_string(),
                params,
                post: true,
            },
            Norm::Exact,
        )
    };
    out.push(post(
        "POST label/job/values (GET only)",
        "/api/v1/label/job/values",
        vec![],
    ));
    out.push(exact("GET write (POST only)", "/api/v1/write", vec![]));
    out.push(exact("unknown API path", "/api/v1/nonexistent", vec![]));
    out.push(post(
        "POST admin/tsdb/snapshot (admin API disabled)",
        "/api/v1/admin/tsdb/snapshot",
        vec![],
    ));
    out.push(post(
        "POST admin/tsdb/delete_series (admin API disabled)",
        "/api/v1/admin/tsdb/delete_series",
        vec![p("match[]", "nonexistent_metric")],
    ));
    out.push(post(
        "POST -/reload (lifecycle disabled)",
        "/-/reload",
        vec![],
    ));
    out.push(exact("-/healthy", "/-/healthy", vec![]));
    out.push(exact("-/ready", "/-/ready", vec![]));
    out.push(case(
        "query stats=all: sum(up) (structure only)".to_string(),
        get(
            "/api/v1/query",
            vec![p("query", "sum(up)"), p("time", t(1807)), p("stats", "all")],
        ),
        Norm::Stats,
    ));
    out.push(exact("rules", "/api/v1/rules", vec![]));
    out.push(exact(
        "rules type=alert",
        "/api/v1/rules",
        vec![p("type", "alert")],
    ));
    out.push(exact("alerts", "/api/v1/alerts", vec![]));
    out.push(exact("alertmanagers", "/api/v1/alertmanagers", vec![]));
    out.push(exact(
        "series match[]=up start/end before the data",
        "/api/v1/series",
        vec![p("match[]", "up"), p("start", t(-7200)), p("end", t(-3600))],
    ));
    out.push(exact(
        "labels match[]={job=\"weather\"} start=bogus",
        "/api/v1/labels",
        vec![p("match[]", "{job=\"weather\"}"), p("start", "bogus")],
    ));
    out.push(exact(
        "label/__name__/values match[]={__name__=~\"node_.+\"}",
        "/api/v1/label/__name__/values",
        with(whole(), &[("match[]", "{__name__=~\"node_.+\"}")]),
    ));
    out.push(exact(
        "label/v/values (newline in value)",
        "/api/v1/label/v/values",
        whole(),
    ));
    out.push(exact(
        "series match[]={job=~\".*\"} (empty-matching selector)",
        "/api/v1/series",
        with(whole(), &[("match[]", "{job=~\".*\"}")]),
    ));
    out.push(exact(
        "format_query parse error",
        "/api/v1/format_query",
        vec![p("query", "sum(up")],
    ));
    let st = |label: &str, path: &str, norm: Norm| case(label.to_string(), get(path, vec![]), norm);
    out.push(st("status/config", "/api/v1/status/config", Norm::Status));
    out.push(st("status/flags", "/api/v1/status/flags", Norm::Keys));
    out.push(st(
        "status/runtimeinfo",
        "/api/v1/status/runtimeinfo",
        Norm::Keys,
    ));
    out.push(st(
        "status/buildinfo",
        "/api/v1/status/buildinfo",
        Norm::Keys,
    ));
    out.push(st("status/tsdb", "/api/v1/status/tsdb", Norm::Tsdb));
    out.push(st(
        "status/tsdb memoryInBytesByLabelName",
        "/api/v1/status/tsdb",
        Norm::Field("memoryInBytesByLabelName"),
    ));
    out.push(st(
        "status/walreplay",
        "/api/v1/status/walreplay",
        Norm::Exact,
    ));
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
