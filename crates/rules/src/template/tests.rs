//! Tests of the template interpreter against Go/Prometheus outputs.

use std::collections::BTreeMap;

use super::*;

fn data(value: f64) -> TemplateData {
    let mut labels = BTreeMap::new();
    labels.insert("instance".to_string(), "host.example.com:9100".to_string());
    labels.insert("job".to_string(), "node".to_string());
    let mut ext = BTreeMap::new();
    ext.insert("cluster".to_string(), "eu1".to_string());
    TemplateData {
        labels,
        external_labels: ext,
        external_url: "http://prom.example.com/prefix".into(),
        value,
    }
}

fn x(t: &str) -> String {
    expand_alert("Test", t, &data(1234567.0), None)
}

fn xv(t: &str, v: f64) -> String {
    expand_alert("Test", t, &data(v), None)
}

#[test]
fn plain_text_passes_through() {
    assert_eq!(x("hello"), "hello");
    assert_eq!(x(""), "");
}

#[test]
fn labels_and_value_variables() {
    assert_eq!(
        x("{{ $labels.job }} on {{ $labels.instance }}"),
        "node on host.example.com:9100"
    );
    assert_eq!(x("{{ $value }}"), "1.234567e+06");
    assert_eq!(xv("{{ $value }}", 0.5), "0.5");
    assert_eq!(xv("{{ $value }}", 42.0), "42");
    assert_eq!(
        x("{{ $externalLabels.cluster }} {{ $externalURL }}"),
        "eu1 http://prom.example.com/prefix"
    );
    assert_eq!(x("{{ .Labels.job }}"), "node");
    assert_eq!(x("[{{ $labels.missing }}]"), "[]");
}

