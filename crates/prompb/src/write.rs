//! Remote write 1.0: Prometheus' `prometheus.WriteRequest` and the types it
//! is made of (`prompb/remote.proto`, `prompb/types.proto`).

use prost::Message;

/// `prometheus.WriteRequest`. Field 2 is reserved. A request may carry
/// only series, only metadata (as the sender's `metadata_config` sends
/// it) or both.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Metric metadata (HELP, TYPE and UNIT per family).
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries`. Native histograms (field 4) are not declared
/// and therefore skipped on decode.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// Labels, sorted by name; `__name__` is required.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Samples in time order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Exemplars.
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
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

/// `prometheus.Sample`. Remote write 1.0 has no start timestamp; see
/// [`crate::write_v2::SampleV2`].
#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.Exemplar`.
#[derive(Clone, PartialEq, Message)]
pub struct Exemplar {
    /// Labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Value.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata` (type: 0 unknown, 1 counter, 2 gauge,
/// 3 histogram, 4 gaugehistogram, 5 summary, 6 info, 7 stateset). Field 3
/// is unused in Prometheus' proto.
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn label(name: &str, value: &str) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }

    /// Pins the field numbers: bytes written by hand from the proto.
    #[test]
    fn write_request_field_numbers_match_prometheus() {
        let req = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![label("a", "b")],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: 2,
                }],
                exemplars: vec![Exemplar {
                    labels: Vec::new(),
                    value: 0.0,
                    timestamp: 3,
                }],
            }],
            metadata: vec![MetricMetadata {
                r#type: 1,
                metric_family_name: "m".into(),
                help: "h".into(),
                unit: "u".into(),
            }],
        };
        let one = 1.0f64.to_le_bytes();
        let mut want = vec![0x0a, 0x19]; // WriteRequest.timeseries (1)
        want.extend([0x0a, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, b'b']); // labels (1)
        want.extend([0x12, 0x0b, 0x09]); // samples (2), value (1, fixed64)
        want.extend(one);
        want.extend([0x10, 0x02]); // timestamp (2)
        want.extend([0x1a, 0x02, 0x18, 0x03]); // exemplars (3), timestamp (3)
        want.extend([0x1a, 0x0b]); // WriteRequest.metadata (3)
        want.extend([
            0x08, 0x01, 0x12, 0x01, b'm', 0x22, 0x01, b'h', 0x2a, 0x01, b'u',
        ]);
        assert_eq!(req.encode_to_vec(), want);
    }

    /// A metadata-only request is exactly the series-less `WriteRequest`
    /// Prometheus' metadata sender writes.
    #[test]
    fn metadata_only_request_has_no_series_field() {
        let req = WriteRequest {
            timeseries: Vec::new(),
            metadata: vec![MetricMetadata {
                r#type: 2,
                metric_family_name: "g".into(),
                help: String::new(),
                unit: String::new(),
            }],
        };
        assert_eq!(
            req.encode_to_vec(),
            vec![0x1a, 0x05, 0x08, 0x02, 0x12, 0x01, b'g']
        );
    }

    #[test]
    fn native_histograms_are_skipped_on_decode() {
        // TimeSeries with labels (1) and an unknown histograms field (4).
        let ts = [0x0a, 0x00, 0x22, 0x02, 0x08, 0x01];
        let mut body = vec![0x0a, ts.len() as u8];
        body.extend(ts);
        let req = WriteRequest::decode(body.as_slice()).unwrap();
        assert_eq!(req.timeseries.len(), 1);
        assert_eq!(req.timeseries[0].labels, vec![Label::default()]);
        assert!(req.timeseries[0].samples.is_empty());
    }

    proptest! {
        #[test]
        fn write_request_round_trips(
            series in proptest::collection::vec(
                (
                    proptest::collection::vec(("[a-z_]{1,8}", ".{0,8}"), 0..4),
                    proptest::collection::vec((any::<i64>(), -1e12f64..1e12), 0..8),
                ),
                0..4,
            ),
            types in proptest::collection::vec((0i32..8, "[a-z_]{0,8}"), 0..3),
        ) {
            let req = WriteRequest {
                timeseries: series
                    .into_iter()
                    .map(|(ls, ss)| TimeSeries {
                        labels: ls.iter().map(|(n, v)| label(n, v)).collect(),
                        samples: ss
                            .into_iter()
                            .map(|(timestamp, value)| Sample { value, timestamp })
                            .collect(),
                        exemplars: Vec::new(),
                    })
                    .collect(),
                metadata: types
                    .into_iter()
                    .map(|(t, name)| MetricMetadata {
                        r#type: t,
                        metric_family_name: name,
                        help: "help".into(),
                        unit: String::new(),
                    })
                    .collect(),
            };
            let back = WriteRequest::decode(req.encode_to_vec().as_slice()).unwrap();
            prop_assert_eq!(back, req);
        }
    }
}
