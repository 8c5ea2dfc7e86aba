//! Tests of writing, opening and querying blocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use promlite_model::{Labels, MatchType, Matcher, STALE_NAN_BITS};
use promlite_storage::{Querier, SampleIterator, SelectHints, ValueType};

use super::*;
use crate::chunkenc::{Encoding, XorChunk};
use crate::index::IndexReader;

type Samples = Vec<(i64, f64)>;

const BLOCK_MAX: i64 = 600_000;

/// A few hundred series with several chunks each; some values are NaN or
/// the staleness marker. Series `i` has a sample every second, offset by `i`.
fn test_series() -> Vec<(Labels, Samples)> {
    let mut out = Vec::new();
    for i in 0..300i64 {
        let mut pairs = vec![
            ("__name__".to_string(), format!("metric_{}", i % 3)),
            ("job".to_string(), format!("job{}", i % 5)),
            ("instance".to_string(), format!("host-{i:03}")),
        ];
        if i % 4 == 0 {
            pairs.push((
                "zone".to_string(),
                if i % 8 == 0 { "a" } else { "b\nc" }.to_string(),
            ));
        }
        let l = Labels::from_pairs(&pairs);
        let n = 200 + (i % 7) * 60;
        let samples: Samples = (0..n)
            .map(|j| {
                let t = j * 1000 + i;
                let v = match (i + j) % 53 {
                    0 => f64::NAN,
                    1 => f64::from_bits(STALE_NAN_BITS),
                    _ => (i * 1000 + j) as f64 / 7.0,
                };
                (t, v)
            })
            .collect();
        out.push((l, samples));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Cuts samples into XOR chunks of `per_chunk` samples.
fn to_chunks(samples: &[(i64, f64)], per_chunk: usize) -> Vec<ChunkMeta<'static>> {
    samples
        .chunks(per_chunk)
        .map(|part| {
            let mut c = XorChunk::new();
            for &(t, v) in part {
                c.append(t, v);
            }
            ChunkMeta::owned(
                part[0].0,
                part[part.len() - 1].0,
                Encoding::Xor,
                c.bytes().to_vec(),
            )
        })
        .collect()
}

fn write(dir: &Path, series: &[(Labels, Samples)], opts: &BlockWriterOptions) -> Arc<Block> {
    let mut w = BlockWriter::create(dir, NewBlockMeta::new(0, BLOCK_MAX), opts).unwrap();
    for (l, s) in series {
        w.add_series(l.clone(), &to_chunks(s, 120)).unwrap();
    }
    let meta = w.finish().unwrap();
    let b = Block::open(&dir.join(meta.ulid.to_string())).unwrap();
    assert_eq!(b.meta(), &meta);
    Arc::new(b)
}

type Bits = Vec<(Labels, Vec<(i64, u64)>)>;

fn brute(series: &[(Labels, Samples)], ms: &[Matcher], mint: i64, maxt: i64) -> Bits {
    if ms.is_empty() {
        return vec![];
    }
    series
        .iter()
        .filter(|(l, _)| ms.iter().all(|m| m.matches_labels(l)))
        .map(|(l, s)| {
            let v: Vec<(i64, u64)> = s
                .iter()
                .filter(|(t, _)| *t >= mint && *t <= maxt)
                .map(|&(t, v)| (t, v.to_bits()))
                .collect();
            (l.clone(), v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn drain(it: &mut dyn SampleIterator) -> Vec<(i64, u64)> {
    let mut out = Vec::new();
    while it.next() == ValueType::Float {
        let (t, v) = it.at();
        out.push((t, v.to_bits()));
    }
    assert!(it.err().is_none(), "{:?}", it.err());
    out
}

fn select(q: &dyn Querier, ms: &[Matcher]) -> Bits {
    q.select(true, None, ms)
        .unwrap()
        .map(|s| {
            let s = s.unwrap();
            let v = drain(&mut *s.iterator());
            (s.labels().clone(), v)
        })
        .collect()
}

fn m(t: MatchType, n: &str, v: &str) -> Matcher {
    Matcher::new(t, n, v).unwrap()
}

use MatchType::{Equal as Eq, NotEqual as Ne, NotRegex as Nre, Regex as Re};

fn matcher_sets() -> Vec<Vec<Matcher>> {
    vec![
        vec![],
        vec![m(Eq, "__name__", "metric_1")],
        vec![m(Eq, "__name__", "metric_1"), m(Eq, "job", "job2")],
        vec![m(Eq, "instance", "host-007")],
        vec![m(Eq, "instance", "nope")],
        vec![m(Ne, "job", "job0")],
        vec![m(Eq, "__name__", "metric_0"), m(Ne, "zone", "a")],
        vec![m(Re, "job", "job[12]")],
        vec![m(Re, "job", "job1|job3"), m(Nre, "instance", "host-0.*")],
        vec![m(Re, "zone", "b.c")],
        vec![m(Re, "zone", ".+")],
        vec![m(Re, "zone", "")],
        vec![m(Eq, "zone", ""), m(Eq, "job", "job4")],
        vec![m(Re, "zone", "a|")],
        vec![m(Nre, "zone", "a")],
        vec![m(Re, "__name__", ".*")],
        vec![m(Nre, "__name__", ".*")],
        vec![m(Ne, "missing", "x"), m(Eq, "job", "job3")],
        vec![m(Re, "instance", "host-1[0-4].")],
    ]
}

#[test]
fn select_matches_brute_force_for_every_matcher_kind_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let block = write(dir.path(), &series, &BlockWriterOptions::default());
    let ranges = [
        (i64::MIN, i64::MAX),
        (0, BLOCK_MAX - 1),
        (50_500, 190_250),
        (119_100, 121_000),
        (130_000, 130_000),
        (400_500, 400_600),
        (-10, 5),
        (599_000, 700_000),
        (BLOCK_MAX, i64::MAX),
        (-5_000, -1),
    ];
    for (mint, maxt) in ranges {
        let q = block.querier(mint, maxt);
        for ms in matcher_sets() {
            let want = brute(&series, &ms, mint, maxt);
            let got = select(&q, &ms);
            assert_eq!(got.len(), want.len(), "{ms:?} [{mint}, {maxt}]");
            assert_eq!(got, want, "{ms:?} [{mint}, {maxt}]");
        }
    }
}

#[test]
fn meta_stats_count_samples_series_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let block = write(dir.path(), &series, &BlockWriterOptions::default());
    let st = block.meta().stats;
    let samples: usize = series.iter().map(|(_, s)| s.len()).sum();
    let chunks: usize = series.iter().map(|(_, s)| s.len().div_ceil(120)).sum();
    assert_eq!(st.num_samples, samples as u64);
    assert_eq!(st.num_series, 300);
    assert_eq!(st.num_chunks, chunks as u64);
    assert!(chunks > 3 * 300);
    assert_eq!(block.meta().compaction.level, 1);
    assert_eq!(block.meta().compaction.sources, vec![block.meta().ulid]);
    assert!(block.size_bytes() > 10_000);
    assert_eq!(
        block.dir().file_name().unwrap(),
        block.meta().ulid.to_string().as_str()
    );
    assert!(block.dir().join(TOMBSTONES_FILENAME).exists());
}

#[test]
fn hints_narrow_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let block = write(dir.path(), &series, &BlockWriterOptions::default());
    let q = block.querier(10_000, 100_000);
    let ms = [m(Eq, "job", "job1")];
    let hints = SelectHints {
        start: 50_000,
        end: 200_000,
    };
    let got: Bits = q
        .select(true, Some(&hints), &ms)
        .unwrap()
        .map(|s| {
            let s = s.unwrap();
            let v = drain(&mut *s.iterator());
            (s.labels().clone(), v)
        })
        .collect();
    assert_eq!(got, brute(&series, &ms, 50_000, 100_000));
}

#[test]
fn label_names_and_values_respect_matchers_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let block = write(dir.path(), &series, &BlockWriterOptions::default());
    let ranges = [
        (i64::MIN, i64::MAX),
        (250_000, 300_000),
        (400_000, 401_000),
        (400_500, 400_600),
        (BLOCK_MAX, i64::MAX),
    ];
    let mut sets = matcher_sets();
    sets[0] = vec![];
    for (mint, maxt) in ranges {
        let q = block.querier(mint, maxt);
        for ms in &sets {
            // Prometheus' LabelNames/LabelValues treat "no matchers" as all series.
            let sel: Vec<&(Labels, Samples)> = series
                .iter()
                .filter(|(l, _)| ms.iter().all(|m| m.matches_labels(l)))
                .filter(|(_, s)| s.iter().any(|(t, _)| *t >= mint && *t <= maxt))
                .collect();
            let mut names: Vec<String> = sel
                .iter()
                .flat_map(|(l, _)| l.iter().map(|x| x.name.to_string()))
                .collect();
            names.sort();
            names.dedup();
            assert_eq!(q.label_names(ms).unwrap(), names, "{ms:?} [{mint}, {maxt}]");
            for name in ["job", "zone", "instance", "missing"] {
                let mut vals: Vec<String> = sel
                    .iter()
                    .filter_map(|(l, _)| l.get(name).map(str::to_string))
                    .collect();
                vals.sort();
                vals.dedup();
                assert_eq!(q.label_values(name, ms).unwrap(), vals, "{name} {ms:?}");
            }
        }
    }
}

#[test]
fn seek_works_across_chunks_and_never_moves_back() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let block = write(dir.path(), &series, &BlockWriterOptions::default());
    let (l, samples) = series.iter().find(|(_, s)| s.len() >= 500).unwrap();
    let ms: Vec<Matcher> = l.iter().map(|x| Matcher::equal(x.name, x.value)).collect();
    let (mint, maxt) = (3_000, 400_000);
    let q = block.querier(mint, maxt);
    let set: Vec<_> = q
        .select(true, None, &ms)
        .unwrap()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(set.len(), 1);
    let inr: Vec<(i64, f64)> = samples
        .iter()
        .copied()
        .filter(|(t, _)| *t >= mint && *t <= maxt)
        .collect();
    let first_t = samples[0].0;
    let off = first_t.rem_euclid(1000);

    let mut it = set[0].iterator();
    // Seek before the range lands on the first sample in range.
    assert_eq!(it.seek(i64::MIN), ValueType::Float);
    assert_eq!(it.at().0, inr[0].0);
    // Seek far into a later chunk, onto an exact timestamp.
    let target = 250 * 1000 + off;
    assert_eq!(it.seek(target), ValueType::Float);
    assert_eq!(it.at().0, target);
    // Seeking backwards stays put.
    assert_eq!(it.seek(10), ValueType::Float);
    assert_eq!(it.at().0, target);
    // Between samples: the next one.
    assert_eq!(it.seek(target + 1), ValueType::Float);
    assert_eq!(it.at().0, target + 1000);
    // next continues from there, across the chunk boundary at 360 samples.
    let mut t = target + 1000;
    while t < 365 * 1000 {
        assert_eq!(it.next(), ValueType::Float);
        t += 1000;
        assert_eq!(it.at().0, t);
    }
    // Past maxt: exhausted, and it stays exhausted.
    assert_eq!(it.seek(maxt + 1), ValueType::None);
    assert_eq!(it.next(), ValueType::None);
    assert_eq!(it.seek(0), ValueType::None);

    // A fresh iterator seeking straight into every chunk agrees with the data.
    for (i, &(t, v)) in inr.iter().enumerate().step_by(37) {
        let mut it = set[0].iterator();
        assert_eq!(it.seek(t - 1), ValueType::Float);
        assert_eq!(it.at().0, t);
        assert_eq!(it.at().1.to_bits(), v.to_bits());
        let rest = drain(&mut *it);
        assert_eq!(rest.len(), inr.len() - i - 1);
    }
}

