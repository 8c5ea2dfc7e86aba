//! `promqltest`: runs promqltest scripts and prints one line per file and
//! a total line `N passed, M failed, K skipped`.
//!
//! Usage: `promqltest [--skip FILE]... [--verbose] [--write-lists DIR] FILE...`
//!
//! * `--skip FILE` reads a skip list (`file:line | reason | expression`);
//!   give it `testdata/promql/skip.txt` and `testdata/promql/known_failures.txt`.
//! * `--verbose` prints every failure and every skipped eval that passes.
//! * `--write-lists DIR` writes proposals for both lists from this run's
//!   failures (parser rejections, native-histogram evals, the rest as
//!   `engine-gap`); review the reasons before committing them.

use std::io::Write;

use promlite_promqltest::{parse_skip_list, tsdb_storage, Runner, SkipList};

fn main() {
    let mut skips = SkipList::new();
    let mut files = Vec::new();
    let mut verbose = false;
    let mut write_lists: Option<String> = None;
    let mut args = std::env::args().skip(1);
    let mut out = std::io::stdout().lock();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--skip" => {
                if let Some(p) = args.next() {
                    match std::fs::read_to_string(&p) {
                        Ok(t) => skips.extend(parse_skip_list(&t)),
                        Err(e) => {
                            let _ = writeln!(std::io::stderr(), "read {p}: {e}");
                            std::process::exit(2);
                        }
                    }
                }
            }
            "--verbose" | "-v" => verbose = true,
            "--write-lists" => write_lists = args.next(),
            _ => files.push(a),
        }
    }
    let runner = Runner::new(Box::new(tsdb_storage), skips);
    let (mut tp, mut tf, mut ts) = (0, 0, 0);
    let mut skip_lines = Vec::new();
    let mut known_lines = Vec::new();
    for f in &files {
        let report = match runner.run_file(std::path::Path::new(f)) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(out, "{f}: error: {e}");
                tf += 1;
                continue;
            }
        };
        for e in &report.evals {
            if let Some(fail) = &e.failure {
                let reason = if e.parse_error {
                    "parser".to_string()
                } else if e.native_histogram {
                    "native-histogram".to_string()
                } else {
                    let first: String = fail
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(120)
                        .collect();
                    format!("engine-gap: {}", first.replace(" | ", " / "))
                };
                let line = format!("{} | {} | {}", e.key, reason, e.expr);
                if reason.starts_with("engine-gap") {
                    known_lines.push(line);
                } else {
                    skip_lines.push(line);
                }
            }
            if verbose {
                match (&e.skipped, &e.failure) {
                    (None, Some(fail)) => {
                        let _ = writeln!(out, "FAIL {} {}\n    {}", e.key, e.expr, fail);
                    }
                    (Some(_), None) => {
                        let _ = writeln!(out, "SKIPPED BUT PASSES {} {}", e.key, e.expr);
                    }
                    _ => {}
                }
            }
        }
        let (p, fl, s) = report.counts();
        let _ = writeln!(out, "{}: {p} passed, {fl} failed, {s} skipped", report.name);
        tp += p;
        tf += fl;
        ts += s;
    }
    if let Some(dir) = write_lists {
        let header_skip = "# Evals skipped by the conformance runner: file:line | reason | expression.\n# Reasons: native-histogram (storage has no native histograms) or parser (promql-parser rejects the syntax).\n";
        let header_known = "# Evals that fail because of engine gaps; the runner counts them as skipped\n# but they are real failures to fix: file:line | engine-gap: ... | expression.\n";
        let files = [
            ("skip.txt", header_skip, &skip_lines),
            ("known_failures.txt", header_known, &known_lines),
        ];
        for (name, header, lines) in files {
            let path = format!("{dir}/{name}");
            if let Err(e) = std::fs::write(&path, format!("{header}{}\n", lines.join("\n"))) {
                let _ = writeln!(std::io::stderr(), "write {path}: {e}");
                std::process::exit(2);
            }
        }
    }
    let _ = writeln!(out, "{tp} passed, {tf} failed, {ts} skipped");
    if tf > 0 {
        std::process::exit(1);
    }
}
