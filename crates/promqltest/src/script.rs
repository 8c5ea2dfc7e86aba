//! Parsing of promqltest scripts (see `shared/promqltest/README.md`).

use promlite_model::{Labels, STALE_NAN};

use crate::error::{Error, Result};

/// One value position of a series line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeqValue {
    /// No sample at this step.
    Omitted,
    /// A float (possibly the stale marker).
    Float(f64),
    /// A native histogram (not supported by the storage).
    Histogram,
}

/// A series line: labels and expanded values.
#[derive(Debug, Clone)]
pub struct SeriesLine {
    /// The labels.
    pub labels: Labels,
    /// One entry per step.
    pub values: Vec<SeqValue>,
    /// Start-timestamp offsets from the `@st` line before it, one entry
    /// per step (`None`: no start timestamp); empty without such a line.
    pub st_offsets: Vec<Option<i64>>,
}

/// What an eval expects besides series.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expect {
    /// The query must fail.
    pub(crate) fail: bool,
    /// Exact error message.
    pub(crate) fail_msg: Option<String>,
    /// Error regex.
    pub(crate) fail_regex: Option<String>,
    /// `expect warn` lines (None = bare).
    pub(crate) warn: Vec<Option<Matcher>>,
    /// `expect info` lines.
    pub(crate) info: Vec<Option<Matcher>>,
    /// `expect no_warn`.
    pub(crate) no_warn: bool,
    /// `expect no_info`.
    pub(crate) no_info: bool,
    /// Legacy eval_warn / eval_info.
    pub(crate) any_warn: bool,
    /// Legacy eval_info.
    pub(crate) any_info: bool,
    /// `expect ordered`.
    pub(crate) ordered: bool,
    /// `expect range vector from s to e step d`.
    pub(crate) range_vector: Option<(i64, i64, i64)>,
    /// `expect string "..."`.
    pub(crate) string: Option<String>,
    /// A bare-number line.
    pub(crate) scalar: Option<f64>,
}

/// How an annotation or error message is matched.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// Exact text.
    Msg(String),
    /// Unanchored regex.
    Regex(String),
}

/// The kind of eval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvalKind {
    /// `eval instant at t`.
    Instant {
        /// Time in ms.
        t: i64,
    },
    /// `eval range from s to e step d`.
    Range {
        /// Start ms.
        start: i64,
        /// End ms.
        end: i64,
        /// Step ms.
        step: i64,
    },
}

/// One eval statement.
#[derive(Debug, Clone)]
pub(crate) struct Eval {
    /// Line of the header (1-based).
    pub(crate) line: usize,
    /// The expression text.
    pub(crate) expr: String,
    /// Instant or range.
    pub(crate) kind: EvalKind,
    /// Expectations.
    pub(crate) expect: Expect,
    /// Expected series.
    pub(crate) series: Vec<SeriesLine>,
}

/// A script command.
#[derive(Debug, Clone)]
pub(crate) enum Command {
    /// Drop all data.
    Clear,
    /// Load series at `step` intervals.
    Load {
        /// Step in ms.
        step: i64,
        /// Whether `load_with_nhcb`.
        nhcb: bool,
        /// Series lines.
        series: Vec<SeriesLine>,
    },
    /// Evaluate and check.
    Eval(Box<Eval>),
}

/// Parses a Prometheus duration (`1h30m`, `0`, `20s500ms`).
pub(crate) fn parse_duration(s: &str) -> Result<i64> {
    if s == "0" {
        return Ok(0);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    if b.is_empty() {
        return Err(Error::Syntax(format!("empty duration {s:?}")));
    }
    while i < b.len() {
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if st == i {
            return Err(Error::Syntax(format!("bad duration {s:?}")));
        }
        let n: i64 = s[st..i]
            .parse()
            .map_err(|_| Error::Syntax(format!("bad duration {s:?}")))?;
        let us = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let mult = match &s[us..i] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            u => return Err(Error::Syntax(format!("bad duration unit {u:?} in {s:?}"))),
        };
        total += n * mult;
    }
    Ok(total)
}

/// Parses a float as Go's `strconv.ParseFloat` (incl. Inf/NaN spellings).
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let l = s.to_ascii_lowercase();
    match l.as_str() {
        "inf" | "+inf" => return Some(f64::INFINITY),
        "-inf" => return Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => return Some(f64::NAN),
        _ => {}
    }
    if l.starts_with("0x") || l.starts_with("-0x") || l.contains("inity") {
        return None;
    }
    s.parse::<f64>().ok()
}

