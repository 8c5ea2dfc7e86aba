//! Runs `testdata/rules/*.test.yaml` with our `test_rules` and compares
//! exit codes (and, for the files below, the whole output) with promtool.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use promlite_rules::{check_rules, test_rules, TestRulesOptions};
use promlite_tsdb::{Db, DbOptions};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rules")
}

fn test_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    v.sort();
    v
}

fn tsdb_opts() -> TestRulesOptions {
    TestRulesOptions {
        storage: Box::new(|| Arc::new(Db::open_in_memory(DbOptions::default()))),
        ..Default::default()
    }
}

fn promtool(args: &[&str], dir: &Path) -> Option<(i32, String)> {
    let out = match Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(o) => o,
        Err(_) => {
            if std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!("promtool is not installed and PROMLITE_REQUIRE_PEERS=1");
            }
            eprintln!("SKIP: promtool not installed (apt-get install prometheus); comparing with expectations only");
            return None;
        }
    };
    let mut text = String::from_utf8_lossy(&out.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some((out.status.code().unwrap_or(-1), text))
}

/// Files whose output differs from promtool's in a known way: promql-parser's
/// errors carry no `1:5: parse error:` position prefix.
const KNOWN_TEXT_DIFFERENCES: &[&str] = &["fail_badrules.test.yaml", "bad.rules.yaml"];

fn normalize(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn unit_test_files_have_expected_outcomes() {
    let files = test_files();
    assert!(files.len() >= 8, "{files:?}");
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let (code, out) = test_rules(std::slice::from_ref(f), &tsdb_opts());
        let want = if name.starts_with("fail_") { 1 } else { 0 };
        assert_eq!(code, want, "{name}:\n{out}");
    }
}

#[test]
fn unit_test_outcomes_match_promtool() {
    let dir = testdata();
    let mut same_code = 0;
    let mut same_text = 0;
    let files = test_files();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let Some((pcode, pout)) = promtool(&["test", "rules", &name], &dir) else {
            return;
        };
        let (code, out) = test_rules(std::slice::from_ref(f), &tsdb_opts());
        let out = out.replace(&format!("{}/", dir.display()), "");
        assert_eq!(code, pcode, "{name}: ours:\n{out}\npromtool:\n{pout}");
        same_code += 1;
        // promtool writes to stdout and stderr; compare without blank lines.
        if normalize(&out) == normalize(&pout) {
            same_text += 1;
        } else {
            assert!(
                KNOWN_TEXT_DIFFERENCES.contains(&name.as_str()),
                "{name}: output differs\n--- ours\n{out}\n--- promtool\n{pout}"
            );
        }
    }
    eprintln!(
        "promtool comparison: {same_code}/{} same exit code, {same_text} identical output",
        files.len()
    );
}

#[test]
fn check_rules_matches_promtool() {
    let dir = testdata();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".rules.yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    let (mut same_code, mut same_text) = (0, 0);
    for name in &names {
        let (code, out) = check_rules(&[dir.join(name)]);
        let out = out.replace(&format!("{}/", dir.display()), "");
        let want = i32::from(name.starts_with("bad"));
        assert_eq!(code, want, "{name}: {out}");
        if let Some((pcode, pout)) = promtool(&["check", "rules", name], &dir) {
            assert_eq!(code, pcode, "{name}: ours:\n{out}\npromtool:\n{pout}");
            same_code += 1;
            if normalize(&out) == normalize(&pout) {
                same_text += 1;
            } else {
                assert!(
                    KNOWN_TEXT_DIFFERENCES.contains(&name.as_str()),
                    "{name}: check output differs\n--- ours\n{out}\n--- promtool\n{pout}"
                );
            }
        }
    }
    eprintln!(
        "promtool check rules comparison: {same_code}/{} same exit code, {same_text} identical output",
        names.len()
    );
}
