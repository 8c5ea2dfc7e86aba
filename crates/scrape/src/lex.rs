//! Byte-level helpers shared by both exposition formats: names, quoted
//! strings, numbers, escapes and token descriptions for error messages.

use std::borrow::Cow;

use crate::error::{NumberError, ParseErrorKind};

/// Prometheus' canonical NaN (`value.NormalNaN`), distinct from the
/// staleness marker.
pub(crate) const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// `[a-zA-Z_:]`
pub(crate) fn is_metric_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

/// `[a-zA-Z0-9_:]`
pub(crate) fn is_metric_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// `[a-zA-Z_]`
pub(crate) fn is_label_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

/// `[a-zA-Z0-9_]`
pub(crate) fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Skips spaces and tabs from `i`.
pub(crate) fn skip_ws(l: &[u8], mut i: usize) -> usize {
    while matches!(l.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// The end of the run of bytes satisfying `f` from `i`.
pub(crate) fn scan(l: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while l.get(i).is_some_and(|&c| f(c)) {
        i += 1;
    }
    i
}

/// The end (after the closing quote) of the quoted string starting at
/// `l[i] == b'"'`, honouring backslash escapes; `None` if unterminated.
pub(crate) fn quoted_end(l: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < l.len() {
        match l[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// Undoes `\\`, `\"` and `\n` (and with `quote == false` only `\\` and
/// `\n`, the text format's HELP escapes). Other escapes stay as written, as
/// with Go's `strings.Replacer`. Borrows when there is nothing to undo.
pub(crate) fn unescape(s: &str, quote: bool) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Lossy text of bytes, for error messages.
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What kind of token the parser was looking at, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// The start of a line or a metadata name.
    Start,
    /// Inside braces.
    Labels,
    /// After the series, where the value goes.
    Value,
    /// After the value.
    Timestamp,
}

/// Describes the token at `l[i..]` as Prometheus' lexer would name it:
/// returns its text, its kind and its end.
pub(crate) fn describe(l: &[u8], i: usize, ctx: Ctx) -> (String, &'static str, usize) {
    let Some(&c) = l.get(i) else {
        return ("\n".to_string(), "LINEBREAK", i);
    };
    let one = |kind| (lossy(&l[i..i + 1]), kind, i + 1);
    match c {
        b' ' | b'\t' => {
            let e = skip_ws(l, i);
            (lossy(&l[i..e]), "WHITESPACE", e)
        }
        b'{' => one("BOPEN"),
        b'}' => one("BCLOSE"),
        b',' if ctx == Ctx::Labels => one("COMMA"),
        b'=' if ctx == Ctx::Labels => one("EQUAL"),
        b'"' if ctx != Ctx::Value && ctx != Ctx::Timestamp => match quoted_end(l, i) {
            Some(e) => (lossy(&l[i..e]), "QSTRING", e),
            None => (lossy(&l[i..]), "INVALID", l.len()),
        },
        _ if ctx == Ctx::Value => {
            let e = scan(l, i, |c| !matches!(c, b' ' | b'\t' | b'{'));
            (lossy(&l[i..e]), "VALUE", e)
        }
        _ if ctx == Ctx::Timestamp && c.is_ascii_digit() => {
            let e = scan(l, i, |c| c.is_ascii_digit());
            (lossy(&l[i..e]), "TIMESTAMP", e)
        }
        _ if ctx == Ctx::Labels && is_label_start(c) => {
            let e = scan(l, i, is_label_char);
            (lossy(&l[i..e]), "LNAME", e)
        }
        _ if ctx == Ctx::Start && is_metric_start(c) => {
            let e = scan(l, i, is_metric_char);
            (lossy(&l[i..e]), "MNAME", e)
        }
        _ => {
            // One whole UTF-8 character when there is one.
            let len = match c {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf7 => 4,
                _ => 1,
            };
            let e = (i + len).min(l.len());
            (lossy(&l[i..e]), "INVALID", e)
        }
    }
}

/// Builds Prometheus' `parseError` for the token at `l[i..]`; the context
/// runs from the line start to the token's end.
pub(crate) fn unexpected(expected: &'static str, l: &[u8], i: usize, ctx: Ctx) -> ParseErrorKind {
    let (got, token, end) = describe(l, i, ctx);
    let mut context = lossy(&l[..end]);
    if token == "LINEBREAK" {
        context.push('\n');
    }
    ParseErrorKind::Unexpected {
        expected,
        got,
        token,
        context,
    }
}

/// Go's `strconv.ParseFloat` as Prometheus calls it: no `p`, `P` or `_`,
/// `Inf`/`Infinity`/`NaN` in any case (only infinities take a sign), and
/// overflow is an error. NaN comes back as Prometheus' canonical NaN.
pub(crate) fn parse_float(text: &[u8], l: &[u8], end: usize) -> Result<f64, ParseErrorKind> {
    let context = || lossy(&l[..end]);
    if text.iter().any(|c| matches!(c, b'p' | b'P' | b'_')) {
        return Err(ParseErrorKind::UnsupportedFloatChar { context: context() });
    }
    let invalid = |reason| ParseErrorKind::InvalidFloat {
        text: lossy(text),
        reason,
        context: context(),
    };
    let s = std::str::from_utf8(text).map_err(|_| invalid(NumberError::InvalidSyntax))?;
    let unsigned = s.strip_prefix(['+', '-']);
    if unsigned.is_some_and(|u| u.eq_ignore_ascii_case("nan")) || s.starts_with("0x") {
        return Err(invalid(NumberError::InvalidSyntax));
    }
    let v: f64 = s.parse().map_err(|_| invalid(NumberError::InvalidSyntax))?;
    if v.is_nan() {
        return Ok(f64::from_bits(NORMAL_NAN_BITS));
    }
    if v.is_infinite() {
        let body = unsigned.unwrap_or(s);
        let spelled = body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity");
        if !spelled {
            return Err(invalid(NumberError::OutOfRange));
        }
    }
    Ok(v)
}

/// Go's `strconv.ParseInt(s, 10, 64)` for text-format timestamps.
pub(crate) fn parse_int(text: &[u8], l: &[u8], end: usize) -> Result<i64, ParseErrorKind> {
    let err = |reason| ParseErrorKind::InvalidTimestamp {
        text: lossy(text),
        reason,
        context: lossy(&l[..end]),
    };
    let s = std::str::from_utf8(text).map_err(|_| err(NumberError::InvalidSyntax))?;
    s.parse::<i64>().map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            err(NumberError::OutOfRange)
        }
        _ => err(NumberError::InvalidSyntax),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(s: &str) -> Result<f64, ParseErrorKind> {
        parse_float(s.as_bytes(), s.as_bytes(), s.len())
    }

    #[test]
    fn floats_follow_go_parse_float() {
        assert_eq!(pf("1.5").unwrap(), 1.5);
        assert_eq!(pf("+Inf").unwrap(), f64::INFINITY);
        assert_eq!(pf("-inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(pf("Infinity").unwrap(), f64::INFINITY);
        assert_eq!(pf("NaN").unwrap().to_bits(), NORMAL_NAN_BITS);
        assert_eq!(pf("nan").unwrap().to_bits(), NORMAL_NAN_BITS);
        assert_eq!(pf(".5e1").unwrap(), 5.0);
        assert_eq!(pf("-0").unwrap(), 0.0);
        assert!(pf("+NaN").is_err());
        assert!(pf("0x1").is_err());
        assert_eq!(
            pf("1_000").unwrap_err().to_string(),
            r#"unsupported character in float while parsing: "1_000""#
        );
        assert_eq!(
            pf("1e400").unwrap_err().to_string(),
            r#"strconv.ParseFloat: parsing "1e400": value out of range while parsing: "1e400""#
        );
        assert_eq!(
            pf("abc").unwrap_err().to_string(),
            r#"strconv.ParseFloat: parsing "abc": invalid syntax while parsing: "abc""#
        );
    }

    #[test]
    fn unescape_handles_only_known_escapes() {
        assert_eq!(unescape(r#"a\\b\"c\nd\te"#, true), "a\\b\"c\nd\\te");
        assert_eq!(unescape(r#"a\"b"#, false), r#"a\"b"#);
        assert!(matches!(unescape("plain", true), Cow::Borrowed(_)));
    }

    #[test]
    fn quoted_strings_honour_escapes() {
        assert_eq!(quoted_end(br#""a\"b" x"#, 0), Some(6));
        assert_eq!(quoted_end(br#""abc"#, 0), None);
        assert_eq!(quoted_end(br#""a\"#, 0), None);
    }
}
