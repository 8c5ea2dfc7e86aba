//! The YAML face of a relabeling rule (`relabel_configs`,
//! `metric_relabel_configs`, `write_relabel_configs`, ...): Prometheus'
//! fields, defaults and the checks YAML alone allows. Applying rules is the
//! model crate's job; this type only carries validated values to it.

use serde::{Deserialize, Serialize, Serializer};

use crate::types::ValidationScheme;

/// A relabeling action, written in any letter case in YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RelabelAction {
    /// Sets `target_label` to `replacement` with regex groups expanded.
    #[default]
    Replace,
    /// Drops targets/series whose concatenated `source_labels` do not match.
    Keep,
    /// Drops targets/series whose concatenated `source_labels` match.
    Drop,
    /// Keeps when the source value equals `target_label`'s value.
    KeepEqual,
    /// Drops when the source value equals `target_label`'s value.
    DropEqual,
    /// Sets `target_label` to the hash of the source value modulo `modulus`.
    HashMod,
    /// Copies labels whose names match `regex` to names built from `replacement`.
    LabelMap,
    /// Removes labels whose names match `regex`.
    LabelDrop,
    /// Removes labels whose names do not match `regex`.
    LabelKeep,
    /// Sets `target_label` to the lower-cased source value.
    Lowercase,
    /// Sets `target_label` to the upper-cased source value.
    Uppercase,
}

impl RelabelAction {
    /// Prometheus' spelling of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            RelabelAction::Replace => "replace",
            RelabelAction::Keep => "keep",
            RelabelAction::Drop => "drop",
            RelabelAction::KeepEqual => "keepequal",
            RelabelAction::DropEqual => "dropequal",
            RelabelAction::HashMod => "hashmod",
            RelabelAction::LabelMap => "labelmap",
            RelabelAction::LabelDrop => "labeldrop",
            RelabelAction::LabelKeep => "labelkeep",
            RelabelAction::Lowercase => "lowercase",
            RelabelAction::Uppercase => "uppercase",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_lowercase().as_str() {
            "replace" => RelabelAction::Replace,
            "keep" => RelabelAction::Keep,
            "drop" => RelabelAction::Drop,
            "keepequal" => RelabelAction::KeepEqual,
            "dropequal" => RelabelAction::DropEqual,
            "hashmod" => RelabelAction::HashMod,
            "labelmap" => RelabelAction::LabelMap,
            "labeldrop" => RelabelAction::LabelDrop,
            "labelkeep" => RelabelAction::LabelKeep,
            "lowercase" => RelabelAction::Lowercase,
            "uppercase" => RelabelAction::Uppercase,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for RelabelAction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Err(serde::de::Error::custom("relabel action cannot be empty"));
        }
        RelabelAction::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown relabel action {s:?}")))
    }
}

impl Serialize for RelabelAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A relabeling regular expression: the text as written plus its fully
/// anchored compiled form (`^(?s:...)$`, as Prometheus 3 compiles it).
#[derive(Debug, Clone)]
pub struct RelabelRegex {
    source: String,
    compiled: regex::Regex,
}

/// The default relabel regex, `(.*)`.
pub const DEFAULT_RELABEL_REGEX: &str = "(.*)";

impl RelabelRegex {
    /// Compiles `source` anchored at both ends.
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let compiled = regex::Regex::new(&format!("^(?s:{source})$"))?;
        Ok(RelabelRegex {
            source: source.to_string(),
            compiled,
        })
    }

    /// The expression as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The anchored, compiled expression.
    pub fn regex(&self) -> &regex::Regex {
        &self.compiled
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RelabelRegex::new(&s).map_err(|e| {
            // regex's parse errors are multi-line drawings; keep the reason.
            let text = e.to_string();
            let reason = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(text.as_str())
                .to_string();
            serde::de::Error::custom(format!("invalid regular expression {s:?}: {reason}"))
        })
    }
}

