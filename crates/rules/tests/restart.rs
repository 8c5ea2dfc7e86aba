//! Rule output across a restart of the database and the rule group: the
//! recorded series has no duplicate or missing sample, and an alert keeps
//! its `for` progress (restored from ALERTS_FOR_STATE).

use std::path::Path;
use std::sync::Arc;

use promlite_model::{Labels, Matcher};
use promlite_promql::{Engine, EngineOpts};
use promlite_rules::{parse_rules, AlertState, Group, GroupOptions, Rule};
use promlite_storage::{Appendable, Queryable, ValueType};
use promlite_tsdb::{Db, DbOptions};

const M: i64 = 60_000;
const START: i64 = 1_700_000_000_000 / M * M;

const RULES: &str = r#"groups:
  - name: g
    interval: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        for: 20m
"#;

fn append_input(db: &Db) {
    for i in 0..=45 {
        let t = START + i * M;
        let mut app = db.appender();
        app.append(
            None,
            &Labels::from_pairs(&[("__name__", "up"), ("job", "j"), ("instance", "a")]),
            t,
            1.0,
        )
        .unwrap();
        let b = if i < 10 { 1.0 } else { 0.0 };
        app.append(
            None,
            &Labels::from_pairs(&[("__name__", "up"), ("job", "j"), ("instance", "b")]),
            t,
            b,
        )
        .unwrap();
        app.commit().unwrap();
    }
}

fn group(db: &Arc<Db>) -> Group {
    let specs = parse_rules(RULES, Path::new("rules.yml")).unwrap();
    let opts = GroupOptions::new(
        Arc::new(Engine::new(EngineOpts::default())),
        db.clone(),
        db.clone(),
    );
    Group::new(&specs[0], opts)
}

fn samples(db: &Db, name: &str) -> Vec<(i64, f64)> {
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

fn state(g: &Group) -> AlertState {
    match &g.rules()[1].rule {
        Rule::Alerting(a) => a.state(),
        Rule::Recording(_) => unreachable!(),
    }
}

/// Evaluates every minute from 0 to 45m; with `restart_at`, the database
/// and the group are closed and reopened before that evaluation, and the
/// `for` state is restored after the second evaluation, as the rule manager
/// does. Returns the recorded samples and the minute the alert fired.
fn run(dir: &Path, restart_at: Option<i64>) -> (Vec<(i64, f64)>, Option<i64>) {
    let mut db = Arc::new(Db::open(dir, DbOptions::default()).unwrap());
    append_input(&db);
    let mut g = group(&db);
    let mut since_restart = 0;
    let mut fired = None;
    for i in 0..=45 {
        let t = START + i * M;
        if restart_at == Some(i) {
            drop(g);
            db.close().unwrap();
            drop(db);
            db = Arc::new(Db::open(dir, DbOptions::default()).unwrap());
            g = group(&db);
            g.set_should_restore(true);
            since_restart = 0;
        }
        g.eval(t);
        since_restart += 1;
        if restart_at.is_some() && since_restart == 2 {
            g.restore_for_state(t);
        }
        if fired.is_none() && state(&g) == AlertState::Firing {
            fired = Some(i);
        }
    }
    (samples(&db, "job:up:sum"), fired)
}

#[test]
fn rule_output_survives_a_restart() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (recorded, fired) = run(a.path(), None);
    let (recorded_r, fired_r) = run(b.path(), Some(15));
    assert_eq!(recorded.len(), 46);
    assert_eq!(
        recorded_r, recorded,
        "same recorded samples: none missing, none duplicated"
    );
    // Down since 10m with `for: 20m`: fires at 30m without a restart.
    assert_eq!(fired, Some(30));
    // Restarted at 15m: the 5m already spent pending are kept (a fresh
    // start would fire at 35m or later); the restore only shifts it by the
    // evaluation the restart took, as Prometheus' downtime adjustment does.
    let f = fired_r.expect("fires after the restart");
    assert!((30..=32).contains(&f), "fired at {f}m");
}
