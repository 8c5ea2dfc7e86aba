//! Tests of the WAL as a whole: segments, repair, checkpoints, failures.

use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::Arc;

use promlite_model::Labels;

use super::record::{encode_samples, encode_series, encode_tombstones};
use super::*;
use crate::error::{CorruptionKind, Error};

/// A sample as `(ref, st, t, value bits)`.
type SampleBits = (u64, i64, i64, u64);

/// A replayed record in a form that compares by value (floats by bits).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rec {
    Series(Vec<(u64, String)>),
    Samples(Vec<SampleBits>),
    Tombstones(Vec<Tombstone>),
}

fn series(refs: &[u64]) -> Vec<RefSeries> {
    refs.iter()
        .map(|&r| RefSeries {
            series_ref: r,
            labels: Labels::from_pairs(&[
                ("__name__", "metric"),
                ("instance", format!("host-{r}").as_str()),
            ]),
        })
        .collect()
}

fn samples(refs: &[u64], t: i64) -> Vec<RefSample> {
    refs.iter()
        .map(|&r| RefSample {
            series_ref: r,
            st: 0,
            t,
            v: r as f64 + t as f64 / 1000.0,
        })
        .collect()
}

fn series_rec(refs: &[u64]) -> Vec<u8> {
    let mut b = Vec::new();
    encode_series(&series(refs), &mut b);
    b
}

fn samples_rec(refs: &[u64], t: i64) -> Vec<u8> {
    let mut b = Vec::new();
    encode_samples(&samples(refs, t), &mut b);
    b
}

/// What replaying `rec` should produce.
fn expect(rec: &[u8]) -> Option<Rec> {
    match RecordType::of(rec) {
        Some(RecordType::Series) => {
            let mut v = Vec::new();
            record::decode_series(rec, &mut v).unwrap();
            Some(conv(ReplayRecord::Series(&v)))
        }
        Some(RecordType::Samples | RecordType::SamplesSt) => {
            let mut v = Vec::new();
            record::decode_samples(rec, &mut v).unwrap();
            Some(conv(ReplayRecord::Samples(&v)))
        }
        Some(RecordType::Tombstones) => {
            let mut v = Vec::new();
            record::decode_tombstones(rec, &mut v).unwrap();
            Some(conv(ReplayRecord::Tombstones(&v)))
        }
        _ => None,
    }
}

fn conv(r: ReplayRecord<'_>) -> Rec {
    match r {
        ReplayRecord::Series(s) => Rec::Series(
            s.iter()
                .map(|s| (s.series_ref, s.labels.to_string()))
                .collect(),
        ),
        ReplayRecord::Samples(s) => Rec::Samples(
            s.iter()
                .map(|s| (s.series_ref, s.st, s.t, s.v.to_bits()))
                .collect(),
        ),
        ReplayRecord::Tombstones(t) => Rec::Tombstones(t.to_vec()),
    }
}

fn replay(dir: &Path) -> (Vec<Rec>, ReplayStats) {
    let mut out = Vec::new();
    let stats = replay_dir(dir, |r| {
        out.push(conv(r));
        Ok(())
    })
    .unwrap();
    (out, stats)
}

fn small(segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        ..WalOptions::default()
    }
}

/// Logs `n` sample records of three samples each; returns what replay
/// should yield.
fn fill(wal: &Wal, n: i64) -> Vec<Rec> {
    (0..n)
        .map(|i| {
            let rec = samples_rec(&[1, 2, 3], i);
            wal.log(&[&rec]).unwrap();
            expect(&rec).unwrap()
        })
        .collect()
}

fn file_len(p: &Path) -> u64 {
    fs::metadata(p).unwrap().len()
}

fn flip_bit(p: &Path, offset: u64) {
    let mut data = fs::read(p).unwrap();
    data[offset as usize] ^= 0x10;
    fs::write(p, data).unwrap();
}

#[test]
fn every_record_type_round_trips_through_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let s = series_rec(&[1, 2]);
    let mut special = Vec::new();
    encode_samples(
        &[
            RefSample {
                series_ref: 1,
                st: 0,
                t: -5,
                v: promlite_model::STALE_NAN,
            },
            RefSample {
                series_ref: 2,
                st: 0,
                t: i64::MAX,
                v: -0.0,
            },
            RefSample {
                series_ref: u64::MAX,
                st: 0,
                t: i64::MIN,
                v: f64::NEG_INFINITY,
            },
            RefSample {
                series_ref: 0,
                st: 0,
                t: 0,
                v: f64::from_bits(0x7ff8_dead_beef_0001),
            },
        ],
        &mut special,
    );
    let mut tomb = Vec::new();
    encode_tombstones(
        &[Tombstone {
            series_ref: 2,
            mint: -10,
            maxt: 10,
        }],
        &mut tomb,
    );
    // A record type from the future is skipped on replay.
    let future: &[u8] = &[RecordType::FIRST_RESERVED, 1, 2, 3];
    let big = samples_rec(&(0..5000).collect::<Vec<_>>(), 1_700_000_000_000);
    wal.log(&[&s, &special]).unwrap();
    wal.log(&[future, &tomb, &big]).unwrap();
    wal.close().unwrap();

    let (got, stats) = replay(dir.path());
    let want: Vec<Rec> = [&s, &special, &tomb, &big]
        .iter()
        .filter_map(|r| expect(r))
        .collect();
    assert_eq!(got, want);
    assert_eq!(stats.records, 5);
    assert_eq!(stats.unknown_records, 1);
    assert_eq!(stats.series, 2);
    assert_eq!(stats.samples, 5004);
    assert_eq!(stats.tombstones, 1);
    assert_eq!(stats.corruption, None);
}

