//! Integration tests of promlite-remote, built into one binary.

mod prometheus;
