//! Remote read: Prometheus' `prometheus.ReadRequest`, its `SAMPLES`
//! answer [`ReadResponse`] and its `STREAMED_XOR_CHUNKS` answer
//! [`ChunkedReadResponse`] (`prompb/remote.proto`, `prompb/types.proto`).
//!
//! Query hints (`Query` field 4) are not declared and therefore skipped on
//! decode and never sent.

use prost::Message;

use crate::write::{Label, TimeSeries};

/// `prometheus.ReadRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ReadRequest {
    /// The queries, answered in order.
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// Response types the client accepts, preferred first (0 = SAMPLES,
    /// 1 = STREAMED_XOR_CHUNKS).
    #[prost(int32, repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

/// `prometheus.Query`.
#[derive(Clone, PartialEq, Message)]
pub struct Query {
    /// Start, inclusive, in milliseconds.
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    /// End, inclusive, in milliseconds.
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    /// The selector.
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
}

/// `prometheus.LabelMatcher` (type: 0 EQ, 1 NEQ, 2 RE, 3 NRE).
#[derive(Clone, PartialEq, Message)]
pub struct LabelMatcher {
    /// The matcher type.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Label name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Value or pattern.
    #[prost(string, tag = "3")]
    pub value: String,
}

/// `prometheus.ReadResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct ReadResponse {
    /// One result per query.
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResult>,
}

/// `prometheus.QueryResult`.
#[derive(Clone, PartialEq, Message)]
pub struct QueryResult {
    /// Matching series with their samples in time order.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.ChunkedReadResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct ChunkedReadResponse {
    /// Series with their chunks.
    #[prost(message, repeated, tag = "1")]
    pub chunked_series: Vec<ChunkedSeries>,
    /// The query these series answer.
    #[prost(int64, tag = "2")]
    pub query_index: i64,
}

/// `prometheus.ChunkedSeries`.
#[derive(Clone, PartialEq, Message)]
pub struct ChunkedSeries {
    /// Labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Chunks in time order.
    #[prost(message, repeated, tag = "2")]
    pub chunks: Vec<Chunk>,
}

/// `prometheus.Chunk` (type 1 = XOR).
#[derive(Clone, PartialEq, Message)]
pub struct Chunk {
    /// First sample's time.
    #[prost(int64, tag = "1")]
    pub min_time_ms: i64,
    /// Last sample's time.
    #[prost(int64, tag = "2")]
    pub max_time_ms: i64,
    /// The encoding.
    #[prost(int32, tag = "3")]
    pub r#type: i32,
    /// The encoded chunk, in Prometheus' XOR format.
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::Sample;
    use proptest::prelude::*;

    /// Pins the field numbers: bytes written by hand from the proto.
    #[test]
    fn read_request_field_numbers_match_prometheus() {
        let req = ReadRequest {
            queries: vec![Query {
                start_timestamp_ms: 1,
                end_timestamp_ms: 2,
                matchers: vec![LabelMatcher {
                    r#type: 2,
                    name: "a".into(),
                    value: "b".into(),
                }],
            }],
            accepted_response_types: vec![1, 0],
        };
        let want = vec![
            0x0a, 0x0e, // queries (1)
            0x08, 0x01, 0x10, 0x02, // start (1), end (2)
            0x1a, 0x08, 0x08, 0x02, 0x12, 0x01, b'a', 0x1a, 0x01, b'b', // matchers (3)
            0x12, 0x02, 0x01, 0x00, // accepted_response_types (2), packed
        ];
        assert_eq!(req.encode_to_vec(), want);
    }

    /// Pins the field numbers: bytes written by hand from the proto.
    #[test]
    fn chunked_read_response_field_numbers_match_prometheus() {
        let resp = ChunkedReadResponse {
            chunked_series: vec![ChunkedSeries {
                labels: vec![Label {
                    name: "a".into(),
                    value: String::new(),
                }],
                chunks: vec![Chunk {
                    min_time_ms: 1,
                    max_time_ms: 2,
                    r#type: 1,
                    data: vec![0xff],
                }],
            }],
            query_index: 3,
        };
        let want = vec![
            0x0a, 0x10, // chunked_series (1)
            0x0a, 0x03, 0x0a, 0x01, b'a', // labels (1)
            0x12, 0x09, 0x08, 0x01, 0x10, 0x02, 0x18, 0x01, 0x22, 0x01, 0xff, // chunks (2)
            0x10, 0x03, // query_index (2)
        ];
        assert_eq!(resp.encode_to_vec(), want);
    }

    #[test]
    fn query_hints_are_skipped_on_decode() {
        // start (1), then hints (4) with step_ms (1).
        let q = [0x08, 0x07, 0x22, 0x02, 0x08, 0x0f];
        let mut body = vec![0x0a, q.len() as u8];
        body.extend(q);
        let req = ReadRequest::decode(body.as_slice()).unwrap();
        assert_eq!(req.queries.len(), 1);
        assert_eq!(req.queries[0].start_timestamp_ms, 7);
    }

    proptest! {
        #[test]
        fn read_response_round_trips(
            results in proptest::collection::vec(
                proptest::collection::vec(
                    (
                        "[a-z]{1,6}",
                        proptest::collection::vec((any::<i64>(), -1e12f64..1e12), 0..6),
                    ),
                    0..3,
                ),
                0..3,
            ),
        ) {
            let resp = ReadResponse {
                results: results
                    .into_iter()
                    .map(|series| QueryResult {
                        timeseries: series
                            .into_iter()
                            .map(|(name, ss)| TimeSeries {
                                labels: vec![Label { name: "__name__".into(), value: name }],
                                samples: ss
                                    .into_iter()
                                    .map(|(timestamp, value)| Sample { value, timestamp })
                                    .collect(),
                                exemplars: Vec::new(),
                            })
                            .collect(),
                    })
                    .collect(),
            };
            let back = ReadResponse::decode(resp.encode_to_vec().as_slice()).unwrap();
            prop_assert_eq!(back, resp);
        }
    }
}
