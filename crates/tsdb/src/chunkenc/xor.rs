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

/// An appendable XOR chunk with its encoder state.
#[derive(Debug, Clone)]
pub struct XorChunk {
    w: BitWriter,
    num: u16,
    t: i64,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
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
            v: 0,
            t_delta: 0,
            leading: 0xff,
            trailing: 0,
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
        self.v
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
                self.w.write_bits(vb, 64);
            }
            1 => {
                let td = t.wrapping_sub(self.t) as u64;
                write_uvarint(&mut self.w, td);
                self.write_value(vb);
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
                self.write_value(vb);
                self.t_delta = td;
            }
        }
        self.t = t;
        self.v = vb;
        self.num += 1;
        let [hi, lo] = self.num.to_be_bytes();
        let b = self.w.bytes_mut();
        b[0] = hi;
        b[1] = lo;
    }

    #[inline]
    fn write_value(&mut self, vb: u64) {
        let delta = vb ^ self.v;
        if delta == 0 {
            self.w.write_bit(false);
            return;
        }
        let mut lead = delta.leading_zeros() as u8;
        let trail = delta.trailing_zeros() as u8;
        if lead >= 32 {
            lead = 31;
        }
        if self.leading != 0xff && lead >= self.leading && trail >= self.trailing {
            self.w.write_bits(0b10, 2);
            let n = 64 - self.leading - self.trailing;
            self.w.write_bits(delta >> self.trailing, n);
            return;
        }
        self.leading = lead;
        self.trailing = trail;
        let sig = 64 - lead - trail;
        // 2 control bits, 5 bits leading, 6 bits length (64 is written as 0).
        self.w.write_bits(
            (0b11 << 11) | ((lead as u64) << 6) | (sig as u64 & 0x3f),
            13,
        );
        self.w.write_bits(delta >> trail, sig);
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
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
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
            v: 0,
            t_delta: 0,
            leading: 0,
            trailing: 0,
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

    #[inline]
    fn read_value(&mut self) -> Option<()> {
        let c = self.r.peek4();
        if c & 0b1000 == 0 {
            // Same value.
            return self.r.consume(1).then_some(());
        }
        if c & 0b0100 == 0 {
            if !self.r.consume(2) {
                return None;
            }
        } else {
            if !self.r.consume(2) {
                return None;
            }
            let hdr = self.r.read_bits(11)?;
            let lead = (hdr >> 6) as u8;
            let mut sig = (hdr & 0x3f) as u8;
            if sig == 0 {
                sig = 64;
            }
            if lead as u16 + sig as u16 > 64 {
                return None;
            }
            self.leading = lead;
            self.trailing = 64 - lead - sig;
        }
        let n = 64 - self.leading - self.trailing;
        let bits = self.r.read_bits(n)?;
        self.v ^= bits << self.trailing;
        Some(())
    }

    #[inline]
    fn read_dod(&mut self) -> Option<i64> {
        let c = self.r.peek4();
        let sz: u8 = if c & 0b1000 == 0 {
            return self.r.consume(1).then_some(0);
        } else if c & 0b0100 == 0 {
            self.r.consume(2);
            14
        } else if c & 0b0010 == 0 {
            self.r.consume(3);
            17
        } else if c & 0b0001 == 0 {
            self.r.consume(4);
            20
        } else {
            if !self.r.consume(4) {
                return None;
            }
            return self.r.read_bits(64).map(|b| b as i64);
        };
        let bits = self.r.read_bits(sz)? as i64;
        // Sign-extend an sz-bit two's complement number the Prometheus way.
        Some(if bits > (1i64 << (sz - 1)) {
            bits - (1i64 << sz)
        } else {
            bits
        })
    }

    /// Decodes the next sample; `false` at the end or on corruption.
    #[inline]
    fn advance(&mut self) -> bool {
        if self.read >= self.total {
            return false;
        }
        let ok = match self.read {
            0 => match (self.r.read_varint(), self.r.read_bits(64)) {
                (Some(t), Some(v)) => {
                    self.t = t;
                    self.v = v;
                    true
                }
                _ => false,
            },
            1 => match self.r.read_uvarint() {
                Some(td) => {
                    self.t_delta = td;
                    self.t = self.t.wrapping_add(td as i64);
                    self.read_value().is_some()
                }
                None => false,
            },
            _ => match self.read_dod() {
                Some(dod) => {
                    self.t_delta = self.t_delta.wrapping_add(dod as u64);
                    self.t = self.t.wrapping_add(self.t_delta as i64);
                    self.read_value().is_some()
                }
                None => false,
            },
        };
        if !ok {
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
        (self.t, f64::from_bits(self.v))
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
