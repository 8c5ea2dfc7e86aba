//! Response compression: the JSON API and `/federate` answer gzip or
//! deflate when asked, as Prometheus' CompressionHandler does.

use std::io::Read;

use axum::body::Body;
use axum::http::{header, Request};
use tower::ServiceExt;

use super::support::*;

async fn fetch(app: &axum::Router, uri: &str, accept: Option<&str>) -> (Option<String>, Vec<u8>) {
    let mut b = Request::builder().uri(uri);
    if let Some(a) = accept {
        b = b.header(header::ACCEPT_ENCODING, a);
    }
    let resp = app
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{uri}: {}", resp.status());
    let enc = resp
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (enc, body)
}

#[tokio::test]
async fn api_and_federate_responses_are_compressed_on_request() {
    let app = app();
    for uri in [
        "/api/v1/query?query=up&time=1700000300",
        "/api/v1/label/__name__/values",
        "/federate?match[]=up",
    ] {
        let (enc, plain) = fetch(&app, uri, None).await;
        assert_eq!(enc, None, "{uri}");
        // (The fixture's samples are too old for `/federate`, which
        // evaluates at the current time: its body may be empty.)
        assert!(!plain.is_empty() || uri.starts_with("/federate"), "{uri}");

        let (enc, gz) = fetch(&app, uri, Some("br, gzip")).await;
        assert_eq!(enc.as_deref(), Some("gzip"), "{uri}");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain, "{uri}");

        let (enc, z) = fetch(&app, uri, Some("deflate")).await;
        assert_eq!(enc.as_deref(), Some("deflate"), "{uri}");
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&z[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain, "{uri}");

        // Unknown codings (and q-values, which Prometheus does not parse
        // either) leave the body as it is.
        let (enc, same) = fetch(&app, uri, Some("br, gzip;q=1.0")).await;
        assert_eq!(enc, None, "{uri}");
        assert_eq!(same, plain, "{uri}");
    }
}
