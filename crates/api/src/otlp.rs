//! `/api/v1/otlp/v1/metrics`: the OTLP metrics receiver (Prometheus'
//! `otlpWriteHandler` in `storage/remote/write_handler.go`). Bodies are
//! `ExportMetricsServiceRequest`s in protobuf or, read by
//! [`crate::otlp_json`], in OTLP's JSON encoding, optionally
//! gzip-compressed; [`crate::otlp_translate`] turns them into samples. The
//! response is in the encoding of the request.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use promlite_prompb::otlp::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;

use crate::error::PlainError;
use crate::otlp_json;
use crate::otlp_translate::{translate, Translation};
use crate::remote_write::read_body;
use crate::state::ApiState;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

fn header_str(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// How a request body is encoded, from its headers.
#[derive(Clone, Copy)]
struct BodyFormat {
    /// `application/json` rather than `application/x-protobuf`.
    json: bool,
    /// `Content-Encoding: gzip`.
    gzip: bool,
}

/// Checks `Content-Type` (protobuf or JSON) and `Content-Encoding` (none
/// or gzip).
fn check_headers(h: &HeaderMap) -> Result<BodyFormat, PlainError> {
    let ct = header_str(h, header::CONTENT_TYPE);
    let media = ct.split(';').next().unwrap_or("").trim();
    let json = if media.eq_ignore_ascii_case(JSON) {
        true
    } else if media.eq_ignore_ascii_case(PROTOBUF) {
        false
    } else {
        return Err(PlainError::OtlpContentType(ct.to_string()));
    };
    let enc = header_str(h, header::CONTENT_ENCODING);
    let gzip = if enc.is_empty() {
        false
    } else if enc.eq_ignore_ascii_case("gzip") {
        true
    } else {
        return Err(PlainError::OtlpEncoding(enc.to_string()));
    };
    Ok(BodyFormat { json, gzip })
}

/// Inflates a gzip body, refusing to inflate past `limit` (gzip bombs).
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, PlainError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| PlainError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(PlainError::DecodedTooLarge {
            size: out.len(),
            limit,
        });
    }
    Ok(out)
}

/// `POST /api/v1/otlp/v1/metrics`.
pub(crate) async fn write(State(state): State<ApiState>, req: Request) -> Response {
    match write_inner(state, req).await {
        Ok((resp, true)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, JSON)],
            otlp_json::encode_response(&resp),
        )
            .into_response(),
        Ok((resp, false)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, PROTOBUF)],
            resp.encode_to_vec(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Handles the request; the response and whether to send it as JSON.
async fn write_inner(
    state: ApiState,
    req: Request,
) -> Result<(ExportMetricsServiceResponse, bool), PlainError> {
    let opts = &state.inner.opts;
    if !opts.enable_otlp_receiver {
        return Err(PlainError::OtlpDisabled);
    }
    let (parts, body) = req.into_parts();
    let format = check_headers(&parts.headers)?;
    let body: Bytes = read_body(body, opts.max_remote_write_body_bytes).await?;
    let decoded_limit = opts.max_remote_write_decoded_bytes;
    let otlp = state.otlp_options();
    // Prometheus spaces target_info samples by half the lookback delta.
    let interval = i64::try_from(opts.lookback_delta.as_millis() / 2).unwrap_or(i64::MAX);
    let appendable = state.inner.appendable.clone();
    tokio::task::spawn_blocking(move || {
        let gunzipped;
        let raw: &[u8] = if format.gzip {
            gunzipped = gunzip(&body, decoded_limit)?;
            &gunzipped
        } else {
            if body.len() > decoded_limit {
                return Err(PlainError::DecodedTooLarge {
                    size: body.len(),
                    limit: decoded_limit,
                });
            }
            &body
        };
        let req = if format.json {
            otlp_json::decode(raw)?
        } else {
            ExportMetricsServiceRequest::decode(raw)?
        };
        let tr = translate(&req, &otlp, interval);
        append(appendable.as_ref(), &tr)?;
        Ok((response(tr), format.json))
    })
    .await
    .map_err(|e| PlainError::BodyRead(e.to_string()))?
}

/// The response: empty on full success, else a partial success naming
/// what was dropped (Prometheus only logs it).
fn response(tr: Translation) -> ExportMetricsServiceResponse {
    if tr.errors.is_empty() {
        return ExportMetricsServiceResponse::default();
    }
    let error_message = tr.errors.join("; ");
    tracing::warn!(target: "api", rejected = tr.rejected_points, errors = %error_message, "error translating OTLP metrics");
    ExportMetricsServiceResponse {
        partial_success: Some(ExportMetricsPartialSuccess {
            rejected_data_points: tr.rejected_points,
            error_message,
        }),
    }
}

/// Appends all samples in one transaction. A rejected sample (out of
/// order, duplicate, out of bounds) rolls the request back and is a 400,
/// as in Prometheus, so the sender does not retry.
fn append(app: &dyn promlite_storage::Appendable, tr: &Translation) -> Result<(), PlainError> {
    let mut a = app.appender();
    for s in &tr.samples {
        let res = if s.st != 0 {
            a.append_st(None, &s.labels, s.st, s.t, s.v)
        } else {
            a.append(None, &s.labels, s.t, s.v)
        };
        if let Err(e) = res {
            let bad = e.is_sample_rejection();
            if bad {
                tracing::error!(target: "api", error = %e, series = %s.labels, timestamp = s.t, "rejected sample from OTLP write");
            }
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
    a.commit().map_err(PlainError::Storage)
}
