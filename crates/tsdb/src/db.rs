//! The database: a head, its WAL and the persisted blocks in one directory.
//!
//! ```text
//! <dir>/
//!   ├── 01HZX.../            blocks (see docs/format/block.md)
//!   ├── 01HZY....corrupted   a block that failed verification, moved aside
//!   └── wal/                 the write-ahead log (docs/format/wal.md)
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use promlite_storage::{Appendable, Appender, Error, MergeQuerier, Querier, Queryable, Result};
use tracing::{error, info, warn};

use crate::block::{list_block_dirs, Block, TMP_SUFFIX};
use crate::head::{Head, HeadOptions, DEFAULT_BLOCK_RANGE};
use crate::wal::{Wal, WalOptions, DEFAULT_SEGMENT_SIZE};

/// Fifteen days, Prometheus' default time retention.
pub const DEFAULT_RETENTION: i64 = 15 * 24 * 3600 * 1000;

/// Suffix given to a block directory that failed verification at open.
pub const CORRUPTED_SUFFIX: &str = ".corrupted";

/// Settings of a [`Db`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Block range in milliseconds (`--storage.tsdb.min-block-duration`), 2h.
    pub block_range: i64,
    /// Blocks whose end is this much older than the newest block's end are
    /// deleted (`--storage.tsdb.retention.time`); 0 disables. 15d.
    pub retention_time: i64,
    /// Oldest blocks are deleted while blocks and WAL exceed this many bytes
    /// (`--storage.tsdb.retention.size`); 0 disables.
    pub retention_size: u64,
    /// The largest block compaction produces; `None` is 10% of the time
    /// retention, at most 31 days, as in Prometheus.
    pub max_block_duration: Option<i64>,
    /// WAL segment size in bytes.
    pub wal_segment_size: u64,
    /// Snappy compression of WAL records.
    pub wal_compression: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            block_range: DEFAULT_BLOCK_RANGE,
            retention_time: DEFAULT_RETENTION,
            retention_size: 0,
            max_block_duration: None,
            wal_segment_size: DEFAULT_SEGMENT_SIZE,
            wal_compression: true,
        }
    }
}

impl DbOptions {
    /// The largest block range compaction may produce.
    pub fn effective_max_block_duration(&self) -> i64 {
        let max = self.max_block_duration.unwrap_or_else(|| {
            let r = if self.retention_time > 0 {
                self.retention_time / 10
            } else {
                i64::MAX
            };
            r.min(31 * 24 * 3600 * 1000)
        });
        max.max(self.block_range)
    }

    /// Block ranges compaction builds: the block range times 3, 9, 27, ...
    /// up to the maximum block duration (Prometheus' exponential ranges).
    pub fn compaction_ranges(&self) -> Vec<i64> {
        let max = self.effective_max_block_duration();
        let mut v = vec![self.block_range];
        while let Some(&last) = v.last() {
            let next = last.saturating_mul(3);
            if next > max || next == last {
                break;
            }
            v.push(next);
        }
        v
    }
}

/// Counters describing the database, named after Prometheus' metrics.
#[derive(Debug, Default)]
pub struct DbMetrics {
    /// `prometheus_tsdb_compactions_total`.
    pub compactions: AtomicU64,
    /// `prometheus_tsdb_compactions_failed_total`.
    pub compactions_failed: AtomicU64,
    /// `prometheus_tsdb_time_retentions_total`.
    pub time_retentions: AtomicU64,
    /// `prometheus_tsdb_size_retentions_total`.
    pub size_retentions: AtomicU64,
    /// Blocks moved aside because they failed verification.
    pub corrupted_blocks: AtomicU64,
    /// `prometheus_tsdb_reloads_total`.
    pub reloads: AtomicU64,
}

/// Tracks open queriers by the block-list epoch they were created in, so
/// that a head truncation can wait for the queriers that still expect the
/// truncated data in the head (Prometheus' `WaitForPendingReadersInTimeRange`).
#[derive(Default)]
pub(crate) struct ReaderTracker {
    /// Open queriers per epoch.
    open: Mutex<std::collections::BTreeMap<u64, usize>>,
    released: parking_lot::Condvar,
    epoch: AtomicU64,
}

impl ReaderTracker {
    fn enter(self: &Arc<Self>) -> ReaderGuard {
        let mut open = self.open.lock();
        let epoch = self.epoch.load(Ordering::Acquire);
        *open.entry(epoch).or_default() += 1;
        ReaderGuard {
            tracker: self.clone(),
            epoch,
        }
    }

    /// Starts a new epoch and waits (at most `timeout`) until every querier
    /// of earlier epochs is closed. Returns false on timeout.
    pub(crate) fn advance_and_wait(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut open = self.open.lock();
        let new_epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        while open.range(..new_epoch).next().is_some() {
            if self.released.wait_until(&mut open, deadline).timed_out() {
                return open.range(..new_epoch).next().is_none();
            }
        }
        true
    }
}