#[test]
fn small_segments_split_chunks_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let opts = BlockWriterOptions { segment_size: 4096 };
    let block = write(dir.path(), &series[..40], &opts);
    let n = std::fs::read_dir(block.dir().join(CHUNKS_DIRNAME))
        .unwrap()
        .count();
    assert!(n > 5, "{n} segments");
    let q = block.querier(i64::MIN, i64::MAX);
    let ms = [m(Re, "__name__", ".+")];
    assert_eq!(
        select(&q, &ms),
        brute(&series[..40], &ms, i64::MIN, i64::MAX)
    );
}

#[test]
fn compaction_view_lends_chunks_that_rewrite_identically() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let block = write(dir.path(), &series, &BlockWriterOptions::default());
    let all: Vec<(Labels, Vec<ChunkMeta<'_>>)> = block.series().map(|r| r.unwrap()).collect();
    assert_eq!(all.len(), series.len());
    for ((l, chunks), (want_l, samples)) in all.iter().zip(&series) {
        assert_eq!(l, want_l);
        assert!(chunks
            .iter()
            .all(|c| matches!(c.data, std::borrow::Cow::Borrowed(_))));
        assert_eq!(chunks, &to_chunks(samples, 120));
    }
    let out = tempfile::tempdir().unwrap();
    let mut meta = NewBlockMeta::new(0, BLOCK_MAX);
    meta.compaction = BlockCompaction {
        level: 2,
        sources: block.meta().compaction.sources.clone(),
        parents: vec![BlockDesc {
            ulid: block.meta().ulid,
            min_time: 0,
            max_time: BLOCK_MAX,
        }],
    };
    let m2 = write_block(out.path(), meta, all).unwrap();
    assert_eq!(m2.stats, block.meta().stats);
    assert_eq!(m2.compaction.level, 2);
    assert_eq!(m2.compaction.sources, vec![block.meta().ulid]);
    let b2 = Block::open(&out.path().join(m2.ulid.to_string())).unwrap();
    assert_eq!(b2.meta().compaction.parents.len(), 1);
    let a = std::fs::read(block.dir().join(INDEX_FILENAME)).unwrap();
    let b = std::fs::read(b2.dir().join(INDEX_FILENAME)).unwrap();
    assert_eq!(a, b, "same series and chunk layout give the same index");
}

