//! Tests of the head: appends, queries, truncation, concurrency.

use std::sync::Arc;

use promlite_model::{Labels, MatchType, Matcher};
use promlite_storage::{Appendable, Error, Queryable, SeriesRef, ValueType};

use super::*;

fn lbl(name: &str, i: &str) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("i", i)])
}

fn any_name() -> Matcher {
    Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()
}

fn read_all(
    q: &dyn Queryable,
    mint: i64,
    maxt: i64,
    ms: &[Matcher],
) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let q = q.querier(mint, maxt).unwrap();
    let all = [any_name()];
    let ms = if ms.is_empty() { &all[..] } else { ms };
    let set = q.select(true, None, ms).unwrap();
    set.map(|s| {
        let s = s.unwrap();
        let mut it = s.iterator();
        let mut v = vec![];
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        assert!(it.err().is_none());
        (s.labels().clone(), v)
    })
    .collect()
}

#[test]
fn appended_samples_are_visible_only_after_commit() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    let r = app.append(None, &lbl("m", "1"), 1000, 1.0).unwrap();
    app.append(Some(r), &Labels::empty(), 2000, 2.0).unwrap();
    assert!(read_all(&head, 0, 10_000, &[Matcher::equal("__name__", "m")]).is_empty());
    app.commit().unwrap();
    let got = read_all(&head, 0, 10_000, &[Matcher::equal("__name__", "m")]);
    assert_eq!(got, vec![(lbl("m", "1"), vec![(1000, 1.0), (2000, 2.0)])]);
    assert_eq!(head.min_time(), Some(1000));
    assert_eq!(head.max_time(), Some(2000));
}

#[test]
fn rollback_discards_samples() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    app.append(None, &lbl("m", "1"), 1000, 1.0).unwrap();
    app.rollback().unwrap();
    assert!(read_all(&head, 0, 10_000, &[]).is_empty());
    assert_eq!(head.max_time(), None);
}

#[test]
fn out_of_order_and_duplicate_samples_are_rejected() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    let r = app.append(None, &lbl("m", "1"), 1000, 1.0).unwrap();
    app.commit().unwrap();
    let mut app = head.appender();
    assert!(matches!(
        app.append(Some(r), &lbl("m", "1"), 500, 1.0),
        Err(Error::OutOfOrderSample)
    ));
    assert!(matches!(
        app.append(Some(r), &lbl("m", "1"), 1000, 2.0),
        Err(Error::DuplicateSampleForTimestamp)
    ));
    // Same timestamp and value is accepted, as in Prometheus.
    assert_eq!(app.append(Some(r), &lbl("m", "1"), 1000, 1.0).unwrap(), r);
    app.commit().unwrap();
    let got = read_all(&head, 0, 10_000, &[]);
    assert_eq!(got[0].1, vec![(1000, 1.0)]);
    assert_eq!(
        head.metrics()
            .out_of_order_samples
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn empty_label_set_is_rejected() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    assert!(matches!(
        app.append(None, &Labels::empty(), 1, 1.0),
        Err(Error::EmptyLabels)
    ));
}

#[test]
fn samples_too_far_behind_the_head_are_out_of_bounds() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    app.append(None, &lbl("m", "1"), 10 * 3_600_000, 1.0)
        .unwrap();
    app.commit().unwrap();
    let mut app = head.appender();
    // More than half a block range (1h) older than the newest sample.
    assert!(matches!(
        app.append(None, &lbl("m", "2"), 8 * 3_600_000, 1.0),
        Err(Error::OutOfBounds)
    ));
    app.append(None, &lbl("m", "2"), 9 * 3_600_000 + 1, 1.0)
        .unwrap();
    app.commit().unwrap();
}

#[test]
fn matchers_select_through_the_index() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    for i in 0..50 {
        let l = Labels::from_pairs(&[
            ("__name__", "m"),
            ("i", &i.to_string()),
            ("even", if i % 2 == 0 { "y" } else { "n" }),
        ]);
        app.append(None, &l, 1000, i as f64).unwrap();
    }
    app.append(None, &lbl("other", "x"), 1000, 0.0).unwrap();
    app.commit().unwrap();
    let n = |ms: &[Matcher]| read_all(&head, 0, 2000, ms).len();
    assert_eq!(n(&[Matcher::equal("__name__", "m")]), 50);
    assert_eq!(n(&[Matcher::equal("even", "y")]), 25);
    assert_eq!(
        n(&[Matcher::new(MatchType::Regex, "i", "1.*").unwrap()]),
        11
    );
    assert_eq!(
        n(&[
            Matcher::equal("__name__", "m"),
            Matcher::new(MatchType::NotEqual, "even", "y").unwrap()
        ]),
        25
    );
    // `even=""` selects the series without the label.
    assert_eq!(n(&[Matcher::equal("even", "")]), 1);
    assert_eq!(
        n(&[Matcher::new(MatchType::NotRegex, "__name__", "m").unwrap()]),
        1
    );
    let q = head.querier(0, 2000).unwrap();
    assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "even", "i"]);
    assert_eq!(q.label_values("__name__", &[]).unwrap(), vec!["m", "other"]);
    assert_eq!(
        q.label_names(&[Matcher::equal("__name__", "other")])
            .unwrap(),
        vec!["__name__", "i"]
    );
    // Outside the head's time range nothing is returned.
    assert_eq!(
        read_all(&head, 5000, 6000, &[Matcher::equal("__name__", "m")]).len(),
        0
    );
}

