//! Differences between Debian's Prometheus 2.42 and promlite that are not
//! promlite bugs, each with its reason. promlite follows Prometheus 3.x;
//! every entry must still differ (a stale entry fails the test). A label
//! `query t=ALL: <expr>` stands for the instant query at both +1807s and
//! +3757s and the range query with step 300s.

const LEFT_OPEN: &str = "Prometheus 2.42 (Debian) vs 3.x: 3.0 made range selectors left-open, \
     (t-r, t] instead of [t-r, t]; here a sample sits exactly at t-r (2.42 counts it, 3.x does not)";
const LEFT_OPEN_SUBQUERY: &str =
    "Prometheus 2.42 (Debian) vs 3.x: 3.0 made range selectors left-open; \
     the subquery's steps are multiples of its step in absolute time, so inner range windows \
     start exactly on sample timestamps (2.42 counts that sample, 3.x does not)";
const UTF8_NAMES: &str = "Prometheus 2.42 (Debian) vs 3.x: 3.0 validates label names as UTF-8 \
     (model.UTF8Validation), so this name is valid in 3.x and an error in 2.42";
const PARSE_TEXT: &str = "parse error text: promlite uses promql-parser, whose messages (and \
     positions other than at the end of input) differ from Go's parser; status code and \
     errorType match";
const RANGE_PARAM: &str = "Prometheus 2.42 (Debian) vs 3.x: 3.x wraps NewRangeQuery errors with \
     invalidParamError(err, \"query\"), adding the 'invalid parameter \"query\": ' prefix";
const EXTRAPOLATION: &str =
    "Prometheus 2.42 (Debian) vs 3.x: in extrapolatedRate 3.x first clamps \
     durationToStart to half a sample interval and then caps it at the counter's zero point; \
     2.42 capped at the zero point before the threshold test, so windows that start before a \
     counter's first sample extrapolate further";
const QUANTILE_WARNING: &str =
    "Prometheus 2.42 (Debian) vs 3.x: 3.x warns 'quantile value should be \
     between 0 and 1' (annotations arrived in 2.46; 2.42 returns no warning)";
const TIME_CASE: &str = "Prometheus 2.42 (Debian) vs 3.x: 3.x lowercased 'Invalid time value for' \
     in parseTimeParam's error";
const EXPERIMENTAL: &str =
    "Prometheus 2.42 (Debian) vs 3.x: a function added in 3.x (2.42: unknown \
     function); 3.x offers it behind --enable-feature=promql-experimental-functions, promlite \
     always";
const SORT_RANGE: &str =
    "Prometheus 2.42 (Debian) vs 3.x: 3.x warns 'sort is ineffective for range \
     queries since results are always ordered by labels'";
const MATCH_ORDER: &str =
    "the many-to-many error names the first two right-hand series found in one \
     match group; which group and pair depends on the order of the operand's series, which \
     Prometheus does not specify (2.42 yields selector series sorted by labels, promlite in \
     insertion order); status, errorType and the rest of the message match";
const INF_STDDEV: &str = "Prometheus 2.42 (Debian) vs 3.x: 3.x makes stddev/stdvar of a group \
     holding ±Inf NaN (promqltest aggregators.test); 2.42 returns 0 for a group whose only \
     value is ±Inf";
const LIMIT: &str = "Prometheus 2.42 (Debian) vs 3.x: the limit parameter of series/labels/label \
     values arrived in 2.51 (2.42 ignores it), and 3.x warns 'results truncated due to limit'";

