//! The interface through which the rule manager hands alerts to an
//! Alertmanager client.

use std::collections::BTreeMap;

use promlite_model::Labels;

/// An alert as sent to Alertmanager (Prometheus' `notifier.Alert`).
/// Times are milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The alert's labels (external labels are added by the notifier).
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// When the alert started firing.
    pub starts_at: i64,
    /// When it was resolved, or until when it is valid while firing.
    pub ends_at: i64,
    /// Link to the expression in the web UI.
    pub generator_url: String,
}

/// Receives alerts from rule evaluation.
///
/// `send` is called from the evaluating thread after each evaluation of an
/// alerting rule that has alerts to (re)send: firing alerts whose last send
/// is older than the resend delay, and resolved alerts not yet sent as
/// resolved. It must not block for long; queue and return.
pub trait Notifier: Send + Sync {
    /// Queues `alerts` for delivery.
    fn send(&self, alerts: Vec<Alert>);
}