#[test]
fn uncompressed_wal_is_readable_and_compression_shrinks_segments() {
    let mut sizes = Vec::new();
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(
            dir.path(),
            WalOptions {
                compress,
                ..WalOptions::default()
            },
        )
        .unwrap();
        let s = series_rec(&(0..500).collect::<Vec<_>>());
        wal.log(&[&s]).unwrap();
        wal.close().unwrap();
        let (got, _) = replay(dir.path());
        assert_eq!(got, vec![expect(&s).unwrap()]);
        sizes.push(file_len(&segment_path(dir.path(), 0)));
    }
    assert!(sizes[1] < sizes[0] / 2, "{sizes:?}");
}

#[test]
fn records_span_many_segments_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), small(200)).unwrap();
    let want = fill(&wal, 100);
    let (first, last) = wal.segment_range();
    wal.close().unwrap();
    assert_eq!(first, 0);
    assert!(last >= 10, "only {last} segments");
    let segs = list_segments(dir.path()).unwrap();
    assert_eq!(segs, (0..=last).collect::<Vec<_>>());
    for &s in &segs {
        let p = segment_path(dir.path(), s);
        assert_eq!(p.file_name().unwrap().len(), 8);
        assert!(file_len(&p) <= 200, "segment {s} too large");
    }
    assert_eq!(replay(dir.path()).0, want);
    // The reader positions name each record's segment and offset.
    let mut r = WalReader::open(dir.path()).unwrap();
    let mut n = 0;
    while r.next_record().unwrap().is_some() {
        assert!(r.segment() <= last);
        n += 1;
    }
    assert_eq!(n, 100);
}

#[test]
fn a_record_larger_than_a_segment_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), small(64)).unwrap();
    let small_rec = samples_rec(&[1], 1);
    let big = series_rec(&(0..100).collect::<Vec<_>>());
    wal.log(&[&small_rec]).unwrap();
    wal.log(&[&big]).unwrap();
    wal.log(&[&small_rec]).unwrap();
    let (_, last) = wal.segment_range();
    assert_eq!(last, 2);
    wal.close().unwrap();
    assert_eq!(replay(dir.path()).0.len(), 3);
}

#[test]
fn a_batch_that_fits_a_segment_is_not_split() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), small(120)).unwrap();
    let rec = samples_rec(&[1], 1);
    wal.log(&[&rec]).unwrap();
    // Two more records fit into a fresh segment but not after the first.
    wal.log(&[&rec, &rec, &rec]).unwrap();
    wal.close().unwrap();
    let mut r = WalReader::open(dir.path()).unwrap();
    let mut segs = Vec::new();
    while r.next_record().unwrap().is_some() {
        segs.push(r.segment());
    }
    assert_eq!(segs, vec![0, 1, 1, 1]);
}

#[test]
fn invalid_records_are_rejected_and_the_wal_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let ok = samples_rec(&[1], 1);
    assert!(matches!(wal.log(&[&ok, &[]]), Err(Error::EmptyRecord)));
    assert!(matches!(
        wal.log(&[&[0u8, 1]]),
        Err(Error::InvalidRecordType(0))
    ));
    let huge = vec![RecordType::SAMPLES; MAX_RECORD_SIZE + 2];
    assert!(matches!(
        wal.log(&[&huge]),
        Err(Error::RecordTooLarge { .. })
    ));
    wal.log(&[&ok]).unwrap();
    wal.close().unwrap();
    // A rejected batch writes nothing, not even its valid records.
    assert_eq!(replay(dir.path()).0, vec![expect(&ok).unwrap()]);
}

#[test]
fn open_starts_a_new_segment_after_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let want = {
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        let w = fill(&wal, 3);
        // Dropped without close, like a killed process: the data was
        // already handed to the OS.
        drop(wal);
        w
    };
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.segment_range(), (0, 1));
    let more = fill(&wal, 2);
    wal.close().unwrap();
    assert!(matches!(
        wal.log(&[&samples_rec(&[1], 1)]),
        Err(Error::Closed { .. })
    ));
    let (got, _) = replay(dir.path());
    assert_eq!(got, [want, more].concat());
}

