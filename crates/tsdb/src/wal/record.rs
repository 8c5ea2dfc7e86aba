//! WAL record types and their byte encoding (Prometheus' `tsdb/record`).
//!
//! A record is `[type u8][body]`; the WAL frames it and may compress the
//! body (see `docs/format/wal.md`). Encoders clear and fill a caller-owned
//! `Vec<u8>`, decoders append to a caller-owned `Vec`, so a replay loop
//! allocates nothing per record except the [`Labels`] of new series.
//!
//! All fixed-width integers are little endian. `varint` is a zigzag-encoded
//! signed LEB128 and `uvarint` an unsigned LEB128 (Go's `binary.Varint` and
//! `binary.Uvarint`).

use promlite_model::Labels;

use crate::error::{Error, Result};

/// A record's type, the low seven bits of its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// New series and their label sets ([`RefSeries`]).
    Series,
    /// Float samples ([`RefSample`]) without start timestamps.
    Samples,
    /// Deletion intervals ([`Tombstone`]).
    Tombstones,
    /// Float samples ([`RefSample`]) of which at least one has a start
    /// timestamp. Decoded by [`decode_samples`] like [`RecordType::Samples`].
    SamplesSt,
    /// A type this version does not know (reserved for exemplars,
    /// histograms, metadata, ...). Replay skips such records.
    Unknown(u8),
}

impl RecordType {
    /// Type byte of series records.
    pub const SERIES: u8 = 1;
    /// Type byte of sample records.
    pub const SAMPLES: u8 = 2;
    /// Type byte of tombstone records.
    pub const TOMBSTONES: u8 = 3;
    /// Type byte of sample records with start timestamps (not a Prometheus
    /// record type; chosen above the ones Prometheus uses).
    pub const SAMPLES_ST: u8 = 11;
    /// Type bytes from here up to [`RecordType::MAX`], except
    /// [`RecordType::SAMPLES_ST`], are reserved for future record kinds
    /// (exemplars 4, histogram samples 5, float histogram samples 6,
    /// metadata 7, ...).
    pub const FIRST_RESERVED: u8 = 4;
    /// The largest valid type byte; the top bit of the framed type byte is
    /// the compression flag. Zero is never a valid type.
    pub const MAX: u8 = 0x7f;

    /// The type of a type byte.
    pub fn from_u8(b: u8) -> RecordType {
        match b {
            Self::SERIES => RecordType::Series,
            Self::SAMPLES => RecordType::Samples,
            Self::TOMBSTONES => RecordType::Tombstones,
            Self::SAMPLES_ST => RecordType::SamplesSt,
            other => RecordType::Unknown(other),
        }
    }

    /// The type byte.
    pub fn as_u8(self) -> u8 {
        match self {
            RecordType::Series => Self::SERIES,
            RecordType::Samples => Self::SAMPLES,
            RecordType::Tombstones => Self::TOMBSTONES,
            RecordType::SamplesSt => Self::SAMPLES_ST,
            RecordType::Unknown(b) => b,
        }
    }

    /// The type of an encoded record, or `None` for an empty slice.
    pub fn of(rec: &[u8]) -> Option<RecordType> {
        rec.first().map(|&b| RecordType::from_u8(b))
    }

    /// A short lowercase name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            RecordType::Series => "series",
            RecordType::Samples => "samples",
            RecordType::Tombstones => "tombstones",
            RecordType::SamplesSt => "samples with start timestamps",
            RecordType::Unknown(_) => "unknown",
        }
    }

    /// Whether records of this type hold samples ([`RecordType::Samples`]
    /// or [`RecordType::SamplesSt`], both read by [`decode_samples`]).
    pub fn is_samples(self) -> bool {
        matches!(self, RecordType::Samples | RecordType::SamplesSt)
    }
}

/// A series reference and its label set, logged when the head creates a
/// series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefSeries {
    /// The head's series reference.
    pub series_ref: u64,
    /// The series' labels.
    pub labels: Labels,
}

