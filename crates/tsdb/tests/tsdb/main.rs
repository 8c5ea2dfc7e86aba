//! Integration tests of the TSDB through its public API, one binary.
#![allow(clippy::print_stdout)]

mod common;
mod db;
mod durability;
mod golden;
mod start_timestamps;