#[test]
fn open_rejects_a_tiny_segment_size() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Wal::open(dir.path(), small(3)),
        Err(Error::InvalidOption { .. })
    ));
}

#[test]
fn torn_tail_is_repaired_at_every_cut_point() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), small(300)).unwrap();
    let want = fill(&wal, 20);
    let (_, last) = wal.segment_range();
    wal.close().unwrap();
    let seg = segment_path(dir.path(), last);
    let pristine = fs::read(&seg).unwrap();
    let mut r = WalReader::range(dir.path(), last, last);
    let mut in_last = 0;
    while r.next_record().unwrap().is_some() {
        in_last += 1;
    }
    assert!(in_last >= 2);
    let frame = pristine.len() / in_last;

    for cut in 1..frame {
        let copy = tempfile::tempdir().unwrap();
        for s in list_segments(dir.path()).unwrap() {
            fs::copy(segment_path(dir.path(), s), segment_path(copy.path(), s)).unwrap();
        }
        let cut_at = pristine.len() - frame + cut;
        fs::write(segment_path(copy.path(), last), &pristine[..cut_at]).unwrap();

        // Replay alone reports the torn record where it starts.
        let (got, stats) = replay(copy.path());
        assert_eq!(got, want[..want.len() - 1]);
        let c = stats.corruption.unwrap();
        assert_eq!(
            (c.segment, c.offset),
            (last, (pristine.len() - frame) as u64)
        );

        // Opening the WAL repairs it and appends after it.
        let wal = Wal::open(copy.path(), small(300)).unwrap();
        assert_eq!(
            file_len(&segment_path(copy.path(), last)),
            (pristine.len() - frame) as u64
        );
        let extra = fill(&wal, 1);
        wal.close().unwrap();
        let (got, stats) = replay(copy.path());
        assert_eq!(stats.corruption, None);
        assert_eq!(got, [&want[..want.len() - 1], &extra[..]].concat());
    }
}

#[test]
fn bit_flip_in_the_last_record_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let want = fill(&wal, 10);
    wal.close().unwrap();
    let seg = segment_path(dir.path(), 0);
    let len = file_len(&seg);
    let frame = len / 10;
    flip_bit(&seg, len - 3);

    let (got, stats) = replay(dir.path());
    assert_eq!(got, want[..9]);
    let c = stats.corruption.unwrap();
    assert_eq!((c.segment, c.offset), (0, len - frame));
    assert!(matches!(c.kind, CorruptionKind::ChecksumMismatch { .. }));

    let report = repair(dir.path()).unwrap().unwrap();
    assert_eq!((report.segment, report.offset), (0, len - frame));
    assert!(report.deleted_segments.is_empty());
    assert_eq!(file_len(&seg), len - frame);
    assert_eq!(repair(dir.path()).unwrap(), None);
    assert_eq!(replay(dir.path()).0, want[..9]);
}

#[test]
fn bit_flip_in_a_middle_segment_drops_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), small(200)).unwrap();
    let want = fill(&wal, 60);
    let (_, last) = wal.segment_range();
    wal.close().unwrap();
    assert!(last >= 5);
    let mid = last / 2;
    // Count the records before the flipped one: all of the segments
    // before `mid`, and the first record of `mid` is kept intact.
    let mut r = WalReader::open(dir.path()).unwrap();
    let mut kept = 0;
    let mut second_offset = None;
    while r.next_record().unwrap().is_some() {
        if r.segment() < mid {
            kept += 1;
        } else if r.segment() == mid {
            if r.offset() == 0 {
                kept += 1;
            } else if second_offset.is_none() {
                second_offset = Some(r.offset());
            }
        }
    }
    let off = second_offset.unwrap();
    flip_bit(&segment_path(dir.path(), mid), off + 12);

    let wal = Wal::open(dir.path(), small(200)).unwrap();
    assert_eq!(
        list_segments(dir.path()).unwrap(),
        (0..=mid + 1).collect::<Vec<_>>()
    );
    assert_eq!(file_len(&segment_path(dir.path(), mid)), off);
    assert_eq!(wal.segment_range(), (0, mid + 1));
    wal.close().unwrap();
    let (got, stats) = replay(dir.path());
    assert_eq!(stats.corruption, None);
    assert_eq!(got, want[..kept]);
}

