//! The write-ahead log (Prometheus' `tsdb/wlog` and `tsdb/record`).
//!
//! The head logs every new series and every committed batch of samples
//! here before acknowledging it, and rebuilds itself from the log after a
//! restart. The on-disk format is described, with diagrams, in
//! `crates/tsdb/docs/format/wal.md`.
//!
//! * [`Wal`] appends framed records to numbered segment files
//!   (`wal/00000000`, `wal/00000001`, …), cutting a new segment when the
//!   current one would grow past [`WalOptions::segment_size`].
//! * [`WalReader`] reads the records of a segment range (or of a
//!   checkpoint directory) in order, and [`LiveReader`] tails the segment
//!   that is being written (for remote write).
//! * [`repair`] truncates a torn or corrupt tail; [`Wal::open`] calls it.
//! * [`checkpoint`] compacts old segments into `wal/checkpoint.NNNNNNNN`,
//!   and [`replay_dir`] reads the last checkpoint and the segments after it,
//!   decoding records into [`ReplayRecord`]s.
//! * [`record`] holds the record types and their encoders and decoders.
//!
//! ```
//! use promlite_model::Labels;
//! use promlite_tsdb::wal::{self, record, RefSample, RefSeries, ReplayRecord, Wal, WalOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let wal = Wal::open(dir.path(), WalOptions::default())?;
//! let mut buf = Vec::new();
//! record::encode_series(
//!     &[RefSeries { series_ref: 1, labels: Labels::from_pairs(&[("__name__", "up")]) }],
//!     &mut buf,
//! );
//! wal.log(&[&buf])?;
//! record::encode_samples(&[RefSample { series_ref: 1, st: 0, t: 1000, v: 1.0 }], &mut buf);
//! wal.log(&[&buf])?;
//! wal.close()?;
//!
//! let mut samples = 0;
//! let stats = wal::replay_dir(dir.path(), |rec| {
//!     if let ReplayRecord::Samples(s) = rec {
//!         samples += s.len();
//!     }
//!     Ok(())
//! })?;
//! assert_eq!((samples, stats.series, stats.corruption), (1, 1, None));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

mod checkpoint;
mod frame;
mod live;
mod reader;
pub mod record;
mod repair;
mod replay;
mod writer;

#[cfg(test)]
mod tests;

pub use checkpoint::{checkpoint, CheckpointStats};
pub use frame::MAX_RECORD_SIZE;
pub use live::LiveReader;
pub use reader::WalReader;
pub use record::{RecordType, RefSample, RefSeries, Tombstone};
pub use repair::{repair, repair_at, RepairReport};
pub use replay::{replay_dir, CorruptionInfo, ReplayRecord, ReplayStats};
#[doc(hidden)]
pub use writer::WriteFault;
pub use writer::{Wal, WalOptions, DEFAULT_SEGMENT_SIZE};

/// Prefix of checkpoint directory names.
const CHECKPOINT_PREFIX: &str = "checkpoint.";
/// Suffix of checkpoint directories still being written.
const TMP_SUFFIX: &str = ".tmp";

/// The file name of segment `n`: eight (or more) decimal digits.
pub fn segment_name(n: u64) -> String {
    format!("{n:08}")
}

/// The path of segment `n` in `dir`.
pub fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(segment_name(n))
}

/// The directory name of the checkpoint covering segments up to `n`.
pub fn checkpoint_name(n: u64) -> String {
    format!("{CHECKPOINT_PREFIX}{n:08}")
}

/// The indexes of the segment files in `dir`, ascending. Other files and
/// directories are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in read_dir(dir)? {
        let entry = entry.map_err(|e| Error::io("list WAL directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.len() < 8 || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(n) = name.parse::<u64>() {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The completed checkpoints in `dir` as `(index, path)`, ascending.
pub fn list_checkpoints(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in read_dir(dir)? {
        let entry = entry.map_err(|e| Error::io("list WAL directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(digits) = name.strip_prefix(CHECKPOINT_PREFIX) else {
            continue;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(n) = digits.parse::<u64>() {
            out.push((n, entry.path()));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The newest completed checkpoint in `dir`, if any.
pub fn last_checkpoint(dir: &Path) -> Result<Option<(u64, PathBuf)>> {
    Ok(list_checkpoints(dir)?.pop())
}

fn read_dir(dir: &Path) -> Result<fs::ReadDir> {
    fs::read_dir(dir).map_err(|e| Error::io("list WAL directory", dir, e))
}

/// Removes `checkpoint.*.tmp` directories left by an interrupted
/// checkpoint.
pub(crate) fn remove_tmp_checkpoints(dir: &Path) -> Result<()> {
    for entry in read_dir(dir)? {
        let entry = entry.map_err(|e| Error::io("list WAL directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(CHECKPOINT_PREFIX) && name.ends_with(TMP_SUFFIX) {
            let path = entry.path();
            tracing::info!(path = %path.display(), "removing leftover temporary checkpoint");
            fs::remove_dir_all(&path)
                .map_err(|e| Error::io("remove temporary checkpoint", &path, e))?;
        }
    }
    Ok(())
}

/// Makes the directory entries of `dir` durable (created, renamed and
/// removed files).
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let f = fs::File::open(dir).map_err(|e| Error::io("open directory for fsync", dir, e))?;
    match f.sync_all() {
        Ok(()) => Ok(()),
        // Some platforms and file systems cannot fsync a directory.
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        Err(e) => Err(Error::io("fsync directory", dir, e)),
    }
}
