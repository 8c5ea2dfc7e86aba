//! The Prometheus-compatible HTTP API of promlite.
//!
//! [`router`] builds an axum [`Router`] with Prometheus 3's `/api/v1`
//! endpoints (queries, series and labels, metadata, targets, rules, status,
//! admin, remote write, OTLP), `/federate` and the `/-/` lifecycle endpoints. It
//! answers in Prometheus' JSON envelope, with its status codes, error types
//! and texts, so that Grafana, promtool and client libraries see no
//! difference.
//!
//! Everything a handler needs lives in [`ApiState`]: the storage as
//! [`promlite_storage::Queryable`] and [`promlite_storage::Appendable`],
//! the [`promlite_promql::Engine`], [`ApiOptions`] and optional providers
//! ([`TargetsProvider`], [`RulesProvider`], [`StatusProvider`],
//! [`TsdbAdmin`]) that other crates implement. Without a provider the API
//! answers as an unconfigured Prometheus does (no targets, no rules).
//!
//! ```no_run
//! use std::sync::Arc;
//! use promlite_api::{router, ApiOptions, ApiState};
//! use promlite_promql::Engine;
//! use promlite_tsdb::{Db, DbOptions};
//! let db = Arc::new(Db::open_in_memory(DbOptions::default()));
//! let state = ApiState::builder(db.clone(), db, Arc::new(Engine::default()))
//!     .options(ApiOptions::default())
//!     .build();
//! let app = router(state.clone());
//! state.set_ready(true);
//! # let _ = app;
//! ```
//!
//! Queries run on tokio's blocking pool, at most
//! [`ApiOptions::max_concurrency`] at a time (the wait counts against the
//! timeout); a query is cancelled when it times out or the client
//! disconnects.
//!
//! # Routes
//!
//! | route | methods |
//! |---|---|
//! | `/api/v1/query`, `/query_range`, `/query_exemplars`, `/format_query`, `/parse_query` | GET, POST |
//! | `/api/v1/series`, `/labels` | GET, POST |
//! | `/api/v1/label/{name}/values` (name may be `U__`-escaped) | GET |
//! | `/api/v1/metadata`, `/targets`, `/targets/metadata`, `/scrape_pools` | GET |
//! | `/api/v1/rules`, `/alerts`, `/alertmanagers`, `/notifications` | GET |
//! | `/api/v1/status/{config,flags,runtimeinfo,buildinfo,tsdb,walreplay}` | GET |
//! | `/api/v1/admin/tsdb/{snapshot,delete_series,clean_tombstones}` | POST, PUT |
//! | `/api/v1/write` (remote write 1.0 and 2.0) | POST |
//! | `/api/v1/read` (remote read: samples, streamed XOR chunks) | POST |
//! | `/api/v1/otlp/v1/metrics` (OTLP metrics, [`ApiOptions::enable_otlp_receiver`]) | POST |
//! | `/federate` | GET |
//! | `/-/healthy`, `/-/ready` | GET, HEAD |
//! | `/-/reload`, `/-/quit` | POST, PUT |
//!
//! # Known differences from Prometheus
//!
//! * Parse errors have Prometheus' `line:col: parse error: msg` form, but
//!   the message is promql-parser's and the position is exact only for
//!   errors at the end of the input (else `1:1`).
//! * `stats` reports wall-clock timings only; sample counts are zero.
//! * `parse_query` is promql-parser's AST serialization (plus the
//!   `__name__` matcher Prometheus lists); positions are absent.
//! * `format_query` uses promql-parser's pretty printer.
//! * No exemplar storage: `query_exemplars` is always empty. No native
//!   histograms: they are ignored by remote write.
//! * Without a [`StatusProvider`] that supplies head statistics,
//!   `status/tsdb` is computed by reading every series of the queryable
//!   (`chunkCount` is 0).
//! * No protobuf/`/federate` content negotiation (text format only).
//!   Responses of the JSON API and `/federate` are gzip- or
//!   deflate-compressed when `Accept-Encoding` asks, as Prometheus does.
//! * The OTLP receiver translates as Prometheus 3 does with its default
//!   `otlp` settings ([`OtlpOptions`], replaced on reload with
//!   [`ApiState::set_otlp_options`]): names per
//!   `translation_strategy`, `job`/`instance` from `service.*`, promoted
//!   resource attributes, `target_info`, start timestamps, staleness
//!   markers for points without a recorded value. Bodies are protobuf
//!   or OTLP/HTTP JSON (`application/json`, answered in JSON), plain or
//!   gzip. It differs in that: exponential
//!   histograms (native histograms in Prometheus) and delta-temporality
//!   sums and histograms (dropped by Prometheus without its
//!   `otlp-deltatocumulative`/`otlp-native-delta-ingestion` features)
//!   are dropped and reported in the response's `partial_success`, where
//!   Prometheus only logs them; `promote_scope_metadata` and
//!   `convert_histograms_to_nhcb` are ignored; metadata and exemplars are
//!   not kept; `target_info` gets at most 1000 samples per resource and
//!   request.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod admin;
mod compression;
mod error;
mod federate;
mod json;
mod lifecycle;
mod otlp;
mod otlp_json;
mod otlp_names;
mod otlp_translate;
mod params;
mod providers;
mod query;
mod remote_read;
mod remote_write;
mod series;
mod state;
mod status;
mod targets;

