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
//!
//! The same chunk type also writes [`Encoding::XorSt`]: identical bits for
//! `t` and `v`, and after every sample's value a start-timestamp field
//! (`docs/format/chunkenc.md`):
//!
//! ```text
//! '0'                   st = the previous sample's st (0 before the first)
//! '10'                  st = the previous sample's t (never for the first)
//! '110'                 st = 0
//! '111' + varint(t-st)  anything else
//! ```
//!
//! One decoder, [`GenericXorIterator`], reads both: its `ST` parameter is a
//! constant, so the plain [`XorIterator`] carries no start-timestamp code.

use promlite_storage::{SampleIterator, ValueType};

use super::bstream::{write_uvarint, write_varint, BitReader, BitWriter};
use super::{ChunkIterator, Encoding};

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

/// An appendable XOR chunk with its encoder state: [`Encoding::Xor`], or
/// [`Encoding::XorSt`] when made by [`XorChunk::new_with_st`] or
/// [`XorChunk::with_capacity_st`].
#[derive(Debug, Clone)]
pub struct XorChunk {
    w: BitWriter,
    num: u16,
    t: i64,
    t_delta: u64,
    val: XorValue,
    /// Whether every sample carries a start-timestamp field.
    with_st: bool,
    /// The previous sample's start timestamp (0 before the first).
    st: i64,
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
    /// An empty [`Encoding::Xor`] chunk.
    pub fn new() -> Self {
        Self::with_capacity(2)
    }

    /// An empty [`Encoding::Xor`] chunk with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        Self::empty(bytes, false)
    }

    /// An empty [`Encoding::XorSt`] chunk, which stores a start timestamp
    /// with every sample.
    pub fn new_with_st() -> Self {
        Self::with_capacity_st(2)
    }

    /// An empty [`Encoding::XorSt`] chunk with room for `bytes` bytes.
    pub fn with_capacity_st(bytes: usize) -> Self {
        Self::empty(bytes, true)
    }

    fn empty(bytes: usize, with_st: bool) -> Self {
        let mut b = Vec::with_capacity(bytes.max(2));
        b.extend_from_slice(&[0, 0]);
        XorChunk {
            w: BitWriter::from_bytes(b, 0),
            num: 0,
            t: 0,
            t_delta: 0,
            val: XorValue::default(),
            with_st,
            st: 0,
        }
    }

    /// The chunk's encoding: [`Encoding::XorSt`] when it stores start
    /// timestamps, else [`Encoding::Xor`].
    pub fn encoding(&self) -> Encoding {
        if self.with_st {
            Encoding::XorSt
        } else {
            Encoding::Xor
        }
    }

    /// Whether the chunk stores start timestamps ([`Encoding::XorSt`]).
    pub fn has_st(&self) -> bool {
        self.with_st
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

    /// Appends a sample without a start timestamp (st 0). The caller
    /// guarantees `t` is greater than the last timestamp (the head checks
    /// order before appending).
    #[inline]
    pub fn append(&mut self, t: i64, v: f64) {
        if self.with_st {
            self.append_as::<true>(0, t, v);
        } else {
            self.append_as::<false>(0, t, v);
        }
    }

    /// Appends a sample with its start timestamp `st` (0 = none). A chunk
    /// without start timestamps ([`XorChunk::has_st`] false) drops `st`;
    /// the caller cuts an [`Encoding::XorSt`] chunk before appending a
    /// sample whose `st` is not 0. Order as for [`XorChunk::append`].
    pub fn append_st(&mut self, st: i64, t: i64, v: f64) {
        debug_assert!(self.with_st || st == 0, "st dropped by a plain XOR chunk");
        if self.with_st {
            self.append_as::<true>(st, t, v);
        } else {
            self.append_as::<false>(0, t, v);
        }
    }

    /// Appends a sample, with a start-timestamp field when `ST` (which is
    /// [`XorChunk::has_st`]).
    #[inline(always)]
    fn append_as<const ST: bool>(&mut self, st: i64, t: i64, v: f64) {
        let prev_t = self.t;
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
        if ST {
            self.write_st(st, t, prev_t);
        }
        self.t = t;
        self.num += 1;
        let [hi, lo] = self.num.to_be_bytes();
        let b = self.w.bytes_mut();
        b[0] = hi;
        b[1] = lo;
    }

    /// Writes the start-timestamp field of the sample at `t`; `prev_t` is
    /// the previous sample's timestamp (meaningless for the first sample).
    #[inline]
    fn write_st(&mut self, st: i64, t: i64, prev_t: i64) {
        if st == self.st {
            self.w.write_bit(false);
        } else if self.num > 0 && st == prev_t {
            self.w.write_bits(0b10, 2);
        } else if st == 0 {
            self.w.write_bits(0b110, 3);
        } else {
            self.w.write_bits(0b111, 3);
            write_varint(&mut self.w, t.wrapping_sub(st));
        }
        self.st = st;
    }

    /// An iterator over the samples appended so far, of the chunk's
    /// encoding.
    pub fn iter(&self) -> ChunkIterator<'_> {
        super::iterator(self.encoding(), self.w.bytes())
    }
}

