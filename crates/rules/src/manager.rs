//! The rule manager: owns the groups, reloads them from rule files and
//! runs each group's evaluation loop on the real clock.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::alerting::ActiveAlert;
use crate::error::RuleError;
use crate::group::{Group, GroupOptions, Rule};
use crate::rulefmt::{load_files, GroupSpec};

/// A group shared between its evaluation loop and readers (the API).
pub type SharedGroup = Arc<Mutex<Group>>;

/// Owns the rule groups and their evaluation loops (Prometheus' `rules.Manager`).
pub struct RuleManager {
    opts: Mutex<GroupOptions>,
    groups: Mutex<Vec<SharedGroup>>,
    loops: Mutex<Option<(CancellationToken, tokio::runtime::Handle)>>,
    restored: Mutex<bool>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl RuleManager {
    /// A manager without groups.
    pub fn new(opts: GroupOptions) -> Self {
        RuleManager {
            opts: Mutex::new(opts),
            groups: Mutex::new(Vec::new()),
            loops: Mutex::new(None),
            restored: Mutex::new(false),
        }
    }

    /// The options groups are built with.
    pub fn options(&self) -> GroupOptions {
        self.opts.lock().clone()
    }

    /// Replaces the options (evaluation interval, query offset, external
    /// labels and URL, notifier, ...) used by groups built from now on; call
    /// before [`RuleManager::update`] on a configuration reload.
    pub fn set_options(&self, opts: GroupOptions) {
        *self.opts.lock() = opts;
    }

    /// The current groups, in file then file order.
    pub fn groups(&self) -> Vec<SharedGroup> {
        self.groups.lock().clone()
    }

    /// Every pending or firing alert of every alerting rule (for
    /// `/api/v1/alerts`), in group and rule order.
    pub fn active_alerts(&self) -> Vec<ActiveAlert> {
        let mut out = Vec::new();
        for g in self.groups() {
            let g = g.lock();
            for r in g.rules() {
                if let Rule::Alerting(a) = &r.rule {
                    out.extend(a.active_alerts());
                }
            }
        }
        out
    }

    /// Replaces the groups with `specs`, keeping the state of groups with
    /// the same file and name. Running loops are restarted on the new set.
    pub fn set_groups(&self, specs: &[GroupSpec]) {
        let old: HashMap<(PathBuf, String), SharedGroup> = self
            .groups
            .lock()
            .iter()
            .map(|g| {
                let k = {
                    let gg = g.lock();
                    (gg.file().to_path_buf(), gg.name().to_string())
                };
                (k, g.clone())
            })
            .collect();
        let first = !*self.restored.lock();
        let opts = self.options();
        let mut new = Vec::with_capacity(specs.len());
        for s in specs {
            let mut g = Group::new(s, opts.clone());
            if let Some(o) = old.get(&(s.file.clone(), s.name.clone())) {
                g.copy_state(&o.lock());
            }
            // As Prometheus (without --rules.alert.restore-new-rule-groups),
            // only the groups of the first load restore their `for` state.
            g.set_should_restore(first);
            new.push(Arc::new(Mutex::new(g)));
        }
        // Stop the old loops first, so that no evaluation of a removed
        // group lands after its staleness markers.
        let running = self.loops.lock().clone();
        if let Some((tok, _)) = &running {
            tok.cancel();
        }
        let keep: std::collections::HashSet<(PathBuf, String)> = specs
            .iter()
            .map(|s| (s.file.clone(), s.name.clone()))
            .collect();
        for (k, g) in &old {
            if !keep.contains(k) {
                g.lock().mark_stale(now_ms());
            }
        }
        *self.groups.lock() = new;
        if let Some((_, handle)) = running {
            self.spawn_loops(&handle);
        }
    }

    /// Loads rule files matching `globs` and installs their groups. On any
    /// error nothing changes and all errors are returned. May be called
    /// from any thread, before or while [`RuleManager::run`] runs.
    pub fn update(&self, globs: &[impl AsRef<str>]) -> Result<(), Vec<RuleError>> {
        let specs = load_files(globs)?;
        self.set_groups(&specs);
        Ok(())
    }

    fn spawn_loops(&self, handle: &tokio::runtime::Handle) {
        let tok = CancellationToken::new();
        *self.loops.lock() = Some((tok.clone(), handle.clone()));
        *self.restored.lock() = true;
        for g in self.groups() {
            handle.spawn(run_group(g, tok.clone()));
        }
    }

    /// Runs every group's loop until `cancel` fires; must be called inside
    /// a tokio runtime. Reloads through [`RuleManager::update`] restart the
    /// loops. On return, groups have written staleness markers.
    pub async fn run(&self, cancel: CancellationToken) {
        self.spawn_loops(&tokio::runtime::Handle::current());
        cancel.cancelled().await;
        if let Some((t, _)) = self.loops.lock().take() {
            t.cancel();
        }
        for g in self.groups() {
            g.lock().mark_stale(now_ms());
        }
    }
}

/// One group's loop: waits for the group's aligned evaluation times and
/// evaluates; restores `for` state after the second evaluation.
async fn run_group(g: SharedGroup, cancel: CancellationToken) {
    let (interval, mut next) = {
        let gg = g.lock();
        let i = gg.interval_ms();
        (i, gg.eval_timestamp(now_ms()) + i)
    };
    let mut evals = 0u64;
    loop {
        let wait = (next - now_ms()).max(0) as u64;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
        let now = now_ms();
        // Skip missed iterations, as Prometheus does.
        if now - next >= interval {
            next += (now - next) / interval * interval;
        }
        let ts = next;
        let g2 = g.clone();
        let restore = {
            let gg = g.lock();
            gg.should_restore() && evals >= 1
        };
        let res = tokio::task::spawn_blocking(move || {
            let mut gg = g2.lock();
            gg.eval(ts);
            if restore {
                gg.restore_for_state(now_ms());
            }
        })
        .await;
        if let Err(e) = res {
            tracing::error!(err = %e, "rule group evaluation panicked");
        }
        evals += 1;
        next += interval;
    }
}
