//! The packed chunk: a denser, immutable encoding for persisted blocks.
//!
//! The head appends to XOR chunks; when a chunk is written to a block it is
//! re-encoded as a packed chunk if that is smaller. Two things make it
//! denser than XOR on exporter data:
//!
//! * timestamps: the delta-of-delta has a 6-bit bucket, so the few
//!   milliseconds of scrape jitter cost 8 bits instead of 16;
//! * values: when every value of the chunk is an integer (counters, bucket
//!   counts, byte gauges), values are stored as integer deltas or
//!   delta-of-deltas in variable-width buckets instead of XOR'd floats.
//!
//! ```text
//! ┌────────────┬─────────┬──────────────────────────────────────────────┐
//! │ num u16 BE │ mode u8 │ bit stream, sample after sample:             │
//! │            │         │   t: varint | Δt uvarint | Δ²t bucketed      │
//! │            │         │   v: per mode (0 XOR, 1 int Δ, 2 int Δ²)      │
//! └────────────┴─────────┴──────────────────────────────────────────────┘
//! Δ²t buckets: '0' | '10'+6 | '110'+14 | '1110'+20 | '1111'+64 bits
//! integer buckets: '0' | '10'+7 | '110'+14 | '1110'+24 | '11110'+40 | '11111'+64
//! ```
//! Bucket payloads are two's complement. Mode 0 values are XOR-encoded
//! exactly as in [`super::XorChunk`], so NaN payloads survive bit for bit;
//! the integer modes are only chosen when every value is an integer of at
//! most 2^53 in magnitude (and not `-0.0`), which round-trips exactly.

use promlite_storage::{SampleIterator, ValueType};

use super::bstream::{write_uvarint, write_varint, BitReader, BitWriter};
use super::xor::XorValue;

const MODE_XOR: u8 = 0;
const MODE_INT_DELTA: u8 = 1;
const MODE_INT_DOD: u8 = 2;

const TS_BUCKETS: [(u64, u8, u8); 4] = [
    (0b10, 2, 6),
    (0b110, 3, 14),
    (0b1110, 4, 20),
    (0b1111, 4, 64),
];
const INT_BUCKETS: [(u64, u8, u8); 5] = [
    (0b10, 2, 7),
    (0b110, 3, 14),
    (0b1110, 4, 24),
    (0b11110, 5, 40),
    (0b11111, 5, 64),
];

fn fits(v: i64, bits: u8) -> bool {
    bits == 64 || (-(1i64 << (bits - 1)) <= v && v < (1i64 << (bits - 1)))
}

fn write_bucketed(w: &mut BitWriter, v: i64, table: &[(u64, u8, u8)]) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for &(prefix, plen, bits) in table {
        if fits(v, bits) {
            w.write_bits(prefix, plen);
            w.write_bits(v as u64, bits);
            return;
        }
    }
}

#[inline(always)]
fn sext(x: u64, bits: u32) -> i64 {
    ((x << (64 - bits)) as i64) >> (64 - bits)
}

/// Reads a bucketed number; the prefix has at most `table.len() + 1` bits.
#[inline(always)]
fn read_bucketed(r: &mut BitReader<'_>, table: &[(u64, u8, u8)]) -> i64 {
    let w = r.peek();
    if w >> 63 == 0 {
        r.skip(1);
        return 0;
    }
    // Count leading ones to pick the bucket.
    let ones = (!w).leading_zeros() as usize;
    let idx = (ones - 1).min(table.len() - 1);
    let (_, plen, bits) = table[idx];
    if (plen as u32) + (bits as u32) <= 57 {
        r.skip(plen as usize + bits as usize);
        sext((w << plen) >> (64 - bits as u32), bits as u32)
    } else {
        r.skip(plen as usize);
        let x = r.read_bits(bits);
        if bits == 64 {
            x as i64
        } else {
            sext(x, bits as u32)
        }
    }
}

/// Whether `v` is stored exactly by the integer modes.
fn is_exact_int(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 && !(v == 0.0 && v.is_sign_negative())
}

