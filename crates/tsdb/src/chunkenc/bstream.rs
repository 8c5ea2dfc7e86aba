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

    #[cfg(test)]
    pub(crate) fn into_bytes(self) -> Vec<u8> {
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

/// A reader over a bit stream with a 64-bit refill buffer.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load into `buf`.
    pos: usize,
    /// Buffered bits, left-aligned: the next bit is bit 63.
    buf: u64,
    /// How many bits of `buf` are valid.
    valid: u8,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            buf: 0,
            valid: 0,
        }
    }

    /// Loads as many whole bytes as fit into the buffer.
    #[inline]
    fn refill(&mut self) {
        if self.pos + 8 <= self.data.len() && self.valid <= 56 {
            // Fast path: read 8 bytes, keep the whole bytes that fit.
            let mut w = [0u8; 8];
            w.copy_from_slice(&self.data[self.pos..self.pos + 8]);
            let word = u64::from_be_bytes(w);
            let take_bytes = (64 - self.valid as usize) / 8;
            let take_bits = (take_bytes * 8) as u32;
            let add = if take_bits == 64 {
                word
            } else {
                (word >> (64 - take_bits)) << (64 - take_bits)
            };
            self.buf |= add >> self.valid;
            self.valid += take_bits as u8;
            self.pos += take_bytes;
            return;
        }
        while self.valid <= 56 && self.pos < self.data.len() {
            self.buf |= (self.data[self.pos] as u64) << (56 - self.valid);
            self.valid += 8;
            self.pos += 1;
        }
    }

    /// Reads one bit; `None` at the end of the stream.
    #[cfg(test)]
    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        if self.valid == 0 {
            self.refill();
            if self.valid == 0 {
                return None;
            }
        }
        let bit = self.buf >> 63 == 1;
        self.buf <<= 1;
        self.valid -= 1;
        Some(bit)
    }

    /// Reads `n <= 64` bits as the low bits of the result.
    #[inline]
    pub(crate) fn read_bits(&mut self, n: u8) -> Option<u64> {
        debug_assert!(n <= 64);
        if n == 0 {
            return Some(0);
        }
        if self.valid >= n {
            let v = self.buf >> (64 - n);
            self.buf = if n == 64 { 0 } else { self.buf << n };
            self.valid -= n;
            return Some(v);
        }
        // Take what is buffered, refill, take the rest.
        let have = self.valid;
        let hi = if have == 0 {
            0
        } else {
            self.buf >> (64 - have)
        };
        self.buf = 0;
        self.valid = 0;
        self.refill();
        let need = n - have;
        if self.valid < need {
            return None;
        }
        let lo = self.buf >> (64 - need);
        self.buf = if need == 64 { 0 } else { self.buf << need };
        self.valid -= need;
        Some(if need == 64 { lo } else { (hi << need) | lo })
    }

    /// Peeks up to 4 control bits without consuming them; missing bits read as 0.
    #[inline]
    pub(crate) fn peek4(&mut self) -> u8 {
        if self.valid < 4 {
            self.refill();
        }
        (self.buf >> 60) as u8
    }

    /// Consumes `n` bits already known to be buffered (after `peek4`).
    #[inline]
    pub(crate) fn consume(&mut self, n: u8) -> bool {
        if self.valid < n {
            return false;
        }
        self.buf <<= n;
        self.valid -= n;
        true
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
            let b = self.read_bits(8)? as u8;
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
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &items {
            let mask = if n == 64 { u64::MAX } else { (1 << n) - 1 };
            assert_eq!(r.read_bits(n), Some(v & mask), "n={n}");
        }
        assert_eq!(r.read_bit(), Some(true));
    }

    #[test]
    fn varints_round_trip() {
        let mut w = BitWriter::default();
        w.write_bit(true);
        for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            write_varint(&mut w, v);
        }
        write_uvarint(&mut w, u64::MAX);
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bit(), Some(true));
        for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            assert_eq!(r.read_varint(), Some(v));
        }
        assert_eq!(r.read_uvarint(), Some(u64::MAX));
    }
}