/// One float sample of a series.
///
/// Not `PartialEq`: values are compared by bits where it matters (NaN
/// payloads such as the staleness marker must survive exactly).
#[derive(Debug, Clone, Copy)]
pub struct RefSample {
    /// The head's series reference.
    pub series_ref: u64,
    /// Start timestamp in milliseconds (see
    /// [`promlite_storage::Appender::append_st`]); 0 when unknown.
    pub st: i64,
    /// Timestamp in milliseconds.
    pub t: i64,
    /// The value, stored as its raw bits.
    pub v: f64,
}

/// A deletion of the samples of one series in the inclusive range
/// `[mint, maxt]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    /// The head's series reference.
    pub series_ref: u64,
    /// First deleted timestamp.
    pub mint: i64,
    /// Last deleted timestamp.
    pub maxt: i64,
}

/// Encodes a series record into `buf` (cleared first).
///
/// Body: for each series `ref u64`, `uvarint(label count)`, then per label
/// `uvarint(len) name uvarint(len) value`.
pub fn encode_series(series: &[RefSeries], buf: &mut Vec<u8>) {
    buf.clear();
    buf.push(RecordType::SERIES);
    for s in series {
        buf.extend_from_slice(&s.series_ref.to_le_bytes());
        put_uvarint(buf, s.labels.len() as u64);
        for l in s.labels.iter() {
            put_uvarint(buf, l.name.len() as u64);
            buf.extend_from_slice(l.name.as_bytes());
            put_uvarint(buf, l.value.len() as u64);
            buf.extend_from_slice(l.value.as_bytes());
        }
    }
}

/// Encodes a sample record into `buf` (cleared first).
///
/// Body (empty for no samples): the first sample's `ref u64` and `t i64`,
/// then per sample `varint(ref - first ref)`, `varint(t - first t)` and the
/// value's bits as `u64`. Differences wrap, so any values round-trip.
///
/// When every start timestamp is 0 this is a [`RecordType::Samples`]
/// record, byte for byte what it was before start timestamps existed.
/// Otherwise it is a [`RecordType::SamplesSt`] record: the same body with,
/// after each value, a flag byte (0 = no start timestamp, 1 = one follows)
/// and, when 1, `varint(t - st)`.
pub fn encode_samples(samples: &[RefSample], buf: &mut Vec<u8>) {
    buf.clear();
    let with_st = samples.iter().any(|s| s.st != 0);
    buf.push(if with_st {
        RecordType::SAMPLES_ST
    } else {
        RecordType::SAMPLES
    });
    let Some(first) = samples.first() else {
        return;
    };
    buf.reserve(16 + samples.len() * if with_st { 15 } else { 12 });
    buf.extend_from_slice(&first.series_ref.to_le_bytes());
    buf.extend_from_slice(&first.t.to_le_bytes());
    for s in samples {
        put_varint(buf, s.series_ref.wrapping_sub(first.series_ref) as i64);
        put_varint(buf, s.t.wrapping_sub(first.t));
        buf.extend_from_slice(&s.v.to_bits().to_le_bytes());
        if with_st {
            if s.st == 0 {
                buf.push(0);
            } else {
                buf.push(1);
                put_varint(buf, s.t.wrapping_sub(s.st));
            }
        }
    }
}

/// Encodes a tombstone record into `buf` (cleared first).
///
/// Body: per tombstone `ref u64`, `varint(mint)`, `varint(maxt)`.
pub fn encode_tombstones(tombstones: &[Tombstone], buf: &mut Vec<u8>) {
    buf.clear();
    buf.push(RecordType::TOMBSTONES);
    for t in tombstones {
        buf.extend_from_slice(&t.series_ref.to_le_bytes());
        put_varint(buf, t.mint);
        put_varint(buf, t.maxt);
    }
}

