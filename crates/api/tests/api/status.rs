//! Status, metadata, targets, rules and other read-only endpoints.

use std::collections::BTreeMap;
use std::sync::Arc;

use promlite_api::{
    router, ActiveTarget, ApiOptions, DroppedTarget, MetricMetadata, StatusProvider, TargetHealth,
    TargetMetadata, TargetsProvider,
};

use super::support::*;

#[tokio::test]
async fn buildinfo_has_prometheus_fields_and_a_3x_version() {
    let app = app();
    let r = get(&app, "/api/v1/status/buildinfo").await;
    let v = r.json();
    let data = v["data"].as_object().unwrap();
    let keys: Vec<&str> = data.keys().map(|k| k.as_str()).collect();
    let mut expected = vec![
        "branch",
        "buildDate",
        "buildUser",
        "goVersion",
        "revision",
        "version",
    ];
    expected.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, expected);
    assert!(data["version"].as_str().unwrap().starts_with("3."));
}

#[tokio::test]
async fn unconfigured_providers_answer_like_an_empty_prometheus() {
    let app = app();
    let cases = [
        ("/api/v1/status/config", r#"{"yaml":""}"#),
        ("/api/v1/status/flags", "{}"),
        (
            "/api/v1/status/walreplay",
            r#"{"min":0,"max":0,"current":0}"#,
        ),
        (
            "/api/v1/targets",
            r#"{"activeTargets":[],"droppedTargets":[],"droppedTargetCounts":{}}"#,
        ),
        ("/api/v1/targets/metadata", "[]"),
        ("/api/v1/metadata", "{}"),
        ("/api/v1/rules", r#"{"groups":[]}"#),
        ("/api/v1/alerts", r#"{"alerts":[]}"#),
        (
            "/api/v1/alertmanagers",
            r#"{"activeAlertmanagers":[],"droppedAlertmanagers":[]}"#,
        ),
    ];
    for (uri, data) in cases {
        let r = get(&app, uri).await;
        assert_eq!(r.status, 200, "{uri}");
        assert_eq!(
            r.body,
            format!(r#"{{"status":"success","data":{data}}}"#),
            "{uri}"
        );
    }
    let r = get(&app, "/api/v1/status/runtimeinfo").await;
    let v = r.json();
    assert!(v["data"]["startTime"].as_str().unwrap().ends_with('Z'));
    assert!(v["data"]["GOMAXPROCS"].as_i64().unwrap() >= 1);
    let r = get(&app, "/api/v1/rules?type=foo").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "type": not supported value "foo""#,
    );
}

#[tokio::test]
async fn tsdb_status_is_computed_from_storage() {
    let app = app();
    let r = get(&app, "/api/v1/status/tsdb?limit=2").await;
    let v = r.json();
    let d = &v["data"];
    assert_eq!(d["headStats"]["numSeries"], 12);
    assert_eq!(d["headStats"]["minTime"], T0);
    assert_eq!(d["headStats"]["maxTime"], T0 + 300_000);
    assert_eq!(
        d["seriesCountByMetricName"],
        serde_json::json!([{"name":"special","value":8},{"name":"up","value":3}])
    );
    assert_eq!(
        d["labelValueCountByLabelName"][0],
        serde_json::json!({"name":"k","value":8})
    );
    assert_eq!(
        d["seriesCountByLabelValuePair"][0],
        serde_json::json!({"name":"__name__=special","value":8})
    );
    let r = get(&app, "/api/v1/status/tsdb?limit=0").await;
    assert_error(&r, 400, "bad_data", "limit must be a positive number");
}

struct Targets;

impl TargetsProvider for Targets {
    fn active_targets(&self) -> Vec<ActiveTarget> {
        let mut labels = BTreeMap::new();
        labels.insert("job".to_string(), "b".to_string());
        vec![
            ActiveTarget {
                scrape_pool: "b".into(),
                scrape_url: "http://b:9100/metrics".into(),
                health: TargetHealth::Up,
                labels,
                ..Default::default()
            },
            ActiveTarget {
                scrape_pool: "a".into(),
                ..Default::default()
            },
        ]
    }
    fn dropped_targets(&self) -> Vec<DroppedTarget> {
        vec![DroppedTarget {
            scrape_pool: "a".into(),
            ..Default::default()
        }]
    }
    fn target_metadata(&self) -> Vec<TargetMetadata> {
        vec![TargetMetadata {
            target: labels(&[("job", "b"), ("instance", "b:9100")]),
            metadata: vec![MetricMetadata {
                metric: "up".into(),
                metric_type: "gauge".into(),
                help: "Up.".into(),
                unit: String::new(),
            }],
        }]
    }
}

#[tokio::test]
async fn targets_and_metadata_come_from_the_provider() {
    let state = builder_for(fixture_db())
        .with_targets(Arc::new(Targets))
        .build();
    state.set_ready(true);
    let app = router(state);
    let v = get(&app, "/api/v1/targets").await.json();
    let active = v["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 2);
    assert_eq!(active[0]["scrapePool"], "a");
    assert_eq!(active[1]["health"], "up");
    assert_eq!(active[1]["lastScrape"], "0001-01-01T00:00:00Z");
    assert_eq!(
        v["data"]["droppedTargetCounts"],
        serde_json::json!({"a": 1})
    );
    let v = get(&app, "/api/v1/targets?state=dropped").await.json();
    assert_eq!(v["data"]["activeTargets"], serde_json::json!([]));
    assert_eq!(v["data"]["droppedTargets"].as_array().unwrap().len(), 1);
    let r = get(&app, "/api/v1/metadata").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"up":[{"type":"gauge","help":"Up.","unit":""}]}}"#
    );
    let r = get(
        &app,
        "/api/v1/targets/metadata?match_target=%7Bjob%3D%22b%22%7D",
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":[{"target":{"instance":"b:9100","job":"b"},"metric":"up","type":"gauge","help":"Up.","unit":""}]}"#
    );
    let r = get(
        &app,
        "/api/v1/targets/metadata?metric=up&match_target=%7Bjob%3D%22x%22%7D",
    )
    .await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    let r = get(&app, "/api/v1/metadata?limit=x").await;
    assert_error(&r, 400, "bad_data", "limit must be a number");
}

struct Status;

impl StatusProvider for Status {
    fn config_yaml(&self) -> String {
        "global:\n  scrape_interval: 15s\n".into()
    }
    fn flags(&self) -> BTreeMap<String, String> {
        [("web.enable-lifecycle".to_string(), "false".to_string())].into()
    }
}

#[tokio::test]
async fn status_provider_supplies_config_and_flags() {
    let state = builder_for(fixture_db())
        .options(ApiOptions::default())
        .with_status(Arc::new(Status))
        .build();
    state.set_ready(true);
    let app = router(state);
    let r = get(&app, "/api/v1/status/config").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"yaml":"global:\n  scrape_interval: 15s\n"}}"#
    );
    let r = get(&app, "/api/v1/status/flags").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"web.enable-lifecycle":"false"}}"#
    );
}

