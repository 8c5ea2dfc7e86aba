//! Relabeling with the semantics of Prometheus' `model/relabel`.
//!
//! A [`RelabelConfig`] rewrites, keeps or drops a label set. A list of them
//! is applied in order by [`process`] (allocating a new [`Labels`]) or by
//! [`process_builder`] (mutating a caller-owned [`LabelsBuilder`]).
//!
//! Replacement strings and `target_label` use Go's `Regexp.Expand` syntax:
//! `$1`, `${1}`, `$name`, `${name}` and `$$` for a literal dollar. As in Go
//! the longest run of letters, digits and underscores names the group, so
//! `$1x` refers to a group called `1x` (usually absent, hence empty); write
//! `${1}x` to follow group one by an `x`.

use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};

use crate::{Error, Labels, LabelsBuilder, RelabelError, Result};

/// What a [`RelabelConfig`] does with the label set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Writes the expanded `replacement` to the expanded `target_label` when
    /// `regex` matches the joined source values.
    #[default]
    Replace,
    /// Drops the label set unless `regex` matches the joined source values.
    Keep,
    /// Drops the label set when `regex` matches the joined source values.
    Drop,
    /// Drops the label set unless `target_label`'s value equals the joined
    /// source values.
    KeepEqual,
    /// Drops the label set when `target_label`'s value equals the joined
    /// source values.
    DropEqual,
    /// Sets `target_label` to the md5 hash of the joined source values
    /// modulo `modulus`.
    HashMod,
    /// Copies every label whose name matches `regex` to the name given by
    /// expanding `replacement`.
    LabelMap,
    /// Removes every label whose name matches `regex`.
    LabelDrop,
    /// Removes every label whose name does not match `regex`.
    LabelKeep,
    /// Sets `target_label` to the joined source values in lower case.
    Lowercase,
    /// Sets `target_label` to the joined source values in upper case.
    Uppercase,
}

impl Action {
    /// The action's name as written in a configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = RelabelError;

    /// Parses an action name case-insensitively, as Prometheus does.
    fn from_str(s: &str) -> std::result::Result<Self, RelabelError> {
        let a = match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return Err(RelabelError::UnknownAction(s.to_string())),
        };
        Ok(a)
    }
}

/// The default relabel regular expression.
pub const DEFAULT_RELABEL_REGEX: &str = "(.*)";

/// A relabel regular expression: fully anchored, with `.` matching newlines
/// (`^(?s:pattern)$`, as in Prometheus 3).
///
/// The default pattern `(.*)` is evaluated without the regex engine.
#[derive(Debug, Clone)]
pub struct RelabelRegex {
    original: String,
    /// `None` for the default pattern `(.*)`.
    re: Option<regex::Regex>,
}

impl RelabelRegex {
    /// Compiles `pattern`, anchoring it at both ends.
    pub fn new(pattern: &str) -> Result<Self> {
        if pattern == DEFAULT_RELABEL_REGEX {
            return Ok(RelabelRegex::default());
        }
        let re =
            regex::Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| Error::InvalidRegex {
                pattern: pattern.to_string(),
                source: Box::new(e),
            })?;
        Ok(RelabelRegex {
            original: pattern.to_string(),
            re: Some(re),
        })
    }

    /// The pattern as written, without the anchors.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        match &self.re {
            None => true,
            Some(re) => re.is_match(s),
        }
    }

    fn captures<'h>(&'h self, s: &'h str) -> Option<Caps<'h>> {
        match &self.re {
            None => Some(Caps::Whole(s)),
            Some(re) => re.captures(s).map(|c| Caps::Re(re, c)),
        }
    }

    fn is_default(&self) -> bool {
        self.original == DEFAULT_RELABEL_REGEX
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        RelabelRegex {
            original: DEFAULT_RELABEL_REGEX.to_string(),
            re: None,
        }
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.original == other.original
    }
}

/// The groups of one match.
enum Caps<'h> {
    /// A match of `(.*)`: groups 0 and 1 are the whole input.
    Whole(&'h str),
    /// A match of a compiled pattern.
    Re(&'h regex::Regex, regex::Captures<'h>),
}

impl Caps<'_> {
    fn group(&self, n: usize) -> Option<&str> {
        match self {
            Caps::Whole(s) => (n <= 1).then_some(*s),
            Caps::Re(_, c) => c.get(n).map(|m| m.as_str()),
        }
    }

    fn named(&self, name: &str) -> Option<&str> {
        match self {
            Caps::Whole(_) => None,
            Caps::Re(re, c) => {
                let idx = re.capture_names().position(|n| n == Some(name))?;
                c.get(idx).map(|m| m.as_str())
            }
        }
    }
}

