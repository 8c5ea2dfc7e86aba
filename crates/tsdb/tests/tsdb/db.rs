//! Head and blocks as one: compaction, restart, retention, corruption, snapshots.

use std::collections::BTreeMap;
use std::sync::Arc;

use promlite_model::Labels;
use promlite_storage::{Appendable, Error, Queryable, SeriesRef};
use promlite_tsdb::{Db, DbOptions};

use crate::common::{read_all, series, value, SeriesData};

const MIN: i64 = 60_000;

/// Small ranges so tests cover many blocks quickly.
fn small_opts() -> DbOptions {
    DbOptions {
        block_range: MIN,
        retention_time: 0,
        max_block_duration: Some(MIN),
        ..DbOptions::default()
    }
}

/// Appends `n_series` series sampled every `step` ms in `[from, to)`, one
/// commit per timestamp; returns what was written.
fn ingest(
    db: &Db,
    n_series: usize,
    from: i64,
    to: i64,
    step: i64,
    want: &mut BTreeMap<Labels, Vec<(i64, u64)>>,
) {
    let mut refs: Vec<Option<SeriesRef>> = vec![None; n_series];
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            let l = series(i);
            *r = Some(app.append(*r, &l, t, value(i, t)).unwrap());
            want.entry(l).or_default().push((t, value(i, t).to_bits()));
        }
        app.commit().unwrap();
        t += step;
    }
}

fn as_vec(want: &BTreeMap<Labels, Vec<(i64, u64)>>) -> SeriesData {
    want.iter().map(|(l, v)| (l.clone(), v.clone())).collect()
}

#[test]
fn head_and_blocks_answer_as_one_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = BTreeMap::new();
    {
        let db = Db::open(dir.path(), small_opts()).unwrap();
        ingest(&db, 10, 0, 10 * MIN, 5_000, &mut want);
        let stats = db.compact().unwrap();
        assert!(stats.head_blocks >= 8, "{stats:?}");
        assert!(db.head().min_time().unwrap() >= 8 * MIN);
        assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
        // A range inside one block and one across a block boundary and the head.
        let part = read_all(&db, 2 * MIN + 1, 9 * MIN - 1, &[]);
        for (l, samples) in &part {
            let full = &want[l];
            let expect: Vec<_> = full
                .iter()
                .copied()
                .filter(|s| s.0 > 2 * MIN && s.0 < 9 * MIN)
                .collect();
            assert_eq!(samples, &expect);
        }
        db.close().unwrap();
    }
    // Reopen: blocks are loaded, the WAL (checkpoint plus segments) replayed.
    let db = Db::open(dir.path(), small_opts()).unwrap();
    assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
    // Appends continue where they left off.
    ingest(&db, 10, 10 * MIN, 11 * MIN, 5_000, &mut want);
    assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
    let q = db.querier(0, i64::MAX).unwrap();
    assert_eq!(
        q.label_values("__name__", &[]).unwrap(),
        vec!["even_total", "odd_total"]
    );
    assert_eq!(
        q.label_names(&[]).unwrap(),
        vec!["__name__", "instance", "job"]
    );
}

#[test]
fn samples_already_in_blocks_are_out_of_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_opts()).unwrap();
    let mut want = BTreeMap::new();
    ingest(&db, 2, 0, 5 * MIN, 10_000, &mut want);
    db.compact().unwrap();
    let mut app = db.appender();
    let err = app.append(None, &series(7), MIN, 1.0).unwrap_err();
    assert!(matches!(err, Error::OutOfBounds), "{err}");
}

#[test]
fn compaction_merges_adjacent_blocks_into_larger_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        max_block_duration: Some(9 * MIN),
        ..small_opts()
    };
    assert_eq!(opts.compaction_ranges(), vec![MIN, 3 * MIN, 9 * MIN]);
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let mut want = BTreeMap::new();
    ingest(&db, 4, 0, 30 * MIN, 10_000, &mut want);
    let stats = db.compact().unwrap();
    assert!(stats.merged_blocks > 0, "{stats:?}");
    let blocks = db.blocks();
    // Blocks do not overlap and the completed 9-minute ranges are single blocks.
    for w in blocks.windows(2) {
        assert!(w[0].meta().max_time <= w[1].meta().min_time);
    }
    assert!(blocks
        .iter()
        .any(|b| b.meta().max_time - b.meta().min_time == 9 * MIN));
    assert!(blocks
        .iter()
        .all(|b| b.meta().max_time - b.meta().min_time <= 9 * MIN));
    let merged = blocks
        .iter()
        .find(|b| b.meta().compaction.level > 1)
        .unwrap();
    assert!(merged.meta().compaction.sources.len() >= 3);
    assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
    // Only block directories of the current set remain on disk.
    drop(db);
    let db = Db::open(dir.path(), opts).unwrap();
    assert_eq!(db.blocks().len(), blocks.len());
    assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
}

