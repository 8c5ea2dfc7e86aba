//! Glue between the rule manager, the Alertmanager notifier, the
//! configuration and the API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite_api::{
    Alert as ApiAlert, AlertingRule as ApiAlertingRule, RecordingRule as ApiRecordingRule,
    Rule as ApiRule, RuleGroup, RulesProvider,
};
use promlite_config::{AlertmanagerConfig, Config};
use promlite_model::Labels;
use promlite_notifier::{Alert as AmAlert, AlertmanagerSet, Notifier, NotifierOptions};
use promlite_rules::{ActiveAlert, AlertState, Rule, RuleManager};

use crate::settings::http_settings;

fn time(ms: i64) -> Option<SystemTime> {
    (ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(ms as u64))
}

/// Hands alerts from rule evaluation to the Alertmanager notifier.
pub(crate) struct NotifierAdapter(pub(crate) Notifier);

impl promlite_rules::Notifier for NotifierAdapter {
    fn send(&self, alerts: Vec<promlite_rules::Alert>) {
        self.0.send(
            alerts
                .into_iter()
                .map(|a| AmAlert {
                    labels: a.labels,
                    annotations: Labels::from_pairs(&a.annotations.iter().collect::<Vec<_>>()),
                    starts_at: time(a.starts_at),
                    ends_at: time(a.ends_at),
                    generator_url: a.generator_url,
                })
                .collect(),
        );
    }
}

/// The notifier's settings from `global.external_labels` and `alerting`.
pub(crate) fn notifier_options(cfg: &Config) -> Result<NotifierOptions, String> {
    Ok(NotifierOptions {
        external_labels: Labels::from_pairs(&cfg.global.external_labels.iter().collect::<Vec<_>>()),
        alert_relabel_configs: promlite_config::to_model_configs(
            &cfg.alerting.alert_relabel_configs,
        )
        .map_err(|e| format!("alert_relabel_configs: {e}"))?,
        ..NotifierOptions::default()
    })
}

/// The Alertmanagers of `alerting.alertmanagers` (static and file_sd
/// targets, read at each reload).
pub(crate) fn alertmanager_sets(cfg: &Config) -> Result<Vec<AlertmanagerSet>, String> {
    cfg.alerting.alertmanagers.iter().map(am_set).collect()
}

/// The path Alertmanager's v2 API takes alerts on, below `path_prefix`.
const ALERTS_PATH: &str = "/api/v2/alerts";

fn am_set(am: &AlertmanagerConfig) -> Result<AlertmanagerSet, String> {
    // (address, group labels) of every configured target.
    let mut targets: Vec<(String, BTreeMap<String, String>)> = am
        .static_configs
        .iter()
        .flat_map(|s| s.targets.iter().map(|t| (t.clone(), s.labels.clone())))
        .collect();
    for f in &am.file_sd_configs {
        let groups = promlite_config::read_file_sd(&f.files).map_err(|e| e.to_string())?;
        for g in groups {
            targets.extend(g.targets.into_iter().map(|t| (t, g.labels.clone())));
        }
    }
    let relabel = promlite_config::to_model_configs(&am.relabel_configs)
        .map_err(|e| format!("relabel_configs: {e}"))?;
    let http = http_settings(&am.http_client_config)?;
    let mut ss = promlite_scrape::ScrapeSettings::new("alertmanager");
    ss.http = http.clone();
    let client = promlite_scrape::build_client(&ss)?;
    let mut urls = Vec::new();
    let mut dropped_urls = Vec::new();
    for (t, labels) in &targets {
        match am_url(am, &relabel, t, labels) {
            Ok(u) => urls.push(u),
            Err(Some(u)) => dropped_urls.push(u),
            Err(None) => {}
        }
    }
    Ok(AlertmanagerSet {
        urls,
        dropped_urls,
        timeout: am.timeout.to_std(),
        basic_auth: http.basic_auth,
        authorization: http.authorization,
        alert_relabel_configs: promlite_config::to_model_configs(&am.alert_relabel_configs)
            .map_err(|e| format!("alert_relabel_configs: {e}"))?,
        client: Some(client),
    })
}

/// The base URL of one Alertmanager after `relabel_configs`, as
/// Prometheus' `AlertmanagerFromGroup`: the target's labels plus
/// `__address__`, `__scheme__` and `__alerts_path__` are relabeled and the
/// result's labels give the URL. A target relabeling drops is
/// `Err(Some(url))` with the URL it had before; one whose address is
/// invalid after relabeling is `Err(None)` (logged).
fn am_url(
    am: &AlertmanagerConfig,
    relabel: &[promlite_model::RelabelConfig],
    target: &str,
    group: &BTreeMap<String, String>,
) -> Result<String, Option<String>> {
    let prefix = am.path_prefix.trim_end_matches('/');
    let path = format!("{prefix}{ALERTS_PATH}");
    let mut pairs: Vec<(&str, &str)> = group
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.retain(|(k, _)| !matches!(*k, "__address__" | "__scheme__" | "__alerts_path__"));
    pairs.push(("__address__", target));
    pairs.push(("__scheme__", am.scheme.as_str()));
    pairs.push(("__alerts_path__", path.as_str()));
    let lset = Labels::from_pairs(&pairs);
    let Some(out) = promlite_model::process(&lset, relabel) else {
        tracing::debug!(target, "Alertmanager dropped by relabel_configs");
        return Err(Some(format!("{}://{target}{prefix}", am.scheme)));
    };
    let addr = out.get("__address__").unwrap_or("");
    if addr.is_empty() || addr.contains('/') {
        tracing::warn!(
            address = addr,
            "Alertmanager target has an invalid address after relabeling; skipped"
        );
        return Err(None);
    }
    let scheme = out.get("__scheme__").unwrap_or("http");
    let path = out.get("__alerts_path__").unwrap_or(ALERTS_PATH);
    // The notifier appends the v2 alerts path to the base URL.
    let base = path.strip_suffix(ALERTS_PATH).unwrap_or(path);
    Ok(format!("{scheme}://{addr}{base}"))
}

