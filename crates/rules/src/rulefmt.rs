//! Rule files in Prometheus' format (`model/rulefmt`): strict YAML reading
//! and validation with file, line and reason.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::RuleError;
use crate::template::parse_template;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    groups: Option<Vec<Spanned<RawGroup>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: Option<String>,
    interval: Option<String>,
    query_offset: Option<String>,
    limit: Option<i64>,
    labels: Option<BTreeMap<String, String>>,
    rules: Option<Vec<Spanned<RawRule>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    record: Option<Spanned<String>>,
    alert: Option<Spanned<String>>,
    expr: Option<Spanned<String>>,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

/// Whether a rule records a series or raises alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `record: NAME`.
    Record,
    /// `alert: NAME`.
    Alert,
}

/// One validated rule of a rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Recording or alerting.
    pub kind: RuleKind,
    /// The recorded metric name or the alert name.
    pub name: String,
    /// The PromQL expression.
    pub expr: String,
    /// `for`, in milliseconds.
    pub for_ms: i64,
    /// `keep_firing_for`, in milliseconds.
    pub keep_firing_for_ms: i64,
    /// The rule's labels (group labels merged in, rule labels win).
    pub labels: BTreeMap<String, String>,
    /// Annotations (alerting rules only).
    pub annotations: BTreeMap<String, String>,
    /// Line of the rule in its file.
    pub line: u64,
}

/// One validated group of a rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    /// The group name, unique within its file.
    pub name: String,
    /// The file the group came from.
    pub file: PathBuf,
    /// `interval` in milliseconds, when set.
    pub interval_ms: Option<i64>,
    /// `query_offset` in milliseconds, when set.
    pub query_offset_ms: Option<i64>,
    /// `limit` (0: none).
    pub limit: usize,
    /// The group's labels.
    pub labels: BTreeMap<String, String>,
    /// The rules in file order.
    pub rules: Vec<RuleSpec>,
}

fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
}

fn parse_dur(s: &Option<String>) -> Result<i64, String> {
    match s {
        None => Ok(0),
        Some(s) => promlite_model::parse_duration(s)
            .map_err(|_| format!("not a valid duration string: {s:?}")),
    }
}

/// Prometheus' text for YAML decoding errors (`yaml.v3`'s wording where
/// we can reproduce it).
fn yaml_error(file: &Path, text: &str, e: &serde_saphyr::Error) -> RuleError {
    let line = e.location().map(|l| l.line()).unwrap_or(0);
    let column = e.location().map(|l| l.column()).unwrap_or(0);
    let mut message = e.without_snippet().to_string();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    if let Some(i) = message.find(", set DuplicateKeyPolicy") {
        message.truncate(i);
    }
    let mut position = Some((line, column));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or("");
        let ty = if message.contains("record") {
            "rulefmt.RuleNode"
        } else if message.contains("interval") {
            "rulefmt.RuleGroup"
        } else {
            "rulefmt.RuleGroups"
        };
        message =
            format!("yaml: unmarshal errors:\n  line {line}: field {field} not found in type {ty}");
        position = None;
    } else if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.trim().to_string();
        let lines: Vec<&str> = text.lines().collect();
        let first = (0..(line as usize).saturating_sub(1)).rev().find(|&i| {
            let l = lines.get(i).copied().unwrap_or("");
            let col = l.len() - l.trim_start_matches([' ', '-']).len() + 1;
            col as u64 == column
                && l.trim_start_matches([' ', '-'])
                    .starts_with(&format!("{key}:"))
        });
        if let Some(f) = first {
            message = format!(
                "yaml: unmarshal errors:\n  line {line}: mapping key {key:?} already defined at line {}",
                f + 1
            );
            position = None;
        }
    }
    RuleError {
        file: file.to_path_buf(),
        position,
        group: None,
        rule: None,
        message,
    }
}

