//! The Gorilla XOR chunk, bit-compatible with Prometheus' `chunkenc.XORChunk`.
//!
//! ```text
//! ┌────────────────┬───────────────────────┬──────────────────────────────┐
//! │ num samples    │ sample 0              │ sample 1                     │
//! │ u16 big-endian │ t varint, v 64 bits   │ Δt uvarint, v XOR-encoded    │
//! ├────────────────┴───────────────────────┴──────────────────────────────┤
//! │ sample n ≥ 2: Δ of Δt in buckets '0' | '10'+14 | '110'+17 | '1110'+20  │
//! │               | '1111'+64 bits, then v XOR-encoded against sample n-1  │
//! └────────────────────────────────────────────────────────────────────────┘
//! XOR value: '0' same value | '10' + bits in the previous window
//!            | '11' + 5 bits leading zeros + 6 bits length + bits
//! ```
//!
//! Values are stored as raw IEEE-754 bits, so NaN payloads (the staleness
//! marker among them), `-0.0` and infinities survive bit for bit.

use promlite_storage::{SampleIterator, ValueType};

use super::bstream::{write_uvarint, write_varint, BitReader, BitWriter};

/// Samples a chunk holds before the head cuts a new one.
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// The XOR value codec state shared by the encoder and the decoder: the
/// previous value's bits and the current leading/trailing-zero window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct XorValue {
    pub(crate) v: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorValue {
    fn default() -> Self {
        XorValue {
            v: 0,
            leading: 0xff,
            trailing: 0,
        }
    }
}

impl XorValue {
    /// Writes the first value of a chunk: 64 raw bits.
    pub(crate) fn write_first(&mut self, w: &mut BitWriter, vb: u64) {
        w.write_bits(vb, 64);
        *self = XorValue {
            v: vb,
            ..XorValue::default()
        };
    }

    /// Writes `vb` XOR'd against the previous value.
    #[inline]
    pub(crate) fn write(&mut self, w: &mut BitWriter, vb: u64) {
        let delta = vb ^ self.v;
        self.v = vb;
        if delta == 0 {
            w.write_bit(false);
            return;
        }
        let lead = (delta.leading_zeros() as u8).min(31);
        let trail = delta.trailing_zeros() as u8;
        if self.leading != 0xff && lead >= self.leading && trail >= self.trailing {
            w.write_bits(0b10, 2);
            w.write_bits(delta >> self.trailing, 64 - self.leading - self.trailing);
            return;
        }
        self.leading = lead;
        self.trailing = trail;
        let sig = 64 - lead - trail;
        // 2 control bits, 5 bits leading, 6 bits length (64 is written as 0).
        w.write_bits(
            (0b11 << 11) | ((lead as u64) << 6) | (sig as u64 & 0x3f),
            13,
        );
        w.write_bits(delta >> trail, sig);
    }

    /// Decodes a value XOR'd against the previous one. `w` is the window
    /// peeked at the reader's position (at least 57 valid bits) and the
    /// value field starts `off <= 24` bits into it, so the common cases
    /// need no further load. Returns false on malformed data.
    #[inline(always)]
    pub(crate) fn read_at(&mut self, r: &mut BitReader<'_>, w: u64, off: u32) -> bool {
        let x = w << off;
        let avail = 57 - off;
        if x >> 63 == 0 {
            // Same value.
            r.skip(off as usize + 1);
            return true;
        }
        let (hdr, n) = if (x >> 62) & 1 == 1 {
            // New window: 5 bits leading zeros, 6 bits length (0 means 64).
            let lead = ((x >> 57) & 0x1f) as u8;
            let mut sig = ((x >> 51) & 0x3f) as u8;
            if sig == 0 {
                sig = 64;
            }
            if lead + sig > 64 {
                return false;
            }
            self.leading = lead;
            self.trailing = 64 - lead - sig;
            (13u32, sig)
        } else {
            if self.leading == 0xff {
                return false;
            }
            (2u32, 64 - self.leading - self.trailing)
        };
        let bits = if hdr + (n as u32) <= avail {
            r.skip((off + hdr) as usize + n as usize);
            (x << hdr) >> (64 - n as u32)
        } else {
            r.skip((off + hdr) as usize);
            r.read_bits(n)
        };
        self.v ^= bits << self.trailing;
        true
    }
}