struct ReaderGuard {
    tracker: Arc<ReaderTracker>,
    epoch: u64,
}

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        let mut open = self.tracker.open.lock();
        if let Some(n) = open.get_mut(&self.epoch) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.epoch);
            }
        }
        self.tracker.released.notify_all();
    }
}

/// A querier over blocks and head that keeps its epoch registered.
struct DbQuerier {
    inner: Box<dyn Querier>,
    _guard: ReaderGuard,
}

impl Querier for DbQuerier {
    fn select(
        &self,
        sorted: bool,
        hints: Option<&promlite_storage::SelectHints>,
        matchers: &[promlite_model::Matcher],
    ) -> Result<promlite_storage::SeriesSet<'_>> {
        self.inner.select(sorted, hints, matchers)
    }
    fn label_names(&self, matchers: &[promlite_model::Matcher]) -> Result<Vec<String>> {
        self.inner.label_names(matchers)
    }
    fn label_values(
        &self,
        name: &str,
        matchers: &[promlite_model::Matcher],
    ) -> Result<Vec<String>> {
        self.inner.label_values(name, matchers)
    }
}

pub(crate) struct DbInner {
    pub(crate) dir: Option<PathBuf>,
    pub(crate) opts: DbOptions,
    pub(crate) head: Head,
    /// Persisted blocks sorted by time. Replaced as a whole (copy on write),
    /// so queriers take a consistent list without holding the lock.
    pub(crate) blocks: RwLock<Arc<Vec<Arc<Block>>>>,
    /// Serialises compactions, retention and snapshots.
    pub(crate) compaction: Mutex<()>,
    pub(crate) metrics: DbMetrics,
    pub(crate) readers: Arc<ReaderTracker>,
}

/// A time-series database. Cheap to clone; clones share everything.
///
/// ```
/// use promlite_model::{Labels, Matcher};
/// use promlite_storage::{Appendable, Queryable};
/// use promlite_tsdb::{Db, DbOptions};
///
/// let db = Db::open_in_memory(DbOptions::default());
/// let mut app = db.appender();
/// app.append(None, &Labels::from_pairs(&[("__name__", "up")]), 1000, 1.0).unwrap();
/// app.commit().unwrap();
/// let q = db.querier(0, 2000).unwrap();
/// assert_eq!(q.select(false, None, &[Matcher::equal("__name__", "up")]).unwrap().count(), 1);
/// ```
#[derive(Clone)]
pub struct Db {
    pub(crate) inner: Arc<DbInner>,
}

/// Removes half-written block directories left by a crash.
fn remove_tmp_blocks(dir: &Path) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))?;
    for entry in rd.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(TMP_SUFFIX) || name.ends_with(".deleting") {
            let p = entry.path();
            warn!(path = %p.display(), "removing incomplete block directory");
            fs::remove_dir_all(&p).map_err(|e| Error::io("remove dir", &p, e))?;
        }
    }
    Ok(())
}

/// Moves a block that failed verification aside; never deletes it.
fn move_aside(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy().to_string();
    let parent = path.parent()?;
    let mut target = parent.join(format!("{name}{CORRUPTED_SUFFIX}"));
    let mut n = 1;
    while target.exists() {
        target = parent.join(format!("{name}{CORRUPTED_SUFFIX}.{n}"));
        n += 1;
    }
    fs::rename(path, &target).ok()?;
    Some(target)
}

