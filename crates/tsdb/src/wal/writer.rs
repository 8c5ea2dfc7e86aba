//! The WAL writer (Prometheus' `wlog.WL`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::error::{Error, Result};

use super::frame::{FrameEncoder, HEADER_SIZE};
use super::{
    last_checkpoint, list_segments, remove_tmp_checkpoints, repair, segment_path, sync_dir,
};

/// The default maximum segment size: 128 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;

/// Batch buffers up to this capacity are kept for the next batch.
const MAX_KEPT_BUFFER: usize = 16 << 20;

/// The smallest accepted segment size.
const MIN_SEGMENT_SIZE: u64 = HEADER_SIZE as u64 + 1;

/// Options of [`Wal::open`].
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// A new segment is cut before a write that would make the current one
    /// larger than this. A single record larger than a segment gets a
    /// segment of its own. Default [`DEFAULT_SEGMENT_SIZE`].
    pub segment_size: u64,
    /// Whether record bodies are snappy-compressed when that makes them
    /// smaller. Readers handle both. Default `true`.
    pub compress: bool,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            compress: true,
        }
    }
}

/// Injected I/O failures, for tests of the error paths.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteFault {
    /// The next this-many segment writes fail.
    pub failing_writes: u32,
    /// How many bytes of each failing write reach the file before it fails
    /// (a partial write, as when the disk fills up mid-record).
    pub partial_bytes: usize,
    /// The next this-many truncations (the clean-up after a failed write)
    /// fail too.
    pub failing_truncates: u32,
}

/// The write-ahead log writer.
///
/// Thread-safe: [`Wal::log`] may be called from many threads; an internal
/// mutex orders their batches, and each batch's records stay contiguous.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    inner: Mutex<Inner>,
}

struct Inner {
    /// The segment being written; `None` once closed.
    file: Option<File>,
    /// Index of the segment being written.
    segment: u64,
    /// Index of the oldest segment on disk.
    first: u64,
    /// Bytes of complete records in the current segment.
    size: u64,
    /// The current segment may hold bytes past `size` from a failed write
    /// whose clean-up failed too; they must be cut off before writing.
    dirty: bool,
    /// A write to the current segment failed: continue in a new segment,
    /// so that no byte offset of a segment ever holds two different
    /// records (a [`super::LiveReader`] may have read the undone ones).
    cut_before_write: bool,
    encoder: FrameEncoder,
    batch: Vec<u8>,
    ends: Vec<usize>,
    fault: WriteFault,
}

