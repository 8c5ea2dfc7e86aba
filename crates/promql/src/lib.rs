//! A PromQL engine for promlite.
//!
//! [`Engine`] parses a query with the `promql-parser` crate and evaluates it
//! against any [`promlite_storage::Queryable`], with Prometheus 3.x
//! semantics: a 5 minute lookback, staleness markers, left-open range
//! windows, `offset`, `@`, subqueries and delayed `__name__` removal.
//! Every selector reads its series once for the whole query range and the
//! evaluation steps then walk over the loaded samples.
//!
//! ```
//! use promlite_model::Labels;
//! use promlite_promql::{Engine, EngineOpts, Value};
//! use promlite_storage::{Querier, Queryable, VecQuerier, VecSeries};
//!
//! struct Store(Vec<VecSeries>);
//! impl Queryable for Store {
//!     fn querier(&self, _: i64, _: i64) -> promlite_storage::Result<Box<dyn Querier>> {
//!         Ok(Box::new(VecQuerier::new(self.0.clone())))
//!     }
//! }
//! let store = Store(vec![VecSeries::new(
//!     Labels::from_pairs(&[("__name__", "up")]),
//!     vec![(0, 1.0)],
//! )]);
//! let engine = Engine::new(EngineOpts::default());
//! let res = engine.instant_query(&store, "up * 2", 10_000).unwrap();
//! match res.value {
//!     Value::Vector(v) => assert_eq!(v[0].v, 2.0),
//!     _ => unreachable!(),
//! }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod aggregations;
mod annotations;
mod binary;
mod engine;
mod error;
mod format;
mod functions;
mod info;
mod literals;
mod selector;
mod value;

pub use engine::{CancelFlag, Engine, EngineOpts};
pub use error::{Error, Result};
pub use literals::parse_query;
/// The parsed expression type accepted by [`Engine::instant_query_expr`].
pub use promql_parser::parser::Expr;
pub use value::{Point, QueryResult, QueryStats, Sample, Series, Value};
