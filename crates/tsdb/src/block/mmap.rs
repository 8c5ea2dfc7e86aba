//! Read-only file contents as `&[u8]`, memory-mapped where possible.
//!
//! This is the only module of the crate with `unsafe` code: creating a
//! memory map. Everything else sees a plain byte slice (the approach of
//! tantivy's `OwnedBytes` and ripgrep's `searcher/mmap.rs`).
#![allow(unsafe_code)]

use std::fs::File;
use std::path::Path;

use super::error::{BlockError, Result};

/// The bytes of a file, mapped read-only, or of a vector.
#[derive(Debug)]
pub(crate) struct OwnedBytes {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Map(memmap2::Mmap),
    Vec(Vec<u8>),
}

impl OwnedBytes {
    /// Maps the file at `path` read-only. An empty file yields an empty
    /// slice without a mapping (mapping zero bytes is an error on Linux).
    pub(crate) fn open(path: &Path) -> Result<OwnedBytes> {
        let file = File::open(path).map_err(|e| BlockError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| BlockError::io("stat", path, e))?
            .len();
        if len == 0 {
            return Ok(OwnedBytes::from_vec(Vec::new()));
        }
        // SAFETY: The map is read-only and block files are immutable once
        // their directory has been renamed into place: nothing in this
        // process writes, truncates or replaces them while a `Block` is
        // open (deletion only unlinks the directory, which leaves the
        // mapping valid). Another process modifying the files would break
        // this, as it would for any mmap-based reader; the data directory is
        // owned by one promlite process, enforced by its lock file.
        let map =
            unsafe { memmap2::Mmap::map(&file) }.map_err(|e| BlockError::io("mmap", path, e))?;
        Ok(OwnedBytes {
            inner: Inner::Map(map),
        })
    }

    /// Bytes held in memory (for tests and small files).
    pub(crate) fn from_vec(v: Vec<u8>) -> OwnedBytes {
        OwnedBytes {
            inner: Inner::Vec(v),
        }
    }

    /// The contents.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match &self.inner {
            Inner::Map(m) => m,
            Inner::Vec(v) => v,
        }
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_files_and_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(OwnedBytes::open(&p).unwrap().as_slice(), b"hello");
        let e = dir.path().join("e");
        std::fs::write(&e, b"").unwrap();
        assert_eq!(OwnedBytes::open(&e).unwrap().len(), 0);
        let err = OwnedBytes::open(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