#[test]
fn query_range_is_inclusive_and_trims_chunks() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    let mut r = None;
    for t in 0..1000 {
        r = Some(app.append(r, &lbl("m", "1"), t * 10, t as f64).unwrap());
    }
    app.commit().unwrap();
    let got = read_all(&head, 1500, 2500, &[]);
    let ts: Vec<i64> = got[0].1.iter().map(|s| s.0).collect();
    assert_eq!(ts.first(), Some(&1500));
    assert_eq!(ts.last(), Some(&2500));
    assert_eq!(ts.len(), 101);
}

#[test]
fn truncation_garbage_collects_empty_series() {
    let head = Head::new(HeadOptions { block_range: 1000 });
    let mut app = head.appender();
    for t in 0..10 {
        app.append(None, &lbl("old", "1"), t * 100, 1.0).unwrap();
    }
    for t in 5..30 {
        app.append(None, &lbl("new", "1"), t * 100, 1.0).unwrap();
    }
    app.commit().unwrap();
    assert_eq!(head.num_series(), 2);
    head.truncate(1000);
    assert_eq!(head.num_series(), 1);
    assert_eq!(head.min_time(), Some(1000));
    let got = read_all(&head, 0, 10_000, &[]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.first().map(|s| s.0), Some(1000));
    let q = head.querier(0, 10_000).unwrap();
    assert_eq!(q.label_values("__name__", &[]).unwrap(), vec!["new"]);
    // Appends before the truncation point are out of bounds now.
    let mut app = head.appender();
    assert!(matches!(
        app.append(None, &lbl("x", "1"), 999, 1.0),
        Err(Error::OutOfBounds)
    ));
}

#[test]
fn series_refs_are_stable_and_reusable() {
    let head = Head::new(HeadOptions::default());
    let mut app = head.appender();
    let a = app.append(None, &lbl("m", "1"), 1, 1.0).unwrap();
    let b = app.append(None, &lbl("m", "2"), 1, 1.0).unwrap();
    app.commit().unwrap();
    assert_ne!(a, b);
    let mut app = head.appender();
    assert_eq!(app.append(None, &lbl("m", "1"), 2, 1.0).unwrap(), a);
    // An unknown reference falls back to the labels.
    assert_eq!(
        app.append(Some(SeriesRef(999_999)), &lbl("m", "2"), 2, 1.0)
            .unwrap(),
        b
    );
    app.commit().unwrap();
}

