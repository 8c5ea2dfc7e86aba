//! Exposition parser tests over the samples in `testdata/scrape/` and
//! inline edge cases.

use std::path::PathBuf;

use promlite_model::LabelsBuilder;
use promlite_scrape::{Entry, Format, ParseError, Parser, ParserOptions};

fn testdata(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/scrape")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Renders entries compactly for assertions.
fn render(e: &Entry<'_>) -> String {
    match e {
        Entry::Series(s) => {
            let ts = s.timestamp.map(|t| format!(" @{t}")).unwrap_or_default();
            let ex = if s.has_exemplar() { " +exemplar" } else { "" };
            format!("{} {:?}{ts}{ex}", s.to_labels(), s.value)
        }
        Entry::Help { name, help } => format!("HELP {name}: {help}"),
        Entry::Type { name, metric_type } => format!("TYPE {name} {}", metric_type.as_str()),
        Entry::Unit { name, unit } => format!("UNIT {name} {unit}"),
        Entry::Comment(c) => format!("COMMENT {c}"),
    }
}

fn parse_all(body: &[u8], f: Format) -> Result<Vec<String>, ParseError> {
    Parser::new(body, f)
        .map(|e| e.map(|e| render(&e)))
        .collect()
}

fn parse_err(body: &[u8], f: Format) -> ParseError {
    let mut p = Parser::new(body, f);
    let err = p
        .by_ref()
        .find_map(|e| e.err())
        .unwrap_or_else(|| panic!("no error for {:?}", String::from_utf8_lossy(body)));
    assert!(p.next().is_none(), "parser must stop after an error");
    err
}

fn assert_err(body: &[u8], f: Format, line: usize, msg: &str) {
    let e = parse_err(body, f);
    assert_eq!(
        (e.line, e.kind.to_string().as_str()),
        (line, msg),
        "body {body:?}"
    );
}

const TEXT: Format = Format::PrometheusText;
const OM: Format = Format::OpenMetrics;

#[test]
fn node_exporter_like_text_body() {
    let got = parse_all(&testdata("node_exporter.prom"), TEXT).unwrap();
    let want = [
        "COMMENT # A node_exporter-like body with every text-format feature promlite supports.",
        "HELP go_gc_duration_seconds: A summary of the pause duration of garbage collection cycles.",
        "TYPE go_gc_duration_seconds summary",
        r#"{__name__="go_gc_duration_seconds", quantile="0"} 2.4667e-5"#,
        r#"{__name__="go_gc_duration_seconds", quantile="0.5"} 4.1e-5"#,
        r#"{__name__="go_gc_duration_seconds", quantile="1"} 0.000232"#,
        r#"{__name__="go_gc_duration_seconds_sum"} 0.0153"#,
        r#"{__name__="go_gc_duration_seconds_count"} 311.0"#,
        "HELP node_cpu_seconds_total: Seconds the CPUs spent in each mode.",
        "TYPE node_cpu_seconds_total counter",
        r#"{__name__="node_cpu_seconds_total", cpu="0", mode="idle"} 123456.78"#,
        r#"{__name__="node_cpu_seconds_total", cpu="0", mode="user"} 2345.5"#,
        r#"{__name__="node_cpu_seconds_total", cpu="1", mode="idle"} 123000.0"#,
        "HELP node_load1: 1m load average.\nSecond line with a backslash \\ and a \"quote\".",
        "TYPE node_load1 gauge",
        r#"{__name__="node_load1"} 0.42"#,
        "TYPE http_request_duration_seconds histogram",
        r#"{__name__="http_request_duration_seconds_bucket", le="0.1"} 10.0"#,
        r#"{__name__="http_request_duration_seconds_bucket", le="1"} 15.0"#,
        r#"{__name__="http_request_duration_seconds_bucket", le="+Inf"} 17.0"#,
        r#"{__name__="http_request_duration_seconds_sum"} 9.5"#,
        r#"{__name__="http_request_duration_seconds_count"} 17.0"#,
        "TYPE untyped_thing unknown",
        r#"{__name__="untyped_thing", msg="say \"hi\"\nbye", path="C:\\dir\\file", tab="a\\tb"} -inf"#,
        r#"{__name__="indented_metric", a="1", b="2"} inf @1700000000000"#,
        r#"{__name__="special_values", v="nan"} NaN"#,
        r#"{__name__="special_values", v="neg"} -0.0015"#,
        "COMMENT #not a meta line",
        "TYPE tabbed_meta gauge",
        r#"{__name__="my.dotted.metric", utf8.label="ü"} 1.0"#,
        "HELP quoted.help.name: Help for a quoted name.",
        r#"{__name__="metric_without_space", a="b"} 7.0"#,
    ];
    assert_eq!(got, want);
}

#[test]
fn openmetrics_body() {
    let got = parse_all(&testdata("openmetrics.om"), OM).unwrap();
    let want = [
        "TYPE acme_http_router_request_seconds counter",
        "UNIT acme_http_router_request_seconds seconds",
        "HELP acme_http_router_request_seconds: Latency though all of ACME's HTTP request router.\nSecond \"line\".",
        r#"{__name__="acme_http_router_request_seconds_total", method="GET", path="/api/v1"} 1.5 @1520879607789"#,
        r#"{__name__="acme_http_router_request_seconds_created", method="GET", path="/api/v1"} 1520430000.123"#,
        "TYPE foo_seconds histogram",
        "UNIT foo_seconds seconds",
        r#"{__name__="foo_seconds_bucket", le="0.01"} 0.0 +exemplar"#,
        r#"{__name__="foo_seconds_bucket", le="+Inf"} 17.0 +exemplar"#,
        r#"{__name__="foo_seconds_count"} 17.0"#,
        r#"{__name__="foo_seconds_sum"} 324789.3"#,
        r#"{__name__="foo_seconds_created"} 1520430000.0"#,
        "TYPE queue gaugehistogram",
        r#"{__name__="queue_bucket", le="+Inf"} 1.0"#,
        r#"{__name__="queue_gcount"} 1.0"#,
        r#"{__name__="queue_gsum"} 2.0"#,
        "TYPE build info",
        r#"{__name__="build_info", name="a\\b", version="1.2.3"} 1.0"#,
        "TYPE door stateset",
        r#"{__name__="door", door="open"} 1.0"#,
        r#"{__name__="door", door="closed"} 0.0"#,
        "TYPE rpc summary",
        r#"{__name__="rpc", quantile="0.99"} NaN"#,
        r#"{__name__="rpc_sum"} -inf"#,
        r#"{__name__="rpc_count"} 0.0 @-1500"#,
        "TYPE mystery unknown",
        r#"{__name__="mystery", trailing="comma"} 5.0"#,
        r#"{__name__="dotted.name", le="1"} 3.0"#,
    ];
    assert_eq!(got, want);
}

#[test]
fn openmetrics_created_series_can_be_skipped() {
    let body = testdata("openmetrics.om");
    let opts = ParserOptions {
        skip_created_series: true,
    };
    let names: Vec<String> = Parser::with_options(&body, OM, opts)
        .filter_map(|e| match e.unwrap() {
            Entry::Series(s) => Some(s.metric_name().to_string()),
            _ => None,
        })
        .collect();
    assert!(!names.iter().any(|n| n.ends_with("_created")));
    assert!(names.contains(&"foo_seconds_sum".to_string()));
}

#[test]
fn nan_is_prometheus_normal_nan() {
    for (body, f) in [(&b"m NaN\n"[..], TEXT), (&b"m NaN\n# EOF\n"[..], OM)] {
        let Some(Ok(Entry::Series(s))) = Parser::new(body, f).next() else {
            panic!("no series");
        };
        assert_eq!(s.value.to_bits(), 0x7ff8_0000_0000_0001);
    }
}

#[test]
fn series_borrow_the_body_and_fill_builders() {
    let body = br#"http_requests_total{code="200",path="/a\"b"} 3 1000"#;
    let Some(Ok(Entry::Series(s))) = Parser::new(body, TEXT).next() else {
        panic!("no series");
    };
    assert_eq!(s.text(), r#"http_requests_total{code="200",path="/a\"b"}"#);
    assert_eq!(s.metric_name(), "http_requests_total");
    let pairs: Vec<(String, String)> = s
        .labels()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("code".into(), "200".into()),
            ("path".into(), "/a\"b".into())
        ]
    );
    let mut b = LabelsBuilder::new();
    b.set("stale", "x");
    s.write_labels(&mut b);
    assert_eq!(b.labels(), s.to_labels());
    assert_eq!(s.timestamp, Some(1000));
}

