//! OTLP metrics: `opentelemetry.proto.collector.metrics.v1` and the
//! messages an export request is made of (`opentelemetry-proto`:
//! `collector/metrics/v1/metrics_service.proto`, `metrics/v1/metrics.proto`,
//! `resource/v1/resource.proto`, `common/v1/common.proto`).
//!
//! Declared fields carry the `.proto` field numbers. Exemplars, metric
//! metadata, schema URLs, dropped-attribute counts, histogram min/max and
//! exponential-histogram buckets are not declared and therefore skipped on
//! decode; an exponential histogram is still recognised as such (its
//! oneof case) so that a receiver can report it.

use prost::{Message, Oneof};

/// `ExportMetricsServiceRequest`: the body of `POST /v1/metrics`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceRequest {
    /// Metrics grouped by the resource that produced them.
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// `ExportMetricsServiceResponse`. Empty on full success.
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceResponse {
    /// Set when some data points were rejected and the rest accepted.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportMetricsPartialSuccess>,
}

/// `ExportMetricsPartialSuccess`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsPartialSuccess {
    /// Data points the server did not accept.
    #[prost(int64, tag = "1")]
    pub rejected_data_points: i64,
    /// Why, for a human.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `ResourceMetrics`: a resource and its metrics by instrumentation scope.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceMetrics {
    /// The resource; absent means unknown.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// Metrics by scope.
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
}

/// `opentelemetry.proto.resource.v1.Resource`.
#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    /// Attributes such as `service.name`.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

/// `ScopeMetrics`: the metrics of one instrumentation scope.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeMetrics {
    /// The scope; absent means unknown.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// The metrics.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
}

/// `opentelemetry.proto.common.v1.InstrumentationScope`.
#[derive(Clone, PartialEq, Message)]
pub struct InstrumentationScope {
    /// Name of the instrumentation library.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its version.
    #[prost(string, tag = "2")]
    pub version: String,
    /// Scope attributes.
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
}

/// `Metric`: a name, a unit and data of one type. Fields 4, 6 and 8 are
/// reserved; `metadata` (12) is not declared.
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Description.
    #[prost(string, tag = "2")]
    pub description: String,
    /// UCUM unit, e.g. `s`, `By`, `1`, `{request}`.
    #[prost(string, tag = "3")]
    pub unit: String,
    /// The data; absent is an invalid metric.
    #[prost(oneof = "MetricData", tags = "5, 7, 9, 10, 11")]
    pub data: Option<MetricData>,
}

/// The `data` oneof of [`Metric`].
#[derive(Clone, PartialEq, Oneof)]
pub enum MetricData {
    /// Current values.
    #[prost(message, tag = "5")]
    Gauge(Gauge),
    /// Sums over time, monotonic or not.
    #[prost(message, tag = "7")]
    Sum(Sum),
    /// Explicit-bucket histograms.
    #[prost(message, tag = "9")]
    Histogram(Histogram),
    /// Exponential (base-2) histograms.
    #[prost(message, tag = "10")]
    ExponentialHistogram(ExponentialHistogram),
    /// Quantile summaries.
    #[prost(message, tag = "11")]
    Summary(Summary),
}

/// `Gauge`.
#[derive(Clone, PartialEq, Message)]
pub struct Gauge {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

/// `Sum`.
#[derive(Clone, PartialEq, Message)]
pub struct Sum {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    /// An [`AggregationTemporality`] value.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
    /// Whether the sum only goes up (a counter).
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

/// `Histogram`.
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
    /// An [`AggregationTemporality`] value.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
}

/// `ExponentialHistogram`; only the point count and temporality are
/// declared (promlite has no native histograms to store them in).
#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogram {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<ExponentialHistogramDataPoint>,
    /// An [`AggregationTemporality`] value.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
}

/// `ExponentialHistogramDataPoint`, reduced to its timestamps and count.
#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogramDataPoint {
    /// Attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval (ns since the epoch; 0: unknown).
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When the point was captured (ns since the epoch).
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Number of observations.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
}

/// `Summary`.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    /// The points.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<SummaryDataPoint>,
}

/// `AggregationTemporality`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AggregationTemporality {
    /// Must not be used.
    Unspecified = 0,
    /// Each point covers the interval since the previous one.
    Delta = 1,
    /// Each point covers the interval since a fixed start time.
    Cumulative = 2,
}

/// `DataPointFlags.FLAG_NO_RECORDED_VALUE`: the point marks the series as
/// gone (Prometheus writes a staleness marker).
pub const FLAG_NO_RECORDED_VALUE: u32 = 1;