impl Serialize for RelabelRegex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// One relabeling rule as written in YAML, with Prometheus' defaults
/// (`separator: ;`, `regex: (.*)`, `replacement: $1`, `action: replace`).
/// Conversion to the model crate's rule type happens where both meet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRelabel")]
pub struct RelabelConfigYaml {
    /// Labels whose values are concatenated with `separator`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_labels: Vec<String>,
    /// Separator between concatenated source values.
    pub separator: String,
    /// Regex matched against the concatenated value (or label names).
    pub regex: RelabelRegex,
    /// Modulus for `hashmod`.
    #[serde(skip_serializing_if = "crate::types::is_zero_u64")]
    pub modulus: u64,
    /// Label written by `replace`, `hashmod`, `lowercase`, ...
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target_label: String,
    /// Replacement with `$1`/`${name}` references.
    pub replacement: String,
    /// What the rule does.
    pub action: RelabelAction,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabel {
    #[serde(default)]
    source_labels: Vec<String>,
    #[serde(default = "default_separator")]
    separator: String,
    #[serde(default)]
    regex: Option<RelabelRegex>,
    #[serde(default)]
    modulus: u64,
    #[serde(default)]
    target_label: String,
    #[serde(default = "default_replacement")]
    replacement: String,
    #[serde(default)]
    action: RelabelAction,
}

fn default_separator() -> String {
    ";".to_string()
}

fn default_replacement() -> String {
    "$1".to_string()
}

impl TryFrom<RawRelabel> for RelabelConfigYaml {
    type Error = String;

