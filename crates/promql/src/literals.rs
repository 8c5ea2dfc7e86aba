//! String literals that are not valid UTF-8.
//!
//! PromQL string literals follow Go's quoting rules, where `\xNN` and
//! `\NNN` (octal) give raw bytes, so `"a\xc5z"` is the three bytes
//! `61 c5 7a`: not valid UTF-8, and Prometheus rejects it as a label name
//! (`invalid label name "a\xc5z"`). `promql-parser` decodes such escapes to
//! the code points U+0080..U+00FF instead, so the AST alone cannot tell
//! `"\xc5"` from `"Å"`. [`parse_query`] therefore re-scans the query text
//! with Go's rules and rewrites the literals that are invalid UTF-8: each
//! byte that is not part of a valid sequence becomes the private-use code
//! point `U+10FF00 + byte` ([`has_invalid_utf8`] finds them and
//! [`go_quote`] prints them back as `\xNN`).

use promql_parser::parser::{self, Expr};
use promql_parser::util::unquote_string;

use crate::error::{Error, Result};

/// Base of the private-use code points standing for invalid bytes.
const RAW_BYTE_BASE: u32 = 0x10_FF00;

/// Parses a query like `promql_parser::parser::parse`, then marks string
/// literals that are invalid UTF-8 under Go's escaping rules (see the
/// module docs). Use it instead of the crate's parser when the expression
/// is evaluated by [`crate::Engine`].
pub fn parse_query(query: &str) -> Result<Expr> {
    let mut expr = parser::parse(query).map_err(Error::Parse)?;
    let invalid = invalid_literals(query);
    if !invalid.is_empty() {
        rewrite(&mut expr, &invalid);
    }
    Ok(expr)
}

/// Whether `s` holds bytes that were not valid UTF-8 in the query text.
pub(crate) fn has_invalid_utf8(s: &str) -> bool {
    s.chars().any(|c| raw_byte(c).is_some())
}

fn raw_byte(c: char) -> Option<u8> {
    let v = u32::from(c);
    (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xff)
        .contains(&v)
        .then(|| (v - RAW_BYTE_BASE) as u8)
}

/// Quotes `s` as Go's `%q` does for the strings that reach error messages:
/// marked invalid bytes as `\xNN`, quotes and backslashes escaped, control
/// characters as escapes.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if let Some(b) = raw_byte(c) {
            out.push_str(&format!("\\x{b:02x}"));
            continue;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `(value as decoded by promql-parser, value as Go decodes it with invalid
/// bytes marked)` for every quoted literal in `query` where the two differ.
fn invalid_literals(query: &str) -> Vec<(String, String)> {
    let b = query.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
                i += 1;
            }
            q @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(b.len());
                i += 1;
                let Some(lit) = query.get(start..end) else {
                    continue;
                };
                let Some(bytes) = go_unquote_bytes(lit) else {
                    continue;
                };
                let marked = mark_invalid(&bytes);
                if let Ok(decoded) = unquote_string(lit) {
                    if decoded != marked {
                        out.push((decoded, marked));
                    }
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The bytes of a quoted literal (quotes included) under Go's rules, or
/// `None` if it is malformed (the parser reports that).
fn go_unquote_bytes(lit: &str) -> Option<Vec<u8>> {
    let inner = lit.get(1..lit.len().checked_sub(1)?)?.as_bytes();
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    let hex = |s: &[u8]| -> Option<u32> {
        let s = std::str::from_utf8(s).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    while i < inner.len() {
        if inner[i] != b'\\' {
            out.push(inner[i]);
            i += 1;
            continue;
        }
        let c = *inner.get(i + 1)?;
        i += 2;
        match c {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'\\' | b'\'' | b'"' => out.push(c),
            b'x' => {
                let v = hex(inner.get(i..i + 2)?)?;
                out.push(u8::try_from(v).ok()?);
                i += 2;
            }
            b'u' | b'U' => {
                let n = if c == b'u' { 4 } else { 8 };
                let ch = char::from_u32(hex(inner.get(i..i + n)?)?)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += n;
            }
            b'0'..=b'7' => {
                let digits = inner.get(i - 1..i + 2)?;
                let s = std::str::from_utf8(digits).ok()?;
                out.push(u8::try_from(u32::from_str_radix(s, 8).ok()?).ok()?);
                i += 2;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Valid UTF-8 runs kept, each other byte as its private-use code point.
fn mark_invalid(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            if let Some(c) = char::from_u32(RAW_BYTE_BASE + u32::from(b)) {
                out.push(c);
            }
        }
    }
    out
}

fn rewrite(e: &mut Expr, invalid: &[(String, String)]) {
    match e {
        Expr::StringLiteral(s) => {
            if let Some((_, marked)) = invalid.iter().find(|(d, _)| *d == s.val) {
                s.val = marked.clone();
            }
        }
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| rewrite(a, invalid)),
        Expr::Aggregate(a) => {
            rewrite(&mut a.expr, invalid);
            if let Some(p) = a.param.as_mut() {
                rewrite(p, invalid);
            }
        }
        Expr::Binary(b) => {
            rewrite(&mut b.lhs, invalid);
            rewrite(&mut b.rhs, invalid);
        }
        Expr::Unary(u) => rewrite(&mut u.expr, invalid),
        Expr::Paren(p) => rewrite(&mut p.expr, invalid),
        Expr::Subquery(s) => rewrite(&mut s.expr, invalid),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_string_arg(e: &Expr) -> String {
        match e {
            Expr::Call(c) => match c.args.args[1].as_ref() {
                Expr::StringLiteral(s) => s.val.clone(),
                other => panic!("not a string: {other:?}"),
            },
            Expr::Aggregate(a) => match a.param.as_deref() {
                Some(Expr::StringLiteral(s)) => s.val.clone(),
                other => panic!("not a string: {other:?}"),
            },
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn hex_escape_that_is_invalid_utf8_is_marked() {
        let e = parse_query(r#"count_values("a\xc5z", version)"#).unwrap();
        let v = first_string_arg(&e);
        assert!(has_invalid_utf8(&v));
        assert_eq!(go_quote(&v), r#""a\xc5z""#);
    }

    #[test]
    fn valid_escapes_and_plain_unicode_are_left_alone() {
        for q in [
            r#"label_replace(m, "Å", "", "src", "(.*)")"#,
            r#"label_replace(m, "\u00c5", "", "src", "(.*)")"#,
            r#"label_replace(m, "\xc3\x85", "", "src", "(.*)")"#,
            r#"label_replace(m, '\303\205', "", "src", "(.*)")"#,
        ] {
            let v = first_string_arg(&parse_query(q).unwrap());
            assert!(!has_invalid_utf8(&v), "{q}");
        }
    }

    #[test]
    fn hex_escapes_forming_utf8_decode_as_go_does() {
        let e = parse_query(r#"label_replace(m, "\xc3\x85", "", "src", "(.*)")"#).unwrap();
        assert_eq!(first_string_arg(&e), "Å");
    }

    #[test]
    fn octal_escape_and_single_quotes_are_decoded_as_go_does() {
        let e = parse_query(r#"label_replace(m, '\377', "", "src", "(.*)")"#).unwrap();
        assert_eq!(go_quote(&first_string_arg(&e)), r#""\xff""#);
    }

    #[test]
    fn comments_and_raw_strings_are_skipped() {
        let e =
            parse_query("label_replace(m, `\\xff`, \"\", \"src\", \"(.*)\") # \"\\xff\"").unwrap();
        assert!(!has_invalid_utf8(&first_string_arg(&e)));
    }
}
