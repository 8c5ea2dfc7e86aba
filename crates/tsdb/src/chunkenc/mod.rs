//! Chunk encodings.
//!
//! Every persisted chunk carries an [`Encoding`] byte, so new encodings
//! (native histograms) can be added without a format break. Today there is
//! one: [`Encoding::Xor`], the Gorilla float encoding.

mod bstream;
mod range;
mod xor;

pub use range::{ChunkView, RangeChunkIterator};
pub use xor::{XorChunk, XorIterator, SAMPLES_PER_CHUNK};

/// The encoding of a chunk, stored as one byte beside its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    /// Gorilla XOR floats (Prometheus' `EncXOR`, also 1).
    Xor = 1,
}

impl Encoding {
    /// The encoding with byte value `b`, if known.
    pub fn from_u8(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            _ => None,
        }
    }
}

/// The number of samples recorded in an encoded chunk's header.
pub fn num_samples(enc: Encoding, data: &[u8]) -> u16 {
    match (enc, data) {
        (Encoding::Xor, [hi, lo, ..]) => u16::from_be_bytes([*hi, *lo]),
        _ => 0,
    }
}

/// An iterator over an encoded chunk.
pub fn iterator(enc: Encoding, data: &[u8]) -> XorIterator<'_> {
    match enc {
        Encoding::Xor => XorIterator::new(data),
    }
}