#[test]
fn index_reader_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let block = write(dir.path(), &series, &BlockWriterOptions::default());
    assert_eq!(
        IndexReader::label_values(&*block, "job").unwrap(),
        vec!["job0", "job1", "job2", "job3", "job4"]
    );
    assert!(IndexReader::label_values(&*block, "nope")
        .unwrap()
        .is_empty());
    assert_eq!(
        IndexReader::label_values(&*block, "zone").unwrap(),
        vec!["a", "b\nc"]
    );
    assert!(block.postings("job", "nope").unwrap().is_empty());
    assert!(block.postings("nope", "job1").unwrap().is_empty());
    let p = block.postings("job", "job1").unwrap();
    assert_eq!(p.len(), 60);
    for r in p {
        assert_eq!(
            block.index_series(r).unwrap().labels.get("job"),
            Some("job1")
        );
    }
    assert_eq!(block.all_postings().unwrap().len(), 300);
    assert_eq!(
        block.label_names(),
        vec!["__name__", "instance", "job", "zone"]
    );
}

fn only_block(parent: &Path) -> PathBuf {
    let dirs = list_block_dirs(parent).unwrap();
    assert_eq!(dirs.len(), 1);
    dirs[0].clone()
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

#[test]
fn flipped_byte_in_index_fails_open_naming_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    write(dir.path(), &series[..50], &BlockWriterOptions::default());
    let bdir = only_block(dir.path());
    let index = bdir.join(INDEX_FILENAME);
    let orig = std::fs::read(&index).unwrap();
    let len = orig.len();
    let mut positions: Vec<usize> = (0..len).step_by(len / 97 + 1).collect();
    positions.extend([0, 4, 5, 7, 8, 15, len - 36, len - 5, len - 1]);
    for at in positions {
        flip(&index, at);
        let e = Block::open(&bdir).unwrap_err();
        assert!(e.is_corruption(), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("index at offset"), "flip at {at}: {msg}");
        std::fs::write(&index, &orig).unwrap();
    }
    Block::open(&bdir).unwrap();
}

