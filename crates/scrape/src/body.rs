//! Scrape body decoding (Prometheus `targetScraper.readResponse`).

use std::io::Read;

use crate::error::{Error, Result};

/// Returns the body, gunzipped when `content_encoding` is `gzip`, and fails
/// with [`Error::BodySizeLimitExceeded`] ("body size limit exceeded") when
/// the decoded size reaches `limit` bytes. As in Prometheus a body of
/// exactly `limit` bytes is rejected, and `limit == 0` means no limit.
/// Other encodings are passed through untouched, as Prometheus does.
pub fn decode_body(bytes: &[u8], content_encoding: Option<&str>, limit: usize) -> Result<Vec<u8>> {
    let limit = if limit == 0 { usize::MAX } else { limit };
    let gzip = content_encoding.is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        if bytes.len() >= limit {
            return Err(Error::BodySizeLimitExceeded);
        }
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit));
    // Read at most `limit` bytes so a gzip bomb cannot exhaust memory.
    let take = u64::try_from(limit).unwrap_or(u64::MAX);
    flate2::read::GzDecoder::new(bytes)
        .take(take)
        .read_to_end(&mut out)
        .map_err(Error::Gzip)?;
    if out.len() >= limit {
        return Err(Error::BodySizeLimitExceeded);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn plain_bodies_pass_through_under_the_limit() {
        assert_eq!(decode_body(b"up 1\n", None, 0).unwrap(), b"up 1\n");
        assert_eq!(
            decode_body(b"up 1\n", Some("identity"), 6).unwrap(),
            b"up 1\n"
        );
        assert_eq!(
            decode_body(b"up 1\n", None, 5).unwrap_err().to_string(),
            "body size limit exceeded"
        );
    }

    #[test]
    fn gzip_is_decoded_and_limited_by_decoded_size() {
        let body = b"a 1\n".repeat(1000);
        let z = gz(&body);
        assert_eq!(decode_body(&z, Some("gzip"), 0).unwrap(), body);
        assert_eq!(decode_body(&z, Some("GZIP"), 4001).unwrap(), body);
        assert!(z.len() < 4000);
        assert!(matches!(
            decode_body(&z, Some("gzip"), 4000),
            Err(Error::BodySizeLimitExceeded)
        ));
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        assert!(matches!(
            decode_body(b"not gzip", Some("gzip"), 0),
            Err(Error::Gzip(_))
        ));
    }
}
