//! Writes a block's `index` file (see `docs/format/index.md`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};

use promlite_model::Labels;

use super::encoding::{put_uvarint, put_varint};
use super::{IndexChunk, INDEX_HEADER_LEN, INDEX_MAGIC, INDEX_VERSION};

/// Writes the index of `series` to `w`. The series must be sorted by labels,
/// unique, and their chunks sorted by time without overlap; the block writer
/// checks this before calling. Returns the number of bytes written.
pub(crate) fn write_index(
    w: &mut impl Write,
    series: &[(Labels, Vec<IndexChunk>)],
) -> io::Result<u64> {
    let too_big =
        |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("too many {what}"));

    // Symbols: every name and value, sorted; a symbol's reference is its rank.
    let mut set: BTreeSet<&str> = BTreeSet::new();
    for (l, _) in series {
        for x in l.iter() {
            set.insert(x.name);
            set.insert(x.value);
        }
    }
    let symbols: Vec<&str> = set.into_iter().collect();
    let nsyms = u32::try_from(symbols.len()).map_err(|_| too_big("symbols"))?;
    let refs: HashMap<&str, u32> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();
    let sym = |s: &str| refs.get(s).copied().unwrap_or(0);
    let nseries = u32::try_from(series.len()).map_err(|_| too_big("series"))?;

    let mut out = Out { w, pos: 0 };
    let mut header = Vec::with_capacity(INDEX_HEADER_LEN);
    header.extend_from_slice(&INDEX_MAGIC.to_be_bytes());
    header.extend_from_slice(&[INDEX_VERSION, 0, 0, 0]);
    out.write(&header)?;

    // Symbols section.
    let mut strings = Vec::new();
    let mut body = Vec::with_capacity(4 + symbols.len() * 4);
    body.extend_from_slice(&nsyms.to_be_bytes());
    for s in &symbols {
        let off = u32::try_from(strings.len()).map_err(|_| too_big("symbol bytes"))?;
        body.extend_from_slice(&off.to_be_bytes());
        put_uvarint(&mut strings, s.len() as u64);
        strings.extend_from_slice(s.as_bytes());
    }
    body.extend_from_slice(&strings);
    drop(strings);
    let symbols_off = out.section(&body)?;

    // Series section, collecting postings on the way.
    let mut postings: BTreeMap<(u32, u32), Vec<u32>> = BTreeMap::new();
    let mut entries = Vec::new();
    let mut body = Vec::with_capacity(4 + series.len() * 8);
    body.extend_from_slice(&nseries.to_be_bytes());
    for (i, (labels, chunks)) in series.iter().enumerate() {
        body.extend_from_slice(&(entries.len() as u64).to_be_bytes());
        put_uvarint(&mut entries, labels.len() as u64);
        for x in labels.iter() {
            let (n, v) = (sym(x.name), sym(x.value));
            put_uvarint(&mut entries, u64::from(n));
            put_uvarint(&mut entries, u64::from(v));
            postings.entry((n, v)).or_default().push(i as u32);
        }
        put_uvarint(&mut entries, chunks.len() as u64);
        let mut prev_max = 0i64;
        for (j, c) in chunks.iter().enumerate() {
            if j == 0 {
                put_varint(&mut entries, c.min_time);
            } else {
                put_uvarint(&mut entries, c.min_time.wrapping_sub(prev_max) as u64);
            }
            put_uvarint(&mut entries, c.max_time.wrapping_sub(c.min_time) as u64);
            put_uvarint(&mut entries, c.chunk_ref);
            prev_max = c.max_time;
        }
    }
    body.extend_from_slice(&entries);
    drop(entries);
    let series_off = out.section(&body)?;

    // Postings section and the label index pointing into it.
    let mut pbody = Vec::new();
    let mut names: Vec<(u32, u32, u32)> = Vec::new();
    let mut values = Vec::with_capacity(postings.len() * 12);
    for (i, ((n, v), list)) in postings.iter().enumerate() {
        match names.last_mut() {
            Some(last) if last.0 == *n => last.2 += 1,
            _ => names.push((*n, i as u32, 1)),
        }
        values.extend_from_slice(&v.to_be_bytes());
        values.extend_from_slice(&(pbody.len() as u64).to_be_bytes());
        pbody.extend_from_slice(&(list.len() as u32).to_be_bytes());
        for r in list {
            pbody.extend_from_slice(&r.to_be_bytes());
        }
    }
    let mut body = Vec::with_capacity(4 + names.len() * 12 + values.len());
    body.extend_from_slice(&(names.len() as u32).to_be_bytes());
    for (n, first, count) in &names {
        body.extend_from_slice(&n.to_be_bytes());
        body.extend_from_slice(&first.to_be_bytes());
        body.extend_from_slice(&count.to_be_bytes());
    }
    body.extend_from_slice(&values);
    let label_index_off = out.section(&body)?;
    let postings_off = out.section(&pbody)?;

    // Table of contents.
    let mut toc = Vec::with_capacity(super::INDEX_TOC_LEN);
    for off in [symbols_off, series_off, label_index_off, postings_off] {
        toc.extend_from_slice(&off.to_be_bytes());
    }
    let crc = crc32fast::hash(&toc);
    toc.extend_from_slice(&crc.to_be_bytes());
    out.write(&toc)?;
    Ok(out.pos)
}

/// A writer that tracks its position.
struct Out<'w, W: Write> {
    w: &'w mut W,
    pos: u64,
}

impl<W: Write> Out<'_, W> {
    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Writes `len`, `body`, `crc32(body)` and returns the section's offset.
    fn section(&mut self, body: &[u8]) -> io::Result<u64> {
        let start = self.pos;
        self.write(&(body.len() as u64).to_be_bytes())?;
        self.write(body)?;
        self.write(&crc32fast::hash(body).to_be_bytes())?;
        Ok(start)
    }
}
