//! The head's inverted index: label name → value → sorted series references.

use std::collections::HashMap;

use parking_lot::RwLock;
use promlite_model::Labels;

/// Number of shards, by label name. A power of two.
const SHARDS: usize = 64;

type ValueMap = HashMap<Box<str>, Vec<u64>>;
type Shard = RwLock<HashMap<Box<str>, ValueMap>>;

/// Postings lists sharded by label name so that series creation and
/// queries on different names never touch the same lock.
pub(crate) struct MemPostings {
    shards: Box<[Shard]>,
    all: RwLock<Vec<u64>>,
}

fn shard_of(name: &str) -> usize {
    (fnv1a(name.as_bytes()) as usize) & (SHARDS - 1)
}

/// A cheap FNV-1a hash for picking a shard.
fn fnv1a(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Inserts `r` keeping `v` sorted; references are usually the largest yet.
fn insert_sorted(v: &mut Vec<u64>, r: u64) {
    match v.last() {
        None => v.push(r),
        Some(&last) if last < r => v.push(r),
        _ => {
            if let Err(pos) = v.binary_search(&r) {
                v.insert(pos, r);
            }
        }
    }
}

fn remove_sorted(v: &mut Vec<u64>, r: u64) {
    if let Ok(pos) = v.binary_search(&r) {
        v.remove(pos);
    }
}

impl MemPostings {
    pub(crate) fn new() -> Self {
        MemPostings {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            all: RwLock::new(Vec::new()),
        }
    }

    /// Indexes series `r` under each of its labels.
    pub(crate) fn add(&self, r: u64, l: &Labels) {
        for lab in l.iter() {
            let mut shard = self.shards[shard_of(lab.name)].write();
            let values = match shard.get_mut(lab.name) {
                Some(v) => v,
                None => shard.entry(lab.name.into()).or_default(),
            };
            match values.get_mut(lab.value) {
                Some(list) => insert_sorted(list, r),
                None => {
                    values.insert(lab.value.into(), vec![r]);
                }
            }
        }
        insert_sorted(&mut self.all.write(), r);
    }

    /// Removes series `r` (with labels `l`) from the index.
    pub(crate) fn delete(&self, r: u64, l: &Labels) {
        for lab in l.iter() {
            let mut shard = self.shards[shard_of(lab.name)].write();
            let mut drop_name = false;
            if let Some(values) = shard.get_mut(lab.name) {
                let mut drop_value = false;
                if let Some(list) = values.get_mut(lab.value) {
                    remove_sorted(list, r);
                    drop_value = list.is_empty();
                }
                if drop_value {
                    values.remove(lab.value);
                }
                drop_name = values.is_empty();
            }
            if drop_name {
                shard.remove(lab.name);
            }
        }
        remove_sorted(&mut self.all.write(), r);
    }

    /// The sorted references of series with `name="value"`.
    pub(crate) fn get(&self, name: &str, value: &str) -> Vec<u64> {
        self.shards[shard_of(name)]
            .read()
            .get(name)
            .and_then(|m| m.get(value))
            .cloned()
            .unwrap_or_default()
    }

    /// The distinct values of `name`, sorted.
    pub(crate) fn label_values(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self.shards[shard_of(name)]
            .read()
            .get(name)
            .map(|m| m.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Every label name, sorted.
    pub(crate) fn label_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .shards
            .iter()
            .flat_map(|s| s.read().keys().map(|k| k.to_string()).collect::<Vec<_>>())
            .collect();
        v.sort();
        v
    }

    /// All series references, sorted.
    pub(crate) fn all(&self) -> Vec<u64> {
        self.all.read().clone()
    }

    /// Number of series under `name="value"` for each pair, for cardinality stats.
    pub(crate) fn for_each_pair(&self, mut f: impl FnMut(&str, &str, usize)) {
        for s in self.shards.iter() {
            for (n, vals) in s.read().iter() {
                for (v, list) in vals {
                    f(n, v, list.len());
                }
            }
        }
    }

    /// Heap bytes held by the postings lists (approximate).
    pub(crate) fn heap_size(&self) -> usize {
        let mut total = self.all.read().capacity() * 8;
        self.for_each_pair(|n, v, _| total += n.len() / 4 + v.len() + 48);
        for s in self.shards.iter() {
            for vals in s.read().values() {
                total += vals.values().map(|l| l.capacity() * 8).sum::<usize>();
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_get_delete() {
        let p = MemPostings::new();
        let a = Labels::from_pairs(&[("__name__", "m"), ("i", "1")]);
        let b = Labels::from_pairs(&[("__name__", "m"), ("i", "2")]);
        p.add(2, &b);
        p.add(1, &a);
        assert_eq!(p.get("__name__", "m"), vec![1, 2]);
        assert_eq!(p.label_values("i"), vec!["1", "2"]);
        assert_eq!(p.label_names(), vec!["__name__", "i"]);
        p.delete(1, &a);
        assert_eq!(p.get("__name__", "m"), vec![2]);
        assert_eq!(p.label_values("i"), vec!["2"]);
        assert_eq!(p.all(), vec![2]);
    }
}
