//! Postings lists and matcher evaluation shared by the head and blocks, as
//! Prometheus' `tsdb/index/postings.go` and `PostingsForMatchers` in
//! `tsdb/querier.go`.
//!
//! A postings list is a sorted, duplicate-free `Vec<u64>` of series
//! references. The helpers [`intersect`], [`merge`] and [`without`] combine
//! such lists in linear time.

use promlite_model::{MatchType, Matcher};
use promlite_storage::Result;

/// Read access to an inverted index of series, implemented by a block's
/// `index` file and by the head's in-memory index.
///
/// References are opaque to this module; they only need a total order that
/// every method agrees on. For series to come out of a querier in label
/// order, references must increase with the series' labels (blocks do this
/// by construction).
///
/// Implementations are used from one thread at a time through `&self`; the
/// trait does not require `Sync`, but shared implementations need it.
pub(crate) trait IndexReader {
    /// Sorted references of the series having label `name` = `value`
    /// (empty if there are none). `value` is never empty.
    fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>>;

    /// Sorted, distinct, non-empty values of label `name`.
    fn label_values(&self, name: &str) -> Result<Vec<String>>;

    /// Sorted references of every series.
    fn all_postings(&self) -> Result<Vec<u64>>;
}

/// The references of the series matching every matcher in `ms`, sorted.
///
/// The semantics are Prometheus' `PostingsForMatchers`:
///
/// * A series without label `l` is treated as having `l=""`.
/// * A matcher that rejects `""` (`l="a"`, `l=~"a.+"`, `l!=""`) selects the
///   union of the postings of the values it accepts; these lists are
///   intersected.
/// * A matcher that accepts `""` (`l=""`, `l!="x"`, `l!~"a.*"`, `l=~"a|"`)
///   removes the union of the postings of the values it rejects, so series
///   without the label stay selected.
/// * When no matcher rejects `""`, the removals apply to all postings.
/// * An empty matcher list selects nothing (Prometheus intersects zero
///   lists, which is empty); callers wanting every series use
///   [`IndexReader::all_postings`].
///
/// `=` and literal alternations (`=~"a|b"`, and their negations) look their
/// values up directly through [`Matcher::set_matches`]; other regular
/// expressions scan the label's values.
pub(crate) fn postings_for_matchers<I: IndexReader + ?Sized>(
    ix: &I,
    ms: &[Matcher],
) -> Result<Vec<u64>> {
    if ms.is_empty() {
        return Ok(Vec::new());
    }
    let mut its: Vec<Vec<u64>> = Vec::new();
    let mut not_its: Vec<Vec<u64>> = Vec::new();
    for m in ms {
        if m.matches_empty() {
            // `l=~".*"` accepts every value, so it removes nothing.
            if m.match_type == MatchType::Regex && m.value == ".*" {
                continue;
            }
            let rejected = rejected_postings(ix, m)?;
            if !rejected.is_empty() {
                not_its.push(rejected);
            }
        } else {
            let accepted = accepted_postings(ix, m)?;
            if accepted.is_empty() {
                // One empty list empties the whole intersection.
                return Ok(Vec::new());
            }
            its.push(accepted);
        }
    }
    let mut res = if its.is_empty() {
        ix.all_postings()?
    } else {
        // Intersecting the shortest lists first keeps the intermediates small.
        its.sort_by_key(Vec::len);
        let mut it = its.into_iter();
        let mut acc = it.next().unwrap_or_default();
        for p in it {
            if acc.is_empty() {
                break;
            }
            acc = intersect(&acc, &p);
        }
        acc
    };
    for n in &not_its {
        if res.is_empty() {
            break;
        }
        res = without(&res, n);
    }
    Ok(res)
}

/// The union of the postings of the non-empty values of `m.name` that `m`
/// accepts.
fn accepted_postings<I: IndexReader + ?Sized>(ix: &I, m: &Matcher) -> Result<Vec<u64>> {
    if let Some(values) = m.set_matches() {
        return union_of(ix, &m.name, values.into_iter());
    }
    if m.match_type == MatchType::NotEqual {
        // Only `l!=""` rejects the empty string: every value is accepted.
        return union_of_values(ix, &m.name, |_| true);
    }
    union_of_values(ix, &m.name, |v| m.matches(v))
}

