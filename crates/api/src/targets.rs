//! `/api/v1/targets`, `/api/v1/targets/metadata`, `/api/v1/metadata`,
//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers`.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use promlite_model::Labels;
use serde::Serialize;

use crate::error::{ApiError, ParamError, Result};
use crate::json::Success;
use crate::params::{parse_selector, Params};
use crate::providers::{ActiveTarget, DroppedTarget, MetricMetadata, Rule};
use crate::state::ApiState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetDiscovery {
    active_targets: Vec<ActiveTarget>,
    dropped_targets: Vec<DroppedTarget>,
    dropped_target_counts: BTreeMap<String, usize>,
}

/// `GET /api/v1/targets` (`state`, `scrapePool`).
pub(crate) async fn targets(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let which = p.get("state").to_ascii_lowercase();
    let pool = p.get("scrapePool");
    let show_active = matches!(which.as_str(), "" | "any" | "active");
    let show_dropped = matches!(which.as_str(), "" | "any" | "dropped");
    let mut res = TargetDiscovery {
        active_targets: Vec::new(),
        dropped_targets: Vec::new(),
        dropped_target_counts: BTreeMap::new(),
    };
    if let Some(tp) = &state.inner.targets {
        if show_active {
            let mut a = tp.active_targets();
            a.retain(|t| pool.is_empty() || t.scrape_pool == pool);
            a.sort_by(|x, y| x.scrape_pool.cmp(&y.scrape_pool));
            res.active_targets = a;
        }
        let dropped = tp.dropped_targets();
        for t in &dropped {
            *res.dropped_target_counts
                .entry(t.scrape_pool.clone())
                .or_default() += 1;
        }
        if show_dropped {
            let mut d = dropped;
            d.retain(|t| pool.is_empty() || t.scrape_pool == pool);
            d.sort_by(|x, y| x.scrape_pool.cmp(&y.scrape_pool));
            res.dropped_targets = d;
        }
    }
    Ok(Success::json(&res).into_response())
}

fn metadata_limit(p: &Params, name: &str) -> Result<i64> {
    let s = p.get(name);
    if s.is_empty() {
        return Ok(-1);
    }
    s.parse::<i64>().map_err(|_| ApiError::LimitNotNumber)
}

#[derive(Serialize)]
struct TargetMetricMetadata<'a> {
    target: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric: Option<&'a str>,
    #[serde(flatten)]
    md: &'a MetricMetadata,
}

/// `GET /api/v1/targets/metadata` (`match_target`, `metric`, `limit`).
pub(crate) async fn targets_metadata(
    State(state): State<ApiState>,
    req: Request,
) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let limit = metadata_limit(&p, "limit")?;
    let match_target = p.get("match_target");
    let matchers = if match_target.is_empty() {
        Vec::new()
    } else {
        parse_selector(match_target)
            .map_err(|e| ApiError::param("match_target", e))?
            .into_iter()
            .next()
            .unwrap_or_default()
    };
    let metric = p.get("metric");
    let all = state
        .inner
        .targets
        .as_ref()
        .map(|t| t.target_metadata())
        .unwrap_or_default();
    let mut res: Vec<TargetMetricMetadata<'_>> = Vec::new();
    for tm in &all {
        if limit >= 0 && res.len() as i64 >= limit {
            break;
        }
        if !matchers.iter().all(|m| m.matches_labels(&tm.target)) {
            continue;
        }
        for md in &tm.metadata {
            if !metric.is_empty() && md.metric != metric {
                continue;
            }
            res.push(TargetMetricMetadata {
                target: labels_map(&tm.target),
                metric: metric.is_empty().then_some(md.metric.as_str()),
                md,
            });
        }
    }
    Ok(Success::json(&res).into_response())
}

fn labels_map(l: &Labels) -> BTreeMap<&str, &str> {
    l.iter().map(|lb| (lb.name, lb.value)).collect()
}

