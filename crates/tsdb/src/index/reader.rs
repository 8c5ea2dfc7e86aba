//! Reads a block's `index` file straight from its memory map.
//!
//! Opening checks the header, the table of contents and the CRC32 of every
//! section, then decodes every symbol, label index entry, postings list and
//! series once, so later lookups can only fail on bugs, not on bad data.

use std::path::{Path, PathBuf};

use promlite_model::Labels;

use super::encoding::{be32_at, be64_at, Decbuf, DecodeError};
use super::{IndexChunk, INDEX_HEADER_LEN, INDEX_MAGIC, INDEX_TOC_LEN, INDEX_VERSION};
use crate::block::error::{BlockError, Result};
use crate::block::mmap::OwnedBytes;

/// A byte range of the file: a section's body.
#[derive(Debug, Clone, Copy)]
struct Range {
    start: usize,
    end: usize,
}

/// One label name of the label index.
#[derive(Debug)]
struct LabelName {
    name: String,
    /// Index of its first value entry.
    first: usize,
    /// Number of value entries.
    count: usize,
}

/// A decoded series entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexSeries {
    /// The series' labels.
    pub(crate) labels: Labels,
    /// Its chunks, sorted by time.
    pub(crate) chunks: Vec<IndexChunk>,
}

/// An opened, verified index file.
#[derive(Debug)]
pub(crate) struct IndexFile {
    data: OwnedBytes,
    path: PathBuf,
    nsyms: usize,
    /// Start of the symbol offsets table.
    sym_offsets: usize,
    /// Start of the symbol strings.
    sym_strings: usize,
    nseries: usize,
    /// Start of the series offsets table.
    series_offsets: usize,
    /// Start of the series entries.
    series_entries: usize,
    /// End of the series section body.
    series_end: usize,
    /// Start of the label index's value entries.
    values_start: usize,
    names: Vec<LabelName>,
    postings: Range,
}

const VALUE_ENTRY_LEN: usize = 12;
const NAME_ENTRY_LEN: usize = 12;

impl IndexFile {
    /// Verifies and opens the index in `data`, read from `path`. Each chunk
    /// reference of each series must satisfy `chunk_ok`.
    pub(crate) fn open(
        data: OwnedBytes,
        path: &Path,
        chunk_ok: impl Fn(u64) -> bool,
    ) -> Result<IndexFile> {
        let b = data.as_slice();
        let corrupt = |offset: u64, d: String| BlockError::corruption(path, offset, d);
        if b.len() < INDEX_HEADER_LEN + INDEX_TOC_LEN {
            return Err(corrupt(0, format!("file too short ({} bytes)", b.len())));
        }
        let magic = be32_at(b, 0).unwrap_or(0);
        if magic != INDEX_MAGIC {
            return Err(corrupt(0, format!("bad magic {magic:#010x}")));
        }
        if b[4] != INDEX_VERSION {
            return Err(corrupt(4, format!("unsupported index version {}", b[4])));
        }
        if b[5..INDEX_HEADER_LEN].iter().any(|&x| x != 0) {
            return Err(corrupt(5, "non-zero header padding".into()));
        }
        let toc_start = b.len() - INDEX_TOC_LEN;
        let toc = &b[toc_start..toc_start + 32];
        let want = be32_at(b, toc_start + 32).unwrap_or(0);
        if crc32fast::hash(toc) != want {
            return Err(corrupt(
                toc_start as u64,
                "table of contents checksum mismatch".into(),
            ));
        }
        let mut sections = [Range { start: 0, end: 0 }; 4];
        let names = ["symbols", "series", "label index", "postings"];
        let mut min_start = INDEX_HEADER_LEN;
        for (i, s) in sections.iter_mut().enumerate() {
            let toc_pos = (toc_start + i * 8) as u64;
            let off = be64_at(toc, i * 8).unwrap_or(u64::MAX);
            *s = read_section(b, off, toc_pos, min_start, toc_start)
                .map_err(|(at, d)| corrupt(at, format!("section {}: {d}", names[i])))?;
            min_start = s.end + 4;
        }
        let [symbols, series, label_index, postings] = sections;

        let mut ix = IndexFile {
            path: path.to_path_buf(),
            nsyms: 0,
            sym_offsets: 0,
            sym_strings: 0,
            nseries: 0,
            series_offsets: 0,
            series_entries: 0,
            series_end: series.end,
            values_start: 0,
            names: Vec::new(),
            postings,
            data,
        };
        ix.open_symbols(symbols)
            .map_err(|e| ix.decode_err("symbols", e))?;
        ix.open_series_table(series)
            .map_err(|e| ix.decode_err("series", e))?;
        ix.open_label_index(label_index)
            .map_err(|e| ix.decode_err("label index", e))?;
        ix.verify_series(&chunk_ok)
            .map_err(|e| ix.decode_err("series", e))?;
        Ok(ix)
    }

