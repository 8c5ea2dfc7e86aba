//! The streaming exposition parser (Prometheus `model/textparse`).

use std::borrow::Cow;

use crate::error::{ParseError, ParseErrorKind};
use crate::format::Format;
use crate::lex::{self, is_metric_char, is_metric_start, lossy, quoted_end, unexpected, Ctx};
use crate::series::{parse_series, Series};

/// The type declared by a `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `gaugehistogram` (OpenMetrics only)
    GaugeHistogram,
    /// `summary`
    Summary,
    /// `info` (OpenMetrics only)
    Info,
    /// `stateset` (OpenMetrics only)
    Stateset,
    /// `untyped` (text format) or `unknown` (OpenMetrics)
    Unknown,
}

impl MetricType {
    /// The name Prometheus uses for the type in metadata (`unknown` for
    /// untyped metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::Stateset => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    fn parse(s: &str, format: Format) -> Option<MetricType> {
        let t = match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            _ => match (format, s) {
                (Format::PrometheusText, "untyped") => MetricType::Unknown,
                (Format::OpenMetrics, "unknown") => MetricType::Unknown,
                (Format::OpenMetrics, "gaugehistogram") => MetricType::GaugeHistogram,
                (Format::OpenMetrics, "info") => MetricType::Info,
                (Format::OpenMetrics, "stateset") => MetricType::Stateset,
                _ => return None,
            },
        };
        Some(t)
    }
}

/// One entry of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// A sample.
    Series(Series<'a>),
    /// `# HELP name text`, with escapes undone.
    Help {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The help text.
        help: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The declared type.
        metric_type: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics).
    Unit {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The unit, possibly empty.
        unit: Cow<'a, str>,
    },
    /// Any other `#` line of the text format, as written (lossily decoded).
    Comment(Cow<'a, str>),
}

/// Parser options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParserOptions {
    /// Skip OpenMetrics `<name>_created` series of counters, histograms,
    /// gauge histograms and summaries (Prometheus does so when created
    /// timestamps are ingested as zero samples). Off by default, so they
    /// are ordinary series, as in Prometheus 3's default.
    pub skip_created_series: bool,
}

/// A streaming parser over a scrape body.
///
/// Iterating yields entries in body order, then `None`. The first
/// malformed line yields `Some(Err(_))` and ends the iteration. In
/// OpenMetrics the iteration ends at `# EOF`, and a body without one, or
/// with anything after it, is an error.
///
/// ```
/// use promlite_scrape::{Entry, Format, Parser};
///
/// let body = b"# TYPE up gauge\nup{job=\"a\"} 1 1700000000000\n";
/// let mut n = 0;
/// for e in Parser::new(body, Format::PrometheusText) {
///     if let Entry::Series(s) = e.unwrap() {
///         assert_eq!(s.metric_name(), "up");
///         assert_eq!(s.timestamp, Some(1_700_000_000_000));
///         n += 1;
///     }
/// }
/// assert_eq!(n, 1);
/// ```
#[derive(Debug)]
pub struct Parser<'a> {
    body: &'a [u8],
    pos: usize,
    line: usize,
    format: Format,
    options: ParserOptions,
    done: bool,
    names: Vec<(usize, usize)>,
    /// The family and type of the last OpenMetrics `# TYPE`, for skipping
    /// `_created` series.
    family: Option<(Cow<'a, str>, MetricType)>,
}

impl<'a> Parser<'a> {
    /// A parser of `body` in `format`.
    pub fn new(body: &'a [u8], format: Format) -> Self {
        Self::with_options(body, format, ParserOptions::default())
    }

    /// A parser with options.
    pub fn with_options(body: &'a [u8], format: Format, options: ParserOptions) -> Self {
        Parser {
            body,
            pos: 0,
            line: 0,
            format,
            options,
            done: false,
            names: Vec::new(),
            family: None,
        }
    }

    /// The number of the line read last (1-based).
    pub fn line(&self) -> usize {
        self.line
    }