#[test]
fn a_missing_segment_is_corruption_and_repair_cuts_there() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), small(100)).unwrap();
    fill(&wal, 20);
    let (_, last) = wal.segment_range();
    wal.close().unwrap();
    fs::remove_file(segment_path(dir.path(), 2)).unwrap();
    let (_, stats) = replay(dir.path());
    let c = stats.corruption.unwrap();
    assert_eq!(
        (c.segment, c.offset, c.kind),
        (2, 0, CorruptionKind::MissingSegment)
    );
    let report = repair(dir.path()).unwrap().unwrap();
    assert_eq!(report.deleted_segments, (3..=last).collect::<Vec<_>>());
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 1]);
}

#[test]
fn garbage_after_the_last_record_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let want = fill(&wal, 3);
    wal.close().unwrap();
    let seg = segment_path(dir.path(), 0);
    let len = file_len(&seg);
    // A zero-filled tail, as some file systems leave after a crash.
    let f = OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len + 4096).unwrap();
    let (got, stats) = replay(dir.path());
    assert_eq!(got, want);
    assert_eq!(
        stats.corruption.map(|c| (c.offset, c.kind)),
        Some((len, CorruptionKind::BadType(0)))
    );
    Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(file_len(&seg), len);
}

#[test]
fn failed_write_is_undone_and_the_next_write_succeeds() {
    for partial in [0, 5, 40] {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        let mut want = fill(&wal, 2);
        let seg = segment_path(dir.path(), 0);
        let good_len = file_len(&seg);
        wal.inject_write_fault(WriteFault {
            failing_writes: 2,
            partial_bytes: partial,
            failing_truncates: 0,
        });
        for _ in 0..2 {
            let err = wal.log(&[&samples_rec(&[9, 9, 9], 999)]).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::Io { .. }), "{msg}");
            assert!(msg.contains("write WAL segment"), "{msg}");
            let (_, cur) = wal.segment_range();
            assert!(
                msg.contains(&segment_path(dir.path(), cur).display().to_string()),
                "{msg}"
            );
            assert_eq!(file_len(&seg), good_len);
        }
        // Each failure moved writing to a fresh segment, left empty.
        assert_eq!(wal.segment_range(), (0, 1));
        assert_eq!(file_len(&segment_path(dir.path(), 1)), 0);
        want.extend(fill(&wal, 2));
        wal.close().unwrap();
        let (got, stats) = replay(dir.path());
        assert_eq!(stats.corruption, None);
        assert_eq!(got, want);
    }
}

#[test]
fn failed_clean_up_is_retried_before_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let mut want = fill(&wal, 1);
    let seg = segment_path(dir.path(), 0);
    let good_len = file_len(&seg);
    wal.inject_write_fault(WriteFault {
        failing_writes: 1,
        partial_bytes: 7,
        failing_truncates: 2,
    });
    assert!(wal.log(&[&samples_rec(&[5], 5)]).is_err());
    // The partial record is still there...
    assert_eq!(file_len(&seg), good_len + 7);
    // ...and the next call fails while the clean-up still fails...
    let err = wal.log(&[&samples_rec(&[5], 6)]).unwrap_err();
    assert!(err.to_string().contains("truncate WAL segment"), "{err}");
    // ...and succeeds once it works, without leaving the garbage behind,
    // in a new segment.
    want.extend(fill(&wal, 1));
    assert_eq!(file_len(&seg), good_len);
    assert_eq!(wal.segment_range(), (0, 1));
    want.extend(fill(&wal, 1));
    wal.close().unwrap();
    let (got, stats) = replay(dir.path());
    assert_eq!(stats.corruption, None);
    assert_eq!(got, want);
}

#[test]
fn failed_write_after_a_cut_keeps_earlier_segments_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), small(150)).unwrap();
    let mut want = fill(&wal, 5);
    wal.inject_write_fault(WriteFault {
        failing_writes: 1,
        partial_bytes: 3,
        failing_truncates: 0,
    });
    let rec = samples_rec(&[4], 4);
    // Whatever segment the failure hits, replay must stay clean.
    assert!(wal.log(&[&rec, &rec, &rec]).is_err());
    want.extend(fill(&wal, 5));
    wal.close().unwrap();
    let (got, stats) = replay(dir.path());
    assert_eq!(stats.corruption, None);
    assert_eq!(got, want);
}