    fn decode_err(&self, section: &str, e: DecodeError) -> BlockError {
        BlockError::corruption(
            &self.path,
            e.offset,
            format!("section {section}: invalid {}", e.what),
        )
    }

    fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    fn open_symbols(&mut self, r: Range) -> std::result::Result<(), DecodeError> {
        let b = self.data.as_slice();
        let mut d = Decbuf::new(&b[r.start..r.end], r.start as u64);
        let n = d.be32("symbol count")? as usize;
        let table = d.bytes(n.saturating_mul(4), "symbol offsets")?;
        let strings_start = r.start + d.pos();
        let strings = &b[strings_start..r.end];
        let mut prev: Option<&str> = None;
        for i in 0..n {
            let off = be32_at(table, i * 4).unwrap_or(u32::MAX) as usize;
            let mut sd = Decbuf::new(
                strings.get(off..).unwrap_or_default(),
                (strings_start + off) as u64,
            );
            if off > strings.len() {
                return Err(DecodeError {
                    offset: (r.start + 4 + i * 4) as u64,
                    what: "symbol offset",
                });
            }
            let at = sd.offset();
            let len = sd.uvarint_at_most(sd.remaining(), "symbol length")?;
            let s = std::str::from_utf8(sd.bytes(len, "symbol")?).map_err(|_| DecodeError {
                offset: at,
                what: "symbol (not UTF-8)",
            })?;
            if prev.is_some_and(|p| p >= s) {
                return Err(DecodeError {
                    offset: at,
                    what: "symbol order",
                });
            }
            prev = Some(s);
        }
        self.nsyms = n;
        self.sym_offsets = r.start + 4;
        self.sym_strings = strings_start;
        Ok(())
    }

    fn open_series_table(&mut self, r: Range) -> std::result::Result<(), DecodeError> {
        let b = self.data.as_slice();
        let mut d = Decbuf::new(&b[r.start..r.end], r.start as u64);
        let n = d.be32("series count")? as usize;
        d.bytes(n.saturating_mul(8), "series offsets")?;
        self.nseries = n;
        self.series_offsets = r.start + 4;
        self.series_entries = r.start + d.pos();
        Ok(())
    }

