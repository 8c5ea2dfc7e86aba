//! A Go `text/template` interpreter with Prometheus' template functions,
//! used for alert labels and annotations.
//!
//! As Prometheus' `rules/alerting.go`, alert templates are prefixed with
//! `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}`
//! `{{$externalURL := .ExternalURL}}{{$value := .Value}}`, and an error is
//! shown in place of the text as `<error expanding template: ...>`.

mod exec;
mod format;
mod funcs;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use exec::{QueryFn, QueryResultSamples, Value};
use parse::{Arg, Node, Pipe};

/// A template that failed to parse or execute. The text is Prometheus'.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template does not parse.
    #[error("{0}")]
    Parse(String),
    /// Executing the template failed.
    #[error("{0}")]
    Exec(String),
}

/// The variables prepended to alert templates.
pub const ALERT_TEMPLATE_DEFS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// The data an alert template sees as `.`.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    /// The alert's labels (`$labels`).
    pub labels: BTreeMap<String, String>,
    /// The server's external labels (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// The server's external URL (`$externalURL`).
    pub external_url: String,
    /// The alert's value (`$value`).
    pub value: f64,
}

impl TemplateData {
    fn to_value(&self) -> Value {
        Value::Struct(
            "template.tmplData",
            vec![
                ("Labels".into(), Value::Map(self.labels.clone())),
                (
                    "ExternalLabels".into(),
                    Value::Map(self.external_labels.clone()),
                ),
                ("ExternalURL".into(), Value::Str(self.external_url.clone())),
                ("Value".into(), Value::Float(self.value)),
            ],
        )
    }
}

fn check_pipe(name: &str, p: &Pipe) -> Result<(), TemplateError> {
    for c in &p.cmds {
        for a in &c.args {
            match a {
                Arg::Ident(f) if !funcs::is_func(f) => {
                    return Err(TemplateError::Parse(format!(
                        "template: {name}:{}: function {f:?} not defined",
                        p.pos.0
                    )))
                }
                Arg::Pipe(inner, _) => {
                    let mut i = (**inner).clone();
                    i.pos = p.pos;
                    check_pipe(name, &i)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn check_nodes(name: &str, nodes: &[Node]) -> Result<(), TemplateError> {
    for n in nodes {
        match n {
            Node::Action(p) => check_pipe(name, p)?,
            Node::If(p, a, b) | Node::Range(p, a, b) | Node::With(p, a, b) => {
                check_pipe(name, p)?;
                check_nodes(name, a)?;
                check_nodes(name, b)?;
            }
            Node::Template(_, Some(p)) => check_pipe(name, p)?,
            _ => {}
        }
    }
    Ok(())
}

/// Parses `text` as template `name`, as `text/template.Parse` does
/// (including the check that every function is defined).
pub fn parse_template(name: &str, text: &str) -> Result<(), TemplateError> {
    let tree = parse::parse(name, text)?;
    check_nodes(name, &tree.root)?;
    for (_, body) in &tree.defines {
        check_nodes(name, body)?;
    }
    Ok(())
}

/// Expands template `text` (named `name`) with `data` as `.`.
/// `query` backs the `query` function; without it `query` fails.
pub fn expand(
    name: &str,
    text: &str,
    data: &TemplateData,
    query: Option<&QueryFn<'_>>,
) -> Result<String, TemplateError> {
    let tree = parse::parse(name, text)
        .map_err(|e| TemplateError::Parse(format!("error parsing template {name}: {e}")))?;
    check_nodes(name, &tree.root)
        .map_err(|e| TemplateError::Parse(format!("error parsing template {name}: {e}")))?;
    let env = exec::Env {
        query,
        external_url: &data.external_url,
    };
    exec::Exec::new(name, &tree, env)
        .run(data.to_value())
        .map_err(|e| TemplateError::Exec(format!("error executing template {name}: {e}")))
}

/// Expands an alert's label or annotation template as Prometheus does:
/// with [`ALERT_TEMPLATE_DEFS`] prepended, named `__alert_<rule>`, and an
/// error replaced by `<error expanding template: ...>`.
pub fn expand_alert(
    rule_name: &str,
    text: &str,
    data: &TemplateData,
    query: Option<&QueryFn<'_>>,
) -> String {
    let full = format!("{ALERT_TEMPLATE_DEFS}{text}");
    let name = format!("__alert_{rule_name}");
    match expand(&name, &full, data, query) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(rule = rule_name, err = %e, "expanding alert template failed");
            format!("<error expanding template: {e}>")
        }
    }
}

/// Go's `url.QueryEscape`, for generator URLs.
pub(crate) fn format_query_escape(s: &str) -> String {
    format::query_escape(s)
}

/// Go's `time.Duration.String()` of `ns` nanoseconds.
pub(crate) fn go_duration_string(ns: i128) -> String {
    funcs::go_duration(ns)
}