#[test]
fn flipped_byte_in_chunk_fails_open_naming_segment_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    write(dir.path(), &series[..50], &BlockWriterOptions::default());
    let bdir = only_block(dir.path());
    let seg = bdir.join(CHUNKS_DIRNAME).join("000001");
    // The first chunk starts after the 8-byte header; flip inside its data.
    flip(&seg, 8 + 2 + 1 + 5);
    let e = Block::open(&bdir).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("chunks/000001 at offset 8:"), "{msg}");
    assert!(msg.contains("checksum"), "{msg}");
    match e {
        BlockError::Corruption { offset, path, .. } => {
            assert_eq!(offset, 8);
            assert_eq!(path, seg);
        }
        other => panic!("{other}"),
    }
    // A flip in a later chunk names that chunk's offset.
    flip(&seg, 8 + 2 + 1 + 5);
    let size = std::fs::metadata(&seg).unwrap().len() as usize;
    flip(&seg, size - 10);
    let e = Block::open(&bdir).unwrap_err();
    match e {
        BlockError::Corruption { offset, .. } => {
            assert!(offset > 8 && (offset as usize) < size - 10)
        }
        other => panic!("{other}"),
    }
    // A truncated segment.
    let b = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &b[..b.len() - 3]).unwrap();
    let msg = Block::open(&bdir).unwrap_err().to_string();
    assert!(msg.contains("chunks/000001"), "{msg}");
}

