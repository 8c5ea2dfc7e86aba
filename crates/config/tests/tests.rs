//! Integration tests of promlite-config over `testdata/config`, including
//! the differential test against Prometheus' `promtool`.

use std::path::{Path, PathBuf};
use std::process::Command;

use promlite_config::{
    check_config, load_file, parse_str, read_file_sd, read_target_groups, Config, ConfigError,
    FileSdWatcher, RelabelAction, ValidationScheme, DEFAULT_CONFIG, FILEPATH_LABEL,
};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config")
}

fn files_in(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(testdata().join(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    v.sort();
    v
}

/// The value of a `# key: value` header line.
fn header(text: &str, key: &str) -> Option<String> {
    let prefix = format!("# {key}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

fn load(rel: &str) -> promlite_config::LoadedConfig {
    let p = testdata().join(rel);
    load_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn every_valid_file_loads_and_checks() {
    let files = files_in("valid");
    assert!(files.len() >= 5);
    for f in files {
        load_file(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let (code, out) = check_config(&f, None);
        assert_eq!(code, 0, "{}:\n{out}", f.display());
        assert!(
            out.contains(&format!(
                " SUCCESS: {} is valid prometheus config file syntax",
                f.display()
            )),
            "{out}"
        );
    }
}

#[test]
fn every_invalid_file_fails_naming_problem_file_and_line() {
    let files = files_in("invalid");
    assert!(files.len() >= 20);
    let mut wrong_lines = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let want = header(&text, "expect-error")
            .unwrap_or_else(|| panic!("{} has no expect-error header", f.display()));
        let (code, out) = check_config(&f, None);
        assert_eq!(code, 1, "{}:\n{out}", f.display());
        assert!(out.contains("  FAILED: "), "{out}");
        assert!(
            out.contains(&want),
            "{}: want {want:?} in\n{out}",
            f.display()
        );
        if header(&text, "check-only").is_some() || text.starts_with("# check-only") {
            continue;
        }
        let err = load_file(&f).expect_err(&f.display().to_string());
        let msg = err.to_string();
        assert!(
            msg.contains(&want),
            "{}: want {want:?} in {msg:?}",
            f.display()
        );
        assert!(
            msg.contains(&f.display().to_string()),
            "no file name in {msg:?}"
        );
        if let Some(line) = header(&text, "expect-line") {
            let line: u64 = line.parse().unwrap();
            if err.line() != Some(line) || !msg.contains(&format!(":{line}")) {
                wrong_lines.push(format!("want line {line}: {msg}"));
            }
        }
    }
    assert!(wrong_lines.is_empty(), "{}", wrong_lines.join("\n"));
}

#[test]
fn full_config_applies_defaults_globals_and_directories() {
    let c = load("valid/full.yml").config;
    let dir = testdata().join("valid");
    assert_eq!(c.global.scrape_interval.to_string(), "15s");
    assert_eq!(c.global.scrape_timeout.to_string(), "5s");
    assert_eq!(c.global.external_labels["cluster"], "eu-1");
    assert_eq!(
        c.global.query_log_file,
        dir.join("queries.log").to_string_lossy()
    );
    assert_eq!(
        c.rule_files[0],
        dir.join("../rules/node.yml").to_string_lossy()
    );

    let prom = &c.scrape_configs[0];
    assert_eq!(prom.job_name, "prometheus");
    assert!(prom.honor_labels && prom.honor_timestamps && prom.enable_compression);
    assert_eq!(prom.scrape_interval.to_string(), "15s");
    assert_eq!(prom.scrape_timeout.to_string(), "5s");
    assert_eq!(prom.metrics_path, "/metrics");
    assert_eq!(prom.scheme, "http");
    assert_eq!(prom.sample_limit, 50000);
    assert_eq!(prom.body_size_limit.0, 10 << 20);
    assert_eq!(prom.scrape_protocols[0], "OpenMetricsText1.0.0");
    assert!(prom.http_client_config.follow_redirects);

    let node = &c.scrape_configs[1];
    assert_eq!(node.scrape_interval.to_string(), "30s");
    assert_eq!(node.scrape_timeout.to_string(), "10s");
    assert_eq!(node.params["module"], vec!["http_2xx"]);
    let ba = node.http_client_config.basic_auth.as_ref().unwrap();
    assert_eq!(ba.password.expose(), "hunter2");
    assert!(!node.http_client_config.follow_redirects);
    assert!(node.http_client_config.tls_config.insecure_skip_verify);
    assert_eq!(
        node.file_sd_configs[0].files[0],
        dir.join("../sd/node*.json").to_string_lossy()
    );
    assert_eq!(node.file_sd_configs[0].refresh_interval.to_string(), "1m");
    assert_eq!(node.relabel_configs.len(), 7);
    assert_eq!(node.relabel_configs[3].action, RelabelAction::HashMod);
    assert_eq!(node.relabel_configs[3].modulus, 4);
    assert!(node.relabel_configs[0].regex.regex().is_match("web:9100"));

    let api = &c.scrape_configs[2];
    let auth = api.http_client_config.authorization.as_ref().unwrap();
    assert_eq!(auth.auth_type, "Bearer");
    assert_eq!(api.http_sd_configs[0].url, "http://sd.example.com/targets");
    assert_eq!(api.http_sd_configs[0].refresh_interval.to_string(), "2m");

    let am = &c.alerting.alertmanagers[0];
    assert_eq!(am.api_version, "v2");
    assert_eq!(am.timeout.to_string(), "5s");

    let rw = &c.remote_write[0];
    assert_eq!(rw.remote_timeout.to_string(), "10s");
    assert_eq!(rw.queue_config.capacity, 20000);
    assert_eq!(rw.queue_config.min_shards, 1, "default");
    assert_eq!(rw.queue_config.min_backoff.to_string(), "30ms");
    assert_eq!(rw.metadata_config.send_interval.to_string(), "2m");
    assert!(rw.metadata_config.send);
    assert_eq!(rw.protobuf_message, "prometheus.WriteRequest");
    assert!(!rw.http_client_config.enable_http2, "remote_write default");
    assert_eq!(
        c.remote_write[1]
            .http_client_config
            .basic_auth
            .as_ref()
            .unwrap()
            .password_file,
        dir.join("secrets/pw").to_string_lossy()
    );
    let rr = &c.remote_read[0];
    assert_eq!(rr.remote_timeout.to_string(), "1m");
    assert!(rr.filter_external_labels && rr.read_recent);
    let tsdb = c.storage.tsdb.as_ref().unwrap();
    assert_eq!(tsdb.out_of_order_time_window.to_string(), "30m");
}

#[test]
fn v3_config_merges_scrape_config_files_and_reads_v3_fields() {
    let c = load("valid/full_v3.yml").config;
    let jobs: Vec<&str> = c
        .scrape_configs
        .iter()
        .map(|s| s.job_name.as_str())
        .collect();
    assert_eq!(jobs, ["utf8", "extra"]);
    assert_eq!(
        c.scrape_configs[1].source_file.as_deref(),
        Some(
            testdata()
                .join("valid/../scrape_configs/extra.yml")
                .as_path()
        )
    );
    let y = c.to_yaml_string();
    assert!(
        y.contains("job_name: utf8") && !y.contains("job_name: extra"),
        "{y}"
    );
    assert!(y.contains("scrape_config_files:"), "{y}");
    let utf8 = &c.scrape_configs[0];
    assert_eq!(
        utf8.scrape_protocols,
        [
            "PrometheusProto",
            "OpenMetricsText1.0.0",
            "PrometheusText0.0.4"
        ]
    );
    assert_eq!(utf8.fallback_scrape_protocol, "PrometheusText0.0.4");
    assert_eq!(utf8.keep_dropped_targets, 100);
    assert_eq!(utf8.sample_limit, 50000, "inherited from global");
    assert_eq!(utf8.body_size_limit.0, 10 << 20);
    assert_eq!(
        c.scrape_configs[1].label_limit, 64,
        "globals reach scrape_config_files too"
    );
    assert!(utf8.always_scrape_classic_histograms && utf8.scrape_native_histograms);
    assert!(!utf8.enable_compression);
    assert_eq!(utf8.metric_name_escaping_scheme, "allow-utf-8");
    assert_eq!(utf8.static_configs[0].labels["k8s.pod.name"], "web-0");
    assert_eq!(c.global.external_labels["service.name"], "promlite");
    assert_eq!(
        c.remote_write[0].protobuf_message,
        "io.prometheus.write.v2.Request"
    );
    assert_eq!(c.runtime.gogc, 50);
    assert_eq!(c.tracing.as_ref().unwrap().client_type, "grpc");
    assert_eq!(c.global.rule_query_offset.to_string(), "10s");
}

#[test]
fn unsupported_discovery_kinds_warn_with_job_and_kind() {
    let l = load("valid/unsupported_sd.yml");
    let w = &l.warnings;
    assert!(
        w.contains(&"job k8s-pods: kubernetes_sd_configs is not supported by promlite; its targets are ignored".to_string()),
        "{w:?}"
    );
    for kind in [
        "consul_sd_configs",
        "dns_sd_configs",
        "ec2_sd_configs",
        "docker_sd_configs",
    ] {
        assert!(w.iter().any(|x| x.contains(kind)), "{kind} in {w:?}");
    }
    let k8s = &l.config.scrape_configs[0];
    assert_eq!(k8s.unsupported_sd_configs[0].kind, "kubernetes_sd_configs");
    assert_eq!(k8s.unsupported_sd_configs[0].config[0]["role"], "pod");
    let mixed = &l.config.scrape_configs[4];
    assert_eq!(mixed.static_configs[0].targets, ["localhost:9100"]);
}

#[test]
fn deprecated_bearer_token_becomes_authorization() {
    let l = load("valid/bearer_token.yml");
    let a = l.config.scrape_configs[0]
        .http_client_config
        .authorization
        .clone()
        .unwrap();
    assert_eq!(a.auth_type, "Bearer");
    assert_eq!(a.credentials.expose(), "abc");
    assert!(
        l.warnings.iter().any(|w| w.contains("deprecated")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn yaml_output_hides_secrets_and_shows_defaults() {
    let c = load("valid/full.yml").config;
    let y = c.to_yaml_string();
    assert!(!y.contains("hunter2") && !y.contains("secret-token"), "{y}");
    assert!(y.contains("password: <secret>"), "{y}");
    assert!(y.contains("credentials: <secret>"), "{y}");
    for want in [
        "scrape_interval: 15s",
        "evaluation_interval: 30s",
        "honor_timestamps: true",
        "metrics_path: /metrics",
        "enable_http2: true",
        "api_version: v2",
        "max_shards: 10",
        "min_backoff: 30ms",
        "body_size_limit: 10MiB",
    ] {
        assert!(y.contains(want), "{want} missing in\n{y}");
    }
    // Top-level order follows Prometheus.
    let pos = |k: &str| {
        y.find(&format!("\n{k}:"))
            .unwrap_or_else(|| panic!("{k} in\n{y}"))
    };
    assert!(y.starts_with("global:"));
    assert!(pos("alerting") < pos("rule_files"));
    assert!(pos("rule_files") < pos("scrape_configs"));
    assert!(pos("scrape_configs") < pos("storage"));
    assert!(pos("storage") < pos("remote_write"));
    assert!(pos("remote_write") < pos("remote_read"));
    // What we print loads again.
    parse_str(&y, Path::new(""), Path::new("printed.yml")).unwrap();
}

#[test]
fn default_config_scrapes_itself() {
    let c = parse_str(DEFAULT_CONFIG, Path::new(""), Path::new("default"))
        .unwrap()
        .config;
    assert_eq!(c.global.scrape_interval.to_string(), "15s");
    let job = &c.scrape_configs[0];
    assert_eq!(job.job_name, "prometheus");
    assert_eq!(job.static_configs[0].targets, ["localhost:9090"]);
    assert_eq!(Config::default_config().unwrap().config, c);
}

#[test]
fn empty_config_gets_prometheus_defaults() {
    let c = load("valid/empty.yml").config;
    assert_eq!(c, Config::default());
    assert_eq!(c.global.scrape_interval.to_string(), "1m");
    assert_eq!(c.global.scrape_timeout.to_string(), "10s");
    assert_eq!(c.global.evaluation_interval.to_string(), "1m");
    assert_eq!(
        c.global.metric_name_validation_scheme,
        ValidationScheme::Utf8
    );
    assert_eq!(c.storage.exemplars.as_ref().unwrap().max_exemplars, 100000);
}

#[test]
fn timeout_defaults_to_min_of_global_timeout_and_interval() {
    let y = "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n";
    let c = parse_str(y, Path::new(""), Path::new("t.yml"))
        .unwrap()
        .config;
    assert_eq!(c.scrape_configs[0].scrape_timeout.to_string(), "5s");
}

#[test]
fn duplicate_job_across_scrape_config_files_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("extra.yml"),
        "scrape_configs:\n  - job_name: a\n",
    )
    .unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(
        &main,
        "scrape_config_files: ['*.extra.yml', 'extra.yml']\nscrape_configs:\n  - job_name: a\n",
    )
    .unwrap();
    let err = load_file(&main).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("extra.yml:2"), "{msg}");
    assert!(
        msg.contains(
            "found multiple scrape configs with job name \"a\", first found in main config file"
        ),
        "{msg}"
    );
}

#[test]
fn file_sd_reads_json_and_yaml_with_filepath_label() {
    let groups = read_file_sd(&[
        testdata().join("sd/*.json").to_string_lossy().into_owned(),
        testdata()
            .join("sd/apps.yml")
            .to_string_lossy()
            .into_owned(),
    ]);
    // broken.json matches the glob, so the read fails naming it.
    let err = groups.unwrap_err();
    assert!(err.to_string().contains("broken.json:3:"), "{err}");

    let nodes = testdata().join("sd/nodes.json");
    let g = read_target_groups(&nodes).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].targets, ["10.0.0.1:9100", "10.0.0.2:9100"]);
    assert_eq!(g[0].labels["env"], "prod");
    assert_eq!(g[1].labels[FILEPATH_LABEL], nodes.to_string_lossy());
    assert_eq!(g[1].source, format!("{}:1", nodes.display()));

    let apps = read_target_groups(&testdata().join("sd/apps.yml")).unwrap();
    assert_eq!(apps[0].targets, ["app-1:8080", "app-2:8080"]);
    assert_eq!(apps[1].targets, ["app-3:8080"]);
    assert!(read_target_groups(&testdata().join("sd/empty.yaml"))
        .unwrap()
        .is_empty());
}

#[test]
fn file_sd_yaml_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.yml");
    std::fs::write(&f, "- targets: [a]\n  lables: {x: y}\n").unwrap();
    let err = read_target_groups(&f).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("t.yml:2:") && msg.contains("lables"), "{msg}");
    std::fs::write(dir.path().join("t.txt"), "").unwrap();
    let err = read_target_groups(&dir.path().join("t.txt")).unwrap_err();
    assert!(
        err.to_string().contains("unhandled file extension"),
        "{err}"
    );
}

#[test]
fn file_sd_watcher_rereads_changed_files_and_keeps_last_good() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.json");
    std::fs::write(&f, r#"[{"targets": ["x:1"]}]"#).unwrap();
    let pat = dir.path().join("*.json").to_string_lossy().into_owned();
    let mut w = FileSdWatcher::new(vec![pat], promlite_config::Duration::from_secs(300));
    assert!(w.due(std::time::Instant::now()));
    let p = w.poll();
    assert!(p.changed && p.errors.is_empty());
    assert_eq!(p.groups[0].targets, ["x:1"]);
    assert!(!w.due(std::time::Instant::now()));
    assert!(!w.poll().changed);

    // A broken rewrite keeps the previous groups and reports the error.
    std::fs::write(&f, "[{").unwrap();
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(t)
        .unwrap();
    let p = w.poll();
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.groups[0].targets, ["x:1"]);

    std::fs::write(&f, r#"[{"targets": ["y:2"]}]"#).unwrap();
    let t = t + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(t)
        .unwrap();
    let p = w.poll();
    assert!(p.changed);
    assert_eq!(p.groups[0].targets, ["y:2"]);

    std::fs::remove_file(&f).unwrap();
    let p = w.poll();
    assert!(p.changed && p.groups.is_empty());
}

#[test]
fn check_config_reports_rule_files_like_promtool() {
    let f = testdata().join("valid/full.yml");
    let checker = |p: &Path| -> Result<usize, String> {
        assert!(p.ends_with("node.yml"));
        Ok(2)
    };
    let (code, out) = check_config(&f, Some(&checker));
    assert_eq!(code, 0, "{out}");
    let rules = testdata().join("valid/../rules/node.yml");
    let want = format!(
        "Checking {f}\n  SUCCESS: 1 rule files found\n SUCCESS: {f} is valid prometheus config file syntax\n\nChecking {r}\n  SUCCESS: 2 rules found\n\n",
        f = f.display(),
        r = rules.display()
    );
    assert!(out.ends_with(&want), "{out}");
    let failing = |_: &Path| -> Result<usize, String> { Err("bad rule".into()) };
    let (code, out) = check_config(&f, Some(&failing));
    assert_eq!(code, 1);
    assert!(out.contains("  FAILED:\nbad rule\n"), "{out}");
}

#[test]
fn check_config_on_missing_file_fails() {
    let (code, out) = check_config(Path::new("/nonexistent/prometheus.yml"), None);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("Checking /nonexistent/prometheus.yml\n  FAILED: "),
        "{out}"
    );
    assert!(matches!(
        load_file("/nonexistent/prometheus.yml"),
        Err(ConfigError::Io { .. })
    ));
}