    fn open_label_index(&mut self, r: Range) -> std::result::Result<(), DecodeError> {
        let b = self.data.as_slice();
        let mut d = Decbuf::new(&b[r.start..r.end], r.start as u64);
        let n = d.be32("label name count")? as usize;
        let table = d.bytes(n.saturating_mul(NAME_ENTRY_LEN), "label names")?;
        let values_start = r.start + d.pos();
        let nvalues = d.remaining() / VALUE_ENTRY_LEN;
        if nvalues * VALUE_ENTRY_LEN != d.remaining() {
            return Err(DecodeError {
                offset: values_start as u64,
                what: "label value entries length",
            });
        }
        self.values_start = values_start;
        let mut names = Vec::with_capacity(n);
        let mut next_first = 0usize;
        let mut prev_name: Option<u32> = None;
        for i in 0..n {
            let at = (r.start + 4 + i * NAME_ENTRY_LEN) as u64;
            let err = |what| DecodeError { offset: at, what };
            let name_ref = be32_at(table, i * NAME_ENTRY_LEN).ok_or(err("label name"))?;
            let first = be32_at(table, i * NAME_ENTRY_LEN + 4).ok_or(err("label name"))? as usize;
            let count = be32_at(table, i * NAME_ENTRY_LEN + 8).ok_or(err("label name"))? as usize;
            if prev_name.is_some_and(|p| p >= name_ref) || first != next_first || count == 0 {
                return Err(err("label name order"));
            }
            prev_name = Some(name_ref);
            next_first = first + count;
            if next_first > nvalues {
                return Err(err("label value range"));
            }
            let name = self
                .symbol(name_ref)
                .map_err(|_| err("label name symbol"))?
                .to_string();
            let mut prev_value: Option<u32> = None;
            for j in first..first + count {
                let at = (values_start + j * VALUE_ENTRY_LEN) as u64;
                let err = |what| DecodeError { offset: at, what };
                let (v, off) = self.value_entry(j).ok_or(err("label value"))?;
                if prev_value.is_some_and(|p| p >= v) || v as usize >= self.nsyms {
                    return Err(err("label value order"));
                }
                prev_value = Some(v);
                self.verify_postings(off).map_err(|mut e| {
                    if e.what == "postings offset" {
                        e.offset = at;
                    }
                    e
                })?;
            }
            names.push(LabelName { name, first, count });
        }
        if next_first != nvalues {
            return Err(DecodeError {
                offset: values_start as u64,
                what: "label value count",
            });
        }
        self.names = names;
        Ok(())
    }

    fn verify_postings(&self, off: u64) -> std::result::Result<(), DecodeError> {
        let p = self.postings;
        let start = usize::try_from(off)
            .ok()
            .and_then(|o| p.start.checked_add(o))
            .filter(|&s| s < p.end)
            .ok_or(DecodeError {
                offset: p.start as u64,
                what: "postings offset",
            })?;
        let mut d = Decbuf::new(&self.bytes()[start..p.end], start as u64);
        let n = d.be32("postings length")? as usize;
        let mut prev: Option<u32> = None;
        for _ in 0..n {
            let at = d.offset();
            let r = d.be32("postings entry")?;
            if prev.is_some_and(|x| x >= r) || r as usize >= self.nseries {
                return Err(DecodeError {
                    offset: at,
                    what: "postings entry (order or range)",
                });
            }
            prev = Some(r);
        }
        Ok(())
    }

    fn verify_series(
        &self,
        chunk_ok: &impl Fn(u64) -> bool,
    ) -> std::result::Result<(), DecodeError> {
        let mut prev: Vec<(u64, u64)> = Vec::new();
        let mut cur: Vec<(u64, u64)> = Vec::new();
        for i in 0..self.nseries {
            let (mut d, at) = self.series_decbuf(i)?;
            cur.clear();
            let n = d.uvarint_at_most(d.remaining(), "series label count")?;
            for _ in 0..n {
                let at = d.offset();
                let name = d.uvarint("series label name")?;
                let value = d.uvarint("series label value")?;
                if name >= self.nsyms as u64 || value >= self.nsyms as u64 {
                    return Err(DecodeError {
                        offset: at,
                        what: "series label symbol",
                    });
                }
                if cur.last().is_some_and(|&(p, _)| p >= name) {
                    return Err(DecodeError {
                        offset: at,
                        what: "series label order",
                    });
                }
                cur.push((name, value));
            }
            // Symbol references sort like their strings, so comparing the
            // reference pairs compares the label sets.
            if i > 0 && prev >= cur {
                return Err(DecodeError {
                    offset: at,
                    what: "series order",
                });
            }
            std::mem::swap(&mut prev, &mut cur);
            let mut chunks = Vec::new();
            decode_chunks(&mut d, &mut chunks)?;
            for c in &chunks {
                if !chunk_ok(c.chunk_ref) {
                    return Err(DecodeError {
                        offset: at,
                        what: "chunk reference",
                    });
                }
            }
        }
        Ok(())
    }

