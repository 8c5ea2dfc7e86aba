//! Differences between Prometheus 2.42 (Debian) and promlite that are not
//! promlite bugs, each with its reason.

/// (case label, reason).
pub(crate) const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// Cases whose float results match only within the relative tolerance.
pub(crate) const TOLERANCE_NEEDED: &[&str] = &[];