impl Wal {
    /// Opens the WAL in `dir`, creating the directory if needed.
    ///
    /// A torn or corrupt tail is repaired first (see [`repair`]); then
    /// writing starts in a new segment after the last segment and after the
    /// last checkpoint.
    pub fn open(dir: impl AsRef<Path>, opts: WalOptions) -> Result<Wal> {
        let dir = dir.as_ref().to_path_buf();
        if opts.segment_size < MIN_SEGMENT_SIZE {
            return Err(Error::InvalidOption {
                name: "segment_size",
                detail: "must hold at least one record header and one byte",
            });
        }
        fs::create_dir_all(&dir).map_err(|e| Error::io("create WAL directory", &dir, e))?;
        remove_tmp_checkpoints(&dir)?;
        repair(&dir)?;
        let segs = list_segments(&dir)?;
        let after_segments = segs.last().map_or(0, |&n| n + 1);
        let after_checkpoint = last_checkpoint(&dir)?.map_or(0, |(n, _)| n + 1);
        let segment = after_segments.max(after_checkpoint);
        let first = segs.first().copied().unwrap_or(segment);
        let file = create_segment(&dir, segment)?;
        tracing::debug!(dir = %dir.display(), segment, "opened WAL");
        let encoder = FrameEncoder::new(opts.compress);
        Ok(Wal {
            dir,
            opts,
            inner: Mutex::new(Inner {
                file: Some(file),
                segment,
                first,
                size: 0,
                dirty: false,
                cut_before_write: false,
                encoder,
                batch: Vec::new(),
                ends: Vec::new(),
                fault: WriteFault::default(),
            }),
        })
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the WAL was opened with.
    pub fn options(&self) -> &WalOptions {
        &self.opts
    }

    /// Appends encoded records (each `[type][body]`, see [`super::record`])
    /// and hands them to the operating system before returning, so they
    /// survive the process being killed (not a power loss: see
    /// [`Wal::sync`]).
    ///
    /// The batch goes into one segment when it fits into one; otherwise a
    /// new segment is cut first. Only a batch larger than a whole segment
    /// is split over several.
    ///
    /// On a write error the current segment is truncated back to its last
    /// complete record, so the WAL stays readable, and the next call starts
    /// a new segment; it succeeds once the cause (say, a full disk) is
    /// gone. The error names the segment file. If the truncation fails too,
    /// the next call retries it first and fails while it keeps failing. If
    /// a batch was split over segments, its records in earlier segments
    /// remain.
    pub fn log(&self, records: &[&[u8]]) -> Result<()> {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        if inner.file.is_none() {
            return Err(Error::Closed {
                dir: self.dir.clone(),
            });
        }
        if inner.dirty || inner.cut_before_write {
            inner.cut(&self.dir)?;
        }
        let mut batch = std::mem::take(&mut inner.batch);
        let mut ends = std::mem::take(&mut inner.ends);
        batch.clear();
        ends.clear();
        let mut res = Ok(());
        for rec in records {
            if let Err(e) = inner.encoder.append(rec, &mut batch) {
                res = Err(e);
                break;
            }
            ends.push(batch.len());
        }
        if res.is_ok() {
            res = inner.write_batch(&self.dir, self.opts.segment_size, &batch, &ends);
        }
        // Keep the buffers for the next batch, unless one huge batch made
        // them balloon.
        if batch.capacity() <= MAX_KEPT_BUFFER {
            inner.batch = batch;
        }
        inner.ends = ends;
        res
    }

    /// Flushes the current segment to stable storage (`fdatasync`).
    ///
    /// The fsync runs outside the internal lock, so concurrent
    /// [`Wal::log`] calls are not held up by it.
    pub fn sync(&self) -> Result<()> {
        let (file, path) = {
            let g = self.inner.lock();
            let Some(f) = &g.file else {
                return Ok(());
            };
            let path = segment_path(&self.dir, g.segment);
            let file = f
                .try_clone()
                .map_err(|e| Error::io("duplicate WAL segment handle", &path, e))?;
            (file, path)
        };
        file.sync_data()
            .map_err(|e| Error::io("fsync WAL segment", path, e))
    }

    /// Closes the current segment (fsynced) and starts a new one; returns
    /// the new segment's index.
    pub fn next_segment(&self) -> Result<u64> {
        let mut g = self.inner.lock();
        if g.file.is_none() {
            return Err(Error::Closed {
                dir: self.dir.clone(),
            });
        }
        g.cut(&self.dir)?;
        Ok(g.segment)
    }

    /// The oldest segment on disk and the segment being written.
    pub fn segment_range(&self) -> (u64, u64) {
        let g = self.inner.lock();
        (g.first, g.segment)
    }

    /// Deletes the segments with an index below `n` (never the one being
    /// written), typically after [`super::checkpoint`] covered them.
    pub fn truncate_before(&self, n: u64) -> Result<()> {
        let mut g = self.inner.lock();
        let limit = n.min(g.segment);
        let mut removed = 0usize;
        for seg in list_segments(&self.dir)? {
            if seg >= limit {
                break;
            }
            let path = segment_path(&self.dir, seg);
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove WAL segment", path, e)),
            }
        }
        g.first = list_segments(&self.dir)?
            .first()
            .copied()
            .unwrap_or(g.segment);
        if removed > 0 {
            sync_dir(&self.dir)?;
            tracing::debug!(dir = %self.dir.display(), before = limit, removed, "truncated WAL");
        }
        Ok(())
    }

    /// Syncs and closes the current segment. Later calls to [`Wal::log`]
    /// fail with [`Error::Closed`]; closing again is a no-op.
    pub fn close(&self) -> Result<()> {
        let mut g = self.inner.lock();
        if g.dirty {
            // Best effort: a leftover partial record in the last segment is
            // also cut off by the repair when the WAL is opened again.
            if let Err(e) = g.truncate_to_size(&self.dir) {
                tracing::warn!(error = %e, "cannot remove a partial record while closing the WAL");
            }
        }
        if let Some(f) = g.file.take() {
            f.sync_all().map_err(|e| {
                Error::io("fsync WAL segment", segment_path(&self.dir, g.segment), e)
            })?;
        }
        Ok(())
    }