#[test]
fn time_retention_removes_exactly_the_expired_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = small_opts();
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let mut want = BTreeMap::new();
    ingest(&db, 3, 0, 12 * MIN, 10_000, &mut want);
    db.compact().unwrap();
    let before: Vec<(i64, i64)> = db
        .blocks()
        .iter()
        .map(|b| (b.meta().min_time, b.meta().max_time))
        .collect();
    assert!(before.len() >= 10);
    drop(db);
    opts.retention_time = 4 * MIN;
    let db = Db::open(dir.path(), opts).unwrap();
    let stats = db.compact().unwrap();
    let newest = before.iter().map(|b| b.1).max().unwrap();
    let expect: Vec<(i64, i64)> = before
        .iter()
        .copied()
        .filter(|b| newest - b.1 < 4 * MIN)
        .collect();
    let after: Vec<(i64, i64)> = db
        .blocks()
        .iter()
        .map(|b| (b.meta().min_time, b.meta().max_time))
        .collect();
    assert_eq!(after, expect);
    assert_eq!(stats.deleted_blocks, before.len() - expect.len());
    let on_disk = promlite_tsdb::block::list_block_dirs(dir.path()).unwrap();
    assert_eq!(on_disk.len(), expect.len());
    // The deleted data is gone from queries too.
    let oldest = expect[0].0;
    for (_, s) in read_all(&db, i64::MIN, i64::MAX, &[]) {
        assert!(s[0].0 >= oldest);
    }
}

#[test]
fn size_retention_deletes_oldest_blocks_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_opts()).unwrap();
    let mut want = BTreeMap::new();
    ingest(&db, 20, 0, 10 * MIN, 5_000, &mut want);
    db.compact().unwrap();
    let blocks = db.blocks();
    let sizes: Vec<u64> = blocks.iter().map(|b| b.size_bytes()).collect();
    let wal = db.wal_size();
    drop(db);
    // Room for the WAL and the three newest blocks.
    let limit = wal + sizes[sizes.len() - 3..].iter().sum::<u64>() + 1;
    let opts = DbOptions {
        retention_size: limit,
        ..small_opts()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    db.compact().unwrap();
    let left = db.blocks();
    assert_eq!(left.len(), 3, "sizes {sizes:?} wal {wal} limit {limit}");
    assert_eq!(left[0].meta().ulid, blocks[blocks.len() - 3].meta().ulid);
}

#[test]
fn corrupted_block_is_moved_aside_and_the_db_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = BTreeMap::new();
    let victim;
    {
        let db = Db::open(dir.path(), small_opts()).unwrap();
        ingest(&db, 5, 0, 4 * MIN, 5_000, &mut want);
        db.compact().unwrap();
        assert!(db.blocks().len() >= 2);
        victim = db.blocks()[0].dir().to_path_buf();
        db.close().unwrap();
    }
    let index = victim.join("index");
    let mut bytes = std::fs::read(&index).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&index, bytes).unwrap();
    let db = Db::open(dir.path(), small_opts()).unwrap();
    assert_eq!(
        db.metrics()
            .corrupted_blocks
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert!(!victim.exists());
    let aside = victim.with_file_name(format!(
        "{}{}",
        victim.file_name().unwrap().to_string_lossy(),
        promlite_tsdb::CORRUPTED_SUFFIX
    ));
    assert!(
        aside.join("index").exists(),
        "the block is kept, not deleted"
    );
    // The other blocks and the head still answer.
    let got = read_all(&db, i64::MIN, i64::MAX, &[]);
    assert_eq!(got.len(), 5);
    let first_block_end = MIN;
    for (l, s) in &got {
        let expect: Vec<_> = want[l]
            .iter()
            .copied()
            .filter(|x| x.0 >= first_block_end)
            .collect();
        assert_eq!(s, &expect);
    }
}

#[test]
fn snapshot_is_a_database_with_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_opts()).unwrap();
    let mut want = BTreeMap::new();
    ingest(&db, 4, 0, 5 * MIN, 5_000, &mut want);
    db.compact().unwrap();
    db.snapshot(&snap.path().join("s1"), true).unwrap();
    let copy = Db::open(snap.path().join("s1"), small_opts()).unwrap();
    assert_eq!(read_all(&copy, i64::MIN, i64::MAX, &[]), as_vec(&want));
    // Without the head only persisted blocks are in the snapshot.
    db.snapshot(&snap.path().join("s2"), false).unwrap();
    let copy = Db::open(snap.path().join("s2"), small_opts()).unwrap();
    let head_min = db.head().min_time().unwrap();
    for (_, s) in read_all(&copy, i64::MIN, i64::MAX, &[]) {
        assert!(s.iter().all(|x| x.0 < head_min));
    }
}

#[test]
fn in_memory_db_needs_no_directory_and_applies_retention_to_the_head() {
    let db = Db::open_in_memory(DbOptions {
        retention_time: 2 * MIN,
        ..small_opts()
    });
    assert!(db.dir().is_none());
    let mut want = BTreeMap::new();
    ingest(&db, 3, 0, 10 * MIN, 10_000, &mut want);
    assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
    db.compact().unwrap();
    // The head is truncated chunk by chunk; chunks never cross a block range.
    let cutoff = 10 * MIN - 10_000 - 2 * MIN;
    for (_, s) in read_all(&db, i64::MIN, i64::MAX, &[]) {
        assert!(s[0].0 >= cutoff - MIN, "first sample {}", s[0].0);
        assert!(s[0].0 > 0);
    }
    assert!(db.blocks().is_empty());
}