/// Decodes an [`Encoding::Xor`] chunk.
pub type XorIterator<'a> = GenericXorIterator<'a, false>;

/// Decodes an [`Encoding::XorSt`] chunk (XOR with start timestamps).
pub type XorStIterator<'a> = GenericXorIterator<'a, true>;

/// Decodes an XOR chunk: without start-timestamp fields when `ST` is
/// false ([`XorIterator`]), with them when true ([`XorStIterator`]).
#[derive(Debug, Clone)]
pub struct GenericXorIterator<'a, const ST: bool> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    t_delta: u64,
    val: XorValue,
    /// The current sample's start timestamp (always 0 without `ST`).
    st: i64,
    failed: bool,
}

impl<'a, const ST: bool> GenericXorIterator<'a, ST> {
    /// Bits of the common sample in the hot loop: a '0' delta-of-delta, a
    /// '0' value and, with start timestamps, a '0' (same st) field.
    const SAME_BITS: u32 = if ST { 3 } else { 2 };

    /// An iterator over the chunk `bytes` (header included).
    pub fn new(bytes: &'a [u8]) -> Self {
        let (total, body) = match bytes {
            [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
            _ => (0, &[][..]),
        };
        GenericXorIterator {
            r: BitReader::new(body),
            total,
            read: 0,
            t: i64::MIN,
            t_delta: 0,
            val: XorValue::default(),
            st: 0,
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
            if w >> (64 - Self::SAME_BITS) == 0 {
                // '0' '0' ('0'): same interval, same value (constant
                // series), same start timestamp.
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.r.skip(Self::SAME_BITS as usize);
                if self.r.overrun() {
                    self.fail();
                    return false;
                }
                self.read += 1;
                return true;
            }
            let prev_t = self.t;
            let (dod, used) = self.read_dod(w);
            self.t_delta = self.t_delta.wrapping_add(dod as u64);
            self.t = self.t.wrapping_add(self.t_delta as i64);
            let mut ok = if used == 0 {
                let w = self.r.peek();
                self.val.read_at(&mut self.r, w, 0)
            } else {
                self.val.read_at(&mut self.r, w, used)
            };
            if ST && ok {
                ok = self.read_st(prev_t, false);
            }
            if !ok || self.r.overrun() {
                self.fail();
                return false;
            }
            self.read += 1;
            return true;
        }
        self.advance_first()
    }

    /// Decodes a start-timestamp field (only in `ST` chunks); `prev_t` is
    /// the previous sample's timestamp. False on malformed data: a '10'
    /// (previous t) on the first sample, or a bad varint.
    #[inline(always)]
    fn read_st(&mut self, prev_t: i64, first: bool) -> bool {
        let w = self.r.peek();
        if w >> 63 == 0 {
            self.r.skip(1);
            return true;
        }
        if (w >> 62) & 1 == 0 {
            if first {
                return false;
            }
            self.r.skip(2);
            self.st = prev_t;
            return true;
        }
        self.r.skip(3);
        if (w >> 61) & 1 == 0 {
            self.st = 0;
            return true;
        }
        match self.r.read_varint() {
            Some(d) => {
                self.st = self.t.wrapping_sub(d);
                true
            }
            None => false,
        }
    }

    /// The first two samples, which carry full values and deltas.
    #[cold]
    fn advance_first(&mut self) -> bool {
        let prev_t = self.t;
        let mut ok = if self.read == 0 {
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
        if ST && ok {
            ok = self.read_st(prev_t, self.read == 0);
        }
        if !ok || self.r.overrun() {
            self.fail();
            return false;
        }
        self.read += 1;
        true
    }
}

impl<const ST: bool> SampleIterator for GenericXorIterator<'_, ST> {
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

    #[inline]
    fn at_st(&self) -> i64 {
        self.st
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

    /// Appends `(st, t, v)` samples to an XOR-with-ST chunk and checks
    /// they decode bit for bit, through both decoders.
    fn round_trip_st(samples: &[(i64, i64, f64)]) -> XorChunk {
        let mut c = XorChunk::new_with_st();
        for &(st, t, v) in samples {
            c.append_st(st, t, v);
        }
        assert_eq!(c.encoding(), Encoding::XorSt);
        assert_eq!(c.num_samples() as usize, samples.len());
        let want: Vec<(i64, i64, u64)> = samples
            .iter()
            .map(|&(st, t, v)| (st, t, v.to_bits()))
            .collect();
        let mut it = XorStIterator::new(c.bytes());
        let mut got = vec![];
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            assert_eq!(it.at_t(), t);
            got.push((it.at_st(), t, v.to_bits()));
        }
        assert!(!it.is_corrupt());
        assert_eq!(got, want);
        let mut it = c.iter();
        let mut got = vec![];
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            got.push((it.at_st(), t, v.to_bits()));
        }
        assert!(!it.is_corrupt());
        assert_eq!(got, want);
        assert_eq!(
            super::super::num_samples(Encoding::XorSt, c.bytes()) as usize,
            samples.len()
        );
        c
    }