fn promtool() -> Option<PathBuf> {
    let cand = std::env::var_os("PROMTOOL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("promtool"));
    Command::new(&cand)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| cand)
}

/// Runs the real `promtool check config` on every test file and checks our
/// exit code agrees. Files marked `# promtool2: skip` are compared only when
/// promtool is 3.x.
#[test]
fn promtool_agrees_on_exit_codes() {
    let Some(pt) = promtool() else {
        if std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("promtool not found and PROMLITE_REQUIRE_PEERS=1 (apt-get install prometheus)");
        }
        eprintln!(
            "SKIP promtool_agrees_on_exit_codes: promtool not found (apt-get install prometheus)"
        );
        return;
    };
    let version = Command::new(&pt).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    let is_v2 = version.contains("version 2.");
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for f in files_in("valid").into_iter().chain(files_in("invalid")) {
        let text = std::fs::read_to_string(&f).unwrap();
        if is_v2 && header(&text, "promtool2").is_some() {
            continue;
        }
        let theirs = Command::new(&pt)
            .args(["check", "config"])
            .arg(&f)
            .output()
            .unwrap();
        let theirs_code = theirs.status.code().unwrap_or(-1);
        let (ours_code, ours_out) = check_config(&f, None);
        compared += 1;
        if theirs_code != ours_code {
            mismatches.push(format!(
                "{}: promtool {theirs_code} ({}{}) vs ours {ours_code} ({ours_out})",
                f.display(),
                String::from_utf8_lossy(&theirs.stdout),
                String::from_utf8_lossy(&theirs.stderr)
            ));
        }
    }
    eprintln!(
        "promtool ({}) compared on {compared} files",
        version.lines().next().unwrap_or("")
    );
    assert!(compared >= 20, "only {compared} files compared");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
