//! Tests of the WAL as a whole: segments, repair, checkpoints, failures.
