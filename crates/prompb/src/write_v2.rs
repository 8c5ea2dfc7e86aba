//! Remote write 2.0: Prometheus' `io.prometheus.write.v2.Request` and the
//! types it is made of (`prompb/io/prometheus/write/v2/types.proto`).
//!
//! Strings are interned in the request's `symbols`; series refer to them
//! by index. Histograms (TimeSeries field 3), exemplars (4) and metadata
//! (5) are not declared and therefore skipped on decode and never sent.

use prost::Message;

/// `io.prometheus.write.v2.Request`. Fields 1 to 3 are reserved.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequestV2 {
    /// The symbol table; index 0 is the empty string.
    #[prost(string, repeated, tag = "4")]
    pub symbols: Vec<String>,
    /// The series.
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeriesV2>,
}

/// `io.prometheus.write.v2.TimeSeries`.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeriesV2 {
    /// Name/value pairs as indices into the request's `symbols`.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Samples in time order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<SampleV2>,
}

/// `io.prometheus.write.v2.Sample`: a 1.0 sample plus its start timestamp.
#[derive(Clone, PartialEq, Message)]
pub struct SampleV2 {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
    /// When the counter (or the delta's interval) started, in milliseconds
    /// since the epoch; 0 when unknown (and then not encoded). PromQL's
    /// `rate`/`increase`/`irate`/`resets` use it to detect resets.
    #[prost(int64, tag = "3")]
    pub start_timestamp: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::Sample;
    use proptest::prelude::*;

    /// Pins the field numbers: bytes written by hand from the proto.
    #[test]
    fn request_field_numbers_match_prometheus() {
        let req = WriteRequestV2 {
            symbols: vec![String::new(), "a".into()],
            timeseries: vec![TimeSeriesV2 {
                labels_refs: vec![1, 1],
                samples: vec![SampleV2 {
                    value: 0.0,
                    timestamp: 5,
                    start_timestamp: 4,
                }],
            }],
        };
        let want = vec![
            0x22, 0x00, 0x22, 0x01, b'a', // symbols (4)
            0x2a, 0x0a, // timeseries (5)
            0x0a, 0x02, 0x01, 0x01, // labels_refs (1), packed
            0x12, 0x04, 0x10, 0x05, 0x18,
            0x04, // samples (2): timestamp (2), start_timestamp (3)
        ];
        assert_eq!(req.encode_to_vec(), want);
    }

    /// Without a start timestamp a 2.0 sample is byte for byte a 1.0 one.
    #[test]
    fn sample_without_start_timestamp_encodes_as_a_1_0_sample() {
        let v2 = SampleV2 {
            value: 1.5,
            timestamp: 7,
            start_timestamp: 0,
        };
        let v1 = Sample {
            value: 1.5,
            timestamp: 7,
        };
        assert_eq!(v2.encode_to_vec(), v1.encode_to_vec());
        let back = SampleV2::decode(v1.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, v2);
    }

    #[test]
    fn histograms_exemplars_and_metadata_are_skipped_on_decode() {
        // labels_refs (1), histograms (3), exemplars (4), metadata (5).
        let ts = [
            0x0a, 0x02, 0x01, 0x02, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x02, 0x08, 0x01,
        ];
        let mut body = vec![0x2a, ts.len() as u8];
        body.extend(ts);
        let req = WriteRequestV2::decode(body.as_slice()).unwrap();
        assert_eq!(req.timeseries.len(), 1);
        assert_eq!(req.timeseries[0].labels_refs, vec![1, 2]);
        assert!(req.timeseries[0].samples.is_empty());
    }

    proptest! {
        #[test]
        fn request_round_trips(
            symbols in proptest::collection::vec(".{0,8}", 0..6),
            series in proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u32>(), 0..6),
                    proptest::collection::vec(
                        (any::<i64>(), any::<i64>(), -1e12f64..1e12),
                        0..8,
                    ),
                ),
                0..4,
            ),
        ) {
            let req = WriteRequestV2 {
                symbols,
                timeseries: series
                    .into_iter()
                    .map(|(labels_refs, ss)| TimeSeriesV2 {
                        labels_refs,
                        samples: ss
                            .into_iter()
                            .map(|(start_timestamp, timestamp, value)| SampleV2 {
                                value,
                                timestamp,
                                start_timestamp,
                            })
                            .collect(),
                    })
                    .collect(),
            };
            let back = WriteRequestV2::decode(req.encode_to_vec().as_slice()).unwrap();
            prop_assert_eq!(back, req);
        }
    }
}
