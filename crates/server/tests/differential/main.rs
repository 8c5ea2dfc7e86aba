//! Differential test against the real Prometheus (issue #5).
//!
//! Starts Debian's `/usr/bin/prometheus` (2.42) and the `promlite` binary,
//! pushes the same remote-write data to both, sends both the same API
//! requests (PromQL queries and every read endpoint) and compares the JSON.
//! `promtool query` runs against both servers too. Where Prometheus 2.42
//! and 3.x (promlite's target) differ, the case is listed in
//! [`known::KNOWN_DIFFERENCES`] with its reason; any other difference fails
//! the test, and so does a listed difference that no longer occurs.
//!
//! What is compared (see [`compare::Norm`]):
//!
//! * PromQL queries (`/query`, `/query_range`, GET and POST): status code,
//!   `Content-Type` and the whole envelope (`status`, `errorType`, `error`,
//!   `warnings`, `infos`, `data`). Instant vectors are sorted by labels,
//!   as Prometheus leaves their order unspecified (under `sort*` only runs
//!   of equal values are); matrices keep their order. Float strings that
//!   are not bit-identical may differ by a relative 1e-9, and every case
//!   that needed it is listed in [`known::TOLERANCE_NEEDED`].
//! * Series, labels, label values, metadata, targets, exemplars, format
//!   and parse query, rules, alerts, federation, walreplay, errors of
//!   routing, disabled APIs and remote write: the whole body.
//! * `status/flags`, `status/runtimeinfo`, `status/buildinfo`: the keys of
//!   `data` only (versions, revisions, start times, paths and goroutine
//!   counts differ by nature); `status/config`: both succeed;
//!   `status/tsdb`: everything but `chunkCount` (head chunk layout), with
//!   the names of tied entries in the top-10 lists masked;
//!   `stats=all`: the structure of `data.stats`, not its timings.
//!
//! Without `/usr/bin/prometheus` the test prints SKIP and passes, unless
//! `PROMLITE_REQUIRE_PEERS=1`.

mod compare;
mod data;
mod endpoints;
mod exprs;
mod known;
mod queries;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use compare::{compare_responses, Norm, Outcome};
use queries::Request;

const PROMLITE: &str = env!("CARGO_BIN_EXE_promlite");
const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";

/// The configuration both servers load: no scrape configs.
const CONFIG: &str = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n";

