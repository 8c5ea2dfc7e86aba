//! Errors of the model crate.

/// An error building a model value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A regular expression in a matcher did not compile.
    #[error("invalid regular expression {pattern:?}: {source}")]
    InvalidRegex {
        /// The pattern as the user wrote it.
        pattern: String,
        /// The compiler's error.
        #[source]
        source: Box<regex::Error>,
    },
    /// A duration string that is not in Prometheus' format.
    #[error("not a valid duration string: {0:?}")]
    InvalidDuration(String),
    /// A byte-size string that is not valid.
    #[error("not a valid byte size: {0:?}")]
    InvalidBytes(String),
    /// A relabel configuration that Prometheus would reject.
    #[error(transparent)]
    InvalidRelabelConfig(#[from] RelabelError),
}

/// Why a relabel configuration is invalid. The texts are Prometheus'.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelabelError {
    /// An action name Prometheus does not know.
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    /// `hashmod` without a modulus.
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    /// An action that writes or compares a label lacks `target_label`.
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTargetLabel(crate::relabel::Action),
    /// `target_label` is not a valid label name (or name template).
    #[error("{target_label:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        /// The configured target label.
        target_label: String,
        /// The configured action.
        action: crate::relabel::Action,
    },
    /// `replacement` was set for an action that does not use it.
    #[error("'replacement' can not be set for {0} action")]
    ReplacementNotAllowed(crate::relabel::Action),
    /// The `labelmap` replacement is not a valid name template.
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        /// The configured replacement.
        replacement: String,
        /// The configured action.
        action: crate::relabel::Action,
    },
    /// `keepequal`/`dropequal` with fields other than source and target.
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    EqualActionExtraFields(crate::relabel::Action),
    /// `labeldrop`/`labelkeep` with fields other than `regex`.
    #[error("{0} action requires only 'regex', and no other fields")]
    LabelActionExtraFields(crate::relabel::Action),
}

/// Result alias of the model crate.
pub type Result<T> = std::result::Result<T, Error>;
