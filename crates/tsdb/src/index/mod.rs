//! TEMPORARY: replaced by the block engineer's index module at merge.
use promlite_model::Matcher;
use promlite_storage::Result;

pub(crate) trait IndexReader {
    fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>>;
    fn label_values(&self, name: &str) -> Result<Vec<String>>;
    fn all_postings(&self) -> Result<Vec<u64>>;
}

pub(crate) fn postings_for_matchers(ix: &dyn IndexReader, ms: &[Matcher]) -> Result<Vec<u64>> {
    let mut res: Option<Vec<u64>> = None;
    for m in ms {
        let mut acc = vec![];
        for v in ix.label_values(&m.name)? {
            if m.matches(&v) {
                acc.extend(ix.postings(&m.name, &v)?);
            }
        }
        if m.matches_empty() {
            let mut with: Vec<u64> = vec![];
            for v in ix.label_values(&m.name)? {
                with.extend(ix.postings(&m.name, &v)?);
            }
            with.sort();
            let all = ix.all_postings()?;
            acc.extend(all.into_iter().filter(|r| with.binary_search(r).is_err()));
        }
        acc.sort();
        acc.dedup();
        res = Some(match res {
            None => acc,
            Some(r) => r
                .into_iter()
                .filter(|x| acc.binary_search(x).is_ok())
                .collect(),
        });
    }
    Ok(res.unwrap_or_default())
}
