//! Scraping real HTTP targets on loopback: a test server with good and bad
//! bodies, and Debian's node exporter when it is installed.

mod loopback;
mod node_exporter;

use std::time::{Duration, Instant};

use promlite_model::{MatchType, Matcher};
use promlite_storage::{Queryable, ValueType};
use promlite_tsdb::Db;

/// Samples of the series matching `name` (a regex), by label set.
pub(crate) fn series(db: &Db, name: &str) -> Vec<(String, Vec<(i64, f64)>)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    q.select(
        true,
        None,
        &[Matcher::new(MatchType::Regex, "__name__", name).unwrap()],
    )
    .unwrap()
    .map(|s| {
        let s = s.unwrap();
        let mut it = s.iterator();
        let mut v = vec![];
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        (s.labels().to_string(), v)
    })
    .collect()
}

/// Polls `f` every 20ms until it returns true or `timeout` passes.
pub(crate) async fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}
