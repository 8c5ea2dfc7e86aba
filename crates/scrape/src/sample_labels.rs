//! Turning a scraped series into the stored label set, and the per-series
//! limits (Prometheus `scrape.go`: `mutateSampleLabels`,
//! `resolveConflictingExposedLabels`, `verifyLabelLimits`).

use promlite_model::{process, Labels, LabelsBuilder, RelabelConfig, METRIC_NAME};

use crate::error::LimitError;

/// The prefix given to exposed labels that clash with target labels.
pub const EXPORTED_LABEL_PREFIX: &str = "exported_";

/// Merges a scraped series' labels with the target's labels and applies
/// `metric_relabel_configs`. Returns `None` when relabeling drops the
/// series (or leaves it with no labels).
///
/// With `honor_labels` the scraped value wins a clash and the target label
/// is only added when absent. Otherwise the target's value wins and the
/// scraped value moves to `exported_<name>` (more `exported_` prefixes are
/// added until the name is free; shorter names are placed first).
pub fn mutate_sample_labels(
    scraped: &Labels,
    target: &Labels,
    honor_labels: bool,
    metric_relabel_configs: &[RelabelConfig],
) -> Option<Labels> {
    let mut lb = scraped.builder();
    if honor_labels {
        for l in target.iter() {
            if !scraped.has(l.name) {
                lb.set(l.name, l.value);
            }
        }
    } else {
        let mut conflicts: Vec<(&str, &str)> = Vec::new();
        for l in target.iter() {
            let existing = scraped.get_or_empty(l.name);
            if !existing.is_empty() {
                conflicts.push((l.name, existing));
            }
            lb.set(l.name, l.value);
        }
        if !conflicts.is_empty() {
            resolve_conflicts(&mut lb, &mut conflicts);
        }
    }
    let res = lb.labels();
    let res = if metric_relabel_configs.is_empty() {
        res
    } else {
        process(&res, metric_relabel_configs)?
    };
    (!res.is_empty()).then_some(res)
}

fn resolve_conflicts(lb: &mut LabelsBuilder, conflicts: &mut [(&str, &str)]) {
    conflicts.sort_by_key(|(n, _)| n.len());
    for (name, value) in conflicts.iter() {
        let mut new_name = name.to_string();
        loop {
            new_name.insert_str(0, EXPORTED_LABEL_PREFIX);
            if lb.get(&new_name).unwrap_or("").is_empty() {
                lb.set(&new_name, value);
                break;
            }
        }
    }
}

/// Per-series label limits; zero disables a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelLimits {
    /// `label_limit`: the most labels a series may have.
    pub label_limit: usize,
    /// `label_name_length_limit`: the longest label name in bytes.
    pub label_name_length_limit: usize,
    /// `label_value_length_limit`: the longest label value in bytes.
    pub label_value_length_limit: usize,
}

/// Go's `%.50s`: at most 50 characters.
fn cut50(s: &str) -> String {
    s.chars().take(50).collect()
}

/// Checks a final label set against `limits` (Prometheus'
/// `verifyLabelLimits`, same texts). A series without `__name__` is
/// rejected first, as the scrape loop does.
pub fn verify_label_limits(labels: &Labels, limits: &LabelLimits) -> Result<(), LimitError> {
    let Some(metric) = labels.get(METRIC_NAME) else {
        return Err(LimitError::MissingMetricName);
    };
    if limits.label_limit > 0 {
        let n = labels.len();
        if n > limits.label_limit {
            return Err(LimitError::LabelLimit {
                metric: cut50(metric),
                labels: n,
                limit: limits.label_limit,
            });
        }
    }
    for l in labels.iter() {
        let nl = limits.label_name_length_limit;
        if nl > 0 && l.name.len() > nl {
            return Err(LimitError::LabelNameLength {
                metric: cut50(metric),
                name: cut50(l.name),
                length: l.name.len(),
                limit: nl,
            });
        }
        let vl = limits.label_value_length_limit;
        if vl > 0 && l.value.len() > vl {
            return Err(LimitError::LabelValueLength {
                metric: cut50(metric),
                name: cut50(l.name),
                value: cut50(l.value),
                length: l.value.len(),
                limit: vl,
            });
        }
    }
    Ok(())
}