#[test]
fn empty_label_values_are_dropped_from_label_sets() {
    let got = parse_all(b"m{a=\"\",b=\"x\"} 1\n", TEXT).unwrap();
    assert_eq!(got, [r#"{__name__="m", b="x"} 1.0"#]);
}

#[test]
fn huge_label_values_parse() {
    let big = "v".repeat(1 << 20);
    let body = format!("m{{big=\"{big}\"}} 1\n");
    let Some(Ok(Entry::Series(s))) = Parser::new(body.as_bytes(), TEXT).next() else {
        panic!("no series");
    };
    assert_eq!(s.to_labels().get("big").map(str::len), Some(1 << 20));
}

#[test]
fn empty_bodies() {
    assert_eq!(parse_all(b"", TEXT).unwrap(), Vec::<String>::new());
    assert_eq!(parse_all(b"\n\n  \n", TEXT).unwrap(), Vec::<String>::new());
    assert_eq!(parse_all(b"# EOF", OM).unwrap(), Vec::<String>::new());
    assert_err(b"", OM, 1, "data does not end with # EOF");
}

#[test]
fn text_format_tolerates_final_line_without_newline() {
    assert_eq!(parse_all(b"a 1\nb 2", TEXT).unwrap().len(), 2);
}

#[test]
fn malformed_testdata_files() {
    let cases: &[(&str, Format, usize, &str)] = &[
        (
            "bad_value.prom",
            TEXT,
            3,
            r#"strconv.ParseFloat: parsing "INVALID": invalid syntax while parsing: "m{a=\"c\"} INVALID""#,
        ),
        (
            "bad_label.prom",
            TEXT,
            3,
            r#"expected label name, got "1" ("INVALID") while parsing: "m{a=\"b\" 1""#,
        ),
        (
            "duplicate_label.prom",
            TEXT,
            2,
            r#"label name "a" is not unique"#,
        ),
        (
            "invalid_utf8.prom",
            TEXT,
            2,
            r#"invalid UTF-8 label value: "\"��\"""#,
        ),
        (
            "crlf.prom",
            TEXT,
            1,
            r#"strconv.ParseFloat: parsing "1\r": invalid syntax while parsing: "crlf_metric 1\r""#,
        ),
        ("missing_eof.om", OM, 3, "data does not end with # EOF"),
        ("data_after_eof.om", OM, 3, "unexpected data after # EOF"),
        ("bad_timestamp.om", OM, 2, "invalid timestamp NaN"),
    ];
    for (file, f, line, msg) in cases {
        let e = parse_err(&testdata(file), *f);
        assert_eq!(
            (e.line, e.kind.to_string().as_str()),
            (*line, *msg),
            "{file}"
        );
    }
}

#[test]
fn malformed_text_lines() {
    let cases: &[(&str, &str)] = &[
        (
            "metric",
            r#"expected value after metric, got "\n" ("LINEBREAK") while parsing: "metric\n""#,
        ),
        (
            "a{b='c'} 1",
            r#"expected label value, got "'" ("INVALID") while parsing: "a{b='""#,
        ),
        (
            "a{b\n",
            r#"expected equal, got "\n" ("LINEBREAK") while parsing: "a{b\n""#,
        ),
        (
            "a{1=\"x\"} 1",
            r#"expected label name, got "1" ("INVALID") while parsing: "a{1""#,
        ),
        (
            "a 1 -1",
            r#"expected timestamp or new record, got "-" ("INVALID") while parsing: "a 1 -""#,
        ),
        (
            "a 1 2 3",
            r#"expected next entry after timestamp, got "3" ("TIMESTAMP") while parsing: "a 1 2 3""#,
        ),
        (
            "a 1 99999999999999999999",
            r#"strconv.ParseInt: parsing "99999999999999999999": value out of range while parsing: "a 1 99999999999999999999""#,
        ),
        (
            "a 0x1p3",
            r#"unsupported character in float while parsing: "a 0x1p3""#,
        ),
        (
            "a 1e999",
            r#"strconv.ParseFloat: parsing "1e999": value out of range while parsing: "a 1e999""#,
        ),
        (
            "=a 1",
            r#"expected a valid start token, got "=" ("INVALID") while parsing: "=""#,
        ),
        (
            "{a=\"b\"} 1",
            r#"metric name not set while parsing: "{a=\"b\"}""#,
        ),
        (
            "m{\"n\"} 1",
            r#"metric name already set while parsing: "m{\"n\"}""#,
        ),
        (
            "m{__name__=\"x\"} 1",
            r#"label name "__name__" is not unique"#,
        ),
        ("# TYPE m countr", r#"invalid metric type "countr""#),
        ("# TYPE m unknown", r#"invalid metric type "unknown""#),
        (
            "# HELP 1m x",
            r##"expected metric name after HELP, got "1" ("INVALID") while parsing: "# HELP 1""##,
        ),
        (
            "# TYPE  ",
            r##"expected metric name after TYPE, got "\n" ("LINEBREAK") while parsing: "# TYPE  \n""##,
        ),
    ];
    for (body, msg) in cases {
        assert_err(body.as_bytes(), TEXT, 1, msg);
    }
    // HELP text must be UTF-8.
    assert_err(
        b"# HELP m a\xffb\n",
        TEXT,
        1,
        "help text \"a\u{fffd}b\" is not a valid utf8 string",
    );
}

#[test]
fn malformed_openmetrics_lines() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "\n# EOF\n",
            1,
            r#"expected a valid start token, got "\n" ("LINEBREAK") while parsing: "\n""#,
        ),
        (
            " a 1\n# EOF\n",
            1,
            r#"expected a valid start token, got " " ("WHITESPACE") while parsing: " ""#,
        ),
        (
            "# comment\n# EOF\n",
            1,
            r##"expected a valid start token, got "#" ("INVALID") while parsing: "#""##,
        ),
        (
            "a  1\n# EOF\n",
            1,
            r#"expected value after metric, got " " ("WHITESPACE") while parsing: "a  ""#,
        ),
        (
            "a{b=\"c\" ,d=\"e\"} 1\n# EOF\n",
            1,
            r#"expected comma or brace close, got " " ("WHITESPACE") while parsing: "a{b=\"c\" ""#,
        ),
        (
            "a 1 # {id=\"x\"}\n# EOF\n",
            1,
            r#"expected value after exemplar labels, got "\n" ("LINEBREAK") while parsing: "a 1 # {id=\"x\"}\n""#,
        ),
        (
            "a 1 # {\"id\"} 1\n# EOF\n",
            1,
            r#"expected label name, got "}" ("BCLOSE") while parsing: "a 1 # {\"id\"}""#,
        ),
        (
            "a 1 1 # {id=\"x\"} 1 +Inf\n# EOF\n",
            1,
            "invalid exemplar timestamp +Inf",
        ),
        (
            "# UNIT a_bytes seconds\n# EOF\n",
            1,
            r#"unit "seconds" not a suffix of metric "a_bytes""#,
        ),
        (
            "# TYPE a untyped\n# EOF\n",
            1,
            r#"invalid metric type "untyped""#,
        ),
        ("# HELP a \n# EOF\nx", 3, "unexpected data after # EOF"),
        ("a 1\n# EOF\n\n", 3, "unexpected data after # EOF"),
        ("a 1", 1, "data does not end with # EOF"),
        ("a 1\n# EOF extra\n", 2, "unexpected data after # EOF"),
        ("# HELP a\n# EOF\n", 1, "expected text in HELP"),
        ("# TYPE a{\n# EOF\n", 1, "expected text in TYPE"),
        (
            "a 1{\n# EOF\n",
            1,
            r#"strconv.ParseFloat: parsing "1{": invalid syntax while parsing: "a 1{""#,
        ),
        (
            "a 1 2 3\n# EOF\n",
            1,
            r#"expected next entry after timestamp, got " " ("WHITESPACE") while parsing: "a 1 2 ""#,
        ),
    ];
    for (body, line, msg) in cases {
        assert_err(body.as_bytes(), OM, *line, msg);
    }
}

#[test]
fn openmetrics_timestamps_are_seconds() {
    let got = parse_all(b"a 1 1.5\nb 2 -0.25\nc 3 1e3\n# EOF\n", OM).unwrap();
    assert_eq!(
        got,
        [
            r#"{__name__="a"} 1.0 @1500"#,
            r#"{__name__="b"} 2.0 @-250"#,
            r#"{__name__="c"} 3.0 @1000000"#,
        ]
    );
}

#[test]
fn openmetrics_help_escapes_include_quotes() {
    let got = parse_all(b"# HELP a x\\\"y\\\\z\\n\n# EOF\n", OM).unwrap();
    assert_eq!(got, ["HELP a: x\"y\\z\n"]);
    // The text format leaves \" alone in HELP.
    let got = parse_all(b"# HELP a x\\\"y\n", TEXT).unwrap();
    assert_eq!(got, ["HELP a: x\\\"y"]);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        for f in [TEXT, OM] {
            for e in Parser::new(&body, f) {
                if let Ok(Entry::Series(s)) = e {
                    let _ = s.to_labels();
                }
            }
        }
    }

    #[test]
    fn exposition_like_lines_never_panic(body in r#"([a-z{}"=,# \\.0-9\n\t:_+-]|HELP |TYPE |EOF|NaN|Inf){0,60}"#) {
        for f in [TEXT, OM] {
            for e in Parser::new(body.as_bytes(), f) {
                if let Ok(Entry::Series(s)) = e {
                    let l = s.to_labels();
                    proptest::prop_assert_eq!(l.get("__name__"), Some(s.metric_name()).filter(|n| !n.is_empty()));
                }
            }
        }
    }
}
