//! OpenMetrics fixtures: backfilled blocks answer as live ingestion does,
//! and an in-memory server can start with a file loaded.

use std::path::Path;
use std::process::Command;

use promlite::fixtures::{create_blocks_from_openmetrics, read_openmetrics};
use promlite::{ConfigSource, Server, ServerOptions};
use promlite_promql::{Engine, EngineOpts};
use promlite_storage::Appendable;
use promlite_tsdb::{Db, DbOptions};

/// Six hours of data at 30s: counters with a reset, a gauge, histogram buckets.
fn write_fixture(path: &Path) {
    let base = 1_700_000_000i64;
    let mut s = String::from("# TYPE req counter\n");
    for i in 0..720i64 {
        let t = base + i * 30;
        let v = if i < 400 { i * 3 } else { (i - 400) * 2 };
        s.push_str(&format!("req_total{{job=\"a\"}} {v} {t}\n"));
        s.push_str(&format!("req_total{{job=\"b\"}} {} {t}\n", i * 5));
    }
    s.push_str("# TYPE temp gauge\n");
    for i in 0..720i64 {
        s.push_str(&format!(
            "temp{{room=\"x\"}} {} {}\n",
            20.0 + (i as f64 / 50.0).sin(),
            base + i * 30
        ));
    }
    s.push_str("# TYPE lat histogram\n");
    for i in 0..720i64 {
        let t = base + i * 30;
        for (le, f) in [("0.1", 1), ("1", 3), ("+Inf", 4)] {
            s.push_str(&format!("lat_bucket{{le=\"{le}\"}} {} {t}\n", i * f));
        }
        s.push_str(&format!(
            "lat_count {} {t}\nlat_sum {} {t}\n",
            i * 4,
            i as f64 * 1.5
        ));
    }
    s.push_str("# EOF\n");
    std::fs::write(path, s).unwrap();
}

const QUERIES: &[&str] = &[
    "req_total",
    "rate(req_total[5m])",
    "sum(increase(req_total[1h]))",
    "resets(req_total[6h])",
    "avg_over_time(temp[30m])",
    "max_over_time(temp[2h])",
    "histogram_quantile(0.9, rate(lat_bucket[10m]))",
    "lat_sum / lat_count",
    "count by (__name__) ({__name__=~\".+\"})",
];

#[test]
fn backfilled_blocks_answer_like_live_ingestion() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fixture.om");
    write_fixture(&file);
    let metas = create_blocks_from_openmetrics(&file, &dir.path().join("data")).unwrap();
    assert!(
        metas.len() >= 3,
        "6h span several 2h blocks: {}",
        metas.len()
    );
    let backfilled = Db::open(dir.path().join("data"), DbOptions::default()).unwrap();
    assert_eq!(backfilled.blocks().len(), metas.len());
    // The same samples appended live, in time order across series, as a scrape would.
    let live = Db::open_in_memory(DbOptions::default());
    let series = read_openmetrics(&file).unwrap();
    let mut all: Vec<(i64, &promlite_model::Labels, f64)> = series
        .iter()
        .flat_map(|(l, s)| s.iter().map(move |&(t, v)| (t, l, v)))
        .collect();
    all.sort_by_key(|x| x.0);
    for chunk in all.chunk_by(|a, b| a.0 == b.0) {
        let mut app = live.appender();
        for &(t, l, v) in chunk {
            app.append(None, l, t, v).unwrap();
        }
        app.commit().unwrap();
    }
    let engine = Engine::new(EngineOpts::default());
    let start = 1_700_000_000_000i64 + 3_600_000;
    let end = 1_700_000_000_000i64 + 6 * 3_600_000 - 60_000;
    for q in QUERIES {
        for t in [start, start + 5_432_100, end] {
            let a = engine.instant_query(&backfilled, q, t).unwrap();
            let b = engine.instant_query(&live, q, t).unwrap();
            assert_eq!(
                format!("{:?}", a.value),
                format!("{:?}", b.value),
                "{q} at {t}"
            );
        }
        let a = engine
            .range_query(&backfilled, q, start, end, 60_000)
            .unwrap();
        let b = engine.range_query(&live, q, start, end, 60_000).unwrap();
        assert_eq!(
            format!("{:?}", a.value),
            format!("{:?}", b.value),
            "range {q}"
        );
        assert!(!format!("{:?}", a.value).is_empty());
    }
}

#[test]
fn missing_timestamps_are_rejected_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.om");
    std::fs::write(&file, "# TYPE x gauge\nx 1 1700000000\nx 2\n# EOF\n").unwrap();
    let err = read_openmetrics(&file).unwrap_err().to_string();
    assert!(
        err.contains("line 3") && err.contains("expected timestamp"),
        "{err}"
    );
}

#[test]
fn cli_backfill_writes_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fixture.om");
    write_fixture(&file);
    let out = Command::new(env!("CARGO_BIN_EXE_promlite"))
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("BLOCK ULID"));
    let db = Db::open(dir.path().join("out"), DbOptions::default()).unwrap();
    assert!(db.blocks().len() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_server_starts_with_a_fixture_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fixture.om");
    write_fixture(&file);
    let s = Server::start(ServerOptions {
        config: ConfigSource::Text(String::new()),
        load_openmetrics: Some(file),
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let v: serde_json::Value = reqwest::get(format!(
        "{}/api/v1/query?query=count(req_total)&time=1700010000",
        s.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "2");
    s.shutdown().await;
}