#[test]
fn concurrent_logging_replays_every_record_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(dir.path(), small(4096)).unwrap());
    let threads = 4u64;
    let per_thread = 200i64;
    let handles: Vec<_> = (0..threads)
        .map(|th| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                for i in 0..per_thread {
                    encode_samples(
                        &[RefSample {
                            series_ref: th,
                            st: 0,
                            t: i,
                            v: 0.0,
                        }],
                        &mut buf,
                    );
                    wal.log(&[&buf]).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(wal.segment_range().1 > 2);
    wal.close().unwrap();
    let mut seen = vec![Vec::new(); threads as usize];
    let stats = replay_dir(dir.path(), |r| {
        if let ReplayRecord::Samples(s) = r {
            for s in s {
                seen[s.series_ref as usize].push(s.t);
            }
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(stats.samples, threads * per_thread as u64);
    for ts in seen {
        // Each thread's records come back once each, in its own order.
        assert_eq!(ts, (0..per_thread).collect::<Vec<_>>());
    }
}

#[test]
fn truncate_before_deletes_old_segments_but_never_the_current() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), small(100)).unwrap();
    fill(&wal, 20);
    let (_, last) = wal.segment_range();
    wal.truncate_before(3).unwrap();
    assert_eq!(wal.segment_range(), (3, last));
    assert_eq!(list_segments(dir.path()).unwrap()[0], 3);
    wal.truncate_before(u64::MAX).unwrap();
    assert_eq!(wal.segment_range(), (last, last));
    assert_eq!(list_segments(dir.path()).unwrap(), vec![last]);
    fill(&wal, 1);
    wal.close().unwrap();
}

/// Writes a WAL with series 0..10, each with samples at t = 0..10, and a
/// tombstone per series; returns the WAL.
fn checkpoint_fixture(dir: &Path) -> Wal {
    let wal = Wal::open(dir, small(500)).unwrap();
    let refs: Vec<u64> = (0..10).collect();
    wal.log(&[&series_rec(&refs)]).unwrap();
    for t in 0..10 {
        wal.log(&[&samples_rec(&refs, t)]).unwrap();
    }
    let mut tomb = Vec::new();
    encode_tombstones(
        &refs
            .iter()
            .map(|&r| Tombstone {
                series_ref: r,
                mint: r as i64,
                maxt: r as i64,
            })
            .collect::<Vec<_>>(),
        &mut tomb,
    );
    wal.log(&[&tomb, &[RecordType::FIRST_RESERVED + 1, 0]])
        .unwrap();
    wal
}

#[test]
fn checkpoint_keeps_exactly_the_needed_records() {
    let dir = tempfile::tempdir().unwrap();
    let wal = checkpoint_fixture(dir.path());
    let to = wal.next_segment().unwrap() - 1;
    assert!(to >= 2, "fixture should span segments");
    let keep = |r: u64| r % 2 == 0;
    let stats = checkpoint(&wal, 0, to, keep, 5).unwrap();
    assert_eq!(stats.total_series, 10);
    assert_eq!(stats.dropped_series, 5);
    assert_eq!(stats.total_samples, 100);
    // Kept: even series with t >= 5 (5 series x 5 samples).
    assert_eq!(stats.dropped_samples, 75);
    assert_eq!(stats.total_tombstones, 10);
    // Kept: even series whose tombstone ends at or after 5 (6 and 8).
    assert_eq!(stats.dropped_tombstones, 8);
    assert_eq!(stats.dropped_unknown_records, 1);
    wal.truncate_before(to + 1).unwrap();
    fill(&wal, 1);
    wal.close().unwrap();

    assert!(dir.path().join(checkpoint_name(to)).is_dir());
    assert_eq!(list_segments(dir.path()).unwrap(), vec![to + 1]);
    let mut series = Vec::new();
    let mut samples = Vec::new();
    let mut tombs = Vec::new();
    let stats = replay_dir(dir.path(), |r| {
        match r {
            ReplayRecord::Series(s) => series.extend(s.iter().map(|s| s.series_ref)),
            ReplayRecord::Samples(s) => samples.extend(s.iter().map(|s| (s.series_ref, s.t))),
            ReplayRecord::Tombstones(t) => tombs.extend_from_slice(t),
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(stats.checkpoint, Some(to));
    assert_eq!(stats.segments, Some((to + 1, to + 1)));
    assert_eq!(series, vec![0, 2, 4, 6, 8]);
    let mut want_samples: Vec<(u64, i64)> = (5..10)
        .flat_map(|t| [0u64, 2, 4, 6, 8].map(|r| (r, t)))
        .collect();
    // The live segment's record comes after the checkpoint's.
    want_samples.extend([(1, 0), (2, 0), (3, 0)]);
    assert_eq!(samples, want_samples);
    assert_eq!(
        tombs.iter().map(|t| t.series_ref).collect::<Vec<_>>(),
        vec![6, 8]
    );
}

#[test]
fn a_second_checkpoint_builds_on_the_first_and_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let wal = checkpoint_fixture(dir.path());
    let first_to = wal.next_segment().unwrap() - 1;
    checkpoint(&wal, 0, first_to, |_| true, i64::MIN).unwrap();
    wal.truncate_before(first_to + 1).unwrap();
    // New samples for series 1 only, in later segments.
    for t in 100..110 {
        wal.log(&[&samples_rec(&[1], t)]).unwrap();
    }
    let second_to = wal.next_segment().unwrap() - 1;
    // A stale leftover of an interrupted checkpoint is cleaned up.
    fs::create_dir(dir.path().join("checkpoint.00000077.tmp")).unwrap();
    // `from` is ignored when it would re-read covered segments.
    let stats = checkpoint(&wal, 0, second_to, |r| r == 1, 100).unwrap();
    assert_eq!(stats.total_series, 10);
    assert_eq!(stats.dropped_series, 9);
    wal.truncate_before(second_to + 1).unwrap();
    wal.close().unwrap();

    let cps: Vec<u64> = list_checkpoints(dir.path())
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(cps, vec![second_to]);
    assert!(!dir.path().join("checkpoint.00000077.tmp").exists());
    let (got, stats) = replay(dir.path());
    assert_eq!(stats.checkpoint, Some(second_to));
    assert_eq!(stats.series, 1);
    assert_eq!(stats.samples, 10);
    assert_eq!(
        got[1..],
        (100..110)
            .map(|t| expect(&samples_rec(&[1], t)).unwrap())
            .collect::<Vec<_>>()[..]
    );
}

/// Writes series 1 (with start timestamps) and 2 (without) sampled at
/// t = 0, 100, ..., 900 into a WAL in `dir`, checkpoints every closed
/// segment keeping the series `keep` accepts from t = 500, and returns
/// the types of the checkpoint's records and the samples replayed.
fn checkpoint_with_st(
    dir: &Path,
    keep: impl Fn(u64) -> bool,
) -> (Vec<RecordType>, Vec<SampleBits>) {
    let wal = Wal::open(dir, small(500)).unwrap();
    wal.log(&[&series_rec(&[1, 2])]).unwrap();
    let mut buf = Vec::new();
    for t in (0..1000).step_by(100) {
        let s = [
            RefSample {
                series_ref: 1,
                st: t - 7,
                t,
                v: t as f64,
            },
            RefSample {
                series_ref: 2,
                st: 0,
                t,
                v: 1.0,
            },
        ];
        encode_samples(&s, &mut buf);
        assert_eq!(RecordType::of(&buf), Some(RecordType::SamplesSt));
        wal.log(&[&buf]).unwrap();
    }
    let to = wal.next_segment().unwrap() - 1;
    checkpoint(&wal, 0, to, keep, 500).unwrap();
    wal.truncate_before(to + 1).unwrap();
    wal.close().unwrap();
    let (_, cp) = last_checkpoint(dir).unwrap().unwrap();
    let mut types = Vec::new();
    let mut r = WalReader::open(&cp).unwrap();
    while let Some(rec) = r.next_record().unwrap() {
        types.extend(RecordType::of(rec));
    }
    let mut samples = Vec::new();
    for rec in replay(dir).0 {
        if let Rec::Samples(s) = rec {
            samples.extend(s);
        }
    }
    (types, samples)
}

#[test]
fn checkpoint_keeps_start_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let (types, samples) = checkpoint_with_st(dir.path(), |_| true);
    assert!(types.contains(&RecordType::SamplesSt), "{types:?}");
    let want: Vec<_> = (500..1000)
        .step_by(100)
        .flat_map(|t| {
            [
                (1, t - 7, t, (t as f64).to_bits()),
                (2, 0, t, 1f64.to_bits()),
            ]
        })
        .collect();
    assert_eq!(samples, want);
    // Without the series that had start timestamps, the re-encoded records
    // are plain sample records.
    let dir = tempfile::tempdir().unwrap();
    let (types, samples) = checkpoint_with_st(dir.path(), |r| r == 2);
    assert!(types.contains(&RecordType::Samples), "{types:?}");
    assert!(!types.contains(&RecordType::SamplesSt), "{types:?}");
    let want: Vec<_> = (500..1000)
        .step_by(100)
        .map(|t| (2, 0, t, 1f64.to_bits()))
        .collect();
    assert_eq!(samples, want);
}

#[test]
fn checkpoint_rejects_bad_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let wal = checkpoint_fixture(dir.path());
    let (_, cur) = wal.segment_range();
    assert!(matches!(
        checkpoint(&wal, 0, cur, |_| true, 0),
        Err(Error::CheckpointRange { .. })
    ));
    assert!(matches!(
        checkpoint(&wal, 2, 1, |_| true, 0),
        Err(Error::CheckpointRange { .. })
    ));
    checkpoint(&wal, 0, 1, |_| true, 0).unwrap();
    assert!(matches!(
        checkpoint(&wal, 3, cur - 1, |_| true, 0),
        Err(Error::CheckpointRange { .. })
    ));
    assert!(matches!(
        checkpoint(&wal, 0, 1, |_| true, 0),
        Err(Error::CheckpointRange { .. })
    ));
}

#[test]
fn reopening_after_a_checkpoint_without_segments_continues_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let wal = checkpoint_fixture(dir.path());
    let to = wal.next_segment().unwrap() - 1;
    checkpoint(&wal, 0, to, |_| true, 0).unwrap();
    wal.truncate_before(to + 1).unwrap();
    wal.close().unwrap();
    // Even with every segment gone, new segments must sort after the
    // checkpoint or replay would skip them.
    for s in list_segments(dir.path()).unwrap() {
        fs::remove_file(segment_path(dir.path(), s)).unwrap();
    }
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.segment_range(), (to + 1, to + 1));
    let more = fill(&wal, 1);
    wal.close().unwrap();
    let (got, _) = replay(dir.path());
    assert_eq!(got.last(), more.last());
}