#[test]
fn broken_meta_json_fails_open() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    write(dir.path(), &series[..5], &BlockWriterOptions::default());
    let bdir = only_block(dir.path());
    let meta = bdir.join(META_FILENAME);
    let orig = std::fs::read(&meta).unwrap();
    std::fs::write(&meta, &orig[..orig.len() / 2]).unwrap();
    let e = Block::open(&bdir).unwrap_err();
    assert!(matches!(e, BlockError::InvalidMeta { .. }), "{e}");
    assert!(e.to_string().contains("meta.json"), "{e}");
    assert!(e.is_corruption());

    let s = String::from_utf8(orig.clone()).unwrap();
    std::fs::write(&meta, s.replace("\"version\": 1", "\"version\": 7")).unwrap();
    assert!(matches!(
        Block::open(&bdir).unwrap_err(),
        BlockError::UnsupportedVersion { version: 7, .. }
    ));
    std::fs::write(&meta, s.replace("\"numSeries\": 5", "\"numSeries\": 6")).unwrap();
    let msg = Block::open(&bdir).unwrap_err().to_string();
    assert!(msg.contains("numSeries"), "{msg}");

    std::fs::remove_file(&meta).unwrap();
    let e = Block::open(&bdir).unwrap_err();
    assert!(matches!(e, BlockError::Io { .. }), "{e}");
    assert!(e.is_corruption(), "a missing meta.json is a damaged block");
    let se: promlite_storage::Error = e.into();
    assert!(se.to_string().contains("meta.json"), "{se}");
}

#[test]
fn tmp_directory_never_appears_as_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let mut w = BlockWriter::create(
        dir.path(),
        NewBlockMeta::new(0, BLOCK_MAX),
        &Default::default(),
    )
    .unwrap();
    let ulid = w.ulid();
    for (l, s) in &series[..10] {
        w.add_series(l.clone(), &to_chunks(s, 120)).unwrap();
    }
    let tmp = dir.path().join(format!("{ulid}{TMP_SUFFIX}"));
    assert!(tmp.is_dir());
    assert!(list_block_dirs(dir.path()).unwrap().is_empty());
    assert!(!dir.path().join(ulid.to_string()).exists());
    w.finish().unwrap();
    assert!(!tmp.exists());
    assert_eq!(only_block(dir.path()), dir.path().join(ulid.to_string()));

    // A writer that fails or is dropped leaves nothing behind.
    let mut w = BlockWriter::create(
        dir.path(),
        NewBlockMeta::new(0, BLOCK_MAX),
        &Default::default(),
    )
    .unwrap();
    let tmp = dir.path().join(format!("{}{TMP_SUFFIX}", w.ulid()));
    w.add_series(series[5].0.clone(), &to_chunks(&series[5].1, 120))
        .unwrap();
    let e = w
        .add_series(series[4].0.clone(), &to_chunks(&series[4].1, 120))
        .unwrap_err();
    assert!(matches!(e, BlockError::SeriesOutOfOrder { .. }), "{e}");
    drop(w);
    assert!(!tmp.exists());
    let r = write_block(
        dir.path(),
        NewBlockMeta::new(0, BLOCK_MAX),
        vec![
            (series[1].0.clone(), to_chunks(&series[1].1, 120)),
            (series[0].0.clone(), vec![]),
        ],
    );
    assert!(r.is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn writer_rejects_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let l = Labels::from_pairs(&[("a", "1")]);
    let chunk =
        |min, max| ChunkMeta::owned(min, max, Encoding::Xor, XorChunk::new().bytes().to_vec());
    let new =
        || BlockWriter::create(dir.path(), NewBlockMeta::new(0, 100), &Default::default()).unwrap();
    assert!(matches!(
        new().add_series(l.clone(), &[chunk(50, 100)]),
        Err(BlockError::ChunkOutOfBounds { .. })
    ));
    assert!(matches!(
        new().add_series(l.clone(), &[chunk(-1, 10)]),
        Err(BlockError::ChunkOutOfBounds { .. })
    ));
    assert!(matches!(
        new().add_series(l.clone(), &[chunk(20, 10)]),
        Err(BlockError::ChunkOutOfBounds { .. })
    ));
    assert!(matches!(
        new().add_series(l.clone(), &[chunk(0, 10), chunk(10, 20)]),
        Err(BlockError::ChunksOverlap { .. })
    ));
    assert!(matches!(
        new().add_series(Labels::empty(), &[chunk(0, 10)]),
        Err(BlockError::EmptyLabels)
    ));
    let mut w = new();
    w.add_series(l.clone(), &[chunk(0, 10)]).unwrap();
    assert!(matches!(
        w.add_series(l.clone(), &[chunk(20, 30)]),
        Err(BlockError::SeriesOutOfOrder { .. })
    ));
    assert!(matches!(
        BlockWriter::create(dir.path(), NewBlockMeta::new(5, 5), &Default::default()),
        Err(BlockError::InvalidRange { .. })
    ));
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn empty_block_opens_and_selects_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(dir.path(), NewBlockMeta::new(0, 1000), Vec::new()).unwrap();
    let b = Arc::new(Block::open(&dir.path().join(meta.ulid.to_string())).unwrap());
    assert_eq!(meta.stats, BlockStats::default());
    let q = b.querier(0, 1000);
    assert!(select(&q, &[m(Re, "a", ".*")]).is_empty());
    assert!(q.label_names(&[]).unwrap().is_empty());
    assert!(q.label_values("a", &[]).unwrap().is_empty());
}