fn unquote(s: &str) -> Result<String> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return Err(Error::Syntax(format!("bad string {s}")));
    }
    let q = b[0];
    let inner = &s[1..s.len() - 1];
    if q == b'`' {
        return Ok(inner.to_string());
    }
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => bytes.push(b'\n'),
            Some('t') => bytes.push(b'\t'),
            Some('r') => bytes.push(b'\r'),
            Some('\\') => bytes.push(b'\\'),
            Some('"') => bytes.push(b'"'),
            Some('\'') => bytes.push(b'\''),
            Some('a') => bytes.push(7),
            Some('b') => bytes.push(8),
            Some('f') => bytes.push(12),
            Some('v') => bytes.push(11),
            Some('x') => {
                let h: String = chars.by_ref().take(2).collect();
                let v = u8::from_str_radix(&h, 16)
                    .map_err(|_| Error::Syntax(format!("bad escape in {s}")))?;
                bytes.push(v);
            }
            Some('u') | Some('U') => {
                let n = if inner.contains("\\U") { 8 } else { 4 };
                let h: String = chars.by_ref().take(n).collect();
                let v = u32::from_str_radix(&h, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| Error::Syntax(format!("bad escape in {s}")))?;
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(v.encode_utf8(&mut buf).as_bytes());
            }
            Some(d @ '0'..='7') => {
                let mut h = String::from(d);
                h.extend(chars.by_ref().take(2));
                let v = u8::from_str_radix(&h, 8)
                    .map_err(|_| Error::Syntax(format!("bad escape in {s}")))?;
                bytes.push(v);
            }
            other => return Err(Error::Syntax(format!("bad escape {other:?} in {s}"))),
        }
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    Ok(out)
}

/// Reads a quoted string starting at `i`; returns it and the next index.
fn read_quoted(s: &str, i: usize) -> Result<(String, usize)> {
    let b = s.as_bytes();
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' && q != b'`' {
            j += 2;
            continue;
        }
        if b[j] == q {
            return Ok((unquote(&s[i..=j])?, j + 1));
        }
        j += 1;
    }
    Err(Error::Syntax(format!("unterminated string in {s}")))
}

/// Parses `name{a="b"}` / `{...}` at the start of `s`; returns labels and rest.
pub(crate) fn parse_series_desc(s: &str) -> Result<(Labels, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut pairs: Vec<(String, String)> = Vec::new();
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
        i += 1;
    }
    if i > 0 {
        pairs.push(("__name__".into(), s[..i].to_string()));
    }
    if i < b.len() && b[i] == b'{' {
        i += 1;
        loop {
            while i < b.len() && (b[i] == b' ' || b[i] == b',' || b[i] == b'\t') {
                i += 1;
            }
            if i >= b.len() {
                return Err(Error::Syntax(format!("unterminated labels in {s}")));
            }
            if b[i] == b'}' {
                i += 1;
                break;
            }
            let name = if b[i] == b'"' || b[i] == b'\'' || b[i] == b'`' {
                let (n, j) = read_quoted(s, i)?;
                i = j;
                n
            } else {
                let st = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                {
                    i += 1;
                }
                if st == i {
                    return Err(Error::Syntax(format!("bad label name at byte {i} in {s}")));
                }
                s[st..i].to_string()
            };
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            if i < b.len() && b[i] == b'=' {
                i += 1;
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
                let (v, j) = read_quoted(s, i)?;
                i = j;
                pairs.push((name, v));
            } else {
                pairs.push(("__name__".into(), name));
            }
        }
    }
    Ok((Labels::from_pairs(&pairs), &s[i..]))
}

