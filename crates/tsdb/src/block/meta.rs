//! A block's `meta.json`, with Prometheus' field names.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::error::{BlockError, Result};

/// The name of the meta file in a block directory.
pub const META_FILENAME: &str = "meta.json";

/// The `version` this build writes into `meta.json` and accepts on open.
pub const META_VERSION: u32 = 1;

/// The contents of a block's `meta.json`.
///
/// ```json
/// {
///   "ulid": "01HZX...",
///   "minTime": 1700000000000,
///   "maxTime": 1700007200000,
///   "stats": { "numSamples": 120, "numSeries": 1, "numChunks": 1 },
///   "compaction": { "level": 1, "sources": ["01HZX..."] },
///   "version": 1
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// The block's unique identifier, also its directory name.
    #[serde(with = "ulid_string")]
    pub ulid: Ulid,
    /// The earliest timestamp the block may hold (inclusive, milliseconds).
    pub min_time: i64,
    /// The end of the block's range (exclusive, milliseconds), as Prometheus.
    pub max_time: i64,
    /// Counts of what the block holds.
    pub stats: BlockStats,
    /// How the block came to be.
    pub compaction: BlockCompaction,
    /// The meta format version ([`META_VERSION`]).
    pub version: u32,
}

/// Counts of a block's contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Samples in all chunks.
    pub num_samples: u64,
    /// Series in the index.
    pub num_series: u64,
    /// Chunks in the segment files.
    pub num_chunks: u64,
}

/// A block's compaction history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockCompaction {
    /// 1 for blocks cut from the head, one more than the highest parent's
    /// level for compacted blocks.
    pub level: u32,
    /// The ULIDs of the level-1 blocks this block's data came from (the
    /// block itself when it was cut from the head).
    #[serde(with = "ulid_vec")]
    pub sources: Vec<Ulid>,
    /// The blocks compacted into this one, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
}

/// A reference to another block, as recorded among a block's parents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    /// The parent's ULID.
    #[serde(with = "ulid_string")]
    pub ulid: Ulid,
    /// The parent's minimum time (inclusive).
    pub min_time: i64,
    /// The parent's maximum time (exclusive).
    pub max_time: i64,
}

impl BlockMeta {
    /// Reads and validates `dir/meta.json`.
    pub fn read(dir: &Path) -> Result<BlockMeta> {
        let path = dir.join(META_FILENAME);
        let b = fs::read(&path).map_err(|e| BlockError::io("read", &path, e))?;
        let meta: BlockMeta =
            serde_json::from_slice(&b).map_err(|source| BlockError::InvalidMeta {
                path: path.clone(),
                source,
            })?;
        if meta.version != META_VERSION {
            return Err(BlockError::UnsupportedVersion {
                path,
                version: meta.version,
            });
        }
        if meta.min_time >= meta.max_time {
            return Err(BlockError::corruption(
                &path,
                0,
                format!(
                    "empty time range: minTime {} >= maxTime {}",
                    meta.min_time, meta.max_time
                ),
            ));
        }
        Ok(meta)
    }

    /// Writes `dir/meta.json` and syncs it.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(META_FILENAME);
        let mut b = serde_json::to_vec_pretty(self)
            .map_err(|e| BlockError::io("encode", &path, std::io::Error::other(e)))?;
        b.push(b'\n');
        let mut f = fs::File::create(&path).map_err(|e| BlockError::io("create", &path, e))?;
        f.write_all(&b)
            .and_then(|()| f.sync_all())
            .map_err(|e| BlockError::io("write", &path, e))
    }
}

/// Serializes a [`Ulid`] as its 26-character string.
mod ulid_string {
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub(super) fn serialize<S: Serializer>(u: &Ulid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&u.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ulid, D::Error> {
        let s = String::deserialize(d)?;
        Ulid::from_string(&s).map_err(serde::de::Error::custom)
    }
}

/// Serializes a list of [`Ulid`]s as strings.
mod ulid_vec {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub(super) fn serialize<S: Serializer>(v: &[Ulid], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for u in v {
            seq.serialize_element(&u.to_string())?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Ulid>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| Ulid::from_string(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_json_uses_prometheus_field_names() {
        let u = Ulid::from_string("01BKGV7JBM69T2G1BGBGM6KB12").unwrap();
        let m = BlockMeta {
            ulid: u,
            min_time: 0,
            max_time: 7_200_000,
            stats: BlockStats {
                num_samples: 3,
                num_series: 2,
                num_chunks: 1,
            },
            compaction: BlockCompaction {
                level: 1,
                sources: vec![u],
                parents: vec![],
            },
            version: 1,
        };
        let v: serde_json::Value = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "ulid": "01BKGV7JBM69T2G1BGBGM6KB12",
                "minTime": 0,
                "maxTime": 7200000,
                "stats": {"numSamples": 3, "numSeries": 2, "numChunks": 1},
                "compaction": {"level": 1, "sources": ["01BKGV7JBM69T2G1BGBGM6KB12"]},
                "version": 1
            })
        );
        let back: BlockMeta = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }
}