/// An appendable XOR chunk with its encoder state.
#[derive(Debug, Clone)]
pub struct XorChunk {
    w: BitWriter,
    num: u16,
    t: i64,
    t_delta: u64,
    val: XorValue,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn bit_range(x: i64, nbits: u8) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

impl XorChunk {
    /// An empty chunk.
    pub fn new() -> Self {
        Self::with_capacity(2)
    }

    /// An empty chunk with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut b = Vec::with_capacity(bytes.max(2));
        b.extend_from_slice(&[0, 0]);
        XorChunk {
            w: BitWriter::from_bytes(b, 0),
            num: 0,
            t: 0,
            t_delta: 0,
            val: XorValue::default(),
        }
    }

    /// Number of samples.
    pub fn num_samples(&self) -> u16 {
        self.num
    }

    /// The encoded bytes (header included), ready to persist.
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Timestamp of the last appended sample (undefined when empty).
    pub fn last_t(&self) -> i64 {
        self.t
    }

    /// Raw bits of the last appended value (undefined when empty).
    pub fn last_v_bits(&self) -> u64 {
        self.val.v
    }

    /// Bytes reserved on the heap.
    pub fn heap_size(&self) -> usize {
        self.w.capacity()
    }

    /// Releases spare capacity (called when the chunk is closed).
    pub fn shrink(&mut self) {
        self.w.bytes_mut().shrink_to_fit();
    }

    /// Appends a sample. The caller guarantees `t` is greater than the last
    /// timestamp (the head checks order before appending).
    pub fn append(&mut self, t: i64, v: f64) {
        let vb = v.to_bits();
        match self.num {
            0 => {
                write_varint(&mut self.w, t);
                self.val.write_first(&mut self.w, vb);
            }
            1 => {
                let td = t.wrapping_sub(self.t) as u64;
                write_uvarint(&mut self.w, td);
                self.val.write(&mut self.w, vb);
                self.t_delta = td;
            }
            _ => {
                let td = t.wrapping_sub(self.t) as u64;
                let dod = td.wrapping_sub(self.t_delta) as i64;
                if dod == 0 {
                    self.w.write_bit(false);
                } else if bit_range(dod, 14) {
                    self.w.write_bits(0b10, 2);
                    self.w.write_bits(dod as u64, 14);
                } else if bit_range(dod, 17) {
                    self.w.write_bits(0b110, 3);
                    self.w.write_bits(dod as u64, 17);
                } else if bit_range(dod, 20) {
                    self.w.write_bits(0b1110, 4);
                    self.w.write_bits(dod as u64, 20);
                } else {
                    self.w.write_bits(0b1111, 4);
                    self.w.write_bits(dod as u64, 64);
                }
                self.val.write(&mut self.w, vb);
                self.t_delta = td;
            }
        }
        self.t = t;
        self.num += 1;
        let [hi, lo] = self.num.to_be_bytes();
        let b = self.w.bytes_mut();
        b[0] = hi;
        b[1] = lo;
    }

    /// An iterator over the samples appended so far.
    pub fn iter(&self) -> XorIterator<'_> {
        XorIterator::new(self.w.bytes())
    }
}

/// Decodes an XOR chunk.
#[derive(Debug, Clone)]
pub struct XorIterator<'a> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    t_delta: u64,
    val: XorValue,
    failed: bool,
}

