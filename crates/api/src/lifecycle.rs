//! `/-/healthy`, `/-/ready`, `/-/reload`, `/-/quit` and the readiness gate
//! (Prometheus' `web.go`).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::plain;
use crate::state::ApiState;

/// `GET|HEAD /-/healthy`.
pub(crate) async fn healthy() -> Response {
    plain(
        StatusCode::OK,
        "Prometheus Server is Healthy.\n".to_string(),
    )
}

/// `GET|HEAD /-/ready`.
pub(crate) async fn ready(State(state): State<ApiState>) -> Response {
    if state.is_ready() {
        plain(StatusCode::OK, "Prometheus Server is Ready.\n".to_string())
    } else {
        not_ready()
    }
}

fn not_ready() -> Response {
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable".to_string(),
    )
}

/// Middleware answering 503 until the server is ready (`testReady`).
pub(crate) async fn require_ready(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Response {
    if state.is_ready() {
        next.run(req).await
    } else {
        not_ready()
    }
}

fn lifecycle_disabled() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "Lifecycle API is not enabled.".to_string(),
    )
}

/// `POST|PUT /-/reload`.
pub(crate) async fn reload(State(state): State<ApiState>) -> Response {
    if !state.inner.opts.enable_lifecycle {
        return lifecycle_disabled();
    }
    let Some(status) = state.inner.status.clone() else {
        return plain(StatusCode::OK, String::new());
    };
    match tokio::task::spawn_blocking(move || status.reload()).await {
        Ok(Ok(())) => plain(StatusCode::OK, String::new()),
        Ok(Err(e)) => {
            tracing::error!(target: "api", error = %e, "reload failed");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to reload config: {e}\n"),
            )
        }
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        ),
    }
}

/// `POST|PUT /-/quit`.
pub(crate) async fn quit(State(state): State<ApiState>) -> Response {
    if !state.inner.opts.enable_lifecycle {
        return lifecycle_disabled();
    }
    if let Some(status) = &state.inner.status {
        status.quit();
    }
    plain(
        StatusCode::OK,
        "Requesting termination... Goodbye!".to_string(),
    )
}

/// `GET /-/reload` and `GET /-/quit`.
pub(crate) async fn only_post_or_put() -> Response {
    plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only POST or PUT requests allowed".to_string(),
    )
}

const CORS_HEADERS: [(&str, &str); 4] = [
    (
        "access-control-allow-headers",
        "Accept, Authorization, Content-Type, Origin",
    ),
    ("access-control-allow-methods", "GET, POST, OPTIONS"),
    ("access-control-expose-headers", "Date"),
    ("vary", "Origin"),
];

/// Prometheus' `httputil.SetCORS` for the API, and `OPTIONS` answered with
/// 204 as its `/*path` options route does.
pub(crate) async fn cors(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    use crate::state::Cors;
    use axum::http::{HeaderValue, Method};
    let origin = req
        .headers()
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut res = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    if let Some(origin) = origin.filter(|o| !o.is_empty()) {
        let h = res.headers_mut();
        for (k, v) in CORS_HEADERS {
            h.insert(k, HeaderValue::from_static(v));
        }
        let allow = match &state.inner.cors {
            Cors::Any => Some("*".to_string()),
            Cors::Pattern(re) if re.is_match(&origin) => Some(origin),
            _ => None,
        };
        if let Some(v) = allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            h.insert("access-control-allow-origin", v);
        }
    }
    res
}

/// 404 as Go's `http.NotFound` writes it, for paths no route serves.
pub(crate) async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "404 page not found\n".to_string())
}

/// 405 as Go's router writes it.
pub(crate) async fn method_not_allowed() -> Response {
    plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed\n".to_string(),
    )
}
