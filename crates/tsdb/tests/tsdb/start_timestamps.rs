//! Start timestamps end to end: head, WAL replay, checkpoint, blocks
//! written from the head, merged blocks and blocks rewritten by deletion.

use std::collections::BTreeMap;

use promlite_model::{Labels, Matcher};
use promlite_storage::{Appendable, Querier, Queryable, SeriesRef, ValueType};
use promlite_tsdb::chunkenc::Encoding;
use promlite_tsdb::{Db, DbOptions};

use crate::common::value;

const MIN: i64 = 60_000;

/// `(st, t, value bits)` of each series, by labels.
type StData = BTreeMap<Labels, Vec<(i64, i64, u64)>>;

fn opts() -> DbOptions {
    DbOptions {
        block_range: MIN,
        retention_time: 0,
        max_block_duration: Some(3 * MIN),
        ..DbOptions::default()
    }
}

fn labels(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "st_total"), ("i", &i.to_string())])
}

/// The start timestamp series `i` gives the sample at `t` (the previous
/// sample being at `t - step`).
fn st_for(i: usize, t: i64, step: i64) -> i64 {
    match i {
        // No start timestamps at all.
        0 => 0,
        // A counter created once.
        1 => -123_456,
        // A delta series: each sample covers the interval since the last.
        2 => t - step,
        // Anything: after t, negative, zero now and then.
        3 => match (t / step) % 5 {
            0 => 0,
            1 => t + 7,
            2 => -(t / 3) - 1,
            3 => i64::MIN + t,
            _ => t - 1,
        },
        // Without start timestamps for the first minute and a half, then
        // with a start timestamp that changes every ten samples.
        _ => {
            if t < 3 * MIN / 2 {
                0
            } else {
                t - t % (10 * step) - 1
            }
        }
    }
}

const N_SERIES: usize = 5;

/// Appends the series sampled every `step` ms in `[from, to)`, one commit
/// per timestamp, and records what was written in `want`.
fn ingest(db: &Db, from: i64, to: i64, step: i64, want: &mut StData) {
    let mut refs: Vec<Option<SeriesRef>> = vec![None; N_SERIES];
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            let (l, st, v) = (labels(i), st_for(i, t, step), value(i, t));
            *r = Some(app.append_st(*r, &l, st, t, v).unwrap());
            want.entry(l).or_default().push((st, t, v.to_bits()));
        }
        app.commit().unwrap();
        t += step;
    }
}

/// Every series with its `(st, t, value bits)` samples in `[mint, maxt]`.
fn read_st(q: &dyn Queryable, mint: i64, maxt: i64) -> StData {
    read_querier(&*q.querier(mint, maxt).unwrap())
}

/// Every series the querier has, with `(st, t, value bits)` samples.
fn read_querier(q: &dyn Querier) -> StData {
    let set = q
        .select(true, None, &[Matcher::equal("__name__", "st_total")])
        .unwrap();
    let mut out = StData::new();
    for s in set {
        let s = s.unwrap();
        // Readers skip `at_st` when the series says it has none, as the
        // PromQL engine does: a wrong "no" loses start timestamps here.
        let has_st = s.may_have_start_timestamps();
        if s.labels() == &labels(0) {
            assert!(
                !has_st,
                "a series without start timestamps says it may have some"
            );
        }
        let mut it = s.iterator();
        let mut v = vec![];
        while it.next() == ValueType::Float {
            let (t, x) = it.at();
            v.push((if has_st { it.at_st() } else { 0 }, t, x.to_bits()));
        }
        assert!(it.err().is_none(), "iterator error: {:?}", it.err());
        out.insert(s.labels().clone(), v);
    }
    out
}

