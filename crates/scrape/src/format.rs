//! Exposition formats, scrape protocols and Content-Type negotiation
//! (Prometheus 3 `config.ScrapeProtocol`, `scrape.acceptHeader` and
//! `textparse.extractMediaType`).

use std::fmt;
use std::str::FromStr;

use crate::error::ContentTypeError;

/// The exposition formats the parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text format (0.0.4 and 1.0.0): `text/plain`.
    PrometheusText,
    /// OpenMetrics text (0.0.1 and 1.0.0): `application/openmetrics-text`.
    OpenMetrics,
}

/// The lenient mapping: OpenMetrics for `application/openmetrics-text`,
/// the Prometheus text format for anything else (including an empty or
/// unparsable header). See [`negotiate_format`] for Prometheus 3's strict
/// rules.
pub fn content_type_to_format(content_type: &str) -> Format {
    match media_type(content_type) {
        Some(m) if m.eq_ignore_ascii_case("application/openmetrics-text") => Format::OpenMetrics,
        _ => Format::PrometheusText,
    }
}

/// A scrape protocol as named in `scrape_protocols` and
/// `fallback_scrape_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScrapeProtocol {
    /// `PrometheusProto`
    PrometheusProto,
    /// `PrometheusText0.0.4`
    PrometheusText0_0_4,
    /// `PrometheusText1.0.0`
    PrometheusText1_0_0,
    /// `OpenMetricsText0.0.1`
    OpenMetricsText0_0_1,
    /// `OpenMetricsText1.0.0`
    OpenMetricsText1_0_0,
}

/// Prometheus 3's default `scrape_protocols`.
pub const DEFAULT_SCRAPE_PROTOCOLS: [ScrapeProtocol; 4] = [
    ScrapeProtocol::OpenMetricsText1_0_0,
    ScrapeProtocol::OpenMetricsText0_0_1,
    ScrapeProtocol::PrometheusText1_0_0,
    ScrapeProtocol::PrometheusText0_0_4,
];

/// The `Accept` header Prometheus 3 sends with the default protocols and
/// UTF-8 names allowed.
pub const DEFAULT_ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

impl ScrapeProtocol {
    /// The protocol's name in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "PrometheusProto",
            ScrapeProtocol::PrometheusText0_0_4 => "PrometheusText0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "PrometheusText1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "OpenMetricsText0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "OpenMetricsText1.0.0",
        }
    }

    /// The media type with parameters, as put in `Accept`
    /// (`config.ScrapeProtocolsHeaders`).
    pub fn header(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => {
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            }
            ScrapeProtocol::PrometheusText0_0_4 => "text/plain;version=0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "text/plain;version=1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "application/openmetrics-text;version=1.0.0",
        }
    }

    /// The bare media type (`HeaderMediaType`).
    pub fn media_type(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "application/vnd.google.protobuf",
            ScrapeProtocol::PrometheusText0_0_4 | ScrapeProtocol::PrometheusText1_0_0 => {
                "text/plain"
            }
            ScrapeProtocol::OpenMetricsText0_0_1 | ScrapeProtocol::OpenMetricsText1_0_0 => {
                "application/openmetrics-text"
            }
        }
    }
}

impl fmt::Display for ScrapeProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown scrape protocol name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scrape protocol {0}, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0]")]
pub struct UnknownScrapeProtocol(pub String);

impl FromStr for ScrapeProtocol {
    type Err = UnknownScrapeProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "PrometheusProto" => ScrapeProtocol::PrometheusProto,
            "PrometheusText0.0.4" => ScrapeProtocol::PrometheusText0_0_4,
            "PrometheusText1.0.0" => ScrapeProtocol::PrometheusText1_0_0,
            "OpenMetricsText0.0.1" => ScrapeProtocol::OpenMetricsText0_0_1,
            "OpenMetricsText1.0.0" => ScrapeProtocol::OpenMetricsText1_0_0,
            _ => return Err(UnknownScrapeProtocol(s.to_string())),
        })
    }
}

/// Builds the `Accept` header for `protocols` in preference order
/// (Prometheus' `acceptHeader`): q-values count down from `0.6` (one more
/// than the number of known protocols), the 1.0.0 text formats carry
/// `escaping=<escaping>` (`allow-utf-8` unless names are escaped), and
/// `*/*` closes the list.
pub fn accept_header(protocols: &[ScrapeProtocol], escaping: &str) -> String {
    let mut weight = 6usize;
    let mut out = String::new();
    for p in protocols {
        out.push_str(p.header());
        if matches!(
            p,
            ScrapeProtocol::PrometheusText1_0_0 | ScrapeProtocol::OpenMetricsText1_0_0
        ) {
            out.push_str(";escaping=");
            out.push_str(escaping);
        }
        out.push_str(&format!(";q=0.{weight},"));
        weight = weight.saturating_sub(1);
    }
    out.push_str(&format!("*/*;q=0.{weight}"));
    out
}

/// A Content-Type that was replaced by the fallback protocol; Prometheus
/// logs these and goes on parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FallbackWarning {
    /// No Content-Type header.
    #[error("non-compliant scrape target sending blank Content-Type, using fallback_scrape_protocol {0:?}")]
    Blank(&'static str),
    /// A header that is not a media type.
    #[error("could not parse received Content-Type {content_type:?}, using fallback_scrape_protocol {fallback:?}")]
    Unparsable {
        /// The header as received.
        content_type: String,
        /// The fallback's media type.
        fallback: &'static str,
    },
    /// A media type no parser handles.
    #[error("received unsupported Content-Type {content_type:?}, using fallback_scrape_protocol {fallback:?}")]
    Unsupported {
        /// The header as received.
        content_type: String,
        /// The fallback's media type.
        fallback: &'static str,
    },
}

