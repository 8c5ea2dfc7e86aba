//! Service discovery: static targets, `file_sd_configs` (files re-read
//! when they change) and `http_sd_configs`, feeding the scrape manager.

use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite_config::{Config, FileSdWatcher, HttpSdConfig, ScrapeConfig};
use promlite_model::Labels;
use promlite_scrape::{ScrapeManager, TargetGroup};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::settings::{convert_group, http_settings, static_groups};

/// How often file_sd files are checked for changes (Prometheus reacts to
/// file system events; polling the modification time is close enough).
const FILE_CHECK: Duration = Duration::from_secs(2);

/// Running discovery tasks; dropping or [`Discovery::stop`] ends them.
pub(crate) struct Discovery {
    cancel: CancellationToken,
}

impl Discovery {
    /// Starts discovery for every job of `cfg`.
    pub(crate) fn start(cfg: &Config, mgr: Arc<ScrapeManager>) -> Discovery {
        let cancel = CancellationToken::new();
        for sc in &cfg.scrape_configs {
            let statics = static_groups(sc);
            if sc.file_sd_configs.is_empty() && sc.http_sd_configs.is_empty() {
                mgr.set_groups(&sc.job_name, statics);
                continue;
            }
            tokio::spawn(run_job(sc.clone(), statics, mgr.clone(), cancel.clone()));
        }
        Discovery { cancel }
    }

    /// Stops every discovery task.
    pub(crate) fn stop(&self) {
        self.cancel.cancel();
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[derive(Deserialize)]
struct HttpGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

struct HttpSd {
    cfg: HttpSdConfig,
    client: Option<reqwest::Client>,
    last: Option<Instant>,
    groups: Vec<TargetGroup>,
}

impl HttpSd {
    fn due(&self, now: Instant) -> bool {
        self.last
            .is_none_or(|t| now.duration_since(t) >= self.cfg.refresh_interval.to_std())
    }

    /// Fetches the target list; keeps the previous one on failure, as Prometheus does.
    async fn refresh(&mut self, job: &str) -> bool {
        self.last = Some(Instant::now());
        let Some(client) = &self.client else {
            return false;
        };
        let url = self.cfg.url.clone();
        let res = async {
            let resp = client
                .get(&url)
                .header(
                    "X-Prometheus-Refresh-Interval-Seconds",
                    self.cfg.refresh_interval.to_std().as_secs().to_string(),
                )
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !resp.status().is_success() {
                return Err(format!("server returned HTTP status {}", resp.status()));
            }
            let body = resp.bytes().await.map_err(|e| e.to_string())?;
            serde_json::from_slice::<Vec<HttpGroup>>(&body).map_err(|e| e.to_string())
        }
        .await;
        match res {
            Ok(groups) => {
                let new: Vec<TargetGroup> = groups
                    .into_iter()
                    .enumerate()
                    .map(|(i, g)| {
                        let mut labels: Vec<(String, String)> = g.labels.into_iter().collect();
                        labels.push(("__meta_url".into(), url.clone()));
                        TargetGroup {
                            source: format!("{url}:{i}"),
                            targets: g
                                .targets
                                .iter()
                                .map(|t| Labels::from_pairs(&[("__address__", t.as_str())]))
                                .collect(),
                            labels: Labels::from_pairs(&labels),
                        }
                    })
                    .collect();
                let changed = new != self.groups;
                self.groups = new;
                changed
            }
            Err(e) => {
                warn!(job, url = %url, error = %e, "http_sd refresh failed");
                false
            }
        }
    }
}

async fn run_job(
    sc: ScrapeConfig,
    statics: Vec<TargetGroup>,
    mgr: Arc<ScrapeManager>,
    cancel: CancellationToken,
) {
    let job = sc.job_name.clone();
    let mut files: Vec<FileSdWatcher> = sc
        .file_sd_configs
        .iter()
        .map(|f| FileSdWatcher::new(f.files.clone(), f.refresh_interval))
        .collect();
    let mut https: Vec<HttpSd> = sc
        .http_sd_configs
        .iter()
        .map(|h| HttpSd {
            client: http_settings(&h.http_client_config).ok().and_then(|s| {
                let mut ss = promlite_scrape::ScrapeSettings::new(&job);
                ss.http = s;
                promlite_scrape::build_client(&ss).ok()
            }),
            cfg: h.clone(),
            last: None,
            groups: Vec::new(),
        })
        .collect();
    let mut file_groups: Vec<Vec<TargetGroup>> = vec![Vec::new(); files.len()];
    let mut first = true;
    loop {
        let mut changed = first;
        first = false;
        for (i, w) in files.iter_mut().enumerate() {
            let poll = w.poll();
            for e in &poll.errors {
                warn!(job = %job, error = %e, "file_sd");
            }
            if poll.changed {
                file_groups[i] = poll.groups.iter().map(convert_group).collect();
                changed = true;
            }
        }
        let now = Instant::now();
        for h in https.iter_mut() {
            if h.due(now) {
                changed |= h.refresh(&job).await;
            }
        }
        if changed {
            let mut all = statics.clone();
            for g in &file_groups {
                all.extend(g.iter().cloned());
            }
            for h in &https {
                all.extend(h.groups.iter().cloned());
            }
            mgr.set_groups(&job, all);
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(FILE_CHECK) => {}
        }
    }
}