use axum::routing::{get, post};
use axum::Router;

pub use error::{ApiError, ParamError, ProviderError, Result};
pub use providers::{
    ActiveTarget, Alert, AlertingRule, BuildInfo, DroppedTarget, HeadStats, MetricMetadata,
    RecordingRule, Rule, RuleGroup, RulesProvider, RuntimeInfo, StatusProvider, TargetHealth,
    TargetMetadata, TargetsProvider, TsdbAdmin, TsdbStat, TsdbStatus, WalReplayStatus,
};
pub use state::{
    ApiOptions, ApiState, ApiStateBuilder, OtlpOptions, OtlpSettings, OtlpTranslationStrategy,
};

/// The API's routes over `state`. Everything under `/api/v1` and
/// `/federate` answers 503 until [`ApiState::set_ready`]`(true)`.
pub fn router(state: ApiState) -> Router {
    let v1 = Router::new()
        .route(
            "/query",
            get(query::instant_query).post(query::instant_query),
        )
        .route(
            "/query_range",
            get(query::range_query).post(query::range_query),
        )
        .route(
            "/query_exemplars",
            get(query::query_exemplars).post(query::query_exemplars),
        )
        .route(
            "/format_query",
            get(query::format_query).post(query::format_query),
        )
        .route(
            "/parse_query",
            get(query::parse_query_ast).post(query::parse_query_ast),
        )
        .route("/series", get(series::series).post(series::series))
        .route(
            "/labels",
            get(series::label_names).post(series::label_names),
        )
        .route("/label/{name}/values", get(series::label_values))
        .route("/metadata", get(targets::metadata))
        .route("/targets", get(targets::targets))
        .route("/targets/metadata", get(targets::targets_metadata))
        .route("/rules", get(targets::rules))
        .route("/alerts", get(targets::alerts))
        .route("/alertmanagers", get(targets::alertmanagers))
        .route("/status/config", get(status::config))
        .route("/status/flags", get(status::flags))
        .route("/status/runtimeinfo", get(status::runtime_info))
        .route("/status/buildinfo", get(status::build_info))
        .route("/status/tsdb", get(status::tsdb))
        .route("/status/walreplay", get(status::wal_replay))
        .route(
            "/admin/tsdb/snapshot",
            post(admin::snapshot).put(admin::snapshot),
        )
        .route(
            "/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        )
        .route(
            "/admin/tsdb/clean_tombstones",
            post(admin::clean_tombstones).put(admin::clean_tombstones),
        )
        .route("/scrape_pools", get(targets::scrape_pools))
        .route("/notifications", get(targets::notifications))
        // JSON responses are compressed when the client asks; the
        // receivers and remote read (snappy) below are not, as in Prometheus.
        .layer(axum::middleware::from_fn(compression::compress))
        .route("/write", post(remote_write::write))
        .route("/read", post(remote_read::read))
        .route("/otlp/v1/metrics", post(otlp::write))
        .method_not_allowed_fallback(lifecycle::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            lifecycle::cors,
        ));

    let gated = Router::new()
        .nest("/api/v1", v1)
        .route(
            "/federate",
            get(federate::federate).layer(axum::middleware::from_fn(compression::compress)),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            lifecycle::require_ready,
        ));

    Router::new()
        .route("/-/healthy", get(lifecycle::healthy))
        .route("/-/ready", get(lifecycle::ready))
        .route(
            "/-/reload",
            post(lifecycle::reload)
                .put(lifecycle::reload)
                .get(lifecycle::only_post_or_put),
        )
        .route(
            "/-/quit",
            post(lifecycle::quit)
                .put(lifecycle::quit)
                .get(lifecycle::only_post_or_put),
        )
        .merge(gated)
        .method_not_allowed_fallback(lifecycle::method_not_allowed)
        .fallback(lifecycle::not_found)
        .with_state(state)
}