/// `NumberDataPoint`. Field 1 is reserved; exemplars (5) are not declared.
#[derive(Clone, PartialEq, Message)]
pub struct NumberDataPoint {
    /// Attributes identifying the series.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval (ns since the epoch; 0: unknown).
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When the value was captured (ns since the epoch).
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// The value; absent is an invalid point.
    #[prost(oneof = "NumberValue", tags = "4, 6")]
    pub value: Option<NumberValue>,
    /// `DataPointFlags` bits.
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

/// The `value` oneof of [`NumberDataPoint`].
#[derive(Clone, Copy, PartialEq, Oneof)]
pub enum NumberValue {
    /// A float.
    #[prost(double, tag = "4")]
    AsDouble(f64),
    /// An integer.
    #[prost(sfixed64, tag = "6")]
    AsInt(i64),
}

/// `HistogramDataPoint`. Field 1 is reserved; exemplars (8), min (11) and
/// max (12) are not declared.
#[derive(Clone, PartialEq, Message)]
pub struct HistogramDataPoint {
    /// Attributes identifying the series.
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval (ns since the epoch; 0: unknown).
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When the value was captured (ns since the epoch).
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Number of observations.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Sum of the observations; absent means unknown.
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    /// Per-bucket (not cumulative) counts, one more than `explicit_bounds`.
    #[prost(fixed64, repeated, tag = "6")]
    pub bucket_counts: Vec<u64>,
    /// Upper bounds of all buckets but the last, increasing.
    #[prost(double, repeated, tag = "7")]
    pub explicit_bounds: Vec<f64>,
    /// `DataPointFlags` bits.
    #[prost(uint32, tag = "10")]
    pub flags: u32,
}

/// `SummaryDataPoint`. Field 1 is reserved.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryDataPoint {
    /// Attributes identifying the series.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation interval (ns since the epoch; 0: unknown).
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When the value was captured (ns since the epoch).
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Number of observations.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Sum of the observations.
    #[prost(double, tag = "5")]
    pub sum: f64,
    /// Values at quantiles, increasing.
    #[prost(message, repeated, tag = "6")]
    pub quantile_values: Vec<ValueAtQuantile>,
    /// `DataPointFlags` bits.
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

/// `SummaryDataPoint.ValueAtQuantile`.
#[derive(Clone, PartialEq, Message)]
pub struct ValueAtQuantile {
    /// The quantile, in [0, 1].
    #[prost(double, tag = "1")]
    pub quantile: f64,
    /// The value at it.
    #[prost(double, tag = "2")]
    pub value: f64,
}

/// `opentelemetry.proto.common.v1.KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    /// Key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value; absent is an empty value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `opentelemetry.proto.common.v1.AnyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    /// The value; absent is empty.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<any_value::Value>,
}

/// The oneof of [`AnyValue`].
pub mod any_value {
    use super::{ArrayValue, KeyValueList};

    /// One attribute value.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A string.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// An integer.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// A float.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        /// A list.
        #[prost(message, tag = "5")]
        ArrayValue(ArrayValue),
        /// A map.
        #[prost(message, tag = "6")]
        KvlistValue(KeyValueList),
        /// Bytes.
        #[prost(bytes, tag = "7")]
        BytesValue(Vec<u8>),
    }
}