    #[test]
    fn start_timestamps_round_trip_in_every_form() {
        let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
        let c = round_trip_st(&[
            // The first sample: '0' is st 0 ...
            (0, 1000, 1.0),
            // ... then an explicit st, the same st again, the previous t,
            (500, 2000, 2.0),
            (500, 3000, stale),
            (3000, 4000, -0.0),
            // st 0 after a non-zero st, st after t, a negative st,
            (0, 5000, f64::NAN),
            (9000, 6000, f64::INFINITY),
            (-42, 7000, 7.0),
            (i64::MIN, 8000, 8.0),
            (i64::MAX, 9000, 9.0),
            (8999, 9001, 9.0),
        ]);
        // A plain XOR chunk holds the same t and v bits, minus the st fields.
        let mut plain = XorChunk::new();
        for (t, v) in [(1000, 1.0), (2000, 2.0)] {
            plain.append(t, v);
        }
        assert_eq!(plain.encoding(), Encoding::Xor);
        assert!(c.bytes().len() > plain.bytes().len());
        // A chunk starting with a non-zero st.
        round_trip_st(&[(-1, 0, 0.0)]);
        round_trip_st(&[(i64::MAX, i64::MIN, 0.0), (i64::MIN, i64::MAX, 1.0)]);
    }

    #[test]
    fn constant_and_delta_start_timestamps_are_compact() {
        let t0 = 1_600_000_000_000;
        let s: Vec<(i64, i64, f64)> = (0..120).map(|i| (t0 - 5, t0 + i * 15_000, 42.0)).collect();
        let c = round_trip_st(&s);
        // One explicit st, then one bit per sample on top of plain XOR.
        assert!(c.bytes().len() < 70, "{} bytes", c.bytes().len());
        // Delta series: st is the previous sample's t (two bits each).
        let s: Vec<(i64, i64, f64)> = (0..120)
            .map(|i| (t0 + (i - 1) * 15_000, t0 + i * 15_000, 1.0))
            .collect();
        let c = round_trip_st(&s);
        assert!(c.bytes().len() < 90, "{} bytes", c.bytes().len());
    }

