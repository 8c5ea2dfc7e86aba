//! Writing the head's records to the WAL and replaying them at start.
use promlite_model::Labels;
use promlite_storage::Result;

use crate::wal::Wal;

pub(crate) fn log_records(_wal: &Wal, _series: &[(u64, Labels)], _samples: &[(u64, i64, f64)]) -> Result<()> {
    Ok(())
}