#[test]
fn querier_outlives_other_handles() {
    let dir = tempfile::tempdir().unwrap();
    let series = test_series();
    let block = write(dir.path(), &series[..3], &BlockWriterOptions::default());
    let q: Box<dyn Querier> = Box::new(block.querier(i64::MIN, i64::MAX));
    drop(block);
    let ms = [m(Re, "job", ".+")];
    assert_eq!(
        select(&*q, &ms),
        brute(&series[..3], &ms, i64::MIN, i64::MAX)
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    #[test]
    fn random_series_round_trip(
        raw in proptest::collection::btree_map(
            proptest::collection::btree_map("[a-c_]{1,3}", "[x-z0-9]{1,3}", 1..4),
            (proptest::collection::vec((1i64..5000, proptest::num::f64::ANY), 1..300), 1usize..130),
            1..25,
        ),
    ) {
        let mut series: Vec<(Labels, Samples, usize)> = raw
            .into_iter()
            .map(|(pairs, (deltas, per_chunk))| {
                let pairs: Vec<(String, String)> = pairs.into_iter().collect();
                let mut t = -1_000_000i64;
                let samples = deltas.into_iter().map(|(d, v)| { t += d; (t, v) }).collect();
                (Labels::from_pairs(&pairs), samples, per_chunk)
            })
            .collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        series.dedup_by(|a, b| a.0 == b.0);
        let dir = tempfile::tempdir().unwrap();
        let input: Vec<(Labels, Vec<ChunkMeta<'static>>)> = series
            .iter()
            .map(|(l, s, n)| (l.clone(), to_chunks(s, *n)))
            .collect();
        let meta = write_block(dir.path(), NewBlockMeta::new(-1_000_000, 1_000_000), input).unwrap();
        let block = Arc::new(Block::open(&dir.path().join(meta.ulid.to_string())).unwrap());
        let q = block.querier(i64::MIN, i64::MAX);
        let got = select(&q, &[m(Re, "__name__", ".*"), m(Nre, "zzz", "x")]);
        let want: Bits = series
            .iter()
            .map(|(l, s, _)| (l.clone(), s.iter().map(|&(t, v)| (t, v.to_bits())).collect()))
            .collect();
        proptest::prop_assert_eq!(got, want);
    }
}

#[test]
fn blocks_and_queriers_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Block>();
    send_sync::<Arc<Block>>();
    send_sync::<BlockQuerier>();
    send_sync::<BlockError>();
}

#[test]
fn corruption_converts_to_a_storage_error_with_path_and_offset() {
    let e = BlockError::Corruption {
        path: PathBuf::from("/d/01X/chunks/000003"),
        offset: 77,
        detail: "chunk checksum mismatch".into(),
    };
    assert!(e.is_corruption());
    let s: promlite_storage::Error = e.into();
    assert!(matches!(s, promlite_storage::Error::Corruption { .. }));
    let msg = s.to_string();
    assert!(
        msg.contains("chunks/000003") && msg.contains("offset 77"),
        "{msg}"
    );
}

/// A two-series block whose `index` and `chunks/000001` bytes are pinned,
/// so that any change to the on-disk format is deliberate.
fn golden_block(dir: &Path) -> BlockMeta {
    let mut c1 = XorChunk::new();
    c1.append(1000, 1.0);
    c1.append(2000, f64::from_bits(STALE_NAN_BITS));
    let mut c2 = XorChunk::new();
    c2.append(3000, 2.5);
    let mut c3 = XorChunk::new();
    c3.append(1500, -1.0);
    let series = vec![
        (
            Labels::from_pairs(&[("__name__", "up"), ("job", "a")]),
            vec![
                ChunkMeta::borrowed(1000, 2000, Encoding::Xor, c1.bytes()),
                ChunkMeta::borrowed(3000, 3000, Encoding::Xor, c2.bytes()),
            ],
        ),
        (
            Labels::from_pairs(&[("__name__", "up"), ("job", "b")]),
            vec![ChunkMeta::borrowed(1500, 1500, Encoding::Xor, c3.bytes())],
        ),
    ];
    write_block(dir, NewBlockMeta::new(0, 7_200_000), series).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn golden_block_bytes_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let meta = golden_block(dir.path());
    let bdir = dir.path().join(meta.ulid.to_string());
    let index = std::fs::read(bdir.join(INDEX_FILENAME)).unwrap();
    let seg = std::fs::read(bdir.join(CHUNKS_DIRNAME).join("000001")).unwrap();
    assert_eq!(hex(&index), GOLDEN_INDEX);
    assert_eq!(hex(&seg), GOLDEN_SEGMENT);
    // The headers, and the TOC pointing at the symbols section right after
    // the index header.
    assert_eq!(&index[..8], b"PLIX\x01\0\0\0");
    assert_eq!(&seg[..8], b"PLCH\x01\0\0\0");
    let toc = &index[index.len() - 36..];
    assert_eq!(&toc[..8], &8u64.to_be_bytes());
    let b = Arc::new(Block::open(&bdir).unwrap());
    let q = b.querier(0, 7_199_999);
    let got = select(&q, &[Matcher::equal("__name__", "up")]);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].1,
        vec![
            (1000, 1f64.to_bits()),
            (2000, STALE_NAN_BITS),
            (3000, 2.5f64.to_bits())
        ]
    );
    assert_eq!(got[1].1, vec![(1500, (-1f64).to_bits())]);
}

