//! Sending one compressed `WriteRequest` (Prometheus' `storage/remote/client.go`).

use std::time::Duration;

use promlite_prompb::write::{Sample, TimeSeries, WriteRequest};
use promlite_prompb::write_v2::{SampleV2, TimeSeriesV2, WriteRequestV2};
use prost::Message;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT,
};

use crate::error::{Error, Result, SendError};
use crate::settings::{ProtobufMessage, WriteSettings};
use crate::watcher::QueuedSample;

/// The `User-Agent` of requests.
pub const USER_AGENT_VALUE: &str = concat!("Prometheus/promlite-", env!("CARGO_PKG_VERSION"));

/// The remote-write protocol version header value.
pub const REMOTE_WRITE_VERSION: &str = "0.1.0";

/// How much of an error response body is kept for the log.
const MAX_ERR_BODY: usize = 512;

/// An HTTP client for one endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    url: String,
    headers: HeaderMap,
    basic_auth: Option<(String, String)>,
    authorization: Option<(String, String)>,
    proto: ProtobufMessage,
}

impl Client {
    pub(crate) fn new(s: &WriteSettings) -> Result<Client> {
        let client_err = |source| Error::Client {
            url: s.url.clone(),
            source,
        };
        let mut b = reqwest::Client::builder()
            .timeout(s.remote_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(if s.http.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            });
        if let Some(ca) = &s.http.tls.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(ca).map_err(client_err)? {
                b = b.add_root_certificate(cert);
            }
        }
        if let Some(id) = &s.http.tls.identity_pem {
            b = b.identity(reqwest::Identity::from_pem(id).map_err(client_err)?);
        }
        if s.http.tls.insecure_skip_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        match &s.http.proxy_url {
            Some(p) => b = b.proxy(reqwest::Proxy::all(p).map_err(client_err)?),
            None => b = b.no_proxy(),
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        let (content_type, version) = match s.protobuf_message {
            ProtobufMessage::V1 => ("application/x-protobuf", REMOTE_WRITE_VERSION),
            ProtobufMessage::V2 => (
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                "2.0.0",
            ),
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(
            HeaderName::from_static("x-prometheus-remote-write-version"),
            HeaderValue::from_static(version),
        );
        for (k, v) in &s.headers {
            let bad = || Error::InvalidHeader {
                url: s.url.clone(),
                name: k.clone(),
            };
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad())?;
            let value = HeaderValue::from_str(v).map_err(|_| bad())?;
            headers.insert(name, value);
        }
        Ok(Client {
            http: b.build().map_err(client_err)?,
            url: s.url.clone(),
            headers,
            basic_auth: s.http.basic_auth.clone(),
            authorization: s.http.authorization.clone(),
            proto: s.protobuf_message,
        })
    }

    /// Builds the compressed request of a batch in the endpoint's message.
    pub(crate) fn encode(
        &self,
        batch: &[QueuedSample],
        pb: &mut Vec<u8>,
    ) -> std::result::Result<Vec<u8>, snap::Error> {
        match self.proto {
            ProtobufMessage::V1 => encode(batch, pb),
            ProtobufMessage::V2 => encode_v2(batch, pb),
        }
    }

    /// Posts one snappy-compressed body.
    pub(crate) async fn store(&self, body: Vec<u8>) -> std::result::Result<(), SendError> {
        let mut req = self
            .http
            .post(&self.url)
            .headers(self.headers.clone())
            .body(body);
        if let Some((u, p)) = &self.basic_auth {
            req = req.basic_auth(u, Some(p));
        }
        if let Some((t, c)) = &self.authorization {
            let t = if t.is_empty() { "Bearer" } else { t };
            req = req.header(reqwest::header::AUTHORIZATION, format!("{t} {c}"));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| SendError::Recoverable(error_chain(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let mut body = resp.text().await.unwrap_or_default();
        if body.len() > MAX_ERR_BODY {
            let mut cut = MAX_ERR_BODY;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
        }
        let code = status.as_u16();
        if status.is_server_error() || code == 429 {
            // 429 is retried only when configured; the shard decides.
            return Err(if code == 429 {
                SendError::Unrecoverable { status: code, body }
            } else {
                SendError::Recoverable(format!("server returned HTTP status {status}: {body}"))
            });
        }
        Err(SendError::Unrecoverable { status: code, body })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Builds the snappy-compressed `WriteRequest` of a batch: one
/// `TimeSeries` per series, samples in the batch's (time) order. 1.0
/// samples have no start timestamp; `st` is not sent.
pub(crate) fn encode(
    batch: &[QueuedSample],
    pb: &mut Vec<u8>,
) -> std::result::Result<Vec<u8>, snap::Error> {
    let mut index: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut req = WriteRequest::default();
    for s in batch {
        let i = *index.entry(s.series_ref).or_insert_with(|| {
            req.timeseries.push(TimeSeries {
                labels: s.labels.to_vec(),
                samples: Vec::new(),
                exemplars: Vec::new(),
            });
            req.timeseries.len() - 1
        });
        if let Some(ts) = req.timeseries.get_mut(i) {
            ts.samples.push(Sample {
                value: s.v,
                timestamp: s.t,
            });
        }
    }
    pb.clear();
    // Encoding into a Vec cannot fail for lack of space.
    let _ = req.encode(pb);
    snap::raw::Encoder::new().compress_vec(pb)
}

/// Builds the snappy-compressed Remote-Write 2.0 request of a batch: label
/// strings interned once in the symbol table, each sample with its start
/// timestamp (0, and then not encoded, when the WAL has none).
pub(crate) fn encode_v2(
    batch: &[QueuedSample],
    pb: &mut Vec<u8>,
) -> std::result::Result<Vec<u8>, snap::Error> {
    let mut symbols: Vec<String> = vec![String::new()];
    let mut symbol_index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut intern = |s: &str, symbols: &mut Vec<String>| -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&i) = symbol_index.get(s) {
            return i;
        }
        let i = symbols.len() as u32;
        symbols.push(s.to_string());
        symbol_index.insert(s.to_string(), i);
        i
    };
    let mut index: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut series: Vec<TimeSeriesV2> = Vec::new();
    for s in batch {
        let i = match index.get(&s.series_ref) {
            Some(&i) => i,
            None => {
                let mut refs = Vec::with_capacity(s.labels.len() * 2);
                for l in s.labels.iter() {
                    refs.push(intern(&l.name, &mut symbols));
                    refs.push(intern(&l.value, &mut symbols));
                }
                series.push(TimeSeriesV2 {
                    labels_refs: refs,
                    samples: Vec::new(),
                });
                index.insert(s.series_ref, series.len() - 1);
                series.len() - 1
            }
        };
        if let Some(ts) = series.get_mut(i) {
            ts.samples.push(SampleV2 {
                value: s.v,
                timestamp: s.t,
                start_timestamp: s.st,
            });
        }
    }
    let req = WriteRequestV2 {
        symbols,
        timeseries: series,
    };
    pb.clear();
    let _ = req.encode(pb);
    snap::raw::Encoder::new().compress_vec(pb)
}
