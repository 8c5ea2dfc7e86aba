//! Tests of rule evaluation: the alert state machine, recording rules and
//! staleness, `for`-state restore, notifications and the manager loop.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use promlite_model::{is_stale_nan, Labels, Matcher};
use promlite_promql::{Engine, EngineOpts, Value};
use promlite_storage::{Appendable, Queryable, ValueType};
use promlite_tsdb::{Db, DbOptions};

use crate::{
    parse_rules, Alert, AlertState, Group, GroupOptions, Notifier, Rule, RuleHealth, RuleManager,
};

const M: i64 = 60_000;

type Sent = Arc<Mutex<Vec<(i64, Vec<Alert>)>>>;

struct Env {
    db: Arc<Db>,
    opts: GroupOptions,
    sent: Sent,
}

struct Recorder(Sent);

impl Notifier for Recorder {
    fn send(&self, alerts: Vec<Alert>) {
        self.0.lock().push((0, alerts));
    }
}

fn env() -> Env {
    let db = Arc::new(Db::open_in_memory(DbOptions::default()));
    let engine = Arc::new(Engine::new(EngineOpts::default()));
    let mut opts = GroupOptions::new(engine, db.clone(), db.clone());
    let sent = Arc::new(Mutex::new(Vec::new()));
    opts.notifier = Some(Arc::new(Recorder(sent.clone())));
    opts.external_url = "http://prom:9090".into();
    Env { db, opts, sent }
}

fn group(env: &Env, yaml: &str) -> Group {
    let specs = parse_rules(yaml, Path::new("test.yml")).unwrap();
    Group::new(&specs[0], env.opts.clone())
}

fn add(db: &Db, series: &[(&str, &str)], t: i64, v: f64) {
    let mut app = db.appender();
    app.append(None, &Labels::from_pairs(series), t, v).unwrap();
    app.commit().unwrap();
}

fn query(db: &Db, q: &str, t: i64) -> Vec<(Labels, f64)> {
    let e = Engine::new(EngineOpts::default());
    match e.instant_query(db, q, t).unwrap().value {
        Value::Vector(v) => v.into_iter().map(|s| (s.labels, s.v)).collect(),
        other => panic!("{other:?}"),
    }
}

fn raw_samples(db: &Db, name: &str) -> Vec<(i64, f64)> {
    let q = db.querier(i64::MIN / 2, i64::MAX / 2).unwrap();
    let mut out = Vec::new();
    for s in q
        .select(true, None, &[Matcher::equal("__name__", name)])
        .unwrap()
    {
        let s = s.unwrap();
        let mut it = s.iterator();
        while it.next() == ValueType::Float {
            out.push(it.at());
        }
    }
    out
}

fn alerting(g: &Group, i: usize) -> &crate::AlertingRule {
    match &g.rules()[i].rule {
        Rule::Alerting(a) => a,
        Rule::Recording(_) => panic!("not an alerting rule"),
    }
}

const DOWN: &str = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 2m\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.instance }} is down ({{ $value }})'}\n";

#[test]
fn alert_goes_pending_then_firing_then_resolved() {
    let e = env();
    let mut g = group(&e, DOWN);
    for r in g.rules_mut() {
        if let Rule::Alerting(a) = &mut r.rule {
            a.set_restored(true);
        }
    }
    let up = [("__name__", "up"), ("instance", "a")];
    for i in 0..=3 {
        add(&e.db, &up, i * M, 0.0);
    }
    g.eval(0);
    assert_eq!(alerting(&g, 0).state(), AlertState::Pending);
    g.eval(M);
    assert_eq!(alerting(&g, 0).state(), AlertState::Pending);
    g.eval(2 * M);
    assert_eq!(alerting(&g, 0).state(), AlertState::Firing);
    let a = &alerting(&g, 0).active_alerts()[0];
    assert_eq!(a.annotations["summary"], "a is down (0)");
    assert_eq!(a.labels.get("alertname"), Some("Down"));
    assert_eq!(a.active_at, 0);
    assert_eq!(a.fired_at, 2 * M);
    // ALERTS was written pending, then firing.
    let alerts = query(&e.db, "ALERTS", 2 * M);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].0.get("alertstate"), Some("firing"));
    let fs = query(&e.db, "ALERTS_FOR_STATE", 2 * M);
    assert_eq!(fs[0].1, 0.0);
    add(&e.db, &up, 4 * M, 1.0);
    g.eval(4 * M);
    assert_eq!(alerting(&g, 0).state(), AlertState::Inactive);
    assert!(alerting(&g, 0).active_alerts().is_empty());
    assert_eq!(alerting(&g, 0).all_alerts()[0].resolved_at, 4 * M);
    // The ALERTS series got a staleness marker.
    let raw = raw_samples(&e.db, "ALERTS");
    assert!(is_stale_nan(raw.last().unwrap().1), "{raw:?}");
    assert!(query(&e.db, "ALERTS", 4 * M).is_empty());
    assert_eq!(g.rules()[0].health, RuleHealth::Ok);
}

