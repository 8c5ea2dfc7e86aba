//! Series lines: `name{labels} value [timestamp] [# exemplar]`.
//!
//! A parsed [`Series`] borrows the body: its labels are re-read from the
//! already validated label text on demand, so parsing a series allocates
//! nothing unless a name or value holds escapes.

use std::borrow::Cow;

use promlite_model::{Labels, LabelsBuilder, METRIC_NAME};

use crate::error::ParseErrorKind;
use crate::lex::{
    self, is_label_char, is_label_start, is_metric_char, is_metric_start, lossy, quoted_end,
    skip_ws, unexpected, Ctx,
};

/// One sample line of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<'a> {
    text: &'a str,
    name: Cow<'a, str>,
    labels: &'a str,
    /// The sample value. NaN is Prometheus' canonical NaN.
    pub value: f64,
    /// The timestamp in milliseconds, if the line has one (OpenMetrics'
    /// seconds are converted).
    pub timestamp: Option<i64>,
    has_exemplar: bool,
}

impl<'a> Series<'a> {
    /// The series as written, `name{labels}` without value and timestamp
    /// (Prometheus' `Parser.Series()` bytes; a good scrape cache key).
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The metric name, unescaped.
    pub fn metric_name(&self) -> &str {
        &self.name
    }

    /// The labels other than the metric name, in exposition order,
    /// unescaped. Empty values are included.
    pub fn labels(&self) -> SeriesLabels<'a> {
        SeriesLabels {
            text: self.labels.as_bytes(),
            src: self.labels,
            pos: 0,
        }
    }

    /// Whether the line carried an exemplar (parsed, validated, ignored).
    pub fn has_exemplar(&self) -> bool {
        self.has_exemplar
    }

    /// Replaces the content of `b` with the series' labels, `__name__`
    /// included. Empty values are dropped, as by Prometheus' builder.
    pub fn write_labels(&self, b: &mut LabelsBuilder) {
        b.retain(|_, _| false);
        b.set(METRIC_NAME, &self.name);
        for (n, v) in self.labels() {
            b.set(&n, &v);
        }
    }

    /// The series' labels, `__name__` included, as a sorted [`Labels`].
    pub fn to_labels(&self) -> Labels {
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(8);
        pairs.push((Cow::Borrowed(METRIC_NAME), self.name.clone()));
        pairs.extend(self.labels());
        Labels::from_pairs(&pairs)
    }
}

/// Iterator over a [`Series`]' labels as `(name, value)`.
#[derive(Debug, Clone)]
pub struct SeriesLabels<'a> {
    text: &'a [u8],
    src: &'a str,
    pos: usize,
}

impl<'a> Iterator for SeriesLabels<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        // The text was validated when the line was parsed, so this reader
        // only needs to find the pieces again.
        let l = self.text;
        loop {
            let mut i = lex::scan(l, self.pos, |c| matches!(c, b' ' | b'\t' | b','));
            if i >= l.len() {
                self.pos = i;
                return None;
            }
            let (name, quoted) = if l[i] == b'"' {
                let e = quoted_end(l, i)?;
                let n = self.src.get(i + 1..e - 1)?;
                i = e;
                (n, true)
            } else {
                let e = lex::scan(l, i, is_label_char);
                let n = self.src.get(i..e)?;
                i = e;
                (n, false)
            };
            i = skip_ws(l, i);
            if l.get(i) != Some(&b'=') {
                // A quoted metric name inside the braces.
                self.pos = i;
                continue;
            }
            i = skip_ws(l, i + 1);
            let e = quoted_end(l, i)?;
            let v = self.src.get(i + 1..e - 1)?;
            self.pos = e;
            let name = if quoted {
                lex::unescape(name, true)
            } else {
                Cow::Borrowed(name)
            };
            return Some((name, lex::unescape(v, true)));
        }
    }
}