    #[test]
    fn previous_t_start_timestamp_on_the_first_sample_is_corrupt() {
        let mut w = BitWriter::from_bytes(vec![0, 1], 0);
        write_varint(&mut w, 1000);
        w.write_bits(1.0f64.to_bits(), 64);
        w.write_bits(0b10, 2);
        let b = w.into_vec();
        let mut it = XorStIterator::new(&b);
        assert_eq!(it.next(), ValueType::None);
        assert!(it.is_corrupt());
        // The same chunk with '0' (st 0) decodes.
        let mut w = BitWriter::from_bytes(vec![0, 1], 0);
        write_varint(&mut w, 1000);
        w.write_bits(1.0f64.to_bits(), 64);
        w.write_bit(false);
        let b = w.into_vec();
        let mut it = XorStIterator::new(&b);
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!((it.at_st(), it.at()), (0, (1000, 1.0)));
    }

    #[test]
    fn seek_keeps_start_timestamps_and_truncation_is_corrupt() {
        let mut c = XorChunk::new_with_st();
        for i in 0..50 {
            c.append_st(if i % 3 == 0 { 0 } else { i * 10 - 5 }, i * 10, i as f64);
        }
        let mut it = c.iter();
        assert_eq!(it.seek(35), ValueType::Float);
        assert_eq!((it.at_st(), it.at()), (35, (40, 4.0)));
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!((it.at_st(), it.at()), (45, (50, 5.0)));
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!((it.at_st(), it.at()), (0, (60, 6.0)));
        let b = &c.bytes()[..c.bytes().len() / 2];
        let mut it = XorStIterator::new(b);
        let mut n = 0;
        while it.next() == ValueType::Float {
            n += 1;
        }
        assert!(n < 50);
        assert!(it.is_corrupt());
    }

    /// How a generated series picks its start timestamps.
    #[derive(Debug, Clone, Copy)]
    enum StPattern {
        None,
        Constant(i64),
        PreviousT,
        Arbitrary,
        MixedWithZero,
    }

    fn st_pattern() -> impl Strategy<Value = StPattern> {
        prop_oneof![
            Just(StPattern::None),
            any::<i64>().prop_map(StPattern::Constant),
            Just(StPattern::PreviousT),
            Just(StPattern::Arbitrary),
            Just(StPattern::MixedWithZero),
        ]
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

        #[test]
        fn start_timestamps_round_trip(
            start in any::<i64>().prop_map(|t| t / 4),
            pattern in st_pattern(),
            deltas in proptest::collection::vec(prop_oneof![
                Just(15_000i64), 1i64..100, 1i64..100_000_000, 1i64..(1i64 << 60)
            ], 0..300),
            values in proptest::collection::vec(any::<u64>(), 300),
            sts in proptest::collection::vec(prop_oneof![
                Just(0i64), any::<i64>(), -1_000_000i64..1_000_000
            ], 300),
        ) {
            let mut t = start;
            let mut prev_t = 0;
            let mut samples = vec![];
            for (i, d) in deltas.iter().enumerate() {
                let st = match pattern {
                    StPattern::None => 0,
                    StPattern::Constant(c) => c,
                    StPattern::PreviousT => if i == 0 { t - 1 } else { prev_t },
                    // Anywhere: before t, after t, negative.
                    StPattern::Arbitrary => sts[i],
                    StPattern::MixedWithZero => if values[i] % 3 == 0 { 0 } else { t.wrapping_sub(sts[i]) },
                };
                samples.push((st, t, f64::from_bits(values[i])));
                prev_t = t;
                t = t.saturating_add(*d);
                if t == i64::MAX { break; }
            }
            round_trip_st(&samples);
        }
    }
}