fn in_range(want: &StData, mint: i64, maxt: i64) -> StData {
    want.iter()
        .map(|(l, v)| {
            let v: Vec<_> = v
                .iter()
                .copied()
                .filter(|s| s.1 >= mint && s.1 <= maxt)
                .collect();
            (l.clone(), v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// The encodings of every chunk in the database's blocks.
fn block_encodings(db: &Db) -> Vec<Encoding> {
    let mut encs = vec![];
    for b in db.blocks().iter() {
        for s in b.series() {
            let (_, chunks) = s.unwrap();
            encs.extend(chunks.iter().map(|c| c.encoding));
        }
    }
    encs
}

#[test]
fn start_timestamps_survive_restart_compaction_merging_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let step = 5_000;
    let mut want = StData::new();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        ingest(&db, 0, 2 * MIN, step, &mut want);
        assert_eq!(read_st(&db, i64::MIN, i64::MAX), want);
        db.close().unwrap();
    }
    // WAL replay.
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        assert!(db.blocks().is_empty());
        assert_eq!(read_st(&db, i64::MIN, i64::MAX), want);
        ingest(&db, 2 * MIN, 5 * MIN, step, &mut want);
        // Head ranges persisted as blocks, the WAL checkpointed.
        let stats = db.compact().unwrap();
        assert!(stats.head_blocks >= 3, "{stats:?}");
        assert!(block_encodings(&db).contains(&Encoding::XorSt));
        let head_min = db.head().min_time().unwrap();
        assert!(head_min >= 3 * MIN);
        // From the blocks alone, then together with the head.
        for b in db.blocks().iter() {
            let (lo, hi) = (b.meta().min_time, b.meta().max_time - 1);
            assert_eq!(read_querier(&b.querier(lo, hi)), in_range(&want, lo, hi));
        }
        assert_eq!(read_st(&db, i64::MIN, i64::MAX), want);
        db.close().unwrap();
    }
    let checkpoints = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("checkpoint.")
        })
        .count();
    assert_eq!(checkpoints, 1);
    // Blocks, the checkpoint and the segments after it.
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        assert_eq!(read_st(&db, i64::MIN, i64::MAX), want);
        // Enough for the first 3-minute range to be merged into one block.
        ingest(&db, 5 * MIN, 8 * MIN, step, &mut want);
        let stats = db.compact().unwrap();
        assert!(stats.merged_blocks > 0, "{stats:?}");
        let merged = db
            .blocks()
            .iter()
            .find(|b| b.meta().compaction.level > 1)
            .cloned()
            .unwrap();
        let (lo, hi) = (merged.meta().min_time, merged.meta().max_time - 1);
        assert_eq!(
            read_querier(&merged.querier(lo, hi)),
            in_range(&want, lo, hi)
        );
        assert_eq!(read_st(&db, i64::MIN, i64::MAX), want);

        // Deleting a window rewrites the blocks holding it; the samples
        // left keep their start timestamps, whichever encoding they had.
        let (del_lo, del_hi) = (MIN + 2_500, 4 * MIN + 30_000);
        let before: Vec<_> = db.blocks().iter().map(|b| b.meta().ulid).collect();
        let ms = [Matcher::equal("i", "3")];
        assert!(db.delete_series(del_lo, del_hi, &ms).unwrap() > 0);
        let after: Vec<_> = db.blocks().iter().map(|b| b.meta().ulid).collect();
        assert_ne!(before, after);
        if let Some(s) = want.get_mut(&labels(3)) {
            s.retain(|x| x.1 < del_lo || x.1 > del_hi);
        }
        assert_eq!(read_st(&db, i64::MIN, i64::MAX), want);
        // Series 0 has no start timestamps: deleting from it writes
        // packed chunks again.
        let ms = [Matcher::equal("i", "0")];
        assert!(db.delete_series(0, 10_000, &ms).unwrap() > 0);
        if let Some(s) = want.get_mut(&labels(0)) {
            s.retain(|x| x.1 > 10_000);
        }
        assert_eq!(read_st(&db, i64::MIN, i64::MAX), want);
        let encs = block_encodings(&db);
        assert!(encs.contains(&Encoding::XorSt) && encs.contains(&Encoding::Packed));
        db.close().unwrap();
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read_st(&db, i64::MIN, i64::MAX), want);
    // A range starting inside chunks of every kind.
    let (lo, hi) = (MIN + 12_345, 7 * MIN + 1);
    assert_eq!(read_st(&db, lo, hi), in_range(&want, lo, hi));
}