#[test]
fn pending_alert_disappears_without_firing() {
    let e = env();
    let mut g = group(&e, DOWN);
    add(&e.db, &[("__name__", "up")], 0, 0.0);
    add(&e.db, &[("__name__", "up")], M, 1.0);
    g.eval(0);
    assert_eq!(alerting(&g, 0).state(), AlertState::Pending);
    g.eval(M);
    assert!(alerting(&g, 0).all_alerts().is_empty());
    // Not restored: no ALERTS series were written.
    assert!(raw_samples(&e.db, "ALERTS").is_empty());
}

#[test]
fn keep_firing_for_holds_the_alert() {
    let e = env();
    let mut g = group(
        &e,
        "groups:\n- name: g\n  rules:\n  - alert: K\n    expr: x > 0\n    keep_firing_for: 2m\n",
    );
    add(&e.db, &[("__name__", "x")], 0, 1.0);
    add(&e.db, &[("__name__", "x")], M, 0.0);
    g.eval(0);
    assert_eq!(alerting(&g, 0).state(), AlertState::Firing);
    g.eval(M);
    assert_eq!(alerting(&g, 0).state(), AlertState::Firing);
    assert_eq!(alerting(&g, 0).all_alerts()[0].keep_firing_since, M);
    g.eval(2 * M);
    assert_eq!(alerting(&g, 0).state(), AlertState::Firing);
    g.eval(3 * M);
    assert_eq!(alerting(&g, 0).state(), AlertState::Inactive);
}

#[test]
fn notifier_gets_firing_then_resolved_alerts_with_resend_delay() {
    let e = env();
    let mut g = group(
        &e,
        "groups:\n- name: g\n  interval: 15s\n  rules:\n  - alert: A\n    expr: x > 0\n",
    );
    for i in 0..8 {
        add(&e.db, &[("__name__", "x")], i * 15_000, 1.0);
    }
    add(&e.db, &[("__name__", "x")], 8 * 15_000, 0.0);
    for i in 0..=8 {
        g.eval(i * 15_000);
    }
    let sent = e.sent.lock();
    // Sent at 0s, then again only after the 1m resend delay (75s), then resolved at 120s.
    assert_eq!(sent.len(), 3, "{sent:?}");
    let first = &sent[0].1[0];
    assert_eq!(first.starts_at, 0);
    assert_eq!(first.ends_at, 4 * 60_000);
    assert_eq!(
        first.generator_url,
        "http://prom:9090/graph?g0.expr=x+%3E+0&g0.tab=1"
    );
    let last = &sent[2].1[0];
    assert_eq!(last.ends_at, 120_000);
}

#[test]
fn resolved_alerts_are_dropped_after_retention() {
    let e = env();
    let mut g = group(
        &e,
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x > 0\n",
    );
    add(&e.db, &[("__name__", "x")], 0, 1.0);
    add(&e.db, &[("__name__", "x")], M, 0.0);
    g.eval(0);
    g.eval(M);
    assert_eq!(alerting(&g, 0).all_alerts().len(), 1);
    g.eval(M + crate::RESOLVED_RETENTION_MS);
    assert_eq!(alerting(&g, 0).all_alerts().len(), 1);
    g.eval(2 * M + crate::RESOLVED_RETENTION_MS);
    assert!(alerting(&g, 0).all_alerts().is_empty());
}

