//! Byte-level helpers for the index and chunk formats: big-endian integers,
//! LEB128 varints and a bounds-checked decoder that reports offsets.

/// Appends `n` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// Appends `n` zig-zag encoded as a varint (Go's `binary.PutVarint`).
pub(crate) fn put_varint(buf: &mut Vec<u8>, n: i64) {
    put_uvarint(buf, ((n << 1) ^ (n >> 63)) as u64);
}

/// The number of bytes `put_uvarint` writes for `n`.
pub(crate) fn uvarint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// A cursor over a byte slice whose reads fail instead of panicking.
///
/// `base` is the file offset of `data[0]`, so errors can name the absolute
/// offset at which decoding failed.
#[derive(Debug, Clone)]
pub(crate) struct Decbuf<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

/// A decoding failure at an absolute file offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    /// The file offset where the failed read started.
    pub(crate) offset: u64,
    /// What was being read.
    pub(crate) what: &'static str,
}

pub(crate) type DecResult<T> = std::result::Result<T, DecodeError>;

impl<'a> Decbuf<'a> {
    /// A decoder over `data`, which starts at file offset `base`.
    pub(crate) fn new(data: &'a [u8], base: u64) -> Self {
        Decbuf { data, pos: 0, base }
    }

    /// The absolute file offset of the next read.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The position of the next read relative to the start of the slice.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn err(&self, what: &'static str) -> DecodeError {
        DecodeError {
            offset: self.offset(),
            what,
        }
    }

    /// Reads `n` raw bytes.
    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> DecResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.err(what))?;
        let b = self.data.get(self.pos..end).ok_or_else(|| self.err(what))?;
        self.pos = end;
        Ok(b)
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> DecResult<u8> {
        Ok(self.bytes(1, what)?[0])
    }

    /// Reads a big-endian `u32`.
    pub(crate) fn be32(&mut self, what: &'static str) -> DecResult<u32> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads an unsigned LEB128 varint of at most ten bytes.
    pub(crate) fn uvarint(&mut self, what: &'static str) -> DecResult<u64> {
        let start = self.pos;
        let mut n = 0u64;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.data.get(self.pos) else {
                self.pos = start;
                return Err(self.err(what));
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                self.pos = start;
                return Err(self.err(what));
            }
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
            shift += 7;
        }
    }

    /// Reads a zig-zag varint.
    pub(crate) fn varint(&mut self, what: &'static str) -> DecResult<i64> {
        let u = self.uvarint(what)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// Reads a uvarint that must fit a `usize` no larger than `max`.
    pub(crate) fn uvarint_at_most(&mut self, max: usize, what: &'static str) -> DecResult<usize> {
        let at = self.offset();
        let n = self.uvarint(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(DecodeError { offset: at, what }),
        }
    }
}

/// Reads a big-endian `u32` at `pos` of `data`, if in bounds.
#[inline]
pub(crate) fn be32_at(data: &[u8], pos: usize) -> Option<u32> {
    let b = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a big-endian `u64` at `pos` of `data`, if in bounds.
#[inline]
pub(crate) fn be64_at(data: &[u8], pos: usize) -> Option<u64> {
    let b = data.get(pos..pos.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_be_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        let mut b = Vec::new();
        let us = [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        let is = [0i64, -1, 1, i64::MIN, i64::MAX, -300];
        for &u in &us {
            put_uvarint(&mut b, u);
            assert_eq!(uvarint_len(u), {
                let mut x = Vec::new();
                put_uvarint(&mut x, u);
                x.len()
            });
        }
        for &i in &is {
            put_varint(&mut b, i);
        }
        let mut d = Decbuf::new(&b, 100);
        for &u in &us {
            assert_eq!(d.uvarint("u").unwrap(), u);
        }
        for &i in &is {
            assert_eq!(d.varint("i").unwrap(), i);
        }
        assert_eq!(d.remaining(), 0);
        let e = d.u8("end").unwrap_err();
        assert_eq!(e.offset, 100 + b.len() as u64);
    }

    #[test]
    fn truncated_and_overlong_varints_fail() {
        let mut d = Decbuf::new(&[0x80, 0x80], 0);
        assert!(d.uvarint("x").is_err());
        let mut d = Decbuf::new(&[0xff; 11], 0);
        assert!(d.uvarint("x").is_err());
    }
}
