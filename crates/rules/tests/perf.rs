//! `test_rules` must stay fast: dozens of test groups in well under a
//! second in release builds (the bound here is loose for debug builds).

use std::path::Path;
use std::time::Instant;

use promlite_rules::{test_rules, TestRulesOptions};

#[test]
fn forty_test_groups_run_quickly() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rules");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        src.join("basic.rules.yaml"),
        dir.path().join("basic.rules.yaml"),
    )
    .unwrap();
    let text = std::fs::read_to_string(src.join("pass_alerts.test.yaml")).unwrap();
    let (head, tests) = text.split_once("tests:\n").unwrap();
    let many = format!("{head}tests:\n{}", tests.repeat(40));
    let f = dir.path().join("many.test.yaml");
    std::fs::write(&f, many).unwrap();
    let start = Instant::now();
    let (code, out) = test_rules(&[f], &TestRulesOptions::default());
    let took = start.elapsed();
    assert_eq!(code, 0, "{out}");
    eprintln!("40 test groups (12 evaluations of 6 rules each) took {took:?}");
    let limit = if cfg!(debug_assertions) { 20.0 } else { 1.0 };
    assert!(took.as_secs_f64() < limit, "{took:?}");
}