#[test]
fn recording_rule_writes_and_marks_stale() {
    let e = env();
    let mut g = group(
        &e,
        "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n    labels: {src: r}\n",
    );
    add(&e.db, &[("__name__", "up"), ("job", "a")], 0, 1.0);
    add(&e.db, &[("__name__", "up"), ("job", "b")], 0, 2.0);
    add(&e.db, &[("__name__", "up"), ("job", "a")], M, 3.0);
    add(
        &e.db,
        &[("__name__", "up"), ("job", "b")],
        M,
        f64::from_bits(promlite_model::STALE_NAN_BITS),
    );
    g.eval(0);
    let r = query(&e.db, "job:up:sum", 0);
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[0].0,
        Labels::from_pairs(&[("__name__", "job:up:sum"), ("job", "a"), ("src", "r")])
    );
    g.eval(M);
    let r = query(&e.db, "job:up:sum", M);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, 3.0);
    let q = e.db.querier(0, M).unwrap();
    let mut stale = 0;
    for s in q
        .select(
            true,
            None,
            &[
                Matcher::equal("job", "b"),
                Matcher::equal("__name__", "job:up:sum"),
            ],
        )
        .unwrap()
    {
        let s = s.unwrap();
        let mut it = s.iterator();
        while it.next() == ValueType::Float {
            if is_stale_nan(it.at().1) {
                stale += 1;
                assert_eq!(it.at().0, M);
            }
        }
    }
    assert_eq!(stale, 1);
}

#[test]
fn query_offset_shifts_query_and_output_time() {
    let e = env();
    let mut g = group(
        &e,
        "groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: r\n    expr: x\n",
    );
    add(&e.db, &[("__name__", "x")], 0, 7.0);
    add(&e.db, &[("__name__", "x")], M, 8.0);
    g.eval(M);
    assert_eq!(raw_samples(&e.db, "r"), vec![(0, 7.0)]);
}