fn encode_mode(samples: &[(i64, f64)], mode: u8) -> Vec<u8> {
    let mut b = Vec::with_capacity(samples.len() * 2 + 8);
    let n = samples.len() as u16;
    b.extend_from_slice(&n.to_be_bytes());
    b.push(mode);
    let mut w = BitWriter::from_bytes(b, 0);
    let (mut pt, mut ptd) = (0i64, 0i64);
    let mut xs = XorValue::default();
    let (mut pv, mut pvd) = (0i64, 0i64);
    for (k, &(t, v)) in samples.iter().enumerate() {
        match k {
            0 => write_varint(&mut w, t),
            1 => {
                ptd = t.wrapping_sub(pt);
                write_uvarint(&mut w, ptd as u64);
            }
            _ => {
                let td = t.wrapping_sub(pt);
                write_bucketed(&mut w, td.wrapping_sub(ptd), &TS_BUCKETS);
                ptd = td;
            }
        }
        pt = t;
        match mode {
            MODE_XOR if k == 0 => xs.write_first(&mut w, v.to_bits()),
            MODE_XOR => xs.write(&mut w, v.to_bits()),
            _ => {
                let iv = v as i64;
                if k == 0 {
                    write_varint(&mut w, iv);
                } else if mode == MODE_INT_DELTA || k == 1 {
                    let d = iv.wrapping_sub(pv);
                    if k == 1 && mode == MODE_INT_DOD {
                        write_varint(&mut w, d);
                    } else {
                        write_bucketed(&mut w, d, &INT_BUCKETS);
                    }
                    pvd = d;
                } else {
                    let d = iv.wrapping_sub(pv);
                    write_bucketed(&mut w, d.wrapping_sub(pvd), &INT_BUCKETS);
                    pvd = d;
                }
                pv = iv;
            }
        }
    }
    let mut out = w.into_vec();
    out.shrink_to_fit();
    out
}

/// Encodes `samples` (sorted by time, at most 65535) in the smallest mode.
pub fn encode_packed(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut best = encode_mode(samples, MODE_XOR);
    if samples.iter().all(|s| is_exact_int(s.1)) {
        for mode in [MODE_INT_DELTA, MODE_INT_DOD] {
            let c = encode_mode(samples, mode);
            if c.len() < best.len() {
                best = c;
            }
        }
    }
    best
}

/// Decodes a packed chunk.
#[derive(Debug, Clone)]
pub struct PackedIterator<'a> {
    r: BitReader<'a>,
    mode: u8,
    total: u16,
    read: u16,
    t: i64,
    td: i64,
    xs: XorValue,
    iv: i64,
    ivd: i64,
    failed: bool,
}

impl<'a> PackedIterator<'a> {
    /// An iterator over the packed chunk `bytes` (header included).
    pub fn new(bytes: &'a [u8]) -> Self {
        let (total, mode, body) = match bytes {
            [hi, lo, mode, rest @ ..] if *mode <= MODE_INT_DOD => {
                (u16::from_be_bytes([*hi, *lo]), *mode, rest)
            }
            _ => (0, MODE_XOR, &[][..]),
        };
        let failed = bytes.len() >= 3 && bytes[2] > MODE_INT_DOD;
        PackedIterator {
            r: BitReader::new(body),
            mode,
            total,
            read: 0,
            t: i64::MIN,
            td: 0,
            xs: XorValue::default(),
            iv: 0,
            ivd: 0,
            failed,
        }
    }

    /// Whether decoding stopped because the data was malformed.
    pub fn is_corrupt(&self) -> bool {
        self.failed
    }

    fn read_xor(&mut self, first: bool) -> bool {
        if first {
            self.xs.v = self.r.read_bits(64);
            return true;
        }
        let w = self.r.peek();
        self.xs.read_at(&mut self.r, w, 0)
    }

