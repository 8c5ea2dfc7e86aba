//! `promtool check config`: load a configuration, check the files it
//! references, and report in promtool's words.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::{expand_glob, load_file};
use crate::file_sd::read_target_groups;

/// Checks one rule file and returns how many rules it holds; the error is
/// the checker's report. Rule syntax belongs to the rules crate.
pub type RuleFileChecker<'a> = &'a dyn Fn(&Path) -> Result<usize, String>;

/// Checks `path` like `promtool check config` and returns its exit code
/// (0 or 1) and output text:
///
/// ```text
/// Checking prometheus.yml
///   SUCCESS: 1 rule files found
///  SUCCESS: prometheus.yml is valid prometheus config file syntax
///
/// Checking rules.yml
///   SUCCESS: 3 rules found
///
/// ```
///
/// Referenced rule files must exist when named without `*`; file_sd files
/// that exist must parse; credentials and TLS files must exist. Rule files
/// are only checked further when `rule_file_checker` is given.
pub fn check_config(path: &Path, rule_file_checker: Option<RuleFileChecker<'_>>) -> (i32, String) {
    let mut out = String::new();
    let shown = path.display();
    let _ = writeln!(out, "Checking {shown}");
    let mut code = 0;
    match check_one(path, &mut out) {
        Ok(rule_files) => {
            if !rule_files.is_empty() {
                let _ = writeln!(out, "  SUCCESS: {} rule files found", rule_files.len());
            }
            let _ = writeln!(
                out,
                " SUCCESS: {shown} is valid prometheus config file syntax"
            );
            let _ = writeln!(out);
            if let Some(check) = rule_file_checker {
                for rf in rule_files {
                    let _ = writeln!(out, "Checking {}", rf.display());
                    match check(&rf) {
                        Ok(n) => {
                            let _ = writeln!(out, "  SUCCESS: {n} rules found");
                        }
                        Err(e) => {
                            code = 1;
                            let _ = writeln!(out, "  FAILED:");
                            let _ = writeln!(out, "{e}");
                        }
                    }
                    let _ = writeln!(out);
                }
            }
        }
        Err(e) => {
            code = 1;
            let _ = writeln!(out, "  FAILED: {e}");
            let _ = writeln!(out);
        }
    }
    (code, out)
}

fn check_file_exists(what: &str, f: &str) -> Result<(), String> {
    if f.is_empty() {
        return Ok(());
    }
    std::fs::metadata(f)
        .map(|_| ())
        .map_err(|e| format!("error checking {what} {f:?}: {e}"))
}

fn check_one(path: &Path, out: &mut String) -> Result<Vec<std::path::PathBuf>, String> {
    let loaded = load_file(path).map_err(|e| e.to_string())?;
    let cfg = &loaded.config;
    for w in &loaded.warnings {
        let _ = writeln!(out, "  WARNING: {w}");
    }
    let mut rule_files = Vec::new();
    for rf in &cfg.rule_files {
        let found = expand_glob(rf, path).map_err(|e| e.to_string())?;
        if !rf.contains('*') {
            match found.first() {
                None => return Err(format!("{rf:?} does not point to an existing file")),
                Some(f) => {
                    check_file_exists("rule file", &f.to_string_lossy())?;
                }
            }
        }
        rule_files.extend(found);
    }
    for sc in &cfg.scrape_configs {
        for (what, f) in sc.http_client_config.referenced_files() {
            check_file_exists(what, f)?;
        }
        for fsd in &sc.file_sd_configs {
            for pat in &fsd.files {
                let files = expand_glob(pat, path).map_err(|e| e.to_string())?;
                if files.is_empty() {
                    let _ = writeln!(
                        out,
                        "  WARNING: file {pat:?} for file_sd in scrape job {:?} does not exist",
                        sc.job_name
                    );
                }
                for f in files {
                    read_target_groups(&f).map_err(|e| format!("checking SD file {pat:?}: {e}"))?;
                }
            }
        }
    }
    for am in &cfg.alerting.alertmanagers {
        for fsd in &am.file_sd_configs {
            for pat in &fsd.files {
                let files = expand_glob(pat, path).map_err(|e| e.to_string())?;
                if files.is_empty() {
                    let _ = writeln!(
                        out,
                        "  WARNING: file {pat:?} for file_sd in alertmanager config does not exist"
                    );
                }
                for f in files {
                    read_target_groups(&f).map_err(|e| format!("checking SD file {pat:?}: {e}"))?;
                }
            }
        }
    }
    Ok(rule_files)
}