fn expand_item(tok: &str, out: &mut Vec<SeqValue>) -> Result<()> {
    let bad = || Error::Syntax(format!("bad value item {tok:?}"));
    if tok == "_" {
        out.push(SeqValue::Omitted);
        return Ok(());
    }
    if let Some(n) = tok.strip_prefix("_x") {
        let n: usize = n.parse().map_err(|_| bad())?;
        out.extend(std::iter::repeat_n(SeqValue::Omitted, n));
        return Ok(());
    }
    if tok == "stale" {
        out.push(SeqValue::Float(STALE_NAN));
        return Ok(());
    }
    if tok.starts_with("{{") {
        let n = match tok.rfind("}}x") {
            Some(p) => tok[p + 3..].parse::<usize>().map_err(|_| bad())? + 1,
            None => 1,
        };
        out.extend(std::iter::repeat_n(SeqValue::Histogram, n));
        return Ok(());
    }
    if let Some(v) = parse_float(tok) {
        out.push(SeqValue::Float(v));
        return Ok(());
    }
    // a x N, a+bxN, a-bxN
    let xpos = tok.rfind('x').ok_or_else(bad)?;
    let n: usize = tok[xpos + 1..].parse().map_err(|_| bad())?;
    let head = &tok[..xpos];
    if let Some(v) = parse_float(head) {
        out.extend(std::iter::repeat_n(SeqValue::Float(v), n + 1));
        return Ok(());
    }
    // Find the operator separating a and b (not a leading sign or exponent sign).
    let hb = head.as_bytes();
    let mut split = None;
    for k in 1..hb.len() {
        if (hb[k] == b'+' || hb[k] == b'-') && hb[k - 1] != b'e' && hb[k - 1] != b'E' {
            split = Some(k);
            break;
        }
    }
    let k = split.ok_or_else(bad)?;
    let a = parse_float(&head[..k]).ok_or_else(bad)?;
    let mut d = parse_float(&head[k + 1..]).ok_or_else(bad)?;
    if hb[k] == b'-' {
        d = -d;
    }
    let mut v = a;
    for _ in 0..=n {
        out.push(SeqValue::Float(v));
        v += d;
    }
    Ok(())
}

/// Parses a series line (`labels values...`).
pub fn parse_series_line(line: &str) -> Result<SeriesLine> {
    let (labels, rest) = parse_series_desc(line)?;
    let mut values = Vec::new();
    // Histogram literals contain spaces; join tokens between {{ and }}.
    let mut toks = rest.split_whitespace().peekable();
    while let Some(t) = toks.next() {
        let depth = |s: &str| s.matches("{{").count() as i64 - s.matches("}}").count() as i64;
        if t.starts_with("{{") && depth(t) > 0 {
            let mut acc = t.to_string();
            for n in toks.by_ref() {
                acc.push(' ');
                acc.push_str(n);
                if depth(&acc) <= 0 {
                    break;
                }
            }
            expand_item(&acc, &mut values)?;
        } else {
            expand_item(t, &mut values)?;
        }
    }
    Ok(SeriesLine {
        labels,
        values,
        st_offsets: Vec::new(),
    })
}

/// A signed duration (`-30s`, `+1m`, `-59999ms`, `0`) in milliseconds.
fn parse_signed_duration(s: &str) -> Result<i64> {
    match s.as_bytes().first() {
        Some(b'-') => Ok(-parse_duration(&s[1..])?),
        Some(b'+') => parse_duration(&s[1..]),
        _ => parse_duration(s),
    }
}

/// Expands one item of an `@st` line into start-timestamp offsets.
fn expand_st_item(tok: &str, out: &mut Vec<Option<i64>>) -> Result<()> {
    let bad = || Error::Syntax(format!("bad start-timestamp item {tok:?}"));
    if tok == "_" {
        out.push(None);
        return Ok(());
    }
    if let Some(n) = tok.strip_prefix("_x") {
        let n: usize = n.parse().map_err(|_| bad())?;
        out.extend(std::iter::repeat_n(None, n));
        return Ok(());
    }
    if let Ok(d) = parse_signed_duration(tok) {
        out.push(Some(d));
        return Ok(());
    }
    let xpos = tok.rfind('x').ok_or_else(bad)?;
    let n: usize = tok[xpos + 1..].parse().map_err(|_| bad())?;
    let head = &tok[..xpos];
    if let Ok(d) = parse_signed_duration(head) {
        out.extend(std::iter::repeat_n(Some(d), n + 1));
        return Ok(());
    }
    // `a+bxN` / `a-bxN`: the operator is the first sign after position 0.
    let k = head
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '+' || c == '-')
        .map(|(k, _)| k)
        .ok_or_else(bad)?;
    let a = parse_signed_duration(&head[..k]).map_err(|_| bad())?;
    let mut d = parse_duration(&head[k + 1..]).map_err(|_| bad())?;
    if head.as_bytes()[k] == b'-' {
        d = -d;
    }
    let mut v = a;
    for _ in 0..=n {
        out.push(Some(v));
        v += d;
    }
    Ok(())
}

