//! Fixtures for tests in any language: an OpenMetrics file with timestamps
//! turned into blocks (`promlite tsdb create-blocks-from openmetrics`, as
//! promtool's backfill) or loaded into an in-memory server at start-up.

use std::path::Path;

use promlite_scrape::{Entry, Format, Parser};
use promlite_storage::Appendable;
use promlite_tsdb::backfill::{write_blocks, SeriesSamples};
use promlite_tsdb::block::BlockMeta;
use promlite_tsdb::Db;

/// Why a fixture could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid OpenMetrics or lacks timestamps.
    #[error("{path}: {detail}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        detail: String,
    },
    /// Writing blocks or appending failed.
    #[error(transparent)]
    Storage(#[from] promlite_storage::Error),
}

/// Reads an OpenMetrics file whose samples all carry timestamps.
// The parser is also asked for its line number, so it cannot be borrowed by a `for`.
#[allow(clippy::while_let_on_iterator)]
pub fn read_openmetrics(path: &Path) -> Result<SeriesSamples, FixtureError> {
    let name = path.display().to_string();
    let body = std::fs::read(path).map_err(|source| FixtureError::Read {
        path: name.clone(),
        source,
    })?;
    let mut out = SeriesSamples::new();
    let mut parser = Parser::new(&body, Format::OpenMetrics);
    while let Some(entry) = parser.next() {
        let entry = entry.map_err(|e| FixtureError::Parse {
            path: name.clone(),
            detail: e.to_string(),
        })?;
        let Entry::Series(s) = entry else { continue };
        let Some(t) = s.timestamp else {
            return Err(FixtureError::Parse {
                path: name.clone(),
                detail: format!(
                    "line {}: expected timestamp for series {}, got none",
                    parser.line(),
                    s.text()
                ),
            });
        };
        out.entry(s.to_labels()).or_default().push((t, s.value));
    }
    for (l, samples) in out.iter_mut() {
        samples.sort_by_key(|s| s.0);
        if let Some(w) = samples
            .windows(2)
            .find(|w| w[0].0 == w[1].0 && w[0].1.to_bits() != w[1].1.to_bits())
        {
            return Err(FixtureError::Parse {
                path: name.clone(),
                detail: format!("two different values for {l} at timestamp {}", w[0].0),
            });
        }
        samples.dedup_by_key(|s| s.0);
    }
    Ok(out)
}

/// Writes an OpenMetrics file as 2h blocks into `dir`.
pub fn create_blocks_from_openmetrics(
    file: &Path,
    dir: &Path,
) -> Result<Vec<BlockMeta>, FixtureError> {
    let series = read_openmetrics(file)?;
    Ok(write_blocks(
        dir,
        &series,
        promlite_tsdb::head::DEFAULT_BLOCK_RANGE,
    )?)
}

/// Appends every sample of `series` to `db` (whose head must accept them:
/// an in-memory database with a block range wider than the data).
pub(crate) fn load_into(db: &Db, series: &SeriesSamples) -> Result<usize, FixtureError> {
    let mut n = 0;
    for (l, samples) in series {
        let mut app = db.appender();
        let mut r = None;
        for &(t, v) in samples {
            r = Some(app.append(r, l, t, v)?);
            n += 1;
        }
        app.commit()?;
    }
    Ok(n)
}
