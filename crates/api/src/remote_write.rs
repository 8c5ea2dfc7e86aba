//! `/api/v1/write`: the remote-write 1.0 and 2.0 receiver (Prometheus'
//! `storage/remote/write_handler.go`), decoding the messages of
//! [`promlite_prompb`]. Metadata, exemplars and native histograms are
//! accepted and ignored.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use promlite_model::{Labels, METRIC_NAME};
use promlite_prompb::write::{Label, WriteRequest};
use promlite_prompb::write_v2::WriteRequestV2;
use prost::Message;

use crate::error::PlainError;
use crate::state::ApiState;

/// The protobuf message a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    V1,
    V2,
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Checks `Content-Type` and `Content-Encoding` as Prometheus does for
/// remote write 1.0.
fn check_headers(h: &HeaderMap) -> Result<Proto, PlainError> {
    let ct = header_str(h, header::CONTENT_TYPE);
    let mut proto = Proto::V1;
    if !ct.is_empty() {
        let mut parts = ct.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(PlainError::ContentType(ct.to_string()));
        }
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                let v = v.trim();
                if k.trim().eq_ignore_ascii_case("proto") {
                    proto = match v {
                        "prometheus.WriteRequest" => Proto::V1,
                        "io.prometheus.write.v2.Request" => Proto::V2,
                        other => return Err(PlainError::ProtoMessage(other.to_string())),
                    };
                }
            }
        }
    }
    let enc = header_str(h, header::CONTENT_ENCODING);
    if !enc.is_empty() && !enc.eq_ignore_ascii_case("snappy") {
        return Err(PlainError::Encoding(enc.to_string()));
    }
    Ok(proto)
}

/// Decompresses and decodes a body, refusing to inflate past `limit`.
pub(crate) fn decode(body: &[u8], limit: usize) -> Result<WriteRequest, PlainError> {
    let raw = decompress(body, limit)?;
    Ok(WriteRequest::decode(raw.as_slice())?)
}

/// Snappy-decompresses a body, refusing to inflate past `limit` (snappy bombs).
fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, PlainError> {
    let size = snap::raw::decompress_len(body)?;
    if size > limit {
        return Err(PlainError::DecodedTooLarge { size, limit });
    }
    Ok(snap::raw::Decoder::new().decompress_vec(body)?)
}

/// `POST /api/v1/write`.
pub(crate) async fn write(State(state): State<ApiState>, req: Request) -> Response {
    match write_inner(state, req).await {
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(w)) => w.response(),
        Err(e) => e.into_response(),
    }
}

/// What a Remote-Write 2.0 request wrote, reported in the response headers
/// the 2.0 specification requires.
struct Written {
    samples: usize,
    /// Per-sample rejections (out of order, too old, ...), if any.
    rejected: Vec<String>,
}

impl Written {
    fn response(self) -> Response {
        let headers = [
            (
                "X-Prometheus-Remote-Write-Samples-Written",
                self.samples.to_string(),
            ),
            (
                "X-Prometheus-Remote-Write-Histograms-Written",
                "0".to_string(),
            ),
            (
                "X-Prometheus-Remote-Write-Exemplars-Written",
                "0".to_string(),
            ),
        ];
        if self.rejected.is_empty() {
            (StatusCode::NO_CONTENT, headers).into_response()
        } else {
            (StatusCode::BAD_REQUEST, headers, self.rejected.join("\n")).into_response()
        }
    }
}

