//! `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/{name}/values`.

use std::collections::BTreeSet;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use promlite_model::{Labels, Matcher};
use promlite_storage::SelectHints;

use crate::error::{ApiError, Result};
use crate::json::{write_labels, Success};
use crate::params::{limit_param, parse_matchers_param, time_param, Params, MAX_TIME, MIN_TIME};
use crate::query::TRUNCATED_WARNING;
use crate::state::ApiState;

/// Truncates `v` to `limit`, returning the warnings to send.
fn apply_limit<T>(v: &mut Vec<T>, limit: usize) -> Vec<String> {
    if v.len() > limit {
        v.truncate(limit);
        vec![TRUNCATED_WARNING.to_string()]
    } else {
        Vec::new()
    }
}

/// Runs a storage read on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await?
}

/// `GET|POST /api/v1/series`.
pub(crate) async fn series(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let matches = p.all("match[]");
    if matches.is_empty() {
        return Err(ApiError::NoMatch);
    }
    let limit = limit_param(&p)?;
    let start = time_param(&p, "start", MIN_TIME)?;
    let end = time_param(&p, "end", MAX_TIME)?;
    let sets = parse_matchers_param(&matches).map_err(|e| ApiError::param("match[]", e))?;
    let queryable = state.inner.queryable.clone();
    let mut found: Vec<Labels> = blocking(move || {
        let q = queryable.querier(start, end)?;
        let hints = SelectHints { start, end };
        let mut all = BTreeSet::new();
        for ms in &sets {
            for s in q.select(true, Some(&hints), ms)? {
                all.insert(s?.labels().clone());
            }
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    let warnings = apply_limit(&mut found, limit);
    let mut out = String::from("[");
    for (i, l) in found.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_labels(&mut out, l);
    }
    out.push(']');
    Ok(Success::raw(out).warnings(warnings).into_response())
}

/// `GET|POST /api/v1/labels`.
pub(crate) async fn label_names(State(state): State<ApiState>, req: Request) -> Result<Response> {
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let limit = limit_param(&p)?;
    let start = time_param(&p, "start", MIN_TIME)?;
    let end = time_param(&p, "end", MAX_TIME)?;
    let sets = parse_matchers_param(&p.all("match[]")).map_err(ApiError::BadData)?;
    let queryable = state.inner.queryable.clone();
    let mut names: Vec<String> = blocking(move || {
        let q = queryable.querier(start, end)?;
        if sets.is_empty() {
            return Ok(q.label_names(&[])?);
        }
        let mut all = BTreeSet::new();
        for ms in &sets {
            all.extend(q.label_names(ms)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    let warnings = apply_limit(&mut names, limit);
    Ok(Success::json(&names).warnings(warnings).into_response())
}

/// `GET|POST /api/v1/label/{name}/values`.
pub(crate) async fn label_values(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    req: Request,
) -> Result<Response> {
    let name = if name.starts_with("U__") {
        unescape_name(&name)
    } else {
        name
    };
    if name.is_empty() {
        return Err(ApiError::InvalidLabelName(name));
    }
    let p = Params::from_request(req, state.inner.opts.max_form_body_bytes).await?;
    let limit = limit_param(&p)?;
    let start = time_param(&p, "start", MIN_TIME)?;
    let end = time_param(&p, "end", MAX_TIME)?;
    let sets: Vec<Vec<Matcher>> =
        parse_matchers_param(&p.all("match[]")).map_err(ApiError::BadData)?;
    let queryable = state.inner.queryable.clone();
    let mut values: Vec<String> = blocking(move || {
        let q = queryable.querier(start, end)?;
        if sets.is_empty() {
            return Ok(q.label_values(&name, &[])?);
        }
        let mut all = BTreeSet::new();
        for ms in &sets {
            all.extend(q.label_values(&name, ms)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    let warnings = apply_limit(&mut values, limit);
    Ok(Success::json(&values).warnings(warnings).into_response())
}

/// Prometheus' `model.UnescapeName` for the `U__` value-encoding escaping:
/// `__` is `_`, `_<hex>_` is a code point; anything malformed leaves the
/// name as it was.
pub(crate) fn unescape_name(name: &str) -> String {
    let Some(esc) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let b = esc.as_bytes();
    let mut out = String::with_capacity(esc.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'_' {
            // Copy one (possibly multi-byte) character.
            let ch_len = esc[i..].chars().next().map(char::len_utf8).unwrap_or(1);
            out.push_str(&esc[i..i + ch_len]);
            i += ch_len;
            continue;
        }
        i += 1;
        if i >= b.len() {
            return name.to_string();
        }
        if b[i] == b'_' {
            out.push('_');
            i += 1;
            continue;
        }
        let mut val: u32 = 0;
        let mut digits = 0;
        loop {
            if i >= b.len() || digits >= 6 {
                return name.to_string();
            }
            if b[i] == b'_' {
                match char::from_u32(val) {
                    Some(c) => out.push(c),
                    None => return name.to_string(),
                }
                i += 1;
                break;
            }
            let d = match (b[i] as char).to_ascii_lowercase().to_digit(16) {
                Some(d) => d,
                None => return name.to_string(),
            };
            val = val * 16 + d;
            digits += 1;
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_label_names_unescape() {
        assert_eq!(unescape_name("U__http_2e_status"), "http.status");
        assert_eq!(unescape_name("U__a__b"), "a_b");
        assert_eq!(unescape_name("U__a_zz_"), "U__a_zz_");
        assert_eq!(unescape_name("U__a_"), "U__a_");
        assert_eq!(unescape_name("job"), "job");
    }
}