/// Parses a series line. `strict` selects OpenMetrics (single spaces, no
/// whitespace in braces, float seconds, exemplars); otherwise the text
/// format's rules apply. `names` is scratch space for duplicate checks.
pub(crate) fn parse_series<'a>(
    line: &'a [u8],
    strict: bool,
    names: &mut Vec<(usize, usize)>,
) -> Result<Series<'a>, ParseErrorKind> {
    let l = line;
    let mut i = if strict { 0 } else { skip_ws(l, 0) };
    let start = i;
    let mut name_span = None;
    if l.get(i).is_some_and(|&c| is_metric_start(c)) {
        let e = lex::scan(l, i, is_metric_char);
        name_span = Some((i, e));
        i = e;
    }
    let mut series_end = i;
    let mut labels_span = (i, i);
    let brace = if strict { i } else { skip_ws(l, i) };
    if l.get(brace) == Some(&b'{') {
        let (end, quoted_name) =
            parse_labels(l, start, brace + 1, strict, name_span, false, names)?;
        if quoted_name.is_some() {
            name_span = quoted_name;
        }
        labels_span = (brace + 1, end - 1);
        series_end = end;
        i = end;
    }
    let Some((ns, ne)) = name_span else {
        return Err(ParseErrorKind::MetricNameNotSet {
            context: lossy(&l[start..series_end]),
        });
    };
    let name_raw = &l[ns..ne];
    let text = std::str::from_utf8(&l[start..series_end])
        .map_err(|_| ParseErrorKind::InvalidUtf8Name(lossy(name_raw)))?;
    let name_str = text.get(ns - start..ne - start).unwrap_or_default();
    let labels = text
        .get(labels_span.0 - start..labels_span.1 - start)
        .unwrap_or_default();
    // A name in quotes may hold escapes.
    let name = if l.get(ns.wrapping_sub(1)) == Some(&b'"') {
        lex::unescape(name_str, true)
    } else {
        Cow::Borrowed(name_str)
    };

    // The value.
    let vstart = if strict {
        if l.get(i) != Some(&b' ') {
            return Err(unexpected("expected value after metric", l, i, Ctx::Value));
        }
        i + 1
    } else {
        skip_ws(l, i)
    };
    // OpenMetrics' value token is `[^ \n]+`, the text format's `[^{ \t\n]+`.
    let vend = if strict {
        lex::scan(l, vstart, |c| c != b' ')
    } else {
        lex::scan(l, vstart, |c| !matches!(c, b' ' | b'\t' | b'{'))
    };
    if vend == vstart {
        return Err(unexpected(
            "expected value after metric",
            l,
            vstart,
            Ctx::Value,
        ));
    }
    let value = lex::parse_float(&l[vstart..vend], l, vend)?;

    let mut series = Series {
        text,
        name,
        labels,
        value,
        timestamp: None,
        has_exemplar: false,
    };
    if strict {
        parse_om_suffix(l, vend, &mut series, names)?;
    } else {
        parse_text_suffix(l, vend, &mut series)?;
    }
    Ok(series)
}

/// Text format: `[ timestamp-ms] [ws]` up to the end of the line.
fn parse_text_suffix(l: &[u8], i: usize, s: &mut Series<'_>) -> Result<(), ParseErrorKind> {
    let i = skip_ws(l, i);
    if i >= l.len() {
        return Ok(());
    }
    let e = lex::scan(l, i, |c| c.is_ascii_digit());
    if e == i {
        return Err(unexpected(
            "expected timestamp or new record",
            l,
            i,
            Ctx::Timestamp,
        ));
    }
    s.timestamp = Some(lex::parse_int(&l[i..e], l, e)?);
    let j = skip_ws(l, e);
    if j < l.len() {
        return Err(unexpected(
            "expected next entry after timestamp",
            l,
            j,
            Ctx::Timestamp,
        ));
    }
    Ok(())
}

/// OpenMetrics: `[ timestamp-seconds] [ # {labels} value [timestamp]]`.
fn parse_om_suffix(
    l: &[u8],
    i: usize,
    s: &mut Series<'_>,
    names: &mut Vec<(usize, usize)>,
) -> Result<(), ParseErrorKind> {
    if i >= l.len() {
        return Ok(());
    }
    // After the value comes a single space, then a timestamp or `#`.
    if l.get(i + 1) == Some(&b'#') {
        return parse_exemplar(l, i + 1, s, names);
    }
    let ts_start = i + 1;
    let ts_end = lex::scan(l, ts_start, |c| c != b' ');
    if ts_end == ts_start {
        return Err(unexpected(
            "expected timestamp or new record",
            l,
            ts_start,
            Ctx::Timestamp,
        ));
    }
    let ts = lex::parse_float(&l[ts_start..ts_end], l, ts_end)?;
    if !ts.is_finite() {
        return Err(ParseErrorKind::NonFiniteTimestamp(ts));
    }
    s.timestamp = Some((ts * 1000.0) as i64);
    if ts_end >= l.len() {
        return Ok(());
    }
    if l.get(ts_end + 1) == Some(&b'#') {
        return parse_exemplar(l, ts_end + 1, s, names);
    }
    Err(unexpected(
        "expected next entry after timestamp",
        l,
        ts_end,
        Ctx::Timestamp,
    ))
}

