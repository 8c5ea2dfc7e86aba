//! Bit streams: a growable writer and a fast reader.
//!
//! Bits are written most-significant first, as in Prometheus' `bstream`.

/// An append-only bit stream backed by a byte vector.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0 when the last byte is full or
    /// there is none).
    free: u8,
}

impl BitWriter {
    /// A writer continuing after the given bytes, the last of which has
    /// `free` unused low bits.
    pub(crate) fn from_bytes(bytes: Vec<u8>, free: u8) -> Self {
        BitWriter { bytes, free }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.bytes
    }

    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(bit as u64, 1);
    }

    /// Writes the low `nbits` bits of `v` (`nbits <= 64`).
    #[inline]
    pub(crate) fn write_bits(&mut self, v: u64, mut nbits: u8) {
        debug_assert!(nbits <= 64);
        if nbits == 0 {
            return;
        }
        let mut v = if nbits == 64 {
            v
        } else {
            v & ((1u64 << nbits) - 1)
        };
        // Fill the partial last byte first.
        if self.free > 0 {
            let take = self.free.min(nbits);
            let shift = nbits - take;
            let top = (v >> shift) as u8; // `take` bits
            let last = self.bytes.len() - 1;
            self.bytes[last] |= top << (self.free - take);
            self.free -= take;
            nbits -= take;
            if nbits == 0 {
                return;
            }
            v &= (1u64 << nbits) - 1;
        }
        // Grow in small steps rather than doubling: a head chunk lives for
        // hours, and doubling would leave up to half of it unused.
        if self.bytes.capacity() - self.bytes.len() < 9 {
            let extra = (self.bytes.len() / 4).max(16);
            self.bytes.reserve_exact(extra);
        }
        // Whole bytes.
        while nbits >= 8 {
            nbits -= 8;
            self.bytes.push((v >> nbits) as u8);
        }
        if nbits > 0 {
            self.bytes.push((v as u8) << (8 - nbits));
            self.free = 8 - nbits;
        }
    }
}

/// A reader over a bit stream that loads a 64-bit window at the current
/// bit position for every field: one unaligned load, no refill state.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    /// At least 57 bits starting at the current position, left-aligned.
    /// Bits past the end of the data read as zero; callers check
    /// [`BitReader::overrun`] after a complete field group.
    #[inline(always)]
    pub(crate) fn peek(&self) -> u64 {
        let byte = self.pos >> 3;
        let w = match self.data.get(byte..byte + 8) {
            Some(s) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(s);
                u64::from_be_bytes(b)
            }
            None => {
                let mut b = [0u8; 8];
                let rest = self.data.get(byte..).unwrap_or(&[]);
                b[..rest.len()].copy_from_slice(rest);
                u64::from_be_bytes(b)
            }
        };
        w << (self.pos & 7)
    }

    /// Skips `n` bits.
    #[inline(always)]
    pub(crate) fn skip(&mut self, n: usize) {
        self.pos += n;
    }

    /// Whether reads went past the end of the data.
    #[inline(always)]
    pub(crate) fn overrun(&self) -> bool {
        self.pos > self.data.len() * 8
    }

    /// Reads `n` bits (`1..=64`) as the low bits of the result. Reading past
    /// the end yields zero bits and sets [`BitReader::overrun`].
    #[inline(always)]
    pub(crate) fn read_bits(&mut self, n: u8) -> u64 {
        debug_assert!((1..=64).contains(&n));
        if n <= 56 {
            let v = self.peek() >> (64 - n);
            self.pos += n as usize;
            v
        } else {
            let hi = self.peek() >> 32;
            self.pos += 32;
            let lo_bits = n - 32;
            let lo = self.peek() >> (64 - lo_bits);
            self.pos += lo_bits as usize;
            (hi << lo_bits) | lo
        }
    }

    /// Reads one bit.
    #[cfg(test)]
    pub(crate) fn read_bit(&mut self) -> bool {
        self.read_bits(1) == 1
    }

    /// Reads a signed varint in Go's `binary.Varint` encoding.
    pub(crate) fn read_varint(&mut self) -> Option<i64> {
        let u = self.read_uvarint()?;
        let x = (u >> 1) as i64;
        Some(if u & 1 != 0 { !x } else { x })
    }

    /// Reads an unsigned LEB128 varint, byte by byte from the bit stream.
    pub(crate) fn read_uvarint(&mut self) -> Option<u64> {
        let mut x = 0u64;
        let mut s = 0u32;
        for i in 0..10 {
            let b = self.read_bits(8) as u8;
            if self.overrun() {
                return None;
            }
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return None;
                }
                return Some(x | (b as u64) << s);
            }
            x |= ((b & 0x7f) as u64) << s;
            s += 7;
        }
        None
    }
}

/// Appends Go's `binary.PutVarint` encoding of `v` to the bit stream.
pub(crate) fn write_varint(w: &mut BitWriter, v: i64) {
    let u = ((v << 1) ^ (v >> 63)) as u64;
    write_uvarint(w, u);
}

/// Appends the unsigned LEB128 encoding of `u` to the bit stream.
pub(crate) fn write_uvarint(w: &mut BitWriter, mut u: u64) {
    while u >= 0x80 {
        w.write_bits((u as u8 | 0x80) as u64, 8);
        u >>= 7;
    }
    w.write_bits(u, 8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_byte_boundaries() {
        let mut w = BitWriter::default();
        let items: Vec<(u64, u8)> = (0..500u64)
            .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15), (i % 64 + 1) as u8))
            .collect();
        for &(v, n) in &items {
            w.write_bits(v, n);
        }
        w.write_bit(true);
        let bytes = w.into_vec();
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &items {
            let mask = if n == 64 { u64::MAX } else { (1 << n) - 1 };
            assert_eq!(r.read_bits(n), v & mask, "n={n}");
        }
        assert!(r.read_bit());
        assert!(!r.overrun());
    }

    #[test]
    fn varints_round_trip() {
        let mut w = BitWriter::default();
        w.write_bit(true);
        for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            write_varint(&mut w, v);
        }
        write_uvarint(&mut w, u64::MAX);
        let bytes = w.into_vec();
        let mut r = BitReader::new(&bytes);
        assert!(r.read_bit());
        for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            assert_eq!(r.read_varint(), Some(v));
        }
        assert_eq!(r.read_uvarint(), Some(u64::MAX));
    }
}
