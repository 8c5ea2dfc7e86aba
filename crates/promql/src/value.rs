//! Query results and the engine's internal series representation.

use std::fmt;

use promlite_model::Labels;

/// One float point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: Labels,
    /// The evaluation timestamp.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// One series of a matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// Points in increasing time order.
    pub points: Vec<Point>,
}

/// The value a query returns (Prometheus' `parser.Value`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An instant vector, in evaluation order as in Prometheus (not sorted
    /// by labels; `sort()`, `topk()` and the like define their order).
    Vector(Vec<Sample>),
    /// A range vector (range queries, or an instant query of a matrix),
    /// sorted by labels.
    Matrix(Vec<Series>),
    /// A scalar at a timestamp.
    Scalar {
        /// Timestamp.
        t: i64,
        /// Value.
        v: f64,
    },
    /// A string at a timestamp.
    String {
        /// Timestamp.
        t: i64,
        /// Value.
        v: String,
    },
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Vector(v) => {
                for s in v {
                    writeln!(f, "{} => {} @[{}]", s.labels, s.v, s.t)?;
                }
                Ok(())
            }
            Value::Matrix(m) => {
                for s in m {
                    write!(f, "{} =>", s.labels)?;
                    for p in &s.points {
                        write!(f, " {} @[{}]", p.v, p.t)?;
                    }
                    writeln!(f)?;
                }
                Ok(())
            }
            Value::Scalar { t, v } => write!(f, "scalar: {v} @[{t}]"),
            Value::String { t, v } => write!(f, "string: {v} @[{t}]"),
        }
    }
}

/// Sample counts of one query, as Prometheus reports them with `stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Samples read by selectors, counted per step: a sample seen by the
    /// range windows of k steps counts k times (`totalQueryableSamples`).
    pub total_samples: u64,
    /// The most samples the query held in memory (`peakSamples`; what
    /// `--query.max-samples` limits).
    pub peak_samples: u64,
}

/// A query's value with the annotations collected while evaluating it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The result.
    pub value: Value,
    /// Warning annotations (`PromQL warning: ...`), sorted and unique.
    pub warnings: Vec<String>,
    /// Info annotations (`PromQL info: ...`), sorted and unique.
    pub infos: Vec<String>,
    /// Sample counts.
    pub stats: QueryStats,
}

/// A series flowing between operators: labels, the delayed name-removal
/// flag and one point per evaluation step at which it has a value.
#[derive(Debug, Clone)]
pub(crate) struct SeriesData {
    pub(crate) labels: Labels,
    pub(crate) drop_name: bool,
    pub(crate) points: Vec<Point>,
}

impl SeriesData {
    pub(crate) fn new(labels: Labels, drop_name: bool) -> Self {
        SeriesData {
            labels,
            drop_name,
            points: Vec::new(),
        }
    }
}
