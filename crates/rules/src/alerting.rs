//! Alerting rules: the pending → firing → inactive state machine of
//! Prometheus' `rules/alerting.go`, with `keep_firing_for`, the `ALERTS`
//! and `ALERTS_FOR_STATE` series and the restore of `for` state.

use std::collections::{BTreeMap, HashMap, HashSet};

use promlite_model::{is_stale_nan, Labels, LabelsBuilder, Matcher};
use promlite_promql::Sample;
use promlite_storage::{Queryable, ValueType};

use crate::error::{Error, Result};
use crate::template::{expand_alert, QueryFn, TemplateData};

/// `__name__` of the alert state series.
pub const ALERT_METRIC_NAME: &str = "ALERTS";
/// `__name__` of the series that keeps an alert's `ActiveAt`.
pub const ALERT_FOR_STATE_METRIC_NAME: &str = "ALERTS_FOR_STATE";
/// How long resolved alerts are kept (and re-sent): Prometheus' `resolvedRetention`.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The state of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// Resolved, or never active.
    Inactive,
    /// Active for less than `for`.
    Pending,
    /// Active for at least `for`.
    Firing,
}

impl AlertState {
    /// `inactive`, `pending` or `firing`, as in the API and `ALERTS`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One active (or recently resolved) alert of a rule. Times are
/// milliseconds since the epoch; 0 means unset.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAlert {
    /// Current state.
    pub state: AlertState,
    /// Labels: the result series' labels without `__name__`, the rule's
    /// (expanded) labels and `alertname`.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// The last value of the expression.
    pub value: f64,
    /// When the alert became active.
    pub active_at: i64,
    /// When it started firing.
    pub fired_at: i64,
    /// When it was resolved.
    pub resolved_at: i64,
    /// When it was last sent to the notifier (`None`: never).
    pub last_sent_at: Option<i64>,
    /// The `endsAt` sent while firing.
    pub valid_until: i64,
    /// Since when it is kept firing by `keep_firing_for`.
    pub keep_firing_since: i64,
}

impl ActiveAlert {
    fn needs_sending(&self, ts: i64, resend_delay: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        let Some(last) = self.last_sent_at else {
            return true;
        };
        if self.resolved_at > last {
            return true;
        }
        last + resend_delay < ts
    }
}

/// What templates may consult besides the alert itself.
pub(crate) struct TemplateEnv<'a> {
    pub(crate) external_labels: &'a BTreeMap<String, String>,
    pub(crate) external_url: &'a str,
    pub(crate) query: &'a QueryFn<'a>,
}

/// An alerting rule and its active alerts.
#[derive(Debug, Clone)]
pub struct AlertingRule {
    pub(crate) name: String,
    pub(crate) expr: String,
    pub(crate) hold_ms: i64,
    pub(crate) keep_firing_for_ms: i64,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) active: HashMap<Labels, ActiveAlert>,
    pub(crate) restored: bool,
}

impl AlertingRule {
    /// A rule with no active alerts, not yet restored.
    pub fn new(
        name: &str,
        expr: &str,
        hold_ms: i64,
        keep_firing_for_ms: i64,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        AlertingRule {
            name: name.to_string(),
            expr: expr.to_string(),
            hold_ms,
            keep_firing_for_ms,
            labels,
            annotations,
            active: HashMap::new(),
            restored: false,
        }
    }

    /// The alert name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression text.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// `for` in milliseconds.
    pub fn hold_duration_ms(&self) -> i64 {
        self.hold_ms
    }

    /// `keep_firing_for` in milliseconds.
    pub fn keep_firing_for_ms(&self) -> i64 {
        self.keep_firing_for_ms
    }

    /// The rule's label templates.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The rule's annotation templates.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// Marks the `for` state as restored, so that `ALERTS` series are
    /// written (promtool's unit tests do this up front).
    pub fn set_restored(&mut self, restored: bool) {
        self.restored = restored;
    }