#[test]
fn corrupt_checkpoint_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let wal = checkpoint_fixture(dir.path());
    let to = wal.next_segment().unwrap() - 1;
    checkpoint(&wal, 0, to, |_| true, 0).unwrap();
    wal.close().unwrap();
    let seg = segment_path(&dir.path().join(checkpoint_name(to)), 0);
    flip_bit(&seg, 20);
    let err = replay_dir(dir.path(), |_| Ok(())).unwrap_err();
    assert!(err.is_corruption(), "{err}");
}

#[test]
fn replay_propagates_callback_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    fill(&wal, 3);
    wal.close().unwrap();
    let mut calls = 0;
    let err = replay_dir(dir.path(), |_| {
        calls += 1;
        Err(Error::EmptyRecord)
    })
    .unwrap_err();
    assert!(matches!(err, Error::EmptyRecord));
    assert_eq!(calls, 1);
}

#[test]
fn live_reader_tails_the_segment_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let (_, seg) = wal.segment_range();
    let mut live = LiveReader::open(dir.path(), seg, 0).unwrap();
    assert_eq!(live.next_record().unwrap(), None);

    let a = samples_rec(&[1], 1);
    wal.log(&[&a]).unwrap();
    assert_eq!(live.next_record().unwrap(), Some(&a[..]));
    assert_eq!(live.next_record().unwrap(), None);
    let after_a = live.offset();

    // A record whose bytes arrive in pieces is only returned when whole.
    let b = samples_rec(&[2, 3], 2);
    let mut frame = Vec::new();
    frame::FrameEncoder::new(false)
        .append(&b, &mut frame)
        .unwrap();
    let path = segment_path(dir.path(), seg);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    use std::io::Write;
    f.write_all(&frame[..4]).unwrap();
    assert_eq!(live.next_record().unwrap(), None);
    f.write_all(&frame[4..frame.len() - 1]).unwrap();
    assert_eq!(live.next_record().unwrap(), None);
    assert!(live.finish().unwrap_err().is_corruption());
    f.write_all(&frame[frame.len() - 1..]).unwrap();
    assert_eq!(live.next_record().unwrap(), Some(&b[..]));
    live.finish().unwrap();

    // A reader reopened at a saved offset continues there.
    let mut again = LiveReader::open(dir.path(), seg, after_a).unwrap();
    assert_eq!(again.next_record().unwrap(), Some(&b[..]));
    assert_eq!(again.segment(), seg);

    // A complete but damaged record is corruption, not "wait for more".
    let mut bad = frame.clone();
    bad[HEADER_OFFSET_OF_PAYLOAD] ^= 1;
    f.write_all(&bad).unwrap();
    let err = live.next_record().unwrap_err();
    assert!(err.is_corruption(), "{err}");
    drop(wal);
}

