//! Start-up time: an in-process library server until it serves, and the
//! `promlite --storage.in-memory` binary until `/-/ready` answers 200.
//!
//! `cargo build --release -p promlite && cargo bench -p promlite-benches --bench startup`

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use promlite::{ConfigSource, Server, ServerOptions};

fn ready(addr: &str) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if write!(
        s,
        "GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && &buf[9..12] == b"200"
}

fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PROMLITE_BIN") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/promlite");
    p.exists().then_some(p)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("startup");
    g.sample_size(30);
    g.bench_function("library_in_memory", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let s = rt
                    .block_on(Server::start(ServerOptions {
                        config: ConfigSource::Text(String::new()),
                        ..ServerOptions::default()
                    }))
                    .unwrap();
                assert!(ready(&s.addr().to_string()));
                total += t.elapsed();
                rt.block_on(s.shutdown());
            }
            total
        })
    });
    match binary() {
        Some(bin) => {
            g.bench_function("binary_in_memory_until_ready", |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let port = std::net::TcpListener::bind("127.0.0.1:0")
                            .unwrap()
                            .local_addr()
                            .unwrap()
                            .port();
                        let addr = format!("127.0.0.1:{port}");
                        let dir = tempfile::tempdir().unwrap();
                        let t = Instant::now();
                        let mut child = Command::new(&bin)
                            .args([
                                "--storage.in-memory",
                                &format!("--web.listen-address={addr}"),
                            ])
                            .current_dir(dir.path())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .spawn()
                            .unwrap();
                        let deadline = Instant::now() + Duration::from_secs(10);
                        while !ready(&addr) && Instant::now() < deadline {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                        total += t.elapsed();
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    total
                })
            });
        }
        None => {
            eprintln!("SKIP binary start-up: build it first with cargo build --release -p promlite")
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