impl Db {
    /// Opens (or creates) a database in `dir`: verifies and maps the blocks
    /// (moving aside any that fail), repairs the WAL's tail and replays it
    /// into the head.
    pub fn open(dir: impl AsRef<Path>, opts: DbOptions) -> Result<Db> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| Error::io("create dir", &dir, e))?;
        remove_tmp_blocks(&dir)?;
        let metrics = DbMetrics::default();
        let blocks = Self::load_blocks(&dir, &metrics)?;
        let wal_dir = dir.join("wal");
        let wal = Wal::open(
            &wal_dir,
            WalOptions {
                segment_size: opts.wal_segment_size,
                compress: opts.wal_compression,
            },
        )?;
        let head = Head::with_wal(
            HeadOptions {
                block_range: opts.block_range,
            },
            Some(wal),
        );
        if let Some(max) = blocks.iter().map(|b| b.meta().max_time).max() {
            head.set_min_valid_time(max);
        }
        let replay = head.replay_wal(&wal_dir)?;
        info!(
            series = head.num_series(),
            samples = replay.samples_restored,
            skipped = replay.samples_skipped,
            blocks = blocks.len(),
            "TSDB opened, WAL replayed"
        );
        if let Some(c) = &replay.wal.corruption {
            warn!(
                segment = c.segment,
                offset = c.offset,
                "WAL replay stopped at a corrupt record"
            );
        }
        Ok(Db {
            inner: Arc::new(DbInner {
                dir: Some(dir),
                opts,
                head,
                blocks: RwLock::new(Arc::new(blocks)),
                compaction: Mutex::new(()),
                metrics,
                readers: Arc::default(),
            }),
        })
    }

    /// A database that keeps everything in memory: no directory, no WAL, no
    /// blocks. [`Db::compact`] drops data older than the time retention.
    pub fn open_in_memory(opts: DbOptions) -> Db {
        let head = Head::new(HeadOptions {
            block_range: opts.block_range,
        });
        Db {
            inner: Arc::new(DbInner {
                dir: None,
                opts,
                head,
                blocks: RwLock::new(Arc::new(Vec::new())),
                compaction: Mutex::new(()),
                metrics: DbMetrics::default(),
                readers: Arc::default(),
            }),
        }
    }

    fn load_blocks(dir: &Path, metrics: &DbMetrics) -> Result<Vec<Arc<Block>>> {
        let mut blocks = Vec::new();
        for path in list_block_dirs(dir)? {
            match Block::open(&path) {
                Ok(b) => blocks.push(Arc::new(b)),
                Err(e) => {
                    metrics.corrupted_blocks.fetch_add(1, Ordering::Relaxed);
                    match move_aside(&path) {
                        Some(to) => error!(
                            block = %path.display(),
                            moved_to = %to.display(),
                            error = %e,
                            "block failed verification and was moved aside"
                        ),
                        None => error!(
                            block = %path.display(),
                            error = %e,
                            "block failed verification and could not be moved aside; skipping it"
                        ),
                    }
                }
            }
        }
        // A block that another block names as its parent was replaced by it
        // (compaction or a rewrite) and only survived a crash: delete it.
        let parents: std::collections::HashSet<ulid::Ulid> = blocks
            .iter()
            .flat_map(|b| b.meta().compaction.parents.iter().map(|p| p.ulid))
            .collect();
        let mut kept = Vec::with_capacity(blocks.len());
        for b in blocks {
            if parents.contains(&b.meta().ulid) {
                warn!(block = %b.dir().display(), "deleting a block already replaced by its child");
                let dir = b.dir().to_path_buf();
                drop(b);
                if let Err(e) = fs::remove_dir_all(&dir) {
                    warn!(block = %dir.display(), error = %e, "could not delete a replaced block");
                }
            } else {
                kept.push(b);
            }
        }
        kept.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
        Ok(kept)
    }

    /// The directory, or `None` in memory.
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &DbOptions {
        &self.inner.opts
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.inner.head
    }

    /// The persisted blocks, oldest first.
    pub fn blocks(&self) -> Arc<Vec<Arc<Block>>> {
        self.inner.blocks.read().clone()
    }

    /// The database's counters.
    pub fn metrics(&self) -> &DbMetrics {
        &self.inner.metrics
    }

    /// Oldest sample time across blocks and head.
    pub fn min_time(&self) -> Option<i64> {
        let b = self.blocks().first().map(|b| b.meta().min_time);
        match (b, self.head().min_time()) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    /// Bytes used by blocks on disk.
    pub fn blocks_size(&self) -> u64 {
        self.blocks().iter().map(|b| b.size_bytes()).sum()
    }

    /// Bytes used by the WAL on disk (segments and checkpoints).
    pub fn wal_size(&self) -> u64 {
        fn dir_size(p: &Path) -> u64 {
            let Ok(rd) = fs::read_dir(p) else { return 0 };
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        self.dir().map(|d| dir_size(&d.join("wal"))).unwrap_or(0)
    }

    pub(crate) fn set_blocks(&self, blocks: Vec<Arc<Block>>) {
        let mut blocks = blocks;
        blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
        *self.inner.blocks.write() = Arc::new(blocks);
        self.inner.metrics.reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// Flushes the WAL to disk. The database stays usable.
    pub fn sync(&self) -> Result<()> {
        match self.head().wal() {
            Some(w) => w.sync().map_err(Into::into),
            None => Ok(()),
        }
    }

    /// Flushes and closes the WAL; appends fail afterwards.
    pub fn close(&self) -> Result<()> {
        match self.head().wal() {
            Some(w) => w.close().map_err(Into::into),
            None => Ok(()),
        }
    }
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender> {
        self.inner.head.appender()
    }
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>> {
        let guard = self.inner.readers.enter();
        let blocks = self.blocks();
        let mut qs: Vec<Box<dyn Querier>> = Vec::new();
        for b in blocks.iter() {
            let m = b.meta();
            // Block ranges are [min_time, max_time).
            if m.min_time <= maxt && m.max_time > mint {
                qs.push(Box::new(b.querier(mint, maxt)));
            }
        }
        qs.push(Box::new(self.inner.head.head_querier(mint, maxt)));
        let inner: Box<dyn Querier> = if qs.len() == 1 {
            qs.remove(0)
        } else {
            Box::new(MergeQuerier::new(qs))
        };
        Ok(Box::new(DbQuerier {
            inner,
            _guard: guard,
        }))
    }
}