/// `opentelemetry.proto.common.v1.ArrayValue`.
#[derive(Clone, PartialEq, Message)]
pub struct ArrayValue {
    /// The elements.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

/// `opentelemetry.proto.common.v1.KeyValueList`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValueList {
    /// The entries.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

impl KeyValue {
    /// A string-valued attribute.
    pub fn string(key: &str, value: &str) -> Self {
        KeyValue {
            key: key.to_string(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.to_string())),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins field numbers and wire types: bytes written by hand from
    /// `metrics.proto` (tag byte = field << 3 | wire type).
    #[test]
    fn number_data_point_field_numbers_match_the_proto() {
        let p = NumberDataPoint {
            attributes: vec![KeyValue::string("a", "b")],
            start_time_unix_nano: 1,
            time_unix_nano: 2,
            value: Some(NumberValue::AsInt(-1)),
            flags: 1,
        };
        // prost writes fields in field-number order.
        let mut want = vec![0x11, 1, 0, 0, 0, 0, 0, 0, 0]; // start_time_unix_nano (2), fixed64
        want.extend([0x19, 2, 0, 0, 0, 0, 0, 0, 0]); // time_unix_nano (3), fixed64
        want.extend([0x31, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // as_int (6), sfixed64
        want.extend([0x3a, 0x08, 0x0a, 0x01, b'a', 0x12, 0x03, 0x0a, 0x01, b'b']); // attributes (7)
        want.extend([0x40, 0x01]); // flags (8), varint
        assert_eq!(p.encode_to_vec(), want);

        let d = NumberDataPoint {
            value: Some(NumberValue::AsDouble(1.0)),
            ..NumberDataPoint::default()
        };
        // as_double (4), fixed64 little-endian 1.0.
        assert_eq!(d.encode_to_vec(), vec![0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    }

    #[test]
    fn metric_data_oneof_tags_match_the_proto() {
        let tag = |data: MetricData| {
            let m = Metric {
                data: Some(data),
                ..Metric::default()
            };
            m.encode_to_vec()[0]
        };
        assert_eq!(tag(MetricData::Gauge(Gauge::default())), 5 << 3 | 2);
        assert_eq!(tag(MetricData::Sum(Sum::default())), 7 << 3 | 2);
        assert_eq!(tag(MetricData::Histogram(Histogram::default())), 9 << 3 | 2);
        assert_eq!(
            tag(MetricData::ExponentialHistogram(
                ExponentialHistogram::default()
            )),
            10 << 3 | 2
        );
        assert_eq!(tag(MetricData::Summary(Summary::default())), 11 << 3 | 2);
    }

    #[test]
    fn histogram_point_field_numbers_match_the_proto() {
        let p = HistogramDataPoint {
            attributes: vec![KeyValue::string("k", "")],
            count: 3,
            sum: Some(0.0),
            bucket_counts: vec![1],
            explicit_bounds: vec![0.0],
            flags: 1,
            ..HistogramDataPoint::default()
        };
        let b = p.encode_to_vec();
        // count (4, fixed64), sum (5, fixed64 even when 0.0: proto3
        // optional), bucket_counts (6, packed), explicit_bounds (7,
        // packed), attributes (9, len), flags (10, varint).
        let tags: Vec<u8> = vec![0x21, 0x29, 0x32, 0x3a, 0x4a, 0x50];
        let mut found = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let t = b[i];
            found.push(t);
            i += 1 + match t & 7 {
                0 => 1,
                1 => 8,
                2 => 1 + b[i + 1] as usize,
                _ => unreachable!(),
            };
        }
        assert_eq!(found, tags);
    }

    #[test]
    fn sum_and_summary_round_trip() {
        let req = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![KeyValue::string("service.name", "svc")],
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: None,
                    metrics: vec![
                        Metric {
                            name: "requests".into(),
                            unit: "1".into(),
                            data: Some(MetricData::Sum(Sum {
                                data_points: vec![NumberDataPoint {
                                    value: Some(NumberValue::AsInt(7)),
                                    ..NumberDataPoint::default()
                                }],
                                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                                is_monotonic: true,
                            })),
                            ..Metric::default()
                        },
                        Metric {
                            name: "latency".into(),
                            data: Some(MetricData::Summary(Summary {
                                data_points: vec![SummaryDataPoint {
                                    count: 2,
                                    sum: 3.5,
                                    quantile_values: vec![ValueAtQuantile {
                                        quantile: 0.5,
                                        value: 1.0,
                                    }],
                                    ..SummaryDataPoint::default()
                                }],
                            })),
                            ..Metric::default()
                        },
                    ],
                }],
            }],
        };
        let b = req.encode_to_vec();
        assert_eq!(
            ExportMetricsServiceRequest::decode(b.as_slice()).unwrap(),
            req
        );
        // Sum: temporality (2) and is_monotonic (3) are varints.
        let s = Sum {
            aggregation_temporality: 2,
            is_monotonic: true,
            ..Sum::default()
        };
        assert_eq!(s.encode_to_vec(), vec![0x10, 0x02, 0x18, 0x01]);
    }

    #[test]
    fn partial_success_field_numbers_match_the_proto() {
        let r = ExportMetricsServiceResponse {
            partial_success: Some(ExportMetricsPartialSuccess {
                rejected_data_points: 2,
                error_message: "x".into(),
            }),
        };
        assert_eq!(
            r.encode_to_vec(),
            vec![0x0a, 0x05, 0x08, 0x02, 0x12, 0x01, b'x']
        );
        assert!(ExportMetricsServiceResponse::default()
            .encode_to_vec()
            .is_empty());
    }
}
