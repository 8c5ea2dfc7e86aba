//! Iterating a series' chunks restricted to a time range.

use promlite_storage::{SampleIterator, ValueType};

use super::{iterator, ChunkIterator, Encoding};

/// A chunk as the range iterator sees it: `(min_t, max_t, encoding, bytes)`.
pub type ChunkView<'a> = (i64, i64, Encoding, &'a [u8]);

/// Chains chunks (sorted by time, not overlapping) and yields only the
/// samples inside the inclusive range `[mint, maxt]`. `seek` skips whole
/// chunks by their `max_t` without decoding them.
pub struct RangeChunkIterator<'a> {
    chunks: Vec<ChunkView<'a>>,
    /// Index of the chunk `cur` decodes.
    idx: usize,
    cur: Option<ChunkIterator<'a>>,
    mint: i64,
    maxt: i64,
    done: bool,
    corrupt: Option<promlite_storage::Error>,
    /// Where the chunks come from, for error messages.
    source: Option<std::path::PathBuf>,
}

impl<'a> RangeChunkIterator<'a> {
    /// Iterates `chunks` within `[mint, maxt]`.
    pub fn new(chunks: impl Iterator<Item = ChunkView<'a>>, mint: i64, maxt: i64) -> Self {
        let chunks: Vec<ChunkView<'a>> = chunks.filter(|c| c.1 >= mint && c.0 <= maxt).collect();
        RangeChunkIterator {
            chunks,
            idx: 0,
            cur: None,
            mint,
            maxt,
            done: false,
            corrupt: None,
            source: None,
        }
    }

    /// An iterator that yields nothing and reports `err`.
    pub fn failed(err: promlite_storage::Error) -> Self {
        RangeChunkIterator {
            chunks: Vec::new(),
            idx: 0,
            cur: None,
            mint: 0,
            maxt: -1,
            done: true,
            corrupt: Some(err),
            source: None,
        }
    }

    /// Names the file or directory the chunks come from in error messages.
    pub fn with_source(mut self, path: std::path::PathBuf) -> Self {
        self.source = Some(path);
        self
    }

    /// Takes the error that ended iteration, if any.
    pub fn take_err(&mut self) -> Option<promlite_storage::Error> {
        self.corrupt.take()
    }

    fn finish(&mut self) -> ValueType {
        self.done = true;
        self.cur = None;
        ValueType::None
    }

    /// Moves to the first sample `>= target` (and `<= maxt`), starting with
    /// the current chunk.
    fn advance_to(&mut self, target: i64) -> ValueType {
        loop {
            if self.cur.is_none() {
                // Skip chunks that end before the target.
                while self.idx < self.chunks.len() && self.chunks[self.idx].1 < target {
                    self.idx += 1;
                }
                let Some(&(_, _, enc, data)) = self.chunks.get(self.idx) else {
                    return self.finish();
                };
                self.cur = Some(iterator(enc, data));
            }
            let Some(it) = self.cur.as_mut() else {
                return self.finish();
            };
            if it.seek(target) == ValueType::Float {
                if it.at_t() > self.maxt {
                    return self.finish();
                }
                return ValueType::Float;
            }
            if it.is_corrupt() {
                let (min_t, max_t, ..) = self.chunks[self.idx];
                self.corrupt = Some(promlite_storage::Error::Corruption {
                    path: self
                        .source
                        .clone()
                        .unwrap_or_else(|| std::path::PathBuf::from("<head chunk>")),
                    detail: format!("chunk [{min_t}, {max_t}] could not be decoded"),
                });
                return self.finish();
            }
            self.cur = None;
            self.idx += 1;
        }
    }
}

impl SampleIterator for RangeChunkIterator<'_> {
    fn next(&mut self) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        let target = match self.cur.as_mut() {
            None => self.mint,
            Some(it) => {
                if it.next() == ValueType::Float {
                    if it.at_t() > self.maxt {
                        return self.finish();
                    }
                    return ValueType::Float;
                }
                if it.is_corrupt() {
                    return self.advance_to(i64::MAX);
                }
                self.cur = None;
                self.idx += 1;
                self.mint
            }
        };
        self.advance_to(target)
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        if let Some(it) = &self.cur {
            if it.at_t() >= t && it.at_t() >= self.mint {
                return ValueType::Float;
            }
        }
        self.advance_to(t.max(self.mint))
    }

    fn at(&self) -> (i64, f64) {
        self.cur.as_ref().map(|c| c.at()).unwrap_or((i64::MIN, 0.0))
    }

    fn at_t(&self) -> i64 {
        self.cur.as_ref().map(|c| c.at_t()).unwrap_or(i64::MIN)
    }

    fn at_st(&self) -> i64 {
        self.cur.as_ref().map_or(0, |c| c.at_st())
    }

    fn err(&self) -> Option<&promlite_storage::Error> {
        self.corrupt.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkenc::XorChunk;

    fn chunk(ts: &[i64]) -> XorChunk {
        let mut c = XorChunk::new();
        for &t in ts {
            c.append(t, t as f64);
        }
        c
    }

    fn all(it: &mut RangeChunkIterator<'_>) -> Vec<i64> {
        let mut v = vec![];
        while it.next() == ValueType::Float {
            v.push(it.at_t());
        }
        v
    }

    #[test]
    fn trims_to_range_and_seeks_across_chunks() {
        let a = chunk(&[1, 2, 3, 4]);
        let b = chunk(&[10, 11, 12]);
        let c = chunk(&[20, 21]);
        let views = || {
            [(1, 4, &a), (10, 12, &b), (20, 21, &c)]
                .into_iter()
                .map(|(lo, hi, c)| (lo, hi, Encoding::Xor, c.bytes()))
        };
        let mut it = RangeChunkIterator::new(views(), 3, 20);
        assert_eq!(all(&mut it), vec![3, 4, 10, 11, 12, 20]);
        let mut it = RangeChunkIterator::new(views(), 0, 100);
        assert_eq!(it.seek(5), ValueType::Float);
        assert_eq!(it.at_t(), 10);
        assert_eq!(it.seek(12), ValueType::Float);
        assert_eq!(it.at_t(), 12);
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at_t(), 20);
        assert_eq!(it.seek(22), ValueType::None);
        let mut it = RangeChunkIterator::new(views(), 5, 9);
        assert_eq!(all(&mut it), Vec::<i64>::new());
    }
}
