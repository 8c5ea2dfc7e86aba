//! Chunk encodings.
//!
//! Every persisted chunk carries an [`Encoding`] byte, so new encodings
//! (native histograms) can be added without a format break. Today there is
//! two: [`Encoding::Xor`], the appendable Gorilla float encoding the head
//! uses, and [`Encoding::Packed`], a denser immutable encoding for blocks.

mod bstream;
mod packed;
mod range;
mod xor;

pub use packed::{encode_packed, PackedIterator};
use promlite_storage::{SampleIterator, ValueType};

pub use range::{ChunkView, RangeChunkIterator};
pub use xor::{XorChunk, XorIterator, SAMPLES_PER_CHUNK};

/// The encoding of a chunk, stored as one byte beside its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    /// Gorilla XOR floats (Prometheus' `EncXOR`, also 1).
    Xor = 1,
    /// The denser, immutable block encoding of [`encode_packed`].
    Packed = 2,
}

impl Encoding {
    /// The encoding with byte value `b`, if known.
    pub fn from_u8(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Packed),
            _ => None,
        }
    }
}

/// The number of samples recorded in an encoded chunk's header.
pub fn num_samples(enc: Encoding, data: &[u8]) -> u16 {
    match (enc, data) {
        (Encoding::Xor | Encoding::Packed, [hi, lo, ..]) => u16::from_be_bytes([*hi, *lo]),
        _ => 0,
    }
}

/// An iterator over an encoded chunk.
pub fn iterator(enc: Encoding, data: &[u8]) -> ChunkIterator<'_> {
    match enc {
        Encoding::Xor => ChunkIterator::Xor(XorIterator::new(data)),
        Encoding::Packed => ChunkIterator::Packed(PackedIterator::new(data)),
    }
}

/// Re-encodes a chunk for a block: returns the packed form when it is
/// smaller than `data`. `scratch` is reused between calls.
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
}

impl ChunkIterator<'_> {
    /// Whether decoding stopped because the data was malformed.
    pub fn is_corrupt(&self) -> bool {
        match self {
            ChunkIterator::Xor(i) => i.is_corrupt(),
            ChunkIterator::Packed(i) => i.is_corrupt(),
        }
    }
}

impl SampleIterator for ChunkIterator<'_> {
    #[inline]
    fn next(&mut self) -> ValueType {
        match self {
            ChunkIterator::Xor(i) => i.next(),
            ChunkIterator::Packed(i) => i.next(),
        }
    }
    #[inline]
    fn seek(&mut self, t: i64) -> ValueType {
        match self {
            ChunkIterator::Xor(i) => i.seek(t),
            ChunkIterator::Packed(i) => i.seek(t),
        }
    }
    #[inline]
    fn at(&self) -> (i64, f64) {
        match self {
            ChunkIterator::Xor(i) => i.at(),
            ChunkIterator::Packed(i) => i.at(),
        }
    }
    #[inline]
    fn at_t(&self) -> i64 {
        match self {
            ChunkIterator::Xor(i) => i.at_t(),
            ChunkIterator::Packed(i) => i.at_t(),
        }
    }
}
