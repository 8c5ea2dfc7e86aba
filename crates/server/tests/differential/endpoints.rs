//! The non-query endpoints: series, labels, metadata, targets, exemplars,
//! format/parse, federation, status, errors of routing and disabled APIs.

use crate::compare::Norm;
use crate::queries::{case, get, p, Case, Request};

pub(crate) fn endpoints(base: i64, out: &mut Vec<Case>) {
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
        "label/U__location/values (3.x name escaping)",
        "/api/v1/label/U__location/values",
        whole(),
    ));
    out.push(exact(
        "series match[]={job!=\"x\"} (only an empty-matching matcher)",
        "/api/v1/series",
        with(whole(), &[("match[]", "{job!=\"x\"}")]),
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
    // Every series/label endpoint with each selector and time range.
    let selectors = [
        "up",
        "{job=\"api\"}",
        "{__name__=~\"http_.*\"}",
        "ended_gauge",
        "vanished_gauge",
        "gappy_gauge",
        "{job=~\"gaps|gone\"}",
        "up{instance=~\"node.*\"}",
        "{location=~\".+\"}",
        "{job=\"weather\",location!=\"plain\"}",
        "{__name__=\"build_info\",version=~\"2.*\"}",
        "{v=~\"a\\nb\"}",
        "nonexistent",
        "{job=\"\"}",
        "{__name__=~\".+\",job!~\".*\"}",
    ];
    let ranges: [(&str, Option<(i64, i64)>); 4] = [
        ("whole hour", Some((0, 3607))),
        ("from +2500s", Some((2500, 3607))),
        ("first 10m", Some((0, 600))),
        ("no start/end", None),
    ];
    for path in [
        "/api/v1/series",
        "/api/v1/labels",
        "/api/v1/label/job/values",
        "/api/v1/label/__name__/values",
        "/api/v1/label/instance/values",
    ] {
        for sel in selectors {
            for (name, range) in ranges {
                let mut params = vec![p("match[]", sel)];
                if let Some((start, end)) = range {
                    params.push(p("start", t(start)));
                    params.push(p("end", t(end)));
                }
                let label = format!(
                    "{} match[]={sel} {name}",
                    path.trim_start_matches("/api/v1/")
                );
                out.push(exact(&label, path, params));
            }
        }
    }
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
