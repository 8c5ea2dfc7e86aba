//! `promtool test rules`: runs Prometheus' rule unit-test files
//! (`cmd/promtool/unittest.go`) on the virtual clock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use promlite_model::{format_duration, parse_duration, Labels};
use promlite_promql::{Engine, EngineOpts, Value};
use promlite_promqltest::{parse_series_line, SeqValue, StorageFactory, TestStorage};
use promlite_storage::{Appendable, Appender, Querier, Queryable};
use serde::Deserialize;

use crate::group::{Group, GroupOptions, Rule};
use crate::rulefmt::parse_file;
use crate::AlertState;

/// A YAML scalar read as text (Go's yaml reads numbers into strings too).
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitTestFile {
    rule_files: Option<Vec<String>>,
    evaluation_interval: Option<Scalar>,
    group_eval_order: Option<Vec<String>>,
    tests: Option<Vec<TestGroup>>,
    fuzzy_compare: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    interval: Option<Scalar>,
    input_series: Option<Vec<InputSeries>>,
    alert_rule_test: Option<Vec<AlertTestCase>>,
    promql_expr_test: Option<Vec<PromqlTestCase>>,
    external_labels: Option<BTreeMap<String, String>>,
    external_url: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    values: Option<Scalar>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTestCase {
    eval_time: Option<Scalar>,
    alertname: Option<String>,
    exp_alerts: Option<Vec<ExpAlert>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    exp_labels: Option<BTreeMap<String, String>>,
    exp_annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromqlTestCase {
    expr: String,
    eval_time: Option<Scalar>,
    exp_samples: Option<Vec<ExpSample>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    labels: Option<String>,
    value: Option<f64>,
}

/// Options of [`test_rules`].
pub struct TestRulesOptions {
    /// Makes a fresh, empty storage for each test group.
    pub storage: StorageFactory,
    /// Options of the PromQL engine used by rules and `promql_expr_test`.
    pub engine: EngineOpts,
}

impl Default for TestRulesOptions {
    fn default() -> Self {
        TestRulesOptions {
            storage: Box::new(promlite_promqltest::tsdb_storage),
            engine: EngineOpts::default(),
        }
    }
}

struct Q(Arc<dyn TestStorage>);
impl Queryable for Q {
    fn querier(&self, mint: i64, maxt: i64) -> promlite_storage::Result<Box<dyn Querier>> {
        self.0.querier(mint, maxt)
    }
}
impl Appendable for Q {
    fn appender(&self) -> Box<dyn Appender> {
        self.0.appender()
    }
}

fn dur(s: &Option<Scalar>) -> Result<i64, String> {
    match s {
        None => Ok(0),
        Some(s) => {
            let t = s.text();
            parse_duration(&t).map_err(|_| format!("not a valid duration string: {t:?}"))
        }
    }
}

/// promtool's (yaml.v2) wording for unknown fields; serde's otherwise.
fn yaml_error(e: &serde_saphyr::Error) -> String {
    let mut msg = e.without_snippet().to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    let Some(rest) = msg.strip_prefix("unknown field `") else {
        return msg;
    };
    let field = rest.split('`').next().unwrap_or("");
    let ty = [
        ("rule_files", "unitTestFile"),
        ("input_series", "testGroup"),
        ("values", "series"),
        ("exp_alerts", "alertTestCase"),
        ("exp_annotations", "alert"),
        ("exp_samples", "promqlTestCase"),
        ("value", "sample"),
    ]
    .iter()
    .find(|(f, _)| {
        rest.contains(&format!("`{f}`"))
            || rest.contains(&format!(" {f},"))
            || rest.ends_with(&format!(" {f}"))
    })
    .map(|(_, t)| *t)
    .unwrap_or("unitTestFile");
    let line = e.location().map(|l| l.line()).unwrap_or(0);
    format!("yaml: unmarshal errors:\n  line {line}: field {field} not found in type main.{ty}")
}

/// Go's `time.Duration.String()` of `ms` milliseconds.
fn go_duration(ms: i64) -> String {
    crate::template::go_duration_string(ms as i128 * 1_000_000)
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`.
fn format_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format!("{:e}", v);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}E{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// Runs promtool's rule unit tests in `files`, as `promtool test rules`.
/// Returns the exit code (0: all passed, 1: failures) and the output
/// (promtool's stdout and stderr, interleaved as a terminal shows them).
pub fn test_rules(files: &[PathBuf], opts: &TestRulesOptions) -> (i32, String) {
    let mut out = String::new();
    let mut failed = false;
    for f in files {
        out.push_str(&format!("Unit Testing:  {}\n", f.display()));
        let errs = rule_unit_test(f, opts, &mut out);
        if errs.is_empty() {
            out.push_str("  SUCCESS\n");
        } else {
            out.push_str("  FAILED:\n");
            for e in errs {
                out.push_str(&e);
                out.push_str("\n\n");
            }
            failed = true;
        }
        out.push('\n');
    }
    (i32::from(failed), out)
}

fn rule_unit_test(file: &Path, opts: &TestRulesOptions, out: &mut String) -> Vec<String> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return vec![crate::error::go_open_error(file, &e)],
    };
    let utf: UnitTestFile = match serde_saphyr::from_str(&text) {
        Ok(u) => u,
        Err(e) => return vec![yaml_error(&e)],
    };
    let base = file.parent().unwrap_or(Path::new(""));
    let mut rule_files = Vec::new();
    for rf in utf.rule_files.clone().unwrap_or_default() {
        let p = if Path::new(&rf).is_absolute() {
            PathBuf::from(&rf)
        } else {
            base.join(&rf)
        };
        let pat = p.to_string_lossy().to_string();
        let mut m: Vec<PathBuf> = match glob::glob(&pat) {
            Ok(g) => g.filter_map(|x| x.ok()).collect(),
            Err(e) => return vec![e.to_string()],
        };
        m.sort();
        if m.is_empty() {
            out.push_str(&format!("  WARNING: no file match pattern {pat}\n"));
        }
        rule_files.extend(m);
    }
    let eval_interval = match dur(&utf.evaluation_interval) {
        Ok(0) => 60_000,
        Ok(v) => v,
        Err(e) => return vec![e],
    };
    let mut order = HashMap::new();
    for (i, g) in utf
        .group_eval_order
        .clone()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if order.contains_key(&g) {
            return vec![format!("group name repeated in evaluation order: {g}")];
        }
        order.insert(g, i);
    }
    let mut errs = Vec::new();
    for tg in utf.tests.as_deref().unwrap_or_default() {
        errs.extend(run_group(
            tg,
            eval_interval,
            &order,
            &rule_files,
            opts,
            utf.fuzzy_compare.unwrap_or(false),
        ));
    }
    errs
}

fn run_group(
    tg: &TestGroup,
    eval_interval: i64,
    order: &HashMap<String, usize>,
    rule_files: &[PathBuf],
    opts: &TestRulesOptions,
    fuzzy: bool,
) -> Vec<String> {
    let interval = match dur(&tg.interval) {
        Ok(0) => eval_interval,
        Ok(v) => v,
        Err(e) => return vec![e],
    };
    let store = (opts.storage)();
    // Parse the input series; samples are loaded lazily up to each
    // evaluation time, as promtool's lazy loader does.
    let mut input: Vec<(i64, usize, f64)> = Vec::new();
    let mut input_labels = Vec::new();
    for s in tg.input_series.as_deref().unwrap_or_default() {
        let values = s.values.as_ref().map(|v| v.text()).unwrap_or_default();
        let line = match parse_series_line(&format!("{} {}", s.series, values)) {
            Ok(l) => l,
            Err(e) => return vec![e.to_string()],
        };
        for (i, v) in line.values.iter().enumerate() {
            match v {
                SeqValue::Omitted => {}
                SeqValue::Float(f) => input.push((i as i64 * interval, input_labels.len(), *f)),
                SeqValue::Histogram => return vec!["native histograms are not supported".into()],
            }
        }
        input_labels.push(line.labels);
    }
    input.sort_by_key(|x| x.0);
    let mut loaded = 0;
    let load_till = |ts: i64, loaded: &mut usize| -> Result<(), String> {
        let mut app = store.appender();
        while *loaded < input.len() && input[*loaded].0 <= ts {
            let (t, li, v) = input[*loaded];
            app.append(None, &input_labels[li], t, v)
                .map_err(|e| e.to_string())?;
            *loaded += 1;
        }
        app.commit().map_err(|e| e.to_string())
    };
    let engine = Arc::new(Engine::new(opts.engine.clone()));
    let q = Arc::new(Q(store.clone()));
    let mut gopts = GroupOptions::new(engine.clone(), q.clone(), q.clone());
    gopts.default_interval_ms = interval;
    gopts.external_labels = tg.external_labels.clone().unwrap_or_default();
    gopts.external_url = tg.external_url.clone().unwrap_or_default();
    let mut groups = Vec::new();
    let mut load_errs = Vec::new();
    for f in rule_files {
        match parse_file(f) {
            Ok(specs) => groups.extend(specs.iter().map(|s| Group::new(s, gopts.clone()))),
            Err(es) => load_errs.extend(es.into_iter().map(|e| e.to_string())),
        }
    }
    if !load_errs.is_empty() {
        return load_errs;
    }
    groups.sort_by_key(|g| order.get(g.name()).copied().unwrap_or(0));
    for g in &mut groups {
        for r in g.rules_mut() {
            if let Rule::Alerting(a) = &mut r.rule {
                a.set_restored(true);
            }
        }
    }
    let test_name = tg.name.clone().unwrap_or_default();
    // Alert tests by eval time.
    let mut alert_tests: BTreeMap<i64, Vec<(&AlertTestCase, String)>> = BTreeMap::new();
    for at in tg.alert_rule_test.as_deref().unwrap_or_default() {
        let t = match dur(&at.eval_time) {
            Ok(t) => t,
            Err(e) => return vec![e],
        };
        let Some(name) = at.alertname.clone().filter(|n| !n.is_empty()) else {
            let gl = if test_name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {test_name})")
            };
            return vec![format!("an item under alert_rule_test misses required attribute alertname at eval_time {}{gl}", format_duration(t))];
        };
        alert_tests.entry(t).or_default().push((at, name));
    }
    let mut max_t = alert_tests.keys().next_back().copied().unwrap_or(0);
    let mut promql_times = Vec::new();
    for pt in tg.promql_expr_test.as_deref().unwrap_or_default() {
        match dur(&pt.eval_time) {
            Ok(t) => {
                max_t = max_t.max(t);
                promql_times.push(t);
            }
            Err(e) => return vec![e],
        }
    }
    let alert_times: Vec<i64> = alert_tests.keys().copied().collect();
    let mut curr = 0;
    let mut errs = Vec::new();
    let mut ts = 0;
    while ts <= max_t {
        if let Err(e) = load_till(ts, &mut loaded) {
            errs.push(e);
            return errs;
        }
        let mut eval_errs = Vec::new();
        for g in &mut groups {
            g.eval(ts);
            for r in g.rules() {
                if let Some(e) = &r.last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        r.name(),
                        go_duration(ts)
                    ));
                }
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return errs;
        }
        while curr < alert_times.len()
            && ts <= alert_times[curr]
            && alert_times[curr] < ts + eval_interval
        {
            let t = alert_times[curr];
            let wanted: HashSet<&str> = alert_tests[&t].iter().map(|(_, n)| n.as_str()).collect();
            let mut got: HashMap<String, Vec<(Labels, Labels)>> = HashMap::new();
            for g in &groups {
                for r in g.rules() {
                    let Rule::Alerting(a) = &r.rule else { continue };
                    if !wanted.contains(a.name()) {
                        continue;
                    }
                    let e = got.entry(a.name().to_string()).or_default();
                    for al in a.all_alerts() {
                        if al.state == AlertState::Firing {
                            e.push((
                                al.labels.clone(),
                                Labels::from_pairs(&al.annotations.iter().collect::<Vec<_>>()),
                            ));
                        }
                    }
                }
            }
            for (tc, name) in &alert_tests[&t] {
                let mut g = got.get(name).cloned().unwrap_or_default();
                let mut exp: Vec<(Labels, Labels)> = tc
                    .exp_alerts
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|a| {
                        let mut l = a.exp_labels.clone().unwrap_or_default();
                        l.insert("alertname".into(), name.clone());
                        let ann = a.exp_annotations.clone().unwrap_or_default();
                        (
                            Labels::from_pairs(&l.iter().collect::<Vec<_>>()),
                            Labels::from_pairs(&ann.iter().collect::<Vec<_>>()),
                        )
                    })
                    .collect();
                g.sort();
                exp.sort();
                if g != exp {
                    let tn = if test_name.is_empty() {
                        String::new()
                    } else {
                        format!("    name: {test_name},\n")
                    };
                    errs.push(format!(
                        "{tn}    alertname: {name}, time: {}, \n        exp:{}, \n        got:{}",
                        format_duration(t),
                        indent(&alerts_string(&exp), "            "),
                        indent(&alerts_string(&g), "            ")
                    ));
                }
            }
            curr += 1;
        }
        ts += eval_interval;
    }
    // PromQL expression tests.
    'outer: for (pt, t) in tg
        .promql_expr_test
        .as_deref()
        .unwrap_or_default()
        .iter()
        .zip(promql_times)
    {
        let res = match engine.instant_query(q.as_ref(), &pt.expr, t) {
            Ok(r) => r,
            Err(e) => {
                errs.push(format!(
                    "    expr: {:?}, time: {}, err: {e}",
                    pt.expr,
                    format_duration(t)
                ));
                continue;
            }
        };
        let mut got: Vec<(Labels, f64)> = match res.value {
            Value::Vector(v) => v.into_iter().map(|s| (s.labels, s.v)).collect(),
            Value::Scalar { v, .. } => vec![(Labels::empty(), v)],
            _ => {
                errs.push(format!(
                    "    expr: {:?}, time: {}, err: rule result is not a vector or scalar",
                    pt.expr,
                    format_duration(t)
                ));
                continue;
            }
        };
        let mut exp = Vec::new();
        for s in pt.exp_samples.as_deref().unwrap_or_default() {
            let ls = s.labels.clone().unwrap_or_default();
            let labels = if ls.trim().is_empty() {
                Labels::empty()
            } else {
                match parse_series_line(&ls) {
                    Ok(l) if l.values.is_empty() => l.labels,
                    Ok(_) | Err(_) => {
                        errs.push(format!(
                            "    expr: {:?}, time: {}, err: labels {:?}: could not parse labels",
                            pt.expr,
                            format_duration(t),
                            ls
                        ));
                        continue 'outer;
                    }
                }
            };
            exp.push((labels, s.value.unwrap_or(0.0)));
        }
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let same = exp.len() == got.len()
            && exp.iter().zip(&got).all(|(a, b)| {
                a.0 == b.0
                    && (a.1 == b.1
                        || (a.1.is_nan() && b.1.is_nan())
                        || (fuzzy && ((a.1 - b.1).abs() <= 1e-12 * a.1.abs().max(b.1.abs()))))
            });
        if !same {
            errs.push(format!(
                "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
                pt.expr,
                format_duration(t),
                samples_string(&exp),
                samples_string(&got)
            ));
        }
    }
    errs
}

fn samples_string(s: &[(Labels, f64)]) -> String {
    if s.is_empty() {
        return "nil".into();
    }
    s.iter()
        .map(|(l, v)| format!("{l} {}", format_e(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn alerts_string(a: &[(Labels, Labels)]) -> String {
    if a.is_empty() {
        return "[]".into();
    }
    let mut s = String::from("[\n");
    for (i, (l, ann)) in a.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(&format!("{i}:"));
        s.push_str(&indent(&format!("\nLabels:{l}\nAnnotations:{ann}"), "  "));
    }
    s.push_str("\n]");
    s
}

fn indent(lines: &str, ind: &str) -> String {
    lines
        .split('\n')
        .collect::<Vec<_>>()
        .join(&format!("\n{ind}"))
}
