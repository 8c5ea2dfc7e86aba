//! A small in-memory storage for test scripts. The TSDB head will replace
//! it; the runner only sees [`TestStorage`].

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use promlite_model::Labels;
use promlite_storage::{
    Appendable, Appender, Querier, Queryable, Result, SeriesRef, VecQuerier, VecSeries,
};

/// What the runner needs from a storage: writing and reading.
pub trait TestStorage: Appendable + Queryable {}

impl<T: Appendable + Queryable> TestStorage for T {}

type Data = BTreeMap<Labels, Vec<(i64, f64)>>;

/// Series in a `BTreeMap` behind a lock. Appends are buffered until commit;
/// a sample at an existing timestamp replaces the old one.
#[derive(Debug, Default, Clone)]
pub struct MemStorage {
    data: Arc<RwLock<Data>>,
}

impl MemStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }
}

struct MemAppender {
    data: Arc<RwLock<Data>>,
    batch: Vec<(Labels, i64, f64)>,
}

impl Appender for MemAppender {
    fn append(&mut self, _r: Option<SeriesRef>, l: &Labels, t: i64, v: f64) -> Result<SeriesRef> {
        self.batch.push((l.clone(), t, v));
        Ok(SeriesRef(l.hash64()))
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let mut d = self.data.write();
        for (l, t, v) in self.batch {
            let s = d.entry(l).or_default();
            match s.binary_search_by_key(&t, |p| p.0) {
                Ok(i) => s[i].1 = v,
                Err(i) => s.insert(i, (t, v)),
            }
        }
        Ok(())
    }

    fn rollback(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

impl Appendable for MemStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(MemAppender {
            data: self.data.clone(),
            batch: Vec::new(),
        })
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>> {
        let d = self.data.read();
        let series = d
            .iter()
            .filter_map(|(l, s)| {
                let lo = s.partition_point(|p| p.0 < mint);
                let hi = s.partition_point(|p| p.0 <= maxt);
                (lo < hi).then(|| VecSeries::new(l.clone(), s[lo..hi].to_vec()))
            })
            .collect();
        Ok(Box::new(VecQuerier::new(series)))
    }
}
