//! Execution of a parsed template tree with Go `text/template` semantics
//! (`missingkey=zero`, as Prometheus sets it).

use std::collections::BTreeMap;

use super::format::{go_float, go_quote};
use super::funcs::{call_func, is_func};
use super::parse::{Arg, Cmd, Node, Pipe, Tree};

/// A value flowing through a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Go's `nil` (printed as `<no value>`).
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float64.
    Float(f64),
    /// A string.
    Str(String),
    /// A `map[string]string` (label sets); missing keys read as `""`.
    Map(BTreeMap<String, String>),
    /// A list (query results, `args`).
    List(Vec<Value>),
    /// A struct with named fields (the template data, query samples).
    Struct(&'static str, Vec<(String, Value)>),
    /// A point in time (from `toTime`), in nanoseconds since the epoch.
    Time(i128),
}

impl Value {
    /// Go's notion of truth: zero values and empty collections are false.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Struct(..) | Value::Time(_) => true,
        }
    }

    /// Go's type name, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Map(_) => "map[string]string",
            Value::List(_) => "[]interface {}",
            Value::Struct(n, _) => n,
            Value::Time(_) => "*time.Time",
        }
    }

    /// Formats like Go's `fmt.Sprint`.
    pub(crate) fn go_string(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => go_float(*f),
            Value::Str(s) => s.clone(),
            Value::Map(m) => {
                let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", items.join(" "))
            }
            Value::List(l) => {
                let items: Vec<String> = l.iter().map(|v| v.go_string()).collect();
                format!("[{}]", items.join(" "))
            }
            Value::Struct(_, f) => {
                let items: Vec<String> = f.iter().map(|(_, v)| v.go_string()).collect();
                format!("{{{}}}", items.join(" "))
            }
            Value::Time(ns) => super::format::go_time(*ns),
        }
    }
}

/// Runs PromQL for the `query` function: `(expr) -> samples`, each sample a
/// `(labels, value)` pair.
pub type QueryFn<'a> = dyn Fn(&str) -> Result<QueryResultSamples, String> + 'a;

/// The samples a template query returns: label maps and values.
pub type QueryResultSamples = Vec<(BTreeMap<String, String>, f64)>;

/// What the built-in functions may consult.
pub(crate) struct Env<'a> {
    pub(crate) query: Option<&'a QueryFn<'a>>,
    pub(crate) external_url: &'a str,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(crate) struct Exec<'a> {
    name: &'a str,
    tree: &'a Tree,
    pub(crate) env: Env<'a>,
    vars: Vec<(String, Value)>,
    out: String,
    depth: usize,
}

type R<T> = Result<T, String>;

impl<'a> Exec<'a> {
    pub(crate) fn new(name: &'a str, tree: &'a Tree, env: Env<'a>) -> Self {
        Exec {
            name,
            tree,
            env,
            vars: Vec::new(),
            out: String::new(),
            depth: 0,
        }
    }

    pub(crate) fn run(mut self, data: Value) -> R<String> {
        self.vars.push(("$".into(), data.clone()));
        let root = &self.tree.root;
        self.walk(root, &data)?;
        Ok(self.out)
    }

    fn err_at(&self, p: &Pipe, msg: String) -> String {
        match p.cmds.first() {
            Some(c) => self.err_cmd(c, msg),
            None => format!("template: {}:{}: {msg}", self.name, p.pos.0),
        }
    }

    fn err_cmd(&self, c: &Cmd, msg: String) -> String {
        format!(
            "template: {}:{}:{}: executing {:?} at <{}>: {}",
            self.name, c.pos.0, c.pos.1, self.name, c.src, msg
        )
    }

