//! Parsing of Go `text/template` source into a tree.
//!
//! The grammar is the subset Prometheus' templates use: text, actions with
//! pipelines, variables (`$x := ...`, `$x = ...`), `if`/`else if`/`else`,
//! `range` (with `break`/`continue`), `with`/`else with`, `define` and
//! `template`, comments and the `{{-`/`-}}` trim markers.

use super::TemplateError;

/// A literal or reference inside a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// `.` followed by zero or more field names (`.Labels.job`).
    Field(Vec<String>),
    /// `$name` followed by field names (`$labels.job`); `$` alone is `"$"`.
    Var(String, Vec<String>),
    /// A function name.
    Ident(String),
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// A parenthesized pipeline, with fields accessed on its result.
    Pipe(Box<Pipe>, Vec<String>),
}

/// One command of a pipeline: a function and its arguments, or one operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cmd {
    pub(crate) args: Vec<Arg>,
    /// 1-based line and 0-based byte column of the command (Go's `ErrorContext`).
    pub(crate) pos: (usize, usize),
    /// The command's source text.
    pub(crate) src: String,
}

/// A pipeline, possibly declaring or assigning variables.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipe {
    pub(crate) decl: Vec<String>,
    pub(crate) assign: bool,
    pub(crate) cmds: Vec<Cmd>,
    /// 1-based line and column of the action, for error messages.
    pub(crate) pos: (usize, usize),
    /// The source text of the pipeline, for error messages.
    pub(crate) src: String,
}

/// A node of the template tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Pipe, Vec<Node>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
    Template(String, Option<Pipe>),
    Break,
    Continue,
}

/// A parsed template: its main body and the `define`d sub-templates.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    pub(crate) root: Vec<Node>,
    pub(crate) defines: Vec<(String, Vec<Node>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String),
    Var(String),
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Char(i64),
    LParen,
    RParen,
    Bar,
    Declare,
    Assign,
    Comma,
}

/// One `{{ ... }}` action, tokenized.
#[derive(Debug, Clone)]
struct Action {
    toks: Vec<(Tok, bool)>,     // token, preceded by whitespace
    spans: Vec<(usize, usize)>, // byte range of each token in the template
    pos: (usize, usize),
    src: String,
}

impl Action {
    fn skip(&self, n: usize) -> Action {
        Action {
            toks: self.toks[n.min(self.toks.len())..].to_vec(),
            spans: self.spans[n.min(self.spans.len())..].to_vec(),
            pos: self.pos,
            src: self.src.clone(),
        }
    }
}

enum Item {
    Text(String),
    Action(Action),
}

struct Lexer<'a> {
    name: &'a str,
    src: &'a str,
}