#[test]
fn errors_set_health_and_keep_the_group_running() {
    let e = env();
    let mut g = group(
        &e,
        "groups:\n- name: g\n  limit: 1\n  rules:\n  - record: r\n    expr: x\n  - record: ok\n    expr: vector(1)\n  - record: d\n    expr: x\n    labels: {i: same}\n",
    );
    add(&e.db, &[("__name__", "x"), ("i", "1")], 0, 1.0);
    add(&e.db, &[("__name__", "x"), ("i", "2")], 0, 1.0);
    g.eval(0);
    assert_eq!(g.rules()[0].health, RuleHealth::Err);
    assert_eq!(
        g.rules()[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 series")
    );
    assert_eq!(g.rules()[1].health, RuleHealth::Ok);
    assert_eq!(
        g.rules()[2].last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying rule labels")
    );
    assert_eq!(g.last_evaluation_ms(), 0);
}

#[test]
fn restore_for_state_resumes_pending_time() {
    let e = env();
    // Before the "restart": the alert became active at t=0 and was pending
    // until 5m; its ALERTS_FOR_STATE says ActiveAt = 0s.
    let series = [
        ("__name__", "ALERTS_FOR_STATE"),
        ("alertname", "Down"),
        ("instance", "a"),
        ("severity", "page"),
    ];
    for i in 0..=5 {
        add(&e.db, &series, i * M, 0.0);
    }
    for i in 0..=40 {
        add(&e.db, &[("__name__", "up"), ("instance", "a")], i * M, 0.0);
    }
    let mut g = group(&e, &DOWN.replace("for: 2m", "for: 30m"));
    g.set_should_restore(true);
    // Restarted at 10m: first evaluation, then restore.
    g.eval(10 * M);
    assert!(query(&e.db, "ALERTS", 10 * M).is_empty());
    g.restore_for_state(10 * M);
    // 5m were spent pending before going down at 5m, 5m down: ActiveAt moves by 5m.
    assert_eq!(alerting(&g, 0).all_alerts()[0].active_at, 5 * M);
    g.eval(11 * M);
    assert_eq!(query(&e.db, "ALERTS_FOR_STATE", 11 * M)[0].1, 300.0);
    g.eval(35 * M);
    assert_eq!(alerting(&g, 0).state(), AlertState::Firing);
}

#[test]
fn restore_for_state_applies_grace_period() {
    let e = env();
    let series = [
        ("__name__", "ALERTS_FOR_STATE"),
        ("alertname", "Down"),
        ("instance", "a"),
        ("severity", "page"),
    ];
    // Active since 0, pending for 25 of 30 minutes when the server stopped.
    for i in 0..=25 {
        add(&e.db, &series, i * M, 0.0);
        add(&e.db, &[("__name__", "up"), ("instance", "a")], i * M, 0.0);
    }
    add(&e.db, &[("__name__", "up"), ("instance", "a")], 27 * M, 0.0);
    let mut g = group(&e, &DOWN.replace("for: 2m", "for: 30m"));
    g.eval(27 * M);
    g.restore_for_state(27 * M);
    // 5m remained, less than the 10m grace period: fire at 27m + 10m.
    assert_eq!(
        alerting(&g, 0).all_alerts()[0].active_at,
        27 * M + 10 * M - 30 * M
    );
}

#[test]
fn short_for_skips_restore() {
    let e = env();
    add(&e.db, &[("__name__", "up"), ("instance", "a")], 0, 0.0);
    let mut g = group(&e, DOWN);
    g.eval(0);
    g.restore_for_state(0);
    assert_eq!(alerting(&g, 0).all_alerts()[0].active_at, 0);
}

#[test]
fn eval_timestamp_is_aligned_and_in_the_past() {
    let e = env();
    let g = group(&e, "groups:\n- name: g\n  interval: 1m\n  rules: []\n");
    let now = 1_700_000_123_456;
    let t = g.eval_timestamp(now);
    assert!(t <= now && t > now - M, "{t} {now}");
    assert_eq!(g.eval_timestamp(now + M), t + M);
    assert_eq!(g.eval_timestamp(t), t);
}

#[test]
fn copy_state_keeps_active_alerts_on_reload() {
    let e = env();
    add(&e.db, &[("__name__", "up"), ("instance", "a")], 0, 0.0);
    let mut g = group(&e, DOWN);
    g.eval(0);
    let mut g2 = group(&e, DOWN);
    g2.copy_state(&g);
    assert_eq!(alerting(&g2, 0).all_alerts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_runs_groups_until_cancelled() {
    let e = env();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.yml");
    std::fs::write(
        &f,
        "groups:\n- name: g\n  interval: 50ms\n  rules:\n  - record: one\n    expr: vector(1)\n",
    )
    .unwrap();
    let m = Arc::new(RuleManager::new(e.opts.clone()));
    m.update(&[f.to_string_lossy()]).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let m2 = m.clone();
    let c2 = cancel.clone();
    let h = tokio::spawn(async move { m2.run(c2).await });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    cancel.cancel();
    h.await.unwrap();
    let n = raw_samples(&e.db, "one").len();
    assert!(n >= 3, "{n} evaluations");
    let g = m.groups()[0].clone();
    assert!(g.lock().last_evaluation_ms() > 0);
    assert!(m.active_alerts().is_empty());
    // A bad reload keeps the old groups.
    std::fs::write(
        &f,
        "groups:\n- name: g\n  rules:\n  - record: one\n    expr: sum(\n",
    )
    .unwrap();
    assert!(m.update(&[f.to_string_lossy()]).is_err());
    assert_eq!(m.groups().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_from_another_thread_restarts_loops_with_new_groups() {
    let e = env();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.yml");
    std::fs::write(
        &f,
        "groups:\n- name: a\n  interval: 50ms\n  rules:\n  - record: a\n    expr: vector(1)\n",
    )
    .unwrap();
    let m = Arc::new(RuleManager::new(e.opts.clone()));
    m.update(&[f.to_string_lossy()]).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let (m2, c2) = (m.clone(), cancel.clone());
    let h = tokio::spawn(async move { m2.run(c2).await });
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    std::fs::write(
        &f,
        "groups:\n- name: b\n  interval: 50ms\n  rules:\n  - record: b\n    expr: vector(2)\n",
    )
    .unwrap();
    let (m3, f3) = (m.clone(), f.clone());
    std::thread::spawn(move || m3.update(&[f3.to_string_lossy()]).unwrap())
        .join()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    cancel.cancel();
    h.await.unwrap();
    assert_eq!(m.groups().len(), 1);
    assert_eq!(m.groups()[0].lock().name(), "b");
    assert!(raw_samples(&e.db, "b").len() >= 2);
    // The removed group's output got a staleness marker.
    assert!(is_stale_nan(raw_samples(&e.db, "a").last().unwrap().1));
}
