//! The layer traits.

use promlite_model::{Labels, Matcher};

use crate::Result;

/// A reference to a series inside one storage, returned by
/// [`Appender::append`] so the next append of the same series can skip the
/// label lookup. It is only meaningful to the storage that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u64);

/// Something that hands out appenders. Implementations are shared across
/// threads; each appender is used by one thread at a time.
pub trait Appendable: Send + Sync {
    /// A new appender. Appenders from one `Appendable` may be used
    /// concurrently from different threads.
    fn appender(&self) -> Box<dyn Appender>;
}

/// A batch of samples that becomes visible atomically on commit.
///
/// Samples are checked as they are appended (out of order, duplicate,
/// out of bounds); a rejected sample returns an error and is not part of
/// the batch, the others stay. Nothing is visible to queriers before
/// [`Appender::commit`] returns, and once it returns `Ok` the samples are
/// durable in the write-ahead log (if the storage has one).
pub trait Appender: Send {
    /// Adds a sample. `r` is a reference returned by an earlier append for
    /// the same labels (or `None`, then `l` is looked up or a series created).
    /// Returns the series' reference.
    fn append(&mut self, r: Option<SeriesRef>, l: &Labels, t: i64, v: f64) -> Result<SeriesRef>;

    /// Adds a sample with its start timestamp `st` (milliseconds; the time
    /// the counter or the delta interval began, OpenMetrics' `_created`,
    /// OTLP's `StartTimeUnixNano`). `st == 0` means unknown and is the same
    /// as [`Appender::append`]. PromQL's `rate`, `increase`, `irate` and
    /// `resets` use start timestamps to detect counter resets.
    ///
    /// The default drops `st`: storages that cannot keep start timestamps
    /// store the sample without it. The TSDB keeps it.
    fn append_st(
        &mut self,
        r: Option<SeriesRef>,
        l: &Labels,
        st: i64,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef> {
        let _ = st;
        self.append(r, l, t, v)
    }

    /// Makes the batch durable and visible.
    fn commit(self: Box<Self>) -> Result<()>;

    /// Drops the batch.
    fn rollback(self: Box<Self>) -> Result<()>;
}

/// Something that can be queried for a time range.
pub trait Queryable: Send + Sync {
    /// A querier over the inclusive range `[mint, maxt]` (milliseconds).
    /// The querier holds what it needs and does not borrow `self`.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>>;
}

/// Hints a selector passes to [`Querier::select`]; a querier may ignore them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelectHints {
    /// Start of the data the caller needs (inclusive, milliseconds).
    pub start: i64,
    /// End of the data the caller needs (inclusive, milliseconds).
    pub end: i64,
}

/// Read access to one time range of a storage.
///
/// A querier is a consistent view: series appended after it was created may
/// or may not be visible, but samples of a series never appear half-committed.
pub trait Querier: Send + Sync {
    /// The series whose labels match every matcher, with their samples in
    /// the querier's range. With `sorted`, series come in [`Labels`] order.
    fn select(
        &self,
        sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<SeriesSet<'_>>;

    /// Sorted, unique label names of the series matching all `matchers`
    /// (all series when `matchers` is empty) that have samples in range.
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>>;

    /// Sorted, unique values of label `name` over the series matching all
    /// `matchers` that have samples in range.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>>;
}

/// The series returned by [`Querier::select`].
pub type SeriesSet<'a> = Box<dyn Iterator<Item = Result<Box<dyn Series + 'a>>> + Send + 'a>;

/// One series: its labels and a way to iterate its samples (any number of times).
pub trait Series: Send {
    /// The series' labels.
    fn labels(&self) -> &Labels;
    /// A fresh iterator positioned before the first sample.
    fn iterator(&self) -> Box<dyn SampleIterator + '_>;

    /// Whether any sample may carry a start timestamp. When false, a
    /// reader need not call [`SampleIterator::at_st`] (it would return 0).
    /// The default, true, is always correct, only slower to read.
    fn may_have_start_timestamps(&self) -> bool {
        true
    }
}

/// The kind of value an iterator is positioned at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Exhausted (or failed: see [`SampleIterator::err`]).
    None,
    /// A float sample; read it with [`SampleIterator::at`].
    Float,
}

/// An iterator over one series' samples in increasing timestamp order,
/// as Prometheus' `chunkenc.Iterator`.
pub trait SampleIterator: Send {
    /// Advances to the next sample.
    fn next(&mut self) -> ValueType;

    /// Advances to the first sample with timestamp `>= t`. If the current
    /// sample already satisfies that, stays put; never moves backwards.
    fn seek(&mut self, t: i64) -> ValueType;

    /// The current sample. Only valid after `next`/`seek` returned `Float`.
    fn at(&self) -> (i64, f64);

    /// The current timestamp.
    fn at_t(&self) -> i64 {
        self.at().0
    }

    /// The current sample's start timestamp, 0 when it has none (see
    /// [`Appender::append_st`]). Only valid where [`SampleIterator::at`] is.
    fn at_st(&self) -> i64 {
        0
    }

    /// The error that ended iteration, if any.
    fn err(&self) -> Option<&crate::Error> {
        None
    }
}