impl Lexer<'_> {
    fn err(&self, line: usize, msg: impl Into<String>) -> TemplateError {
        TemplateError::Parse(format!("template: {}:{}: {}", self.name, line, msg.into()))
    }

    fn line_col(&self, off: usize) -> (usize, usize) {
        let before = &self.src[..off];
        let line = before.matches('\n').count() + 1;
        let col = off - before.rfind('\n').map(|p| p + 1).unwrap_or(0);
        (line, col)
    }

    fn items(&self) -> Result<Vec<Item>, TemplateError> {
        let s = self.src;
        let mut items = Vec::new();
        let mut i = 0;
        let mut trim_next = false;
        while i < s.len() {
            let Some(rel) = s[i..].find("{{") else {
                let mut t = &s[i..];
                if trim_next {
                    t = t.trim_start();
                }
                items.push(Item::Text(t.to_string()));
                break;
            };
            let open = i + rel;
            let mut text = &s[i..open];
            if trim_next {
                text = text.trim_start();
            }
            let mut start = open + 2;
            let b = s.as_bytes();
            let trim_left = b.get(start) == Some(&b'-')
                && b.get(start + 1).is_some_and(|c| c.is_ascii_whitespace());
            if trim_left {
                text = text.trim_end();
                start += 2;
            }
            if !text.is_empty() {
                items.push(Item::Text(text.to_string()));
            }
            let (line, _) = self.line_col(open);
            // Find the closing delimiter outside string literals.
            let mut j = start;
            let mut close = None;
            while j < s.len() {
                match b[j] {
                    b'"' | b'`' | b'\'' => {
                        let q = b[j];
                        j += 1;
                        while j < s.len() && b[j] != q {
                            if b[j] == b'\\' && q != b'`' {
                                j += 1;
                            }
                            j += 1;
                        }
                        j += 1;
                    }
                    b'}' if b.get(j + 1) == Some(&b'}') => {
                        close = Some(j);
                        break;
                    }
                    _ => j += 1,
                }
            }
            let close = close.ok_or_else(|| self.err(line, "unclosed action"))?;
            let mut end = close;
            trim_next = false;
            if end >= start + 2 && &s[end - 1..end] == "-" && b[end - 2].is_ascii_whitespace() {
                trim_next = true;
                end -= 2;
            }
            let inner = &s[start..end.max(start)];
            let trimmed = inner.trim();
            if trimmed.starts_with("/*") {
                if !trimmed.ends_with("*/") {
                    return Err(self.err(line, "unclosed comment"));
                }
            } else {
                let (toks, spans) = self.tokens(inner, start, line)?;
                items.push(Item::Action(Action {
                    toks,
                    spans,
                    pos: self.line_col(open),
                    src: trimmed.to_string(),
                }));
            }
            i = close + 2;
        }
        Ok(items)
    }

    #[allow(clippy::type_complexity)]
    fn tokens(
        &self,
        s: &str,
        base: usize,
        line: usize,
    ) -> Result<(Vec<(Tok, bool)>, Vec<(usize, usize)>), TemplateError> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut spans = Vec::new();
        let mut i = 0;
        let mut space = true;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_whitespace() {
                space = true;
                i += 1;
                continue;
            }
            let word_end = |mut k: usize| {
                while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'_' || b[k] >= 0x80)
                {
                    k += 1;
                }
                k
            };
            let tstart = i;
            let tok = match c {
                b'(' => {
                    i += 1;
                    Tok::LParen
                }
                b')' => {
                    i += 1;
                    Tok::RParen
                }
                b'|' => {
                    i += 1;
                    Tok::Bar
                }
                b',' => {
                    i += 1;
                    Tok::Comma
                }
                b':' if b.get(i + 1) == Some(&b'=') => {
                    i += 2;
                    Tok::Declare
                }
                b'=' => {
                    i += 1;
                    Tok::Assign
                }
                b'.' if !b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                    let e = word_end(i + 1);
                    let name = s[i + 1..e].to_string();
                    i = e;
                    Tok::Field(name)
                }
                b'$' => {
                    let e = word_end(i + 1);
                    let name = s[i..e].to_string();
                    i = e;
                    Tok::Var(name)
                }
                b'"' | b'`' => {
                    let (v, e) = lex_string(s, i)
                        .ok_or_else(|| self.err(line, "unterminated quoted string"))?;
                    i = e;
                    Tok::Str(v)
                }
                b'\'' => {
                    let (v, e) = lex_string(s, i)
                        .ok_or_else(|| self.err(line, "unterminated character constant"))?;
                    i = e;
                    Tok::Char(v.chars().next().map(|c| c as i64).unwrap_or(0))
                }
                b'0'..=b'9' | b'-' | b'+' | b'.' => {
                    let mut e = i + 1;
                    while e < b.len()
                        && (b[e].is_ascii_alphanumeric()
                            || b[e] == b'.'
                            || b[e] == b'_'
                            || ((b[e] == b'+' || b[e] == b'-')
                                && matches!(b[e - 1], b'e' | b'E' | b'p' | b'P')))
                    {
                        e += 1;
                    }
                    let lit = &s[i..e];
                    i = e;
                    parse_number(lit)
                        .ok_or_else(|| self.err(line, format!("bad number syntax: {lit:?}")))?
                }
                _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                    let e = word_end(i);
                    let w = s[i..e].to_string();
                    i = e;
                    Tok::Ident(w)
                }
                _ => {
                    return Err(self.err(
                        line,
                        format!(
                            "unexpected {:?} in command",
                            s[i..].chars().next().unwrap_or(' ')
                        ),
                    ))
                }
            };
            out.push((tok, space));
            spans.push((base + tstart, base + i));
            space = false;
        }
        Ok((out, spans))
    }
}

