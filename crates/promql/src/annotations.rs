//! Warning and info annotations with Prometheus' texts
//! (`util/annotations/annotations.go`).

use std::collections::BTreeSet;

/// The annotations collected while evaluating one query.
#[derive(Debug, Default, Clone)]
pub(crate) struct Annotations {
    pub(crate) warnings: BTreeSet<String>,
    pub(crate) infos: BTreeSet<String>,
}

impl Annotations {
    pub(crate) fn warn(&mut self, msg: String) {
        self.warnings.insert(format!("PromQL warning: {msg}"));
    }

    pub(crate) fn info(&mut self, msg: String) {
        self.infos.insert(format!("PromQL info: {msg}"));
    }

    /// Formats a float like Go's `%g`.
    pub(crate) fn go_g(v: f64) -> String {
        crate::format::format_go_g(v)
    }

    pub(crate) fn invalid_quantile(&mut self, q: f64) {
        self.warn(format!(
            "quantile value should be between 0 and 1, got {}",
            Self::go_g(q)
        ));
    }

    pub(crate) fn invalid_ratio(&mut self, q: f64, to: f64) {
        self.warn(format!(
            "ratio value should be between -1 and 1, got {}, capping to {}",
            Self::go_g(q),
            Self::go_g(to)
        ));
    }

    pub(crate) fn bad_bucket_label(&mut self, metric: &str, label: &str) {
        let mut m = format!("bucket label \"le\" is missing or has a malformed value of {label:?}");
        if !metric.is_empty() {
            m.push_str(&format!(" for metric name {metric:?}"));
        }
        self.warn(m);
    }

    pub(crate) fn possible_non_counter(&mut self, metric: &str) {
        self.info(format!(
            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {metric:?}"
        ));
    }

    pub(crate) fn possible_non_counter_label(&mut self, metric: &str, typ: &str) {
        self.info(format!(
            "metric might not be a counter, __type__ label is not set to \"counter\" or \"histogram\", got {typ:?}: {metric:?}"
        ));
    }

    pub(crate) fn start_time_overlap(&mut self, metric: &str) {
        self.warn(format!(
            "sample has start time that overlaps with previous sample timestamp for metric {metric:?}"
        ));
    }

    pub(crate) fn forced_monotonicity(&mut self, metric: &str) {
        let mut m = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".to_string();
        if !metric.is_empty() {
            m.push_str(&format!(" for metric name {metric:?}"));
        }
        self.info(m);
    }
}
