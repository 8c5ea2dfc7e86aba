//! `remote_read`: queries also read from remote stores (Prometheus'
//! `storage/remote/read.go`), merged with the local storage.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use promlite_config::{Config, RemoteReadConfig};
use promlite_model::{Labels, MatchType, Matcher};
use promlite_prompb::read::{LabelMatcher, Query, ReadRequest, ReadResponse};
use promlite_storage::{
    Error, MergeQuerier, Querier, Queryable, Result, SelectHints, Series, SeriesSet, VecSeries,
};
use promlite_tsdb::Db;
use prost::Message;

type Job = Box<dyn FnOnce(&tokio::runtime::Runtime) + Send>;

/// Runs `fut` to completion on a dedicated thread with its own runtime and
/// waits for it. Queriers are synchronous and may be called from async
/// handlers as well as blocking threads; neither may block on the server's
/// runtime, so remote reads get their own.
fn run_blocking<T: Send + 'static>(
    fut: impl std::future::Future<Output = std::result::Result<T, String>> + Send + 'static,
) -> std::result::Result<T, String> {
    static EXEC: std::sync::OnceLock<Option<std::sync::Mutex<std::sync::mpsc::Sender<Job>>>> =
        std::sync::OnceLock::new();
    let exec = EXEC.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .ok()?;
        std::thread::Builder::new()
            .name("remote-read".into())
            .spawn(move || {
                for job in rx {
                    job(&rt);
                }
            })
            .ok()?;
        Some(std::sync::Mutex::new(tx))
    });
    let Some(exec) = exec else {
        return Err("cannot start the remote-read runtime".into());
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let job: Job = Box::new(move |rt| {
        let h = rt.spawn(fut);
        rt.spawn(async move {
            let r = h.await.map_err(|e| e.to_string()).and_then(|r| r);
            let _ = tx.send(r);
        });
    });
    exec.lock()
        .map_err(|_| "remote-read runtime poisoned".to_string())?
        .send(job)
        .map_err(|_| "remote-read runtime stopped".to_string())?;
    rx.recv().map_err(|_| "remote read cancelled".to_string())?
}

/// One configured remote store.
pub(crate) struct RemoteRead {
    url: String,
    timeout: Duration,
    headers: Vec<(String, String)>,
    read_recent: bool,
    required: Vec<(String, String)>,
    /// External labels added as matchers and stripped from results.
    external: Vec<(String, String)>,
    client: reqwest::Client,
    basic_auth: Option<(String, String)>,
    authorization: Option<(String, String)>,
}

impl RemoteRead {
    fn from_config(c: &RemoteReadConfig, cfg: &Config) -> std::result::Result<RemoteRead, String> {
        let http = crate::settings::http_settings(&c.http_client_config)?;
        let mut b = reqwest::Client::builder().timeout(c.remote_timeout.to_std());
        if let Some(ca) = &http.tls.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(ca).map_err(|e| e.to_string())? {
                b = b.add_root_certificate(cert);
            }
        }
        if http.tls.insecure_skip_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        Ok(RemoteRead {
            url: c.url.clone(),
            timeout: c.remote_timeout.to_std(),
            headers: c
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            read_recent: c.read_recent,
            required: c
                .required_matchers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            external: if c.filter_external_labels {
                cfg.global
                    .external_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            } else {
                Vec::new()
            },
            client: b.build().map_err(|e| e.to_string())?,
            basic_auth: http.basic_auth,
            authorization: http.authorization,
        })
    }

    /// Sends one query and decodes the series (as `SAMPLES`).
    fn read(&self, mint: i64, maxt: i64, ms: &[Matcher]) -> Result<Vec<VecSeries>> {
        let backend = |e: String| Error::Backend {
            context: format!("remote_read {}", self.url),
            source: e.into(),
        };
        let mut matchers: Vec<LabelMatcher> = ms
            .iter()
            .map(|m| LabelMatcher {
                r#type: match m.match_type {
                    MatchType::Equal => 0,
                    MatchType::NotEqual => 1,
                    MatchType::Regex => 2,
                    MatchType::NotRegex => 3,
                },
                name: m.name.clone(),
                value: m.value.clone(),
            })
            .collect();
        for (k, v) in &self.external {
            matchers.push(LabelMatcher {
                r#type: 0,
                name: k.clone(),
                value: v.clone(),
            });
        }
        let req = ReadRequest {
            queries: vec![Query {
                start_timestamp_ms: mint,
                end_timestamp_ms: maxt,
                matchers,
            }],
            accepted_response_types: vec![0],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .map_err(|e| backend(e.to_string()))?;
        let mut r = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Read-Version", "0.1.0")
            .header(
                "User-Agent",
                concat!("Prometheus/", env!("CARGO_PKG_VERSION")),
            )
            .body(body);
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        if let Some((u, p)) = &self.basic_auth {
            r = r.basic_auth(u, Some(p));
        }
        if let Some((kind, cred)) = &self.authorization {
            r = r.header("Authorization", format!("{kind} {cred}"));
        }
        let bytes = run_blocking(async move {
            let resp = r.send().await.map_err(|e| e.to_string())?;
            if !resp.status().is_success() {
                return Err(format!("server returned HTTP status {}", resp.status()));
            }
            resp.bytes().await.map_err(|e| e.to_string())
        })
        .map_err(backend)?;
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&bytes)
            .map_err(|e| backend(e.to_string()))?;
        let rr = ReadResponse::decode(raw.as_slice()).map_err(|e| backend(e.to_string()))?;
        let ext: Vec<&str> = self.external.iter().map(|(k, _)| k.as_str()).collect();
        let mut out = Vec::new();
        for q in rr.results {
            for ts in q.timeseries {
                let pairs: Vec<(&str, &str)> = ts
                    .labels
                    .iter()
                    .filter(|l| !ext.contains(&l.name.as_str()))
                    .map(|l| (l.name.as_str(), l.value.as_str()))
                    .collect();
                out.push(VecSeries::new(
                    Labels::from_pairs(&pairs),
                    ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
                ));
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }
}

