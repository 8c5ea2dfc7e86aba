//! `/federate`: the newest sample of every matched series within the
//! lookback delta, in the text exposition format 0.0.4 (Prometheus'
//! `web/federate.go`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use promlite_model::{is_stale_nan, Labels, METRIC_NAME};
use promlite_storage::{SelectHints, ValueType};

use crate::error::PlainError;
use crate::json::format_go_g_shortest;
use crate::params::{parse_matchers_param, Params};
use crate::state::ApiState;

/// The content type of the text exposition format.
const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /federate`.
pub(crate) async fn federate(State(state): State<ApiState>, req: Request) -> Response {
    match federate_inner(state, req).await {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn federate_inner(state: ApiState, req: Request) -> Result<String, PlainError> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes)
        .await
        .map_err(|e| PlainError::BodyRead(e.to_string()))?;
    let sets = parse_matchers_param(&p.all("match[]")).map_err(|e| match e {
        crate::error::ParamError::EmptyMatcher => PlainError::EmptyMatcher,
        e => PlainError::Parse(e.to_string()),
    })?;
    let maxt = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mint = maxt - state.inner.opts.lookback_delta.as_millis() as i64;
    let queryable = state.inner.queryable.clone();
    let external = state
        .inner
        .status
        .as_ref()
        .and_then(|s| s.external_labels())
        .unwrap_or_else(|| state.inner.opts.external_labels.clone());
    let samples = tokio::task::spawn_blocking(move || -> Result<_, PlainError> {
        let mut latest: BTreeMap<Labels, (i64, f64)> = BTreeMap::new();
        if sets.is_empty() {
            return Ok(latest);
        }
        let q = queryable.querier(mint, maxt).map_err(PlainError::Storage)?;
        let hints = SelectHints {
            start: mint,
            end: maxt,
        };
        for ms in &sets {
            let set = q
                .select(true, Some(&hints), ms)
                .map_err(PlainError::Storage)?;
            for s in set {
                let s = s.map_err(PlainError::Storage)?;
                let mut it = s.iterator();
                let mut last = None;
                while it.next() == ValueType::Float {
                    let (t, v) = it.at();
                    if t > maxt {
                        break;
                    }
                    if t >= mint {
                        last = Some((t, v));
                    }
                }
                if let Some((t, v)) = last {
                    if !is_stale_nan(v) {
                        latest.insert(s.labels().clone(), (t, v));
                    }
                }
            }
        }
        Ok(latest)
    })
    .await
    .map_err(|e| PlainError::BodyRead(e.to_string()))??;
    Ok(encode(&samples, &external))
}

/// Writes the samples grouped by metric name, each family as `untyped`,
/// with external labels the series lacks appended. As in Prometheus, an
/// empty `instance` counts as an external label unless one is configured,
/// so that the federating server does not attach its own.
fn encode(samples: &BTreeMap<Labels, (i64, f64)>, external: &Labels) -> String {
    let mut external: Vec<(&str, &str)> = external.iter().map(|e| (e.name, e.value)).collect();
    if !external.iter().any(|(n, _)| *n == "instance") {
        external.push(("instance", ""));
        external.sort_unstable();
    }
    let mut by_name: BTreeMap<&str, Vec<(&Labels, i64, f64)>> = BTreeMap::new();
    for (l, (t, v)) in samples {
        match l.get(METRIC_NAME) {
            Some(name) if !name.is_empty() => {
                by_name.entry(name).or_default().push((l, *t, *v));
            }
            _ => {
                tracing::warn!(target: "api", metric = %l, "ignoring nameless metric during federation")
            }
        }
    }
    let mut out = String::new();
    for (name, series) in by_name {
        let _ = writeln!(out, "# TYPE {name} untyped");
        for (l, t, v) in series {
            out.push_str(name);
            let mut pairs: Vec<(&str, &str)> = l
                .iter()
                .filter(|lb| lb.name != METRIC_NAME && !lb.value.is_empty())
                .map(|lb| (lb.name, lb.value))
                .collect();
            for &(n, v) in &external {
                if l.get_or_empty(n).is_empty() {
                    pairs.push((n, v));
                }
            }
            if !pairs.is_empty() {
                out.push('{');
                for (i, (n, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(n);
                    out.push_str("=\"");
                    escape_label_value(&mut out, v);
                    out.push('"');
                }
                out.push('}');
            }
            let _ = writeln!(out, " {} {t}", format_go_g_shortest(v));
        }
    }
    out
}

fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_families_with_external_labels() {
        let mut m = BTreeMap::new();
        m.insert(
            Labels::from_pairs(&[("__name__", "up"), ("job", "a\"b")]),
            (1000, 1.0),
        );
        m.insert(
            Labels::from_pairs(&[("__name__", "up"), ("job", "c"), ("zone", "z1")]),
            (2000, 1e6),
        );
        let ext = Labels::from_pairs(&[("zone", "eu")]);
        let s = encode(&m, &ext);
        assert_eq!(
            s,
            "# TYPE up untyped\nup{job=\"a\\\"b\",instance=\"\",zone=\"eu\"} 1 1000\nup{job=\"c\",zone=\"z1\",instance=\"\"} 1e+06 2000\n"
        );
    }

    #[test]
    fn an_empty_instance_is_attached_unless_configured() {
        let mut m = BTreeMap::new();
        m.insert(Labels::from_pairs(&[("__name__", "x")]), (1000, 2.0));
        m.insert(
            Labels::from_pairs(&[("__name__", "x"), ("instance", "h:1")]),
            (1000, 3.0),
        );
        assert_eq!(
            encode(&m, &Labels::default()),
            "# TYPE x untyped\nx{instance=\"\"} 2 1000\nx{instance=\"h:1\"} 3 1000\n"
        );
        let ext = Labels::from_pairs(&[("instance", "fed")]);
        assert_eq!(
            encode(&m, &ext),
            "# TYPE x untyped\nx{instance=\"fed\"} 2 1000\nx{instance=\"h:1\"} 3 1000\n"
        );
    }
}
