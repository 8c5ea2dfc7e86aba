//! [`RemoteWriter`]: one WAL watcher and queue per `remote_write`
//! endpoint, started, reconfigured and stopped by the server.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::metrics::RemoteMetrics;
use crate::position::{self, Key};
use crate::queue::QueueManager;
use crate::settings::WriteSettings;
use crate::watcher::Watcher;

pub use crate::queue::SAVE_INTERVAL;

/// Watcher batches buffered between the watcher and the queue manager.
const WATCHER_CHANNEL: usize = 4;

/// A running endpoint.
struct Endpoint {
    settings: WriteSettings,
    key: String,
    metrics: Arc<RemoteMetrics>,
    stop: CancellationToken,
    manager: JoinHandle<()>,
    watcher: JoinHandle<()>,
}

impl Endpoint {
    fn start(
        settings: WriteSettings,
        wal_dir: &Path,
        data_dir: &Path,
        parent: &CancellationToken,
    ) -> Result<Endpoint> {
        let client = Client::new(&settings)?;
        let key = settings.key();
        let metrics = Arc::new(RemoteMetrics::new(
            settings.remote_name(),
            settings.url.clone(),
        ));
        let path = position::file_path(data_dir, &key);
        let saved = match position::load(&path) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "ignoring the remote-write position; sending from the start of the WAL");
                None
            }
        };
        let start = saved.as_ref().map_or(Key::default(), |w| w.start());
        info!(remote_name = %metrics.remote_name, url = %settings.url, start = ?start, "starting remote write");
        let stop = parent.child_token();
        let (tx, rx) = mpsc::channel(WATCHER_CHANNEL);
        let watcher = Watcher::new(
            wal_dir.to_path_buf(),
            start,
            saved.clone(),
            settings.external_labels.clone(),
            settings.write_relabel_configs.clone(),
            settings.queue.sample_age_limit,
            settings.queue.wal_poll_interval,
            metrics.clone(),
            stop.clone(),
        );
        let watcher = tokio::task::spawn_blocking(move || watcher.run(&tx));
        let manager = QueueManager::new(
            client,
            settings.queue.clone(),
            metrics.clone(),
            path,
            start,
            saved,
        );
        let manager = tokio::spawn(manager.run(rx, stop.clone()));
        Ok(Endpoint {
            settings,
            key,
            metrics,
            stop,
            manager,
            watcher,
        })
    }

    async fn stop(self) {
        self.stop.cancel();
        if let Err(e) = self.manager.await {
            warn!(error = %e, "remote-write queue task failed");
        }
        if let Err(e) = self.watcher.await {
            warn!(error = %e, "remote-write WAL watcher task failed");
        }
        info!(remote_name = %self.metrics.remote_name, url = %self.settings.url, "stopped remote write");
    }
}

/// Ships the WAL's samples to every configured `remote_write` endpoint.
///
/// Each endpoint has its own WAL watcher (on a blocking thread), queue
/// manager and shards, and its own position file
/// `<data_dir>/remote/<key>.position`. Must be used inside a Tokio
/// runtime.
pub struct RemoteWriter {
    wal_dir: Option<PathBuf>,
    data_dir: PathBuf,
    cancel: CancellationToken,
    endpoints: Vec<Endpoint>,
}

impl RemoteWriter {
    /// Starts one sender per endpoint, reading the WAL in `wal_dir`
    /// (`<data>/wal`) and keeping positions under `data_dir`.
    ///
    /// `wal_dir` is `None` for in-memory storage: with endpoints
    /// configured that is [`Error::NoWal`]. Cancelling `cancel` stops every
    /// sender (each with its flush deadline); [`RemoteWriter::stop`] also
    /// waits for them. An endpoint whose HTTP client cannot be built is
    /// an error and nothing is started.
    pub fn start(
        settings: Vec<WriteSettings>,
        wal_dir: Option<&Path>,
        data_dir: &Path,
        cancel: CancellationToken,
    ) -> Result<RemoteWriter> {
        check_unique(&settings)?;
        if !settings.is_empty() && wal_dir.is_none() {
            return Err(Error::NoWal);
        }
        let mut w = RemoteWriter {
            wal_dir: wal_dir.map(Path::to_path_buf),
            data_dir: data_dir.to_path_buf(),
            cancel,
            endpoints: Vec::new(),
        };
        for s in settings {
            match w.start_endpoint(s) {
                Ok(e) => w.endpoints.push(e),
                // Dropping `w` stops the endpoints already started.
                Err(e) => return Err(e),
            }
        }
        Ok(w)
    }

    fn start_endpoint(&self, s: WriteSettings) -> Result<Endpoint> {
        let wal = self.wal_dir.as_deref().ok_or(Error::NoWal)?;
        Endpoint::start(s, wal, &self.data_dir, &self.cancel)
    }

    /// Applies a reloaded configuration: endpoints with unchanged settings
    /// keep running; changed ones are stopped (flushing) and started again
    /// from their saved position; removed ones are stopped; new ones
    /// start. On error (a duplicate endpoint, a bad client setting, no
    /// WAL) the endpoints that could be applied are running and the first
    /// error is returned.
    pub async fn apply(&mut self, settings: Vec<WriteSettings>) -> Result<()> {
        check_unique(&settings)?;
        if !settings.is_empty() && self.wal_dir.is_none() {
            return Err(Error::NoWal);
        }
        let mut old = std::mem::take(&mut self.endpoints);
        let mut first_err = None;
        for s in settings {
            let key = s.key();
            if let Some(i) = old.iter().position(|e| e.key == key) {
                let e = old.swap_remove(i);
                if e.settings == s {
                    self.endpoints.push(e);
                    continue;
                }
                e.stop().await;
            }
            match self.start_endpoint(s) {
                Ok(e) => self.endpoints.push(e),
                Err(e) => {
                    error!(error = %e, "cannot start remote write");
                    first_err.get_or_insert(e);
                }
            }
        }
        for e in old {
            e.stop().await;
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Stops every sender: shards get their flush deadline to deliver
    /// what they hold, then positions are saved.
    pub async fn stop(mut self) {
        let endpoints = std::mem::take(&mut self.endpoints);
        for e in &endpoints {
            e.stop.cancel();
        }
        for e in endpoints {
            e.stop().await;
        }
    }

    /// The counters of every running endpoint.
    pub fn metrics(&self) -> Vec<Arc<RemoteMetrics>> {
        self.endpoints.iter().map(|e| e.metrics.clone()).collect()
    }
}

impl Drop for RemoteWriter {
    /// Dropping without [`RemoteWriter::stop`] still stops the senders
    /// (they flush and save their positions in the background).
    fn drop(&mut self) {
        for e in &self.endpoints {
            e.stop.cancel();
        }
    }
}

fn check_unique(settings: &[WriteSettings]) -> Result<()> {
    let mut seen = HashSet::new();
    for s in settings {
        if !seen.insert(s.key()) {
            return Err(Error::DuplicateEndpoint {
                name: s.name.clone(),
                url: s.url.clone(),
            });
        }
    }
    Ok(())
}
