//! `/api/v1/status/*`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use promlite_model::{Labels, MatchType, Matcher, METRIC_NAME};
use promlite_storage::{SampleIterator, ValueType};

use crate::error::{ApiError, Result};
use crate::json::Success;
use crate::params::{Params, MAX_TIME, MIN_TIME};
use crate::providers::{BuildInfo, HeadStats, RuntimeInfo, TsdbStat, TsdbStatus, WalReplayStatus};
use crate::state::ApiState;

/// `GET /api/v1/status/config`.
pub(crate) async fn config(State(state): State<ApiState>) -> Response {
    let yaml = state
        .inner
        .status
        .as_ref()
        .map(|s| s.config_yaml())
        .unwrap_or_default();
    Success::json(&serde_json::json!({ "yaml": yaml })).into_response()
}

/// `GET /api/v1/status/flags`.
pub(crate) async fn flags(State(state): State<ApiState>) -> Response {
    let flags: BTreeMap<String, String> = state
        .inner
        .status
        .as_ref()
        .map(|s| s.flags())
        .unwrap_or_default();
    Success::json(&flags).into_response()
}

/// `GET /api/v1/status/runtimeinfo`.
pub(crate) async fn runtime_info(State(state): State<ApiState>) -> Response {
    let mut info = match &state.inner.status {
        Some(s) => s.runtime_info(),
        None => RuntimeInfo::default(),
    };
    if info.start_time.is_none() {
        info.start_time = Some(state.inner.started);
    }
    if info.last_config_time.is_none() {
        info.last_config_time = Some(state.inner.started);
    }
    Success::json(&info).into_response()
}

/// `GET /api/v1/status/buildinfo`.
pub(crate) async fn build_info(State(state): State<ApiState>) -> Response {
    let info = match &state.inner.status {
        Some(s) => s.build_info(),
        None => BuildInfo::default(),
    };
    Success::json(&info).into_response()
}

/// `GET /api/v1/status/walreplay`.
pub(crate) async fn wal_replay(State(state): State<ApiState>) -> Response {
    let st = match &state.inner.status {
        Some(s) => s.wal_replay_status(),
        None => WalReplayStatus::default(),
    };
    Success::json(&st).into_response()
}

/// `GET /api/v1/status/tsdb`.
pub(crate) async fn tsdb(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let mut limit = 10usize;
    let s = p.get("limit");
    if !s.is_empty() {
        limit = match s.parse::<i64>() {
            Ok(n) if n >= 1 => n as usize,
            _ => return Err(ApiError::LimitNotPositive),
        };
    }
    if let Some(st) = state
        .inner
        .status
        .as_ref()
        .and_then(|s| s.tsdb_status(limit))
    {
        return Ok(Success::json(&st).into_response());
    }
    let queryable = state.inner.queryable.clone();
    let st = tokio::task::spawn_blocking(move || compute_tsdb_status(queryable.as_ref(), limit))
        .await??;
    Ok(Success::json(&st).into_response())
}

/// Cardinality statistics computed by reading every series of the
/// queryable (used when no provider supplies the head's own numbers).
fn compute_tsdb_status(q: &dyn promlite_storage::Queryable, limit: usize) -> Result<TsdbStatus> {
    let querier = q.querier(MIN_TIME, MAX_TIME)?;
    let all = Matcher::new(MatchType::Regex, METRIC_NAME, ".+")
        .map_err(|e| ApiError::Storage(promlite_storage::Error::InvalidQuery(e.to_string())))?;
    let mut by_metric: HashMap<String, u64> = HashMap::new();
    let mut by_pair: HashMap<(String, String), u64> = HashMap::new();
    let mut num_series = 0u64;
    let mut min_time = i64::MAX;
    let mut max_time = i64::MIN;
    for s in querier.select(false, None, &[all])? {
        let s = s?;
        num_series += 1;
        let l: &Labels = s.labels();
        for lb in l.iter() {
            if lb.name == METRIC_NAME {
                *by_metric.entry(lb.value.to_string()).or_default() += 1;
            }
            *by_pair
                .entry((lb.name.to_string(), lb.value.to_string()))
                .or_default() += 1;
        }
        let mut it: Box<dyn SampleIterator + '_> = s.iterator();
        let mut first = true;
        while it.next() == ValueType::Float {
            let t = it.at_t();
            if first {
                min_time = min_time.min(t);
                first = false;
            }
            max_time = max_time.max(t);
        }
    }
    let mut values_by_name: HashMap<String, (u64, u64)> = HashMap::new();
    for (name, value) in by_pair.keys() {
        let e = values_by_name.entry(name.clone()).or_default();
        e.0 += 1;
        e.1 += value.len() as u64;
    }
    let top = |items: Vec<(String, u64)>| -> Vec<TsdbStat> {
        let mut items = items;
        items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        items.truncate(limit);
        items
            .into_iter()
            .map(|(name, value)| TsdbStat { name, value })
            .collect()
    };
    Ok(TsdbStatus {
        head_stats: HeadStats {
            num_series,
            num_label_pairs: by_pair.len() as i64,
            chunk_count: 0,
            min_time,
            max_time,
        },
        series_count_by_metric_name: top(by_metric.into_iter().collect()),
        label_value_count_by_label_name: top(values_by_name
            .iter()
            .map(|(k, v)| (k.clone(), v.0))
            .collect()),
        memory_in_bytes_by_label_name: top(values_by_name
            .iter()
            .map(|(k, v)| (k.clone(), v.1))
            .collect()),
        series_count_by_label_value_pair: top(by_pair
            .into_iter()
            .map(|((n, v), c)| (format!("{n}={v}"), c))
            .collect()),
    })
}