const HEADER_OFFSET_OF_PAYLOAD: usize = 9;

#[test]
fn segment_bytes_match_the_documented_format() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        dir.path(),
        WalOptions {
            compress: false,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let mut s = Vec::new();
    encode_series(
        &[RefSeries {
            series_ref: 1,
            labels: Labels::from_pairs(&[("a", "b")]),
        }],
        &mut s,
    );
    let mut m = Vec::new();
    encode_samples(
        &[
            RefSample {
                series_ref: 5,
                st: 0,
                t: 1000,
                v: promlite_model::STALE_NAN,
            },
            RefSample {
                series_ref: 4,
                st: 0,
                t: 1015,
                v: 1.0,
            },
        ],
        &mut m,
    );
    let mut m_st = Vec::new();
    encode_samples(
        &[
            RefSample {
                series_ref: 5,
                st: 900,
                t: 1000,
                v: 1.0,
            },
            RefSample {
                series_ref: 4,
                st: 0,
                t: 1015,
                v: 1.0,
            },
        ],
        &mut m_st,
    );
    wal.log(&[&s, &m, &m_st]).unwrap();
    wal.close().unwrap();

    #[rustfmt::skip]
    let series_body: &[u8] = &[
        1, 0, 0, 0, 0, 0, 0, 0, // ref 1
        1,                      // one label
        1, b'a', 1, b'b',       // a="b"
    ];
    #[rustfmt::skip]
    let samples_body: &[u8] = &[
        5, 0, 0, 0, 0, 0, 0, 0,            // ref_0 = 5
        0xe8, 0x03, 0, 0, 0, 0, 0, 0,      // t_0 = 1000
        0, 0, 2, 0, 0, 0, 0, 0, 0xf0, 0x7f, // +0, +0, stale NaN bits
        1, 30, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // -1, +15, 1.0
    ];
    #[rustfmt::skip]
    let samples_st_body: &[u8] = &[
        5, 0, 0, 0, 0, 0, 0, 0,                 // ref_0 = 5
        0xe8, 0x03, 0, 0, 0, 0, 0, 0,           // t_0 = 1000
        0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,     // +0, +0, 1.0
        1, 0xc8, 0x01,                          // st follows: t - st = 100
        1, 30, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,    // -1, +15, 1.0
        0,                                      // no st
    ];
    let mut want = Vec::new();
    for (typ, body) in [
        (1u8, series_body),
        (2u8, samples_body),
        (11u8, samples_st_body),
    ] {
        let mut crc_in = vec![typ];
        crc_in.extend_from_slice(body);
        want.push(typ);
        want.extend_from_slice(&(body.len() as u32).to_le_bytes());
        want.extend_from_slice(&crc32fast::hash(&crc_in).to_le_bytes());
        want.extend_from_slice(body);
    }
    assert_eq!(fs::read(segment_path(dir.path(), 0)).unwrap(), want);
}

