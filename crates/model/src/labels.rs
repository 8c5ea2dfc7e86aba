//! Sorted, compact label sets.
//!
//! A [`Labels`] value owns one heap allocation holding every name and value,
//! each preceded by its length as an unsigned LEB128 varint:
//!
//! ```text
//! ┌──────────┬──────┬───────────┬───────┬──────────┬──────┬─────
//! │ len(n1)  │ n1   │ len(v1)   │ v1    │ len(n2)  │ n2   │ ...
//! └──────────┴──────┴───────────┴───────┴──────────┴──────┴─────
//! ```
//!
//! Names are unique and sorted by byte order. A ten-label series costs its
//! string bytes, about twenty bytes of lengths and a 16-byte handle.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// The label holding a classic histogram bucket's upper bound.
pub const BUCKET_LABEL: &str = "le";

/// One name/value pair borrowed from a [`Labels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label<'a> {
    /// The label name.
    pub name: &'a str,
    /// The label value.
    pub value: &'a str,
}

/// An immutable label set sorted by name. Cheap to hash and compare.
///
/// The empty label set allocates nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Labels {
    data: Box<[u8]>,
}

fn put_uvarint(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// Decodes a length at `pos`; returns it and the position after it.
#[inline]
fn get_uvarint(data: &[u8], mut pos: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&b) = data.get(pos) {
        pos += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    (n, pos)
}

/// Turns bytes that were written from a `&str` back into one.
#[inline]
fn as_str(b: &[u8]) -> &str {
    // The buffer is only ever filled from `&str` values, so this never fails;
    // an empty string keeps the function total without a panic path.
    std::str::from_utf8(b).unwrap_or_default()
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Labels::default()
    }

    /// Builds a label set from pairs in any order. When a name occurs more
    /// than once the last pair wins. Empty values are dropped, as in
    /// Prometheus a label with an empty value is the same as no label.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> Self {
        let mut v: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .collect();
        Self::from_unsorted(&mut v)
    }

    fn from_unsorted(v: &mut Vec<(&str, &str)>) -> Self {
        // A stable sort keeps insertion order among equal names, so the last
        // one can win below.
        v.sort_by(|a, b| a.0.cmp(b.0));
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(v.len());
        for &(n, val) in v.iter() {
            match out.last_mut() {
                Some(last) if last.0 == n => last.1 = val,
                _ => out.push((n, val)),
            }
        }
        out.retain(|(_, val)| !val.is_empty());
        Self::from_sorted_iter(out.into_iter())
    }

    /// Builds a label set from pairs already sorted by name with unique
    /// names. Pairs with an empty value are skipped.
    pub fn from_sorted_iter<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let size: usize = pairs
            .clone()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        let mut buf = Vec::with_capacity(size);
        for (n, v) in pairs {
            if v.is_empty() {
                continue;
            }
            put_uvarint(&mut buf, n.len());
            buf.extend_from_slice(n.as_bytes());
            put_uvarint(&mut buf, v.len());
            buf.extend_from_slice(v.as_bytes());
        }
        Labels {
            data: buf.into_boxed_slice(),
        }
    }

    /// Iterates the pairs in name order.
    pub fn iter(&self) -> LabelsIter<'_> {
        LabelsIter {
            data: &self.data,
            pos: 0,
        }
    }

    /// The number of labels.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the set has no labels.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|l| l.name == name).map(|l| l.value)
    }

    /// The value of `name`, or `""` when absent (Prometheus' `Labels.Get`).
    pub fn get_or_empty(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Whether a label called `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The metric name, if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A 64-bit hash of the whole set (xxh3 over the encoded bytes).
    pub fn hash64(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.data)
    }

    /// Hash of only the labels whose names are in `names` (sorted or not).
    pub fn hash_for_labels(&self, names: &[impl AsRef<str>]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.iter() {
            if names.iter().any(|n| n.as_ref() == l.name) {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xff]);
            }
        }
        h.digest()
    }

    /// Hash of all labels except those in `names` and the metric name.
    pub fn hash_without_labels(&self, names: &[impl AsRef<str>]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.iter() {
            if l.name != METRIC_NAME && !names.iter().any(|n| n.as_ref() == l.name) {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xff]);
            }
        }
        h.digest()
    }

    /// The encoded bytes; stable, used for hashing and on-disk formats.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Size of the heap allocation in bytes.
    pub fn heap_size(&self) -> usize {
        self.data.len()
    }

    /// A builder seeded with these labels.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder::from_labels(self)
    }

    /// A copy without the metric name.
    pub fn without_metric_name(&self) -> Labels {
        if !self.has(METRIC_NAME) {
            return self.clone();
        }
        Labels::from_sorted_iter(
            self.iter()
                .filter(|l| l.name != METRIC_NAME)
                .map(|l| (l.name, l.value)),
        )
    }

    /// A copy keeping only the labels named in `names`.
    pub fn keep(&self, names: &[impl AsRef<str>]) -> Labels {
        Labels::from_sorted_iter(
            self.iter()
                .filter(|l| names.iter().any(|n| n.as_ref() == l.name))
                .map(|l| (l.name, l.value)),
        )
    }

    /// A copy without the labels named in `names`.
    pub fn drop_names(&self, names: &[impl AsRef<str>]) -> Labels {
        Labels::from_sorted_iter(
            self.iter()
                .filter(|l| !names.iter().any(|n| n.as_ref() == l.name))
                .map(|l| (l.name, l.value)),
        )
    }
}

/// Iterator over the pairs of a [`Labels`].
#[derive(Clone)]
pub struct LabelsIter<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = Label<'a>;

    #[inline]
    fn next(&mut self) -> Option<Label<'a>> {
        if self.pos >= self.data.len() {
            return None;
        }
        let (nl, p) = get_uvarint(self.data, self.pos);
        let name = as_str(self.data.get(p..p + nl)?);
        let (vl, p) = get_uvarint(self.data, p + nl);
        let value = as_str(self.data.get(p..p + vl)?);
        self.pos = p + vl;
        Some(Label { name, value })
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = Label<'a>;
    type IntoIter = LabelsIter<'a>;
    fn into_iter(self) -> LabelsIter<'a> {
        self.iter()
    }
}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

impl Ord for Labels {
    /// Prometheus' `labels.Compare`: pairwise by name, then value; a prefix sorts first.
    fn cmp(&self, other: &Self) -> Ordering {
        let mut a = self.iter();
        let mut b = other.iter();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => {
                    let c = x.name.cmp(y.name).then_with(|| x.value.cmp(y.value));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
            }
        }
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Labels {
    /// Prometheus' `Labels.String`: `{a="1", b="2"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A mutable label set that produces [`Labels`].
///
/// Setting an empty value removes the label, as in Prometheus.
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    pairs: Vec<(String, String)>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder holding `l`.
    pub fn from_labels(l: &Labels) -> Self {
        LabelsBuilder {
            pairs: l
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect(),
        }
    }

    /// Resets the builder to hold `l`, reusing its buffers.
    pub fn reset(&mut self, l: &Labels) {
        self.pairs.clear();
        self.pairs
            .extend(l.iter().map(|l| (l.name.to_string(), l.value.to_string())));
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        if value.is_empty() {
            return self.del(name);
        }
        match self.pairs.iter_mut().find(|(n, _)| n == name) {
            Some(p) => {
                value.clone_into(&mut p.1);
            }
            None => self.pairs.push((name.to_string(), value.to_string())),
        }
        self
    }

    /// Removes `name` if present.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.pairs.retain(|(n, _)| n != name);
        self
    }

    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Keeps only the labels for which `f(name, value)` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&str, &str) -> bool) -> &mut Self {
        self.pairs.retain(|(n, v)| f(n, v));
        self
    }

    /// Iterates the current pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The label set as it stands.
    pub fn labels(&self) -> Labels {
        let mut v: Vec<(&str, &str)> = self.iter().collect();
        Labels::from_unsorted(&mut v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_pairs_sorts_dedups_and_drops_empty_values() {
        let l = Labels::from_pairs(&[("b", "2"), ("a", "1"), ("c", ""), ("b", "3")]);
        let v: Vec<_> = l.iter().map(|l| (l.name, l.value)).collect();
        assert_eq!(v, vec![("a", "1"), ("b", "3")]);
        assert_eq!(l.len(), 2);
        assert_eq!(l.to_string(), r#"{a="1", b="3"}"#);
    }

    #[test]
    fn long_strings_use_multi_byte_lengths() {
        let long = "x".repeat(1000);
        let l = Labels::from_pairs(&[("name", long.as_str()), ("z", "ü")]);
        assert_eq!(l.get("name"), Some(long.as_str()));
        assert_eq!(l.get("z"), Some("ü"));
    }

    #[test]
    fn ordering_matches_prometheus_compare() {
        let a = Labels::from_pairs(&[("a", "1")]);
        let ab = Labels::from_pairs(&[("a", "1"), ("b", "1")]);
        let a2 = Labels::from_pairs(&[("a", "2")]);
        let b = Labels::from_pairs(&[("b", "0")]);
        assert!(a < ab);
        assert!(ab < a2);
        assert!(a2 < b);
        // Byte order of the encoding would put "aa" with a longer length after "b".
        let long_name = Labels::from_pairs(&[("aa", "1")]);
        assert!(long_name < b);
    }

    #[test]
    fn builder_sets_and_deletes() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "x")]);
        let mut b = l.builder();
        b.set("instance", "h:1")
            .set("job", "")
            .set("__name__", "down");
        assert_eq!(
            b.labels().to_string(),
            r#"{__name__="down", instance="h:1"}"#
        );
    }

    #[test]
    fn hash_helpers_ignore_other_labels() {
        let x = Labels::from_pairs(&[("__name__", "a"), ("job", "j"), ("i", "1")]);
        let y = Labels::from_pairs(&[("__name__", "b"), ("job", "j"), ("i", "2")]);
        assert_eq!(x.hash_for_labels(&["job"]), y.hash_for_labels(&["job"]));
        assert_ne!(x.hash_for_labels(&["i"]), y.hash_for_labels(&["i"]));
        assert_eq!(x.hash_without_labels(&["i"]), y.hash_without_labels(&["i"]));
        assert_ne!(x.hash64(), y.hash64());
    }

    proptest::proptest! {
        #[test]
        fn encoding_round_trips(pairs in proptest::collection::btree_map("[a-z_]{1,8}", ".{1,40}", 0..12)) {
            let v: Vec<(String, String)> = pairs.clone().into_iter().collect();
            let l = Labels::from_pairs(&v);
            let back: Vec<(String, String)> = l.iter().map(|l| (l.name.to_string(), l.value.to_string())).collect();
            proptest::prop_assert_eq!(back, v);
        }
    }
}
