//! Acknowledged WAL positions and their file.
//!
//! Every sample read from a WAL segment has a [`Key`]: the segment, the
//! byte offset where its record starts and its index in the record. Keys
//! grow in WAL order. A shard sends its samples in key order, so after an
//! acknowledgement *all* of the shard's samples below some key are
//! delivered: that key is the shard's watermark. The position file stores
//! the number of shards and every shard's watermark:
//!
//! ```text
//! promlite-remote-position 1
//! shards 2
//! 3 1048576 0
//! 3 1040000 17
//! ```
//!
//! On restart reading starts at the lowest watermark, and a sample of
//! series `r` is skipped when its key is below the watermark of shard
//! `r % shards` (of the saved shard count). So nothing acknowledged is
//! sent twice, however unevenly the shards had progressed, and nothing
//! unacknowledged is skipped. (Only a crash between an acknowledgement
//! and the next save, at most [`crate::writer::SAVE_INTERVAL`] apart,
//! sends a few samples again.)

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// Segment offset of samples read from a checkpoint: they sort after every
/// record of the checkpoint's last segment and before the next segment.
pub(crate) const CHECKPOINT_OFFSET: u64 = u64::MAX;

/// The position of one sample in the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Key {
    /// Segment number.
    pub segment: u64,
    /// Offset of the record's start in the segment ([`CHECKPOINT_OFFSET`]
    /// for samples of checkpoint `segment`).
    pub offset: u64,
    /// Index of the sample in its record.
    pub index: u32,
}

impl Key {
    /// The key right after this one.
    pub(crate) fn succ(self) -> Key {
        Key {
            index: self.index.saturating_add(1),
            ..self
        }
    }
}

/// Saved watermarks: shard `i` delivered every sample of its series
/// (`series_ref % watermarks.len() == i`) with a key below `watermarks[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermarks(pub Vec<Key>);

impl Watermarks {
    /// The lowest watermark: where reading resumes.
    pub fn start(&self) -> Key {
        self.0.iter().copied().min().unwrap_or_default()
    }

    /// True when the sample `key` of series `series_ref` was delivered.
    pub(crate) fn delivered(&self, series_ref: u64, key: Key) -> bool {
        let n = self.0.len() as u64;
        if n == 0 {
            return false;
        }
        self.0
            .get((series_ref % n) as usize)
            .is_some_and(|w| key < *w)
    }

    /// The highest watermark: past it the filter skips nothing.
    pub(crate) fn end(&self) -> Key {
        self.0.iter().copied().max().unwrap_or_default()
    }
}

const MAGIC: &str = "promlite-remote-position 1";

/// Reads a position file; `None` when there is none.
pub(crate) fn load(path: &Path) -> Result<Option<Watermarks>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                op: "read",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let bad = |line| Error::BadPosition {
        path: path.to_path_buf(),
        line,
    };
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(bad(1));
    }
    let n: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("shards "))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad(2))?;
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let line = lines.next().ok_or_else(|| bad(i + 3))?;
        let mut f = line.split(' ').map(str::parse::<u64>);
        let (Some(Ok(segment)), Some(Ok(offset)), Some(Ok(index)), None) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(bad(i + 3));
        };
        let index = u32::try_from(index).map_err(|_| bad(i + 3))?;
        keys.push(Key {
            segment,
            offset,
            index,
        });
    }
    Ok(Some(Watermarks(keys)))
}

/// Writes a position file atomically (temporary file, fsync, rename).
pub(crate) fn store(path: &Path, w: &Watermarks) -> Result<()> {
    let io = |op, source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io("create directory for", e))?;
    }
    let mut text = format!("{MAGIC}\nshards {}\n", w.0.len());
    for k in &w.0 {
        text.push_str(&format!("{} {} {}\n", k.segment, k.offset, k.index));
    }
    let tmp = path.with_extension("position.tmp");
    let mut f = fs::File::create(&tmp).map_err(|e| io("create", e))?;
    f.write_all(text.as_bytes()).map_err(|e| io("write", e))?;
    f.sync_all().map_err(|e| io("fsync", e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io("rename", e))
}

/// The position file of an endpoint key.
pub(crate) fn file_path(data_dir: &Path, key: &str) -> PathBuf {
    data_dir.join("remote").join(format!("{key}.position"))
}

#[derive(Debug, Clone, Copy)]
struct ShardProgress {
    /// Every sample of the shard below this key is delivered.
    acked: Key,
    /// Samples handed to the shard and not yet acknowledged or dropped.
    pending: u64,
}