const GOLDEN_INDEX: &str = concat!(
    "504c495801000000000000000000002c0000000500000000000000090000000b0000000d00000011",
    "085f5f6e616d655f5f01610162036a6f6202757072be406200000000000000390000000200000000",
    "000000000000000000000017020004030102d00fe8078880808010e80700a6808080100200040302",
    "01b81700b88080801003967e27000000000000004000000002000000000000000000000001000000",
    "03000000010000000200000004000000000000000000000001000000000000000c00000002000000",
    "0000000014e6849542000000000000001c0000000200000000000000010000000100000000000000",
    "010000000100415a5400000000000000080000000000000040000000000000008500000000000000",
    "d1b55104ac",
);
const GOLDEN_SEGMENT: &str = concat!(
    "504c43480100000018010002d00f3ff0000000000000e807c3f40000000000000020a1b77f0f0c01",
    "0001f02e400400000000000094c173910c010001b817bff00000000000002d445a60",
);

#[test]
fn index_with_dangling_chunk_reference_fails_open() {
    let dir = tempfile::tempdir().unwrap();
    let meta = golden_block(dir.path());
    let bdir = dir.path().join(meta.ulid.to_string());
    let block = Block::open(&bdir).unwrap();
    let mut series: Vec<(Labels, Vec<crate::index::IndexChunk>)> = (0..2)
        .map(|r| {
            let s = block.index_series(r).unwrap();
            (s.labels, s.chunks)
        })
        .collect();
    drop(block);
    // Point the second series' chunk one byte into a chunk: the checksums
    // of a rewritten index are fine, but the reference is not a chunk start.
    series[1].1[0].chunk_ref += 1;
    let mut buf = Vec::new();
    crate::index::writer::write_index(&mut buf, &series).unwrap();
    std::fs::write(bdir.join(INDEX_FILENAME), &buf).unwrap();
    let msg = Block::open(&bdir).unwrap_err().to_string();
    assert!(
        msg.contains("index at offset") && msg.contains("chunk reference"),
        "{msg}"
    );

    // A reference to a segment that does not exist.
    series[1].1[0].chunk_ref = (7 << 32) | 8;
    let mut buf = Vec::new();
    crate::index::writer::write_index(&mut buf, &series).unwrap();
    std::fs::write(bdir.join(INDEX_FILENAME), &buf).unwrap();
    assert!(Block::open(&bdir)
        .unwrap_err()
        .to_string()
        .contains("chunk reference"));

    // A stray file in the chunks directory.
    series[1].1[0].chunk_ref -= 6 << 32;
    let mut buf = Vec::new();
    crate::index::writer::write_index(&mut buf, &series).unwrap();
    std::fs::write(bdir.join(INDEX_FILENAME), &buf).unwrap();
    Block::open(&bdir).unwrap();
    std::fs::write(bdir.join(CHUNKS_DIRNAME).join("junk"), b"x").unwrap();
    let msg = Block::open(&bdir).unwrap_err().to_string();
    assert!(msg.contains("chunks/junk"), "{msg}");
}