/// How label names are validated: Prometheus 3 accepts any non-empty UTF-8
/// name by default, older versions (and `metric_name_validation_scheme:
/// legacy`) only `[a-zA-Z_][a-zA-Z0-9_]*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// Any non-empty UTF-8 string (the Prometheus 3 default).
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    Legacy,
}

impl NameValidation {
    /// Whether `name` is a valid label name under this scheme.
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => is_legacy_label_name(name),
        }
    }
}

fn is_legacy_label_name(name: &str) -> bool {
    let b = name.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return false,
    }
    b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Prometheus' `relabelTarget` regular expression,
/// `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`: a legacy label name in
/// which `$var` and `${var}` references may appear.
fn is_legacy_target_template(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'$' {
            i += 1;
            let braced = b.get(i) == Some(&b'{');
            if braced {
                i += 1;
            }
            let start = i;
            while i < b.len() && is_word(b[i]) {
                i += 1;
            }
            if i == start {
                return false;
            }
            if braced {
                if b.get(i) != Some(&b'}') {
                    return false;
                }
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || (c.is_ascii_digit() && i > 0) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// One relabeling step (Prometheus' `relabel.Config`).
///
/// `Default` gives Prometheus' defaults: action `replace`, separator `;`,
/// regex `(.*)`, replacement `$1`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` to form the input.
    pub source_labels: Vec<String>,
    /// The string placed between source values.
    pub separator: String,
    /// Matched against the joined value (or label names for the
    /// `label*` actions).
    pub regex: RelabelRegex,
    /// The modulus of the `hashmod` action.
    pub modulus: u64,
    /// The label written by `replace`, `hashmod`, `lowercase`, `uppercase`
    /// and compared by `keepequal`/`dropequal`.
    pub target_label: String,
    /// The value template of `replace`, the name template of `labelmap`.
    pub replacement: String,
    /// What to do.
    pub action: Action,
}

/// The default separator of source values.
pub const DEFAULT_SEPARATOR: &str = ";";
/// The default replacement template.
pub const DEFAULT_REPLACEMENT: &str = "$1";

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            regex: RelabelRegex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action: Action::Replace,
        }
    }
}

impl RelabelConfig {
    /// Checks the configuration as Prometheus 3 does with its default UTF-8
    /// name validation. Error texts are Prometheus' (the error is
    /// [`Error::InvalidRelabelConfig`] holding a [`RelabelError`]).
    pub fn validate(&self) -> Result<()> {
        self.validate_with(NameValidation::Utf8)
    }

    /// Checks the configuration under the given name validation scheme.
    /// The error is [`Error::InvalidRelabelConfig`].
    pub fn validate_with(&self, scheme: NameValidation) -> Result<()> {
        self.check(scheme).map_err(Error::from)
    }

    fn check(&self, scheme: NameValidation) -> std::result::Result<(), RelabelError> {
        use Action::*;
        let a = self.action;
        let invalid_target = || RelabelError::InvalidTargetLabel {
            target_label: self.target_label.clone(),
            action: a,
        };
        if self.modulus == 0 && a == HashMod {
            return Err(RelabelError::ZeroModulus);
        }
        if matches!(
            a,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && self.target_label.is_empty()
        {
            return Err(RelabelError::MissingTargetLabel(a));
        }
        let has_var = self.target_label.contains('$');
        if a == Replace && !has_var && !scheme.is_valid_label_name(&self.target_label) {
            return Err(invalid_target());
        }
        // Under UTF-8 validation `$` is an ordinary character, so a template
        // is valid whenever it is a valid name.
        let template_ok = |s: &str| match scheme {
            NameValidation::Utf8 => scheme.is_valid_label_name(s),
            NameValidation::Legacy => is_legacy_target_template(s),
        };
        if a == Replace && has_var && !template_ok(&self.target_label) {
            return Err(invalid_target());
        }
        let equal_or_case = matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual);
        if equal_or_case && !scheme.is_valid_label_name(&self.target_label) {
            return Err(invalid_target());
        }
        if equal_or_case && self.replacement != DEFAULT_REPLACEMENT {
            return Err(RelabelError::ReplacementNotAllowed(a));
        }
        if a == LabelMap && !template_ok(&self.replacement) {
            return Err(RelabelError::InvalidReplacement {
                replacement: self.replacement.clone(),
                action: a,
            });
        }
        if a == HashMod && !scheme.is_valid_label_name(&self.target_label) {
            return Err(invalid_target());
        }
        if matches!(a, KeepEqual | DropEqual)
            && (!self.regex.is_default()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::EqualActionExtraFields(a));
        }
        if matches!(a, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::LabelActionExtraFields(a));
        }
        Ok(())
    }
}

