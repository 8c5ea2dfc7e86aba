//! Errors of the configuration crate.

use std::path::PathBuf;

/// An error loading or validating a configuration or a file_sd file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML (or JSON) did not parse, or a value in it was rejected while
    /// decoding: syntax errors, unknown fields, duplicate keys, bad durations,
    /// regular expressions, label names and per-section rules.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Parse {
        /// The file the text came from.
        file: PathBuf,
        /// One-based line of the offending token.
        line: u64,
        /// One-based column of the offending token.
        column: u64,
        /// What is wrong, naming the field or value.
        message: String,
    },
    /// A rule that spans sections failed (duplicate job names, a scrape
    /// timeout greater than its interval, ...). `line` is the line of the
    /// section the rule was checked for, when known.
    #[error("{}{}: {message}", file.display(), fmt_line(*line))]
    Invalid {
        /// The file the section came from.
        file: PathBuf,
        /// One-based line of the section (its `job_name`, `url`, ...), if known.
        line: Option<u64>,
        /// Prometheus' wording of the problem.
        message: String,
    },
    /// A glob pattern (rule_files, scrape_config_files, file_sd files) is malformed.
    #[error("{}: invalid glob pattern {pattern:?}: {source}", file.display())]
    Glob {
        /// The file the pattern came from.
        file: PathBuf,
        /// The pattern as written.
        pattern: String,
        /// The glob parser's error.
        #[source]
        source: glob::PatternError,
    },
}

fn fmt_line(line: Option<u64>) -> String {
    match line {
        Some(l) => format!(":{l}"),
        None => String::new(),
    }
}

impl ConfigError {
    /// The line the error points at, when it has one.
    pub fn line(&self) -> Option<u64> {
        match self {
            ConfigError::Parse { line, .. } => Some(*line),
            ConfigError::Invalid { line, .. } => *line,
            _ => None,
        }
    }

    /// Builds a [`ConfigError::Parse`] from serde-saphyr's error.
    pub(crate) fn from_yaml(file: &std::path::Path, e: &serde_saphyr::Error) -> ConfigError {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let mut message = e.without_snippet().to_string();
        // serde-saphyr appends the position and, for duplicate keys, advice
        // meant for programmers; the position is already in our prefix.
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        if let Some(i) = message.find(", set DuplicateKeyPolicy") {
            message.truncate(i);
        }
        // The list of expected fields of a scrape job runs to ~90 names;
        // keep it only when short enough to help.
        if let Some(i) = message.find(", expected one of ") {
            if message[i..].matches(", ").count() > 12 {
                message.truncate(i);
            }
        }
        if message.starts_with("unknown field `") && message.contains("_sd_configs`") {
            message.push_str(" (not a service discovery kind Prometheus knows)");
        }
        ConfigError::Parse {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// Moves an error's line to the line that names the offending label name
/// (as a mapping key) or target, searching from the section's line. Checks that run after a whole section was
/// read only know where the section starts.
pub(crate) fn refine_line(text: &str, err: ConfigError) -> ConfigError {
    let (line, msg) = match &err {
        ConfigError::Parse { line, message, .. } => (Some(*line), message),
        ConfigError::Invalid { line, message, .. } => (*line, message),
        _ => return err,
    };
    let Some(start) = line.filter(|l| *l > 0) else {
        return err;
    };
    let quoted = |suffix: &str| {
        msg.strip_prefix('"')
            .and_then(|m| m.split_once(suffix))
            .map(|(n, _)| n.to_string())
    };
    let matches: Box<dyn Fn(&str) -> bool> =
        if let Some(name) = quoted("\" is not a valid label name") {
            let keys = [
                format!("{name}:"),
                format!("\"{name}\":"),
                format!("'{name}':"),
            ];
            Box::new(move |l: &str| {
                let t = l.trim_start();
                keys.iter()
                    .any(|k| t.starts_with(k.as_str()) && (!name.is_empty() || !k.starts_with(':')))
            })
        } else if let Some(target) = quoted("\" is not a valid hostname") {
            Box::new(move |l: &str| l.contains(target.as_str()))
        } else {
            return err;
        };
    let found = text
        .lines()
        .enumerate()
        .skip(usize::try_from(start - 1).unwrap_or(0))
        .find(|(_, l)| matches(l))
        .map(|(i, l)| (i as u64 + 1, (l.len() - l.trim_start().len()) as u64 + 1));
    match (err, found) {
        (ConfigError::Parse { file, message, .. }, Some((line, column))) => ConfigError::Parse {
            file,
            line,
            column,
            message,
        },
        (ConfigError::Invalid { file, message, .. }, Some((line, _))) => ConfigError::Invalid {
            file,
            line: Some(line),
            message,
        },
        (err, _) => err,
    }
}

/// Result alias of the configuration crate.
pub type Result<T> = std::result::Result<T, ConfigError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refine_line_finds_the_label_key() {
        let text = "global:\n  external_labels:\n    ok: 1\n    \"bad-name\": 2\n";
        let e = ConfigError::Invalid {
            file: "p.yml".into(),
            line: Some(1),
            message: "\"bad-name\" is not a valid label name".into(),
        };
        assert_eq!(refine_line(text, e).line(), Some(4));
        let e = ConfigError::Invalid {
            file: "p.yml".into(),
            line: Some(1),
            message: "something else".into(),
        };
        assert_eq!(refine_line(text, e).line(), Some(1));
    }
}