#[test]
fn chunks_with_start_timestamps_are_stored_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut plain = XorChunk::new();
    plain.append(1000, 1.0);
    plain.append(2000, 2.0);
    let mut with_st = XorChunk::new_with_st();
    with_st.append_st(2500, 3000, 3.0);
    with_st.append_st(0, 4000, 4.0);
    with_st.append_st(4000, 5000, 5.0);
    let l = Labels::from_pairs(&[("__name__", "c_total")]);
    let meta = write_block(
        dir.path(),
        NewBlockMeta::new(0, 7_200_000),
        vec![(
            l.clone(),
            vec![
                ChunkMeta::borrowed(1000, 2000, Encoding::Xor, plain.bytes()),
                ChunkMeta::borrowed(3000, 5000, Encoding::XorSt, with_st.bytes()),
            ],
        )],
    )
    .unwrap();
    assert_eq!(meta.stats.num_samples, 5);
    let bdir = dir.path().join(meta.ulid.to_string());
    let b = Arc::new(Block::open(&bdir).unwrap());
    let (got_l, chunks) = b.series().next().unwrap().unwrap();
    assert_eq!(got_l, l);
    let encs: Vec<Encoding> = chunks.iter().map(|c| c.encoding).collect();
    assert_eq!(encs, vec![Encoding::Xor, Encoding::XorSt]);
    let q = b.querier(0, 7_199_999);
    let set = q.select(true, None, &[Matcher::equal("__name__", "c_total")]);
    let s = set.unwrap().next().unwrap().unwrap();
    let mut it = s.iterator();
    let mut got = vec![];
    while it.next() == ValueType::Float {
        got.push((it.at_st(), it.at_t()));
    }
    assert!(it.err().is_none());
    assert_eq!(
        got,
        vec![(0, 1000), (0, 2000), (2500, 3000), (0, 4000), (4000, 5000)]
    );
    drop(it);
    drop(s);
    drop(q);

    // An encoding byte this version does not know (4), with a valid
    // checksum, still fails verification.
    let seg_path = bdir.join(CHUNKS_DIRNAME).join("000001");
    let mut seg = std::fs::read(&seg_path).unwrap();
    // The second chunk: after the header (8 bytes) and the first chunk
    // (length byte, encoding byte, data, CRC).
    let at = 8 + 1 + 1 + plain.bytes().len() + 4;
    assert_eq!(seg[at] as usize, with_st.bytes().len());
    assert_eq!(seg[at + 1], 3);
    seg[at + 1] = 4;
    let end = at + 2 + with_st.bytes().len();
    let mut h = crc32fast::Hasher::new();
    h.update(&seg[at + 1..end]);
    seg[end..end + 4].copy_from_slice(&h.finalize().to_be_bytes());
    drop(b);
    std::fs::write(&seg_path, &seg).unwrap();
    let msg = Block::open(&bdir).unwrap_err().to_string();
    assert!(msg.contains("unknown chunk encoding 4"), "{msg}");
}
