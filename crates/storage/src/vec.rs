//! Series and queriers over plain vectors, for tests and small adapters.

use promlite_model::{Labels, Matcher};

use crate::{Querier, Result, SampleIterator, SelectHints, Series, SeriesSet, ValueType};

/// A series whose samples are held in a vector (sorted by timestamp).
#[derive(Debug, Clone, PartialEq)]
pub struct VecSeries {
    /// The labels.
    pub labels: Labels,
    /// The samples, sorted by timestamp.
    pub samples: Vec<(i64, f64)>,
}

impl VecSeries {
    /// A series from labels and samples sorted by timestamp.
    pub fn new(labels: Labels, samples: Vec<(i64, f64)>) -> Self {
        VecSeries { labels, samples }
    }
}

impl Series for VecSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }
    fn iterator(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(VecSeriesIterator::new(&self.samples))
    }
    fn may_have_start_timestamps(&self) -> bool {
        false
    }
}

/// Iterator over a sample slice.
#[derive(Debug, Clone)]
pub struct VecSeriesIterator<'a> {
    samples: &'a [(i64, f64)],
    // Index of the current sample plus one; 0 before the first `next`.
    pos: usize,
}

impl<'a> VecSeriesIterator<'a> {
    /// An iterator positioned before the first sample.
    pub fn new(samples: &'a [(i64, f64)]) -> Self {
        VecSeriesIterator { samples, pos: 0 }
    }

    fn kind(&self) -> ValueType {
        if self.pos >= 1 && self.pos <= self.samples.len() {
            ValueType::Float
        } else {
            ValueType::None
        }
    }
}

impl SampleIterator for VecSeriesIterator<'_> {
    fn next(&mut self) -> ValueType {
        if self.pos <= self.samples.len() {
            self.pos += 1;
        }
        self.kind()
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.pos == 0 {
            self.pos = 1;
        }
        if self.pos > self.samples.len() {
            return ValueType::None;
        }
        let cur = self.pos - 1;
        if self.samples[cur].0 < t {
            let rest = &self.samples[cur..];
            let off = rest.partition_point(|s| s.0 < t);
            self.pos = cur + off + 1;
        }
        self.kind()
    }

    fn at(&self) -> (i64, f64) {
        self.samples
            .get(self.pos.wrapping_sub(1))
            .copied()
            .unwrap_or((i64::MIN, 0.0))
    }
}

/// A querier over a fixed list of series, filtering by matchers only.
#[derive(Debug, Clone, Default)]
pub struct VecQuerier {
    series: Vec<VecSeries>,
}

impl VecQuerier {
    /// A querier over `series`.
    pub fn new(mut series: Vec<VecSeries>) -> Self {
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        VecQuerier { series }
    }

    fn matching<'a>(&'a self, ms: &'a [Matcher]) -> impl Iterator<Item = &'a VecSeries> + 'a {
        self.series
            .iter()
            .filter(move |s| ms.iter().all(|m| m.matches_labels(&s.labels)))
    }
}

impl Querier for VecQuerier {
    fn select(
        &self,
        _sorted: bool,
        _hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<SeriesSet<'_>> {
        let v: Vec<Result<Box<dyn Series + '_>>> = self
            .matching(matchers)
            .map(|s| Ok(Box::new(s.clone()) as Box<dyn Series>))
            .collect();
        Ok(Box::new(v.into_iter()))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .matching(matchers)
            .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut vals: Vec<String> = self
            .matching(matchers)
            .filter_map(|s| s.labels.get(name).map(str::to_string))
            .collect();
        vals.sort();
        vals.dedup();
        Ok(vals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_never_moves_backwards() {
        let s = [(1, 1.0), (5, 5.0), (9, 9.0)];
        let mut it = VecSeriesIterator::new(&s);
        assert_eq!(it.seek(4), ValueType::Float);
        assert_eq!(it.at(), (5, 5.0));
        assert_eq!(it.seek(2), ValueType::Float);
        assert_eq!(it.at(), (5, 5.0));
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (9, 9.0));
        assert_eq!(it.seek(10), ValueType::None);
        assert_eq!(it.next(), ValueType::None);
    }
}