/// Parses a start-timestamp line (`labels@st offsets...`).
pub(crate) fn parse_st_line(line: &str) -> Result<(Labels, Vec<Option<i64>>)> {
    let (labels, rest) = parse_series_desc(line)?;
    let rest = rest
        .strip_prefix("@st")
        .ok_or_else(|| Error::Syntax(format!("expected @st after the series in {line:?}")))?;
    let mut out = Vec::new();
    for t in rest.split_whitespace() {
        expand_st_item(t, &mut out)?;
    }
    Ok((labels, out))
}

fn parse_matcher(rest: &str) -> Option<Matcher> {
    let r = rest.trim();
    if let Some(m) = r.strip_prefix("msg:") {
        return Some(Matcher::Msg(m.trim().to_string()));
    }
    if let Some(m) = r.strip_prefix("regex:") {
        return Some(Matcher::Regex(m.trim().to_string()));
    }
    None
}

/// Parses a whole script.
pub(crate) fn parse_script(text: &str) -> Result<Vec<Command>> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let first = l
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let hdr_line = i + 1;
        let mut body = Vec::new();
        let mut j = i + 1;
        if first != "clear" {
            while j < lines.len() && !lines[j].is_empty() {
                body.push(lines[j].as_str());
                j += 1;
            }
        }
        let ctx = |e: Error| Error::Syntax(format!("line {hdr_line}: {e}"));
        if first == "clear" {
            cmds.push(Command::Clear);
        } else if first.starts_with("load") {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let step = parse_duration(parts.get(1).copied().unwrap_or("")).map_err(ctx)?;
            let mut series = Vec::new();
            let mut pending_st: Option<(Labels, Vec<Option<i64>>)> = None;
            for b in &body {
                if b.split_whitespace()
                    .next()
                    .is_some_and(|t| t.ends_with("@st"))
                {
                    pending_st = Some(parse_st_line(b).map_err(ctx)?);
                    continue;
                }
                let mut line = parse_series_line(b).map_err(ctx)?;
                if let Some((l, offs)) = pending_st.take() {
                    if l != line.labels || offs.len() != line.values.len() {
                        return Err(ctx(Error::Syntax(format!(
                            "@st line for {l} must be followed by the sample line of the same series with as many positions ({} vs {})",
                            offs.len(),
                            line.values.len()
                        ))));
                    }
                    line.st_offsets = offs;
                }
                // As in the Go runner, a label set given twice in one block
                // keeps only its later line.
                match series
                    .iter_mut()
                    .find(|s: &&mut SeriesLine| s.labels == line.labels)
                {
                    Some(earlier) => *earlier = line,
                    None => series.push(line),
                }
            }
            cmds.push(Command::Load {
                step,
                nhcb: first == "load_with_nhcb",
                series,
            });
        } else if first.starts_with("eval") {
            cmds.push(Command::Eval(Box::new(
                parse_eval(l, &body, hdr_line).map_err(ctx)?,
            )));
        } else {
            return Err(Error::Syntax(format!(
                "line {hdr_line}: unknown command {l:?}"
            )));
        }
        i = j;
    }
    Ok(cmds)
}

