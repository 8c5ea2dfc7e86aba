//! A rule group: its rules, evaluation on a (virtual) clock, staleness
//! markers, alert sending and per-rule health (Prometheus `rules/group.go`
//! and `rules/recording.go`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite_model::{Labels, LabelsBuilder, STALE_NAN};
use promlite_promql::{Engine, Expr, Sample, Value};
use promlite_storage::{Appendable, Error as StorageError, Queryable};

use crate::alerting::{AlertingRule, TemplateEnv};
use crate::error::{Error, Result};
use crate::notifier::{Alert, Notifier};
use crate::rulefmt::{GroupSpec, RuleKind};
use crate::template::{format_query_escape, QueryResultSamples};

/// Everything a group needs from the outside world.
#[derive(Clone)]
pub struct GroupOptions {
    /// The PromQL engine.
    pub engine: Arc<Engine>,
    /// Where rule queries read.
    pub queryable: Arc<dyn Queryable>,
    /// Where rule outputs are written.
    pub appendable: Arc<dyn Appendable>,
    /// Receives alerts to send (none: alerts are not sent).
    pub notifier: Option<Arc<dyn Notifier>>,
    /// External labels, visible to templates as `$externalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// External URL (`$externalURL`, alert generator URLs).
    pub external_url: String,
    /// Interval of groups without their own (`evaluation_interval`), ms.
    pub default_interval_ms: i64,
    /// Query offset of groups without their own (`rule_query_offset`), ms.
    pub default_query_offset_ms: i64,
    /// `--rules.alert.for-outage-tolerance` (1h), ms.
    pub outage_tolerance_ms: i64,
    /// `--rules.alert.for-grace-period` (10m), ms.
    pub for_grace_period_ms: i64,
    /// `--rules.alert.resend-delay` (1m), ms.
    pub resend_delay_ms: i64,
}

impl GroupOptions {
    /// Options with Prometheus' defaults (1m interval, no offset, 1h outage
    /// tolerance, 10m grace period, 1m resend delay) and no notifier.
    pub fn new(
        engine: Arc<Engine>,
        queryable: Arc<dyn Queryable>,
        appendable: Arc<dyn Appendable>,
    ) -> Self {
        GroupOptions {
            engine,
            queryable,
            appendable,
            notifier: None,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            default_interval_ms: 60_000,
            default_query_offset_ms: 0,
            outage_tolerance_ms: 3_600_000,
            for_grace_period_ms: 600_000,
            resend_delay_ms: 60_000,
        }
    }
}

/// A recording rule.
#[derive(Debug, Clone)]
pub struct RecordingRule {
    /// The metric name written.
    pub name: String,
    /// The expression text.
    pub expr: String,
    /// Labels added to (or replacing those of) every output series.
    pub labels: BTreeMap<String, String>,
}

/// A rule of either kind.
#[derive(Debug, Clone)]
pub enum Rule {
    /// `record:`.
    Recording(RecordingRule),
    /// `alert:`.
    Alerting(AlertingRule),
}

/// A rule's health, as `/api/v1/rules` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleHealth {
    /// Not evaluated yet.
    Unknown,
    /// The last evaluation succeeded.
    Ok,
    /// The last evaluation failed.
    Err,
}

impl RuleHealth {
    /// `unknown`, `ok` or `err`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleHealth::Unknown => "unknown",
            RuleHealth::Ok => "ok",
            RuleHealth::Err => "err",
        }
    }
}

/// A rule with its evaluation state.
#[derive(Debug, Clone)]
pub struct RuleEntry {
    /// The rule.
    pub rule: Rule,
    /// Health of the last evaluation.
    pub health: RuleHealth,
    /// Error of the last evaluation.
    pub last_error: Option<String>,
    /// Timestamp (ms) of the last evaluation; 0 before the first.
    pub last_evaluation_ms: i64,
    /// How long the last evaluation took.
    pub evaluation_duration: Duration,
    expr: Option<Expr>,
    prev_series: HashSet<Labels>,
}

impl RuleEntry {
    /// The rule's name (record or alert name).
    pub fn name(&self) -> &str {
        match &self.rule {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(a) => a.name(),
        }
    }

