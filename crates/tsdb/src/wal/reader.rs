//! Sequential reading of closed segments (Prometheus' `wlog.Reader`).

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::frame::{read_frame, Frame};
use super::{list_segments, segment_path};

/// Read buffer per open segment.
const READ_BUFFER: usize = 1 << 20;

/// Reads the records of a contiguous range of segments in order.
///
/// Every torn or invalid frame is reported as [`Error::Corruption`] with the
/// segment and the offset of the bad frame; reading stops there. Records
/// before it were returned and are valid. A segment missing from the range
/// is reported the same way, at offset 0 of the missing segment.
///
/// A checkpoint directory has the same layout as a WAL directory, so
/// `WalReader::open(checkpoint_dir)` reads a checkpoint.
pub struct WalReader {
    dir: PathBuf,
    next_segment: u64,
    last_segment: u64,
    done: bool,
    cur: Option<BufReader<File>>,
    segment: u64,
    offset: u64,
    next_offset: u64,
    raw: Vec<u8>,
    rec: Vec<u8>,
}

impl WalReader {
    /// Reads every segment in `dir`, from the first to the last.
    pub fn open(dir: impl AsRef<Path>) -> Result<WalReader> {
        let dir = dir.as_ref();
        let segs = list_segments(dir)?;
        match (segs.first(), segs.last()) {
            (Some(&first), Some(&last)) => Ok(Self::range(dir, first, last)),
            _ => Ok(WalReader::empty(dir)),
        }
    }

    /// Reads segments `first..=last` of `dir`. Each of them must exist.
    pub fn range(dir: impl AsRef<Path>, first: u64, last: u64) -> WalReader {
        let mut r = WalReader::empty(dir.as_ref());
        r.next_segment = first;
        r.last_segment = last;
        r.done = first > last;
        r
    }

    fn empty(dir: &Path) -> WalReader {
        WalReader {
            dir: dir.to_path_buf(),
            next_segment: 0,
            last_segment: 0,
            done: true,
            cur: None,
            segment: 0,
            offset: 0,
            next_offset: 0,
            raw: Vec::new(),
            rec: Vec::new(),
        }
    }

    /// The next record (`[type][body]`, decompressed), or `None` after the
    /// last one. The slice is valid until the next call.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>> {
        loop {
            let Some(src) = self.cur.as_mut() else {
                if self.done {
                    return Ok(None);
                }
                self.open_next()?;
                continue;
            };
            let path = || segment_path(&self.dir, self.segment);
            let frame = read_frame(src, &mut self.raw, &mut self.rec)
                .map_err(|e| Error::io("read WAL segment", path(), e))?;
            match frame {
                Frame::Record(n) => {
                    self.offset = self.next_offset;
                    self.next_offset += n;
                    return Ok(Some(&self.rec));
                }
                Frame::End => {
                    self.cur = None;
                }
                Frame::Torn(kind) | Frame::Corrupt(kind) => {
                    let err = Error::Corruption {
                        path: path(),
                        segment: Some(self.segment),
                        offset: self.next_offset,
                        kind,
                    };
                    self.cur = None;
                    self.done = true;
                    return Err(err);
                }
            }
        }
    }

    fn open_next(&mut self) -> Result<()> {
        let n = self.next_segment;
        let path = segment_path(&self.dir, n);
        self.done = n >= self.last_segment;
        self.next_segment = n + 1;
        self.segment = n;
        self.offset = 0;
        self.next_offset = 0;
        match File::open(&path) {
            Ok(f) => {
                self.cur = Some(BufReader::with_capacity(READ_BUFFER, f));
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.done = true;
                Err(Error::Corruption {
                    path,
                    segment: Some(n),
                    offset: 0,
                    kind: crate::error::CorruptionKind::MissingSegment,
                })
            }
            Err(e) => {
                self.done = true;
                Err(Error::io("open WAL segment", path, e))
            }
        }
    }

    /// The segment of the last record returned.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// The byte offset of the last record returned within its segment.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}
