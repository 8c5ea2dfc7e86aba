//! Merging several queriers into one, as Prometheus' `storage/merge.go`.
//!
//! Series with equal labels from different sources become one series whose
//! samples are merged by timestamp; where two sources hold a sample at the
//! same timestamp, the first source's sample wins.

use std::cmp::Ordering;

use promlite_model::{Labels, Matcher};

use crate::{Querier, Result, SampleIterator, SelectHints, Series, SeriesSet, ValueType};

/// A querier over several queriers, e.g. the head and the persisted blocks.
pub struct MergeQuerier {
    queriers: Vec<Box<dyn Querier>>,
}

impl MergeQuerier {
    /// Merges `queriers`; earlier ones win on equal timestamps.
    pub fn new(queriers: Vec<Box<dyn Querier>>) -> Self {
        MergeQuerier { queriers }
    }
}

fn merge_sorted(lists: Vec<Vec<String>>) -> Vec<String> {
    let mut all: Vec<String> = lists.into_iter().flatten().collect();
    all.sort();
    all.dedup();
    all
}

impl Querier for MergeQuerier {
    fn select(
        &self,
        sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<SeriesSet<'_>> {
        match self.queriers.len() {
            0 => Ok(Box::new(std::iter::empty())),
            1 => self.queriers[0].select(sorted, hints, matchers),
            _ => {
                let mut sets = Vec::with_capacity(self.queriers.len());
                for q in &self.queriers {
                    sets.push(q.select(true, hints, matchers)?);
                }
                Ok(Box::new(MergeSeriesSet::new(sets)))
            }
        }
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut lists = Vec::with_capacity(self.queriers.len());
        for q in &self.queriers {
            lists.push(q.label_names(matchers)?);
        }
        Ok(merge_sorted(lists))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut lists = Vec::with_capacity(self.queriers.len());
        for q in &self.queriers {
            lists.push(q.label_values(name, matchers)?);
        }
        Ok(merge_sorted(lists))
    }
}

type BoxSeries<'a> = Box<dyn Series + 'a>;

/// K-way merge of label-sorted series sets.
struct MergeSeriesSet<'a> {
    sets: Vec<SeriesSet<'a>>,
    heads: Vec<Option<BoxSeries<'a>>>,
    started: bool,
}

impl<'a> MergeSeriesSet<'a> {
    fn new(sets: Vec<SeriesSet<'a>>) -> Self {
        let n = sets.len();
        MergeSeriesSet {
            sets,
            heads: (0..n).map(|_| None).collect(),
            started: false,
        }
    }

    fn fill(&mut self, i: usize) -> Result<()> {
        self.heads[i] = match self.sets[i].next() {
            Some(r) => Some(r?),
            None => None,
        };
        Ok(())
    }
}

impl<'a> Iterator for MergeSeriesSet<'a> {
    type Item = Result<BoxSeries<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            for i in 0..self.sets.len() {
                if let Err(e) = self.fill(i) {
                    return Some(Err(e));
                }
            }
        }
        // Find the smallest label set among the heads.
        let mut min: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            if let Some(s) = h {
                min = match min {
                    Some(m) => match self.heads[m].as_ref() {
                        Some(ms) if s.labels().cmp(ms.labels()) == Ordering::Less => Some(i),
                        _ => Some(m),
                    },
                    None => Some(i),
                };
            }
        }
        let m = min?;
        let labels = self.heads[m].as_ref()?.labels().clone();
        let mut parts = Vec::new();
        for i in 0..self.heads.len() {
            let same = matches!(&self.heads[i], Some(s) if s.labels() == &labels);
            if same {
                if let Some(s) = self.heads[i].take() {
                    parts.push(s);
                }
                if let Err(e) = self.fill(i) {
                    return Some(Err(e));
                }
            }
        }
        if parts.len() == 1 {
            return parts.pop().map(Ok);
        }
        Some(Ok(Box::new(MergedSeries { labels, parts })))
    }
}

/// A series stitched together from several sources.
struct MergedSeries<'a> {
    labels: Labels,
    parts: Vec<BoxSeries<'a>>,
}

impl Series for MergedSeries<'_> {
    fn labels(&self) -> &Labels {
        &self.labels
    }
    fn iterator(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(ChainSampleIterator::new(
            self.parts.iter().map(|p| p.iterator()).collect(),
        ))
    }
    fn may_have_start_timestamps(&self) -> bool {
        self.parts.iter().any(|p| p.may_have_start_timestamps())
    }
}