    /// The rule's expression text.
    pub fn query(&self) -> &str {
        match &self.rule {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(a) => a.expr(),
        }
    }
}

/// A group of rules evaluated together at one interval.
pub struct Group {
    name: String,
    file: PathBuf,
    interval_ms: i64,
    query_offset_ms: i64,
    limit: usize,
    rules: Vec<RuleEntry>,
    opts: GroupOptions,
    last_evaluation_ms: i64,
    evaluation_duration: Duration,
    should_restore: bool,
}

impl Group {
    /// Builds a group from a validated spec.
    pub fn new(spec: &GroupSpec, opts: GroupOptions) -> Self {
        let rules = spec
            .rules
            .iter()
            .map(|r| RuleEntry {
                rule: match r.kind {
                    RuleKind::Record => Rule::Recording(RecordingRule {
                        name: r.name.clone(),
                        expr: r.expr.clone(),
                        labels: r.labels.clone(),
                    }),
                    RuleKind::Alert => Rule::Alerting(AlertingRule::new(
                        &r.name,
                        &r.expr,
                        r.for_ms,
                        r.keep_firing_for_ms,
                        r.labels.clone(),
                        r.annotations.clone(),
                    )),
                },
                health: RuleHealth::Unknown,
                last_error: None,
                last_evaluation_ms: 0,
                evaluation_duration: Duration::ZERO,
                expr: promql_parser::parser::parse(&r.expr).ok(),
                prev_series: HashSet::new(),
            })
            .collect();
        Group {
            name: spec.name.clone(),
            file: spec.file.clone(),
            interval_ms: spec
                .interval_ms
                .filter(|i| *i > 0)
                .unwrap_or(opts.default_interval_ms)
                .max(1),
            query_offset_ms: spec.query_offset_ms.unwrap_or(opts.default_query_offset_ms),
            limit: spec.limit,
            rules,
            opts,
            last_evaluation_ms: 0,
            evaluation_duration: Duration::ZERO,
            should_restore: false,
        }
    }

    /// The group name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file the group came from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The evaluation interval (ms).
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// The query offset (ms).
    pub fn query_offset_ms(&self) -> i64 {
        self.query_offset_ms
    }

    /// The group's limit (0: none).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The rules with their state, in file order.
    pub fn rules(&self) -> &[RuleEntry] {
        &self.rules
    }

    /// Mutable access to the rules (e.g. to mark alerting rules restored).
    pub fn rules_mut(&mut self) -> &mut [RuleEntry] {
        &mut self.rules
    }

    /// Timestamp (ms) of the last evaluation.
    pub fn last_evaluation_ms(&self) -> i64 {
        self.last_evaluation_ms
    }

    /// Duration of the last evaluation.
    pub fn evaluation_duration(&self) -> Duration {
        self.evaluation_duration
    }

    /// Requests that the `for` state be restored after the next evaluation
    /// but one, as Prometheus does when it starts.
    pub fn set_should_restore(&mut self, v: bool) {
        self.should_restore = v;
    }

    pub(crate) fn should_restore(&self) -> bool {
        self.should_restore
    }

    /// Prometheus' `hash()` of the group: xxhash64 of `{file, name}`.
    fn hash(&self) -> u64 {
        let mut b = Vec::new();
        for (n, v) in [
            ("file", self.file.to_string_lossy().to_string()),
            ("name", self.name.clone()),
        ] {
            b.extend_from_slice(n.as_bytes());
            b.push(0xff);
            b.extend_from_slice(v.as_bytes());
            b.push(0xff);
        }
        xxhash_rust::xxh64::xxh64(&b, 0)
    }

    /// The group's evaluation time at or before `now_ms`, aligned to the
    /// interval with the group's hash-derived offset (`EvalTimestamp`).
    pub fn eval_timestamp(&self, now_ms: i64) -> i64 {
        // Prometheus works in nanoseconds; the offset is truncated to the
        // millisecond, the precision of our timestamps.
        let interval_ns = self.interval_ms as u128 * 1_000_000;
        let offset = ((self.hash() as u128 % interval_ns) / 1_000_000) as i64;
        let adj = now_ms - offset;
        adj - adj.rem_euclid(self.interval_ms) + offset
    }