/// A child process killed when dropped.
struct Peer {
    name: &'static str,
    child: Child,
    addr: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(name: &'static str, bin: &str, args: Vec<String>, dir: &Path, addr: String) -> Peer {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let child = Command::new(bin)
        .args(&args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    Peer { name, child, addr }
}

fn wait_ready(client: &reqwest::blocking::Client, peer: &mut Peer, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let url = format!("http://{}/-/ready", peer.addr);
        if client
            .get(&url)
            .send()
            .is_ok_and(|r| r.status().as_u16() == 200)
        {
            return;
        }
        if let Ok(Some(status)) = peer.child.try_wait() {
            let log = std::fs::read_to_string(dir.join(format!("{}.log", peer.name)));
            panic!("{} exited with {status}: {log:?}", peer.name);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} did not become ready within 60s", peer.name);
}

fn push(client: &reqwest::blocking::Client, peer: &Peer, bodies: &[Vec<u8>]) {
    for body in bodies {
        let resp = client
            .post(format!("http://{}/api/v1/write", peer.addr))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body.clone())
            .send()
            .unwrap();
        let code = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        assert_eq!(code, 204, "{} rejected remote write: {text}", peer.name);
    }
}

/// Status code and body of one request.
pub(crate) struct Response {
    pub(crate) code: u16,
    pub(crate) content_type: String,
    pub(crate) body: String,
}

fn send(client: &reqwest::blocking::Client, addr: &str, req: &Request) -> Response {
    let url = format!("http://{addr}{}", req.path);
    let builder = if req.post {
        client.post(&url).form(&req.params)
    } else {
        client.get(&url).query(&req.params)
    };
    let resp = builder.send().unwrap_or_else(|e| panic!("{url}: {e}"));
    let code = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.text().unwrap_or_default();
    Response {
        code,
        content_type,
        body,
    }
}

fn run_promtool(addr: &str, args: &[String]) -> (bool, String, String) {
    let mut full = vec!["query".to_string()];
    full.extend(
        args.iter()
            .map(|a| a.replace("{SERVER}", &format!("http://{addr}"))),
    );
    let out = Command::new(PROMTOOL)
        .args(&full)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn peers_required() -> bool {
    std::env::var("PROMLITE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

#[test]
fn promlite_answers_as_prometheus_does() {
    if !Path::new(PROMETHEUS).exists() {
        assert!(
            !peers_required(),
            "{PROMETHEUS} is missing and PROMLITE_REQUIRE_PEERS=1"
        );
        eprintln!(
            "SKIP differential test: {PROMETHEUS} is not installed (apt-get install prometheus)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg: PathBuf = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let tsdb = dir.path().join("prom-data");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let prom_addr = format!("127.0.0.1:{}", free_port());
    let mut prom = spawn(
        "prometheus",
        PROMETHEUS,
        vec![
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", tsdb.display()),
            format!("--web.listen-address={prom_addr}"),
            "--web.enable-remote-write-receiver".to_string(),
        ],
        dir.path(),
        prom_addr,
    );
    let lite_addr = format!("127.0.0.1:{}", free_port());
    let mut lite = spawn(
        "promlite",
        PROMLITE,
        vec![
            "--storage.in-memory".to_string(),
            "--web.enable-remote-write-receiver".to_string(),
            format!("--web.listen-address={lite_addr}"),
            format!("--config.file={}", cfg.display()),
        ],
        dir.path(),
        lite_addr,
    );
    wait_ready(&client, &mut prom, dir.path());
    wait_ready(&client, &mut lite, dir.path());

    // A recent base time so Prometheus' head takes the samples: the data
    // spans [base, base + 1h] and base + 1h <= now - 1m. It is rounded to
    // ten minutes so that subquery steps (15s, 30s, 1m, 2m: absolute
    // multiples) fall on the same data points in every run.
    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let base_s = (now_s - 3600 - 60) / 600 * 600;
    let dataset = data::dataset(base_s * 1000);
    let bodies = data::write_requests(&dataset);
    push(&client, &prom, &bodies);
    push(&client, &lite, &bodies);
    // Samples within the last minute, for /federate (which looks back 5m
    // from now; the hour above may have ended up to 11m ago).
    let fresh = data::fresh_request(now_s * 1000);
    push(&client, &prom, std::slice::from_ref(&fresh));
    push(&client, &lite, std::slice::from_ref(&fresh));
    eprintln!(
        "pushed {} series in {} requests (base {base_s})",
        dataset.len(),
        bodies.len()
    );

    let cases = queries::cases(base_s);
    let mut differences: BTreeMap<String, String> = BTreeMap::new();
    let mut tolerated: Vec<String> = Vec::new();
    let mut n_queries = 0;
    for case in &cases {
        if matches!(case.norm, Norm::Query { .. }) {
            n_queries += 1;
        }
        let a = send(&client, &prom.addr, &case.request);
        let b = send(&client, &lite.addr, &case.request);
        match compare_responses(&case.norm, &a, &b) {
            Outcome::Same => {}
            Outcome::SameWithTolerance => tolerated.push(case.label.clone()),
            Outcome::Different(why) => {
                differences.insert(case.label.clone(), why);
            }
        }
    }
    eprintln!(
        "compared {} cases ({n_queries} PromQL queries)",
        cases.len()
    );

    // Remote-write requests that fail (or change nothing), last: a
    // receiver that committed part of a failing request would otherwise
    // skew the queries above.
    for (label, content_type, body) in data::bad_writes(base_s * 1000) {
        let post = |peer: &Peer| {
            let resp = client
                .post(format!("http://{}/api/v1/write", peer.addr))
                .header("Content-Encoding", "snappy")
                .header("Content-Type", content_type)
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .body(body.clone())
                .send()
                .unwrap();
            let code = resp.status().as_u16();
            (code, resp.text().unwrap_or_default().trim().to_string())
        };
        let (a, b) = (post(&prom), post(&lite));
        if a != b {
            differences.insert(
                label.clone(),
                format!(
                    "prometheus [{}] {:?}\npromlite   [{}] {:?}",
                    a.0, a.1, b.0, b.1
                ),
            );
        }
    }
    // The failed writes changed nothing.
    let check = Request {
        path: "/api/v1/query".to_string(),
        params: vec![
            (
                "query".to_string(),
                "count_over_time({job=\"api\"}[2h])".to_string(),
            ),
            ("time".to_string(), (base_s + 3607).to_string()),
        ],
        post: false,
    };
    let (a, b) = (
        send(&client, &prom.addr, &check),
        send(&client, &lite.addr, &check),
    );
    if let Outcome::Different(why) = compare_responses(&Norm::Query { ordered: false }, &a, &b) {
        differences.insert("data after the failed writes".to_string(), why);
    }

    let promtool_cases = if Path::new(PROMTOOL).exists() {
        queries::promtool_cases(base_s)
    } else {
        assert!(
            !peers_required(),
            "{PROMTOOL} is missing and PROMLITE_REQUIRE_PEERS=1"
        );
        eprintln!("SKIP promtool comparisons: {PROMTOOL} is not installed");
        Vec::new()
    };
    for (label, args) in promtool_cases {
        let (ok_a, out_a, err_a) = run_promtool(&prom.addr, &args);
        let (ok_b, out_b, err_b) = run_promtool(&lite.addr, &args);
        let expect_ok = !label.contains("error");
        assert_eq!(
            ok_a, expect_ok,
            "promtool {label} against Prometheus: {err_a}"
        );
        // On failure promtool prints the server's error to stderr.
        if ok_a != ok_b || out_a != out_b || (!ok_a && err_a != err_b) {
            differences.insert(
                label.clone(),
                format!(
                    "promtool output differs:\n--- prometheus (ok={ok_a})\n{out_a}{err_a}\n--- promlite (ok={ok_b})\n{out_b}{err_b}"
                ),
            );
        }
    }

    report(&differences, &tolerated);
    drop(prom);
    drop(lite);
}

/// A known-difference label; `query t=ALL: ` stands for both instant
/// query times and the 5m-step range query.
fn expand(label: &str) -> Vec<String> {
    match label.strip_prefix("query t=ALL: ") {
        Some(expr) => vec![
            format!("query t=+1807s: {expr}"),
            format!("query t=+3757s: {expr}"),
            format!("query_range [+7s,+3607s] step=300: {expr}"),
        ],
        None => vec![label.to_string()],
    }
}

fn report(differences: &BTreeMap<String, String>, tolerated: &[String]) {
    let known: BTreeMap<String, &str> = known::KNOWN_DIFFERENCES
        .iter()
        .flat_map(|(label, reason)| expand(label).into_iter().map(move |l| (l, *reason)))
        .collect();
    let mut unexpected = Vec::new();
    for (label, why) in differences {
        match known.get(label) {
            Some(reason) => eprintln!("known difference: {label}\n    reason: {reason}"),
            None => unexpected.push(format!("UNEXPECTED DIFFERENCE: {label}\n{why}\n")),
        }
    }
    let stale: Vec<&String> = known
        .keys()
        .filter(|k| !differences.contains_key(*k))
        .collect();
    let tol_known: Vec<String> = known::TOLERANCE_NEEDED
        .iter()
        .flat_map(|l| expand(l))
        .collect();
    let tol_unlisted: Vec<&String> = tolerated
        .iter()
        .filter(|t| !tol_known.contains(t))
        .collect();
    let tol_stale: Vec<&String> = tol_known
        .iter()
        .filter(|t| !tolerated.contains(t))
        .collect();
    for t in tolerated {
        eprintln!("needed float tolerance (1e-9): {t}");
    }
    for u in &unexpected {
        eprintln!("{u}");
    }
    assert!(
        unexpected.is_empty() && stale.is_empty() && tol_unlisted.is_empty() && tol_stale.is_empty(),
        "{} unexpected differences; listed but not different: {stale:#?}; \
         needed tolerance but unlisted: {tol_unlisted:#?}; listed tolerance not needed: {tol_stale:#?}",
        unexpected.len()
    );
}