/// Decodes a series record, appending to `out`.
pub fn decode_series(rec: &[u8], out: &mut Vec<RefSeries>) -> Result<()> {
    let mut c = Cursor::new(rec, RecordType::Series)?;
    while !c.is_empty() {
        let series_ref = c.u64_le()?;
        let n = c.uvarint()?;
        let start = c.pos;
        // Validate the pairs once, then build the label set from the
        // validated bytes without an intermediate allocation.
        let mut prev: Option<&[u8]> = None;
        for _ in 0..n {
            let name = c.len_prefixed()?;
            let value = c.len_prefixed()?;
            if std::str::from_utf8(name).is_err() || std::str::from_utf8(value).is_err() {
                return Err(c.err("label is not valid UTF-8"));
            }
            if prev.is_some_and(|p| p >= name) {
                return Err(c.err("label names are not sorted and unique"));
            }
            prev = Some(name);
        }
        let labels = Labels::from_sorted_iter(LabelPairs {
            data: &rec[start..c.pos],
            pos: 0,
        });
        out.push(RefSeries { series_ref, labels });
    }
    Ok(())
}

/// Decodes a sample record of either type ([`RecordType::Samples`], whose
/// samples get start timestamp 0, or [`RecordType::SamplesSt`]), appending
/// to `out`.
pub fn decode_samples(rec: &[u8], out: &mut Vec<RefSample>) -> Result<()> {
    let with_st = rec.first() == Some(&RecordType::SAMPLES_ST);
    let want = if with_st {
        RecordType::SamplesSt
    } else {
        RecordType::Samples
    };
    let mut c = Cursor::new(rec, want)?;
    if c.is_empty() {
        return Ok(());
    }
    let base_ref = c.u64_le()?;
    let base_t = c.u64_le()? as i64;
    if c.is_empty() {
        return Err(c.err("sample base without samples"));
    }
    out.reserve(c.remaining() / 10);
    while !c.is_empty() {
        let dref = c.varint()?;
        let dt = c.varint()?;
        let v = f64::from_bits(c.u64_le()?);
        let t = base_t.wrapping_add(dt);
        let st = if with_st {
            match c.u8()? {
                0 => 0,
                1 => t.wrapping_sub(c.varint()?),
                _ => return Err(c.err("invalid start timestamp flag")),
            }
        } else {
            0
        };
        out.push(RefSample {
            series_ref: base_ref.wrapping_add(dref as u64),
            st,
            t,
            v,
        });
    }
    Ok(())
}

/// Decodes a tombstone record, appending to `out`.
pub fn decode_tombstones(rec: &[u8], out: &mut Vec<Tombstone>) -> Result<()> {
    let mut c = Cursor::new(rec, RecordType::Tombstones)?;
    while !c.is_empty() {
        let series_ref = c.u64_le()?;
        let mint = c.varint()?;
        let maxt = c.varint()?;
        out.push(Tombstone {
            series_ref,
            mint,
            maxt,
        });
    }
    Ok(())
}

/// Iterates label pairs of bytes that [`decode_series`] validated.
#[derive(Clone)]
struct LabelPairs<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> LabelPairs<'a> {
    fn next_str(&mut self) -> Option<&'a str> {
        let (len, n) = get_uvarint(self.data.get(self.pos..)?)?;
        let start = self.pos + n;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.pos = end;
        std::str::from_utf8(self.data.get(start..end)?).ok()
    }
}

impl<'a> Iterator for LabelPairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let name = self.next_str()?;
        let value = self.next_str()?;
        Some((name, value))
    }
}

