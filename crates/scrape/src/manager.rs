//! The scrape manager: one pool of targets per job, a loop per target
//! (Prometheus' `scrape.Manager` and `scrapePool`).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parking_lot::Mutex;
use promlite_model::Labels;
use promlite_storage::Appendable;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::scrape_loop::{build_client, ScrapeLoop};
use crate::target::{populate_labels, ScrapeSettings, Target, TargetGroup};

struct RunningLoop {
    target: Arc<Target>,
    cancel: CancellationToken,
    stale_on_stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl RunningLoop {
    fn stop(self, stale: bool) -> JoinHandle<()> {
        self.stale_on_stop
            .store(stale, std::sync::atomic::Ordering::Release);
        self.cancel.cancel();
        self.handle
    }
}

/// A target relabeling dropped, kept for `/api/v1/targets?state=dropped`.
#[derive(Debug, Clone)]
pub struct DroppedTarget {
    /// The job.
    pub job: String,
    /// The labels before relabeling.
    pub discovered: Labels,
}

struct Pool {
    cfg: Arc<ScrapeSettings>,
    client: Option<reqwest::Client>,
    /// Target groups by source, as last reported by discovery.
    groups: HashMap<String, TargetGroup>,
    loops: HashMap<Labels, RunningLoop>,
    dropped: Vec<DroppedTarget>,
    /// Why the pool scrapes nothing (bad TLS files, target limit), if so.
    error: Option<String>,
}

/// Runs the scrape loops of every job and keeps them in step with the
/// configuration and service discovery. Must be used inside a Tokio runtime.
pub struct ScrapeManager {
    appendable: Arc<dyn Appendable>,
    pools: Mutex<HashMap<String, Pool>>,
    seed: u64,
    intervals: Arc<crate::interval::IntervalStats>,
}

impl ScrapeManager {
    /// A manager appending to `appendable`. `seed` varies the scrape phase
    /// between servers scraping the same targets (Prometheus hashes its
    /// external labels and hostname into it).
    pub fn new(appendable: Arc<dyn Appendable>, seed: u64) -> Self {
        ScrapeManager {
            appendable,
            pools: Mutex::new(HashMap::new()),
            seed,
            intervals: Arc::default(),
        }
    }

    /// Actual intervals between scrapes, by configured interval.
    pub fn interval_stats(&self) -> Vec<crate::interval::IntervalSummary> {
        self.intervals.summaries()
    }

    /// Applies the jobs of a (re)loaded configuration: new jobs get a pool,
    /// removed jobs stop (with staleness markers), and jobs whose settings
    /// changed restart their loops.
    pub fn apply_config(&self, jobs: Vec<ScrapeSettings>) {
        let mut pools = self.pools.lock();
        let names: Vec<String> = jobs.iter().map(|j| j.job_name.clone()).collect();
        let gone: Vec<String> = pools
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect();
        for name in gone {
            if let Some(p) = pools.remove(&name) {
                info!(job = %name, "stopping scrape pool");
                for (_, l) in p.loops {
                    drop(l.stop(true));
                }
            }
        }
        for cfg in jobs {
            let name = cfg.job_name.clone();
            let (client, error) = match build_client(&cfg) {
                Ok(c) => (Some(c), None),
                Err(e) => {
                    warn!(job = %name, error = %e, "cannot build the scrape client");
                    (None, Some(e))
                }
            };
            match pools.get_mut(&name) {
                Some(p) if *p.cfg == cfg => {}
                Some(p) => {
                    p.cfg = Arc::new(cfg);
                    p.client = client;
                    p.error = error;
                    for (_, l) in p.loops.drain() {
                        drop(l.stop(false));
                    }
                    self.sync_pool(p);
                }
                None => {
                    let mut p = Pool {
                        cfg: Arc::new(cfg),
                        client,
                        groups: HashMap::new(),
                        loops: HashMap::new(),
                        dropped: Vec::new(),
                        error,
                    };
                    self.sync_pool(&mut p);
                    pools.insert(name, p);
                }
            }
        }
    }

    /// Replaces the target groups discovery reported for `job` from the
    /// sources in `groups` (groups with the same source replace the old ones;
    /// an empty `targets` list removes a source).
    pub fn update_groups(&self, job: &str, groups: Vec<TargetGroup>) {
        let mut pools = self.pools.lock();
        let Some(p) = pools.get_mut(job) else {
            return;
        };
        for g in groups {
            if g.targets.is_empty() {
                p.groups.remove(&g.source);
            } else {
                p.groups.insert(g.source.clone(), g);
            }
        }
        self.sync_pool(p);
    }

