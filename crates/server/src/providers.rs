//! The server's side of the API providers: targets from the scrape
//! manager, status from the running configuration and the TSDB, admin
//! operations on the TSDB.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlite_api::{
    ActiveTarget, BuildInfo, DroppedTarget, HeadStats, MetricMetadata, ProviderError, RuntimeInfo,
    StatusProvider, TargetHealth, TargetMetadata, TargetsProvider, TsdbAdmin, TsdbStat, TsdbStatus,
    WalReplayStatus,
};
use promlite_model::{Labels, Matcher};
use promlite_scrape::{Health, ScrapeManager};
use promlite_tsdb::Db;

use crate::server::App;

fn to_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

/// Targets for `/api/v1/targets` and metadata for `/api/v1/*metadata`.
pub(crate) struct Targets {
    pub(crate) scrape: Arc<ScrapeManager>,
}

impl TargetsProvider for Targets {
    fn active_targets(&self) -> Vec<ActiveTarget> {
        self.scrape
            .active_targets()
            .iter()
            .map(|t| {
                let st = t.status();
                ActiveTarget {
                    discovered_labels: to_map(t.discovered_labels()),
                    labels: to_map(&t.labels()),
                    scrape_pool: t.job().to_string(),
                    scrape_url: t.url().to_string(),
                    global_url: t.url().to_string(),
                    last_error: st.last_error,
                    last_scrape: st.last_scrape,
                    last_scrape_duration: st.last_duration.as_secs_f64(),
                    health: match st.health {
                        Health::Up => TargetHealth::Up,
                        Health::Down => TargetHealth::Down,
                        Health::Unknown => TargetHealth::Unknown,
                    },
                    scrape_interval: promlite_model::format_duration(
                        t.interval().as_millis() as i64
                    ),
                    scrape_timeout: promlite_model::format_duration(t.timeout().as_millis() as i64),
                }
            })
            .collect()
    }

    fn dropped_targets(&self) -> Vec<DroppedTarget> {
        self.scrape
            .dropped_targets()
            .into_iter()
            .map(|d| DroppedTarget {
                discovered_labels: to_map(&d.discovered),
                scrape_pool: d.job,
            })
            .collect()
    }

    fn target_metadata(&self) -> Vec<TargetMetadata> {
        self.scrape
            .active_targets()
            .iter()
            .map(|t| {
                let mut metadata: Vec<MetricMetadata> = t
                    .metadata()
                    .into_iter()
                    .map(|(metric, m)| MetricMetadata {
                        metric,
                        metric_type: m.metric_type,
                        help: m.help,
                        unit: m.unit,
                    })
                    .collect();
                metadata.sort_by(|a, b| a.metric.cmp(&b.metric));
                TargetMetadata {
                    target: t.labels(),
                    metadata,
                }
            })
            .collect()
    }
}

fn stats(v: Vec<(String, u64)>) -> Vec<TsdbStat> {
    v.into_iter()
        .map(|(name, value)| TsdbStat { name, value })
        .collect()
}

/// Status endpoints and lifecycle hooks backed by the running server.
pub(crate) struct Status {
    pub(crate) app: Arc<App>,
    pub(crate) flags: BTreeMap<String, String>,
    pub(crate) retention: String,
}

impl StatusProvider for Status {
    fn config_yaml(&self) -> String {
        self.app
            .config
            .lock()
            .as_ref()
            .map(|c| c.config.to_yaml_string())
            .unwrap_or_default()
    }

    fn flags(&self) -> BTreeMap<String, String> {
        self.flags.clone()
    }

    fn runtime_info(&self) -> RuntimeInfo {
        let m = &self.app.metrics;
        let ts = |s: i64| Some(UNIX_EPOCH + Duration::from_secs(s.max(0) as u64));
        RuntimeInfo {
            start_time: ts(m.start_ts.load(Ordering::Relaxed)),
            hostname: std::fs::read_to_string("/etc/hostname")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            server_time: Some(SystemTime::now()),
            reload_config_success: m.reload_success.load(Ordering::Relaxed) == 1,
            last_config_time: ts(m.reload_success_ts.load(Ordering::Relaxed)),
            corruption_count: self
                .app
                .db
                .metrics()
                .corrupted_blocks
                .load(Ordering::Relaxed) as i64,
            storage_retention: self.retention.clone(),
            ..RuntimeInfo::default()
        }
    }

    fn build_info(&self) -> BuildInfo {
        BuildInfo::default()
    }

    fn tsdb_status(&self, limit: usize) -> Option<TsdbStatus> {
        let head = self.app.db.head();
        let c = head.cardinality(limit);
        Some(TsdbStatus {
            head_stats: HeadStats {
                num_series: c.num_series,
                num_label_pairs: c.num_label_pairs as i64,
                chunk_count: c.chunk_count as i64,
                min_time: head.min_time().unwrap_or(i64::MAX),
                max_time: head.max_time().unwrap_or(i64::MIN),
            },
            series_count_by_metric_name: stats(c.series_count_by_metric_name),
            label_value_count_by_label_name: stats(c.label_value_count_by_label_name),
            memory_in_bytes_by_label_name: stats(c.memory_in_bytes_by_label_name),
            series_count_by_label_value_pair: stats(c.series_count_by_label_value_pair),
        })
    }

    fn external_labels(&self) -> Option<Labels> {
        self.app.config.lock().as_ref().map(|c| {
            Labels::from_pairs(&c.config.global.external_labels.iter().collect::<Vec<_>>())
        })
    }

    fn wal_replay_status(&self) -> WalReplayStatus {
        // The WAL is replayed before the server listens, so it is done.
        WalReplayStatus::default()
    }

    fn reload(&self) -> Result<(), ProviderError> {
        self.app.reload().map_err(ProviderError::from)
    }

    fn quit(&self) {
        self.app.quit.cancel();
    }
}

/// `/api/v1/admin/tsdb/*` on the database.
pub(crate) struct Admin {
    pub(crate) db: Db,
    pub(crate) dir: Option<PathBuf>,
}

impl TsdbAdmin for Admin {
    fn snapshot(&self, dir: &Path, with_head: bool) -> Result<(), ProviderError> {
        self.db
            .snapshot(dir, with_head)
            .map_err(|e| ProviderError::from(e.to_string()))
    }

    fn data_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn delete_series(&self, mint: i64, maxt: i64, m: &[Matcher]) -> Result<(), ProviderError> {
        self.db
            .delete_series(mint, maxt, m)
            .map(|_| ())
            .map_err(|e| ProviderError::from(e.to_string()))
    }

    fn clean_tombstones(&self) -> Result<(), ProviderError> {
        // delete_series rewrites blocks at once, so no tombstones wait for cleaning.
        Ok(())
    }
}
