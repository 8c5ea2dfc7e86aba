//! `/api/v1/query` and `/api/v1/query_range`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use promlite_api::{router, ApiOptions, ApiState};
use promlite_promql::Engine;
use promlite_storage::{Appendable, Querier, Queryable};

use super::support::*;

#[tokio::test]
async fn instant_vector_is_encoded_exactly_as_prometheus() {
    let app = app();
    let r = get(
        &app,
        &format!(
            "/api/v1/query?query={}&time=1700000060",
            enc("up{job=\"db\"}")
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"c","job":"db"},"value":[1700000060,"1"]}]}}"#
    );
}

#[tokio::test]
async fn fractional_and_rfc3339_times_are_accepted() {
    let app = app();
    let r = get(
        &app,
        "/api/v1/query?query=up%7Bjob%3D%22db%22%7D&time=1700000060.123",
    )
    .await;
    assert!(
        r.body.contains(r#""value":[1700000060.123,"1"]"#),
        "{}",
        r.body
    );
    let r = get(
        &app,
        "/api/v1/query?query=up%7Bjob%3D%22db%22%7D&time=2023-11-14T22:14:20.5Z",
    )
    .await;
    assert!(
        r.body.contains(r#""value":[1700000060.500,"1"]"#),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn special_values_are_formatted_like_go() {
    let app = app();
    let r = get(&app, "/api/v1/query?query=special&time=1700000060").await;
    let v = r.json();
    let mut got = std::collections::BTreeMap::new();
    for s in v["data"]["result"].as_array().unwrap() {
        got.insert(
            s["metric"]["k"].as_str().unwrap().to_string(),
            s["value"][1].as_str().unwrap().to_string(),
        );
    }
    assert_eq!(got["nan"], "NaN");
    assert_eq!(got["pinf"], "+Inf");
    assert_eq!(got["ninf"], "-Inf");
    assert_eq!(got["tiny"], "1e-300");
    assert_eq!(got["huge"], "1e+300");
    assert_eq!(got["negzero"], "-0");
    assert_eq!(got["int"], "42");
    assert_eq!(got["frac"], "0.1");
}

#[tokio::test]
async fn scalar_string_and_matrix_results() {
    let app = app();
    let r = get(&app, "/api/v1/query?query=1%2B1&time=1700000060").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1700000060,"2"]}}"#
    );
    let r = get(&app, "/api/v1/query?query=%22hello%22&time=1700000060").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"string","result":[1700000060,"hello"]}}"#
    );
    let r = get(
        &app,
        &format!(
            "/api/v1/query?query={}&time=1700000030",
            enc("up{job=\"db\"}[30s]")
        ),
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"c","job":"db"},"values":[[1700000015,"1"],[1700000030,"1"]]}]}}"#
    );
}

#[tokio::test]
async fn range_query_returns_matrix() {
    let app = app();
    let r = get(
        &app,
        &format!(
            "/api/v1/query_range?query={}&start=1700000000&end=1700000060&step=30s",
            enc("up{job=\"db\"}")
        ),
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"c","job":"db"},"values":[[1700000000,"1"],[1700000030,"1"],[1700000060,"1"]]}]}}"#
    );
    // Float seconds step gives the same answer.
    let r2 = get(
        &app,
        &format!(
            "/api/v1/query_range?query={}&start=1700000000&end=1700000060&step=30",
            enc("up{job=\"db\"}")
        ),
    )
    .await;
    assert_eq!(r.body, r2.body);
}

#[tokio::test]
async fn range_query_parameter_errors_match_prometheus() {
    let app = app();
    let r = get(&app, "/api/v1/query_range?query=up&start=x&end=1&step=1").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "start": cannot parse "x" to a valid timestamp"#,
    );
    let r = get(&app, "/api/v1/query_range?query=up&start=10&end=1&step=1").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "end": end timestamp must not be before start time"#,
    );
    let r = get(&app, "/api/v1/query_range?query=up&start=1&end=10&step=0").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer"#,
    );
    let r = get(&app, "/api/v1/query_range?query=up&start=1&end=10&step=abc").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "step": cannot parse "abc" to a valid duration"#,
    );
    let r = get(
        &app,
        "/api/v1/query_range?query=up&start=0&end=100000&step=1",
    )
    .await;
    assert_error(
        &r,
        400,
        "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    );
    // The API's own min/max times do not overflow the resolution check.
    let r = get(
        &app,
        "/api/v1/query_range?query=up&start=-292273086-05-16T16:47:06Z&end=292277025-08-18T07:12:54.999999999Z&step=1",
    )
    .await;
    assert_eq!(r.status, 400);
    let r = get(
        &app,
        &format!(
            "/api/v1/query_range?query={}&start=0&end=10&step=1",
            enc("up[5m]")
        ),
    )
    .await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector"#,
    );
}

