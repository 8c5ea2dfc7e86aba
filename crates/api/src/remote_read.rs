//! `/api/v1/read`: remote read (Prometheus' `storage/remote/read_handler.go`),
//! answering `SAMPLES` (one snappy-compressed `ReadResponse`) or
//! `STREAMED_XOR_CHUNKS` (framed `ChunkedReadResponse`s).

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use promlite_model::{Labels, MatchType, Matcher};
use promlite_prompb::read::{
    Chunk, ChunkedReadResponse, ChunkedSeries, LabelMatcher, Query, QueryResult, ReadRequest,
    ReadResponse,
};
use promlite_prompb::write::{Label, Sample, TimeSeries};
use promlite_storage::{Queryable, SelectHints, ValueType};
use prost::Message;

use crate::state::ApiState;

/// Most samples one read request may return (`--storage.remote.read-sample-limit`).
const SAMPLE_LIMIT: usize = 50_000_000;

fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, format!("{}\n", msg.into())).into_response()
}

fn to_matchers(ms: &[LabelMatcher]) -> Result<Vec<Matcher>, String> {
    ms.iter()
        .map(|m| {
            let t = match m.r#type {
                0 => MatchType::Equal,
                1 => MatchType::NotEqual,
                2 => MatchType::Regex,
                3 => MatchType::NotRegex,
                other => return Err(format!("invalid matcher type {other}")),
            };
            Matcher::new(t, &m.name, &m.value).map_err(|e| e.to_string())
        })
        .collect()
}

/// A series' labels and samples.
type SeriesSamples = (Labels, Vec<(i64, f64)>);

/// The series of one query, external labels added (as Prometheus does).
fn select(
    q: &dyn Queryable,
    query: &Query,
    external: &Labels,
    budget: &mut usize,
) -> Result<Vec<SeriesSamples>, String> {
    let mut ms = to_matchers(&query.matchers)?;
    // Matchers on external labels are satisfied by them: drop them.
    ms.retain(|m| {
        !(m.match_type == MatchType::Equal && external.get(&m.name) == Some(m.value.as_str()))
    });
    let (mint, maxt) = (query.start_timestamp_ms, query.end_timestamp_ms);
    let querier = q.querier(mint, maxt).map_err(|e| e.to_string())?;
    let hints = SelectHints {
        start: mint,
        end: maxt,
    };
    let mut out = Vec::new();
    for s in querier
        .select(true, Some(&hints), &ms)
        .map_err(|e| e.to_string())?
    {
        let s = s.map_err(|e| e.to_string())?;
        let mut it = s.iterator();
        let mut samples = Vec::new();
        while it.next() == ValueType::Float {
            samples.push(it.at());
        }
        if samples.is_empty() {
            continue;
        }
        if samples.len() > *budget {
            return Err(format!("exceeded sample limit ({SAMPLE_LIMIT})"));
        }
        *budget -= samples.len();
        let mut lb = s.labels().builder();
        for l in external.iter() {
            if !s.labels().has(l.name) {
                lb.set(l.name, l.value);
            }
        }
        out.push((lb.labels(), samples));
    }
    Ok(out)
}

fn proto_labels(l: &Labels) -> Vec<Label> {
    l.iter()
        .map(|l| Label {
            name: l.name.to_string(),
            value: l.value.to_string(),
        })
        .collect()
}

/// CRC-32C (Castagnoli), which the streamed frames carry.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

fn put_uvarint(buf: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// XOR chunks of at most 120 samples, as Prometheus stores them.
fn xor_chunks(samples: &[(i64, f64)]) -> Vec<Chunk> {
    samples
        .chunks(120)
        .map(|part| {
            let mut c = promlite_tsdb::chunkenc::XorChunk::new();
            for &(t, v) in part {
                c.append(t, v);
            }
            Chunk {
                min_time_ms: part[0].0,
                max_time_ms: part[part.len() - 1].0,
                r#type: 1,
                data: c.bytes().to_vec(),
            }
        })
        .collect()
}

/// `POST /api/v1/read`.
pub(crate) async fn read(State(state): State<ApiState>, req: Request) -> Response {
    let limit = state.inner.opts.max_remote_write_body_bytes;
    let body: Bytes = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let decoded_limit = state.inner.opts.max_remote_write_decoded_bytes;
    let raw = match snap::raw::decompress_len(&body) {
        Ok(n) if n > decoded_limit => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "decompressed request too large",
            )
        }
        Ok(_) => match snap::raw::Decoder::new().decompress_vec(&body) {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
        },
        Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let rr = match ReadRequest::decode(raw.as_slice()) {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let queryable = state.inner.queryable.clone();
    let external = state
        .inner
        .status
        .as_ref()
        .and_then(|s| s.external_labels())
        .unwrap_or_else(|| state.inner.opts.external_labels.clone());
    let streamed = rr.accepted_response_types.first() == Some(&1);
    let res = tokio::task::spawn_blocking(move || -> Result<Response, String> {
        let mut budget = SAMPLE_LIMIT;
        if streamed {
            let mut out = Vec::new();
            for (i, q) in rr.queries.iter().enumerate() {
                for (l, samples) in select(queryable.as_ref(), q, &external, &mut budget)? {
                    let msg = ChunkedReadResponse {
                        chunked_series: vec![ChunkedSeries {
                            labels: proto_labels(&l),
                            chunks: xor_chunks(&samples),
                        }],
                        query_index: i as i64,
                    };
                    let data = msg.encode_to_vec();
                    put_uvarint(&mut out, data.len() as u64);
                    out.extend_from_slice(&crc32c(&data).to_be_bytes());
                    out.extend_from_slice(&data);
                }
            }
            return Ok((
                [(
                    header::CONTENT_TYPE,
                    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
                )],
                out,
            )
                .into_response());
        }
        let mut resp = ReadResponse {
            results: Vec::with_capacity(rr.queries.len()),
        };
        for q in &rr.queries {
            let series = select(queryable.as_ref(), q, &external, &mut budget)?;
            resp.results.push(QueryResult {
                timeseries: series
                    .into_iter()
                    .map(|(l, samples)| TimeSeries {
                        labels: proto_labels(&l),
                        samples: samples
                            .into_iter()
                            .map(|(timestamp, value)| Sample { value, timestamp })
                            .collect(),
                        exemplars: Vec::new(),
                    })
                    .collect(),
            });
        }
        let body = snap::raw::Encoder::new()
            .compress_vec(&resp.encode_to_vec())
            .map_err(|e| e.to_string())?;
        Ok((
            [
                (header::CONTENT_TYPE, "application/x-protobuf"),
                (header::CONTENT_ENCODING, "snappy"),
            ],
            body,
        )
            .into_response())
    })
    .await;
    match res {
        Ok(Ok(r)) => r,
        Ok(Err(e)) if e.starts_with("exceeded sample limit") => plain(StatusCode::BAD_REQUEST, e),
        Ok(Err(e)) => plain(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }
}