/// Checks the number of samples a scrape added against `sample_limit`
/// (zero disables it).
pub fn check_sample_limit(samples: usize, sample_limit: usize) -> Result<(), LimitError> {
    if sample_limit > 0 && samples > sample_limit {
        return Err(LimitError::SampleLimit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use promlite_model::{Action, RelabelRegex};

    use super::*;

    fn ls(p: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(p)
    }

    #[test]
    fn target_labels_win_and_exposed_ones_are_exported() {
        let scraped = ls(&[("__name__", "up"), ("job", "exp"), ("exported_job", "x")]);
        let target = ls(&[("job", "tgt"), ("instance", "h:1")]);
        let out = mutate_sample_labels(&scraped, &target, false, &[]).unwrap();
        assert_eq!(
            out,
            ls(&[
                ("__name__", "up"),
                ("exported_exported_job", "exp"),
                ("exported_job", "x"),
                ("instance", "h:1"),
                ("job", "tgt"),
            ])
        );
    }

    #[test]
    fn honor_labels_keeps_exposed_values() {
        let scraped = ls(&[("__name__", "up"), ("job", "exp")]);
        let target = ls(&[("job", "tgt"), ("instance", "h:1")]);
        let out = mutate_sample_labels(&scraped, &target, true, &[]).unwrap();
        assert_eq!(
            out,
            ls(&[("__name__", "up"), ("instance", "h:1"), ("job", "exp")])
        );
    }

    #[test]
    fn metric_relabeling_can_drop() {
        let drop = RelabelConfig {
            source_labels: vec!["__name__".into()],
            regex: RelabelRegex::new("up").unwrap(),
            action: Action::Drop,
            ..Default::default()
        };
        let scraped = ls(&[("__name__", "up")]);
        assert!(mutate_sample_labels(&scraped, &Labels::empty(), false, &[drop]).is_none());
    }

    #[test]
    fn label_limits_use_prometheus_texts() {
        let l = ls(&[("__name__", "m"), ("a", "1"), ("bbbbbbbbb", "22222")]);
        let lim = |a, b, c| LabelLimits {
            label_limit: a,
            label_name_length_limit: b,
            label_value_length_limit: c,
        };
        assert!(verify_label_limits(&l, &lim(3, 9, 5)).is_ok());
        assert_eq!(
            verify_label_limits(&l, &lim(2, 0, 0))
                .unwrap_err()
                .to_string(),
            "label_limit exceeded (metric: m, number of labels: 3, limit: 2)"
        );
        assert_eq!(
            verify_label_limits(&l, &lim(0, 8, 0))
                .unwrap_err()
                .to_string(),
            "label_name_length_limit exceeded (metric: m, label name: bbbbbbbbb, length: 9, limit: 8)"
        );
        assert_eq!(
            verify_label_limits(&l, &lim(0, 0, 4))
                .unwrap_err()
                .to_string(),
            r#"label_value_length_limit exceeded (metric: m, label name: bbbbbbbbb, value: "22222", length: 5, limit: 4)"#
        );
        assert_eq!(
            verify_label_limits(&ls(&[("a", "b")]), &lim(0, 0, 0))
                .unwrap_err()
                .to_string(),
            "missing metric name (__name__ label)"
        );
    }

    #[test]
    fn long_names_are_cut_to_fifty_characters() {
        let long = "n".repeat(80);
        let l = ls(&[("__name__", long.as_str()), ("a", "1")]);
        let e = verify_label_limits(
            &l,
            &LabelLimits {
                label_limit: 1,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "label_limit exceeded (metric: {}, number of labels: 2, limit: 1)",
                "n".repeat(50)
            )
        );
    }

    #[test]
    fn sample_limit() {
        assert!(check_sample_limit(10, 0).is_ok());
        assert!(check_sample_limit(10, 10).is_ok());
        assert_eq!(
            check_sample_limit(11, 10).unwrap_err().to_string(),
            "sample limit exceeded"
        );
    }
}
