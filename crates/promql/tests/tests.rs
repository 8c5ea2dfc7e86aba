//! Engine behaviour on the real TSDB: cancellation, timeouts and limits on a
//! dataset large enough that queries take a while.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite_model::Labels;
use promlite_promql::{CancelFlag, Engine, EngineOpts, Error, Value};
use promlite_storage::{Appendable, SeriesRef};
use promlite_tsdb::{Db, DbOptions};

const SERIES: usize = 2_000;
const SCRAPE_MS: i64 = 15_000;
const END_MS: i64 = 3_600_000;

/// 2,000 counters scraped every 15s for an hour (482k samples).
fn big_db() -> Db {
    let db = Db::open_in_memory(DbOptions::default());
    let labels: Vec<Labels> = (0..SERIES)
        .map(|i| {
            let inst = format!("host-{i}");
            Labels::from_pairs(&[("__name__", "req_total"), ("instance", inst.as_str())])
        })
        .collect();
    let mut refs: Vec<Option<SeriesRef>> = vec![None; SERIES];
    let mut t = 0;
    while t <= END_MS {
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            refs[i] = Some(app.append(refs[i], l, t, (t / 1000) as f64).unwrap());
        }
        app.commit().unwrap();
        t += SCRAPE_MS;
    }
    db
}

/// A range query with one-second steps over all series: far more work
/// than the tests wait for.
const HEAVY: &str = "sum by (instance) (rate(req_total[5m]))";

#[test]
fn query_cancelled_while_running_returns_the_cancellation_error() {
    let db = big_db();
    let engine = Engine::default();
    let flag: CancelFlag = Arc::new(AtomicBool::new(false));
    let setter = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            flag.store(true, Ordering::Relaxed);
        })
    };
    let started = Instant::now();
    let res = engine.range_query_with_cancel(&db, HEAVY, 0, END_MS, 1_000, Some(flag));
    setter.join().unwrap();
    let err = res.unwrap_err();
    assert!(matches!(err, Error::Canceled), "{err}");
    assert_eq!(
        err.to_string(),
        "query was canceled in expression evaluation"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn query_cancelled_before_it_starts_reads_nothing() {
    let db = big_db();
    let flag: CancelFlag = Arc::new(AtomicBool::new(true));
    let err = Engine::default()
        .instant_query_with_cancel(&db, "req_total", END_MS, Some(flag))
        .unwrap_err();
    assert!(matches!(err, Error::Canceled));
}

#[test]
fn one_nanosecond_timeout_returns_prometheus_timeout_error() {
    let db = big_db();
    let engine = Engine::new(EngineOpts {
        timeout: Duration::from_nanos(1),
        ..EngineOpts::default()
    });
    let err = engine
        .range_query(&db, HEAVY, 0, END_MS, 1_000)
        .unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err}");
    assert_eq!(err.to_string(), "query timed out in expression evaluation");
}

#[test]
fn generous_limits_let_the_same_query_finish() {
    let db = big_db();
    let res = Engine::default()
        .range_query(&db, "sum(rate(req_total[5m]))", 300_000, END_MS, 60_000)
        .unwrap();
    let Value::Matrix(m) = res.value else {
        panic!("expected a matrix");
    };
    assert_eq!(m.len(), 1);
    // Every counter grows by one per second.
    for p in &m[0].points {
        assert!((p.v - SERIES as f64).abs() < 1e-6, "{p:?}");
    }
}

#[test]
fn max_samples_applies_to_selects_on_the_tsdb() {
    let db = big_db();
    let engine = Engine::new(EngineOpts {
        max_samples: 1_000,
        ..EngineOpts::default()
    });
    let err = engine.instant_query(&db, "req_total", END_MS).unwrap_err();
    assert!(matches!(err, Error::TooManySamples));
}

#[test]
fn instant_vector_of_unknown_metric_is_empty_not_an_error() {
    let db = big_db();
    let res = Engine::default()
        .instant_query(&db, "does_not_exist", END_MS)
        .unwrap();
    assert_eq!(res.value, Value::Vector(Vec::new()));
}
