//! Executor overhead: state transitions per second on a Pass/Choice/Map-heavy definition (10,000
//! Map items) with nothing else in the way. Run with `cargo bench -p secops-asl`; the figures go
//! in the closing note, not in timed assertions. Peak memory (VmHWM) is printed at the end.
//! The workloads live in `secops_asl::bench`, which `secops bench` runs too.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secops_asl::bench::{
    findings_event, map_heavy_input, map_heavy_machine, map_heavy_transitions, noop_findings_machine,
};
use secops_asl::{ExecutionStatus, Executor, VirtualClock};
use serde_json::json;
use std::sync::Arc;

const ITEMS: usize = 10_000;

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let machine = map_heavy_machine();
    let executor = Executor::builder().clock(Arc::new(VirtualClock::starting_now())).build();
    let input = map_heavy_input(ITEMS);

    let check = runtime.block_on(executor.run(&machine, "bench", input.clone()));
    assert_eq!(check.status, ExecutionStatus::Succeeded, "{:?}", check.summary());
    assert_eq!(check.output, Some(json!({"count": ITEMS})));

    let mut group = c.benchmark_group("executor");
    group.sample_size(10);
    group.throughput(Throughput::Elements(map_heavy_transitions(ITEMS)));
    group.bench_function("map_10000_pass_choice (elements = state transitions)", |b| {
        b.iter(|| runtime.block_on(executor.run(&machine, "bench", input.clone())))
    });
    group.finish();

    // The findings machine from template.yaml with no-op handlers: every finding decided
    // "do_nothing", recorded, and the event recorded.
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let (findings_executor, findings) = noop_findings_machine(&template).expect("template.yaml wires the machines");
    let event = findings_event(100);
    let check = runtime.block_on(findings_executor.run(&findings, "findings", event.clone()));
    assert_eq!(check.status, ExecutionStatus::Succeeded, "{}", check.summary());
    let transitions = check.history.iter().filter(|e| e.kind.name().ends_with("StateEntered")).count() as u64;
    let mut group = c.benchmark_group("findings_machine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(transitions));
    group.bench_function("100_findings_noop_handlers (elements = state transitions)", |b| {
        b.iter(|| runtime.block_on(findings_executor.run(&findings, "findings", event.clone())))
    });
    group.finish();
    println!("findings machine: {transitions} state transitions per 100-finding event");
    if let Some(kib) = peak_memory_kib() {
        println!("peak resident memory (VmHWM): {:.1} MiB", kib as f64 / 1024.0);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
