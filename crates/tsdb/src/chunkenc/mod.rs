//! Chunk encodings.
//!
//! Every persisted chunk carries an [`Encoding`] byte, so new encodings
//! (native histograms) can be added without a format break. Today there are
//! three: [`Encoding::Xor`], the appendable Gorilla float encoding the head
//! uses; [`Encoding::XorSt`], the same with a start timestamp per sample
//! (the head switches to it once a series gets a sample with a start
//! timestamp); and [`Encoding::Packed`], a denser immutable encoding for
//! blocks, without start timestamps. `crates/tsdb/docs/format/chunkenc.md`
//! has the bit layouts.

mod bstream;
mod packed;
mod range;
mod xor;

pub use packed::{encode_packed, PackedIterator};
use promlite_storage::{SampleIterator, ValueType};

pub use range::{ChunkView, RangeChunkIterator};
pub use xor::{GenericXorIterator, XorChunk, XorIterator, XorStIterator, SAMPLES_PER_CHUNK};

/// The encoding of a chunk, stored as one byte beside its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    /// Gorilla XOR floats (Prometheus' `EncXOR`, also 1).
    Xor = 1,
    /// The denser, immutable block encoding of [`encode_packed`].
    Packed = 2,
    /// Gorilla XOR floats with a start timestamp after every sample
    /// ([`XorChunk::new_with_st`]). Appendable; blocks keep it as is.
    XorSt = 3,
}

impl Encoding {
    /// The encoding with byte value `b`, if known.
    pub fn from_u8(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Packed),
            3 => Some(Encoding::XorSt),
            _ => None,
        }
    }
}

/// The number of samples recorded in an encoded chunk's header.
pub fn num_samples(enc: Encoding, data: &[u8]) -> u16 {
    match (enc, data) {
        (Encoding::Xor | Encoding::Packed | Encoding::XorSt, [hi, lo, ..]) => {
            u16::from_be_bytes([*hi, *lo])
        }
        _ => 0,
    }
}

/// An iterator over an encoded chunk.
pub fn iterator(enc: Encoding, data: &[u8]) -> ChunkIterator<'_> {
    match enc {
        Encoding::Xor => ChunkIterator::Xor(XorIterator::new(data)),
        Encoding::Packed => ChunkIterator::Packed(PackedIterator::new(data)),
        Encoding::XorSt => ChunkIterator::XorSt(XorStIterator::new(data)),
    }
}

/// Re-encodes a chunk for a block: returns the packed form when it is
/// smaller than `data`. `scratch` is reused between calls. Only
/// [`Encoding::Xor`] chunks are re-encoded: the packed encoding has no start
/// timestamps, so [`Encoding::XorSt`] chunks stay as they are.
pub fn recode_for_block(
    enc: Encoding,
    data: &[u8],
    scratch: &mut Vec<(i64, f64)>,
) -> Option<Vec<u8>> {
    if enc != Encoding::Xor {
        return None;
    }
    scratch.clear();
    let mut it = XorIterator::new(data);
    while it.next() == ValueType::Float {
        scratch.push(it.at());
    }
    if it.is_corrupt() || scratch.is_empty() {
        return None;
    }
    let packed = encode_packed(scratch);
    (packed.len() < data.len()).then_some(packed)
}

/// An iterator over a chunk of any encoding.
#[derive(Debug, Clone)]
pub enum ChunkIterator<'a> {
    /// An XOR chunk.
    Xor(XorIterator<'a>),
    /// A packed chunk.
    Packed(PackedIterator<'a>),
    /// An XOR chunk with start timestamps.
    XorSt(XorStIterator<'a>),
}

impl ChunkIterator<'_> {
    /// Whether decoding stopped because the data was malformed.
    pub fn is_corrupt(&self) -> bool {
        match self {
            ChunkIterator::Xor(i) => i.is_corrupt(),
            ChunkIterator::Packed(i) => i.is_corrupt(),
            ChunkIterator::XorSt(i) => i.is_corrupt(),
        }
    }
}

impl SampleIterator for ChunkIterator<'_> {
    #[inline]
    fn next(&mut self) -> ValueType {
        match self {
            ChunkIterator::Xor(i) => i.next(),
            ChunkIterator::Packed(i) => i.next(),
            ChunkIterator::XorSt(i) => i.next(),
        }
    }
    #[inline]
    fn seek(&mut self, t: i64) -> ValueType {
        match self {
            ChunkIterator::Xor(i) => i.seek(t),
            ChunkIterator::Packed(i) => i.seek(t),
            ChunkIterator::XorSt(i) => i.seek(t),
        }
    }
    #[inline]
    fn at(&self) -> (i64, f64) {
        match self {
            ChunkIterator::Xor(i) => i.at(),
            ChunkIterator::Packed(i) => i.at(),
            ChunkIterator::XorSt(i) => i.at(),
        }
    }
    #[inline]
    fn at_t(&self) -> i64 {
        match self {
            ChunkIterator::Xor(i) => i.at_t(),
            ChunkIterator::Packed(i) => i.at_t(),
            ChunkIterator::XorSt(i) => i.at_t(),
        }
    }
    #[inline]
    fn at_st(&self) -> i64 {
        match self {
            ChunkIterator::Xor(_) | ChunkIterator::Packed(_) => 0,
            ChunkIterator::XorSt(i) => i.at_st(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_with_start_timestamps_is_byte_3_and_stays_unpacked() {
        assert_eq!(Encoding::from_u8(3), Some(Encoding::XorSt));
        assert_eq!(Encoding::XorSt as u8, 3);
        assert_eq!(Encoding::from_u8(4), None);
        let mut c = XorChunk::new_with_st();
        let mut x = XorChunk::new();
        for i in 0..120 {
            c.append_st(if i < 60 { 0 } else { 5 }, i * 15_000, i as f64);
            x.append(i * 15_000, i as f64);
        }
        assert_eq!(num_samples(Encoding::XorSt, c.bytes()), 120);
        let mut scratch = Vec::new();
        // Integer values pack well, but packing would lose the st.
        assert!(recode_for_block(Encoding::Xor, x.bytes(), &mut scratch).is_some());
        assert!(recode_for_block(Encoding::XorSt, c.bytes(), &mut scratch).is_none());
        let mut it = iterator(Encoding::XorSt, c.bytes());
        assert!(matches!(it, ChunkIterator::XorSt(_)));
        assert_eq!(it.seek(60 * 15_000), ValueType::Float);
        assert_eq!((it.at_st(), it.at_t()), (5, 60 * 15_000));
        let mut it = iterator(Encoding::Xor, x.bytes());
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at_st(), 0);
    }
}