    /// Makes upcoming writes (and the truncations cleaning up after them)
    /// fail; for tests of the error paths.
    #[doc(hidden)]
    pub fn inject_write_fault(&self, fault: WriteFault) {
        self.inner.lock().fault = fault;
    }
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (first, last) = self.segment_range();
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("segments", &(first..=last))
            .finish()
    }
}

impl Inner {
    /// Writes framed records; `ends[i]` is the end of frame `i` in `batch`.
    fn write_batch(
        &mut self,
        dir: &Path,
        segment_size: u64,
        batch: &[u8],
        ends: &[usize],
    ) -> Result<()> {
        let total = batch.len() as u64;
        if total == 0 {
            return Ok(());
        }
        // Keep the batch in one segment whenever a fresh one can hold it.
        if self.size > 0 && self.size + total > segment_size && total <= segment_size {
            self.cut(dir)?;
        }
        let mut start = 0usize;
        let mut end = 0usize;
        for &frame_end in ends {
            let grown = self.size + (frame_end - start) as u64;
            if grown > segment_size && (self.size > 0 || end > start) {
                self.write(dir, &batch[start..end])?;
                self.cut(dir)?;
                start = end;
            }
            end = frame_end;
        }
        self.write(dir, &batch[start..end])
    }

    /// Writes `buf` to the current segment, undoing a partial write.
    fn write(&mut self, dir: &Path, buf: &[u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let Some(file) = self.file.as_mut() else {
            return Err(Error::Closed {
                dir: dir.to_path_buf(),
            });
        };
        let res = if self.fault.failing_writes > 0 {
            self.fault.failing_writes -= 1;
            let n = self.fault.partial_bytes.min(buf.len());
            file.write_all(&buf[..n]).and_then(|()| {
                Err(io::Error::other(
                    "injected write failure (no space left on device)",
                ))
            })
        } else {
            file.write_all(buf)
        };
        match res {
            Ok(()) => {
                self.size += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let path = segment_path(dir, self.segment);
                tracing::warn!(
                    path = %path.display(),
                    offset = self.size,
                    error = %e,
                    "WAL write failed; truncating segment to its last complete record"
                );
                self.dirty = true;
                self.cut_before_write = true;
                if let Err(te) = self.truncate_to_size(dir) {
                    tracing::warn!(error = %te, "WAL truncation failed; will retry before the next write");
                }
                Err(Error::io("write WAL segment", path, e))
            }
        }
    }

    /// Cuts the current segment back to `size` bytes.
    fn truncate_to_size(&mut self, dir: &Path) -> Result<()> {
        let path = segment_path(dir, self.segment);
        let Some(file) = self.file.as_ref() else {
            return Ok(());
        };
        let res = if self.fault.failing_truncates > 0 {
            self.fault.failing_truncates -= 1;
            Err(io::Error::other("injected truncate failure"))
        } else {
            // The file is opened in append mode, so the next write lands at
            // the new end.
            file.set_len(self.size)
        };
        res.map_err(|e| Error::io("truncate WAL segment", path, e))?;
        self.dirty = false;
        Ok(())
    }

    /// Syncs and closes the current segment and opens the next one.
    fn cut(&mut self, dir: &Path) -> Result<()> {
        if self.dirty {
            self.truncate_to_size(dir)?;
        }
        if let Some(f) = &self.file {
            f.sync_all()
                .map_err(|e| Error::io("fsync WAL segment", segment_path(dir, self.segment), e))?;
        }
        let next = self.segment + 1;
        let file = create_segment(dir, next)?;
        self.file = Some(file);
        self.segment = next;
        self.size = 0;
        self.dirty = false;
        self.cut_before_write = false;
        tracing::debug!(dir = %dir.display(), segment = next, "cut WAL segment");
        Ok(())
    }
}

/// Creates segment `n` (it must not exist) and makes its entry durable.
fn create_segment(dir: &Path, n: u64) -> Result<File> {
    let path = segment_path(dir, n);
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io("create WAL segment", &path, e))?;
    sync_dir(dir)?;
    Ok(file)
}
