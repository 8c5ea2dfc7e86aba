//! The remote-write 1.0 messages (Prometheus' `prompb/remote.proto` and
//! `prompb/types.proto`) as hand-written prost messages: only the fields
//! the sender fills.

use prost::Message;

/// `prometheus.WriteRequest`. Field 2 is reserved; metadata (field 3) is
/// not sent.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries` without exemplars and histograms.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// Labels, sorted by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Samples in time order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, Hash, Message)]
pub struct Label {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `io.prometheus.write.v2.Request`: strings interned in `symbols` (index 0
/// is the empty string), series referring to them by index.
#[derive(Clone, PartialEq, Message)]
pub struct RequestV2 {
    /// The symbol table.
    #[prost(string, repeated, tag = "4")]
    pub symbols: Vec<String>,
    /// The series.
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeriesV2>,
}

/// `io.prometheus.write.v2.TimeSeries` without histograms, exemplars and metadata.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeriesV2 {
    /// Name/value pairs as indices into the symbols.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Samples in time order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.MetricMetadata` (type: 0 unknown, 1 counter, 2 gauge,
/// 3 histogram, 4 gaugehistogram, 5 summary, 6 info, 7 stateset).
#[derive(Clone, PartialEq, Message)]
pub struct MetricMetadata {
    /// The metric type.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The metric family name.
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// HELP.
    #[prost(string, tag = "4")]
    pub help: String,
    /// UNIT.
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// A `prometheus.WriteRequest` carrying only metadata (field 3).
#[derive(Clone, PartialEq, Message)]
pub struct MetadataRequest {
    /// The metadata.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}