#[test]
fn concurrent_writers_and_readers_see_consistent_data() {
    let head = Head::new(HeadOptions::default());
    let writers = 4;
    let per_writer_series = 50;
    let commits = 200;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    std::thread::scope(|s| {
        for w in 0..writers {
            let head = head.clone();
            s.spawn(move || {
                let labels: Vec<Labels> = (0..per_writer_series)
                    .map(|i| {
                        Labels::from_pairs(&[
                            ("__name__", "c"),
                            ("w", &w.to_string()),
                            ("i", &i.to_string()),
                        ])
                    })
                    .collect();
                let mut refs = vec![None; labels.len()];
                for c in 0..commits {
                    let mut app = head.appender();
                    for (i, l) in labels.iter().enumerate() {
                        refs[i] = Some(app.append(refs[i], l, c * 1000, c as f64).unwrap());
                    }
                    app.commit().unwrap();
                }
            });
        }
        let reader_head = head.clone();
        let stop_r = stop.clone();
        s.spawn(move || {
            // Every series a reader sees holds a gap-free prefix 0, 1, 2, ... (commits are atomic per series).
            let mut rounds = 0;
            while !stop_r.load(std::sync::atomic::Ordering::Relaxed) && rounds < 10_000 {
                rounds += 1;
                for (_, samples) in read_all(
                    &reader_head,
                    i64::MIN,
                    i64::MAX,
                    &[Matcher::equal("__name__", "c")],
                ) {
                    for (k, (t, v)) in samples.iter().enumerate() {
                        assert_eq!(*t, k as i64 * 1000);
                        assert_eq!(*v, k as f64);
                    }
                }
            }
        });
        // Wait for the writers by polling the sample count (bounded).
        let want = (writers * per_writer_series) as u64 * commits as u64;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while head
            .metrics()
            .samples_appended
            .load(std::sync::atomic::Ordering::Relaxed)
            < want
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let all = read_all(&head, i64::MIN, i64::MAX, &[]);
    assert_eq!(all.len(), writers * per_writer_series);
    for (_, s) in all {
        assert_eq!(s.len(), commits as usize);
    }
}

/// `(st, t, v)` of every sample of the series `m{i="1"}` in `[mint, maxt]`.
fn read_st(q: &dyn Queryable, mint: i64, maxt: i64) -> Vec<(i64, i64, f64)> {
    let q = q.querier(mint, maxt).unwrap();
    let set = q.select(true, None, &[Matcher::equal("i", "1")]).unwrap();
    let mut out = vec![];
    for s in set {
        let s = s.unwrap();
        let mut it = s.iterator();
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            out.push((it.at_st(), t, v));
        }
        assert!(it.err().is_none());
    }
    out
}

/// The encodings of the series' chunks, oldest first, open chunk last.
fn chunk_encodings(head: &Head, l: &Labels) -> Vec<crate::chunkenc::Encoding> {
    let s = head.inner.series.get_by_labels(l.hash64(), l).unwrap();
    let d = s.data.lock();
    let mut encs: Vec<_> = d.closed.iter().map(|c| c.enc).collect();
    encs.extend(d.open.as_ref().map(|o| o.chunk.encoding()));
    encs
}

#[test]
fn start_timestamps_are_read_back_through_a_querier() {
    use crate::chunkenc::Encoding::{Xor, XorSt};
    let head = Head::new(HeadOptions::default());
    let l = lbl("m", "1");
    let mut want = vec![];
    let mut app = head.appender();
    // No start timestamps yet: a plain XOR chunk.
    for i in 0..10 {
        app.append(None, &l, i * 1000, i as f64).unwrap();
        want.push((0, i * 1000, i as f64));
    }
    // Mid-chunk the series gets start timestamps: a new XorSt chunk, which
    // also takes samples without (st 0) and delta-style ones; the chunk cut
    // at 120 samples for a sample with st is XorSt too.
    for i in 10..140 {
        let st = match i % 4 {
            0 => 0,
            1 => 7,
            2 => (i - 1) * 1000,
            _ => i * 1000 + 5,
        };
        app.append_st(None, &l, st, i * 1000, i as f64).unwrap();
        want.push((st, i * 1000, i as f64));
    }
    app.commit().unwrap();
    assert_eq!(chunk_encodings(&head, &l), vec![Xor, XorSt, XorSt]);
    assert_eq!(read_st(&head, 0, 1_000_000), want);
    // A range inside the chunks, starting on a sample whose st is encoded
    // as "same as the previous one".
    let part: Vec<_> = want
        .iter()
        .copied()
        .filter(|s| (25_000..=40_000).contains(&s.1))
        .collect();
    assert_eq!(read_st(&head, 25_000, 40_000), part);

    // An XorSt chunk takes samples without st; once it is full (120
    // samples), a chunk cut for a sample without st is plain again.
    let mut app = head.appender();
    for i in 140..260 {
        app.append(None, &l, i * 1000, 0.5).unwrap();
        want.push((0, i * 1000, 0.5));
    }
    app.commit().unwrap();
    assert_eq!(chunk_encodings(&head, &l), vec![Xor, XorSt, XorSt, Xor]);
    assert_eq!(read_st(&head, 0, 1_000_000), want);

    // A duplicate (same t and value) with another st is not stored again.
    let mut app = head.appender();
    app.append_st(None, &l, 123, 259_000, 0.5).unwrap();
    app.commit().unwrap();
    assert_eq!(read_st(&head, 0, 1_000_000), want);

    // Deleting a range re-encodes the chunks and keeps the others' st.
    head.delete(20_000, 29_000, &[Matcher::equal("i", "1")])
        .unwrap();
    want.retain(|s| !(20_000..=29_000).contains(&s.1));
    assert_eq!(read_st(&head, 0, 1_000_000), want);
    assert!(chunk_encodings(&head, &l).contains(&XorSt));
}