/// The union of the postings of the values of `m.name` that `m` rejects.
fn rejected_postings<I: IndexReader + ?Sized>(ix: &I, m: &Matcher) -> Result<Vec<u64>> {
    match m.match_type {
        // `l!="x"` rejects exactly `x`.
        MatchType::NotEqual => return union_of(ix, &m.name, std::iter::once(m.value.as_str())),
        // `l=""` rejects every non-empty value.
        MatchType::Equal => return union_of_values(ix, &m.name, |_| true),
        MatchType::NotRegex => {
            // `l!~"a|b"` rejects exactly the alternatives.
            if let Ok(inverse) = Matcher::new(MatchType::Regex, &m.name, &m.value) {
                if let Some(values) = inverse.set_matches() {
                    return union_of(ix, &m.name, values.into_iter());
                }
            }
        }
        MatchType::Regex => {}
    }
    union_of_values(ix, &m.name, |v| !m.matches(v))
}

/// The union of the postings of `name` = each of `values` (empty values skipped).
fn union_of<'v, I: IndexReader + ?Sized>(
    ix: &I,
    name: &str,
    values: impl Iterator<Item = &'v str>,
) -> Result<Vec<u64>> {
    let mut lists = Vec::new();
    for v in values.filter(|v| !v.is_empty()) {
        let p = ix.postings(name, v)?;
        if !p.is_empty() {
            lists.push(p);
        }
    }
    Ok(merge_all(lists))
}