/// Merges sample iterators by timestamp; on equal timestamps the earliest
/// iterator in the list wins and the others' samples are skipped.
pub struct ChainSampleIterator<'a> {
    its: Vec<Box<dyn SampleIterator + 'a>>,
    valid: Vec<bool>,
    cur: Option<usize>,
    started: bool,
}

impl<'a> ChainSampleIterator<'a> {
    /// Merges `its`.
    pub fn new(its: Vec<Box<dyn SampleIterator + 'a>>) -> Self {
        let n = its.len();
        ChainSampleIterator {
            its,
            valid: vec![false; n],
            cur: None,
            started: false,
        }
    }

    fn pick(&mut self) -> ValueType {
        self.cur = None;
        let mut best = i64::MAX;
        for (i, it) in self.its.iter().enumerate() {
            if self.valid[i] {
                let t = it.at_t();
                if self.cur.is_none() || t < best {
                    best = t;
                    self.cur = Some(i);
                }
            }
        }
        if self.cur.is_some() {
            ValueType::Float
        } else {
            ValueType::None
        }
    }
}

impl SampleIterator for ChainSampleIterator<'_> {
    fn next(&mut self) -> ValueType {
        if !self.started {
            self.started = true;
            for (i, it) in self.its.iter_mut().enumerate() {
                self.valid[i] = it.next() == ValueType::Float;
            }
        } else {
            let Some(c) = self.cur else {
                return ValueType::None;
            };
            let t = self.its[c].at_t();
            for (i, it) in self.its.iter_mut().enumerate() {
                if self.valid[i] && it.at_t() == t {
                    self.valid[i] = it.next() == ValueType::Float;
                }
            }
        }
        self.pick()
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.started {
            match self.cur {
                Some(c) if self.its[c].at_t() >= t => return ValueType::Float,
                None => return ValueType::None,
                _ => {}
            }
        }
        self.started = true;
        for (i, it) in self.its.iter_mut().enumerate() {
            self.valid[i] = it.seek(t) == ValueType::Float;
        }
        self.pick()
    }

    fn at(&self) -> (i64, f64) {
        match self.cur {
            Some(c) => self.its[c].at(),
            None => (i64::MIN, 0.0),
        }
    }

    fn at_st(&self) -> i64 {
        self.cur.map_or(0, |c| self.its[c].at_st())
    }

    fn err(&self) -> Option<&crate::Error> {
        self.its.iter().find_map(|i| i.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{VecQuerier, VecSeries};

    fn l(v: &str) -> Labels {
        Labels::from_pairs(&[("__name__", "m"), ("i", v)])
    }

    fn collect(q: &dyn Querier) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let set = q
            .select(true, None, &[Matcher::equal("__name__", "m")])
            .unwrap();
        set.map(|s| {
            let s = s.unwrap();
            let mut it = s.iterator();
            let mut v = vec![];
            while it.next() == ValueType::Float {
                v.push(it.at());
            }
            (s.labels().clone(), v)
        })
        .collect()
    }

    #[test]
    fn merges_series_and_dedups_timestamps() {
        let a = VecQuerier::new(vec![
            VecSeries::new(l("1"), vec![(1, 1.0), (3, 3.0)]),
            VecSeries::new(l("3"), vec![(1, 1.0)]),
        ]);
        let b = VecQuerier::new(vec![
            VecSeries::new(l("1"), vec![(2, 2.0), (3, 30.0), (4, 4.0)]),
            VecSeries::new(l("2"), vec![(5, 5.0)]),
        ]);
        let q = MergeQuerier::new(vec![Box::new(a), Box::new(b)]);
        let got = collect(&q);
        assert_eq!(
            got,
            vec![
                (l("1"), vec![(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]),
                (l("2"), vec![(5, 5.0)]),
                (l("3"), vec![(1, 1.0)]),
            ]
        );
        assert_eq!(q.label_values("i", &[]).unwrap(), vec!["1", "2", "3"]);
        assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "i"]);
    }

    #[test]
    fn chain_seek_skips_across_sources() {
        let a = [(1, 1.0), (10, 10.0)];
        let b = [(5, 5.0), (12, 12.0)];
        let mut it = ChainSampleIterator::new(vec![
            Box::new(crate::VecSeriesIterator::new(&a)),
            Box::new(crate::VecSeriesIterator::new(&b)),
        ]);
        assert_eq!(it.seek(6), ValueType::Float);
        assert_eq!(it.at(), (10, 10.0));
        assert_eq!(it.seek(3), ValueType::Float);
        assert_eq!(it.at(), (10, 10.0));
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (12, 12.0));
        assert_eq!(it.next(), ValueType::None);
    }
}
