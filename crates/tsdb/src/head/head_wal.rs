//! Writing the head's records to the WAL and rebuilding the head from it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use promlite_model::Labels;
use promlite_storage::Result;

use super::series::AppendOutcome;
use super::{Head, MemSeries};
use crate::wal::{self, record, RefSample, RefSeries, ReplayRecord, ReplayStats, Wal};

/// Encodes new series and samples and logs them in one batch.
pub(crate) fn log_records(
    wal: &Wal,
    series: &[(u64, Labels)],
    samples: &[RefSample],
) -> Result<()> {
    let mut recs: Vec<Vec<u8>> = Vec::with_capacity(2);
    if !series.is_empty() {
        let rs: Vec<RefSeries> = series
            .iter()
            .map(|(r, l)| RefSeries {
                series_ref: *r,
                labels: l.clone(),
            })
            .collect();
        let mut buf = Vec::new();
        record::encode_series(&rs, &mut buf);
        recs.push(buf);
    }
    if !samples.is_empty() {
        let mut buf = Vec::new();
        record::encode_samples(samples, &mut buf);
        recs.push(buf);
    }
    if recs.is_empty() {
        return Ok(());
    }
    let slices: Vec<&[u8]> = recs.iter().map(|r| r.as_slice()).collect();
    wal.log(&slices).map_err(Into::into)
}

/// What a WAL replay did.
#[derive(Debug, Clone, Default)]
pub struct WalReplayStats {
    /// What the WAL reader saw (records, corruption).
    pub wal: ReplayStats,
    /// Samples put back into the head.
    pub samples_restored: u64,
    /// Samples skipped: already in a block, out of order, or of an unknown series.
    pub samples_skipped: u64,
}

impl Head {
    /// Rebuilds the head from the WAL in `wal_dir`: the last checkpoint,
    /// then every segment after it. Samples older than the head's minimum
    /// valid time (already persisted in blocks) are skipped. Stops at the
    /// first torn or corrupt record; everything before it is restored and the
    /// corruption is reported in the stats (the WAL writer truncates it).
    pub fn replay_wal(&self, wal_dir: &Path) -> Result<WalReplayStats> {
        let inner = &self.inner;
        let range = inner.opts.block_range;
        let floor = inner.min_valid_time();
        // WAL references whose labels already had a series under another
        // reference (a series recreated after garbage collection).
        let mut remap: HashMap<u64, Arc<MemSeries>> = HashMap::new();
        let mut out = WalReplayStats::default();
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let stats = wal::replay_dir(wal_dir, |rec| {
            match rec {
                ReplayRecord::Series(series) => {
                    for s in series {
                        let (ms, created) =
                            inner.series.insert_with_ref(s.series_ref, s.labels.clone());
                        if created {
                            inner.postings.add(ms.series_ref, &ms.labels);
                            inner.bump_series_ref(ms.series_ref);
                        } else if ms.series_ref != s.series_ref {
                            inner.bump_series_ref(s.series_ref);
                            remap.insert(s.series_ref, ms);
                        }
                    }
                }
                ReplayRecord::Samples(samples) => {
                    for s in samples {
                        let series = match remap.get(&s.series_ref) {
                            Some(m) => Some(m.clone()),
                            None => inner.series.get_by_ref(s.series_ref),
                        };
                        let Some(series) = series else {
                            out.samples_skipped += 1;
                            continue;
                        };
                        if s.t < floor {
                            out.samples_skipped += 1;
                            continue;
                        }
                        if series.data.lock().append(s.st, s.t, s.v, range)
                            == AppendOutcome::Appended
                        {
                            out.samples_restored += 1;
                            mint = mint.min(s.t);
                            maxt = maxt.max(s.t);
                        } else {
                            out.samples_skipped += 1;
                        }
                    }
                }
                ReplayRecord::Tombstones(ts) => {
                    for t in ts {
                        let series = match remap.get(&t.series_ref) {
                            Some(m) => Some(m.clone()),
                            None => inner.series.get_by_ref(t.series_ref),
                        };
                        if let Some(s) = series {
                            s.data.lock().delete_range(t.mint, t.maxt, range);
                        }
                    }
                }
            }
            Ok(())
        })?;
        if out.samples_restored > 0 {
            inner.update_time_range(mint, maxt);
        }
        // Series that came back without samples (all persisted already) are
        // dropped by the next truncation; new ones get references above all
        // seen in the WAL.
        out.wal = stats;
        Ok(out)
    }
}
