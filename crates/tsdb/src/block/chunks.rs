//! Chunk segment files: `chunks/000001`, `chunks/000002`, ... (see
//! `docs/format/chunks.md`).
//!
//! A chunk reference is the segment's file number in the upper 32 bits and
//! the chunk's byte offset in that file in the lower 32 bits.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::chunkenc::Encoding;
use crate::index::encoding::{put_uvarint, uvarint_len, Decbuf};

use super::error::{BlockError, Result};
use super::mmap::OwnedBytes;

/// The magic number at the start of a segment file ("PLCH").
pub(crate) const CHUNKS_MAGIC: u32 = 0x504C_4348;
/// The segment format version.
pub(crate) const CHUNKS_VERSION: u8 = 1;
/// Magic, version and three zero bytes.
pub(crate) const SEGMENT_HEADER_LEN: usize = 8;
/// The default maximum size of a segment file (512 MiB, as Prometheus).
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 * 1024 * 1024;

/// One encoded chunk of a series, as given to the block writer and as read
/// back for compaction.
///
/// `data` is a [`Cow`] so that callers can lend bytes they already hold (a
/// compactor lends chunks straight from the source blocks' memory maps)
/// or hand over owned buffers (the head, which must copy out under its
/// locks anyway), without another copy either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkMeta<'a> {
    /// The first sample's timestamp.
    pub min_time: i64,
    /// The last sample's timestamp.
    pub max_time: i64,
    /// How `data` is encoded.
    pub encoding: Encoding,
    /// The encoded chunk (for XOR, including its two-byte sample count).
    pub data: Cow<'a, [u8]>,
}

impl<'a> ChunkMeta<'a> {
    /// A chunk borrowing `data`.
    pub fn borrowed(min_time: i64, max_time: i64, encoding: Encoding, data: &'a [u8]) -> Self {
        ChunkMeta {
            min_time,
            max_time,
            encoding,
            data: Cow::Borrowed(data),
        }
    }

    /// A chunk owning `data`.
    pub fn owned(min_time: i64, max_time: i64, encoding: Encoding, data: Vec<u8>) -> Self {
        ChunkMeta {
            min_time,
            max_time,
            encoding,
            data: Cow::Owned(data),
        }
    }

    /// The number of samples in the chunk, from its header.
    pub fn num_samples(&self) -> u16 {
        crate::chunkenc::num_samples(self.encoding, &self.data)
    }

    /// The same chunk owning its bytes, independent of the source's lifetime.
    pub fn into_owned(self) -> ChunkMeta<'static> {
        ChunkMeta {
            min_time: self.min_time,
            max_time: self.max_time,
            encoding: self.encoding,
            data: Cow::Owned(self.data.into_owned()),
        }
    }
}

/// The path of segment `seq` in `dir`.
pub(crate) fn segment_path(dir: &Path, seq: u32) -> PathBuf {
    dir.join(format!("{seq:06}"))
}

/// Appends chunks to numbered segment files.
pub(crate) struct ChunkWriter {
    dir: PathBuf,
    max_size: u64,
    seq: u32,
    cur: Option<(BufWriter<File>, PathBuf)>,
    offset: u64,
    done: Vec<(File, PathBuf)>,
}

impl ChunkWriter {
    /// A writer creating segments in `dir` (which must exist), each at most
    /// `max_size` bytes unless a single chunk is larger.
    pub(crate) fn new(dir: &Path, max_size: u64) -> Self {
        ChunkWriter {
            dir: dir.to_path_buf(),
            max_size: max_size.clamp(SEGMENT_HEADER_LEN as u64 + 1, u64::from(u32::MAX)),
            seq: 0,
            cur: None,
            offset: 0,
            done: Vec::new(),
        }
    }