#[tokio::test]
async fn cors_headers_and_options() {
    let app = app();
    let req = axum::http::Request::builder()
        .uri("/api/v1/labels")
        .header("Origin", "http://grafana.example")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        res.headers()["access-control-allow-methods"],
        "GET, POST, OPTIONS"
    );
    let r = request(&app, axum::http::Method::OPTIONS, "/api/v1/query").await;
    assert_eq!(r.status, 204);
    let r = get(&app, "/api/v1/labels").await;
    assert_eq!(r.status, 200);

    let app = router(state_with(ApiOptions {
        cors_origin: "https://ok\\.example".into(),
        ..ApiOptions::default()
    }));
    for (origin, allowed) in [
        ("https://ok.example", true),
        ("https://evil.example", false),
    ] {
        let req = axum::http::Request::builder()
            .uri("/api/v1/labels")
            .header("Origin", origin)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
        assert_eq!(
            res.headers().contains_key("access-control-allow-origin"),
            allowed,
            "{origin}"
        );
    }
}

#[tokio::test]
async fn scrape_pools_and_notifications() {
    let r = get(&app(), "/api/v1/scrape_pools").await;
    assert_eq!(r.body, r#"{"status":"success","data":{"scrapePools":[]}}"#);
    let state = builder_for(fixture_db())
        .with_targets(Arc::new(Targets))
        .build();
    state.set_ready(true);
    let r = get(&router(state), "/api/v1/scrape_pools").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"scrapePools":["a","b"]}}"#
    );
    let r = get(&app(), "/api/v1/notifications").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
}