/// (case label, reason).
pub(crate) const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    // PromQL semantics.
    ("query t=+1800s: count_over_time(up{job=\"api\"}[1m])", LEFT_OPEN),
    ("query t=+1800s: rate(http_requests_total{job=\"web\", code=\"200\"}[1m])", LEFT_OPEN),
    ("query t=+1800s: up{job=\"web\"}[1m]", LEFT_OPEN),
    (
        "query_range [+7s,+3607s] step=37: quantile_over_time(0.5, temperature_celsius[3m])",
        "Prometheus 2.42 (Debian) vs 3.x: 3.0 made range selectors left-open; with step 37s \
         three steps (14, 29, 44) have a sample exactly at t-3m",
    ),
    (
        "query t=ALL: max_over_time(rate(http_requests_total{job=\"api\"}[1m])[10m:1m])",
        LEFT_OPEN_SUBQUERY,
    ),
    (
        "query_range [+7s,+3607s] step=60: max_over_time(rate(http_requests_total{job=\"web\", code=\"500\"}[1m])[5m:30s])",
        LEFT_OPEN_SUBQUERY,
    ),
    (
        "query t=ALL: weird_labels{v=~\"a.b\"}",
        "Prometheus 2.42 (Debian) vs 3.x: 3.0 made '.' in regex matchers match newlines \
         (the label value is \"a\\nb\")",
    ),
    (
        "query t=ALL: holt_winters(node_memory_free_bytes[10m], 0.5, 0.5)",
        "Prometheus 2.42 (Debian) vs 3.x: 3.0 renamed holt_winters to \
         double_exponential_smoothing; holt_winters is an unknown function in 3.x",
    ),
    (
        "query t=ALL: double_exponential_smoothing(node_memory_free_bytes[10m], 0.5, 0.5)",
        "Prometheus 2.42 (Debian) vs 3.x: double_exponential_smoothing is 3.0's name for \
         holt_winters (unknown in 2.42); promlite returns the same values 2.42's holt_winters does",
    ),
    (
        "query t=ALL: last_over_time(rate(http_requests_total{job=\"web\", code=\"404\"}[2m])[5m:])",
        LEFT_OPEN_SUBQUERY,
    ),
    (
        "query t=ALL: max_over_time(deriv(node_memory_free_bytes[5m])[20m:2m])",
        LEFT_OPEN_SUBQUERY,
    ),
    ("query t=ALL: limitk(2, queue_length)", EXPERIMENTAL),
    (
        "query t=ALL: sum_over_time(queue_length{shard=\"1\"}[10m:2m] @ ⟨1200⟩)",
        LEFT_OPEN_SUBQUERY,
    ),
    ("query t=ALL: sort_by_label(up, \"instance\")", EXPERIMENTAL),
    ("query t=ALL: mad_over_time(temperature_celsius[10m])", EXPERIMENTAL),
    (
        "query t=ALL: {\"http_requests_total\", code=\"500\", job=\"api\", instance=\"10.0.0.1:8080\"}",
        "Prometheus 2.42 (Debian) vs 3.x: 3.0 accepts quoted (UTF-8) metric names inside the \
         braces; 2.42 reports a parse error",
    ),
    (
        "query t=ALL: up > on(job) build_info",
        "Prometheus 2.42 (Debian) vs 3.x: current Prometheus checks one-to-one uniqueness \
         before a comparison filters (its promqltest operators.test: 'track many-to-one vector \
         matching errors even when all but 0 or 1 series on the many side are filtered away'); \
         2.42 filtered first and returned an empty result",
    ),
    ("query t=ALL: stddev(vector(Inf))", INF_STDDEV),
    ("query t=+1807s: label_replace(up, \"1bad\", \"x\", \"job\", \".*\")", UTF8_NAMES),
    ("query t=+1807s: count_values(\"bad-name\", up)", UTF8_NAMES),
    (
        "query t=ALL: rate(temperature_celsius[5m])",
        "Prometheus 2.42 (Debian) vs 3.x: 3.x adds the info annotation 'metric might not be a \
         counter, name does not end in _total/_sum/_count/_bucket' (2.42 has no infos)",
    ),
    (
        "query t=+1807s: sum by (job) (rate(http_requests_total[5m])) / on(job) http_requests_total",
        MATCH_ORDER,
    ),
    ("query t=+1807s: increase(http_request_duration_seconds_count[1h])", EXTRAPOLATION),
    (
        "query_range [+7s,+3607s] step=300: increase(http_request_duration_seconds_count[1h])",
        EXTRAPOLATION,
    ),
    (
        "query_range [+7s,+3607s] step=300: histogram_quantile(0.75, sum without (instance) (rate(http_request_duration_seconds_bucket[10m])))",
        EXTRAPOLATION,
    ),
    (
        "query_range [+7s,+3607s] step=60: histogram_quantile(0.5, rate(http_request_duration_seconds_bucket{job=\"api\", instance=\"10.0.0.1:8080\"}[5m]))",
        EXTRAPOLATION,
    ),
    ("query t=ALL: quantile(1.5, queue_length)", QUANTILE_WARNING),
    ("query t=ALL: quantile(-1, queue_length)", QUANTILE_WARNING),
    (
        "query t=ALL: histogram_quantile(NaN, sum by (le) (http_request_duration_seconds_bucket))",
        QUANTILE_WARNING,
    ),
    // Parse error texts.
    ("query t=+1807s: rate(http_requests_total[5m:1m:])", PARSE_TEXT),
    ("query t=+1807s: sum(up) by (job) group_left", PARSE_TEXT),
    ("query t=+1807s: unknown_fn(up)", PARSE_TEXT),
    ("query t=+1807s: up @ \"bad\"", PARSE_TEXT),
    ("query t=+1807s: vector(1) + on(job) group_left(job) vector(1)", PARSE_TEXT),
    ("query t=+1807s: foo bar", PARSE_TEXT),
    ("query t=+1807s: rate(up)", PARSE_TEXT),
    ("query t=+1807s: topk(\"a\", up)", PARSE_TEXT),
    ("query t=+1807s: histogram_quantile(0.5, 1)", PARSE_TEXT),
    ("query t=+1807s: up[5m:1m:1m]", PARSE_TEXT),
    // API.
    ("query time=bogus: up", TIME_CASE),
    ("labels match[]={job=\"weather\"} start=bogus", TIME_CASE),
    (
        "query limit=2: up",
        "Prometheus 2.42 (Debian) vs 3.x: the query API's limit parameter is new in 3.x \
         (2.42 ignores it); 3.x warns 'results truncated due to limit'",
    ),
    ("query_range [+7s,+3607s] step=60: up[5m]", RANGE_PARAM),
    ("query_range [+7s,+3607s] step=300: \"hello\"", RANGE_PARAM),
    ("query_range [+7s,+3607s] step=300: node_memory_free_bytes[1m]", RANGE_PARAM),
    (
        "query_range [+7s,+3607s] step=300: queue_length{shard=\"7\"}[2m] offset 1m",
        RANGE_PARAM,
    ),
    ("query_range [+7s,+3607s] step=60: \"str\"", RANGE_PARAM),
    ("query_range [+7s,+3607s] step=60: sort(vector(0/0) or vector(1))", SORT_RANGE),
    ("query_range [+7s,+3607s] step=300: sort(queue_length{zone=\"a\"})", SORT_RANGE),
    ("query_range [+7s,+3607s] step=300: sort_desc(queue_length{zone=\"b\"})", SORT_RANGE),
    (
        "query_range [+7s,+3607s] step=300: sort_desc(sum by (location) (temperature_celsius))",
        SORT_RANGE,
    ),
    (
        "query_range [+7s,+3607s] step=300: sort(count by (zone) (queue_length > 10))",
        SORT_RANGE,
    ),
    ("series match[]={job=\"queue\"} limit=5", LIMIT),
    ("labels limit=3", LIMIT),
    ("label/shard/values limit=4", LIMIT),
    ("label/1bad/values", UTF8_NAMES),
    (
        "label/U__location/values (3.x name escaping)",
        "Prometheus 2.42 (Debian) vs 3.x: 3.x decodes U__-escaped label names in the path \
         (U__location is location); 2.42 looks up a label literally named U__location",
    ),
    (
        "parse_query",
        "Prometheus 2.42 (Debian) vs 3.x: /api/v1/parse_query is new in 3.x (404 in 2.42)",
    ),
    (
        "targets",
        "Prometheus 2.42 (Debian) vs 3.x: 3.x adds data.droppedTargetCounts",
    ),
    (
        "targets state=active",
        "Prometheus 2.42 (Debian) vs 3.x: 3.x adds data.droppedTargetCounts",
    ),
    (
        "write: Content-Type text/plain",
        "Prometheus 2.42 (Debian) vs 3.x: 3.x negotiates the remote-write protocol by \
         Content-Type and answers 415 to anything but application/x-protobuf; 2.42 ignores it",
    ),
    (
        "write: snappy but not protobuf",
        "protobuf decoder error text: Prometheus returns gogo/protobuf's message ('proto: \
         integer overflow'), promlite prost's; both answer 400",
    ),
    (
        "status/flags",
        "flags differ by implementation and version: promlite has Prometheus' query/storage/web \
         flags it implements plus storage.in-memory; 2.42 lists agent, alertmanager, remote-read \
         and other flags promlite does not have",
    ),
    (
        "status/runtimeinfo",
        "Prometheus 2.42 (Debian) vs 3.x: 3.x adds hostname, serverTime and GOMEMLIMIT",
    ),
    (
        "status/tsdb memoryInBytesByLabelName",
        "Prometheus 2.42 (Debian) vs 3.x: later versions count each label value's length once \
         per series (size += len(value) * seriesCnt); 2.42 counts it once",
    ),
];

