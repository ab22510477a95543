//! Redaction throughput over mixed log text: `cargo bench -p secops-audit --bench redact`.
//! The budget is 50 MB/s on one core for `redact_text` with every detector on.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secops_audit::redact::{CorrelationKey, Destination, Policy, Redactor};
use std::hint::black_box;

/// The labelled corpus's texts, repeated to at least 4 MiB, one record per line.
fn mixed_log_text() -> String {
    let corpus = include_str!("../tests/data/redaction-corpus.jsonl");
    let texts: Vec<String> = corpus
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|record| record.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .collect();
    let mut text = String::new();
    while text.len() < 4 << 20 {
        for t in &texts {
            text.push_str(t);
            text.push('\n');
        }
    }
    text
}

fn redaction(c: &mut Criterion) {
    let text = mixed_log_text();
    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);
    for destination in [Destination::Audit, Destination::Jira] {
        let redactor = Redactor::new(Policy::default_for(destination), CorrelationKey::new([7; 32]));
        group.bench_function(format!("redact_text/{destination}"), |b| {
            b.iter(|| redactor.redact_text(black_box(&text)).len())
        });
    }
    let redactor = Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([7; 32]));
    group.bench_function("detect", |b| b.iter(|| redactor.detect(black_box(&text)).len()));
    group.finish();
}

criterion_group!(benches, redaction);
criterion_main!(benches);