    fn walk(&mut self, nodes: &'a [Node], dot: &Value) -> R<Flow> {
        for n in nodes {
            match self.node(n, dot)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn scoped(&mut self, nodes: &'a [Node], dot: &Value) -> R<Flow> {
        let mark = self.vars.len();
        let r = self.walk(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    fn node(&mut self, n: &'a Node, dot: &Value) -> R<Flow> {
        match n {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(p) => {
                let v = self.pipe(p, dot)?;
                if p.decl.is_empty() {
                    self.out.push_str(&print_value(&v));
                }
            }
            Node::If(p, body, els) | Node::With(p, body, els) => {
                let mark = self.vars.len();
                let v = self.pipe(p, dot)?;
                let r = if v.truthy() {
                    let d = if matches!(n, Node::With(..)) {
                        v
                    } else {
                        dot.clone()
                    };
                    self.scoped(body, &d)
                } else {
                    self.scoped(els, dot)
                };
                self.vars.truncate(mark);
                return r;
            }
            Node::Range(p, body, els) => return self.range(p, body, els, dot),
            Node::Template(name, p) => {
                let Some((_, body)) = self.tree.defines.iter().rev().find(|(n, _)| n == name)
                else {
                    return Err(format!(
                        "template: {}: no such template {name:?}",
                        self.name
                    ));
                };
                let d = match p {
                    Some(p) => self.pipe(p, dot)?,
                    None => Value::Nil,
                };
                self.depth += 1;
                if self.depth > 100 {
                    return Err("exceeded maximum template depth (100000)".into());
                }
                let saved = std::mem::take(&mut self.vars);
                self.vars.push(("$".into(), d.clone()));
                let r = self.walk(body, &d);
                self.vars = saved;
                self.depth -= 1;
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn range(&mut self, p: &'a Pipe, body: &'a [Node], els: &'a [Node], dot: &Value) -> R<Flow> {
        let mark = self.vars.len();
        let mut pd = p.clone();
        let decl = std::mem::take(&mut pd.decl);
        let v = self.pipe(&pd, dot)?;
        let items: Vec<(Value, Value)> = match v {
            Value::List(l) => l
                .into_iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), x))
                .collect(),
            Value::Map(m) => m
                .into_iter()
                .map(|(k, x)| (Value::Str(k), Value::Str(x)))
                .collect(),
            Value::Int(n) => (0..n.max(0))
                .map(|i| (Value::Int(i), Value::Int(i)))
                .collect(),
            Value::Struct(_, f) => f.into_iter().map(|(k, x)| (Value::Str(k), x)).collect(),
            Value::Nil => Vec::new(),
            other => {
                return Err(
                    self.err_at(p, format!("range can't iterate over {}", other.go_string()))
                )
            }
        };
        if items.is_empty() {
            return self.scoped(els, dot);
        }
        for (k, x) in items {
            let inner = self.vars.len();
            match decl.as_slice() {
                [e] => self.vars.push((e.clone(), x.clone())),
                [i, e] => {
                    self.vars.push((i.clone(), k));
                    self.vars.push((e.clone(), x.clone()));
                }
                _ => {}
            }
            let f = self.walk(body, &x);
            self.vars.truncate(inner);
            if let Flow::Break = f? {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn lookup_var(&self, p: &Cmd, name: &str) -> R<Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.err_cmd(p, format!("undefined variable: {name}")))
    }

    pub(crate) fn pipe(&mut self, p: &Pipe, dot: &Value) -> R<Value> {
        let mut last: Option<Value> = None;
        for c in &p.cmds {
            last = Some(self.cmd(c, &c.args, dot, last)?);
        }
        let v = last.unwrap_or(Value::Nil);
        if p.assign {
            for name in &p.decl {
                if !self.vars.iter().any(|(n, _)| n == name) {
                    return Err(self.err_at(p, format!("undefined variable: {name}")));
                }
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            }
        } else {
            for name in &p.decl {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn cmd(&mut self, p: &Cmd, args: &[Arg], dot: &Value, prev: Option<Value>) -> R<Value> {
        match &args[0] {
            Arg::Ident(f) => {
                if !is_func(f) {
                    return Err(format!(
                        "template: {}:{}: function {f:?} not defined",
                        self.name, p.pos.0
                    ));
                }
                if f == "and" || f == "or" {
                    return self.and_or(p, f == "and", &args[1..], dot, prev);
                }
                let mut vals = Vec::with_capacity(args.len());
                for a in &args[1..] {
                    vals.push(self.arg(p, a, dot)?);
                }
                if let Some(v) = prev {
                    vals.push(v);
                }
                call_func(&self.env, f, vals)
                    .map_err(|e| self.err_cmd(p, format!("error calling {f}: {e}")))
            }
            a => {
                if args.len() > 1 || prev.is_some() {
                    if let Arg::Field(_) | Arg::Var(..) | Arg::Pipe(..) = a {
                        return Err(self.err_cmd(p, "can't give argument to non-function".into()));
                    }
                    return Err(self.err_cmd(p, "can't give argument to non-function".into()));
                }
                self.arg(p, a, dot)
            }
        }
    }

    fn and_or(
        &mut self,
        p: &Cmd,
        and: bool,
        args: &[Arg],
        dot: &Value,
        prev: Option<Value>,
    ) -> R<Value> {
        let name = if and { "and" } else { "or" };
        if args.is_empty() && prev.is_none() {
            return Err(self.err_cmd(
                p,
                format!("wrong number of args for {name}: want at least 1 got 0"),
            ));
        }
        let mut last = Value::Nil;
        for a in args {
            last = self.arg(p, a, dot)?;
            if last.truthy() != and {
                return Ok(last);
            }
        }
        if let Some(v) = prev {
            last = v;
        }
        Ok(last)
    }

    fn arg(&mut self, p: &Cmd, a: &Arg, dot: &Value) -> R<Value> {
        match a {
            Arg::Field(f) => self.fields(p, dot.clone(), f),
            Arg::Var(n, f) => {
                let v = self.lookup_var(p, n)?;
                self.fields(p, v, f)
            }
            Arg::Ident(f) => {
                if !is_func(f) {
                    return Err(format!(
                        "template: {}:{}: function {f:?} not defined",
                        self.name, p.pos.0
                    ));
                }
                call_func(&self.env, f, vec![])
                    .map_err(|e| self.err_cmd(p, format!("error calling {f}: {e}")))
            }
            Arg::Str(s) => Ok(Value::Str(s.clone())),
            Arg::Int(i) => Ok(Value::Int(*i)),
            Arg::Float(x) => Ok(Value::Float(*x)),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Nil => Err(self.err_cmd(p, "nil is not a command".into())),
            Arg::Pipe(inner, f) => {
                let v = self.pipe(inner, dot)?;
                self.fields(p, v, f)
            }
        }
    }

    fn fields(&self, p: &Cmd, mut v: Value, names: &[String]) -> R<Value> {
        for n in names {
            v = match v {
                Value::Map(m) => Value::Str(m.get(n).cloned().unwrap_or_default()),
                Value::Struct(tn, fields) => match fields.into_iter().find(|(k, _)| k == n) {
                    Some((_, x)) => x,
                    None => {
                        return Err(
                            self.err_cmd(p, format!("can't evaluate field {n} in type {tn}"))
                        )
                    }
                },
                Value::Nil => {
                    return Err(
                        self.err_cmd(p, format!("nil pointer evaluating interface {{}}.{n}"))
                    )
                }
                other => {
                    return Err(self.err_cmd(
                        p,
                        format!("can't evaluate field {n} in type {}", other.type_name()),
                    ))
                }
            };
        }
        Ok(v)
    }
}

/// Prints an action's value: `<no value>` for nil, as Go does.
fn print_value(v: &Value) -> String {
    match v {
        Value::Nil => "<no value>".into(),
        other => other.go_string(),
    }
}

/// Quotes for `printf "%q"`.
pub(crate) fn quote(v: &Value) -> String {
    go_quote(&v.go_string())
}