/// The local database and the configured remote stores, queried as one.
#[derive(Clone)]
pub(crate) struct Fanout {
    local: Db,
    remotes: Arc<RwLock<Arc<Vec<Arc<RemoteRead>>>>>,
}

impl Fanout {
    pub(crate) fn new(local: Db) -> Self {
        Fanout {
            local,
            remotes: Arc::default(),
        }
    }

    /// The remote stores of a (re)loaded configuration, to [`Fanout::set`]
    /// once the whole configuration is known to be good.
    pub(crate) fn prepare(cfg: &Config) -> std::result::Result<Vec<Arc<RemoteRead>>, String> {
        cfg.remote_read
            .iter()
            .map(|c| RemoteRead::from_config(c, cfg).map(Arc::new))
            .collect()
    }

    /// Replaces the remote stores.
    pub(crate) fn set(&self, v: Vec<Arc<RemoteRead>>) {
        *self.remotes.write() = Arc::new(v);
    }
}

struct RemoteQuerier {
    remote: Arc<RemoteRead>,
    mint: i64,
    maxt: i64,
}

impl Querier for RemoteQuerier {
    fn select(
        &self,
        _sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<SeriesSet<'_>> {
        // Only when every required matcher is among the selector's.
        let ok = self.remote.required.iter().all(|(k, v)| {
            matchers
                .iter()
                .any(|m| m.match_type == MatchType::Equal && &m.name == k && &m.value == v)
        });
        if !ok {
            return Ok(Box::new(std::iter::empty()));
        }
        let (mint, maxt) = match hints {
            Some(h) => (self.mint.max(h.start), self.maxt.min(h.end)),
            None => (self.mint, self.maxt),
        };
        let series = self.remote.read(mint, maxt, matchers)?;
        Ok(Box::new(
            series
                .into_iter()
                .map(|s| Ok(Box::new(s) as Box<dyn Series>)),
        ))
    }

    fn label_names(&self, _matchers: &[Matcher]) -> Result<Vec<String>> {
        // Remote read 1.0 has no label queries.
        Ok(Vec::new())
    }

    fn label_values(&self, _name: &str, _matchers: &[Matcher]) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

impl Queryable for Fanout {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>> {
        let local = self.local.querier(mint, maxt)?;
        let remotes = self.remotes.read().clone();
        if remotes.is_empty() {
            return Ok(local);
        }
        let oldest_local = self.local.min_time().unwrap_or(i64::MAX);
        let mut qs: Vec<Box<dyn Querier>> = vec![local];
        for r in remotes.iter() {
            // Without read_recent, ranges the local storage fully covers
            // are not read remotely.
            if !r.read_recent && mint >= oldest_local {
                continue;
            }
            qs.push(Box::new(RemoteQuerier {
                remote: r.clone(),
                mint,
                maxt,
            }));
        }
        Ok(Box::new(MergeQuerier::new(qs)))
    }
}
