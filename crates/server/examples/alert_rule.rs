//! A test of an alert rule on a virtual clock: load a rule file, put data
//! in, step the evaluation minute by minute and watch the alert go
//! pending, then firing.
//!
//! `cargo run -p promlite --example alert_rule` runs it once;
//! `cargo test -p promlite --example alert_rule` runs it as a test.

#![allow(clippy::print_stdout)]

use promlite::{ConfigSource, Server, ServerOptions};
use promlite_rules::AlertState;

const M: i64 = 60_000;

async fn check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        r#"groups:
  - name: availability
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is down"
"#,
    )
    .expect("rule file written");
    let server = Server::start(ServerOptions {
        config: ConfigSource::Text(format!("rule_files: [{:?}]\n", rules.display().to_string())),
        scrape: false,
        rules: false, // we step the clock ourselves
        ..ServerOptions::default()
    })
    .await
    .expect("server starts");
    // Up for 10 minutes, then down.
    server
        .append_series(r#"up{job="node", instance="h1"} 1x9 0x20"#, 0, M)
        .expect("data");
    server.step_rules(0, 9 * M, M);
    assert!(server.alerts().is_empty());
    server.step_rules(10 * M, 12 * M, M);
    let a = &server.alerts()[0];
    assert_eq!(a.state, AlertState::Pending);
    server.step_rules(13 * M, 15 * M, M);
    let a = &server.alerts()[0];
    assert_eq!(a.state, AlertState::Firing);
    assert_eq!(a.labels.get("severity"), Some("page"));
    assert_eq!(a.annotations["summary"], "h1 is down");
    server.shutdown().await;
}

#[tokio::main]
async fn main() {
    check().await;
    println!("ok");
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn alert_goes_pending_then_firing() {
        super::check().await;
    }
}
