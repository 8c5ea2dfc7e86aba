//! Conformance: runs the runner over Prometheus' scripts in
//! `../shared/promqltest/` and over our own `testdata/promql/*.test`.

use std::path::{Path, PathBuf};

use promlite_promqltest::{parse_skip_list, tsdb_storage, Runner, SkipList};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn skips() -> SkipList {
    let dir = workspace_root().join("testdata/promql");
    let mut s = SkipList::new();
    for f in ["skip.txt", "known_failures.txt"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        s.extend(parse_skip_list(&text));
    }
    s
}

fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "test"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn run_dir(dir: &Path) {
    let runner = Runner::new(Box::new(tsdb_storage), skips());
    let mut problems = Vec::new();
    for f in test_files(dir) {
        let report = runner.run_file(&f).unwrap();
        for e in &report.evals {
            match (&e.skipped, &e.failure) {
                (None, Some(fail)) => problems.push(format!("FAIL {} {}: {fail}", e.key, e.expr)),
                (Some(_), None) => {
                    problems.push(format!("SKIPPED BUT PASSES {} {}", e.key, e.expr))
                }
                _ => {}
            }
        }
        let (p, fl, s) = report.counts();
        eprintln!("{}: {p} passed, {fl} failed, {s} skipped", report.name);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn prometheus_conformance_scripts() {
    let dir = workspace_root().join("../shared/promqltest");
    if !dir.is_dir() {
        println!("skipping: {} is missing", dir.display());
        return;
    }
    run_dir(&dir);
}

#[test]
fn own_scripts() {
    run_dir(&workspace_root().join("testdata/promql"));
}

#[test]
fn repeated_label_set_in_one_load_keeps_the_later_line() {
    let runner = Runner::new(Box::new(tsdb_storage), SkipList::new());
    let script =
        "load 1m\n  m{a=\"1\"} 1 2\n  m{a=\"1\"} 5 6\n\neval instant at 1m m\n  m{a=\"1\"} 6\n";
    let report = runner.run_text("dup.test", script).unwrap();
    assert_eq!(report.counts(), (1, 0, 0), "{:?}", report.evals);
}

#[test]
fn loads_are_additive_within_the_twelve_hour_window() {
    let runner = Runner::new(Box::new(tsdb_storage), SkipList::new());
    let script = "load 1h\n  a 0+1x11\n\nload 1m\n  b 7\n\neval instant at 1m b\n  b 7\n";
    let report = runner.run_text("window.test", script).unwrap();
    assert_eq!(report.counts(), (1, 0, 0), "{:?}", report.evals);
}

#[test]
fn load_older_than_the_head_window_is_an_error() {
    // Prometheus' test storage has a 24h block range: the head takes
    // samples at most 12h older than its newest one.
    let runner = Runner::new(Box::new(tsdb_storage), SkipList::new());
    let script = "load 1h\n  a 0+1x13\n\nload 1m\n  b 7\n";
    assert!(runner.run_text("window.test", script).is_err());
}

#[test]
fn non_ascii_bare_label_name_is_a_syntax_error_not_a_hang() {
    let runner = Runner::new(Box::new(tsdb_storage), SkipList::new());
    assert!(runner
        .run_text("bad.test", "load 1m\n  m{Å=\"a\"} 1\n")
        .is_err());
}