/// Parses and validates the text of a rule file; `file` names it in errors.
pub fn parse_rules(text: &str, file: &Path) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Vec::new());
    }
    let raw: RawFile =
        serde_saphyr::from_str(text).map_err(|e| vec![yaml_error(file, text, &e)])?;
    let mut errs = Vec::new();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for g in raw.groups.unwrap_or_default() {
        let gline = g.referenced.line();
        let gcol = g.referenced.column();
        let g = g.value;
        let gerr = |msg: String| RuleError {
            file: file.to_path_buf(),
            position: Some((gline, gcol)),
            group: None,
            rule: None,
            message: msg,
        };
        let plain = |msg: String| RuleError::file_level(file, msg);
        let name = g.name.clone().unwrap_or_default();
        if name.is_empty() {
            errs.push(gerr("Groupname must not be empty".into()));
        }
        if !seen.insert(name.clone()) {
            errs.push(gerr(format!(
                "groupname: \"{name}\" is repeated in the same file"
            )));
        }
        let interval_ms = match &g.interval {
            Some(_) => match parse_dur(&g.interval) {
                Ok(v) => Some(v),
                Err(e) => {
                    errs.push(plain(e));
                    None
                }
            },
            None => None,
        };
        let query_offset_ms = match &g.query_offset {
            Some(_) => match parse_dur(&g.query_offset) {
                Ok(v) => Some(v),
                Err(e) => {
                    errs.push(plain(e));
                    None
                }
            },
            None => None,
        };
        let glabels = g.labels.clone().unwrap_or_default();
        for k in glabels.keys() {
            if !is_valid_name(k) || k == "__name__" {
                errs.push(plain(format!("invalid label name: {k}")));
            }
        }
        let mut rules = Vec::new();
        for (i, r) in g.rules.unwrap_or_default().into_iter().enumerate() {
            let r = r.value;
            let (kind, rname, node_line, node_col) = match (&r.record, &r.alert) {
                (_, Some(a)) if !a.value.is_empty() => (
                    RuleKind::Alert,
                    a.value.clone(),
                    a.referenced.line(),
                    a.referenced.column(),
                ),
                (Some(rec), _) => (
                    RuleKind::Record,
                    rec.value.clone(),
                    rec.referenced.line(),
                    rec.referenced.column(),
                ),
                (None, Some(a)) => (
                    RuleKind::Alert,
                    a.value.clone(),
                    a.referenced.line(),
                    a.referenced.column(),
                ),
                (None, None) => (RuleKind::Record, String::new(), 0, 0),
            };
            let mut rerr = |pos: Option<(u64, u64)>, msg: String| {
                errs.push(RuleError {
                    file: file.to_path_buf(),
                    position: pos,
                    group: Some(name.clone()),
                    rule: Some((i + 1, rname.clone())),
                    message: msg,
                });
            };
            let rec = r.record.as_ref().map(|s| s.value.as_str()).unwrap_or("");
            let alert = r.alert.as_ref().map(|s| s.value.as_str()).unwrap_or("");
            if !rec.is_empty() && !alert.is_empty() {
                rerr(
                    Some((node_line, node_col)),
                    "only one of 'record' and 'alert' must be set".into(),
                );
            }
            if rec.is_empty() && alert.is_empty() {
                rerr(
                    Some((node_line, node_col)),
                    "one of 'record' or 'alert' must be set".into(),
                );
            }
            let expr = r.expr.as_ref().map(|e| e.value.clone()).unwrap_or_default();
            let (eline, ecol) = r
                .expr
                .as_ref()
                .map(|e| (e.referenced.line(), e.referenced.column()))
                .unwrap_or((node_line, node_col));
            if expr.is_empty() {
                rerr(
                    Some((eline, ecol)),
                    "field 'expr' must be set in rule".into(),
                );
            } else if let Err(e) = promql_parser::parser::parse(&expr) {
                rerr(
                    Some((eline, ecol)),
                    format!("could not parse expression: {e}"),
                );
            }
            let for_ms = parse_dur(&r.for_).unwrap_or_else(|e| {
                rerr(None, e);
                0
            });
            let keep_ms = parse_dur(&r.keep_firing_for).unwrap_or_else(|e| {
                rerr(None, e);
                0
            });
            let annotations = r.annotations.clone().unwrap_or_default();
            let rlabels = r.labels.clone().unwrap_or_default();
            if !rec.is_empty() {
                if !annotations.is_empty() {
                    rerr(
                        Some((node_line, node_col)),
                        "invalid field 'annotations' in recording rule".into(),
                    );
                }
                if for_ms != 0 {
                    rerr(
                        Some((node_line, node_col)),
                        "invalid field 'for' in recording rule".into(),
                    );
                }
                if keep_ms != 0 {
                    rerr(
                        Some((node_line, node_col)),
                        "invalid field 'keep_firing_for' in recording rule".into(),
                    );
                }
                if !is_valid_name(rec) || rec.contains('{') || rec.contains('}') {
                    rerr(
                        Some((node_line, node_col)),
                        format!("invalid recording rule name: {rec}"),
                    );
                }
            }
            for k in rlabels.keys() {
                if !is_valid_name(k) || k == "__name__" {
                    rerr(None, format!("invalid label name: {k}"));
                }
            }
            for k in annotations.keys() {
                if !is_valid_name(k) {
                    rerr(None, format!("invalid annotation name: {k}"));
                }
            }
            if kind == RuleKind::Alert {
                let tname = format!("__alert_{rname}");
                for (k, v) in &rlabels {
                    let full = format!("{}{v}", crate::template::ALERT_TEMPLATE_DEFS);
                    if let Err(e) = parse_template(&tname, &full) {
                        rerr(None, format!("label {k:?}: {e}"));
                    }
                }
                for (k, v) in &annotations {
                    let full = format!("{}{v}", crate::template::ALERT_TEMPLATE_DEFS);
                    if let Err(e) = parse_template(&tname, &full) {
                        rerr(None, format!("annotation {k:?}: {e}"));
                    }
                }
            }
            let mut labels = glabels.clone();
            labels.extend(rlabels);
            rules.push(RuleSpec {
                kind,
                name: rname.clone(),
                expr,
                for_ms,
                keep_firing_for_ms: keep_ms,
                labels,
                annotations,
                line: node_line,
            });
        }
        out.push(GroupSpec {
            name,
            file: file.to_path_buf(),
            interval_ms,
            query_offset_ms,
            limit: usize::try_from(g.limit.unwrap_or(0)).unwrap_or(0),
            labels: glabels,
            rules,
        });
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

/// Reads and validates one rule file.
pub fn parse_file(path: &Path) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![RuleError::file_level(
            path,
            crate::error::go_open_error(path, &e),
        )]
    })?;
    parse_rules(&text, path)
}

