//! Record framing inside a segment file.
//!
//! ```text
//! ┌───────────┬─────────────┬───────────────┬──────────────────────┐
//! │ type (1B) │ len u32 LE  │ crc32 u32 LE  │ payload (len bytes)  │
//! └───────────┴─────────────┴───────────────┴──────────────────────┘
//!   bit 7: snappy-compressed payload; bits 0-6: record type (1..=127)
//! ```
//!
//! The CRC32 (IEEE) covers the type byte as stored and the payload as stored
//! (compressed, when bit 7 is set). The payload is the record body: the
//! record without its leading type byte.

use std::io::{self, Read};

use crate::error::{CorruptionKind, Error, Result};

use super::record::RecordType;

/// Bytes in a frame header.
pub(crate) const HEADER_SIZE: usize = 9;

/// The largest record body (compressed or not) the WAL writes or reads.
pub const MAX_RECORD_SIZE: usize = 64 << 20;

/// Bit of the type byte marking a snappy-compressed payload.
pub(crate) const COMPRESSED_FLAG: u8 = 0x80;

/// Bodies shorter than this are stored uncompressed.
const MIN_COMPRESS_LEN: usize = 64;

/// The checksum stored in a frame header.
fn frame_crc(type_byte: u8, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&[type_byte]);
    h.update(payload);
    h.finalize()
}

/// Frames records, compressing their bodies when that makes them smaller.
pub(crate) struct FrameEncoder {
    compress: bool,
    snappy: snap::raw::Encoder,
    scratch: Vec<u8>,
}

impl FrameEncoder {
    pub(crate) fn new(compress: bool) -> Self {
        FrameEncoder {
            compress,
            snappy: snap::raw::Encoder::new(),
            scratch: Vec::new(),
        }
    }

    /// Appends the frame of `rec` (`[type][body]`) to `out`.
    pub(crate) fn append(&mut self, rec: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let (&typ, body) = rec.split_first().ok_or(Error::EmptyRecord)?;
        if typ == 0 || typ > RecordType::MAX {
            return Err(Error::InvalidRecordType(typ));
        }
        if body.len() > MAX_RECORD_SIZE {
            return Err(Error::RecordTooLarge {
                size: rec.len(),
                max: MAX_RECORD_SIZE,
            });
        }
        let mut type_byte = typ;
        let mut payload = body;
        if self.compress && body.len() >= MIN_COMPRESS_LEN {
            self.scratch
                .resize(snap::raw::max_compress_len(body.len()), 0);
            if let Ok(n) = self.snappy.compress(body, &mut self.scratch) {
                if n < body.len() {
                    payload = &self.scratch[..n];
                    type_byte |= COMPRESSED_FLAG;
                }
            }
        }
        out.reserve(HEADER_SIZE + payload.len());
        out.push(type_byte);
        // The length fits: payload.len() <= MAX_RECORD_SIZE < u32::MAX.
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame_crc(type_byte, payload).to_le_bytes());
        out.extend_from_slice(payload);
        Ok(())
    }
}

/// The outcome of reading one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A whole, valid record of this many bytes on disk; the record
    /// (`[type][body]`, decompressed) is in the output buffer.
    Record(u64),
    /// The source ended exactly at a frame boundary.
    End,
    /// The source ended inside a frame. More data may still arrive when the
    /// segment is being written.
    Torn(CorruptionKind),
    /// The frame is complete but invalid.
    Corrupt(CorruptionKind),
}

