//! Integration tests of the API router, driven with tower's `oneshot`
//! (no sockets), over an in-memory TSDB.

mod api;