    /// Pending and firing alerts (not resolved), sorted by labels, as Prometheus' `ActiveAlerts`.
    pub fn active_alerts(&self) -> Vec<ActiveAlert> {
        let mut v: Vec<ActiveAlert> = self
            .active
            .values()
            .filter(|a| a.resolved_at == 0)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    /// Every kept alert, including resolved ones still being retained.
    pub fn all_alerts(&self) -> Vec<ActiveAlert> {
        let mut v: Vec<ActiveAlert> = self.active.values().cloned().collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    /// The rule's overall state: the most severe state of its alerts.
    pub fn state(&self) -> AlertState {
        let mut s = AlertState::Inactive;
        for a in self.active.values() {
            match (a.state, s) {
                (AlertState::Firing, _) => return AlertState::Firing,
                (AlertState::Pending, _) => s = AlertState::Pending,
                _ => {}
            }
        }
        s
    }

    fn alert_series(&self, a: &ActiveAlert, name: &str, state: Option<&str>) -> Labels {
        let mut b = LabelsBuilder::from_labels(&a.labels);
        b.set("__name__", name);
        if let Some(st) = state {
            b.set("alertstate", st);
        }
        b.labels()
    }

    /// Evaluates the rule on the query result `res` (taken at `ts - offset`)
    /// at group time `ts`; returns the `ALERTS` / `ALERTS_FOR_STATE`
    /// samples to write at `ts - offset`.
    pub(crate) fn eval(
        &mut self,
        res: Vec<Sample>,
        ts: i64,
        offset: i64,
        limit: usize,
        env: &TemplateEnv<'_>,
    ) -> Result<Vec<(Labels, f64)>> {
        let mut fresh: HashMap<Labels, ActiveAlert> = HashMap::with_capacity(res.len());
        for smpl in res {
            let mut data = TemplateData {
                labels: smpl
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect(),
                external_labels: env.external_labels.clone(),
                external_url: env.external_url.to_string(),
                value: smpl.v,
            };
            // The series' own __name__ is visible to templates, as in Prometheus.
            data.labels.retain(|_, v| !v.is_empty());
            let mut lb = LabelsBuilder::from_labels(&smpl.labels);
            lb.del("__name__");
            for (k, v) in &self.labels {
                let x = expand_alert(&self.name, v, &data, Some(env.query));
                if x.is_empty() {
                    lb.del(k);
                } else {
                    lb.set(k, &x);
                }
            }
            lb.set("alertname", &self.name);
            let annotations: BTreeMap<String, String> = self
                .annotations
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        expand_alert(&self.name, v, &data, Some(env.query)),
                    )
                })
                .collect();
            let labels = lb.labels();
            if fresh.contains_key(&labels) {
                return Err(Error::DuplicateAlertLabelset);
            }
            fresh.insert(
                labels.clone(),
                ActiveAlert {
                    state: AlertState::Pending,
                    labels,
                    annotations,
                    value: smpl.v,
                    active_at: ts,
                    fired_at: 0,
                    resolved_at: 0,
                    last_sent_at: None,
                    valid_until: 0,
                    keep_firing_since: 0,
                },
            );
        }
        let result_fps: HashSet<Labels> = fresh.keys().cloned().collect();
        for (h, a) in fresh {
            if let Some(old) = self.active.get_mut(&h) {
                if old.state != AlertState::Inactive {
                    old.value = a.value;
                    old.annotations = a.annotations;
                    continue;
                }
            }
            self.active.insert(h, a);
        }
        let mut out = Vec::new();
        let mut num_active = 0usize;
        let mut remove = Vec::new();
        let mut keys: Vec<Labels> = self.active.keys().cloned().collect();
        keys.sort();
        for fp in keys {
            let Some(a) = self.active.get_mut(&fp) else {
                continue;
            };
            if !result_fps.contains(&fp) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && self.keep_firing_for_ms > 0 {
                    if a.keep_firing_since == 0 {
                        a.keep_firing_since = ts;
                    }
                    if ts - a.keep_firing_since < self.keep_firing_for_ms {
                        keep_firing = true;
                    }
                }
                if a.state == AlertState::Pending
                    || (a.resolved_at != 0 && ts - a.resolved_at > RESOLVED_RETENTION_MS)
                {
                    remove.push(fp.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = ts;
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since = 0;
            }
            num_active += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= self.hold_ms {
                a.state = AlertState::Firing;
                a.fired_at = ts;
            }
            if self.restored {
                let a = a.clone();
                out.push((
                    self.alert_series(&a, ALERT_METRIC_NAME, Some(a.state.as_str())),
                    1.0,
                ));
                out.push((
                    self.alert_series(&a, ALERT_FOR_STATE_METRIC_NAME, None),
                    (a.active_at.div_euclid(1000)) as f64,
                ));
            }
        }
        for fp in remove {
            self.active.remove(&fp);
        }
        let _ = offset;
        if limit > 0 && num_active > limit {
            self.active.clear();
            return Err(Error::Limit {
                limit,
                got: num_active,
                what: "alerts",
            });
        }
        Ok(out)
    }

    /// Alerts to send at `ts` (firing, and resolved ones until sent),
    /// marking them sent. `interval` is the group's interval.
    pub(crate) fn alerts_to_send(
        &mut self,
        ts: i64,
        resend_delay: i64,
        interval: i64,
    ) -> Vec<ActiveAlert> {
        let mut out = Vec::new();
        for a in self.active.values_mut() {
            if a.needs_sending(ts, resend_delay) {
                a.last_sent_at = Some(ts);
                let delta = resend_delay.max(interval);
                a.valid_until = ts + 4 * delta;
                out.push(a.clone());
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Prometheus' `RestoreForState` for this rule: reads
    /// `ALERTS_FOR_STATE` in `[ts - outage_tolerance, ts]` and moves the
    /// `ActiveAt` of current alerts accordingly.
    pub(crate) fn restore_for_state(
        &mut self,
        q: &dyn Queryable,
        ts: i64,
        outage_tolerance: i64,
        grace: i64,
    ) -> Result<()> {
        if self.hold_ms < grace {
            self.restored = true;
            return Ok(());
        }
        let querier = q.querier(ts - outage_tolerance, ts)?;
        let mut ms = vec![
            Matcher::equal("__name__", ALERT_FOR_STATE_METRIC_NAME),
            Matcher::equal("alertname", &self.name),
        ];
        for (k, v) in &self.labels {
            ms.push(Matcher::equal(k, v));
        }
        let mut last: HashMap<Labels, (i64, f64)> = HashMap::new();
        for s in querier.select(false, None, &ms)? {
            let s = s?;
            let key = s.labels().without_metric_name();
            let mut it = s.iterator();
            let mut lt = None;
            while it.next() == ValueType::Float {
                lt = Some(it.at());
            }
            if let Some(p) = lt {
                last.insert(key, p);
            }
        }
        for a in self.active.values_mut() {
            let Some(&(t, v)) = last.get(&a.labels) else {
                continue;
            };
            if is_stale_nan(v) {
                continue;
            }
            let down_at = t.div_euclid(1000) * 1000;
            let mut restored_active_at = (v as i64) * 1000;
            let spent = down_at - restored_active_at;
            let remaining = self.hold_ms - spent;
            if remaining <= 0 {
            } else if remaining < grace {
                restored_active_at = ts + grace - self.hold_ms;
            } else {
                restored_active_at += ts - down_at;
            }
            a.active_at = restored_active_at;
        }
        self.restored = true;
        Ok(())
    }
}