/// Reads up to `buf.len()` bytes, stopping early only at end of input.
fn read_full(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads one frame from `src` into `rec`, using `raw` as scratch for
/// compressed payloads.
pub(crate) fn read_frame(
    src: &mut impl Read,
    raw: &mut Vec<u8>,
    rec: &mut Vec<u8>,
) -> io::Result<Frame> {
    let mut header = [0u8; HEADER_SIZE];
    let have = read_full(src, &mut header)?;
    if have == 0 {
        return Ok(Frame::End);
    }
    if have < HEADER_SIZE {
        return Ok(Frame::Torn(CorruptionKind::TornHeader { have }));
    }
    let type_byte = header[0];
    let typ = type_byte & !COMPRESSED_FLAG;
    if typ == 0 {
        return Ok(Frame::Corrupt(CorruptionKind::BadType(type_byte)));
    }
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    let stored = u32::from_le_bytes([header[5], header[6], header[7], header[8]]);
    if len as usize > MAX_RECORD_SIZE {
        return Ok(Frame::Corrupt(CorruptionKind::BadLength(len)));
    }
    let want = len as usize;
    let compressed = type_byte & COMPRESSED_FLAG != 0;
    let payload: &mut [u8] = if compressed {
        raw.clear();
        raw.resize(want, 0);
        raw
    } else {
        rec.clear();
        rec.push(typ);
        rec.resize(1 + want, 0);
        &mut rec[1..]
    };
    let got = read_full(src, payload)?;
    if got < want {
        return Ok(Frame::Torn(CorruptionKind::TornPayload { want, have: got }));
    }
    let computed = frame_crc(type_byte, payload);
    if computed != stored {
        return Ok(Frame::Corrupt(CorruptionKind::ChecksumMismatch {
            stored,
            computed,
        }));
    }
    if compressed {
        let n = match snap::raw::decompress_len(raw) {
            Ok(n) if n <= MAX_RECORD_SIZE => n,
            _ => return Ok(Frame::Corrupt(CorruptionKind::Decompress)),
        };
        rec.clear();
        rec.push(typ);
        rec.resize(1 + n, 0);
        match snap::raw::Decoder::new().decompress(raw, &mut rec[1..]) {
            Ok(k) if k == n => {}
            _ => return Ok(Frame::Corrupt(CorruptionKind::Decompress)),
        }
    }
    Ok(Frame::Record((HEADER_SIZE + want) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(compress: bool, rec: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        FrameEncoder::new(compress).append(rec, &mut out).unwrap();
        out
    }

    fn read(data: &[u8]) -> (Frame, Vec<u8>) {
        let (mut raw, mut rec) = (Vec::new(), Vec::new());
        let f = read_frame(&mut &data[..], &mut raw, &mut rec).unwrap();
        (f, rec)
    }

    #[test]
    fn compressible_record_is_compressed_and_round_trips() {
        let mut rec = vec![RecordType::SAMPLES];
        rec.extend_from_slice(&[7u8; 4096]);
        let f = frame(true, &rec);
        assert_eq!(f[0], RecordType::SAMPLES | COMPRESSED_FLAG);
        assert!(f.len() < rec.len() / 4);
        assert_eq!(read(&f), (Frame::Record(f.len() as u64), rec.clone()));
        let plain = frame(false, &rec);
        assert_eq!(plain[0], RecordType::SAMPLES);
        assert_eq!(plain.len(), HEADER_SIZE + rec.len() - 1);
        assert_eq!(read(&plain), (Frame::Record(plain.len() as u64), rec));
    }

    #[test]
    fn invalid_records_are_rejected_on_write() {
        let mut out = Vec::new();
        let mut enc = FrameEncoder::new(true);
        assert!(matches!(enc.append(&[], &mut out), Err(Error::EmptyRecord)));
        assert!(matches!(
            enc.append(&[0, 1], &mut out),
            Err(Error::InvalidRecordType(0))
        ));
        assert!(matches!(
            enc.append(&[0x81], &mut out),
            Err(Error::InvalidRecordType(0x81))
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn every_truncation_is_torn_and_every_bit_flip_is_detected() {
        let mut rec = vec![RecordType::SERIES];
        rec.extend((0..200u32).map(|i| (i % 13) as u8));
        for compress in [false, true] {
            let f = frame(compress, &rec);
            assert_eq!(read(&[]).0, Frame::End);
            for cut in 1..f.len() {
                assert!(matches!(read(&f[..cut]).0, Frame::Torn(_)), "cut {cut}");
            }
            for byte in 0..f.len() {
                for bit in 0..8 {
                    let mut g = f.clone();
                    g[byte] ^= 1 << bit;
                    let got = read(&g).0;
                    // A flipped length bit may make the frame look torn
                    // (longer than the data) instead of corrupt.
                    assert!(
                        matches!(got, Frame::Corrupt(_) | Frame::Torn(_)),
                        "flip byte {byte} bit {bit}: {got:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn zeroed_header_and_absurd_length_are_corrupt() {
        assert_eq!(
            read(&[0u8; 32]).0,
            Frame::Corrupt(CorruptionKind::BadType(0))
        );
        let mut h = vec![RecordType::SAMPLES];
        h.extend_from_slice(&u32::MAX.to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        assert_eq!(
            read(&h).0,
            Frame::Corrupt(CorruptionKind::BadLength(u32::MAX))
        );
    }
}