impl<'a> XorIterator<'a> {
    /// An iterator over the chunk `bytes` (header included).
    pub fn new(bytes: &'a [u8]) -> Self {
        let (total, body) = match bytes {
            [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
            _ => (0, &[][..]),
        };
        XorIterator {
            r: BitReader::new(body),
            total,
            read: 0,
            t: i64::MIN,
            t_delta: 0,
            val: XorValue::default(),
            failed: false,
        }
    }

    /// Whether decoding stopped because the data was malformed.
    pub fn is_corrupt(&self) -> bool {
        self.failed
    }

    fn fail(&mut self) -> ValueType {
        self.failed = true;
        self.read = self.total;
        ValueType::None
    }

    /// Decodes a delta-of-delta timestamp field from the window `w`;
    /// returns it and the bits it used (0 when it consumed them itself).
    #[inline(always)]
    fn read_dod(&mut self, w: u64) -> (i64, u32) {
        // Sign-extends an sz-bit number the Prometheus way: values above
        // 2^(sz-1) are negative.
        #[inline(always)]
        fn sext(bits: u64, sz: u32) -> i64 {
            let b = bits as i64;
            if b > (1i64 << (sz - 1)) {
                b - (1i64 << sz)
            } else {
                b
            }
        }
        if w >> 63 == 0 {
            (0, 1)
        } else if (w >> 62) & 1 == 0 {
            (sext((w << 2) >> 50, 14), 16)
        } else if (w >> 61) & 1 == 0 {
            (sext((w << 3) >> 47, 17), 20)
        } else if (w >> 60) & 1 == 0 {
            (sext((w << 4) >> 44, 20), 24)
        } else {
            self.r.skip(4);
            (self.r.read_bits(64) as i64, 0)
        }
    }

    /// Decodes the next sample; `false` at the end or on corruption.
    #[inline(always)]
    fn advance(&mut self) -> bool {
        if self.read >= self.total {
            return false;
        }
        if self.read >= 2 {
            // The common case first: a delta-of-delta field and a value.
            let w = self.r.peek();
            if w >> 62 == 0 {
                // '0' '0': same interval, same value (constant series).
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.r.skip(2);
                if self.r.overrun() {
                    self.fail();
                    return false;
                }
                self.read += 1;
                return true;
            }
            let (dod, used) = self.read_dod(w);
            self.t_delta = self.t_delta.wrapping_add(dod as u64);
            self.t = self.t.wrapping_add(self.t_delta as i64);
            let ok = if used == 0 {
                let w = self.r.peek();
                self.val.read_at(&mut self.r, w, 0)
            } else {
                self.val.read_at(&mut self.r, w, used)
            };
            if !ok || self.r.overrun() {
                self.fail();
                return false;
            }
            self.read += 1;
            return true;
        }
        self.advance_first()
    }

    /// The first two samples, which carry full values and deltas.
    #[cold]
    fn advance_first(&mut self) -> bool {
        let ok = if self.read == 0 {
            match self.r.read_varint() {
                Some(t) => {
                    self.t = t;
                    self.val.v = self.r.read_bits(64);
                    true
                }
                None => false,
            }
        } else {
            match self.r.read_uvarint() {
                Some(td) => {
                    self.t_delta = td;
                    self.t = self.t.wrapping_add(td as i64);
                    let w = self.r.peek();
                    self.val.read_at(&mut self.r, w, 0)
                }
                None => false,
            }
        };
        if !ok || self.r.overrun() {
            self.fail();
            return false;
        }
        self.read += 1;
        true
    }
}

impl SampleIterator for XorIterator<'_> {
    #[inline]
    fn next(&mut self) -> ValueType {
        if self.advance() {
            ValueType::Float
        } else {
            ValueType::None
        }
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.read > 0 && self.t >= t {
            return ValueType::Float;
        }
        while self.advance() {
            if self.t >= t {
                return ValueType::Float;
            }
        }
        ValueType::None
    }

    #[inline]
    fn at(&self) -> (i64, f64) {
        (self.t, f64::from_bits(self.val.v))
    }

    #[inline]
    fn at_t(&self) -> i64 {
        self.t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(b: &[u8]) -> Vec<(i64, u64)> {
        let mut it = XorIterator::new(b);
        let mut out = vec![];
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            out.push((t, v.to_bits()));
        }
        assert!(!it.is_corrupt());
        out
    }