    /// Replaces all target groups of `job`.
    pub fn set_groups(&self, job: &str, groups: Vec<TargetGroup>) {
        let mut pools = self.pools.lock();
        let Some(p) = pools.get_mut(job) else {
            return;
        };
        p.groups = groups.into_iter().map(|g| (g.source.clone(), g)).collect();
        self.sync_pool(p);
    }

    fn sync_pool(&self, p: &mut Pool) {
        let cfg = p.cfg.clone();
        let mut wanted: HashMap<Labels, Arc<Target>> = HashMap::new();
        p.dropped.clear();
        let mut sources: Vec<&String> = p.groups.keys().collect();
        sources.sort();
        for src in sources {
            let g = &p.groups[src];
            for t in &g.targets {
                match populate_labels(&g.labels, t, &cfg) {
                    Ok(pop) => match pop.labels {
                        Some(l) => {
                            if let std::collections::hash_map::Entry::Vacant(e) =
                                wanted.entry(l.clone())
                            {
                                e.insert(Arc::new(Target::new(l, pop.discovered, &cfg)));
                            }
                        }
                        None => p.dropped.push(DroppedTarget {
                            job: cfg.job_name.clone(),
                            discovered: pop.discovered,
                        }),
                    },
                    Err(e) => {
                        warn!(job = %cfg.job_name, target = %t, error = %e, "invalid target");
                    }
                }
            }
        }
        p.error = None;
        if cfg.target_limit > 0 && wanted.len() > cfg.target_limit {
            let msg = format!(
                "target_limit exceeded (number of targets: {}, limit: {})",
                wanted.len(),
                cfg.target_limit
            );
            warn!(job = %cfg.job_name, "{msg}");
            p.error = Some(msg);
            wanted.clear();
        }
        // Stop loops whose target is gone; their series become stale.
        let gone: Vec<Labels> = p
            .loops
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            if let Some(l) = p.loops.remove(&k) {
                drop(l.stop(true));
            }
        }
        let Some(client) = p.client.clone() else {
            return;
        };
        for (l, target) in wanted {
            if p.loops.contains_key(&l) {
                continue;
            }
            let cancel = CancellationToken::new();
            let stale = Arc::new(AtomicBool::new(false));
            let lp = ScrapeLoop::new(
                target.clone(),
                cfg.clone(),
                client.clone(),
                self.appendable.clone(),
            )
            .with_interval_stats(self.intervals.clone());
            let handle = tokio::spawn(lp.run(self.seed, cancel.clone(), stale.clone()));
            p.loops.insert(
                l,
                RunningLoop {
                    target,
                    cancel,
                    stale_on_stop: stale,
                    handle,
                },
            );
        }
    }

    /// Active targets by job.
    pub fn active_targets(&self) -> Vec<Arc<Target>> {
        let pools = self.pools.lock();
        let mut v: Vec<Arc<Target>> = pools
            .values()
            .flat_map(|p| p.loops.values().map(|l| l.target.clone()))
            .collect();
        v.sort_by(|a, b| (a.job(), a.all_labels()).cmp(&(b.job(), b.all_labels())));
        v
    }

    /// Targets dropped by relabeling.
    pub fn dropped_targets(&self) -> Vec<DroppedTarget> {
        self.pools
            .lock()
            .values()
            .flat_map(|p| p.dropped.iter().cloned())
            .collect()
    }

    /// Job names and their pool errors (e.g. an exceeded target limit).
    pub fn pool_errors(&self) -> Vec<(String, String)> {
        self.pools
            .lock()
            .iter()
            .filter_map(|(k, p)| p.error.clone().map(|e| (k.clone(), e)))
            .collect()
    }

    /// Stops every loop and waits for them. With `stale`, series get
    /// staleness markers (a target going away); at shutdown Prometheus
    /// does not write them, so neither do we.
    pub async fn stop(&self, stale: bool) {
        let handles: Vec<JoinHandle<()>> = {
            let mut pools = self.pools.lock();
            pools
                .drain()
                .flat_map(|(_, p)| p.loops.into_values().map(|l| l.stop(stale)))
                .collect()
        };
        for h in handles {
            let _ = h.await;
        }
    }
}
