//! Prometheus' remote-write and remote-read protobuf messages (and the
//! OTLP metrics export messages), shared by
//! the remote-write receiver and remote-read server (`promlite-api`), the
//! remote-write sender (`promlite-remote`) and the remote-read client
//! (`promlite`).
//!
//! The messages are hand-written prost derives of Prometheus' `.proto`
//! files, so no `protoc` runs at build time. Each message holds only the
//! fields promlite reads or writes, with Prometheus' field numbers (they
//! are the wire contract); fields it does not declare (native histograms,
//! exemplars and metadata of 2.0 series, read hints, ...) are skipped by
//! prost on decode and never sent.
//!
//! * [`write`](mod@write): remote write 1.0, package `prometheus`
//!   (`prompb/remote.proto`, `prompb/types.proto`): [`write::WriteRequest`],
//!   [`write::TimeSeries`], [`write::Label`], [`write::Sample`],
//!   [`write::Exemplar`], [`write::MetricMetadata`].
//! * [`write_v2`]: remote write 2.0, package `io.prometheus.write.v2`
//!   (`prompb/io/prometheus/write/v2/types.proto`):
//!   [`write_v2::WriteRequestV2`], [`write_v2::TimeSeriesV2`],
//!   [`write_v2::SampleV2`] (with its start timestamp).
//! * [`read`]: remote read, package `prometheus` (`prompb/remote.proto`,
//!   `prompb/types.proto`): [`read::ReadRequest`], [`read::ReadResponse`],
//!   the streamed [`read::ChunkedReadResponse`] and their parts. Series
//!   in a [`read::QueryResult`] are [`write::TimeSeries`], as in Prometheus.
//!
//! * [`otlp`]: OpenTelemetry metrics export, package
//!   `opentelemetry.proto.collector.metrics.v1` and the metrics, resource
//!   and common messages it is made of:
//!   [`otlp::ExportMetricsServiceRequest`] and its parts, read by the OTLP
//!   receiver.
//!
//! Remote-write/read bodies on the wire are these messages, snappy
//! block-compressed; OTLP bodies are plain or gzip-compressed.
//!
//! ```
//! use prost::Message;
//! use promlite_prompb::write::{Label, Sample, TimeSeries, WriteRequest};
//!
//! let req = WriteRequest {
//!     timeseries: vec![TimeSeries {
//!         labels: vec![Label { name: "__name__".into(), value: "up".into() }],
//!         samples: vec![Sample { value: 1.0, timestamp: 1_000 }],
//!         exemplars: Vec::new(),
//!     }],
//!     metadata: Vec::new(),
//! };
//! let bytes = req.encode_to_vec();
//! assert_eq!(WriteRequest::decode(bytes.as_slice()).unwrap(), req);
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

pub mod otlp;
pub mod read;
pub mod write;
pub mod write_v2;
