//! A test target on 127.0.0.1 serving good, gzip, OpenMetrics, malformed,
//! oversized and failing bodies.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use promlite_model::{is_stale_nan, Labels};
use promlite_scrape::{Health, ScrapeManager, ScrapeSettings, TargetGroup};
use promlite_tsdb::{Db, DbOptions};

use crate::{series, wait_for};

fn gzip(s: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(s.as_bytes()).unwrap();
    e.finish().unwrap()
}

async fn serve() -> (String, tokio::task::JoinHandle<()>) {
    let app = Router::new()
        .route(
            "/good",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    "# HELP good_total Requests.\n# TYPE good_total counter\ngood_total{code=\"200\"} 7\ngood_gauge 1.5\n",
                )
            }),
        )
        .route(
            "/gzip",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/plain; version=0.0.4"),
                        (header::CONTENT_ENCODING, "gzip"),
                    ],
                    gzip("zipped_metric 42\n"),
                )
            }),
        )
        .route(
            "/om",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    "# TYPE om_event_seconds counter\n# UNIT om_event_seconds seconds\nom_event_seconds_total 3 # {trace_id=\"x\"} 1\n# EOF\n",
                )
            }),
        )
        .route(
            "/bad",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    "bad_ok 1\nbad_broken{ 2\n",
                )
            }),
        )
        .route(
            "/huge",
            get(|| async {
                let body: String = (0..20_000).map(|i| format!("huge_metric{{i=\"{i}\"}} 1\n")).collect();
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
            }),
        )
        .route("/fail", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route(
            "/flaky",
            get(|| async {
                // Good once, malformed afterwards.
                static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                let body = if CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    "flaky_metric 1\n"
                } else {
                    "flaky_metric 2\nflaky_new{ 1\n"
                };
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let h = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, h)
}

fn job(name: &str, path: &str) -> ScrapeSettings {
    let mut s = ScrapeSettings::new(name);
    s.interval = Duration::from_millis(300);
    s.timeout = Duration::from_millis(250);
    s.metrics_path = path.to_string();
    s.body_size_limit = 100_000;
    s
}

fn group(addr: &str) -> TargetGroup {
    TargetGroup {
        source: "static/0".into(),
        targets: vec![Labels::from_pairs(&[("__address__", addr)])],
        labels: Labels::empty(),
    }
}

fn up(db: &Db, job: &str) -> Option<f64> {
    series(db, "up")
        .into_iter()
        .find(|(l, _)| l.contains(&format!("job=\"{job}\"")))
        .and_then(|(_, v)| v.last().map(|s| s.1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_good_gzip_openmetrics_and_rejects_bad_bodies() {
    let (addr, server) = serve().await;
    let db = Db::open_in_memory(DbOptions::default());
    let mgr = ScrapeManager::new(Arc::new(db.clone()), 7);
    let jobs = ["good", "gzip", "om", "bad", "huge", "fail", "flaky"];
    mgr.apply_config(jobs.iter().map(|j| job(j, &format!("/{j}"))).collect());
    for j in jobs {
        mgr.set_groups(j, vec![group(&addr)]);
    }
    let all_reported = wait_for(Duration::from_secs(10), || {
        jobs.iter().all(|j| up(&db, j).is_some())
    })
    .await;
    assert!(all_reported, "every job reports up");
    // On a loaded machine a single scrape may time out; good targets must
    // come up, and stay up in most scrapes.
    for j in ["good", "gzip", "om"] {
        let ok = wait_for(Duration::from_secs(10), || up(&db, j) == Some(1.0)).await;
        let errs: Vec<String> = mgr
            .active_targets()
            .iter()
            .map(|t| format!("{} {:?}", t.job(), t.status().last_error))
            .collect();
        assert!(ok, "{j} is up: {errs:?}");
    }
    assert_eq!(up(&db, "bad"), Some(0.0));
    assert_eq!(up(&db, "huge"), Some(0.0));
    assert_eq!(up(&db, "fail"), Some(0.0));

    let good = series(&db, "good_total");
    assert_eq!(
        good[0].0,
        format!(r#"{{__name__="good_total", code="200", instance="{addr}", job="good"}}"#)
    );
    assert_eq!(good[0].1[0].1, 7.0);
    assert_eq!(series(&db, "zipped_metric")[0].1[0].1, 42.0);
    assert_eq!(series(&db, "om_event_seconds_total")[0].1[0].1, 3.0);
    // Nothing of a malformed or oversized body is stored.
    assert!(series(&db, "bad_ok").is_empty());
    assert!(series(&db, "huge_metric").is_empty());

    let targets = mgr.active_targets();
    let status = |j: &str| targets.iter().find(|t| t.job() == j).unwrap().status();
    assert_eq!(status("good").health, Health::Up);
    assert!(
        status("bad").last_error.contains("bad_broken")
            || status("bad").last_error.contains("line 2"),
        "{}",
        status("bad").last_error
    );
    assert_eq!(status("huge").last_error, "body size limit exceeded");
    assert!(
        status("fail").last_error.contains("500"),
        "{}",
        status("fail").last_error
    );
    let meta = targets
        .iter()
        .find(|t| t.job() == "good")
        .unwrap()
        .metadata();
    assert_eq!(meta["good_total"].metric_type, "counter");
    assert_eq!(meta["good_total"].help, "Requests.");
    let om = targets.iter().find(|t| t.job() == "om").unwrap().metadata();
    assert_eq!(om["om_event_seconds"].unit, "seconds");

    // The report series.
    for name in [
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        assert!(
            series(&db, name)
                .iter()
                .any(|(l, _)| l.contains("job=\"good\"")),
            "{name}"
        );
    }
    let scraped = series(&db, "scrape_samples_scraped");
    let good_scraped = scraped
        .iter()
        .find(|(l, _)| l.contains("job=\"good\""))
        .unwrap();
    assert_eq!(good_scraped.1[0].1, 2.0);

    // A failed scrape counts as an empty one: what the last good scrape
    // had becomes stale, and nothing of the failed body is stored.
    let flaky_stale = wait_for(Duration::from_secs(5), || {
        series(&db, "flaky_metric")
            .first()
            .is_some_and(|(_, v)| v.len() == 2 && v[0].1 == 1.0 && is_stale_nan(v[1].1))
    })
    .await;
    assert!(flaky_stale, "{:?}", series(&db, "flaky_metric"));
    assert!(series(&db, "flaky_new").is_empty());

    // The target goes away: its series get staleness markers.
    mgr.set_groups("good", vec![]);
    let stale = wait_for(Duration::from_secs(5), || {
        series(&db, "good_total")[0]
            .1
            .last()
            .is_some_and(|s| is_stale_nan(s.1))
    })
    .await;
    assert!(
        stale,
        "series of a vanished target end with a staleness marker"
    );
    assert!(series(&db, "up")
        .iter()
        .find(|(l, _)| l.contains("job=\"good\""))
        .is_some_and(|(_, v)| is_stale_nan(v.last().unwrap().1)));
    mgr.stop(false).await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actual_scrape_intervals_are_recorded() {
    let (addr, server) = serve().await;
    let db = Db::open_in_memory(DbOptions::default());
    let mgr = ScrapeManager::new(Arc::new(db.clone()), 3);
    mgr.apply_config(vec![job("good", "/good")]);
    mgr.set_groups("good", vec![group(&addr)]);
    let ok = wait_for(Duration::from_secs(10), || {
        mgr.interval_stats().first().is_some_and(|s| s.count >= 2)
    })
    .await;
    assert!(ok, "intervals observed");
    let s = &mgr.interval_stats()[0];
    assert_eq!(s.interval, Duration::from_millis(300));
    // The median actual interval is the configured one, give or take scheduling.
    let median = s.quantiles[2].1;
    assert!((0.2..0.5).contains(&median), "median {median}");
    mgr.stop(false).await;
    server.abort();
}