/// Expands `globs` (as `rule_files` in prometheus.yml) and loads every
/// matching file. All errors of all files are returned together.
pub fn load_files(globs: &[impl AsRef<str>]) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for pat in globs {
        let pat = pat.as_ref();
        let paths = match glob::glob(pat) {
            Ok(p) => p,
            Err(e) => {
                errs.push(RuleError::file_level(pat, format!("invalid glob: {e}")));
                continue;
            }
        };
        let mut files: Vec<PathBuf> = paths.filter_map(|p| p.ok()).collect();
        files.sort();
        for f in files {
            match parse_file(&f) {
                Ok(g) => out.extend(g),
                Err(e) => errs.extend(e),
            }
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<String> {
        parse_rules(text, Path::new("r.yml"))
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn valid_file_parses() {
        let g = parse_rules(
            "groups:\n- name: g\n  interval: 30s\n  labels: {team: a}\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n    for: 5m\n    labels: {severity: page, team: b}\n    annotations: {summary: '{{ $labels.job }} down'}\n",
            Path::new("r.yml"),
        )
        .unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].interval_ms, Some(30_000));
        assert_eq!(g[0].rules[1].for_ms, 300_000);
        assert_eq!(g[0].rules[1].labels.get("team").unwrap(), "b");
        assert_eq!(g[0].rules[0].labels.get("team").unwrap(), "a");
    }

    #[test]
    fn bad_expression_names_line_group_and_rule() {
        let e = errs("groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(\n");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with(
                "r.yml: 5:11: group \"g\", rule 1, \"x\": could not parse expression:"
            ),
            "{}",
            e[0]
        );
    }

    #[test]
    fn record_and_alert_together_are_rejected() {
        let e = errs("groups:\n- name: g\n  rules:\n  - record: x\n    alert: y\n    expr: up\n");
        assert!(
            e.iter()
                .any(|m| m.contains("only one of 'record' and 'alert' must be set")),
            "{e:?}"
        );
        let e = errs("groups:\n- name: g\n  rules:\n  - expr: up\n");
        assert!(
            e.iter()
                .any(|m| m.contains("one of 'record' or 'alert' must be set")),
            "{e:?}"
        );
    }

    #[test]
    fn recording_rule_field_checks() {
        let e = errs("groups:\n- name: g\n  rules:\n  - record: 'x{a=\"b\"}'\n    expr: up\n    for: 1m\n    annotations: {a: b}\n");
        assert!(e
            .iter()
            .any(|m| m.contains("invalid field 'annotations' in recording rule")));
        assert!(e
            .iter()
            .any(|m| m.contains("invalid field 'for' in recording rule")));
        assert!(e
            .iter()
            .any(|m| m.contains("invalid recording rule name: x{a=\"b\"}")));
    }

    #[test]
    fn duplicate_group_and_missing_expr() {
        let e = errs("groups:\n- name: g\n  rules: []\n- name: g\n  rules:\n  - alert: A\n");
        assert!(
            e.iter()
                .any(|m| m.contains("groupname: \"g\" is repeated in the same file")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("field 'expr' must be set in rule")),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_fields_and_duplicate_keys_are_errors() {
        let e = errs("groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n    bogus: 1\n");
        assert_eq!(
            e[0],
            "r.yml: yaml: unmarshal errors:\n  line 6: field bogus not found in type rulefmt.RuleNode"
        );
        let e = errs("groups:\n- name: g\n  name: h\n  rules: []\n");
        assert_eq!(
            e[0],
            "r.yml: yaml: unmarshal errors:\n  line 3: mapping key \"name\" already defined at line 2"
        );
    }

    #[test]
    fn bad_templates_are_reported() {
        let e = errs("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      s: '{{ nope }}'\n");
        assert!(
            e[0].contains("annotation \"s\": template: __alert_A:1: function \"nope\" not defined"),
            "{e:?}"
        );
    }

    #[test]
    fn empty_file_has_no_groups() {
        assert!(parse_rules("", Path::new("e.yml")).unwrap().is_empty());
        assert!(parse_rules("groups: []\n", Path::new("e.yml"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn numeric_expr_and_labels_are_read_as_text() {
        let g = parse_rules(
            "groups:\n- name: g\n  rules:\n  - record: one\n    expr: 1\n    labels: {a: 2}\n",
            Path::new("r.yml"),
        );
        assert!(g.is_ok(), "{g:?}");
    }
}