    /// A decoder positioned at series `i`'s entry, and its file offset.
    fn series_decbuf(&self, i: usize) -> std::result::Result<(Decbuf<'_>, u64), DecodeError> {
        let b = self.bytes();
        let table_at = self.series_offsets + i * 8;
        let err = DecodeError {
            offset: table_at as u64,
            what: "series offset",
        };
        let off = be64_at(b, table_at).ok_or(err.clone())?;
        let start = usize::try_from(off)
            .ok()
            .and_then(|o| self.series_entries.checked_add(o))
            .filter(|&s| s < self.series_end)
            .ok_or(err)?;
        Ok((
            Decbuf::new(&b[start..self.series_end], start as u64),
            start as u64,
        ))
    }

    /// The value reference and postings offset of value entry `j`.
    fn value_entry(&self, j: usize) -> Option<(u32, u64)> {
        let at = self.values_start + j * VALUE_ENTRY_LEN;
        Some((be32_at(self.bytes(), at)?, be64_at(self.bytes(), at + 4)?))
    }

    fn lookup_err(&self, offset: usize, what: &str) -> BlockError {
        BlockError::corruption(
            &self.path,
            offset as u64,
            format!("unexpected invalid {what}"),
        )
    }

    /// The symbol with reference `r`.
    pub(crate) fn symbol(&self, r: u32) -> Result<&str> {
        let r = r as usize;
        if r >= self.nsyms {
            return Err(self.lookup_err(self.sym_offsets, "symbol reference"));
        }
        let b = self.bytes();
        let at = self.sym_offsets + r * 4;
        let off = be32_at(b, at).ok_or_else(|| self.lookup_err(at, "symbol offset"))? as usize;
        let start = self.sym_strings.saturating_add(off);
        let mut d = Decbuf::new(b.get(start..).unwrap_or_default(), start as u64);
        let s = d
            .uvarint_at_most(d.remaining(), "len")
            .and_then(|len| d.bytes(len, "symbol"))
            .map_err(|_| self.lookup_err(start, "symbol"))?;
        std::str::from_utf8(s).map_err(|_| self.lookup_err(start, "symbol"))
    }

    /// The reference of symbol `s`, if the index has it.
    fn symbol_ref(&self, s: &str) -> Result<Option<u32>> {
        let (mut lo, mut hi) = (0usize, self.nsyms);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.symbol(mid as u32)?.cmp(s) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(mid as u32)),
            }
        }
        Ok(None)
    }

    fn label(&self, name: &str) -> Option<&LabelName> {
        self.names
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.names.get(i))
    }

    /// The number of series.
    pub(crate) fn num_series(&self) -> usize {
        self.nseries
    }

    /// The sorted label names.
    pub(crate) fn label_names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| n.name.as_str())
    }

    /// The sorted values of label `name`.
    pub(crate) fn label_values(&self, name: &str) -> Result<Vec<String>> {
        let Some(l) = self.label(name) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(l.count);
        for j in l.first..l.first + l.count {
            let (v, _) = self
                .value_entry(j)
                .ok_or_else(|| self.lookup_err(self.values_start, "label value entry"))?;
            out.push(self.symbol(v)?.to_string());
        }
        Ok(out)
    }

    /// The sorted series references having `name` = `value`.
    pub(crate) fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>> {
        let Some(l) = self.label(name) else {
            return Ok(Vec::new());
        };
        let Some(vref) = self.symbol_ref(value)? else {
            return Ok(Vec::new());
        };
        let (mut lo, mut hi) = (l.first, l.first + l.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (v, off) = self
                .value_entry(mid)
                .ok_or_else(|| self.lookup_err(self.values_start, "label value entry"))?;
            match v.cmp(&vref) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.read_postings(off),
            }
        }
        Ok(Vec::new())
    }

    fn read_postings(&self, off: u64) -> Result<Vec<u64>> {
        let start = self.postings.start.saturating_add(off as usize);
        let b = self.bytes();
        let n = be32_at(b, start).ok_or_else(|| self.lookup_err(start, "postings"))? as usize;
        let list = b
            .get(start + 4..start + 4 + n * 4)
            .ok_or_else(|| self.lookup_err(start, "postings"))?;
        Ok(list
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect())
    }

    /// Decodes series `r`: its labels and chunks.
    pub(crate) fn series(&self, r: u64) -> Result<IndexSeries> {
        let i = usize::try_from(r)
            .ok()
            .filter(|&i| i < self.nseries)
            .ok_or_else(|| self.lookup_err(self.series_offsets, "series reference"))?;
        let (mut d, at) = self
            .series_decbuf(i)
            .map_err(|e| self.decode_err("series", e))?;
        let n = d
            .uvarint_at_most(d.remaining(), "count")
            .map_err(|e| self.decode_err("series", e))?;
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d
                .uvarint("name")
                .map_err(|e| self.decode_err("series", e))?;
            let value = d
                .uvarint("value")
                .map_err(|e| self.decode_err("series", e))?;
            let (Ok(name), Ok(value)) = (u32::try_from(name), u32::try_from(value)) else {
                return Err(self.lookup_err(at as usize, "series label"));
            };
            pairs.push((self.symbol(name)?, self.symbol(value)?));
        }
        let labels = Labels::from_sorted_iter(pairs.iter().copied());
        let mut chunks = Vec::new();
        decode_chunks(&mut d, &mut chunks).map_err(|e| self.decode_err("series", e))?;
        Ok(IndexSeries { labels, chunks })
    }
}