#[test]
fn concurrent_appends_queries_and_compactions_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_opts()).unwrap();
    let writers = 2usize;
    let per = 20usize;
    let steps = 600i64; // 10 minutes at 1s.
                        // Writers stay within 20s of each other: the head rejects samples more
                        // than half a block range (30s here) older than its newest sample.
    let barrier = std::sync::Barrier::new(writers);
    std::thread::scope(|s| {
        for w in 0..writers {
            let db = db.clone();
            let barrier = &barrier;
            s.spawn(move || {
                let labels: Vec<Labels> = (0..per)
                    .map(|i| {
                        Labels::from_pairs(&[
                            ("__name__", "c"),
                            ("w", &w.to_string()),
                            ("i", &i.to_string()),
                        ])
                    })
                    .collect();
                let mut refs = vec![None; per];
                for k in 0..steps {
                    if k % 20 == 0 {
                        barrier.wait();
                    }
                    let mut app = db.appender();
                    for (i, l) in labels.iter().enumerate() {
                        refs[i] = Some(app.append(refs[i], l, k * 1000, k as f64).unwrap());
                    }
                    app.commit().unwrap();
                }
            });
        }
        let db_c = db.clone();
        s.spawn(move || {
            for _ in 0..50 {
                db_c.compact().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        let db_r = Arc::new(db.clone());
        s.spawn(move || {
            for _ in 0..200 {
                for (_, samples) in read_all(&*db_r, i64::MIN, i64::MAX, &[]) {
                    // Every series is a gap-free prefix: commits are atomic and
                    // compaction never loses or duplicates a sample.
                    for (k, (t, v)) in samples.iter().enumerate() {
                        assert_eq!(*t, k as i64 * 1000);
                        assert_eq!(f64::from_bits(*v), k as f64);
                    }
                }
            }
        });
    });
    db.compact().unwrap();
    let all = read_all(&db, i64::MIN, i64::MAX, &[]);
    assert_eq!(all.len(), writers * per);
    for (_, s) in all {
        assert_eq!(s.len(), steps as usize);
    }
}

#[test]
fn delete_series_removes_samples_from_head_and_blocks_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = BTreeMap::new();
    {
        let db = Db::open(dir.path(), small_opts()).unwrap();
        ingest(&db, 4, 0, 6 * MIN, 5_000, &mut want);
        db.compact().unwrap();
        assert!(!db.blocks().is_empty());
        let before: Vec<_> = db.blocks().iter().map(|b| b.meta().ulid).collect();
        // Delete a window crossing blocks and the head, for the even series only.
        let (lo, hi) = (2 * MIN + 2_500, 5 * MIN + 30_000);
        let ms = [promlite_model::Matcher::equal("__name__", "even_total")];
        let removed = db.delete_series(lo, hi, &ms).unwrap();
        for (l, s) in want.iter_mut() {
            if l.get("__name__") == Some("even_total") {
                s.retain(|x| x.0 < lo || x.0 > hi);
            }
        }
        assert!(removed > 0);
        assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
        let after: Vec<_> = db.blocks().iter().map(|b| b.meta().ulid).collect();
        assert_ne!(
            before, after,
            "blocks holding deleted samples were rewritten"
        );
        // Deleting again finds nothing.
        assert_eq!(db.delete_series(lo, hi, &ms).unwrap(), 0);
        db.close().unwrap();
    }
    // The WAL's tombstones delete the head samples again after a restart.
    let db = Db::open(dir.path(), small_opts()).unwrap();
    assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
}

#[test]
fn a_block_replaced_before_a_crash_is_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let saved = tempfile::tempdir().unwrap();
    let mut want = BTreeMap::new();
    let old_name;
    {
        let db = Db::open(dir.path(), small_opts()).unwrap();
        ingest(&db, 2, 0, 4 * MIN, 5_000, &mut want);
        db.compact().unwrap();
        let old = db.blocks()[0].clone();
        old_name = old.dir().file_name().unwrap().to_owned();
        copy(old.dir(), &saved.path().join(&old_name));
        let ms = [promlite_model::Matcher::equal("__name__", "odd_total")];
        db.delete_series(0, MIN, &ms).unwrap();
        for (l, s) in want.iter_mut() {
            if l.get("__name__") == Some("odd_total") {
                s.retain(|x| x.0 > MIN);
            }
        }
        db.close().unwrap();
    }
    // As if the process died after writing the new block but before deleting the old one.
    copy(&saved.path().join(&old_name), &dir.path().join(&old_name));
    let db = Db::open(dir.path(), small_opts()).unwrap();
    assert!(
        !dir.path().join(&old_name).exists(),
        "the replaced block is gone"
    );
    assert_eq!(read_all(&db, i64::MIN, i64::MAX, &[]), as_vec(&want));
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
