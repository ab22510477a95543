//! The audit chain's budgets: verify ≥ 1,000,000 events/min from a JSONL export on one core
//! (and within 3× of raw HMAC-SHA256 + SHA-256 over the same bytes), append ≥ 5,000 events/s
//! into PostgreSQL with 8 concurrent writers. Run with `cargo bench -p secops-audit --bench chain`;
//! figures go in the closing note, never in timed assertions.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit};
use secops_audit::ops::verify_export;
use secops_audit::{bench, AuditSink, Keyring, PgAuditLog};
use sha2::Sha256;
use std::time::{Duration, Instant};

const EVENTS: usize = 100_000;

fn export(rt: &tokio::runtime::Runtime, ring: &Keyring) -> Vec<u8> {
    rt.block_on(bench::export(ring, EVENTS)).unwrap()
}

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (ring, _) = Keyring::generate("bench").unwrap();
    let jsonl = export(&rt, &ring);
    let mut group = c.benchmark_group("verify");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function(BenchmarkId::new("jsonl_export", EVENTS), |b| {
        b.iter(|| {
            let report = rt.block_on(verify_export(&mut jsonl.as_slice(), "bench", &ring, None)).unwrap();
            assert!(report.ok);
        })
    });
    // The floor: SHA-256 of every line plus HMAC-SHA256 of every line, with nothing else.
    let lines: Vec<&[u8]> = jsonl.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
    group.bench_function(BenchmarkId::new("raw_sha256_plus_hmac_of_the_same_lines", EVENTS), |b| {
        b.iter(|| bench::raw_hash_and_mac(&lines, &mac))
    });
    group.finish();
    eprintln!(
        "verify input: {EVENTS} events, {} bytes of JSONL ({} bytes per event)",
        jsonl.len(),
        jsonl.len() / EVENTS
    );
}

fn append(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let db = rt.block_on(secops_store::testing::TestDb::new());
    let (ring, _) = Keyring::generate("bench").unwrap();
    const WRITERS: usize = 8;
    const BATCH: usize = 250;
    const BATCHES_PER_WRITER: usize = 5;
    let logs: Vec<_> = (0..WRITERS)
        .map(|_| {
            let pool = rt.block_on(secops_store::db::connect_pool(&db.url, 1)).unwrap();
            std::sync::Arc::new(PgAuditLog::new(pool, "bench", ring.clone(), bench::redactor()))
        })
        .collect();
    let mut group = c.benchmark_group("append");
    group.sample_size(10);
    group.throughput(Throughput::Elements((WRITERS * BATCH * BATCHES_PER_WRITER) as u64));
    group.bench_function(BenchmarkId::new("postgres_8_writers_batches_of", BATCH), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                rt.block_on(async {
                    let tasks: Vec<_> = logs
                        .iter()
                        .cloned()
                        .map(|log| {
                            tokio::spawn(async move {
                                for _ in 0..BATCHES_PER_WRITER {
                                    log.append((0..BATCH).map(bench::event).collect()).await.unwrap();
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
    let report = rt.block_on(secops_audit::ops::verify_table(&logs[0], None)).unwrap();
    assert!(report.ok, "after the benchmark the chain is still linear: {report:?}");
    eprintln!("append: chain of {} events verified intact after the benchmark", report.events);
}

criterion_group!(benches, verify, append);
criterion_main!(benches);