fn lex_string(s: &str, i: usize) -> Option<(String, usize)> {
    let q = s[i..].chars().next()?;
    let mut out = String::new();
    let mut it = s[i + 1..].char_indices();
    while let Some((k, c)) = it.next() {
        if c == q {
            return Some((out, i + 1 + k + 1));
        }
        if c == '\\' && q != '`' {
            let (_, e) = it.next()?;
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                'x' => {
                    let h: String = [it.next()?.1, it.next()?.1].iter().collect();
                    out.push(char::from(u8::from_str_radix(&h, 16).ok()?));
                }
                'u' => {
                    let h: String = (0..4).filter_map(|_| it.next().map(|x| x.1)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        } else {
            out.push(c);
        }
    }
    None
}

fn parse_number(lit: &str) -> Option<Tok> {
    let clean = lit.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let int = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = body.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(bn) = body.strip_prefix("0b") {
        i64::from_str_radix(bn, 2).ok()
    } else {
        body.parse::<i64>().ok()
    };
    if let Some(v) = int {
        return Some(Tok::Int(if neg { -v } else { v }));
    }
    let f: f64 = body.parse().ok()?;
    Some(Tok::Float(if neg { -f } else { f }))
}

/// Parses template `src`; `name` appears in error messages.
pub(crate) fn parse(name: &str, src: &str) -> Result<Tree, TemplateError> {
    let lx = Lexer { name, src };
    let items = lx.items()?;
    let mut p = Parser {
        name,
        src,
        items,
        i: 0,
        tree: Tree::default(),
        range_depth: 0,
    };
    let (root, end) = p.list()?;
    if let Some(e) = end {
        return Err(p.err(e.1, format!("unexpected {{{{{}}}}}", e.0)));
    }
    p.tree.root = root;
    Ok(p.tree)
}

struct Parser<'a> {
    name: &'a str,
    src: &'a str,
    items: Vec<Item>,
    i: usize,
    tree: Tree,
    range_depth: usize,
}

/// How a list ended: `end`, `else` (with the rest of the action).
type ListEnd = Option<(String, usize, Action)>;

impl Parser<'_> {
    fn err(&self, line: usize, msg: impl Into<String>) -> TemplateError {
        TemplateError::Parse(format!("template: {}:{}: {}", self.name, line, msg.into()))
    }

    /// Parses nodes until `end`/`else` or the input's end.
    fn list(&mut self) -> Result<(Vec<Node>, ListEnd), TemplateError> {
        let mut nodes = Vec::new();
        while self.i < self.items.len() {
            let item = std::mem::replace(&mut self.items[self.i], Item::Text(String::new()));
            self.i += 1;
            let a = match item {
                Item::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Item::Action(a) => a,
            };
            let line = a.pos.0;
            let kw = match a.toks.first() {
                Some((Tok::Ident(w), _)) => w.clone(),
                _ => String::new(),
            };
            let rest = |a: &Action| a.skip(1);
            match kw.as_str() {
                "end" | "else" => return Ok((nodes, Some((kw, line, rest(&a))))),
                "if" | "with" | "range" => {
                    let node = self.control(&kw, rest(&a))?;
                    nodes.push(node);
                }
                "break" | "continue" => {
                    if self.range_depth == 0 {
                        return Err(self.err(line, format!("{{{{{kw}}}}} outside {{{{range}}}}")));
                    }
                    nodes.push(if kw == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                }
                "define" | "block" => {
                    let Some((Tok::Str(n), _)) = a.toks.get(1) else {
                        return Err(self.err(line, format!("unexpected token in {kw} clause")));
                    };
                    let n = n.clone();
                    let (body, end) = self.list()?;
                    if !matches!(&end, Some((k, _, _)) if k == "end") {
                        return Err(self.err(line, format!("unexpected EOF in {kw} clause")));
                    }
                    self.tree.defines.push((n.clone(), body));
                    if kw == "block" {
                        let pipe = self.pipe(&a.skip(2), false)?;
                        nodes.push(Node::Template(n, Some(pipe)));
                    }
                }
                "template" => {
                    let Some((Tok::Str(n), _)) = a.toks.get(1) else {
                        return Err(self.err(line, "unexpected token in template clause"));
                    };
                    let pipe = if a.toks.len() > 2 {
                        Some(self.pipe(&a.skip(2), false)?)
                    } else {
                        None
                    };
                    nodes.push(Node::Template(n.clone(), pipe));
                }
                _ => nodes.push(Node::Action(self.pipe(&a, true)?)),
            }
        }
        Ok((nodes, None))
    }

    fn control(&mut self, kw: &str, a: Action) -> Result<Node, TemplateError> {
        let line = a.pos.0;
        let pipe = self.pipe(&a, kw == "range")?;
        if kw == "range" {
            self.range_depth += 1;
        }
        let (body, end) = self.list()?;
        if kw == "range" {
            self.range_depth -= 1;
        }
        let mut els = Vec::new();
        match end {
            Some((k, _, _)) if k == "end" => {}
            Some((_, eline, rest)) => {
                // `else`, `else if ...` or `else with ...`.
                match rest.toks.first() {
                    Some((Tok::Ident(w), _))
                        if (w == "if" && kw == "if") || (w == "with" && kw == "with") =>
                    {
                        let inner = rest.skip(1);
                        // The nested control consumes the shared `end`.
                        els.push(self.control(kw, inner)?);
                    }
                    None => {
                        let (e, end2) = self.list()?;
                        if !matches!(&end2, Some((k, _, _)) if k == "end") {
                            return Err(self.err(
                                eline,
                                format!(
                                    "expected end; found {}",
                                    end2.map(|x| x.0).unwrap_or_else(|| "EOF".into())
                                ),
                            ));
                        }
                        els = e;
                    }
                    Some(_) => return Err(self.err(eline, "unexpected token in else")),
                }
            }
            None => return Err(self.err(line, format!("unexpected EOF in {kw}"))),
        }
        Ok(match kw {
            "if" => Node::If(pipe, body, els),
            "with" => Node::With(pipe, body, els),
            _ => Node::Range(pipe, body, els),
        })
    }

    fn pipe(&self, a: &Action, allow_decl: bool) -> Result<Pipe, TemplateError> {
        let line = a.pos.0;
        let toks = &a.toks;
        let mut i = 0;
        let mut decl = Vec::new();
        let mut assign = false;
        // Declarations: `$x :=`, `$i, $e :=`, `$x =`.
        let mut k = 0;
        let mut vars = Vec::new();
        while let Some((Tok::Var(v), _)) = toks.get(k) {
            vars.push(v.clone());
            match toks.get(k + 1) {
                Some((Tok::Comma, _)) if allow_decl && vars.len() < 2 => k += 2,
                Some((Tok::Declare, _)) => {
                    decl = vars.clone();
                    i = k + 2;
                    break;
                }
                Some((Tok::Assign, _)) => {
                    decl = vars.clone();
                    assign = true;
                    i = k + 2;
                    break;
                }
                _ => break,
            }
        }
        let (cmds, end) = self.cmds(a, i, line, false)?;
        if end != toks.len() {
            return Err(self.err(line, format!("unexpected {:?} in operand", toks[end].0)));
        }
        if cmds.is_empty() {
            return Err(self.err(line, "missing value for command"));
        }
        Ok(Pipe {
            decl,
            assign,
            cmds,
            pos: a.pos,
            src: a.src.clone(),
        })
    }

    /// Parses commands separated by `|`; stops at `)` when `paren`.
    fn make_cmd(&self, a: &Action, from: usize, to: usize, args: Vec<Arg>) -> Cmd {
        let start = a.spans.get(from).map(|s| s.0).unwrap_or(0);
        let end = a
            .spans
            .get(to.saturating_sub(1))
            .map(|s| s.1)
            .unwrap_or(start);
        let before = &self.src[..start.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let col = start - before.rfind('\n').map(|p| p + 1).unwrap_or(0);
        Cmd {
            args,
            pos: (line, col),
            src: self
                .src
                .get(start..end.max(start))
                .unwrap_or("")
                .to_string(),
        }
    }

    /// Parses commands separated by `|`; stops at `)` when `paren`.
    fn cmds(
        &self,
        a: &Action,
        mut i: usize,
        line: usize,
        paren: bool,
    ) -> Result<(Vec<Cmd>, usize), TemplateError> {
        let toks = &a.toks;
        let mut cmds = Vec::new();
        let mut args = Vec::new();
        let mut from = i;
        while i < toks.len() {
            let (t, _) = &toks[i];
            match t {
                Tok::RParen if paren => break,
                Tok::Bar => {
                    if args.is_empty() {
                        return Err(self.err(line, "missing value for command"));
                    }
                    cmds.push(self.make_cmd(a, from, i, std::mem::take(&mut args)));
                    i += 1;
                    from = i;
                    continue;
                }
                _ => {}
            }
            let (arg, ni) = self.operand(a, i, line)?;
            args.push(arg);
            i = ni;
        }
        if !args.is_empty() {
            cmds.push(self.make_cmd(a, from, i, args));
        }
        Ok((cmds, i))
    }

    fn fields(toks: &[(Tok, bool)], mut i: usize) -> (Vec<String>, usize) {
        let mut f = Vec::new();
        while let Some((Tok::Field(n), false)) = toks.get(i) {
            f.push(n.clone());
            i += 1;
        }
        (f, i)
    }

    fn operand(&self, a: &Action, i: usize, line: usize) -> Result<(Arg, usize), TemplateError> {
        let toks = &a.toks;
        let (t, _) = &toks[i];
        Ok(match t {
            Tok::Field(n) => {
                let (mut f, j) = Self::fields(toks, i + 1);
                if n.is_empty() {
                    if !f.is_empty() {
                        return Err(self.err(line, "unexpected . after term"));
                    }
                } else {
                    f.insert(0, n.clone());
                }
                (Arg::Field(f), j)
            }
            Tok::Var(v) => {
                let (f, j) = Self::fields(toks, i + 1);
                (Arg::Var(v.clone(), f), j)
            }
            Tok::Ident(w) => (
                match w.as_str() {
                    "true" => Arg::Bool(true),
                    "false" => Arg::Bool(false),
                    "nil" => Arg::Nil,
                    _ => Arg::Ident(w.clone()),
                },
                i + 1,
            ),
            Tok::Str(s) => (Arg::Str(s.clone()), i + 1),
            Tok::Int(v) | Tok::Char(v) => (Arg::Int(*v), i + 1),
            Tok::Float(v) => (Arg::Float(*v), i + 1),
            Tok::LParen => {
                let (cmds, j) = self.cmds(a, i + 1, line, true)?;
                if !matches!(toks.get(j), Some((Tok::RParen, _))) {
                    return Err(self.err(line, "unclosed left paren"));
                }
                if cmds.is_empty() {
                    return Err(self.err(line, "missing value for parenthesized pipeline"));
                }
                let (f, k) = Self::fields(toks, j + 1);
                let pipe = Pipe {
                    decl: vec![],
                    assign: false,
                    cmds,
                    pos: (line, 0),
                    src: String::new(),
                };
                (Arg::Pipe(Box::new(pipe), f), k)
            }
            other => return Err(self.err(line, format!("unexpected {other:?} in operand"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_and_actions() {
        let t = parse("t", "a {{ .x }} b").unwrap();
        assert_eq!(t.root.len(), 3);
    }

    #[test]
    fn trim_markers_remove_whitespace() {
        let t = parse("t", "a  {{- 1 -}}  b").unwrap();
        assert_eq!(t.root[0], Node::Text("a".into()));
        assert_eq!(t.root[2], Node::Text("b".into()));
    }

    #[test]
    fn unclosed_if_is_an_error() {
        let e = parse("t", "{{ if 1 }}x").unwrap_err();
        assert!(e.to_string().contains("unexpected EOF"), "{e}");
    }

    #[test]
    fn unclosed_action_is_an_error() {
        assert!(parse("t", "{{ .x ").is_err());
    }
}
