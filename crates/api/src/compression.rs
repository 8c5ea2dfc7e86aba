//! Response compression for the JSON API and `/federate`, as Prometheus'
//! `util/httputil.CompressionHandler`: the first of `gzip` or `deflate`
//! (zlib) named in `Accept-Encoding` is used; other tokens, including ones
//! with parameters such as `gzip;q=0.5`, are not recognised, as there.

use std::io::Write;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;

/// A content coding the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
}

fn accepted(h: &HeaderMap) -> Option<Coding> {
    let v = h.get(header::ACCEPT_ENCODING)?.to_str().ok()?;
    v.split(',').find_map(|e| match e.trim() {
        "gzip" => Some(Coding::Gzip),
        "deflate" => Some(Coding::Deflate),
        _ => None,
    })
}

fn encode(c: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    match c {
        Coding::Gzip => {
            let mut e = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::default());
            e.write_all(data)?;
            e.finish()
        }
        Coding::Deflate => {
            let mut e =
                ZlibEncoder::new(Vec::with_capacity(data.len() / 4), Compression::default());
            e.write_all(data)?;
            e.finish()
        }
    }
}

/// Middleware compressing the response body when the request accepts it.
pub(crate) async fn compress(req: Request, next: Next) -> Response {
    let coding = accepted(req.headers());
    let resp = next.run(req).await;
    let Some(coding) = coding else {
        return resp;
    };
    if resp.headers().contains_key(header::CONTENT_ENCODING) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // API responses are built in memory already; collecting them again
    // costs a copy, not a change in peak memory order.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(err = %e, "reading a response body to compress it failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let out = match encode(coding, &bytes) {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(err = %e, "compressing a response failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let name = match coding {
        Coding::Gzip => "gzip",
        Coding::Deflate => "deflate",
    };
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_known_coding_wins_and_parameters_are_not_parsed() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepted(&m)
        };
        assert_eq!(h("gzip"), Some(Coding::Gzip));
        assert_eq!(h("br, deflate, gzip"), Some(Coding::Deflate));
        assert_eq!(h(" gzip , deflate"), Some(Coding::Gzip));
        assert_eq!(h("gzip;q=1.0"), None);
        assert_eq!(h("identity"), None);
        assert_eq!(accepted(&HeaderMap::new()), None);
    }
}