    fn try_from(r: RawRelabel) -> Result<Self, String> {
        let c = RelabelConfigYaml {
            source_labels: r.source_labels,
            separator: r.separator,
            regex: match r.regex {
                Some(re) => re,
                None => RelabelRegex::new(DEFAULT_RELABEL_REGEX).map_err(|e| e.to_string())?,
            },
            modulus: r.modulus,
            target_label: r.target_label,
            replacement: r.replacement,
            action: r.action,
        };
        c.validate(ValidationScheme::Utf8)?;
        Ok(c)
    }
}

/// Legacy-scheme target label: names with `$1` / `${name}` references.
fn is_legacy_target_template(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("${") {
            match r.find('}') {
                Some(end) if end > 0 && r[..end].chars().all(is_word) => rest = &r[end + 1..],
                _ => return false,
            }
        } else if let Some(r) = rest.strip_prefix('$') {
            let n = r.find(|c: char| !is_word(c)).unwrap_or(r.len());
            if n == 0 {
                return false;
            }
            rest = &r[n..];
        } else {
            let c = rest.chars().next().unwrap_or('-');
            if !is_word(c) {
                return false;
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    !s.starts_with(|c: char| c.is_ascii_digit())
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl RelabelConfigYaml {
    /// Checks the rule as Prometheus' `relabel.Config.Validate` does for the
    /// given label-name scheme; the message is Prometheus' text.
    pub fn validate(&self, scheme: ValidationScheme) -> Result<(), String> {
        use RelabelAction as A;
        let act = self.action.as_str();
        if self.modulus == 0 && self.action == A::HashMod {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            self.action,
            A::Replace | A::HashMod | A::Lowercase | A::Uppercase | A::KeepEqual | A::DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {act} action requires 'target_label' value"
            ));
        }
        let invalid_target = || {
            format!(
                "{:?} is invalid 'target_label' for {act} action",
                self.target_label
            )
        };
        match self.action {
            A::Replace => {
                let ok = match scheme {
                    ValidationScheme::Utf8 => !self.target_label.is_empty(),
                    ValidationScheme::Legacy => is_legacy_target_template(&self.target_label),
                };
                if !ok {
                    return Err(invalid_target());
                }
            }
            A::Lowercase | A::Uppercase | A::KeepEqual | A::DropEqual | A::HashMod
                if !scheme.is_valid_label_name(&self.target_label) =>
            {
                return Err(invalid_target());
            }
            _ => {}
        }
        if matches!(
            self.action,
            A::Lowercase | A::Uppercase | A::KeepEqual | A::DropEqual
        ) && self.replacement != "$1"
        {
            return Err(format!("'replacement' can not be set for {act} action"));
        }
        if matches!(self.action, A::KeepEqual | A::DropEqual)
            && (self.regex.as_str() != DEFAULT_RELABEL_REGEX
                || self.modulus != 0
                || self.separator != ";"
                || self.replacement != "$1")
        {
            return Err(format!(
                "{act} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(self.action, A::LabelDrop | A::LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != ";"
                || self.replacement != "$1")
        {
            return Err(format!(
                "{act} action requires only 'regex', and no other fields"
            ));
        }
        if self.action == A::LabelMap
            && scheme == ValidationScheme::Legacy
            && !is_legacy_target_template(&self.replacement)
        {
            return Err(format!(
                "{:?} is invalid 'replacement' for {act} action",
                self.replacement
            ));
        }
        for l in &self.source_labels {
            if !scheme.is_valid_label_name(l) {
                return Err(format!("{l:?} is not a valid label name"));
            }
        }
        Ok(())
    }
}

impl RelabelConfigYaml {
    /// The rule as `promlite_model::relabel` applies it. The regex was
    /// already compiled when the YAML was read, so this only fails if the
    /// model's regex dialect rejects what the config's accepted.
    pub fn to_model(&self) -> Result<promlite_model::RelabelConfig, promlite_model::Error> {
        Ok(promlite_model::RelabelConfig {
            source_labels: self.source_labels.clone(),
            separator: self.separator.clone(),
            regex: promlite_model::RelabelRegex::new(self.regex.as_str())?,
            modulus: self.modulus,
            target_label: self.target_label.clone(),
            replacement: self.replacement.clone(),
            action: self
                .action
                .as_str()
                .parse()
                .map_err(promlite_model::Error::from)?,
        })
    }
}

/// Converts a list of YAML rules to the model's.
pub fn to_model_configs(
    cfgs: &[RelabelConfigYaml],
) -> Result<Vec<promlite_model::RelabelConfig>, promlite_model::Error> {
    cfgs.iter().map(RelabelConfigYaml::to_model).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(y: &str) -> Result<RelabelConfigYaml, String> {
        serde_saphyr::from_str(y).map_err(|e| e.without_snippet().to_string())
    }

    #[test]
    fn defaults_match_prometheus() {
        let c = parse("target_label: x\n").unwrap();
        assert_eq!(c.separator, ";");
        assert_eq!(c.regex.as_str(), "(.*)");
        assert_eq!(c.replacement, "$1");
        assert_eq!(c.action, RelabelAction::Replace);
    }

    #[test]
    fn action_is_case_insensitive_and_checked() {
        assert_eq!(parse("action: Keep\n").unwrap().action, RelabelAction::Keep);
        let e = parse("action: explode\n").unwrap_err();
        assert!(e.contains("unknown relabel action \"explode\""), "{e}");
    }

    #[test]
    fn per_action_requirements() {
        let e = parse("action: hashmod\ntarget_label: a\n").unwrap_err();
        assert!(e.contains("requires non-zero modulus"), "{e}");
        let e = parse("action: replace\n").unwrap_err();
        assert!(e.contains("requires 'target_label' value"), "{e}");
        let e = parse("action: labeldrop\nsource_labels: [a]\n").unwrap_err();
        assert!(e.contains("requires only 'regex'"), "{e}");
        let e = parse("action: uppercase\ntarget_label: a\nreplacement: x\n").unwrap_err();
        assert!(
            e.contains("'replacement' can not be set for uppercase action"),
            "{e}"
        );
        let e = parse("action: keepequal\ntarget_label: a\nregex: x\n").unwrap_err();
        assert!(e.contains("requires only 'source_labels'"), "{e}");
    }

    #[test]
    fn regex_is_anchored_and_checked() {
        let c = parse("action: keep\nregex: a|b\n").unwrap();
        assert!(c.regex.regex().is_match("a"));
        assert!(!c.regex.regex().is_match("xa"));
        let e = parse("action: keep\nregex: '(('\n").unwrap_err();
        assert!(e.contains("invalid regular expression"), "{e}");
    }

    #[test]
    fn legacy_scheme_checks_target_templates() {
        let c = parse("target_label: ${1}_x\n").unwrap();
        assert!(c.validate(ValidationScheme::Legacy).is_ok());
        let c = parse("target_label: a-b\n").unwrap();
        assert!(c.validate(ValidationScheme::Legacy).is_err());
        assert!(c.validate(ValidationScheme::Utf8).is_ok());
    }
}