/// The union of the postings of the values of `name` accepted by `keep`.
fn union_of_values<I: IndexReader + ?Sized>(
    ix: &I,
    name: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<u64>> {
    let mut lists = Vec::new();
    for v in ix.label_values(name)? {
        if !v.is_empty() && keep(&v) {
            let p = ix.postings(name, &v)?;
            if !p.is_empty() {
                lists.push(p);
            }
        }
    }
    Ok(merge_all(lists))
}

/// Merges many sorted lists pairwise, like a balanced tree, so each element
/// is copied O(log n) times.
fn merge_all(mut lists: Vec<Vec<u64>>) -> Vec<u64> {
    while lists.len() > 1 {
        let mut next = Vec::with_capacity(lists.len().div_ceil(2));
        let mut it = lists.into_iter();
        while let Some(a) = it.next() {
            match it.next() {
                Some(b) => next.push(merge(&a, &b)),
                None => next.push(a),
            }
        }
        lists = next;
    }
    lists.pop().unwrap_or_default()
}

/// The elements present in both sorted lists.
pub(crate) fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The sorted union of two sorted lists, without duplicates.
pub(crate) fn merge(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// The elements of sorted `a` that are not in sorted `b`.
pub(crate) fn without(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::Labels;
    use std::collections::BTreeMap;

    /// A tiny index over a list of label sets; the reference is the position.
    struct MemIndex {
        series: Vec<Labels>,
        postings: BTreeMap<(String, String), Vec<u64>>,
    }

    impl MemIndex {
        fn new(series: &[&[(&str, &str)]]) -> Self {
            let series: Vec<Labels> = series.iter().map(|p| Labels::from_pairs(p)).collect();
            let mut postings: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
            for (i, l) in series.iter().enumerate() {
                for x in l.iter() {
                    postings
                        .entry((x.name.to_string(), x.value.to_string()))
                        .or_default()
                        .push(i as u64);
                }
            }
            MemIndex { series, postings }
        }

        /// The references selected by brute force over every series.
        fn brute(&self, ms: &[Matcher]) -> Vec<u64> {
            if ms.is_empty() {
                return vec![];
            }
            (0..self.series.len() as u64)
                .filter(|&i| {
                    ms.iter()
                        .all(|m| m.matches_labels(&self.series[i as usize]))
                })
                .collect()
        }
    }

    impl IndexReader for MemIndex {
        fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>> {
            Ok(self
                .postings
                .get(&(name.to_string(), value.to_string()))
                .cloned()
                .unwrap_or_default())
        }
        fn label_values(&self, name: &str) -> Result<Vec<String>> {
            Ok(self
                .postings
                .keys()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect())
        }
        fn all_postings(&self) -> Result<Vec<u64>> {
            Ok((0..self.series.len() as u64).collect())
        }
    }

    fn ix() -> MemIndex {
        MemIndex::new(&[
            &[("n", "1")],
            &[("n", "1"), ("i", "a")],
            &[("n", "1"), ("i", "b")],
            &[("n", "2")],
            &[("n", "2.5")],
            &[("i", "a"), ("x", "1")],
            &[("i", "\n")],
        ])
    }

    fn m(t: MatchType, n: &str, v: &str) -> Matcher {
        Matcher::new(t, n, v).unwrap()
    }

    use MatchType::{Equal as Eq, NotEqual as Ne, NotRegex as Nre, Regex as Re};

    fn check(ms: &[Matcher], want: &[u64]) {
        let ix = ix();
        let got = postings_for_matchers(&ix, ms).unwrap();
        assert_eq!(got, want, "matchers {ms:?}");
        assert_eq!(got, ix.brute(ms), "brute force disagrees for {ms:?}");
    }

    #[test]
    fn equal_matchers_intersect() {
        check(&[m(Eq, "n", "1")], &[0, 1, 2]);
        check(&[m(Eq, "n", "1"), m(Eq, "i", "a")], &[1]);
        check(&[m(Eq, "n", "1"), m(Eq, "i", "missing")], &[]);
        check(&[m(Eq, "missing", "x")], &[]);
    }

    #[test]
    fn empty_matcher_list_selects_nothing() {
        check(&[], &[]);
    }

    #[test]
    fn matchers_accepting_empty_keep_series_without_the_label() {
        check(&[m(Eq, "n", "1"), m(Eq, "i", "")], &[0]);
        check(&[m(Eq, "i", "")], &[0, 3, 4]);
        check(&[m(Ne, "n", "1")], &[3, 4, 5, 6]);
        check(&[m(Ne, "n", "1"), m(Ne, "i", "a")], &[3, 4, 6]);
        check(&[m(Nre, "n", "2.*")], &[0, 1, 2, 5, 6]);
        check(&[m(Re, "i", "a|")], &[0, 1, 3, 4, 5]);
        check(&[m(Eq, "n", "1"), m(Re, "i", "a|")], &[0, 1]);
        check(&[m(Re, "missing", "")], &[0, 1, 2, 3, 4, 5, 6]);
        check(&[m(Ne, "missing", "x")], &[0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn matchers_rejecting_empty_require_the_label() {
        check(&[m(Ne, "i", "")], &[1, 2, 5, 6]);
        check(&[m(Re, "i", ".+")], &[1, 2, 5, 6]);
        check(&[m(Re, "n", "2.*")], &[3, 4]);
        check(&[m(Re, "n", "1|2")], &[0, 1, 2, 3]);
        check(&[m(Re, "n", "1|2"), m(Nre, "i", "b")], &[0, 1, 3]);
        check(&[m(Nre, "n", ".*")], &[]);
        check(&[m(Re, "n", ".+"), m(Ne, "n", "1")], &[3, 4]);
    }

    #[test]
    fn regex_matches_newlines_and_any() {
        check(&[m(Re, "i", ".")], &[1, 2, 5, 6]);
        check(&[m(Re, "i", "[^a-z]")], &[6]);
        check(&[m(Re, "i", ".*")], &[0, 1, 2, 3, 4, 5, 6]);
        check(&[m(Re, "i", ".*"), m(Eq, "x", "1")], &[5]);
        check(&[m(Nre, "i", "a|b")], &[0, 3, 4, 6]);
    }

    #[test]
    fn list_helpers() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[0, 3, 4, 7, 9]), vec![3, 7]);
        assert_eq!(intersect(&[], &[1]), Vec::<u64>::new());
        assert_eq!(merge(&[1, 3, 5], &[0, 3, 4, 9]), vec![0, 1, 3, 4, 5, 9]);
        assert_eq!(merge(&[], &[2]), vec![2]);
        assert_eq!(without(&[1, 2, 3, 4, 5], &[0, 2, 5, 6]), vec![1, 3, 4]);
        assert_eq!(without(&[1, 2], &[]), vec![1, 2]);
        assert_eq!(
            merge_all(vec![vec![5], vec![1, 9], vec![2, 5], vec![0]]),
            vec![0, 1, 2, 5, 9]
        );
        assert_eq!(merge_all(vec![]), Vec::<u64>::new());
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_brute_force(
            series in proptest::collection::vec(
                proptest::collection::vec((0usize..3, 0usize..4), 0..4), 1..30),
            ms in proptest::collection::vec((0usize..3, 0usize..4, 0usize..9), 1..4),
        ) {
            let names = ["a", "b", "c"];
            let values = ["", "x", "y", "xy"];
            let pairs: Vec<Vec<(&str, &str)>> = series
                .iter()
                .map(|s| s.iter().map(|&(n, v)| (names[n], values[v])).collect())
                .collect();
            let refs: Vec<&[(&str, &str)]> = pairs.iter().map(|p| p.as_slice()).collect();
            let ix = MemIndex::new(&refs);
            let patterns = ["", "x", "x.*", ".*", ".+", "x|y", "x|", "y|xy", "(x|y)y?"];
            let ms: Vec<Matcher> = ms
                .iter()
                .map(|&(n, t, p)| {
                    let t = [Eq, Ne, Re, Nre][t];
                    let v = if matches!(t, Eq | Ne) { values[p % 4] } else { patterns[p] };
                    m(t, names[n], v)
                })
                .collect();
            proptest::prop_assert_eq!(postings_for_matchers(&ix, &ms).unwrap(), ix.brute(&ms));
        }
    }
}
