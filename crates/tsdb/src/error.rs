//! Errors of the TSDB.
//!
//! Every variant carries the context needed to act on it without a
//! debugger: the file and operation of an I/O error, the segment and byte
//! offset of a corruption (as Prometheus' `wlog.CorruptionErr` does).

use std::fmt;
use std::path::PathBuf;

/// A TSDB error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation failed (disk full, permissions, EIO, ...).
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "write WAL segment".
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Stored data failed a checksum or its framing is invalid.
    #[error(
        "corruption in {}{} at offset {offset}: {kind}",
        path.display(),
        segment.map(|s| format!(" (segment {s})")).unwrap_or_default()
    )]
    Corruption {
        /// The file involved.
        path: PathBuf,
        /// The WAL segment index, when the file is a WAL segment.
        segment: Option<u64>,
        /// Byte offset of the first bad record in the file.
        offset: u64,
        /// What was wrong.
        kind: CorruptionKind,
    },
    /// A record passed its checksum but its contents could not be decoded.
    #[error("invalid {record} record at byte {offset}: {detail}")]
    RecordDecode {
        /// The record type being decoded, e.g. "samples".
        record: &'static str,
        /// Byte offset inside the record.
        offset: usize,
        /// What was wrong.
        detail: &'static str,
    },
    /// A record to log is larger than the WAL accepts.
    #[error("WAL record of {size} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge {
        /// Size of the record in bytes.
        size: usize,
        /// The largest accepted size.
        max: usize,
    },
    /// A record to log is empty (every record starts with its type byte).
    #[error("empty WAL record")]
    EmptyRecord,
    /// A record's type byte is not a valid record type (0 or above 127).
    #[error("invalid WAL record type {0}")]
    InvalidRecordType(u8),
    /// The WAL was closed.
    #[error("WAL {} is closed", dir.display())]
    Closed {
        /// The WAL directory.
        dir: PathBuf,
    },
    /// An option value is out of its allowed range.
    #[error("invalid option {name}: {detail}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// Why it is invalid.
        detail: &'static str,
    },
    /// A checkpoint was requested over an invalid segment range.
    #[error("cannot checkpoint segments [{from}, {to}] of {}: {detail}", dir.display())]
    CheckpointRange {
        /// The WAL directory.
        dir: PathBuf,
        /// First segment requested.
        from: u64,
        /// Last segment requested.
        to: u64,
        /// Why the range is invalid.
        detail: &'static str,
    },
}

impl Error {
    /// An [`Error::Io`] for `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Whether this is an [`Error::Corruption`].
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

/// How a stored record was found to be bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptionKind {
    /// The file ends inside a record header.
    TornHeader {
        /// Header bytes present.
        have: usize,
    },
    /// The file ends inside a record payload.
    TornPayload {
        /// Payload bytes the header announces.
        want: usize,
        /// Payload bytes present.
        have: usize,
    },
    /// The payload's CRC32 does not match the header.
    ChecksumMismatch {
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum of the payload as read.
        computed: u32,
    },
    /// The header announces a payload larger than any valid record.
    BadLength(u32),
    /// The header's type byte is not a valid record type.
    BadType(u8),
    /// A compressed payload could not be decompressed.
    Decompress,
    /// A record passed its checksum but could not be decoded.
    Undecodable,
    /// A segment is missing from an otherwise contiguous sequence.
    MissingSegment,
}

impl fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CorruptionKind::TornHeader { have } => {
                write!(f, "torn record header ({have} bytes before end of file)")
            }
            CorruptionKind::TornPayload { want, have } => {
                write!(f, "torn record payload ({have} of {want} bytes)")
            }
            CorruptionKind::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            CorruptionKind::BadLength(n) => write!(f, "record length {n} exceeds the maximum"),
            CorruptionKind::BadType(t) => write!(f, "invalid record type byte {t:#04x}"),
            CorruptionKind::Decompress => f.write_str("snappy payload does not decompress"),
            CorruptionKind::Undecodable => f.write_str("record contents do not decode"),
            CorruptionKind::MissingSegment => f.write_str("segment is missing"),
        }
    }
}

/// Result alias of the tsdb crate.
pub type Result<T> = std::result::Result<T, Error>;

impl From<Error> for promlite_storage::Error {
    fn from(e: Error) -> Self {
        use promlite_storage::Error as S;
        match e {
            Error::Io { op, path, source } => S::Io { op, path, source },
            Error::Corruption {
                path,
                segment,
                offset,
                kind,
            } => S::Corruption {
                path,
                detail: match segment {
                    Some(s) => format!("segment {s} offset {offset}: {kind}"),
                    None => format!("offset {offset}: {kind}"),
                },
            },
            Error::Closed { .. } => S::Closed,
            other => S::Backend {
                context: "tsdb".to_string(),
                source: Box::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruption_message_names_segment_and_offset() {
        let e = Error::Corruption {
            path: PathBuf::from("/d/wal/00000003"),
            segment: Some(3),
            offset: 4096,
            kind: CorruptionKind::ChecksumMismatch {
                stored: 1,
                computed: 2,
            },
        };
        let msg = e.to_string();
        assert!(msg.contains("/d/wal/00000003"), "{msg}");
        assert!(msg.contains("segment 3"), "{msg}");
        assert!(msg.contains("offset 4096"), "{msg}");
        let s: promlite_storage::Error = e.into();
        assert!(matches!(s, promlite_storage::Error::Corruption { .. }));
    }

    #[test]
    fn io_error_converts_to_storage_io() {
        let e = Error::io(
            "write WAL segment",
            "/d/wal/00000000",
            std::io::Error::other("disk full"),
        );
        assert!(e.to_string().contains("write WAL segment /d/wal/00000000"));
        let s: promlite_storage::Error = e.into();
        assert!(matches!(s, promlite_storage::Error::Io { .. }));
    }
}
