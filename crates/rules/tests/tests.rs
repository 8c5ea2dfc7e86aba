//! Integration tests: the rule unit-test files in `testdata/rules/`, run
//! by our `test_rules` and, when installed, by Prometheus' `promtool`.

mod perf;
mod promtool;
mod restart;
