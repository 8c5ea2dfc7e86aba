//! Errors of the rules crate.

use std::fmt;
use std::path::PathBuf;

/// A problem in a rule file, with where it was found. Its `Display` text
/// follows Prometheus' `rulefmt` errors: `FILE: LINE:COL: group "g", rule
/// N, "name": reason`, or `FILE: reason` when there is no rule context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule file.
    pub file: PathBuf,
    /// 1-based line and column of the YAML node, when the error has one
    /// (Prometheus prints `0:0` for a missing node, so `(0, 0)` occurs).
    pub position: Option<(u64, u64)>,
    /// The group, when the error is about one of its rules.
    pub group: Option<String>,
    /// The 1-based index of the rule in its group and the rule's name.
    pub rule: Option<(usize, String)>,
    /// The reason, with Prometheus' wording where there is one.
    pub message: String,
}

impl RuleError {
    /// An error about the file as a whole (YAML or group level).
    pub fn file_level(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        RuleError {
            file: file.into(),
            position: None,
            group: None,
            rule: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, "{line}:{col}: ")?;
        }
        if let (Some(g), Some((i, name))) = (&self.group, &self.rule) {
            write!(f, "group {g:?}, rule {i}, {name:?}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

impl RuleError {
    /// The 1-based line of the error, when known.
    pub fn line(&self) -> Option<u64> {
        self.position.map(|p| p.0).filter(|l| *l > 0)
    }
}

/// An error of one rule's evaluation (shown as the rule's `lastError`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rule's query failed.
    #[error("{0}")]
    Query(#[from] promlite_promql::Error),
    /// Writing the rule's output failed.
    #[error("{0}")]
    Storage(#[from] promlite_storage::Error),
    /// A recording rule's result had two series with equal labels.
    #[error("vector contains metrics with the same labelset after applying rule labels")]
    DuplicateLabelset,
    /// An alerting rule's result had two alerts with equal labels.
    #[error("vector contains metrics with the same labelset after applying alert labels")]
    DuplicateAlertLabelset,
    /// The rule returned more series than the group's `limit`.
    #[error("exceeded limit of {limit} with {got} {what}")]
    Limit {
        /// The group's limit.
        limit: usize,
        /// What the rule produced.
        got: usize,
        /// `series` or `alerts`.
        what: &'static str,
    },
    /// The query returned something other than a vector or scalar.
    #[error("rule result is not a vector or scalar")]
    NotVector,
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Go's text for a failed `os.ReadFile(path)`: `open PATH: no such file or directory`.
pub(crate) fn go_open_error(path: &std::path::Path, e: &std::io::Error) -> String {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => {
            return format!("read {}: is a directory", path.display())
        }
        _ => e.to_string(),
    };
    format!("open {}: {reason}", path.display())
}
