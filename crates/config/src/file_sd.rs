//! file_sd: target group files in JSON or YAML, read once or polled.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use serde::Deserialize;

use crate::config::expand_glob;
use crate::error::{ConfigError, Result};
use crate::types::Duration;

/// Label file_sd adds to each group: the file it was read from.
pub const FILEPATH_LABEL: &str = "__meta_filepath";

/// A group of targets sharing labels, as produced by service discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// Target addresses.
    pub targets: Vec<String>,
    /// Labels of every target (including `__meta_filepath` for file_sd).
    pub labels: BTreeMap<String, String>,
    /// Where the group came from (`<file>:<index>` for file_sd).
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroupYaml {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawGroupJson {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Parses the target groups of one file_sd file; the format follows the
/// extension (`.json`, `.yml`, `.yaml`) as in Prometheus.
pub fn read_target_groups(path: &Path) -> Result<Vec<TargetGroup>> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let bad = |line: u64, column: u64, message: String| ConfigError::Parse {
        file: path.to_path_buf(),
        line,
        column,
        message,
    };
    let groups: Vec<(Vec<String>, BTreeMap<String, String>)> = match ext.as_str() {
        "json" => serde_json::from_str::<Vec<Option<RawGroupJson>>>(&text)
            .map_err(|e| {
                let mut m = e.to_string();
                if let Some(i) = m.rfind(" at line ") {
                    m.truncate(i);
                }
                bad(e.line() as u64, e.column() as u64, m)
            })?
            .into_iter()
            .map(|g| g.map(|g| (g.targets, g.labels)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(0, 0, "nil target group item found".into()))?,
        "yml" | "yaml" => {
            if text.trim().is_empty() {
                Vec::new()
            } else {
                serde_saphyr::from_str::<Vec<Option<RawGroupYaml>>>(&text)
                    .map_err(|e| ConfigError::from_yaml(path, &e))?
                    .into_iter()
                    .map(|g| g.map(|g| (g.targets, g.labels)))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(0, 0, "nil target group item found".into()))?
            }
        }
        other => {
            return Err(ConfigError::Invalid {
                file: path.to_path_buf(),
                line: None,
                message: format!("unhandled file extension {:?}", format!(".{other}")),
            })
        }
    };
    let file = path.to_string_lossy().into_owned();
    let mut out = Vec::with_capacity(groups.len());
    for (i, (targets, mut labels)) in groups.into_iter().enumerate() {
        if let Some(name) = labels.keys().find(|k| k.is_empty()) {
            return Err(ConfigError::Invalid {
                file: path.to_path_buf(),
                line: None,
                message: format!("{name:?} is not a valid label name"),
            });
        }
        labels.insert(FILEPATH_LABEL.to_string(), file.clone());
        out.push(TargetGroup {
            targets,
            labels,
            source: format!("{file}:{i}"),
        });
    }
    Ok(out)
}

/// Reads every file matching the given paths or globs (`*` in the last
/// element), in sorted order. A missing file is skipped, as Prometheus does.
pub fn read_file_sd<S: AsRef<str>>(patterns: &[S]) -> Result<Vec<TargetGroup>> {
    let mut out = Vec::new();
    for p in patterns {
        for f in expand_glob(p.as_ref(), Path::new(p.as_ref()))? {
            out.extend(read_target_groups(&f)?);
        }
    }
    Ok(out)
}

/// Polls file_sd files by modification time. Call [`FileSdWatcher::poll`]
/// every `refresh_interval` (see [`FileSdWatcher::due`]) or on demand; it
/// re-reads only files whose mtime changed and keeps the last good groups
/// of a file that fails to parse, as Prometheus does.
#[derive(Debug)]
pub struct FileSdWatcher {
    patterns: Vec<String>,
    refresh_interval: Duration,
    files: HashMap<PathBuf, (Option<SystemTime>, Vec<TargetGroup>)>,
    last_poll: Option<Instant>,
}

/// The outcome of one [`FileSdWatcher::poll`].
#[derive(Debug, Default)]
pub struct FileSdPoll {
    /// True when any file was added, removed or changed since the last poll.
    pub changed: bool,
    /// Current groups of all files, in file order.
    pub groups: Vec<TargetGroup>,
    /// Files that failed to read; their previous groups are kept.
    pub errors: Vec<ConfigError>,
}

impl FileSdWatcher {
    /// A watcher over the `files` of a `file_sd_configs` entry.
    pub fn new(patterns: Vec<String>, refresh_interval: Duration) -> Self {
        FileSdWatcher {
            patterns,
            refresh_interval,
            files: HashMap::new(),
            last_poll: None,
        }
    }

    /// True when `refresh_interval` has passed since the last poll.
    pub fn due(&self, now: Instant) -> bool {
        match self.last_poll {
            None => true,
            Some(t) => now.duration_since(t) >= self.refresh_interval.to_std(),
        }
    }

    /// Re-reads changed files and reports the current groups.
    pub fn poll(&mut self) -> FileSdPoll {
        self.last_poll = Some(Instant::now());
        let mut res = FileSdPoll::default();
        let mut current: Vec<PathBuf> = Vec::new();
        for p in &self.patterns {
            match expand_glob(p, Path::new(p)) {
                Ok(v) => current.extend(v),
                Err(e) => res.errors.push(e),
            }
        }
        let before = self.files.len();
        self.files.retain(|k, _| current.contains(k));
        res.changed |= self.files.len() != before;
        for f in &current {
            let mtime = std::fs::metadata(f).and_then(|m| m.modified()).ok();
            let known = self.files.get(f).map(|(t, _)| *t);
            if known.is_some() && known == Some(mtime) && mtime.is_some() {
                continue;
            }
            match read_target_groups(f) {
                Ok(g) => {
                    self.files.insert(f.clone(), (mtime, g));
                    res.changed = true;
                }
                Err(e) => res.errors.push(e),
            }
        }
        for f in &current {
            if let Some((_, g)) = self.files.get(f) {
                res.groups.extend(g.iter().cloned());
            }
        }
        res
    }
}
