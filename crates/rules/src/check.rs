//! `promtool check rules`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::rulefmt::{parse_file, GroupSpec, RuleKind};

/// Checks rule files as `promtool check rules` does: validation errors
/// fail the file; duplicate recording rules are reported as a lint
/// problem (exit code 0 unless an error was found). Returns the exit code
/// (0 or 1) and the output (stdout and stderr interleaved).
pub fn check_rules(files: &[PathBuf]) -> (i32, String) {
    let mut out = String::new();
    let mut has_errors = false;
    for f in files {
        out.push_str(&format!("Checking {}\n", f.display()));
        let groups = match parse_file(f) {
            Ok(g) => g,
            Err(errs) => {
                out.push_str("  FAILED:\n");
                for e in errs {
                    out.push_str(&format!("{e}\n"));
                }
                has_errors = true;
                out.push('\n');
                continue;
            }
        };
        let n: usize = groups.iter().map(|g| g.rules.len()).sum();
        let dups = duplicates(&groups);
        if dups.is_empty() {
            out.push_str(&format!("  SUCCESS: {n} rules found\n"));
        } else {
            out.push_str("  FAILED:\n");
            let mut msg = format!("lint error {} duplicate rule(s) found.\n", dups.len());
            for (metric, labels) in dups {
                msg.push_str(&format!("Metric: {metric}\nLabel(s):\n"));
                for (k, v) in labels {
                    msg.push_str(&format!("\t{k}: {v}\n"));
                }
            }
            msg.push_str("Might cause inconsistency while recording expressions");
            out.push_str(&msg);
            out.push('\n');
        }
        out.push('\n');
    }
    (i32::from(has_errors), out)
}

/// Recording rules with the same name, labels and expression.
fn duplicates(groups: &[GroupSpec]) -> Vec<(String, BTreeMap<String, String>)> {
    let mut all: Vec<(String, BTreeMap<String, String>, String)> = groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .filter(|r| r.kind == RuleKind::Record)
        .map(|r| (r.name.clone(), r.labels.clone(), r.expr.clone()))
        .collect();
    all.sort();
    let mut out = Vec::new();
    for w in all.windows(2) {
        if w[0] == w[1]
            && out
                .last()
                .map(|l: &(String, BTreeMap<String, String>)| l.0 != w[0].0 || l.1 != w[0].1)
                .unwrap_or(true)
        {
            out.push((w[0].0.clone(), w[0].1.clone()));
        }
    }
    out
}
