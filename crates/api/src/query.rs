//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/query_exemplars`,
//! `/api/v1/format_query` and `/api/v1/parse_query`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use promlite_promql::{CancelFlag, Engine, EngineOpts, QueryResult, Value};
use promql_parser::parser::{value::ValueType, Expr};

use crate::error::{ApiError, ParamError, Result};
use crate::json::{result_type, write_value, Success};
use crate::params::{limit_param, parse_duration, parse_time, time_param, Params};
use crate::state::ApiState;

/// The warning Prometheus adds when `limit` cut a result short.
pub(crate) const TRUNCATED_WARNING: &str = "results truncated due to limit";

/// Sets the cancel flag when dropped: the handler future is dropped when
/// the client goes away, which stops the evaluation.
struct CancelOnDrop(CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// How long the query waited and ran, for `stats`.
struct Timings {
    queued: Duration,
    eval: Duration,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The options shared by instant and range queries.
struct QueryOpts {
    timeout: Duration,
    engine: Engine,
    limit: usize,
    stats: bool,
}

fn query_opts(state: &ApiState, p: &Params) -> Result<QueryOpts> {
    let base = state.inner.engine.opts();
    let mut timeout = state.inner.opts.query_timeout;
    let to = p.get("timeout");
    if !to.is_empty() {
        let ms = parse_duration(to).map_err(|e| ApiError::param("timeout", e))?;
        timeout = timeout.min(Duration::from_millis(ms.max(0) as u64));
    }
    let mut lookback = state.inner.opts.lookback_delta;
    let lb = p.get("lookback_delta");
    if !lb.is_empty() {
        let ms = parse_duration(lb).map_err(ApiError::LookbackDelta)?;
        if ms > 0 {
            lookback = Duration::from_millis(ms as u64);
        }
    }
    let engine = Engine::new(EngineOpts {
        lookback_delta: lookback,
        timeout,
        // The configuration's evaluation_interval, when the server set one.
        default_subquery_step: state.inner.engine.default_subquery_step(),
        ..base.clone()
    });
    Ok(QueryOpts {
        timeout,
        engine,
        limit: usize::MAX,
        stats: !p.get("stats").is_empty(),
    })
}

fn parse_query(q: &str) -> Result<Expr> {
    crate::params::parse_expr(q).map_err(|e| ApiError::param("query", ParamError::Parse(e)))
}

/// Runs `job` on the blocking pool once a concurrency slot is free, with
/// the timeout and cancellation on client disconnect.
async fn run<F>(state: &ApiState, timeout: Duration, job: F) -> Result<(QueryResult, Timings)>
where
    F: FnOnce(&dyn promlite_storage::Queryable, CancelFlag) -> promlite_promql::Result<QueryResult>
        + Send
        + 'static,
{
    let queued_at = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    // As in Prometheus, time spent waiting for a slot counts against the
    // query's timeout.
    let permit = tokio::time::timeout_at(deadline, state.inner.query_slots.clone().acquire_owned())
        .await
        .map_err(|_| ApiError::QueueTimeout)?
        .map_err(|_| ApiError::Query(promlite_promql::Error::Canceled))?;
    let queued = queued_at.elapsed();
    let cancel: CancelFlag = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    let queryable = state.inner.queryable.clone();
    let started = Instant::now();
    let handle = tokio::task::spawn_blocking(move || {
        // The slot stays taken until evaluation really stops.
        let _permit = permit;
        job(queryable.as_ref(), cancel)
    });
    match tokio::time::timeout_at(deadline, handle).await {
        Ok(joined) => {
            let res = joined??;
            Ok((
                res,
                Timings {
                    queued,
                    eval: started.elapsed(),
                },
            ))
        }
        // `_guard` cancels the evaluation as it goes out of scope.
        Err(_) => Err(ApiError::Query(promlite_promql::Error::Timeout)),
    }
}

fn truncate(res: &mut QueryResult, limit: usize) -> bool {
    match &mut res.value {
        Value::Vector(v) if v.len() > limit => {
            v.truncate(limit);
            true
        }
        Value::Matrix(m) if m.len() > limit => {
            m.truncate(limit);
            true
        }
        _ => false,
    }
}

fn respond(mut res: QueryResult, opts: &QueryOpts, t: Timings) -> Response {
    let mut warnings = std::mem::take(&mut res.warnings);
    if truncate(&mut res, opts.limit) {
        warnings.push(TRUNCATED_WARNING.to_string());
    }
    let mut out = String::with_capacity(256);
    out.push_str("{\"resultType\":\"");
    out.push_str(result_type(&res.value));
    out.push_str("\",\"result\":");
    write_value(&mut out, &res.value);
    if opts.stats {
        let eval = t.eval.as_secs_f64();
        let stats = serde_json::json!({
            "timings": {
                "evalTotalTime": eval,
                "resultSortTime": 0.0,
                "queryPreparationTime": 0.0,
                "innerEvalTime": eval,
                "execQueueTime": t.queued.as_secs_f64(),
                "execTotalTime": eval + t.queued.as_secs_f64(),
            },
            "samples": {
                "totalQueryableSamples": res.stats.total_samples,
                "peakSamples": res.stats.peak_samples,
            },
        });
        out.push_str(",\"stats\":");
        out.push_str(&stats.to_string());
    }
    out.push('}');
    Success::raw(out)
        .warnings(cap_annotations(warnings, "warning"))
        .infos(cap_annotations(std::mem::take(&mut res.infos), "info"))
        .into_response()
}

/// At most this many warnings (and as many infos) are sent, as Prometheus'
/// `Annotations.AsStrings(query, 10, 10)`.
const MAX_ANNOTATIONS: usize = 10;

fn cap_annotations(mut list: Vec<String>, kind: &str) -> Vec<String> {
    if list.len() > MAX_ANNOTATIONS {
        let skipped = list.len() - MAX_ANNOTATIONS;
        list.truncate(MAX_ANNOTATIONS);
        list.push(format!("{skipped} more {kind} annotations omitted"));
    }
    list
}

/// `GET|POST /api/v1/query`.
pub(crate) async fn instant_query(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let limit = limit_param(&p)?;
    let t = time_param(&p, "time", now_ms())?;
    let mut opts = query_opts(&state, &p)?;
    opts.limit = limit;
    let q = p.get("query").to_string();
    parse_query(&q)?;
    let engine = opts.engine.clone();
    let (res, timings) = run(&state, opts.timeout, move |qa, cancel| {
        engine.instant_query_with_cancel(qa, &q, t, Some(cancel))
    })
    .await?;
    Ok(respond(res, &opts, timings))
}

/// `GET|POST /api/v1/query_range`.
pub(crate) async fn range_query(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let limit = limit_param(&p)?;
    let start = parse_time(p.get("start")).map_err(|e| ApiError::param("start", e))?;
    let end = parse_time(p.get("end")).map_err(|e| ApiError::param("end", e))?;
    if end < start {
        return Err(ApiError::param("end", ParamError::EndBeforeStart));
    }
    let step = parse_duration(p.get("step")).map_err(|e| ApiError::param("step", e))?;
    if step <= 0 {
        return Err(ApiError::param("step", ParamError::NonPositiveStep));
    }
    if (i128::from(end) - i128::from(start)) / i128::from(step) > 11_000 {
        return Err(ApiError::TooManyPoints);
    }
    let mut opts = query_opts(&state, &p)?;
    opts.limit = limit;
    let q = p.get("query").to_string();
    let expr = parse_query(&q)?;
    match expr.value_type() {
        ValueType::Vector | ValueType::Scalar => {}
        ValueType::Matrix => {
            return Err(ApiError::param(
                "query",
                ParamError::RangeExprType("range vector"),
            ))
        }
        ValueType::String => {
            return Err(ApiError::param(
                "query",
                ParamError::RangeExprType("string"),
            ))
        }
    }
    let engine = opts.engine.clone();
    let (res, timings) = run(&state, opts.timeout, move |qa, cancel| {
        engine.range_query_with_cancel(qa, &q, start, end, step, Some(cancel))
    })
    .await?;
    Ok(respond(res, &opts, timings))
}

/// `GET|POST /api/v1/query_exemplars`: no exemplar storage yet, so the
/// parameters are checked and the answer is always empty.
pub(crate) async fn query_exemplars(
    State(state): State<ApiState>,
    req: Request,
) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let start = time_param(&p, "start", crate::params::MIN_TIME)?;
    let end = time_param(&p, "end", crate::params::MAX_TIME)?;
    if end < start {
        return Err(ApiError::BadData(ParamError::ExemplarsEndBeforeStart));
    }
    crate::params::parse_expr(p.get("query"))
        .map_err(|e| ApiError::BadData(ParamError::Parse(e)))?;
    Ok(Success::raw("[]".to_string()).into_response())
}

/// `GET|POST /api/v1/format_query`: promql-parser's pretty printer.
pub(crate) async fn format_query(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let expr = parse_query(p.get("query"))?;
    Ok(Success::json(&expr.prettify()).into_response())
}

/// `GET|POST /api/v1/parse_query`: the AST as JSON (promql-parser's
/// serialization, which follows Prometheus' field names).
pub(crate) async fn parse_query_ast(
    State(state): State<ApiState>,
    req: Request,
) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let expr = parse_query(p.get("query"))?;
    let mut v = serde_json::to_value(&expr).unwrap_or(serde_json::Value::Null);
    add_name_matchers(&mut v);
    Ok(Success::json(&v).into_response())
}