fn to_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)` (`1e+00`), as the API shows alert values.
fn go_e(v: f64) -> String {
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
    let s = format!("{v:e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn api_alert(a: &ActiveAlert) -> ApiAlert {
    ApiAlert {
        labels: to_map(&a.labels),
        annotations: a.annotations.clone(),
        state: a.state.as_str().to_string(),
        active_at: time(a.active_at),
        value: go_e(a.value),
    }
}

/// `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers`.
pub(crate) struct Rules {
    pub(crate) manager: Arc<RuleManager>,
    pub(crate) notifier: Notifier,
}

impl RulesProvider for Rules {
    fn rule_groups(&self) -> Vec<RuleGroup> {
        self.manager
            .groups()
            .iter()
            .map(|g| {
                let g = g.lock();
                RuleGroup {
                    name: g.name().to_string(),
                    file: g.file().display().to_string(),
                    interval: g.interval_ms() as f64 / 1000.0,
                    limit: g.limit() as i64,
                    evaluation_time: g.evaluation_duration().as_secs_f64(),
                    last_evaluation: time(g.last_evaluation_ms()),
                    rules: g
                        .rules()
                        .iter()
                        .map(|e| match &e.rule {
                            Rule::Alerting(r) => ApiRule::Alerting(ApiAlertingRule {
                                state: r.state().as_str().to_string(),
                                name: r.name().to_string(),
                                query: r.expr().to_string(),
                                duration: r.hold_duration_ms() as f64 / 1000.0,
                                keep_firing_for: r.keep_firing_for_ms() as f64 / 1000.0,
                                labels: r.labels().clone(),
                                annotations: r.annotations().clone(),
                                alerts: r.active_alerts().iter().map(api_alert).collect(),
                                health: e.health.as_str().to_string(),
                                last_error: e.last_error.clone().unwrap_or_default(),
                                evaluation_time: e.evaluation_duration.as_secs_f64(),
                                last_evaluation: time(e.last_evaluation_ms),
                                rule_type: "alerting",
                            }),
                            Rule::Recording(r) => ApiRule::Recording(ApiRecordingRule {
                                name: r.name.clone(),
                                query: r.expr.clone(),
                                labels: r.labels.clone(),
                                health: e.health.as_str().to_string(),
                                last_error: e.last_error.clone().unwrap_or_default(),
                                evaluation_time: e.evaluation_duration.as_secs_f64(),
                                last_evaluation: time(e.last_evaluation_ms),
                                rule_type: "recording",
                            }),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    fn alerts(&self) -> Vec<ApiAlert> {
        self.manager
            .active_alerts()
            .iter()
            .filter(|a| a.state != AlertState::Inactive)
            .map(api_alert)
            .collect()
    }

    fn alertmanagers(&self) -> (Vec<String>, Vec<String>) {
        (
            self.notifier.alertmanager_urls(),
            self.notifier.dropped_alertmanager_urls(),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_format_like_go_percent_e() {
        assert_eq!(super::go_e(1.0), "1e+00");
        assert_eq!(super::go_e(1234.5), "1.2345e+03");
        assert_eq!(super::go_e(0.001), "1e-03");
        assert_eq!(super::go_e(-2.5e-300), "-2.5e-300");
    }

    #[test]
    fn alertmanager_targets_are_relabeled_as_prometheus_does() {
        let yaml = r#"
alerting:
  alertmanagers:
    - path_prefix: /am/
      static_configs:
        - targets: ["a:9093", "b:9093"]
          labels: {dc: east}
        - targets: ["c:9093"]
          labels: {dc: west}
      relabel_configs:
        - source_labels: [__address__]
          regex: "b:.*"
          action: drop
        - source_labels: [dc]
          regex: west
          target_label: __scheme__
          replacement: https
        - source_labels: [dc]
          regex: west
          target_label: __alerts_path__
          replacement: /other/api/v2/alerts
"#;
        let cfg = promlite_config::parse_str(
            yaml,
            std::path::Path::new("."),
            std::path::Path::new("p.yml"),
        )
        .unwrap()
        .config;
        let sets = super::alertmanager_sets(&cfg).unwrap();
        assert_eq!(
            sets[0].urls,
            vec![
                "http://a:9093/am".to_string(),
                "https://c:9093/other".to_string()
            ]
        );
        // Without relabeling every target is kept.
        let plain = yaml.split("      relabel_configs:").next().unwrap();
        let cfg = promlite_config::parse_str(
            plain,
            std::path::Path::new("."),
            std::path::Path::new("p.yml"),
        )
        .unwrap()
        .config;
        assert_eq!(super::alertmanager_sets(&cfg).unwrap()[0].urls.len(), 3);
    }
}
