//! TEMPORARY: replaced by the WAL engineer's module at merge.
/// WAL.
pub struct Wal;