/// Applies `cfgs` in order to `labels`. Returns `None` when a step drops
/// the label set (Prometheus' `relabel.Process`).
pub fn process(labels: &Labels, cfgs: &[RelabelConfig]) -> Option<Labels> {
    if cfgs.is_empty() {
        return Some(labels.clone());
    }
    let mut lb = labels.builder();
    if process_builder(&mut lb, cfgs) {
        Some(lb.labels())
    } else {
        None
    }
}

/// Applies `cfgs` in order to the labels in `lb`, mutating it. Returns
/// `false` when a step drops the label set, leaving `lb` partially
/// rewritten (Prometheus' `relabel.ProcessBuilder`).
///
/// One scratch string is allocated per call for the joined source values;
/// the builder's buffers are reused.
pub fn process_builder(lb: &mut LabelsBuilder, cfgs: &[RelabelConfig]) -> bool {
    let mut val = String::new();
    cfgs.iter().all(|cfg| relabel(cfg, lb, &mut val))
}

fn relabel(cfg: &RelabelConfig, lb: &mut LabelsBuilder, val: &mut String) -> bool {
    val.clear();
    for (i, name) in cfg.source_labels.iter().enumerate() {
        if i > 0 {
            val.push_str(&cfg.separator);
        }
        val.push_str(lb.get(name).unwrap_or(""));
    }
    let val = val.as_str();
    match cfg.action {
        Action::Drop => return !cfg.regex.is_match(val),
        Action::Keep => return cfg.regex.is_match(val),
        Action::DropEqual => return lb.get(&cfg.target_label).unwrap_or("") != val,
        Action::KeepEqual => return lb.get(&cfg.target_label).unwrap_or("") == val,
        Action::Replace => replace(cfg, lb, val),
        Action::Lowercase => {
            lb.set(&cfg.target_label, &val.to_lowercase());
        }
        Action::Uppercase => {
            lb.set(&cfg.target_label, &val.to_uppercase());
        }
        Action::HashMod => {
            let sum = Md5::digest(val.as_bytes());
            let mut tail = [0u8; 8];
            tail.copy_from_slice(&sum[8..16]);
            // A zero modulus is rejected by validation; guard anyway.
            let m = u64::from_be_bytes(tail) % cfg.modulus.max(1);
            lb.set(&cfg.target_label, &m.to_string());
        }
        Action::LabelMap => {
            let snapshot = lb.labels();
            for l in snapshot.iter() {
                if let Some(caps) = cfg.regex.captures(l.name) {
                    let name = expand(&caps, &cfg.replacement);
                    lb.set(&name, l.value);
                }
            }
        }
        Action::LabelDrop => {
            lb.retain(|n, _| !cfg.regex.is_match(n));
        }
        Action::LabelKeep => {
            lb.retain(|n, _| cfg.regex.is_match(n));
        }
    }
    true
}

fn replace(cfg: &RelabelConfig, lb: &mut LabelsBuilder, val: &str) {
    // Fast path: add or delete a constant label.
    if val.is_empty()
        && cfg.regex.is_default()
        && !cfg.target_label.contains('$')
        && !cfg.replacement.contains('$')
    {
        lb.set(&cfg.target_label, &cfg.replacement);
        return;
    }
    let Some(caps) = cfg.regex.captures(val) else {
        return;
    };
    let target = expand(&caps, &cfg.target_label);
    if target.is_empty() {
        return;
    }
    let res = expand(&caps, &cfg.replacement);
    if res.is_empty() {
        lb.del(&target);
    } else {
        lb.set(&target, &res);
    }
}

/// Go's `Regexp.Expand`: substitutes `$name`/`${name}` references in
/// `template`; `$$` is a literal `$`, and a malformed reference is kept as
/// text.
fn expand(caps: &Caps<'_>, template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let Some((name, after)) = extract_ref(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let group = match group_number(name) {
            Some(n) => caps.group(n),
            None => caps.named(name),
        };
        out.push_str(group.unwrap_or(""));
    }
    out.push_str(rest);
    out
}

/// Reads a reference name after `$`: `name` or `{name}`, where a name is a
/// run of Unicode letters, digits and underscores. Returns the name and the
/// text after the reference.
fn extract_ref(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphabetic() || c.is_numeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let after = &body[end..];
    if braced {
        let after = after.strip_prefix('}')?;
        return Some((name, after));
    }
    Some((name, after))
}

/// A group number as Go parses one: ASCII digits, no leading zero, below
/// 10^8.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || name.len() > 8 {
        return None;
    }
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests;
