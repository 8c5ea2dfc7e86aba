//! The storage layer's traits, as in Prometheus' `storage/interface.go`.
//!
//! Everything that writes samples (scrape, rules, the remote-write receiver)
//! sees an [`Appendable`]; everything that reads (PromQL, the HTTP API,
//! remote read) sees a [`Queryable`]. The TSDB implements both, and
//! [`MergeQuerier`] presents several sources (head and blocks, or local and
//! remote storage) as one.
//!
//! * An [`Appender`] collects samples and ends in [`Appender::commit`] or
//!   [`Appender::rollback`]; both consume it, so a finished appender cannot
//!   be used again.
//! * A [`Querier`] covers the inclusive time range `[mint, maxt]` it was
//!   created for and yields [`Series`] whose [`SampleIterator`]s can `seek`.
//!
//! ```
//! use promlite_model::{Labels, Matcher};
//! use promlite_storage::{MergeQuerier, Querier, VecQuerier, VecSeries, ValueType};
//!
//! let a = VecQuerier::new(vec![VecSeries::new(Labels::from_pairs(&[("__name__", "x")]), vec![(1, 1.0)])]);
//! let b = VecQuerier::new(vec![VecSeries::new(Labels::from_pairs(&[("__name__", "x")]), vec![(2, 2.0)])]);
//! let q = MergeQuerier::new(vec![Box::new(a), Box::new(b)]);
//! let mut set = q.select(true, None, &[Matcher::equal("__name__", "x")]).unwrap();
//! let s = set.next().unwrap().unwrap();
//! let mut it = s.iterator();
//! assert_eq!(it.next(), ValueType::Float);
//! assert_eq!(it.at(), (1, 1.0));
//! assert_eq!(it.next(), ValueType::Float);
//! assert_eq!(it.at(), (2, 2.0));
//! assert_eq!(it.next(), ValueType::None);
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod interface;
mod merge;
mod vec;

pub use error::{Error, Result};
pub use interface::{
    Appendable, Appender, Querier, Queryable, SampleIterator, SelectHints, Series, SeriesRef,
    SeriesSet, ValueType,
};
pub use merge::{ChainSampleIterator, MergeQuerier};
pub use vec::{VecQuerier, VecSeries, VecSeriesIterator};
