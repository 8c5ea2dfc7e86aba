//! Exposition parsing throughput on a node_exporter-like body.
//!
//! Run with `cargo bench -p promlite-benches --bench exposition`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use promlite_model::LabelsBuilder;
use promlite_scrape::{Entry, Format, Parser};

/// A body shaped like node_exporter's: families with HELP/TYPE, per-CPU and
/// per-device series, a histogram, a summary and some escapes.
fn node_exporter_body() -> (String, usize) {
    use std::fmt::Write;
    let mut b = String::new();
    let mut n = 0;
    let modes = [
        "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
    ];
    b.push_str("# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n");
    b.push_str("# TYPE node_cpu_seconds_total counter\n");
    for cpu in 0..32 {
        for m in modes {
            let _ = writeln!(
                b,
                "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{m}\"}} {}.{}",
                cpu * 1000 + 17,
                cpu + 3
            );
            n += 1;
        }
    }
    for dev in 0..40 {
        for metric in [
            "read_bytes_total",
            "written_bytes_total",
            "reads_completed_total",
            "io_time_seconds_total",
        ] {
            let _ = writeln!(b, "# HELP node_disk_{metric} Disk statistic {metric}.");
            let _ = writeln!(b, "# TYPE node_disk_{metric} counter");
            let _ = writeln!(
                b,
                "node_disk_{metric}{{device=\"nvme{dev}n1\"}} {}",
                1.5e9 + dev as f64
            );
            n += 1;
        }
    }
    for fs in 0..50 {
        let _ = writeln!(
            b,
            "node_filesystem_avail_bytes{{device=\"/dev/sd{fs}\",fstype=\"ext4\",mountpoint=\"/mnt/data \\\"{fs}\\\"\"}} 4.2e+10"
        );
        n += 1;
    }
    b.push_str("# TYPE http_request_duration_seconds histogram\n");
    for h in 0..20 {
        for le in [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
        ] {
            let _ = writeln!(
                b,
                "http_request_duration_seconds_bucket{{handler=\"/api/{h}\",le=\"{le}\"}} {h}"
            );
            n += 1;
        }
        let _ = writeln!(
            b,
            "http_request_duration_seconds_sum{{handler=\"/api/{h}\"}} 12.5"
        );
        let _ = writeln!(
            b,
            "http_request_duration_seconds_count{{handler=\"/api/{h}\"}} 1234"
        );
        n += 2;
    }
    b.push_str("# TYPE go_gc_duration_seconds summary\n");
    for q in ["0", "0.25", "0.5", "0.75", "1"] {
        let _ = writeln!(b, "go_gc_duration_seconds{{quantile=\"{q}\"}} 3.1e-05");
        n += 1;
    }
    b.push_str("node_load1 0.42\nnode_boot_time_seconds 1.7e+09\n");
    n += 2;
    (b, n)
}

fn count_samples(body: &[u8]) -> usize {
    Parser::new(body, Format::PrometheusText)
        .filter(|e| matches!(e, Ok(Entry::Series(_))))
        .count()
}

fn bench_parse(c: &mut Criterion) {
    let (body, samples) = node_exporter_body();
    let body = body.as_bytes();
    assert_eq!(count_samples(body), samples);

    let mut g = c.benchmark_group("exposition_text");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function(format!("parse_{}_bytes", body.len()), |b| {
        b.iter(|| count_samples(black_box(body)))
    });
    g.throughput(Throughput::Elements(samples as u64));
    g.bench_function(format!("parse_{samples}_samples"), |b| {
        b.iter(|| count_samples(black_box(body)))
    });
    let mut lb = LabelsBuilder::new();
    g.bench_function(format!("parse_and_build_labels_{samples}_samples"), |b| {
        b.iter(|| {
            let mut n = 0;
            for e in Parser::new(black_box(body), Format::PrometheusText).flatten() {
                if let Entry::Series(s) = e {
                    s.write_labels(&mut lb);
                    n += lb.labels().len();
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
