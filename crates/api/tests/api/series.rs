//! `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/{name}/values`.

use super::support::*;

#[tokio::test]
async fn series_requires_match() {
    let app = app();
    let r = get(&app, "/api/v1/series").await;
    assert_error(&r, 400, "bad_data", "no match[] parameter provided");
    let r = get(
        &app,
        &format!("/api/v1/series?match[]={}", enc("{job=~\".*\"}")),
    )
    .await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "match[]": match[] must contain at least one non-empty matcher"#,
    );
    let r = get(&app, &format!("/api/v1/series?match[]={}", enc("sum(up)"))).await;
    assert_eq!(r.status, 400);
    let r = get(&app, &format!("/api/v1/series?match[]={}", enc("up{"))).await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "match[]": 1:4: parse error: unexpected end of input inside braces"#,
    );
    // /labels and /label/../values report selector errors without the prefix.
    let r = get(&app, &format!("/api/v1/labels?match[]={}", enc("up{"))).await;
    assert_error(
        &r,
        400,
        "bad_data",
        "1:4: parse error: unexpected end of input inside braces",
    );
    let r = get(
        &app,
        &format!("/api/v1/label/job/values?match[]={}", enc("{}")),
    )
    .await;
    assert_error(
        &r,
        400,
        "bad_data",
        "match[] must contain at least one non-empty matcher",
    );
    // Limit is checked before the selectors, after the presence of match[].
    let r = get(
        &app,
        &format!("/api/v1/series?match[]={}&limit=some", enc("up{")),
    )
    .await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "limit": strconv.Atoi: parsing "some": invalid syntax"#,
    );
}

#[tokio::test]
async fn series_is_the_sorted_union_of_all_match_params() {
    let app = app();
    let uri = format!(
        "/api/v1/series?match[]={}&match[]={}&match[]=up",
        enc("special{k=\"nan\"}"),
        enc("up{job=\"db\"}")
    );
    let r = get(&app, &uri).await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":[{"__name__":"special","k":"nan"},{"__name__":"up","instance":"a","job":"api"},{"__name__":"up","instance":"b","job":"api"},{"__name__":"up","instance":"c","job":"db"}]}"#
    );
    let p = post_form(
        &app,
        "/api/v1/series",
        &format!(
            "match[]={}&match[]={}&match[]=up",
            enc("special{k=\"nan\"}"),
            enc("up{job=\"db\"}")
        ),
    )
    .await;
    assert_eq!(r.body, p.body);
}

#[tokio::test]
async fn series_respects_time_range_and_limit() {
    let app = app();
    let r = get(&app, "/api/v1/series?match[]=up&start=1800000000").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    let r = get(
        &app,
        "/api/v1/series?match[]=up&start=1700000000&end=1700000300",
    )
    .await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 3);
    let r = get(&app, "/api/v1/series?match[]=up&limit=2").await;
    let v = r.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
    let r = get(&app, "/api/v1/series?match[]=up&start=abc").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "start": invalid time value for 'start': cannot parse "abc" to a valid timestamp"#,
    );
}

#[tokio::test]
async fn label_names_are_sorted_unique() {
    let app = app();
    let r = get(&app, "/api/v1/labels").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["__name__","instance","job","k"]}"#
    );
    let r = get(&app, &format!("/api/v1/labels?match[]={}", enc("special"))).await;
    assert_eq!(r.body, r#"{"status":"success","data":["__name__","k"]}"#);
    let r = post_form(
        &app,
        "/api/v1/labels",
        "match[]=up&match[]=http_requests_total",
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["__name__","instance","job"]}"#
    );
    let r = get(&app, "/api/v1/labels?limit=2").await;
    let v = r.json();
    assert_eq!(v["data"], serde_json::json!(["__name__", "instance"]));
    assert_eq!(
        v["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
}

#[tokio::test]
async fn label_values_with_matchers_and_escaped_names() {
    let app = app();
    let r = get(&app, "/api/v1/label/job/values").await;
    assert_eq!(r.body, r#"{"status":"success","data":["api","db"]}"#);
    let r = get(&app, "/api/v1/label/__name__/values").await;
    assert_eq!(
        r.body,
        r#"{"status":"success","data":["http_requests_total","special","up"]}"#
    );
    let r = get(
        &app,
        &format!(
            "/api/v1/label/instance/values?match[]={}",
            enc("up{job=\"api\"}")
        ),
    )
    .await;
    assert_eq!(r.body, r#"{"status":"success","data":["a","b"]}"#);
    // U__ escaping of UTF-8 names (Prometheus 3): U__job is "job".
    let r = get(&app, "/api/v1/label/U__job/values").await;
    assert_eq!(r.body, r#"{"status":"success","data":["api","db"]}"#);
    let r = get(&app, "/api/v1/label/nope/values").await;
    assert_eq!(r.body, r#"{"status":"success","data":[]}"#);
    let r = get(&app, "/api/v1/label/job/values?limit=1").await;
    let v = r.json();
    assert_eq!(v["data"], serde_json::json!(["api"]));
    assert_eq!(
        v["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
}