/// Cases whose float results match only within the relative tolerance of
/// 1e-9 (all other floats are bit-identical).
pub(crate) const TOLERANCE_NEEDED: &[&str] = &[
    // Prometheus 2.42 (Debian) vs 3.x: 3.x sums with Kahan compensation
    // (sum, avg, stddev/stdvar, *_over_time) and computes avg as sum/count
    // unless that overflows; 2.42 adds plainly and uses an incremental mean.
    // The last digits differ wherever such a sum feeds the result.
    "query t=ALL: avg_over_time(queue_length{zone=\"a\"}[10m])",
    "query t=ALL: sum without (instance) (rate(http_requests_total[5m]))",
    "query t=ALL: avg by (zone) (queue_length)",
    "query t=ALL: stddev by (zone) (queue_length)",
    "query t=ALL: stdvar by (zone) (queue_length)",
    "query t=ALL: rate(http_requests_total[5m]) / ignoring(code) group_left sum without (code) (rate(http_requests_total[5m]))",
    "query_range [+7s,+3607s] step=60: sum by (job) (rate(http_requests_total[5m]))",
    "query t=+3757s: sum(rate(http_requests_total[5m])) by (job)",
    "query_range [+7s,+3607s] step=300: sum(rate(http_requests_total[5m])) by (job)",
    "query_range [+7s,+3607s] step=300: avg_over_time(up[30m:])",
    "query_range [+7s,+3607s] step=300: avg_over_time(gappy_gauge[45m] offset 10m)",
    "query t=ALL: sum by (method) (rate(http_requests_total[5m])) * on() group_left() scalar(count(up))",
    "query t=+1807s: histogram_quantile(0.75, sum without (instance) (rate(http_request_duration_seconds_bucket[10m])))",
    "query t=+3757s: histogram_quantile(0.75, sum without (instance) (rate(http_request_duration_seconds_bucket[10m])))",
    "query_range [+7s,+3607s] step=900: sum by (job) (increase(http_requests_total[15m]))",
    // Go's math package (Log, Log10, Tanh, Acosh, Sin, Cos) and the platform
    // libm promlite calls are not both correctly rounded: last-bit
    // differences.
    "query t=ALL: ln(queue_length)",
    "query t=ALL: log10(node_memory_free_bytes)",
    "query t=+1807s: tanh(temperature_celsius / 10)",
    "query_range [+7s,+3607s] step=300: tanh(temperature_celsius / 10)",
    "query t=+3757s: acosh(queue_length{shard=\"6\"} + 1)",
    "query_range [+7s,+3607s] step=300: acosh(queue_length{shard=\"6\"} + 1)",
    "query_range [+7s,+3607s] step=300: sin(queue_length{shard=\"5\"}) + cos(queue_length{shard=\"5\"})",
];
