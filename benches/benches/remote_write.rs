//! Remote-write sender throughput: WAL → shards → HTTP (protobuf +
//! snappy) → a fake receiver on loopback that decodes and counts.
//!
//! Run with `cargo bench -p promlite-benches --bench remote_write`.
//! Each iteration starts a sender with a fresh position on the same WAL
//! and waits until the receiver has every sample, so the figure is
//! end-to-end samples per second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promlite_model::Labels;
use promlite_prompb::write::WriteRequest;
use promlite_remote::{RemoteWriter, WriteSettings};
use promlite_storage::Appendable;
use promlite_tsdb::{Db, DbOptions};
use prost::Message;
use tokio_util::sync::CancellationToken;

const SERIES: usize = 1000;
const SCRAPES: i64 = 100;

async fn receive(State(n): State<Arc<AtomicU64>>, body: Bytes) -> StatusCode {
    let Ok(raw) = snap::raw::Decoder::new().decompress_vec(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(req) = WriteRequest::decode(raw.as_slice()) else {
        return StatusCode::BAD_REQUEST;
    };
    let s: usize = req.timeseries.iter().map(|t| t.samples.len()).sum();
    n.fetch_add(s as u64, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

fn bench_send(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let count = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let url = rt.block_on(async {
        let app = axum::Router::new()
            .route("/write", axum::routing::post(receive))
            .with_state(count.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/write", l.local_addr().expect("addr"));
        let s = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(l, app)
                .with_graceful_shutdown(async move { s.cancelled().await })
                .await;
        });
        url
    });
    let wal = tempfile::tempdir().expect("tempdir");
    let db = Db::open(wal.path(), DbOptions::default()).expect("db");
    let labels: Vec<Labels> = (0..SERIES)
        .map(|i| {
            Labels::from_pairs(&[
                ("__name__", "bench_metric"),
                ("instance", "host:9100"),
                ("job", "node"),
                ("i", &i.to_string()),
            ])
        })
        .collect();
    for t in 0..SCRAPES {
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            app.append(None, l, t * 15_000, (i as i64 + t) as f64)
                .expect("append");
        }
        app.commit().expect("commit");
    }
    let total = SERIES as u64 * SCRAPES as u64;
    let mut g = c.benchmark_group("remote_write");
    g.sample_size(10);
    g.throughput(Throughput::Elements(total));
    for shards in [1usize, 4] {
        g.bench_function(format!("send_{total}_samples_{shards}_shards"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let data = tempfile::tempdir().expect("tempdir");
                    let mut s = WriteSettings::new(&url);
                    s.queue.min_shards = shards;
                    s.queue.max_shards = shards;
                    s.queue.wal_poll_interval = Duration::from_millis(5);
                    s.queue.batch_send_deadline = Duration::from_millis(5);
                    count.store(0, Ordering::Relaxed);
                    let start = Instant::now();
                    rt.block_on(async {
                        let w = RemoteWriter::start(
                            vec![s],
                            Some(&wal.path().join("wal")),
                            data.path(),
                            CancellationToken::new(),
                        )
                        .expect("start");
                        while count.load(Ordering::Relaxed) < total {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        spent += start.elapsed();
                        w.stop().await;
                    });
                }
                spent
            })
        });
    }
    g.finish();
    stop.cancel();
}

criterion_group!(benches, bench_send);
criterion_main!(benches);