    /// Copies alert state and staleness tracking from `old` for rules that
    /// are the same in both (on reload, as Prometheus' `CopyState`).
    pub fn copy_state(&mut self, old: &Group) {
        self.last_evaluation_ms = old.last_evaluation_ms;
        self.evaluation_duration = old.evaluation_duration;
        for r in &mut self.rules {
            let same = old
                .rules
                .iter()
                .find(|o| o.name() == r.name() && o.query() == r.query());
            let Some(o) = same else { continue };
            r.prev_series = o.prev_series.clone();
            r.health = o.health;
            r.last_error = o.last_error.clone();
            r.last_evaluation_ms = o.last_evaluation_ms;
            if let (Rule::Alerting(new), Rule::Alerting(old)) = (&mut r.rule, &o.rule) {
                if new.labels() == old.labels() {
                    new.active = old.active.clone();
                    new.restored = old.restored;
                }
            }
        }
    }

    fn run_query(&self, expr: &Option<Expr>, text: &str, t: i64) -> Result<Vec<Sample>> {
        let res = match expr {
            Some(e) => self
                .opts
                .engine
                .instant_query_expr(self.opts.queryable.as_ref(), e, t)?,
            None => self
                .opts
                .engine
                .instant_query(self.opts.queryable.as_ref(), text, t)?,
        };
        match res.value {
            Value::Vector(v) => Ok(v),
            Value::Scalar { t, v } => Ok(vec![Sample {
                labels: Labels::empty(),
                t,
                v,
            }]),
            _ => Err(Error::NotVector),
        }
    }

    /// Evaluates every rule once at group time `ts` (ms): queries at
    /// `ts - query_offset`, writes outputs and staleness markers, updates
    /// alert states and sends alerts to the notifier.
    pub fn eval(&mut self, ts: i64) {
        let start = Instant::now();
        let qt = ts - self.query_offset_ms;
        for i in 0..self.rules.len() {
            let rstart = Instant::now();
            let out = self.eval_rule(i, ts, qt);
            let entry = &mut self.rules[i];
            entry.last_evaluation_ms = ts;
            entry.evaluation_duration = rstart.elapsed();
            let ok = out.is_ok();
            match out {
                Ok(series) => {
                    entry.health = RuleHealth::Ok;
                    entry.last_error = None;
                    let current: HashSet<Labels> = series.iter().map(|(l, _)| l.clone()).collect();
                    let stale: Vec<Labels> =
                        entry.prev_series.difference(&current).cloned().collect();
                    entry.prev_series = current;
                    self.write(series, stale, qt);
                }
                Err(e) => {
                    tracing::warn!(group = %self.name, rule = entry.name(), err = %e, "evaluating rule failed");
                    entry.health = RuleHealth::Err;
                    entry.last_error = Some(e.to_string());
                }
            }
            // As Prometheus, a failed evaluation sends nothing.
            if !ok {
                continue;
            }
            if let Rule::Alerting(a) = &mut self.rules[i].rule {
                if let Some(n) = &self.opts.notifier {
                    let alerts = a.alerts_to_send(ts, self.opts.resend_delay_ms, self.interval_ms);
                    if !alerts.is_empty() {
                        let url = format!(
                            "{}/graph?g0.expr={}&g0.tab=1",
                            self.opts.external_url.trim_end_matches('/'),
                            format_query_escape(a.expr())
                        );
                        let out = alerts
                            .into_iter()
                            .map(|x| Alert {
                                labels: x.labels,
                                annotations: x.annotations,
                                starts_at: x.fired_at,
                                ends_at: if x.resolved_at != 0 {
                                    x.resolved_at
                                } else {
                                    x.valid_until
                                },
                                generator_url: url.clone(),
                            })
                            .collect();
                        n.send(out);
                    }
                }
            }
        }
        self.last_evaluation_ms = ts;
        self.evaluation_duration = start.elapsed();
    }

