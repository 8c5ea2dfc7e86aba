//! Shared fixtures: an in-memory TSDB with known data and request helpers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use promlite_api::{router, ApiOptions, ApiState, ApiStateBuilder};
use promlite_model::Labels;
use promlite_promql::Engine;
use promlite_storage::{Appendable, Queryable};
use promlite_tsdb::{Db, DbOptions};
use tower::ServiceExt;

/// The first sample time of the fixture data (ms).
pub(crate) const T0: i64 = 1_700_000_000_000;

pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

/// The value of a fixture series at its i-th sample.
type ValueFn = Box<dyn Fn(i64) -> f64>;

/// An in-memory TSDB with `up`, `http_requests_total` and `special`
/// series, samples every 15s from T0 to T0+300s.
pub(crate) fn fixture_db() -> Arc<Db> {
    let db = Arc::new(Db::open_in_memory(DbOptions::default()));
    let mut app = db.appender();
    let series: Vec<(Labels, ValueFn)> = vec![
        (
            labels(&[("__name__", "up"), ("job", "api"), ("instance", "a")]),
            Box::new(|_| 1.0),
        ),
        (
            labels(&[("__name__", "up"), ("job", "api"), ("instance", "b")]),
            Box::new(|_| 0.0),
        ),
        (
            labels(&[("__name__", "up"), ("job", "db"), ("instance", "c")]),
            Box::new(|_| 1.0),
        ),
        (
            labels(&[("__name__", "http_requests_total"), ("job", "api")]),
            Box::new(|i| (i * 10) as f64),
        ),
        (
            labels(&[("__name__", "special"), ("k", "nan")]),
            Box::new(|_| f64::NAN),
        ),
        (
            labels(&[("__name__", "special"), ("k", "pinf")]),
            Box::new(|_| f64::INFINITY),
        ),
        (
            labels(&[("__name__", "special"), ("k", "ninf")]),
            Box::new(|_| f64::NEG_INFINITY),
        ),
        (
            labels(&[("__name__", "special"), ("k", "tiny")]),
            Box::new(|_| 1e-300),
        ),
        (
            labels(&[("__name__", "special"), ("k", "huge")]),
            Box::new(|_| 1e300),
        ),
        (
            labels(&[("__name__", "special"), ("k", "negzero")]),
            Box::new(|_| -0.0),
        ),
        (
            labels(&[("__name__", "special"), ("k", "int")]),
            Box::new(|_| 42.0),
        ),
        (
            labels(&[("__name__", "special"), ("k", "frac")]),
            Box::new(|_| 0.1),
        ),
    ];
    for (l, f) in &series {
        let mut r = None;
        for i in 0..=20 {
            r = Some(app.append(r, l, T0 + i * 15_000, f(i)).unwrap());
        }
    }
    app.commit().unwrap();
    db
}

pub(crate) fn builder_for(db: Arc<Db>) -> ApiStateBuilder {
    let q: Arc<dyn Queryable> = db.clone();
    let a: Arc<dyn Appendable> = db;
    ApiState::builder(q, a, Arc::new(Engine::default()))
}

/// A ready state over the fixture data with `opts`.
pub(crate) fn state_with(opts: ApiOptions) -> ApiState {
    let s = builder_for(fixture_db()).options(opts).build();
    s.set_ready(true);
    s
}

/// A ready router over the fixture data with default options.
pub(crate) fn app() -> Router {
    router(state_with(ApiOptions::default()))
}

pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub(crate) async fn send(app: &Router, req: Request<Body>) -> Resp {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    Resp {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub(crate) async fn get(app: &Router, uri: &str) -> Resp {
    send(
        app,
        Request::builder().uri(uri).body(Body::empty()).unwrap(),
    )
    .await
}

pub(crate) async fn request(app: &Router, method: Method, uri: &str) -> Resp {
    send(
        app,
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

pub(crate) async fn post_form(app: &Router, uri: &str, form: &str) -> Resp {
    send(
        app,
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .unwrap(),
    )
    .await
}

/// Percent-encodes a query parameter value.
pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Asserts Prometheus' error envelope.
pub(crate) fn assert_error(r: &Resp, status: u16, error_type: &str, msg: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "error", "body: {}", r.body);
    assert_eq!(v["errorType"], error_type, "body: {}", r.body);
    assert_eq!(v["error"], msg, "body: {}", r.body);
}