    fn err(&mut self, kind: ParseErrorKind) -> Option<Result<Entry<'a>, ParseError>> {
        self.done = true;
        Some(Err(ParseError {
            line: self.line,
            kind,
        }))
    }

    /// The next line and whether a newline ended it.
    fn next_line(&mut self) -> Option<(&'a [u8], bool)> {
        let rest = self.body.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        self.line += 1;
        match memchr::memchr(b'\n', rest) {
            Some(n) => {
                self.pos += n + 1;
                Some((&rest[..n], true))
            }
            None => {
                self.pos = self.body.len();
                Some((rest, false))
            }
        }
    }

    fn next_text(&mut self) -> Option<Result<Entry<'a>, ParseError>> {
        loop {
            let (l, _) = self.next_line()?;
            let i = lex::skip_ws(l, 0);
            let res = match l.get(i) {
                None => continue,
                Some(b'#') => self.text_meta(l, i),
                Some(&c) if c == b'{' || is_metric_start(c) => {
                    parse_series(l, false, &mut self.names).map(Entry::Series)
                }
                Some(_) => Err(unexpected("expected a valid start token", l, i, Ctx::Start)),
            };
            return match res {
                Ok(e) => Some(Ok(e)),
                Err(k) => self.err(k),
            };
        }
    }

    /// A text-format `#` line starting at `l[i]`.
    fn text_meta(&self, l: &'a [u8], i: usize) -> Result<Entry<'a>, ParseErrorKind> {
        let j = lex::skip_ws(l, i + 1);
        let comment = || Ok(Entry::Comment(String::from_utf8_lossy(&l[i..])));
        if j == i + 1 {
            return comment();
        }
        let kind = match l.get(j..j + 4) {
            Some(b"HELP") => "HELP",
            Some(b"TYPE") => "TYPE",
            _ => return comment(),
        };
        let k = lex::skip_ws(l, j + 4);
        if k == j + 4 {
            return comment();
        }
        self.meta(l, k, kind)
    }

    /// The `name text` part of HELP/TYPE/UNIT from `l[k]`.
    fn meta(&self, l: &'a [u8], k: usize, kind: &'static str) -> Result<Entry<'a>, ParseErrorKind> {
        let strict = self.format == Format::OpenMetrics;
        let expected = match kind {
            "HELP" => "expected metric name after HELP",
            "TYPE" => "expected metric name after TYPE",
            _ => "expected metric name after UNIT",
        };
        let (ns, ne, after) = match l.get(k) {
            Some(b'"') => match quoted_end(l, k) {
                Some(e) => (k + 1, e - 1, e),
                None => return Err(unexpected(expected, l, k, Ctx::Start)),
            },
            Some(&c) if is_metric_start(c) => {
                let e = lex::scan(l, k, is_metric_char);
                (k, e, e)
            }
            _ => return Err(unexpected(expected, l, k, Ctx::Start)),
        };
        let name_str = std::str::from_utf8(&l[ns..ne])
            .map_err(|_| ParseErrorKind::InvalidUtf8Name(lossy(&l[ns..ne])))?;
        let name = if l[k] == b'"' {
            lex::unescape(name_str, true)
        } else {
            Cow::Borrowed(name_str)
        };
        let rest = &l[after..];
        let text: &'a [u8] = if strict {
            match rest.first() {
                Some(b' ') => &rest[1..],
                _ => return Err(ParseErrorKind::ExpectedText(kind)),
            }
        } else if rest.len() > 1 {
            &rest[1..]
        } else {
            &[]
        };
        match kind {
            "HELP" => {
                let s = std::str::from_utf8(text)
                    .map_err(|_| ParseErrorKind::HelpNotUtf8(lossy(text)))?;
                Ok(Entry::Help {
                    name,
                    help: lex::unescape(s, strict),
                })
            }
            "TYPE" => {
                let s = String::from_utf8_lossy(text);
                match MetricType::parse(&s, self.format) {
                    Some(metric_type) => Ok(Entry::Type { name, metric_type }),
                    None => Err(ParseErrorKind::InvalidMetricType(s.into_owned())),
                }
            }
            _ => {
                let u = String::from_utf8_lossy(text);
                if !u.is_empty() {
                    let suffix_ok = name.len() > u.len()
                        && name.ends_with(u.as_ref())
                        && name.as_bytes()[name.len() - u.len() - 1] == b'_';
                    if !suffix_ok {
                        return Err(ParseErrorKind::UnitNotSuffix {
                            unit: u.into_owned(),
                            metric: name.into_owned(),
                        });
                    }
                }
                Ok(Entry::Unit { name, unit: u })
            }
        }
    }

    fn next_openmetrics(&mut self) -> Option<Result<Entry<'a>, ParseError>> {
        loop {
            let Some((l, newline)) = self.next_line() else {
                self.line += 1;
                return self.err(ParseErrorKind::MissingEof);
            };
            if l.first() == Some(&b'#') {
                if l == b"# EOF" {
                    self.done = true;
                    if self.pos < self.body.len() {
                        self.line += 1;
                        return self.err(ParseErrorKind::DataAfterEof);
                    }
                    return None;
                }
                if l.starts_with(b"# EOF") {
                    return self.err(ParseErrorKind::DataAfterEof);
                }
                if !newline {
                    return self.err(ParseErrorKind::MissingEof);
                }
                let kind = match l.get(..7) {
                    Some(b"# HELP ") => "HELP",
                    Some(b"# TYPE ") => "TYPE",
                    Some(b"# UNIT ") => "UNIT",
                    _ => {
                        return self.err(unexpected(
                            "expected a valid start token",
                            l,
                            0,
                            Ctx::Start,
                        ))
                    }
                };
                let res = self.meta(l, 7, kind);
                if let Ok(Entry::Type { name, metric_type }) = &res {
                    self.family = Some((name.clone(), *metric_type));
                }
                return match res {
                    Ok(e) => Some(Ok(e)),
                    Err(k) => self.err(k),
                };
            }
            match l.first() {
                Some(&c) if c == b'{' || is_metric_start(c) => {}
                _ => return self.err(unexpected("expected a valid start token", l, 0, Ctx::Start)),
            }
            let res = parse_series(l, true, &mut self.names);
            let s = match res {
                Ok(s) => s,
                Err(k) => return self.err(k),
            };
            if !newline {
                return self.err(ParseErrorKind::MissingEof);
            }
            if self.options.skip_created_series && self.is_created_series(&s) {
                continue;
            }
            return Some(Ok(Entry::Series(s)));
        }
    }

    fn is_created_series(&self, s: &Series<'_>) -> bool {
        let Some((family, t)) = &self.family else {
            return false;
        };
        matches!(
            t,
            MetricType::Counter
                | MetricType::Histogram
                | MetricType::GaugeHistogram
                | MetricType::Summary
        ) && s.metric_name().strip_suffix("_created") == Some(family.as_ref())
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.format {
            Format::PrometheusText => self.next_text(),
            Format::OpenMetrics => self.next_openmetrics(),
        }
    }
}

impl std::iter::FusedIterator for Parser<'_> {}