/// Live watermarks of the running shards, shared by the dispatcher (which
/// hands samples to shards) and the shards (which acknowledge them).
#[derive(Debug)]
pub(crate) struct Progress {
    inner: Mutex<ProgressInner>,
}

#[derive(Debug)]
struct ProgressInner {
    shards: Vec<ShardProgress>,
    /// Every sample below this key has been handed to a shard, skipped or
    /// dropped.
    dispatched: Key,
}

impl Progress {
    /// Progress of `n` shards starting at `start`; `saved` (when it has the
    /// same shard count) keeps the shards' own watermarks.
    pub(crate) fn new(n: usize, start: Key, saved: Option<&Watermarks>) -> Progress {
        let shards = (0..n)
            .map(|i| {
                let acked = match saved {
                    Some(w) if w.0.len() == n => w.0.get(i).copied().unwrap_or(start),
                    _ => start,
                };
                ShardProgress { acked, pending: 0 }
            })
            .collect();
        Progress {
            inner: Mutex::new(ProgressInner {
                shards,
                dispatched: start,
            }),
        }
    }

    /// Records that `counts[i]` samples are about to go to shard `i`, and
    /// that everything below `next` is then dispatched.
    pub(crate) fn dispatch(&self, counts: &[u64], next: Key) {
        let mut p = self.inner.lock();
        for (s, &c) in p.shards.iter_mut().zip(counts) {
            s.pending += c;
        }
        p.dispatched = p.dispatched.max(next);
    }

    /// Records that shard `shard` finished (delivered or dropped) `n`
    /// samples, the last of which had key `last`.
    pub(crate) fn ack(&self, shard: usize, n: u64, last: Key) {
        let mut p = self.inner.lock();
        if let Some(s) = p.shards.get_mut(shard) {
            s.pending = s.pending.saturating_sub(n);
            s.acked = s.acked.max(last.succ());
        }
    }

    /// The current watermarks.
    pub(crate) fn watermarks(&self) -> Watermarks {
        let p = self.inner.lock();
        Watermarks(
            p.shards
                .iter()
                .map(|s| {
                    if s.pending == 0 {
                        s.acked.max(p.dispatched)
                    } else {
                        s.acked
                    }
                })
                .collect(),
        )
    }

    /// The dispatched key.
    pub(crate) fn dispatched(&self) -> Key {
        self.inner.lock().dispatched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(segment: u64, offset: u64, index: u32) -> Key {
        Key {
            segment,
            offset,
            index,
        }
    }

    #[test]
    fn position_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = file_path(dir.path(), "abc");
        assert_eq!(load(&p).unwrap(), None);
        let w = Watermarks(vec![k(3, 100, 0), k(2, CHECKPOINT_OFFSET, 7)]);
        store(&p, &w).unwrap();
        assert_eq!(load(&p).unwrap(), Some(w.clone()));
        assert_eq!(w.start(), k(2, CHECKPOINT_OFFSET, 7));
        fs::write(&p, "promlite-remote-position 1\nshards 2\n1 2 3\n").unwrap();
        assert!(matches!(load(&p), Err(Error::BadPosition { line: 4, .. })));
    }

    #[test]
    fn watermark_is_lowest_unacknowledged_sample_per_shard() {
        let p = Progress::new(2, k(0, 0, 0), None);
        p.dispatch(&[2, 1], k(0, 50, 0));
        p.dispatch(&[1, 0], k(0, 90, 0));
        // Shard 1 is done with everything: its watermark is the dispatch point.
        p.ack(1, 1, k(0, 0, 1));
        // Shard 0 acknowledged only the first record's two samples.
        p.ack(0, 2, k(0, 0, 2));
        assert_eq!(p.watermarks(), Watermarks(vec![k(0, 0, 3), k(0, 90, 0)]));
        p.ack(0, 1, k(0, 50, 0));
        assert_eq!(p.watermarks(), Watermarks(vec![k(0, 90, 0), k(0, 90, 0)]));
    }

    #[test]
    fn saved_watermarks_filter_delivered_samples() {
        let w = Watermarks(vec![k(1, 10, 0), k(1, 30, 2)]);
        assert_eq!(w.start(), k(1, 10, 0));
        assert!(!w.delivered(4, k(1, 20, 0)));
        assert!(w.delivered(5, k(1, 20, 0)));
        assert!(w.delivered(5, k(1, 30, 1)));
        assert!(!w.delivered(5, k(1, 30, 2)));
    }
}