/// Decodes a series entry's chunk list, checking that every chunk has
/// `min_time <= max_time` and starts after the previous one ended.
fn decode_chunks(
    d: &mut Decbuf<'_>,
    out: &mut Vec<IndexChunk>,
) -> std::result::Result<(), DecodeError> {
    let n = d.uvarint_at_most(d.remaining(), "chunk count")?;
    let mut prev_max = 0i64;
    for j in 0..n {
        let at = d.offset();
        let min_time = if j == 0 {
            d.varint("chunk min time")?
        } else {
            let delta = d.uvarint("chunk min time")?;
            let t = prev_max.wrapping_add(delta as i64);
            if delta == 0 || t <= prev_max {
                return Err(DecodeError {
                    offset: at,
                    what: "chunk order",
                });
            }
            t
        };
        let span = d.uvarint("chunk max time")?;
        let max_time = min_time.wrapping_add(span as i64);
        if max_time < min_time {
            return Err(DecodeError {
                offset: at,
                what: "chunk time range",
            });
        }
        let chunk_ref = d.uvarint("chunk reference")?;
        out.push(IndexChunk {
            min_time,
            max_time,
            chunk_ref,
        });
        prev_max = max_time;
    }
    Ok(())
}

/// Checks the section whose length field is at `off` (read from the table of
/// contents at `toc_pos`): it must start at or after `min_start`, end before
/// `limit`, and its body must match its CRC32. Errors carry the offset of
/// the problem.
fn read_section(
    b: &[u8],
    off: u64,
    toc_pos: u64,
    min_start: usize,
    limit: usize,
) -> std::result::Result<Range, (u64, String)> {
    let off = usize::try_from(off)
        .ok()
        .filter(|&o| o >= min_start && o.saturating_add(8) <= limit)
        .ok_or_else(|| (toc_pos, format!("offset {off} out of range")))?;
    let len = be64_at(b, off).unwrap_or(u64::MAX);
    let start = off + 8;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| start.checked_add(l))
        .filter(|&e| e.saturating_add(4) <= limit)
        .ok_or_else(|| (off as u64, format!("length {len} out of range")))?;
    let want = be32_at(b, end).unwrap_or(0);
    if crc32fast::hash(&b[start..end]) != want {
        return Err((
            start as u64,
            format!("checksum mismatch over bytes {start}..{end}"),
        ));
    }
    Ok(Range { start, end })
}