#[ignore = "prints the YAML of valid/full.yml for eyeballing"]
fn print_full_yaml() {
    println!("{}", load("valid/full.yml").config.to_yaml_string());
}

#[test]
#[ignore = "prints check_config output for every invalid file"]
fn print_invalid_messages() {
    for f in files_in("invalid") {
        let (_, out) = check_config(&f, None);
        let line = out
            .lines()
            .find(|l| l.contains("FAILED"))
            .unwrap_or("")
            .to_string();
        println!("{}", line.replace(&testdata().display().to_string(), "T"));
    }
}

#[test]
fn anchors_aliases_and_merge_keys_work() {
    let c = load("valid/anchors.yml").config;
    assert_eq!(
        c.scrape_configs[1].static_configs,
        c.scrape_configs[0].static_configs
    );
    assert_eq!(
        c.scrape_configs[1].static_configs[0].labels["cluster"],
        "eu-1"
    );
    let r = &c.scrape_configs[1].relabel_configs;
    assert_eq!(r[1].source_labels, ["cluster"]);
    assert_eq!(r[1].target_label, "zone");
}

#[test]
fn external_label_values_expand_environment_variables() {
    std::env::set_var("PROMLITE_CONFIG_TEST_REGION", "eu-west-1");
    let y = "global:\n  external_labels:\n    region: ${PROMLITE_CONFIG_TEST_REGION}\n    cost: $$5\n    unset: $PROMLITE_CONFIG_TEST_UNSET\n";
    let c = parse_str(y, Path::new(""), Path::new("env.yml"))
        .unwrap()
        .config;
    assert_eq!(c.global.external_labels["region"], "eu-west-1");
    assert_eq!(c.global.external_labels["cost"], "$5");
    assert_eq!(c.global.external_labels["unset"], "");
}

#[test]
fn null_sections_read_as_empty() {
    let y = "global:\nalerting:\nrule_files:\nremote_write:\nscrape_configs:\n  - job_name: a\n    static_configs:\n    relabel_configs:\n    params:\n    file_sd_configs:\n  - job_name: b\n    static_configs:\n      - targets:\n        labels:\n";
    let c = parse_str(y, Path::new(""), Path::new("null.yml"))
        .unwrap()
        .config;
    assert_eq!(c.global, promlite_config::GlobalConfig::default());
    assert_eq!(c.scrape_configs.len(), 2);
    assert!(c.scrape_configs[0].static_configs.is_empty());
    assert!(c.scrape_configs[1].static_configs[0].targets.is_empty());
}