#[tokio::test]
async fn parse_errors_are_bad_data_and_execution_errors_are_422() {
    let app = app();
    let r = get(&app, &format!("/api/v1/query?query={}", enc("sum(up"))).await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["errorType"], "bad_data");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .starts_with("invalid parameter \"query\": "));

    let r = get(&app, "/api/v1/query?query=up&time=abc").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "time": invalid time value for 'time': cannot parse "abc" to a valid timestamp"#,
    );

    let r = get(
        &app,
        &format!(
            "/api/v1/query?query={}&time=1700000060",
            enc("up + on(job) up")
        ),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["errorType"], "execution");
}

#[tokio::test]
async fn post_form_and_get_agree_and_body_wins_over_query_string() {
    let app = app();
    let q = enc("up{job=\"api\"}");
    let g = get(&app, &format!("/api/v1/query?query={q}&time=1700000060")).await;
    let p = post_form(&app, "/api/v1/query", &format!("query={q}&time=1700000060")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, p.body);
    // Go's FormValue prefers the body over the URL.
    let p = post_form(
        &app,
        "/api/v1/query?time=1",
        &format!("query={q}&time=1700000060"),
    )
    .await;
    assert_eq!(g.body, p.body);
    // Parameters only in the URL still count on POST.
    let p = post_form(&app, "/api/v1/query?time=1700000060", &format!("query={q}")).await;
    assert_eq!(g.body, p.body);
    let r = post_form(
        &app,
        "/api/v1/query_range",
        &format!("query={q}&start=1700000000&end=1700000060&step=60"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["result"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn limit_truncates_with_the_prometheus_warning() {
    let app = app();
    let r = get(&app, "/api/v1/query?query=up&time=1700000060&limit=1").await;
    let v = r.json();
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
    let r = get(&app, "/api/v1/query?query=up&time=1700000060&limit=3").await;
    assert!(r.json().get("warnings").is_none(), "{}", r.body);
    let r = get(&app, "/api/v1/query?query=up&limit=-1").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "limit": limit must be non-negative"#,
    );
}

#[tokio::test]
async fn infos_and_stats_are_reported() {
    let app = app();
    let r = get(
        &app,
        &format!(
            "/api/v1/query?query={}&time=1700000300&stats=all",
            enc("rate(up[5m])")
        ),
    )
    .await;
    let v = r.json();
    assert_eq!(v["status"], "success");
    assert!(
        v["infos"].as_array().is_some_and(|a| !a.is_empty()),
        "{}",
        r.body
    );
    assert!(v.get("warnings").is_none());
    assert!(v["data"]["stats"]["timings"]["evalTotalTime"].is_number());
    // Three `up` series, 20 samples each in (T0, T0+5m].
    let samples = &v["data"]["stats"]["samples"];
    assert_eq!(samples["totalQueryableSamples"], 60, "{}", r.body);
    assert!(
        samples["peakSamples"].as_u64().is_some_and(|p| p >= 60),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn lookback_delta_param_changes_staleness() {
    let app = app();
    // The last sample is at T0+300s; 60s later it is found with the default
    // 5m lookback but not with 30s.
    let q = enc("up{job=\"db\"}");
    let r = get(&app, &format!("/api/v1/query?query={q}&time=1700000360")).await;
    assert_eq!(r.json()["data"]["result"].as_array().unwrap().len(), 1);
    let r = get(
        &app,
        &format!("/api/v1/query?query={q}&time=1700000360&lookback_delta=30s"),
    )
    .await;
    assert_eq!(r.json()["data"]["result"].as_array().unwrap().len(), 0);
    // --query.lookback-delta comes from the options.
    let short = router(state_with(ApiOptions {
        lookback_delta: Duration::from_secs(30),
        ..ApiOptions::default()
    }));
    let r = get(&short, &format!("/api/v1/query?query={q}&time=1700000360")).await;
    assert_eq!(r.json()["data"]["result"].as_array().unwrap().len(), 0);
    let r = get(&app, &format!("/api/v1/query?query={q}&lookback_delta=x")).await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"error parsing lookback delta duration: cannot parse "x" to a valid duration"#,
    );
}

/// A queryable that is slow and counts how many queriers are open at once.
struct Slow {
    inner: Arc<promlite_tsdb::Db>,
    active: AtomicUsize,
    max: AtomicUsize,
    delay: Duration,
}

impl Queryable for Slow {
    fn querier(&self, mint: i64, maxt: i64) -> promlite_storage::Result<Box<dyn Querier>> {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        self.active.fetch_sub(1, Ordering::SeqCst);
        self.inner.querier(mint, maxt)
    }
}

fn slow_app(delay: Duration, max_concurrency: usize) -> (axum::Router, Arc<Slow>) {
    let db = fixture_db();
    let slow = Arc::new(Slow {
        inner: db.clone(),
        active: AtomicUsize::new(0),
        max: AtomicUsize::new(0),
        delay,
    });
    let q: Arc<dyn Queryable> = slow.clone();
    let a: Arc<dyn Appendable> = db;
    let state = ApiState::builder(q, a, Arc::new(Engine::default()))
        .options(ApiOptions {
            max_concurrency,
            ..ApiOptions::default()
        })
        .build();
    state.set_ready(true);
    (router(state), slow)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_most_max_concurrency_queries_run_at_once() {
    let (app, slow) = slow_app(Duration::from_millis(100), 1);
    let uri = "/api/v1/query?query=up&time=1700000060";
    let (a, b, c) = tokio::join!(get(&app, uri), get(&app, uri), get(&app, uri));
    for r in [a, b, c] {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(slow.max.load(Ordering::SeqCst), 1);

    let (app, slow) = slow_app(Duration::from_millis(100), 4);
    let (a, b, c) = tokio::join!(get(&app, uri), get(&app, uri), get(&app, uri));
    for r in [a, b, c] {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert!(slow.max.load(Ordering::SeqCst) > 1);
}

#[tokio::test]
async fn slow_queries_time_out_with_503() {
    let (app, _) = slow_app(Duration::from_millis(500), 2);
    let r = get(&app, "/api/v1/query?query=up&time=1700000060&timeout=50ms").await;
    assert_error(
        &r,
        503,
        "timeout",
        "query timed out in expression evaluation",
    );
    let r = get(&app, "/api/v1/query?query=up&timeout=zz").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "timeout": cannot parse "zz" to a valid duration"#,
    );
}

#[tokio::test]
async fn api_answers_503_until_ready() {
    let state = builder_for(fixture_db()).build();
    let app = router(state.clone());
    let r = get(&app, "/api/v1/query?query=up").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body, "Service Unavailable");
    state.set_ready(true);
    let r = get(&app, "/api/v1/query?query=up").await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn unsupported_methods_are_rejected() {
    let app = app();
    let r = request(&app, Method::DELETE, "/api/v1/query?query=up").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (405, "Method Not Allowed\n")
    );
    let r = request(&app, Method::PUT, "/-/healthy").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (405, "Method Not Allowed\n")
    );
}

#[tokio::test]
async fn exemplars_format_and_parse_query() {
    let app = app();
    let r = get(&app, "/api/v1/query_exemplars?query=up").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    // Prometheus words this check differently from query_range's.
    let r = get(&app, "/api/v1/query_exemplars?query=up&start=10&end=5").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"status":"error","errorType":"bad_data","error":"end timestamp must not be before start timestamp"}"#
    );
    let r = get(
        &app,
        &format!(
            "/api/v1/format_query?query={}",
            enc("sum(rate(x[5m]))by(job)")
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], "sum by (job) (rate(x[5m]))");
    let r = get(&app, &format!("/api/v1/format_query?query={}", enc("sum("))).await;
    assert_eq!(r.status, 400);
    let r = post_form(&app, "/api/v1/parse_query", "query=up").await;
    let v = r.json();
    assert_eq!(v["data"]["type"], "vectorSelector", "{}", r.body);
    assert_eq!(v["data"]["name"], "up");
    assert_eq!(
        v["data"]["matchers"],
        serde_json::json!([{"name": "__name__", "type": "=", "value": "up"}])
    );
    let r = get(
        &app,
        &format!("/api/v1/parse_query?query={}", enc("rate(x{a=\"b\"}[5m])")),
    )
    .await;
    let v = r.json();
    let sel = &v["data"]["args"][0];
    assert_eq!(sel["type"], "matrixSelector", "{}", r.body);
    assert_eq!(sel["range"], 300000);
    assert_eq!(sel["matchers"][0]["name"], "__name__");
    assert_eq!(sel["matchers"][1]["name"], "a");
}