    fn eval_rule(&mut self, i: usize, ts: i64, qt: i64) -> Result<Vec<(Labels, f64)>> {
        let entry = &self.rules[i];
        let res = self.run_query(&entry.expr, entry.query(), qt)?;
        let limit = self.limit;
        match &self.rules[i].rule {
            Rule::Recording(r) => {
                let mut out = Vec::with_capacity(res.len());
                let mut seen = HashSet::with_capacity(res.len());
                for s in res {
                    let mut b = LabelsBuilder::from_labels(&s.labels);
                    b.set("__name__", &r.name);
                    for (k, v) in &r.labels {
                        b.set(k, v);
                    }
                    let l = b.labels();
                    if !seen.insert(l.clone()) {
                        return Err(Error::DuplicateLabelset);
                    }
                    out.push((l, s.v));
                }
                if limit > 0 && out.len() > limit {
                    return Err(Error::Limit {
                        limit,
                        got: out.len(),
                        what: "series",
                    });
                }
                Ok(out)
            }
            Rule::Alerting(_) => {
                let engine = self.opts.engine.clone();
                let q = self.opts.queryable.clone();
                let query = move |e: &str| -> std::result::Result<QueryResultSamples, String> {
                    let r = engine
                        .instant_query(q.as_ref(), e, ts)
                        .map_err(|e| e.to_string())?;
                    match r.value {
                        Value::Vector(v) => Ok(v
                            .into_iter()
                            .map(|s| {
                                (
                                    s.labels
                                        .iter()
                                        .map(|l| (l.name.to_string(), l.value.to_string()))
                                        .collect(),
                                    s.v,
                                )
                            })
                            .collect()),
                        Value::Scalar { v, .. } => Ok(vec![(BTreeMap::new(), v)]),
                        _ => Err("query result is not a vector or scalar".into()),
                    }
                };
                let ext = self.opts.external_labels.clone();
                let url = self.opts.external_url.clone();
                let env = TemplateEnv {
                    external_labels: &ext,
                    external_url: &url,
                    query: &query,
                };
                let Rule::Alerting(a) = &mut self.rules[i].rule else {
                    return Ok(Vec::new());
                };
                a.eval(res, ts, self.query_offset_ms, limit, &env)
            }
        }
    }

    fn write(&self, series: Vec<(Labels, f64)>, stale: Vec<Labels>, t: i64) {
        if series.is_empty() && stale.is_empty() {
            return;
        }
        let mut app = self.opts.appendable.appender();
        for (l, v) in series
            .iter()
            .map(|(l, v)| (l, *v))
            .chain(stale.iter().map(|l| (l, STALE_NAN)))
        {
            match app.append(None, l, t, v) {
                Ok(_) => {}
                Err(StorageError::OutOfOrderSample | StorageError::DuplicateSampleForTimestamp) => {
                }
                Err(e) => {
                    tracing::warn!(group = %self.name, series = %l, err = %e, "rule sample append failed")
                }
            }
        }
        if let Err(e) = app.commit() {
            tracing::warn!(group = %self.name, err = %e, "committing rule results failed");
        }
    }

    /// Restores the `for` state of alerting rules from `ALERTS_FOR_STATE`
    /// as of `ts` (Prometheus' `RestoreForState`).
    pub fn restore_for_state(&mut self, ts: i64) {
        let q = self.opts.queryable.clone();
        for r in &mut self.rules {
            if let Rule::Alerting(a) = &mut r.rule {
                if let Err(e) = a.restore_for_state(
                    q.as_ref(),
                    ts,
                    self.opts.outage_tolerance_ms,
                    self.opts.for_grace_period_ms,
                ) {
                    tracing::warn!(group = %self.name, rule = a.name(), err = %e, "restoring for state failed");
                    a.set_restored(true);
                }
            }
        }
        self.should_restore = false;
    }

    /// Writes staleness markers at `ts` for everything the rules produced
    /// last time (when the group is removed or the server stops).
    pub fn mark_stale(&mut self, ts: i64) {
        let mut stale = Vec::new();
        for r in &mut self.rules {
            stale.extend(r.prev_series.drain());
        }
        self.write(Vec::new(), stale, ts);
    }
}
