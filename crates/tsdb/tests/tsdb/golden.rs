//! A checked-in database (a block, a WAL checkpoint and a WAL segment)
//! pins the on-disk formats:
//! every future version must read it back exactly.
//!
//! The files were written by this test with `PROMLITE_WRITE_GOLDEN=1`; they
//! only change when the formats change on purpose.

use std::path::{Path, PathBuf};

use promlite_model::{Labels, STALE_NAN};
use promlite_storage::Appendable;
use promlite_tsdb::{Db, DbOptions};

use crate::common::read_all;

/// A block boundary (2h multiple) in November 2023.
const T0: i64 = 236_111 * 7_200_000;
const STEP: i64 = 15_000;
/// 3h30m of samples: the first 2h end up in a block, the rest in the WAL.
const STEPS: i64 = 14 * 60;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tsdb/golden")
}

/// The data the golden database holds, as a function of the step.
fn golden_data() -> Vec<(Labels, Vec<(i64, f64)>)> {
    let counter = Labels::from_pairs(&[("__name__", "golden_requests_total"), ("job", "golden")]);
    let gauge = Labels::from_pairs(&[("__name__", "golden_temperature"), ("job", "golden")]);
    let stale = Labels::from_pairs(&[("__name__", "golden_up"), ("job", "golden")]);
    let mut c = vec![];
    let mut g = vec![];
    let mut s = vec![];
    for k in 0..STEPS {
        let t = T0 + (k + 1) * STEP + (k % 7) - 3;
        c.push((t, (k * (k % 13)) as f64));
        g.push((t, 20.0 + (k as f64 / 10.0).sin()));
        if k < STEPS - 1 {
            s.push((t, 1.0));
        } else {
            s.push((t, STALE_NAN));
        }
    }
    let mut v = vec![(counter, c), (gauge, g), (stale, s)];
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

fn write_golden(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let db = Db::open(dir, DbOptions::default()).unwrap();
    let data = golden_data();
    let append = |k: usize| {
        let mut app = db.appender();
        for (l, samples) in &data {
            let (t, v) = samples[k];
            app.append(None, l, t, v).unwrap();
        }
        app.commit().unwrap();
    };
    // Block, checkpoint and a live segment: the last steps come after the
    // compaction so that the WAL segment holds records too.
    let split = STEPS as usize - 10;
    (0..split).for_each(append);
    db.compact().unwrap();
    (split..STEPS as usize).for_each(append);
    db.close().unwrap();
}

#[test]
fn checked_in_block_and_wal_read_back_exactly() {
    if std::env::var_os("PROMLITE_WRITE_GOLDEN").is_some() {
        write_golden(&golden_dir());
    }
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&golden_dir(), tmp.path());
    let db = Db::open(tmp.path(), DbOptions::default()).unwrap();
    assert_eq!(db.blocks().len(), 1, "the golden data holds one block");
    let b = &db.blocks()[0];
    assert_eq!((b.meta().min_time, b.meta().max_time), (T0, T0 + 7_200_000));
    let want: Vec<(Labels, Vec<(i64, u64)>)> = golden_data()
        .into_iter()
        .map(|(l, s)| (l, s.into_iter().map(|(t, v)| (t, v.to_bits())).collect()))
        .collect();
    assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), want);
}