    fn cut(&mut self) -> Result<()> {
        self.finish_current()?;
        self.seq += 1;
        let path = segment_path(&self.dir, self.seq);
        let f = File::create(&path).map_err(|e| BlockError::io("create", &path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut header = [0u8; SEGMENT_HEADER_LEN];
        header[..4].copy_from_slice(&CHUNKS_MAGIC.to_be_bytes());
        header[4] = CHUNKS_VERSION;
        w.write_all(&header)
            .map_err(|e| BlockError::io("write", &path, e))?;
        self.offset = SEGMENT_HEADER_LEN as u64;
        self.cur = Some((w, path));
        Ok(())
    }

    fn finish_current(&mut self) -> Result<()> {
        if let Some((w, path)) = self.cur.take() {
            let f = w
                .into_inner()
                .map_err(|e| BlockError::io("write", &path, e.into_error()))?;
            self.done.push((f, path));
        }
        Ok(())
    }

    /// Writes one chunk and returns its reference.
    pub(crate) fn write(&mut self, encoding: Encoding, data: &[u8]) -> Result<u64> {
        let len = uvarint_len(data.len() as u64) + 1 + data.len() + 4;
        if len as u64 > u64::from(u32::MAX) - SEGMENT_HEADER_LEN as u64 {
            return Err(BlockError::ChunkTooLarge { len: data.len() });
        }
        let fits = self.offset + len as u64 <= self.max_size;
        let empty = self.offset == SEGMENT_HEADER_LEN as u64;
        if self.cur.is_none() || (!fits && !empty) {
            self.cut()?;
        }
        let chunk_ref = (u64::from(self.seq) << 32) | self.offset;
        let Some((w, path)) = self.cur.as_mut() else {
            return Err(BlockError::io(
                "write",
                &self.dir,
                std::io::Error::other("no open segment"),
            ));
        };
        let mut head = Vec::with_capacity(11);
        put_uvarint(&mut head, data.len() as u64);
        head.push(encoding as u8);
        let mut h = crc32fast::Hasher::new();
        h.update(&[encoding as u8]);
        h.update(data);
        let crc = h.finalize();
        w.write_all(&head)
            .and_then(|()| w.write_all(data))
            .and_then(|()| w.write_all(&crc.to_be_bytes()))
            .map_err(|e| BlockError::io("write", path.as_path(), e))?;
        self.offset += len as u64;
        Ok(chunk_ref)
    }

    /// Flushes and fsyncs every segment.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.finish_current()?;
        for (f, path) in &self.done {
            f.sync_all().map_err(|e| BlockError::io("fsync", path, e))?;
        }
        Ok(())
    }
}

/// The memory-mapped, verified segment files of a block.
#[derive(Debug)]
pub(crate) struct ChunkSegments {
    /// Segment `i` is file number `i + 1`.
    segments: Vec<(OwnedBytes, PathBuf)>,
}

impl ChunkSegments {
    /// Maps every segment in `dir` and verifies each chunk's checksum.
    /// Returns the segments and, per segment, the sorted offsets at which
    /// chunks start (to validate the index's references against).
    pub(crate) fn open(dir: &Path) -> Result<(ChunkSegments, Vec<Vec<u32>>)> {
        let mut seqs = Vec::new();
        let rd = fs::read_dir(dir).map_err(|e| BlockError::io("read dir", dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| BlockError::io("read dir", dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            match name.parse::<u32>() {
                Ok(n) if name.len() == 6 => seqs.push(n),
                _ => {
                    return Err(BlockError::corruption(
                        entry.path(),
                        0,
                        "unexpected file in chunks directory",
                    ))
                }
            }
        }
        seqs.sort_unstable();
        let mut segments = Vec::with_capacity(seqs.len());
        let mut starts = Vec::with_capacity(seqs.len());
        for (i, &seq) in seqs.iter().enumerate() {
            let path = segment_path(dir, seq);
            if seq as usize != i + 1 {
                return Err(BlockError::corruption(
                    &path,
                    0,
                    format!(
                        "segment numbers are not contiguous from 1 (expected {:06})",
                        i + 1
                    ),
                ));
            }
            let bytes = OwnedBytes::open(&path)?;
            starts.push(verify_segment(bytes.as_slice(), &path)?);
            segments.push((bytes, path));
        }
        Ok((ChunkSegments { segments }, starts))
    }

    /// The total size of the segment files.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|(b, _)| b.len() as u64).sum()
    }

    /// The encoding and data of the chunk at `chunk_ref`, borrowed from the map.
    pub(crate) fn chunk(&self, chunk_ref: u64) -> Result<(Encoding, &[u8])> {
        let seq = (chunk_ref >> 32) as usize;
        let offset = (chunk_ref & 0xffff_ffff) as usize;
        let Some((bytes, path)) = self.segments.get(seq.wrapping_sub(1)) else {
            return Err(BlockError::corruption(
                format!("chunks/{seq:06}"),
                offset as u64,
                "chunk reference to a missing segment",
            ));
        };
        let b = bytes.as_slice();
        let mut d = Decbuf::new(b.get(offset..).unwrap_or_default(), offset as u64);
        let err = |_| BlockError::corruption(path, offset as u64, "invalid chunk reference");
        let len = d
            .uvarint_at_most(d.remaining(), "chunk length")
            .map_err(err)?;
        let enc = d.u8("chunk encoding").map_err(err)?;
        let data = d.bytes(len, "chunk data").map_err(err)?;
        let enc = Encoding::from_u8(enc)
            .ok_or_else(|| BlockError::corruption(path, offset as u64, "unknown chunk encoding"))?;
        Ok((enc, data))
    }
}

/// Checks a segment's header and every chunk's encoding and CRC32; returns
/// the offsets where chunks start.
fn verify_segment(b: &[u8], path: &Path) -> Result<Vec<u32>> {
    let corrupt = |offset: u64, d: String| BlockError::corruption(path, offset, d);
    if b.len() < SEGMENT_HEADER_LEN {
        return Err(corrupt(0, format!("file too short ({} bytes)", b.len())));
    }
    if b.len() > u32::MAX as usize {
        return Err(corrupt(
            u64::from(u32::MAX),
            "segment larger than 4 GiB".into(),
        ));
    }
    let magic = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if magic != CHUNKS_MAGIC {
        return Err(corrupt(0, format!("bad magic {magic:#010x}")));
    }
    if b[4] != CHUNKS_VERSION {
        return Err(corrupt(4, format!("unsupported segment version {}", b[4])));
    }
    if b[5..SEGMENT_HEADER_LEN].iter().any(|&x| x != 0) {
        return Err(corrupt(5, "non-zero header padding".into()));
    }
    let mut starts = Vec::new();
    let mut d = Decbuf::new(&b[SEGMENT_HEADER_LEN..], SEGMENT_HEADER_LEN as u64);
    while d.remaining() > 0 {
        let at = d.offset();
        let derr = |e: crate::index::encoding::DecodeError| {
            corrupt(
                at,
                format!("truncated chunk ({} at offset {})", e.what, e.offset),
            )
        };
        let len = d.uvarint_at_most(d.remaining(), "length").map_err(derr)?;
        let enc = d.u8("encoding").map_err(derr)?;
        let data = d.bytes(len, "data").map_err(derr)?;
        let want = d.be32("checksum").map_err(derr)?;
        let mut h = crc32fast::Hasher::new();
        h.update(&[enc]);
        h.update(data);
        if h.finalize() != want {
            return Err(corrupt(at, "chunk checksum mismatch".into()));
        }
        if Encoding::from_u8(enc).is_none() {
            return Err(corrupt(at, format!("unknown chunk encoding {enc}")));
        }
        starts.push(at as u32);
    }
    Ok(starts)
}