/// `GET /api/v1/metadata` (`metric`, `limit`, `limit_per_metric`).
pub(crate) async fn metadata(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let limit = metadata_limit(&p, "limit")?;
    let per_metric = metadata_limit(&p, "limit_per_metric")?;
    let metric = p.get("metric");
    let all = state
        .inner
        .targets
        .as_ref()
        .map(|t| t.target_metadata())
        .unwrap_or_default();
    let mut sets: BTreeMap<&str, BTreeSet<&MetricMetadata>> = BTreeMap::new();
    for tm in &all {
        for md in &tm.metadata {
            if !metric.is_empty() && md.metric != metric {
                continue;
            }
            let set = sets.entry(md.metric.as_str()).or_default();
            if per_metric > 0 && set.len() as i64 >= per_metric {
                continue;
            }
            set.insert(md);
        }
    }
    let mut res: BTreeMap<&str, Vec<&MetricMetadata>> = BTreeMap::new();
    for (name, set) in sets {
        if limit >= 0 && res.len() as i64 >= limit {
            break;
        }
        res.insert(name, set.into_iter().collect());
    }
    Ok(Success::json(&res).into_response())
}

/// `GET /api/v1/rules` (`type`, `rule_name[]`, `rule_group[]`, `file[]`,
/// `exclude_alerts`).
pub(crate) async fn rules(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let typ = p.get("type").to_ascii_lowercase();
    if !matches!(typ.as_str(), "" | "alert" | "record") {
        return Err(ApiError::param("type", ParamError::Unsupported(typ)));
    }
    let exclude_alerts = match p.get("exclude_alerts") {
        "" => false,
        s => crate::params::parse_bool(s).map_err(|e| ApiError::param("exclude_alerts", e))?,
    };
    let names: BTreeSet<&str> = p.all("rule_name[]").into_iter().collect();
    let groups_f: BTreeSet<&str> = p.all("rule_group[]").into_iter().collect();
    let files: BTreeSet<&str> = p.all("file[]").into_iter().collect();
    let mut groups = state
        .inner
        .rules
        .as_ref()
        .map(|r| r.rule_groups())
        .unwrap_or_default();
    groups.retain(|g| {
        (groups_f.is_empty() || groups_f.contains(g.name.as_str()))
            && (files.is_empty() || files.contains(g.file.as_str()))
    });
    for g in &mut groups {
        g.rules.retain_mut(|r| match r {
            Rule::Alerting(a) => {
                if exclude_alerts {
                    a.alerts.clear();
                }
                typ != "record" && (names.is_empty() || names.contains(a.name.as_str()))
            }
            Rule::Recording(rr) => {
                typ != "alert" && (names.is_empty() || names.contains(rr.name.as_str()))
            }
        });
    }
    if !names.is_empty() {
        groups.retain(|g| !g.rules.is_empty());
    }
    #[derive(Serialize)]
    struct Groups {
        groups: Vec<crate::providers::RuleGroup>,
    }
    Ok(Success::json(&Groups { groups }).into_response())
}

/// `GET /api/v1/alerts`.
pub(crate) async fn alerts(State(state): State<ApiState>) -> Response {
    let alerts = state
        .inner
        .rules
        .as_ref()
        .map(|r| r.alerts())
        .unwrap_or_default();
    #[derive(Serialize)]
    struct Alerts {
        alerts: Vec<crate::providers::Alert>,
    }
    Success::json(&Alerts { alerts }).into_response()
}

/// `GET /api/v1/alertmanagers`.
pub(crate) async fn alertmanagers(State(state): State<ApiState>) -> Response {
    let (active, dropped) = state
        .inner
        .rules
        .as_ref()
        .map(|r| r.alertmanagers())
        .unwrap_or_default();
    #[derive(Serialize)]
    struct Url {
        url: String,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Discovery {
        active_alertmanagers: Vec<Url>,
        dropped_alertmanagers: Vec<Url>,
    }
    let urls = |v: Vec<String>| -> Vec<Url> { v.into_iter().map(|url| Url { url }).collect() };
    Success::json(&Discovery {
        active_alertmanagers: urls(active),
        dropped_alertmanagers: urls(dropped),
    })
    .into_response()
}

/// `GET /api/v1/scrape_pools`.
pub(crate) async fn scrape_pools(State(state): State<ApiState>) -> Response {
    let pools = state
        .inner
        .targets
        .as_ref()
        .map(|t| t.scrape_pools())
        .unwrap_or_default();
    Success::json(&serde_json::json!({ "scrapePools": pools })).into_response()
}

/// `GET /api/v1/notifications`: promlite has no server notifications.
pub(crate) async fn notifications() -> Response {
    Success::raw("[]".to_string()).into_response()
}
