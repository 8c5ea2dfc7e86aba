//! Crash safety: SIGKILL mid-ingestion, torn and corrupt WAL tails, failed writes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promlite_model::Labels;
use promlite_storage::{Appendable, SeriesRef};
use promlite_tsdb::wal::WriteFault;
use promlite_tsdb::{Db, DbOptions};

use crate::common::read_all;

const CHILD_ENV: &str = "PROMLITE_TSDB_SIGKILL_CHILD_DIR";
const SERIES: usize = 50;

fn lbl(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "crash_total"), ("i", &i.to_string())])
}

/// Child mode: ingest forever, printing the number of each commit that returned.
fn run_child(dir: &str) -> ! {
    let db = Db::open(dir, DbOptions::default()).unwrap();
    let mut refs: Vec<Option<SeriesRef>> = vec![None; SERIES];
    let mut k: i64 = 0;
    loop {
        let mut app = db.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            *r = Some(app.append(*r, &lbl(i), k * 1000, k as f64).unwrap());
        }
        app.commit().unwrap();
        println!("committed {k}");
        k += 1;
    }
}

#[test]
fn sigkill_mid_ingestion_loses_no_committed_sample() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        run_child(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability::sigkill_mid_ingestion_loses_no_committed_sample",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut last_committed: Option<i64> = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            last_committed = Some(n.trim().parse().unwrap());
            if last_committed >= Some(3000) || Instant::now() > deadline {
                // Kill while it is in the middle of further commits.
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    let last = last_committed.expect("child committed nothing");
    assert!(last > 100, "child too slow: {last}");
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let got = read_all(&db, i64::MIN, i64::MAX, &[]);
    assert_eq!(got.len(), SERIES);
    for (l, samples) in got {
        // Every commit that returned is there in full, in order, with no gap;
        // a commit in flight at the kill may or may not be.
        assert!(
            samples.len() as i64 > last,
            "{l}: {} samples, last commit {last}",
            samples.len()
        );
        for (k, (t, v)) in samples.iter().enumerate() {
            assert_eq!(*t, k as i64 * 1000);
            assert_eq!(f64::from_bits(*v), k as f64);
        }
    }
}

fn write_batches(dir: &std::path::Path, batches: i64) {
    let db = Db::open(dir, DbOptions::default()).unwrap();
    for k in 0..batches {
        let mut app = db.appender();
        for i in 0..5 {
            app.append(None, &lbl(i), k * 1000, k as f64).unwrap();
        }
        app.commit().unwrap();
    }
    db.close().unwrap();
}

fn last_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut segs: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| e.metadata().unwrap().len() > 0)
        .map(|e| e.path())
        .collect();
    segs.sort();
    segs.pop().unwrap()
}

fn samples_per_series(db: &Db) -> Vec<usize> {
    read_all(db, i64::MIN, i64::MAX, &[])
        .iter()
        .map(|s| s.1.len())
        .collect()
}

#[test]
fn torn_wal_tail_is_truncated_and_earlier_commits_survive() {
    let dir = tempfile::tempdir().unwrap();
    write_batches(dir.path(), 100);
    let seg = last_segment(dir.path());
    let len = std::fs::metadata(&seg).unwrap().len();
    // Cut the last record in half.
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 20).unwrap();
    drop(f);
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(samples_per_series(&db), vec![99; 5]);
    // The repaired WAL accepts new commits, and they survive another restart.
    let mut app = db.appender();
    app.append(None, &lbl(0), 200_000, 1.0).unwrap();
    app.commit().unwrap();
    db.close().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(samples_per_series(&db), vec![100, 99, 99, 99, 99]);
}

#[test]
fn bit_flip_in_the_wal_tail_is_detected_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    write_batches(dir.path(), 100);
    let seg = last_segment(dir.path());
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x10;
    std::fs::write(&seg, bytes).unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(samples_per_series(&db), vec![99; 5]);
}

#[test]
fn failed_wal_write_fails_the_commit_and_ingestion_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let mut app = db.appender();
    app.append(None, &lbl(0), 1000, 1.0).unwrap();
    app.commit().unwrap();
    // The disk fills up in the middle of the next record.
    db.head().wal().unwrap().inject_write_fault(WriteFault {
        failing_writes: 1,
        partial_bytes: 7,
        failing_truncates: 0,
    });
    let mut app = db.appender();
    app.append(None, &lbl(0), 2000, 2.0).unwrap();
    app.append(None, &lbl(1), 2000, 2.0).unwrap();
    let err = app.commit().unwrap_err();
    assert!(
        err.to_string().contains("wal"),
        "error should name the WAL file: {err}"
    );
    // Nothing of the failed commit is visible.
    assert_eq!(samples_per_series(&db), vec![1]);
    // Space is back: the next commit works, including the series first seen in the failed one.
    let mut app = db.appender();
    app.append(None, &lbl(0), 3000, 3.0).unwrap();
    app.append(None, &lbl(1), 3000, 3.0).unwrap();
    app.commit().unwrap();
    db.close().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let got = read_all(&db, i64::MIN, i64::MAX, &[]);
    let ts: Vec<Vec<i64>> = got
        .iter()
        .map(|s| s.1.iter().map(|x| x.0).collect())
        .collect();
    assert_eq!(ts, vec![vec![1000, 3000], vec![3000]]);
}