    fn round_trip(samples: &[(i64, f64)]) {
        let mut c = XorChunk::new();
        for &(t, v) in samples {
            c.append(t, v);
        }
        let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        assert_eq!(decode(c.bytes()), want);
        assert_eq!(c.num_samples() as usize, samples.len());
    }

    #[test]
    fn special_values_survive_bit_exactly() {
        let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
        round_trip(&[
            (0, 1.0),
            (1000, f64::NAN),
            (2000, stale),
            (3000, -0.0),
            (4000, 0.0),
            (5000, f64::INFINITY),
            (6000, f64::NEG_INFINITY),
            (7000, f64::from_bits(0x7ff8_dead_beef_0001)),
            (8000, f64::MIN_POSITIVE),
            (9000, f64::MAX),
        ]);
    }

    #[test]
    fn large_timestamp_jumps_use_the_wide_bucket() {
        round_trip(&[
            (i64::MIN / 4, 1.0),
            (-5, 2.0),
            (15_000, 3.0),
            (15_001, 3.0),
            (i64::MAX / 4, 4.0),
            (i64::MAX / 4 + 1, 4.0),
        ]);
    }

    #[test]
    fn regular_samples_are_compact() {
        let mut c = XorChunk::new();
        for i in 0..120 {
            c.append(1_600_000_000_000 + i * 15_000, 42.0);
        }
        // Header + first sample ~ 2 + 6 + 8 bytes, then 2 bits per sample.
        assert!(c.bytes().len() < 50, "{} bytes", c.bytes().len());
    }

    #[test]
    fn seek_moves_forward_only() {
        let mut c = XorChunk::new();
        for i in 0..10 {
            c.append(i * 10, i as f64);
        }
        let mut it = c.iter();
        assert_eq!(it.seek(35), ValueType::Float);
        assert_eq!(it.at(), (40, 4.0));
        assert_eq!(it.seek(0), ValueType::Float);
        assert_eq!(it.at(), (40, 4.0));
        assert_eq!(it.seek(91), ValueType::None);
    }

    #[test]
    fn truncated_chunk_is_reported_as_corrupt() {
        let mut c = XorChunk::new();
        for i in 0..50 {
            c.append(i * 1000 + (i * i) % 7, (i as f64).sqrt());
        }
        let b = &c.bytes()[..c.bytes().len() / 2];
        let mut it = XorIterator::new(b);
        let mut n = 0;
        while it.next() == ValueType::Float {
            n += 1;
        }
        assert!(n < 50);
        assert!(it.is_corrupt());
    }

    proptest! {
        #[test]
        fn arbitrary_samples_round_trip(
            start in any::<i64>().prop_map(|t| t / 4),
            deltas in proptest::collection::vec(prop_oneof![
                Just(15_000i64), 1i64..100, 1i64..100_000_000, 1i64..(1i64 << 60)
            ], 0..300),
            values in proptest::collection::vec(any::<u64>(), 300),
        ) {
            let mut t = start;
            let mut samples = vec![];
            for (i, d) in deltas.iter().enumerate() {
                samples.push((t, f64::from_bits(values[i])));
                t = t.saturating_add(*d);
                if t == i64::MAX { break; }
            }
            round_trip(&samples);
        }

        #[test]
        fn realistic_values_round_trip(
            vals in proptest::collection::vec(prop_oneof![
                Just(0.0f64), Just(-0.0), Just(f64::NAN), Just(f64::INFINITY),
                Just(f64::NEG_INFINITY), -1e12f64..1e12, (0u32..1000).prop_map(f64::from)
            ], 1..200),
        ) {
            let samples: Vec<(i64, f64)> = vals.iter().enumerate().map(|(i, v)| (i as i64 * 15_000 + (i as i64 % 3), *v)).collect();
            round_trip(&samples);
        }
    }
}