#[test]
fn sync_and_next_segment_keep_records() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let mut want = fill(&wal, 2);
    wal.sync().unwrap();
    assert_eq!(wal.next_segment().unwrap(), 1);
    assert_eq!(wal.next_segment().unwrap(), 2);
    want.extend(fill(&wal, 2));
    wal.close().unwrap();
    wal.close().unwrap();
    wal.sync().unwrap();
    assert!(matches!(wal.next_segment(), Err(Error::Closed { .. })));
    let (got, stats) = replay(dir.path());
    assert_eq!(got, want);
    assert_eq!(stats.segments, Some((0, 2)));
}

#[test]
fn live_reader_follows_a_wal_across_segment_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(dir.path(), small(1000)).unwrap());
    let total = 300i64;
    let writer = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || {
            for i in 0..total {
                wal.log(&[&samples_rec(&[7], i)]).unwrap();
                if i % 50 == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    let mut seen = Vec::new();
    let mut seg = 0;
    let mut live = LiveReader::open(dir.path(), seg, 0).unwrap();
    while seen.len() < total as usize {
        if let Some(rec) = live.next_record().unwrap() {
            let mut s = Vec::new();
            record::decode_samples(rec, &mut s).unwrap();
            seen.extend(s.iter().map(|s| s.t));
            continue;
        }
        // Nothing new here: move on once the writer has cut a later
        // segment, after draining what it wrote before the cut.
        if list_segments(dir.path()).unwrap().contains(&(seg + 1)) {
            while let Some(rec) = live.next_record().unwrap() {
                let mut s = Vec::new();
                record::decode_samples(rec, &mut s).unwrap();
                seen.extend(s.iter().map(|s| s.t));
            }
            live.finish().unwrap();
            seg += 1;
            live = LiveReader::open(dir.path(), seg, 0).unwrap();
        } else {
            std::thread::yield_now();
        }
    }
    writer.join().unwrap();
    assert!(seg >= 3, "only {seg} segments followed");
    assert_eq!(seen, (0..total).collect::<Vec<_>>());
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the segment size, batching and compression, replay
        /// returns exactly the logged records in order.
        #[test]
        fn any_batches_replay_in_order(
            segment_size in 10u64..2000,
            compress in any::<bool>(),
            batches in proptest::collection::vec(
                proptest::collection::vec((0u64..50, any::<i64>(), 1usize..40), 1..5),
                1..20,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let wal = Wal::open(dir.path(), WalOptions { segment_size, compress }).unwrap();
            let mut want = Vec::new();
            for batch in &batches {
                let recs: Vec<Vec<u8>> = batch
                    .iter()
                    .map(|&(r, t, n)| {
                        let refs: Vec<u64> = (r..r + n as u64).collect();
                        if t % 3 == 0 {
                            series_rec(&refs)
                        } else {
                            samples_rec(&refs, t)
                        }
                    })
                    .collect();
                let slices: Vec<&[u8]> = recs.iter().map(|r| r.as_slice()).collect();
                wal.log(&slices).unwrap();
                want.extend(recs.iter().map(|r| expect(r).unwrap()));
            }
            wal.close().unwrap();
            let (got, stats) = replay(dir.path());
            prop_assert_eq!(stats.corruption, None);
            prop_assert_eq!(got, want);
        }
    }
}