/// Prometheus lists the `__name__="x"` matcher of `x{...}` among a
/// selector's matchers (first); promql-parser keeps it only in `name`.
fn add_name_matchers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            let is_selector = matches!(
                map.get("type").and_then(|t| t.as_str()),
                Some("vectorSelector" | "matrixSelector")
            );
            let name = map
                .get("name")
                .and_then(|n| n.as_str())
                .filter(|n| !n.is_empty())
                .map(str::to_string);
            if let (true, Some(name)) = (is_selector, name) {
                if let Some(serde_json::Value::Array(ms)) = map.get_mut("matchers") {
                    let has = ms
                        .iter()
                        .any(|m| m.get("name").and_then(|n| n.as_str()) == Some("__name__"));
                    if !has {
                        ms.insert(
                            0,
                            serde_json::json!({"name": "__name__", "type": "=", "value": name}),
                        );
                    }
                }
            }
            for child in map.values_mut() {
                add_name_matchers(child);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(add_name_matchers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::Labels;
    use promlite_storage::{Appendable, Appender, Querier, Queryable, SeriesRef};

    struct Empty;

    impl Queryable for Empty {
        fn querier(&self, _: i64, _: i64) -> promlite_storage::Result<Box<dyn Querier>> {
            Ok(Box::new(promlite_storage::VecQuerier::new(Vec::new())))
        }
    }

    impl Appendable for Empty {
        fn appender(&self) -> Box<dyn Appender> {
            struct Nop;
            impl Appender for Nop {
                fn append(
                    &mut self,
                    _: Option<SeriesRef>,
                    _: &Labels,
                    _: i64,
                    _: f64,
                ) -> promlite_storage::Result<SeriesRef> {
                    Ok(SeriesRef(0))
                }
                fn commit(self: Box<Self>) -> promlite_storage::Result<()> {
                    Ok(())
                }
                fn rollback(self: Box<Self>) -> promlite_storage::Result<()> {
                    Ok(())
                }
            }
            Box::new(Nop)
        }
    }

    fn state(slots: usize) -> ApiState {
        ApiState::builder(
            Arc::new(Empty),
            Arc::new(Empty),
            Arc::new(Engine::default()),
        )
        .options(crate::ApiOptions {
            max_concurrency: slots,
            ..crate::ApiOptions::default()
        })
        .build()
    }

    /// A job that spins until cancelled and reports that it saw the flag.
    fn spin(
        seen: Arc<AtomicBool>,
    ) -> impl FnOnce(
        &dyn promlite_storage::Queryable,
        CancelFlag,
    ) -> promlite_promql::Result<QueryResult>
           + Send
           + 'static {
        move |_, cancel| {
            let until = Instant::now() + Duration::from_secs(5);
            while !cancel.load(Ordering::Acquire) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
            seen.store(cancel.load(Ordering::Acquire), Ordering::Release);
            Err(promlite_promql::Error::Canceled)
        }
    }

    #[test]
    fn queries_take_the_engines_configured_subquery_step() {
        let st = state(1);
        st.inner
            .engine
            .set_default_subquery_step(Duration::from_secs(15));
        let o = query_opts(&st, &Params::default()).unwrap();
        assert_eq!(o.engine.default_subquery_step(), Duration::from_secs(15));
    }

    #[test]
    fn annotations_are_capped_like_as_strings() {
        let l: Vec<String> = (0..12).map(|i| format!("w{i}")).collect();
        let c = cap_annotations(l, "warning");
        assert_eq!(c.len(), 11);
        assert_eq!(c[10], "2 more warning annotations omitted");
        assert_eq!(
            cap_annotations(vec!["a".into()], "info"),
            vec!["a".to_string()]
        );
    }

    #[tokio::test]
    async fn dropping_the_request_cancels_the_query() {
        let st = state(1);
        let seen = Arc::new(AtomicBool::new(false));
        let fut = run(&st, Duration::from_secs(10), spin(seen.clone()));
        // The client goes away: the handler future is dropped mid-query.
        assert!(tokio::time::timeout(Duration::from_millis(50), fut)
            .await
            .is_err());
        // The slot is released once the evaluation has stopped.
        let permit = tokio::time::timeout(
            Duration::from_secs(2),
            st.inner.query_slots.clone().acquire_owned(),
        )
        .await
        .unwrap()
        .unwrap();
        drop(permit);
        assert!(seen.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn timeouts_cancel_and_queue_waits_count() {
        let st = state(1);
        let seen = Arc::new(AtomicBool::new(false));
        let err = run(&st, Duration::from_millis(50), spin(seen.clone()))
            .await
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "query timed out in expression evaluation");
        // Hold the only slot: the next query times out in the queue.
        let _held = st.inner.query_slots.clone().acquire_owned().await.unwrap();
        assert!(seen.load(Ordering::Acquire));
        let err = run(
            &st,
            Duration::from_millis(30),
            spin(Arc::new(AtomicBool::new(false))),
        )
        .await
        .err()
        .unwrap();
        assert_eq!(err.to_string(), "query timed out in query queue");
    }
}
