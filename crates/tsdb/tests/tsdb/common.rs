//! Helpers shared by the integration tests.

use promlite_model::{Labels, MatchType, Matcher};
use promlite_storage::{Queryable, ValueType};

pub(crate) type SeriesData = Vec<(Labels, Vec<(i64, u64)>)>;

pub(crate) fn any_name() -> Matcher {
    Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()
}

/// Every series matching `ms` (or all) with samples as (t, value bits).
pub(crate) fn read_all(q: &dyn Queryable, mint: i64, maxt: i64, ms: &[Matcher]) -> SeriesData {
    let q = q.querier(mint, maxt).unwrap();
    let all = [any_name()];
    let ms = if ms.is_empty() { &all[..] } else { ms };
    let set = q.select(true, None, ms).unwrap();
    set.map(|s| {
        let s = s.unwrap();
        let mut it = s.iterator();
        let mut v = vec![];
        while it.next() == ValueType::Float {
            let (t, x) = it.at();
            v.push((t, x.to_bits()));
        }
        assert!(it.err().is_none(), "iterator error: {:?}", it.err());
        (s.labels().clone(), v)
    })
    .collect()
}

pub(crate) fn series(i: usize) -> Labels {
    Labels::from_pairs(&[
        (
            "__name__",
            if i % 2 == 0 {
                "even_total"
            } else {
                "odd_total"
            },
        ),
        ("instance", &format!("host-{i}:9100")),
        ("job", "node"),
    ])
}

/// The value series `i` has at `t` in the generated data.
pub(crate) fn value(i: usize, t: i64) -> f64 {
    match i % 4 {
        0 => (t / 1000) as f64,
        1 => f64::NAN,
        2 => -0.0,
        _ => (t as f64).sqrt() * 1e-300,
    }
}