#[test]
fn humanize_family() {
    assert_eq!(x("{{ $value | humanize }}"), "1.235M");
    assert_eq!(xv("{{ humanize $value }}", 0.0), "0");
    assert_eq!(xv("{{ humanize $value }}", 0.00123), "1.23m");
    assert_eq!(xv("{{ humanize $value }}", 999.0), "999");
    assert_eq!(xv("{{ humanize $value }}", 1000.0), "1k");
    assert_eq!(xv("{{ humanize1024 $value }}", 1024.0), "1ki");
    assert_eq!(xv("{{ humanize1024 $value }}", 1_048_576.0 * 3.5), "3.5Mi");
    assert_eq!(xv("{{ humanize1024 $value }}", 0.5), "0.5");
    assert_eq!(xv("{{ humanizeDuration $value }}", 0.0), "0s");
    assert_eq!(xv("{{ humanizeDuration $value }}", 1.5), "1.5s");
    assert_eq!(xv("{{ humanizeDuration $value }}", 90061.0), "1d 1h 1m 1s");
    assert_eq!(xv("{{ humanizeDuration $value }}", 3600.0), "1h 0m 0s");
    assert_eq!(xv("{{ humanizeDuration $value }}", 0.25), "250ms");
    assert_eq!(xv("{{ humanizeDuration $value }}", -65.0), "-1m 5s");
    assert_eq!(xv("{{ humanizePercentage $value }}", 0.1234), "12.34%");
    assert_eq!(
        xv("{{ humanizeTimestamp $value }}", 1_435_065_584.128),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(xv("{{ humanize $value }}", f64::NAN), "NaN");
    assert_eq!(x("{{ humanize \"1234\" }}"), "1.234k");
    assert!(x("{{ humanize \"x\" }}")
        .starts_with("<error expanding template: error executing template __alert_Test:"));
}

#[test]
fn string_functions() {
    assert_eq!(x("{{ \"aa bb\" | title }}"), "Aa Bb");
    assert_eq!(x("{{ toUpper \"abc\" }}{{ toLower \"DEF\" }}"), "ABCdef");
    assert_eq!(x("{{ reReplaceAll \"(a)b\" \"x$1\" \"abab\" }}"), "xaxa");
    assert_eq!(x("{{ match \"^n\" $labels.job }}"), "true");
    assert_eq!(x("{{ $labels.instance | stripPort }}"), "host.example.com");
    assert_eq!(x("{{ $labels.instance | stripDomain }}"), "host:9100");
    assert_eq!(x("{{ stripDomain \"10.0.0.1:80\" }}"), "10.0.0.1:80");
    assert_eq!(x("{{ pathPrefix }}"), "/prefix");
    assert_eq!(
        x("{{ graphLink \"up == 0\" }}"),
        "/graph?g0.expr=up+%3D%3D+0&g0.tab=0"
    );
    assert_eq!(x("{{ tableLink \"up\" }}"), "/graph?g0.expr=up&g0.tab=1");
    assert_eq!(x("{{ safeHtml \"<b>\" }}"), "<b>");
    assert_eq!(x("{{ printf \"%.2f\" 3.14159 }}"), "3.14");
    assert_eq!(x("{{ printf \"%s=%d\" \"a\" 3 }}"), "a=3");
    assert_eq!(x("{{ printf \"%.1f%%\" $value }}"), "1234567.0%");
    assert_eq!(x("{{ toTime 1 }}"), "1970-01-01 00:00:01 +0000 UTC");
    assert_eq!(x("{{ parseDuration \"1m\" }}"), "60");
    assert_eq!(x("{{ len \"abc\" }} {{ len $labels }}"), "3 2");
    assert_eq!(x("{{ index $labels \"job\" }}"), "node");
    assert_eq!(
        x("{{ with args 1 \"b\" }}{{ .arg0 }}{{ .arg1 }}{{ end }}"),
        "1b"
    );
}

#[test]
fn control_flow() {
    assert_eq!(
        xv("{{ if gt $value 1.0 }}big{{ else }}small{{ end }}", 2.0),
        "big"
    );
    assert_eq!(
        xv(
            "{{ if gt $value 1.0 }}big{{ else if gt $value 0.5 }}mid{{ else }}small{{ end }}",
            0.7
        ),
        "mid"
    );
    assert_eq!(
        xv(
            "{{ if gt $value 1.0 }}big{{ else if gt $value 0.5 }}mid{{ else }}small{{ end }}",
            0.1
        ),
        "small"
    );
    assert_eq!(
        x("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
        "instance=host.example.com:9100;job=node;"
    );
    assert_eq!(
        x("{{ range .Labels }}{{ . }},{{ end }}"),
        "host.example.com:9100,node,"
    );
    assert_eq!(x("{{ range $i, $e := $labels }}{{ if eq $i \"job\" }}{{ break }}{{ end }}{{ $i }}{{ end }}"), "instance");
    assert_eq!(x("{{ with $labels.job }}job={{ . }}{{ end }}"), "job=node");
    assert_eq!(x("{{ with $labels.nope }}x{{ else }}none{{ end }}"), "none");
    assert_eq!(
        x("{{ and 1 0 }} {{ or 0 \"\" \"z\" }} {{ not true }}"),
        "0 z false"
    );
    assert_eq!(x("{{ eq $labels.job \"a\" \"node\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ ge \"b\" \"a\" }}"), "true true true true true");
    assert_eq!(
        x("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"),
        "2"
    );
    assert_eq!(x("{{/* a comment */}}ok"), "ok");
    assert_eq!(x("a  {{- \"b\" -}}  c"), "abc");
    assert_eq!(
        x("{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" \"v\" }}"),
        "[v]"
    );
    assert_eq!(x("{{ (printf \"%s\" \"p\") }}"), "p");
    assert_eq!(x("{{ print 1 2 \"a\" 3 }}"), "1 2a3");
}

#[test]
fn comparing_float_with_int_is_an_error_as_in_go() {
    let out = xv("{{ if gt $value 1 }}big{{ end }}", 2.0);
    assert!(out.contains("incompatible types for comparison"), "{out}");
    assert!(out.starts_with("<error expanding template: error executing template __alert_Test: template: __alert_Test:1:"), "{out}");
}

#[test]
fn parse_errors_are_reported() {
    let out = x("{{ nosuchfunc 1 }}");
    assert_eq!(out, "<error expanding template: error parsing template __alert_Test: template: __alert_Test:1: function \"nosuchfunc\" not defined>");
    assert!(x("{{ if }}").starts_with("<error expanding template: error parsing"));
    assert!(x("{{ .Labels").starts_with("<error expanding template: error parsing"));
    assert!(parse_template("t", "{{ end }}").is_err());
    assert!(parse_template("t", "{{ $labels.x }}").is_ok());
}

#[test]
fn undefined_variable_is_a_parse_time_error_in_go_but_caught_here() {
    let out = expand("t", "{{ $nope }}", &data(1.0), None);
    assert!(out.is_err());
}

#[test]
fn query_function_uses_callback() {
    let q = |e: &str| -> Result<QueryResultSamples, String> {
        assert_eq!(e, "up");
        let mut l = BTreeMap::new();
        l.insert("instance".to_string(), "a".to_string());
        Ok(vec![(l, 1.0)])
    };
    let out = expand_alert("T", "{{ with query \"up\" }}{{ . | first | value }} {{ (first .).Labels.instance }} {{ . | first | label \"instance\" }}{{ end }}", &data(0.0), Some(&q));
    assert_eq!(out, "1 a a");
    let out = expand_alert(
        "T",
        "{{ range query \"up\" }}{{ .Value }}{{ end }}",
        &data(0.0),
        Some(&q),
    );
    assert_eq!(out, "1");
}

#[test]
fn nested_pipelines_and_comments() {
    assert_eq!(x("{{ (index $labels \"job\") | toUpper }}"), "NODE");
    assert_eq!(x("{{ printf \"%s!\" (humanize 1000) }}"), "1k!");
    assert_eq!(x("a {{- /* comment */ -}} b"), "ab");
    assert_eq!(x("{{ $v := humanize $value }}{{ $v }}"), "1.235M");
    assert_eq!(
        x("{{ if and (gt $value 1.0) (eq $labels.job \"node\") }}y{{ end }}"),
        "y"
    );
    assert_eq!(x("{{ if not (match \"x\" \"abc\") }}n{{ end }}"), "n");
    assert_eq!(x("{{ \"multi\nline\" }}"), "multi\nline");
    assert_eq!(x("{{ `raw\\n` }}"), "raw\\n");
    assert_eq!(x("{{ 1.5 }} {{ 0x10 }} {{ -3 }} {{ 'a' }}"), "1.5 16 -3 97");
    assert_eq!(
        x("{{ range $i, $e := args 1 2 }}{{ $i }}:{{ $e }} {{ end }}"),
        "arg0:1 arg1:2 "
    );
}

#[test]
fn errors_in_later_lines_report_line_and_column() {
    let out = expand("t", "line1\n  {{ humanize \"x\" }}", &data(1.0), None).unwrap_err();
    assert!(
        out.to_string()
            .contains("template: t:2:5: executing \"t\" at <humanize \"x\">"),
        "{out}"
    );
}