fn parse_eval(header: &str, body: &[&str], line: usize) -> Result<Eval> {
    let inst = regex::Regex::new(
        r"^(?i)eval(?:_(fail|warn|info|ordered))?\s+instant\s+at\s+(\S+)\s+(.+)$",
    )
    .map_err(|e| Error::Syntax(e.to_string()))?;
    let rng = regex::Regex::new(
        r"^(?i)eval(?:_(fail|warn|info|ordered))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$",
    )
    .map_err(|e| Error::Syntax(e.to_string()))?;
    let mut expect = Expect::default();
    let (legacy, kind, expr) = if let Some(c) = inst.captures(header) {
        (
            c.get(1).map(|m| m.as_str().to_string()),
            EvalKind::Instant {
                t: parse_duration(&c[2])?,
            },
            c[3].to_string(),
        )
    } else if let Some(c) = rng.captures(header) {
        (
            c.get(1).map(|m| m.as_str().to_string()),
            EvalKind::Range {
                start: parse_duration(&c[2])?,
                end: parse_duration(&c[3])?,
                step: parse_duration(&c[4])?,
            },
            c[5].to_string(),
        )
    } else {
        return Err(Error::Syntax(format!("bad eval header {header:?}")));
    };
    match legacy.as_deref() {
        Some("fail") => expect.fail = true,
        Some("warn") => expect.any_warn = true,
        Some("info") => expect.any_info = true,
        Some("ordered") => expect.ordered = true,
        _ => {}
    }
    let mut series = Vec::new();
    for b in body {
        let mut words = b.split_whitespace();
        let w0 = words.next().unwrap_or("");
        if w0 == "expected_fail_message" {
            expect.fail_msg = Some(b[w0.len()..].trim().to_string());
            continue;
        }
        if w0 == "expected_fail_regexp" {
            expect.fail_regex = Some(b[w0.len()..].trim().to_string());
            continue;
        }
        if w0 == "expect" {
            let rest = b[w0.len()..].trim_start();
            let kw = rest.split_whitespace().next().unwrap_or("");
            let after = rest[kw.len()..].trim_start();
            match kw {
                "fail" => {
                    expect.fail = true;
                    match parse_matcher(after) {
                        Some(Matcher::Msg(m)) => expect.fail_msg = Some(m),
                        Some(Matcher::Regex(r)) => expect.fail_regex = Some(r),
                        None => {}
                    }
                }
                "warn" => expect.warn.push(parse_matcher(after)),
                "info" => expect.info.push(parse_matcher(after)),
                "no_warn" => expect.no_warn = true,
                "no_info" => expect.no_info = true,
                "ordered" => expect.ordered = true,
                "string" => {
                    let (s, _) = read_quoted(after, 0)?;
                    expect.string = Some(s);
                }
                "range" => {
                    let p: Vec<&str> = after.split_whitespace().collect();
                    if p.len() != 7 || p[0] != "vector" {
                        return Err(Error::Syntax(format!("bad expect range {b:?}")));
                    }
                    expect.range_vector = Some((
                        parse_duration(p[2])?,
                        parse_duration(p[4])?,
                        parse_duration(p[6])?,
                    ));
                }
                _ => return Err(Error::Syntax(format!("unknown expect {b:?}"))),
            }
            continue;
        }
        if let Some(v) = parse_float(b.trim()) {
            expect.scalar = Some(v);
            continue;
        }
        series.push(parse_series_line(b)?);
    }
    Ok(Eval {
        line,
        expr,
        kind,
        expect,
        series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_timestamp_lines_expand_like_the_readme_says() {
        let (l, offs) = parse_st_line(
            r#"cumulative{type="st_resets"}@st _ _ -30s-1mx2 -1m-1mx2 +1m -59999msx1 0 _x2"#,
        )
        .unwrap();
        assert_eq!(l.get("type"), Some("st_resets"));
        assert_eq!(l.get("__name__"), Some("cumulative"));
        let m = 60_000;
        assert_eq!(
            offs,
            vec![
                None,
                None,
                Some(-30_000),
                Some(-30_000 - m),
                Some(-30_000 - 2 * m),
                Some(-m),
                Some(-2 * m),
                Some(-3 * m),
                Some(m),
                Some(-59_999),
                Some(-59_999),
                Some(0),
                None,
                None,
            ]
        );
        let (_, offs) = parse_st_line("series@st _ 0-1mx2 1ms -0msx1").unwrap();
        assert_eq!(
            offs,
            vec![
                None,
                Some(0),
                Some(-m),
                Some(-2 * m),
                Some(1),
                Some(0),
                Some(0)
            ]
        );
        assert!(parse_st_line("series@st 5q").is_err());
        assert!(parse_st_line("series 1 2").is_err());
    }

    #[test]
    fn st_line_must_match_the_following_sample_line() {
        let ok = "load 1m\n    a@st _ -1m\n    a 1 2\n";
        let cmds = parse_script(ok).unwrap();
        let Command::Load { series, .. } = &cmds[0] else {
            panic!("not a load");
        };
        assert_eq!(series[0].st_offsets, vec![None, Some(-60_000)]);
        let bad = "load 1m\n    a@st _ -1m\n    b 1 2\n";
        assert!(parse_script(bad).is_err());
        let short = "load 1m\n    a@st -1m\n    a 1 2\n";
        assert!(parse_script(short).is_err());
    }
}
