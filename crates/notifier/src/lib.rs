//! Sending alerts to Alertmanager, as Prometheus' `notifier` package.
//!
//! [`Notifier`] keeps a bounded queue of alerts (the oldest are dropped
//! when it is full, and counted), and a background task sends them in
//! batches to every configured Alertmanager with `POST <prefix>/api/v2/alerts`.
//! Alerts get the external labels (without overriding their own), then
//! `alert_relabel_configs`; each Alertmanager set may relabel further.
//!
//! ```no_run
//! # async fn demo() {
//! use promlite_notifier::{Alert, AlertmanagerSet, Notifier, NotifierOptions};
//! let n = Notifier::start(NotifierOptions::default());
//! n.set_alertmanagers(vec![AlertmanagerSet::new(vec!["http://127.0.0.1:9093".into()])]);
//! n.send(vec![Alert::default()]);
//! # }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod notifier;

pub use notifier::{
    Alert, AlertmanagerSet, Notifier, NotifierMetrics, NotifierOptions, MAX_BATCH_SIZE,
};