    #[inline(always)]
    fn advance(&mut self) -> bool {
        if self.read >= self.total {
            return false;
        }
        let k = self.read;
        let ok = match k {
            0 => match self.r.read_varint() {
                Some(t) => {
                    self.t = t;
                    true
                }
                None => false,
            },
            1 => match self.r.read_uvarint() {
                Some(d) => {
                    self.td = d as i64;
                    self.t = self.t.wrapping_add(self.td);
                    true
                }
                None => false,
            },
            _ => {
                self.td = self
                    .td
                    .wrapping_add(read_bucketed(&mut self.r, &TS_BUCKETS));
                self.t = self.t.wrapping_add(self.td);
                true
            }
        };
        let ok = ok
            && match self.mode {
                MODE_XOR => self.read_xor(k == 0),
                mode => {
                    if k == 0 {
                        match self.r.read_varint() {
                            Some(v) => {
                                self.iv = v;
                                true
                            }
                            None => false,
                        }
                    } else if k == 1 && mode == MODE_INT_DOD {
                        match self.r.read_varint() {
                            Some(d) => {
                                self.ivd = d;
                                self.iv = self.iv.wrapping_add(d);
                                true
                            }
                            None => false,
                        }
                    } else if mode == MODE_INT_DELTA {
                        self.iv = self
                            .iv
                            .wrapping_add(read_bucketed(&mut self.r, &INT_BUCKETS));
                        true
                    } else {
                        self.ivd = self
                            .ivd
                            .wrapping_add(read_bucketed(&mut self.r, &INT_BUCKETS));
                        self.iv = self.iv.wrapping_add(self.ivd);
                        true
                    }
                }
            };
        if !ok || self.r.overrun() {
            self.failed = true;
            self.read = self.total;
            return false;
        }
        self.read += 1;
        true
    }

    #[inline(always)]
    fn value(&self) -> f64 {
        if self.mode == MODE_XOR {
            f64::from_bits(self.xs.v)
        } else {
            self.iv as f64
        }
    }
}

impl SampleIterator for PackedIterator<'_> {
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
        (self.t, self.value())
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

    fn round_trip(samples: &[(i64, f64)]) -> Vec<u8> {
        let b = encode_packed(samples);
        let mut it = PackedIterator::new(&b);
        let mut got = vec![];
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            got.push((t, v.to_bits()));
        }
        assert!(!it.is_corrupt());
        let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        assert_eq!(got, want);
        b
    }

    #[test]
    fn integer_counters_use_integer_modes_and_are_smaller() {
        let mut v = 1000.0;
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| {
                v += (i * 7 % 50) as f64;
                (i * 15_000 + (i % 5) - 2, v)
            })
            .collect();
        let packed = round_trip(&samples);
        assert_ne!(packed[2], MODE_XOR);
        let mut x = super::super::XorChunk::new();
        for &(t, v) in &samples {
            x.append(t, v);
        }
        assert!(
            packed.len() < x.bytes().len(),
            "{} vs {}",
            packed.len(),
            x.bytes().len()
        );
    }

    #[test]
    fn non_integers_and_specials_fall_back_to_xor() {
        let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
        let b = round_trip(&[
            (0, 1.5),
            (1, f64::NAN),
            (2, stale),
            (3, -0.0),
            (4, f64::INFINITY),
        ]);
        assert_eq!(b[2], MODE_XOR);
        // -0.0 alone forces XOR, everything else integral.
        let b = round_trip(&[(0, 1.0), (1, -0.0), (2, 3.0)]);
        assert_eq!(b[2], MODE_XOR);
        round_trip(&[
            (0, 9_007_199_254_740_992.0),
            (1, -9_007_199_254_740_992.0),
            (5, 0.0),
        ]);
    }

    #[test]
    fn truncated_chunk_is_corrupt() {
        let samples: Vec<(i64, f64)> = (0..100).map(|i| (i * 1000, (i * i) as f64)).collect();
        let b = encode_packed(&samples);
        let mut it = PackedIterator::new(&b[..b.len() / 2]);
        while it.next() == ValueType::Float {}
        assert!(it.is_corrupt());
    }

    proptest! {
        #[test]
        fn arbitrary_samples_round_trip(
            start in any::<i64>().prop_map(|t| t / 4),
            deltas in proptest::collection::vec(prop_oneof![
                Just(15_000i64), 1i64..100, 1i64..100_000_000, 1i64..(1i64 << 60)
            ], 0..200),
            values in proptest::collection::vec(prop_oneof![
                any::<u64>().prop_map(f64::from_bits),
                (-1_000_000i64..1_000_000).prop_map(|x| x as f64),
                (0i64..(1i64 << 53)).prop_map(|x| x as f64),
                Just(0.0), Just(-0.0)
            ], 200),
            ints_only in any::<bool>(),
        ) {
            let mut t = start;
            let mut samples = vec![];
            for (i, d) in deltas.iter().enumerate() {
                let v = if ints_only { values[i].trunc().clamp(-9e15, 9e15) } else { values[i] };
                let v = if v.is_nan() && ints_only { 0.0 } else { v };
                samples.push((t, v));
                t = t.saturating_add(*d);
                if t == i64::MAX { break; }
            }
            round_trip(&samples);
        }
    }
}
