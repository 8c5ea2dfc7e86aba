//! `/api/v1/admin/tsdb/{snapshot,delete_series,clean_tombstones}`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Result};
use crate::json::Success;
use crate::params::{parse_bool, parse_matchers_param, time_param, Params, MAX_TIME, MIN_TIME};
use crate::providers::TsdbAdmin;
use crate::state::ApiState;

fn admin(state: &ApiState) -> Result<Arc<dyn TsdbAdmin>> {
    if !state.inner.opts.enable_admin {
        return Err(ApiError::AdminDisabled);
    }
    state.inner.admin.clone().ok_or(ApiError::TsdbNotReady)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A random 63-bit number without a dependency: std's per-process random
/// hasher keys mixed with the clock.
fn random_u63() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() >> 1
}

/// `POST|PUT /api/v1/admin/tsdb/snapshot` (`skip_head`).
pub(crate) async fn snapshot(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let db = admin(&state)?;
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let skip_head = match p.get("skip_head") {
        "" => false,
        s => parse_bool(s).map_err(|e| ApiError::param("skip_head", e))?,
    };
    let name = format!(
        "{}-{:016x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        random_u63()
    );
    let base = db
        .data_dir()
        .map(|d| d.to_path_buf())
        .unwrap_or_else(|| std::path::PathBuf::from("data"));
    let dir = base.join("snapshots").join(&name);
    let res = tokio::task::spawn_blocking(move || -> Result<()> {
        std::fs::create_dir_all(&dir).map_err(|e| ApiError::Provider {
            context: "create snapshot directory",
            source: Box::new(e),
        })?;
        db.snapshot(&dir, !skip_head)
            .map_err(|source| ApiError::Provider {
                context: "create snapshot",
                source,
            })
    })
    .await?;
    res?;
    Ok(Success::json(&serde_json::json!({ "name": name })).into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/delete_series` (`match[]`, `start`, `end`).
pub(crate) async fn delete_series(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let db = admin(&state)?;
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let matches = p.all("match[]");
    if matches.is_empty() {
        return Err(ApiError::NoMatch);
    }
    let start = time_param(&p, "start", MIN_TIME)?;
    let end = time_param(&p, "end", MAX_TIME)?;
    let sets = parse_matchers_param(&matches).map_err(|e| ApiError::param("match[]", e))?;
    tokio::task::spawn_blocking(move || -> Result<()> {
        for ms in &sets {
            db.delete_series(start, end, ms)
                .map_err(|source| ApiError::Provider {
                    context: "delete series",
                    source,
                })?;
        }
        Ok(())
    })
    .await??;
    Ok(no_content())
}

/// `POST|PUT /api/v1/admin/tsdb/clean_tombstones`.
pub(crate) async fn clean_tombstones(State(state): State<ApiState>) -> Result<Response> {
    let db = admin(&state)?;
    tokio::task::spawn_blocking(move || db.clean_tombstones())
        .await?
        .map_err(|source| ApiError::Provider {
            context: "clean tombstones",
            source,
        })?;
    Ok(no_content())
}