/// `# {labels} value [timestamp]`, starting at the `#`.
fn parse_exemplar(
    l: &[u8],
    hash: usize,
    s: &mut Series<'_>,
    names: &mut Vec<(usize, usize)>,
) -> Result<(), ParseErrorKind> {
    let b = hash + 2;
    if l.get(hash + 1) != Some(&b' ') || l.get(b) != Some(&b'{') {
        return Err(unexpected(
            "expected timestamp or new record",
            l,
            hash,
            Ctx::Timestamp,
        ));
    }
    let (end, _) = parse_labels(l, hash, b + 1, true, None, true, names)?;
    if l.get(end) != Some(&b' ') {
        return Err(unexpected(
            "expected value after exemplar labels",
            l,
            end,
            Ctx::Value,
        ));
    }
    let ve = lex::scan(l, end + 1, |c| c != b' ');
    if ve == end + 1 {
        return Err(unexpected(
            "expected value after exemplar labels",
            l,
            end + 1,
            Ctx::Value,
        ));
    }
    lex::parse_float(&l[end + 1..ve], l, ve)?;
    if ve < l.len() {
        let ts_end = lex::scan(l, ve + 1, |c| c != b' ');
        if ts_end == ve + 1 {
            return Err(unexpected(
                "expected timestamp or comment",
                l,
                ve + 1,
                Ctx::Timestamp,
            ));
        }
        let ts = lex::parse_float(&l[ve + 1..ts_end], l, ts_end)?;
        if !ts.is_finite() {
            return Err(ParseErrorKind::NonFiniteExemplarTimestamp(ts));
        }
        if ts_end < l.len() {
            return Err(unexpected(
                "expected next entry after exemplar timestamp",
                l,
                ts_end,
                Ctx::Timestamp,
            ));
        }
    }
    s.has_exemplar = true;
    Ok(())
}

/// Parses the inside of braces from `i` (just after `{`). Returns the index
/// after `}` and the span of a quoted metric name found inside.
fn parse_labels(
    l: &[u8],
    start: usize,
    mut i: usize,
    strict: bool,
    outer_name: Option<(usize, usize)>,
    exemplar: bool,
    names: &mut Vec<(usize, usize)>,
) -> Result<(usize, Option<(usize, usize)>), ParseErrorKind> {
    names.clear();
    let mut name = outer_name;
    let mut quoted_name = None;
    let mut name_label = false;
    loop {
        if !strict {
            i = skip_ws(l, i);
        }
        let tok_start = i;
        let (n_start, n_end, quoted) = match l.get(i) {
            Some(b'}') => break,
            Some(b'"') => {
                let Some(e) = quoted_end(l, i) else {
                    return Err(unexpected("expected label name", l, i, Ctx::Labels));
                };
                if std::str::from_utf8(&l[i + 1..e - 1]).is_err() {
                    return Err(ParseErrorKind::InvalidUtf8Name(lossy(&l[i + 1..e - 1])));
                }
                i = e;
                (tok_start + 1, e - 1, true)
            }
            Some(&c) if is_label_start(c) => {
                i = lex::scan(l, i, is_label_char);
                (tok_start, i, false)
            }
            _ => return Err(unexpected("expected label name", l, i, Ctx::Labels)),
        };
        if !strict {
            i = skip_ws(l, i);
        }
        if quoted && matches!(l.get(i), Some(b',' | b'}')) {
            if exemplar {
                return Err(unexpected("expected label name", l, i, Ctx::Labels));
            }
            if name.is_some() {
                return Err(ParseErrorKind::MetricNameAlreadySet {
                    context: lossy(&l[start..i + 1]),
                });
            }
            name = Some((n_start, n_end));
            quoted_name = name;
            if l[i] == b',' {
                i += 1;
            }
            continue;
        }
        if l.get(i) != Some(&b'=') {
            return Err(unexpected("expected equal", l, i, Ctx::Labels));
        }
        i += 1;
        if !strict {
            i = skip_ws(l, i);
        }
        let vend = match l.get(i) {
            Some(b'"') => quoted_end(l, i),
            _ => None,
        };
        let Some(vend) = vend else {
            return Err(unexpected("expected label value", l, i, Ctx::Labels));
        };
        if std::str::from_utf8(&l[i..vend]).is_err() {
            return Err(ParseErrorKind::InvalidUtf8LabelValue(lossy(&l[i..vend])));
        }
        let this = &l[n_start..n_end];
        name_label |= this == METRIC_NAME.as_bytes();
        if names.iter().any(|&(a, b)| &l[a..b] == this) {
            return Err(ParseErrorKind::DuplicateLabelName(
                lex::unescape(&lossy(this), true).into_owned(),
            ));
        }
        names.push((n_start, n_end));
        i = vend;
        if !strict {
            i = skip_ws(l, i);
        }
        match l.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {}
            _ if strict => {
                return Err(unexpected(
                    "expected comma or brace close",
                    l,
                    i,
                    Ctx::Labels,
                ))
            }
            // The text format tolerates a missing comma between labels.
            _ => {}
        }
    }
    if name_label && name.is_some() && !exemplar {
        return Err(ParseErrorKind::DuplicateLabelName(METRIC_NAME.to_string()));
    }
    Ok((i + 1, quoted_name))
}