/// A bounds-checked reader over a record body.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    record: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(rec: &'a [u8], want: RecordType) -> Result<Self> {
        let record = want.name();
        match rec.first() {
            Some(&b) if b == want.as_u8() => Ok(Cursor {
                data: rec,
                pos: 1,
                record,
            }),
            Some(_) => Err(Error::RecordDecode {
                record,
                offset: 0,
                detail: "wrong record type",
            }),
            None => Err(Error::RecordDecode {
                record,
                offset: 0,
                detail: "empty record",
            }),
        }
    }

    fn err(&self, detail: &'static str) -> Error {
        Error::RecordDecode {
            record: self.record,
            offset: self.pos,
            detail,
        }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn u64_le(&mut self) -> Result<u64> {
        let b: [u8; 8] = self
            .data
            .get(self.pos..self.pos + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| self.err("truncated 8-byte integer"))?;
        self.pos += 8;
        Ok(u64::from_le_bytes(b))
    }

    fn u8(&mut self) -> Result<u8> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| self.err("truncated byte"))?;
        self.pos += 1;
        Ok(b)
    }

    fn uvarint(&mut self) -> Result<u64> {
        let (v, n) = self
            .data
            .get(self.pos..)
            .and_then(get_uvarint)
            .ok_or_else(|| self.err("truncated or overlong varint"))?;
        self.pos += n;
        Ok(v)
    }

    fn varint(&mut self) -> Result<i64> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn len_prefixed(&mut self) -> Result<&'a [u8]> {
        let len = self.uvarint()?;
        let len = usize::try_from(len).map_err(|_| self.err("length overflows"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err("string runs past the end of the record"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` zigzag-encoded as an unsigned LEB128 varint.
#[inline]
pub(crate) fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Decodes an unsigned LEB128 varint; returns it and its length, or `None`
/// when truncated or longer than ten bytes / 64 bits.
#[inline]
pub(crate) fn get_uvarint(data: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in data.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bits(s: &[RefSample]) -> Vec<(u64, i64, i64, u64)> {
        s.iter()
            .map(|s| (s.series_ref, s.st, s.t, s.v.to_bits()))
            .collect()
    }

    fn sample(series_ref: u64, st: i64, t: i64, v: f64) -> RefSample {
        RefSample {
            series_ref,
            st,
            t,
            v,
        }
    }

    /// The sample record encoder as it was before start timestamps.
    fn encode_samples_v1(samples: &[RefSample]) -> Vec<u8> {
        let mut buf = vec![2u8];
        let Some(first) = samples.first() else {
            return buf;
        };
        buf.extend_from_slice(&first.series_ref.to_le_bytes());
        buf.extend_from_slice(&first.t.to_le_bytes());
        for s in samples {
            put_varint(&mut buf, s.series_ref.wrapping_sub(first.series_ref) as i64);
            put_varint(&mut buf, s.t.wrapping_sub(first.t));
            buf.extend_from_slice(&s.v.to_bits().to_le_bytes());
        }
        buf
    }

    #[test]
    fn samples_without_start_timestamps_keep_the_plain_record_bytes() {
        let samples = [sample(3, 0, 1000, 1.5), sample(1, 0, 1015, -0.0)];
        let mut buf = Vec::new();
        encode_samples(&samples, &mut buf);
        let mut want = vec![2u8];
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(&1000i64.to_le_bytes());
        want.extend_from_slice(&[0, 0]);
        want.extend_from_slice(&1.5f64.to_bits().to_le_bytes());
        // ref delta -2 and t delta 15, zigzag-encoded.
        want.extend_from_slice(&[3, 30]);
        want.extend_from_slice(&(-0.0f64).to_bits().to_le_bytes());
        assert_eq!(buf, want);
        assert_eq!(buf, encode_samples_v1(&samples));
        assert_eq!(RecordType::of(&buf), Some(RecordType::Samples));
    }

    #[test]
    fn samples_with_start_timestamps_use_their_own_record_type() {
        let samples = [
            sample(1, 0, 1000, 1.0),
            sample(1, 500, 2000, 2.0),
            sample(2, 3000, 2000, 3.0),
            sample(2, -7, 2000, f64::NAN),
        ];
        let mut buf = Vec::new();
        encode_samples(&samples, &mut buf);
        assert_eq!(buf[0], 11);
        assert_eq!(RecordType::of(&buf), Some(RecordType::SamplesSt));
        assert!(RecordType::SamplesSt.is_samples());
        // The plain body with, per sample, a flag byte and varint(t - st).
        let plain = encode_samples_v1(&samples);
        assert_eq!(buf.len(), plain.len() + 4 + 2 + 2 + 2);
        assert_eq!(buf[1..17], plain[1..17]);
        let mut out = Vec::new();
        decode_samples(&buf, &mut out).unwrap();
        assert_eq!(bits(&out), bits(&samples));
        // A flag other than 0 or 1 is corruption.
        let flag_at = 17 + 2 + 8;
        assert_eq!(buf[flag_at], 0);
        let mut bad = buf.clone();
        bad[flag_at] = 2;
        assert!(matches!(
            decode_samples(&bad, &mut Vec::new()),
            Err(Error::RecordDecode { .. })
        ));
        // A one-sample record cut anywhere does not decode.
        encode_samples(&[sample(1, 500, 2000, 2.0)], &mut buf);
        for cut in 2..buf.len() {
            assert!(
                decode_samples(&buf[..cut], &mut Vec::new()).is_err(),
                "cut at {cut} decoded"
            );
        }
    }

    #[test]
    fn series_round_trip() {
        let series = vec![
            RefSeries {
                series_ref: 1,
                labels: Labels::from_pairs(&[("__name__", "up"), ("job", "api")]),
            },
            RefSeries {
                series_ref: u64::MAX,
                labels: Labels::from_pairs(&[("a", "ü".repeat(300).as_str())]),
            },
            RefSeries {
                series_ref: 0,
                labels: Labels::empty(),
            },
        ];
        let mut buf = Vec::new();
        encode_series(&series, &mut buf);
        assert_eq!(RecordType::of(&buf), Some(RecordType::Series));
        let mut out = Vec::new();
        decode_series(&buf, &mut out).unwrap();
        assert_eq!(out, series);
    }

    #[test]
    fn tombstones_round_trip() {
        let ts = vec![
            Tombstone {
                series_ref: 7,
                mint: i64::MIN,
                maxt: i64::MAX,
            },
            Tombstone {
                series_ref: 0,
                mint: -5,
                maxt: 5,
            },
        ];
        let mut buf = Vec::new();
        encode_tombstones(&ts, &mut buf);
        let mut out = Vec::new();
        decode_tombstones(&buf, &mut out).unwrap();
        assert_eq!(out, ts);
    }

    #[test]
    fn empty_sample_record_round_trips() {
        let mut buf = Vec::new();
        encode_samples(&[], &mut buf);
        assert_eq!(buf, vec![RecordType::SAMPLES]);
        let mut out = Vec::new();
        decode_samples(&buf, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn decoders_reject_wrong_type_and_truncation() {
        let mut buf = Vec::new();
        encode_samples(
            &[RefSample {
                series_ref: 1,
                st: 0,
                t: 2,
                v: 3.0,
            }],
            &mut buf,
        );
        let mut out = Vec::new();
        assert!(matches!(
            decode_series(&buf, &mut Vec::new()),
            Err(Error::RecordDecode { .. })
        ));
        for cut in 2..buf.len() {
            assert!(
                decode_samples(&buf[..cut], &mut out).is_err(),
                "cut at {cut} decoded"
            );
        }
        let mut s = Vec::new();
        encode_series(
            &[RefSeries {
                series_ref: 1,
                labels: Labels::from_pairs(&[("a", "b")]),
            }],
            &mut s,
        );
        for cut in 2..s.len() {
            assert!(decode_series(&s[..cut], &mut Vec::new()).is_err());
        }
    }

    #[test]
    fn unsorted_labels_are_rejected() {
        let mut buf = vec![RecordType::SERIES];
        buf.extend_from_slice(&1u64.to_le_bytes());
        put_uvarint(&mut buf, 2);
        for s in ["b", "1", "a", "2"] {
            put_uvarint(&mut buf, s.len() as u64);
            buf.extend_from_slice(s.as_bytes());
        }
        assert!(decode_series(&buf, &mut Vec::new()).is_err());
    }

    #[test]
    fn overlong_varint_is_rejected() {
        assert_eq!(get_uvarint(&[0xff; 11]), None);
        assert_eq!(get_uvarint(&[0xff, 0xff]), None);
        let mut b = Vec::new();
        put_uvarint(&mut b, u64::MAX);
        assert_eq!(get_uvarint(&b), Some((u64::MAX, 10)));
    }

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(promlite_model::STALE_NAN),
            any::<f64>(),
        ]
    }

    fn any_st() -> impl Strategy<Value = i64> {
        prop_oneof![Just(0i64), any::<i64>(), -100_000i64..100_000]
    }

    fn any_sample() -> impl Strategy<Value = RefSample> {
        (any::<u64>(), any::<i64>(), any_f64()).prop_map(|(series_ref, t, v)| RefSample {
            series_ref,
            st: 0,
            t,
            v,
        })
    }

    fn any_sample_st() -> impl Strategy<Value = RefSample> {
        (any::<u64>(), any_st(), any::<i64>(), any_f64()).prop_map(|(series_ref, st, t, v)| {
            RefSample {
                series_ref,
                st,
                t,
                v,
            }
        })
    }

    proptest! {
        #[test]
        fn samples_round_trip_bit_exactly(samples in proptest::collection::vec(any_sample(), 0..64)) {
            let mut buf = Vec::new();
            encode_samples(&samples, &mut buf);
            let mut out = vec![RefSample { series_ref: 9, st: 9, t: 9, v: 9.0 }];
            decode_samples(&buf, &mut out).unwrap();
            prop_assert_eq!(bits(&out[1..]), bits(&samples));
        }

        #[test]
        fn samples_with_mixed_start_timestamps_round_trip(samples in proptest::collection::vec(any_sample_st(), 0..64)) {
            let mut buf = Vec::new();
            encode_samples(&samples, &mut buf);
            let want = if samples.iter().any(|s| s.st != 0) {
                RecordType::SamplesSt
            } else {
                RecordType::Samples
            };
            prop_assert_eq!(RecordType::of(&buf), Some(want));
            let mut out = vec![sample(9, 9, 9, 9.0)];
            decode_samples(&buf, &mut out).unwrap();
            prop_assert_eq!(bits(&out[1..]), bits(&samples));
        }

        #[test]
        fn plain_samples_encode_as_before(samples in proptest::collection::vec(any_sample(), 0..64)) {
            let mut buf = Vec::new();
            encode_samples(&samples, &mut buf);
            prop_assert_eq!(buf, encode_samples_v1(&samples));
        }

        #[test]
        fn scrape_like_samples_round_trip(base in any::<i64>(), refs in proptest::collection::vec(0u64..1000, 1..200)) {
            let samples: Vec<RefSample> = refs.iter().enumerate().map(|(i, &r)| RefSample {
                series_ref: r,
                st: 0,
                t: base.wrapping_add(i as i64 * 15_000),
                v: i as f64 * 0.5,
            }).collect();
            let mut buf = Vec::new();
            encode_samples(&samples, &mut buf);
            let mut out = Vec::new();
            decode_samples(&buf, &mut out).unwrap();
            prop_assert_eq!(bits(&out), bits(&samples));
        }

        #[test]
        fn tombstones_round_trip_prop(ts in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<i64>()), 0..32)) {
            let ts: Vec<Tombstone> = ts.into_iter().map(|(series_ref, mint, maxt)| Tombstone { series_ref, mint, maxt }).collect();
            let mut buf = Vec::new();
            encode_tombstones(&ts, &mut buf);
            let mut out = Vec::new();
            decode_tombstones(&buf, &mut out).unwrap();
            prop_assert_eq!(out, ts);
        }

        #[test]
        fn decoding_garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_series(&data, &mut Vec::new());
            let _ = decode_samples(&data, &mut Vec::new());
            let _ = decode_tombstones(&data, &mut Vec::new());
        }
    }
}
