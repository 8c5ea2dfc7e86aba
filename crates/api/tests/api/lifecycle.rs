//! `/-/healthy`, `/-/ready`, `/-/reload`, `/-/quit`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::Method;
use promlite_api::{router, ApiOptions, ProviderError, StatusProvider};

use super::support::*;

#[derive(Default)]
struct Lifecycle {
    reloads: AtomicUsize,
    quits: AtomicUsize,
    fail: bool,
}

impl StatusProvider for Lifecycle {
    fn reload(&self) -> Result<(), ProviderError> {
        self.reloads.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err("bad config".into());
        }
        Ok(())
    }
    fn quit(&self) {
        self.quits.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn healthy_and_ready() {
    let state = builder_for(fixture_db()).build();
    let app = router(state.clone());
    let r = get(&app, "/-/healthy").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (200, "Prometheus Server is Healthy.\n")
    );
    let r = get(&app, "/-/ready").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (503, "Service Unavailable")
    );
    state.set_ready(true);
    let r = get(&app, "/-/ready").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (200, "Prometheus Server is Ready.\n")
    );
    let r = request(&app, Method::HEAD, "/-/healthy").await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn unknown_paths_are_gos_404() {
    let state = builder_for(fixture_db()).build();
    state.set_ready(true);
    let app = router(state);
    for path in ["/api/v1/nonexistent", "/nonexistent"] {
        let r = get(&app, path).await;
        assert_eq!(
            (r.status.as_u16(), r.body.as_str()),
            (404, "404 page not found\n"),
            "{path}"
        );
        assert_eq!(r.content_type, "text/plain; charset=utf-8");
    }
}

#[tokio::test]
async fn lifecycle_is_forbidden_unless_enabled() {
    let app = app();
    for m in [Method::POST, Method::PUT] {
        for p in ["/-/reload", "/-/quit"] {
            let r = request(&app, m.clone(), p).await;
            assert_eq!(r.status, 403);
            assert_eq!(r.body, "Lifecycle API is not enabled.");
        }
    }
    let r = get(&app, "/-/quit").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (405, "Only POST or PUT requests allowed")
    );
}

#[tokio::test]
async fn reload_and_quit_call_the_provider() {
    let p = Arc::new(Lifecycle::default());
    let state = builder_for(fixture_db())
        .options(ApiOptions {
            enable_lifecycle: true,
            ..ApiOptions::default()
        })
        .with_status(p.clone())
        .build();
    let app = router(state);
    let r = request(&app, Method::POST, "/-/reload").await;
    assert_eq!(r.status, 200);
    assert_eq!(p.reloads.load(Ordering::SeqCst), 1);
    let r = request(&app, Method::PUT, "/-/quit").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (200, "Requesting termination... Goodbye!")
    );
    assert_eq!(p.quits.load(Ordering::SeqCst), 1);

    let failing = Arc::new(Lifecycle {
        fail: true,
        ..Lifecycle::default()
    });
    let state = builder_for(fixture_db())
        .options(ApiOptions {
            enable_lifecycle: true,
            ..ApiOptions::default()
        })
        .with_status(failing)
        .build();
    let r = request(&router(state), Method::POST, "/-/reload").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body, "failed to reload config: bad config\n");
}