/// Appends a 2.0 request. Unlike 1.0, samples the storage rejects are
/// reported (400 with one line per sample) while the valid ones are kept,
/// as Prometheus' 2.0 handler does; invalid label references fail the whole
/// request.
fn append_v2(
    app: &dyn promlite_storage::Appendable,
    wr: &WriteRequestV2,
) -> Result<Written, PlainError> {
    let mut a = app.appender();
    let mut w = Written {
        samples: 0,
        rejected: Vec::new(),
    };
    for ts in &wr.timeseries {
        let mut ls: Vec<Label> = Vec::with_capacity(ts.labels_refs.len() / 2);
        if ts.labels_refs.len() % 2 != 0 {
            let _ = a.rollback();
            return Err(PlainError::Decode("labels_refs of odd length".into()));
        }
        for pair in ts.labels_refs.chunks(2) {
            let (Some(n), Some(v)) = (
                wr.symbols.get(pair[0] as usize),
                wr.symbols.get(pair[1] as usize),
            ) else {
                let _ = a.rollback();
                return Err(PlainError::Decode(format!(
                    "labels_refs {pair:?} out of range of {} symbols",
                    wr.symbols.len()
                )));
            };
            ls.push(Label {
                name: n.clone(),
                value: v.clone(),
            });
        }
        let Some(labels) = series_labels(&ls) else {
            w.rejected
                .push(format!("invalid labels for series: {ls:?}"));
            continue;
        };
        let mut r = None;
        for s in &ts.samples {
            match a.append_st(r, &labels, s.start_timestamp, s.timestamp, s.value) {
                Ok(nr) => {
                    r = Some(nr);
                    w.samples += 1;
                }
                Err(e) if e.is_sample_rejection() => {
                    w.rejected
                        .push(format!("{e} for series {labels} at {}", s.timestamp));
                }
                Err(e) => {
                    let _ = a.rollback();
                    return Err(PlainError::Storage(e));
                }
            }
        }
    }
    a.commit().map_err(PlainError::Storage)?;
    Ok(w)
}

/// Reads a request body of at most `limit` bytes.
pub(crate) async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, PlainError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = src {
            if s.is::<http_body_util::LengthLimitError>() {
                return PlainError::BodyTooLarge(limit);
            }
            src = s.source();
        }
        PlainError::BodyRead(e.to_string())
    })
}

async fn write_inner(state: ApiState, req: Request) -> Result<Option<Written>, PlainError> {
    let opts = &state.inner.opts;
    if !opts.enable_remote_write_receiver {
        return Err(PlainError::RemoteWriteDisabled);
    }
    let (parts, body) = req.into_parts();
    let proto = check_headers(&parts.headers)?;
    let body = read_body(body, opts.max_remote_write_body_bytes).await?;
    let decoded_limit = opts.max_remote_write_decoded_bytes;
    let appendable = state.inner.appendable.clone();
    tokio::task::spawn_blocking(move || match proto {
        Proto::V1 => {
            let wr = decode(&body, decoded_limit)?;
            append(appendable.as_ref(), &wr).map(|()| None)
        }
        Proto::V2 => {
            let raw = decompress(&body, decoded_limit)?;
            let wr = WriteRequestV2::decode(raw.as_slice())?;
            append_v2(appendable.as_ref(), &wr).map(Some)
        }
    })
    .await
    .map_err(|e| PlainError::BodyRead(e.to_string()))?
}

/// Appends every valid series. Series without `__name__`, with empty or
/// duplicate label names are skipped (and logged). A rejected sample (out
/// of order, duplicate, out of bounds) rolls the whole request back and is
/// a 400, as Prometheus' v1 handler does, so the sender does not retry.
fn append(app: &dyn promlite_storage::Appendable, wr: &WriteRequest) -> Result<(), PlainError> {
    let mut a = app.appender();
    let mut invalid = 0usize;
    for ts in &wr.timeseries {
        let Some(labels) = series_labels(&ts.labels) else {
            invalid += 1;
            continue;
        };
        let mut r = None;
        for s in &ts.samples {
            match a.append(r, &labels, s.timestamp, s.value) {
                Ok(nr) => r = Some(nr),
                Err(e) => {
                    if e.is_sample_rejection() {
                        tracing::error!(target: "api", error = %e, series = %labels, timestamp = s.timestamp, "out of order sample from remote write");
                    }
                    let bad = e.is_sample_rejection();
                    if let Err(re) = a.rollback() {
                        tracing::error!(target: "api", error = %re, "rollback failed");
                    }
                    return Err(if bad {
                        PlainError::Append(e)
                    } else {
                        PlainError::Storage(e)
                    });
                }
            }
        }
    }
    if invalid > 0 {
        tracing::warn!(target: "api", count = invalid, "remote write: series with invalid labels dropped");
    }
    a.commit().map_err(PlainError::Storage)
}

fn series_labels(ls: &[Label]) -> Option<Labels> {
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(ls.len());
    for l in ls {
        if l.name.is_empty() {
            return None;
        }
        if !l.value.is_empty() {
            pairs.push((&l.name, &l.value));
        }
    }
    pairs.sort_unstable();
    if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    if !pairs.iter().any(|(n, _)| *n == METRIC_NAME) {
        return None;
    }
    Some(Labels::from_pairs(&pairs))
}