struct Rules;

impl promlite_api::RulesProvider for Rules {
    fn rule_groups(&self) -> Vec<promlite_api::RuleGroup> {
        use promlite_api::{AlertingRule, RecordingRule, Rule, RuleGroup};
        vec![RuleGroup {
            name: "g".into(),
            file: "rules.yaml".into(),
            rules: vec![
                Rule::Alerting(AlertingRule {
                    state: "firing".into(),
                    name: "Down".into(),
                    query: "up == 0".into(),
                    duration: 60.0,
                    keep_firing_for: 0.0,
                    labels: BTreeMap::new(),
                    annotations: BTreeMap::new(),
                    alerts: vec![self.alerts()[0].clone()],
                    health: "ok".into(),
                    last_error: String::new(),
                    evaluation_time: 0.001,
                    last_evaluation: None,
                    rule_type: "alerting",
                }),
                Rule::Recording(RecordingRule {
                    name: "job:up:sum".into(),
                    query: "sum by (job) (up)".into(),
                    labels: BTreeMap::new(),
                    health: "ok".into(),
                    last_error: String::new(),
                    evaluation_time: 0.001,
                    last_evaluation: None,
                    rule_type: "recording",
                }),
            ],
            interval: 15.0,
            limit: 0,
            evaluation_time: 0.002,
            last_evaluation: None,
        }]
    }
    fn alerts(&self) -> Vec<promlite_api::Alert> {
        vec![promlite_api::Alert {
            labels: [("alertname".to_string(), "Down".to_string())].into(),
            annotations: BTreeMap::new(),
            state: "firing".into(),
            active_at: None,
            value: "0e+00".into(),
        }]
    }
    fn alertmanagers(&self) -> (Vec<String>, Vec<String>) {
        (vec!["http://am:9093/api/v2/alerts".into()], Vec::new())
    }
}

#[tokio::test]
async fn rules_alerts_and_alertmanagers_come_from_the_provider() {
    let state = builder_for(fixture_db())
        .with_rules(Arc::new(Rules))
        .build();
    state.set_ready(true);
    let app = router(state);
    let v = get(&app, "/api/v1/rules").await.json();
    let rules = v["data"]["groups"][0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["type"], "alerting");
    assert_eq!(rules[0]["alerts"][0]["value"], "0e+00");
    assert_eq!(rules[1]["type"], "recording");
    assert!(rules[1].get("lastError").is_none());
    let v = get(&app, "/api/v1/rules?type=record").await.json();
    assert_eq!(v["data"]["groups"][0]["rules"].as_array().unwrap().len(), 1);
    let v = get(&app, "/api/v1/rules?exclude_alerts=true").await.json();
    assert_eq!(
        v["data"]["groups"][0]["rules"][0]["alerts"],
        serde_json::json!([])
    );
    let v = get(&app, "/api/v1/alerts").await.json();
    assert_eq!(v["data"]["alerts"][0]["labels"]["alertname"], "Down");
    let r = get(&app, "/api/v1/alertmanagers").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":{"activeAlertmanagers":[{"url":"http://am:9093/api/v2/alerts"}],"droppedAlertmanagers":[]}}"#
    );
}