/// Chooses the parser for a response as Prometheus 3 does: a recognised
/// media type selects its format; a blank, unparsable or unsupported one
/// is an error unless `fallback` (`fallback_scrape_protocol`) is set, in
/// which case the fallback is used and a warning returned.
///
/// `application/vnd.google.protobuf` is recognised but not implemented and
/// yields [`ContentTypeError::Protobuf`].
pub fn negotiate_format(
    content_type: &str,
    fallback: Option<ScrapeProtocol>,
) -> Result<(Format, Option<FallbackWarning>), ContentTypeError> {
    let fb = |w: FallbackWarning, err: ContentTypeError| match fallback {
        Some(p) => format_of(p.media_type(), content_type).map(|f| (f, Some(w))),
        None => Err(err),
    };
    let fb_media = fallback.map_or("", |p| p.media_type());
    if content_type.trim().is_empty() {
        return fb(FallbackWarning::Blank(fb_media), ContentTypeError::Blank);
    }
    let Some(m) = media_type(content_type) else {
        return fb(
            FallbackWarning::Unparsable {
                content_type: content_type.to_string(),
                fallback: fb_media,
            },
            ContentTypeError::Unparsable(content_type.to_string()),
        );
    };
    match format_of(&m, content_type) {
        Ok(f) => Ok((f, None)),
        Err(ContentTypeError::Protobuf(p)) => Err(ContentTypeError::Protobuf(p)),
        Err(_) => fb(
            FallbackWarning::Unsupported {
                content_type: content_type.to_string(),
                fallback: fb_media,
            },
            ContentTypeError::Unsupported(content_type.to_string()),
        ),
    }
}

fn format_of(media: &str, content_type: &str) -> Result<Format, ContentTypeError> {
    match media {
        "application/openmetrics-text" => Ok(Format::OpenMetrics),
        "text/plain" => Ok(Format::PrometheusText),
        "application/vnd.google.protobuf" => {
            Err(ContentTypeError::Protobuf(content_type.to_string()))
        }
        _ => Err(ContentTypeError::Unsupported(content_type.to_string())),
    }
}

/// The lower-cased `type/subtype` of a Content-Type, or `None` when it is
/// not a media type (a simplified `mime.ParseMediaType`).
fn media_type(ct: &str) -> Option<String> {
    let m = ct.split(';').next()?.trim();
    let (t, s) = m.split_once('/')?;
    let token = |x: &str| {
        !x.is_empty()
            && x.bytes()
                .all(|c| c.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&c))
    };
    if !token(t) || !token(s) {
        return None;
    }
    Some(m.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_accept_header_matches_prometheus_3() {
        assert_eq!(
            accept_header(&DEFAULT_SCRAPE_PROTOCOLS, "allow-utf-8"),
            DEFAULT_ACCEPT_HEADER
        );
    }

    #[test]
    fn lenient_mapping_defaults_to_text() {
        assert_eq!(
            content_type_to_format("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Format::OpenMetrics
        );
        assert_eq!(
            content_type_to_format("text/plain; version=0.0.4"),
            Format::PrometheusText
        );
        assert_eq!(content_type_to_format(""), Format::PrometheusText);
        assert_eq!(content_type_to_format("garbage"), Format::PrometheusText);
    }

    #[test]
    fn strict_negotiation_needs_a_fallback_for_unknown_types() {
        assert_eq!(
            negotiate_format("text/plain; version=0.0.4; charset=utf-8", None),
            Ok((Format::PrometheusText, None))
        );
        assert_eq!(
            negotiate_format("", None).unwrap_err().to_string(),
            "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target"
        );
        assert_eq!(
            negotiate_format("application/json", None)
                .unwrap_err()
                .to_string(),
            r#"received unsupported Content-Type "application/json" and no fallback_scrape_protocol specified for target"#
        );
        assert_eq!(
            negotiate_format("nonsense", None).unwrap_err().to_string(),
            r#"cannot parse Content-Type "nonsense" and no fallback_scrape_protocol for target"#
        );
        let (f, w) = negotiate_format(
            "application/json",
            Some(ScrapeProtocol::OpenMetricsText1_0_0),
        )
        .unwrap();
        assert_eq!(f, Format::OpenMetrics);
        assert_eq!(
            w.unwrap().to_string(),
            r#"received unsupported Content-Type "application/json", using fallback_scrape_protocol "application/openmetrics-text""#
        );
        let (f, w) = negotiate_format("", Some(ScrapeProtocol::PrometheusText0_0_4)).unwrap();
        assert_eq!(f, Format::PrometheusText);
        assert_eq!(
            w.unwrap().to_string(),
            r#"non-compliant scrape target sending blank Content-Type, using fallback_scrape_protocol "text/plain""#
        );
        assert!(matches!(
            negotiate_format("application/vnd.google.protobuf; proto=x", None),
            Err(ContentTypeError::Protobuf(_))
        ));
    }

    #[test]
    fn protocol_names_round_trip() {
        for p in DEFAULT_SCRAPE_PROTOCOLS {
            assert_eq!(p.as_str().parse::<ScrapeProtocol>().unwrap(), p);
        }
        assert!("Nope".parse::<ScrapeProtocol>().is_err());
    }
}
