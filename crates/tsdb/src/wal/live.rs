//! Tailing the segment that is being written (Prometheus' `wlog.LiveReader`).

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{CorruptionKind, Error, Result};

use super::frame::{read_frame, Frame};
use super::segment_path;

/// Reads one segment from an offset while a [`Wal`](super::Wal) may still be
/// appending to it.
///
/// [`LiveReader::next_record`] returns `Ok(None)` when no further complete
/// record is there *yet*: at the end of the file or in front of a record
/// whose bytes have not all been written. The next call tries again from
/// the same offset. A complete but invalid record is an
/// [`Error::Corruption`].
///
/// Once the writer has moved on to a later segment this one is final: call
/// [`LiveReader::finish`] to learn whether bytes were left over, which then
/// means a torn record.
///
/// ```
/// use promlite_tsdb::wal::{LiveReader, Wal, WalOptions};
///
/// let dir = tempfile::tempdir()?;
/// let wal = Wal::open(dir.path(), WalOptions::default())?;
/// let (_, seg) = wal.segment_range();
/// let mut live = LiveReader::open(dir.path(), seg, 0)?;
/// assert!(live.next_record()?.is_none());
/// wal.log(&[&[2u8]])?;
/// assert_eq!(live.next_record()?, Some(&[2u8][..]));
/// assert!(live.next_record()?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LiveReader {
    path: PathBuf,
    segment: u64,
    src: BufReader<File>,
    offset: u64,
    pending: Option<CorruptionKind>,
    raw: Vec<u8>,
    rec: Vec<u8>,
}

impl LiveReader {
    /// Opens segment `segment` of the WAL in `dir` and positions the reader
    /// at byte `offset`, which must be a record boundary (0, or a value of
    /// [`LiveReader::offset`] from an earlier reader).
    pub fn open(dir: impl AsRef<Path>, segment: u64, offset: u64) -> Result<LiveReader> {
        let path = segment_path(dir.as_ref(), segment);
        let file = File::open(&path).map_err(|e| Error::io("open WAL segment", &path, e))?;
        let mut src = BufReader::with_capacity(256 << 10, file);
        src.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io("seek WAL segment", &path, e))?;
        Ok(LiveReader {
            path,
            segment,
            src,
            offset,
            pending: None,
            raw: Vec::new(),
            rec: Vec::new(),
        })
    }

    /// The next complete record, or `None` when there is none yet.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>> {
        let frame = read_frame(&mut self.src, &mut self.raw, &mut self.rec)
            .map_err(|e| Error::io("read WAL segment", &self.path, e))?;
        match frame {
            Frame::Record(n) => {
                self.offset += n;
                self.pending = None;
                Ok(Some(&self.rec))
            }
            Frame::End => {
                self.pending = None;
                Ok(None)
            }
            Frame::Torn(kind) => {
                // Go back to the start of the partial record and retry it
                // on the next call.
                self.src
                    .seek(SeekFrom::Start(self.offset))
                    .map_err(|e| Error::io("seek WAL segment", &self.path, e))?;
                self.pending = Some(kind);
                Ok(None)
            }
            Frame::Corrupt(kind) => Err(self.corruption(kind)),
        }
    }

    /// Declares the segment complete. Call it once the writer has cut a
    /// later segment and [`LiveReader::next_record`] has since returned
    /// `None`: a partial record left at the end is then a torn record and
    /// is reported as [`Error::Corruption`] at its offset.
    pub fn finish(&self) -> Result<()> {
        match self.pending {
            Some(kind) => Err(self.corruption(kind)),
            None => Ok(()),
        }
    }

    fn corruption(&self, kind: CorruptionKind) -> Error {
        Error::Corruption {
            path: self.path.clone(),
            segment: Some(self.segment),
            offset: self.offset,
            kind,
        }
    }

    /// The segment being read.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// The offset just past the last record returned; a reader reopened
    /// here continues where this one stopped.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}
