//! Executor overhead: state transitions per second on a Pass/Choice/Map-heavy definition (10,000
//! Map items) with nothing else in the way. Run with `cargo bench -p secops-asl`; the figures go
//! in the closing note, not in timed assertions. Peak memory (VmHWM) is printed at the end.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secops_asl::local::{local_function_arn, LocalMachines};
use secops_asl::tasks::function;
use secops_asl::validate::ValidateOptions;
use secops_asl::{ExecutionStatus, Executor, StateMachine, TaskRegistry, VirtualClock};
use serde_json::{json, Value};

const ITEMS: usize = 10_000;

fn map_heavy() -> Arc<StateMachine> {
    let definition = json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Parameters": {"items.$": "$.items", "threshold": 5000}, "Next": "Each"},
            "Each": {
                "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "threshold.$": "$.threshold"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Shape", "States": {
                    "Shape": {"Type": "Pass", "Parameters": {"v.$": "$.value", "t.$": "$.threshold"}, "ResultPath": "$.shaped", "Next": "Route"},
                    "Route": {"Type": "Choice", "Choices": [
                        {"And": [{"Variable": "$.shaped.v", "IsNumeric": true}, {"Variable": "$.shaped.v", "NumericGreaterThanPath": "$.shaped.t"}], "Next": "High"}
                    ], "Default": "Low"},
                    "High": {"Type": "Pass", "Result": "high", "ResultPath": "$.band", "End": true},
                    "Low": {"Type": "Pass", "Result": "low", "ResultPath": "$.band", "End": true}
                }},
                "ResultSelector": {"count.$": "States.ArrayLength($)"},
                "End": true
            }
        }
    });
    StateMachine::from_value(&definition, &ValidateOptions::default()).expect("the benchmark definition is valid")
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let machine = map_heavy();
    let executor = Executor::builder().clock(Arc::new(VirtualClock::starting_now())).build();
    let items: Vec<Value> = (0..ITEMS).map(|i| json!(i)).collect();
    let input = json!({"items": items});
    // Per item: Shape, Route, High/Low; plus Prepare and the Map state itself.
    let transitions = (ITEMS * 3 + 2) as u64;

    let check = runtime.block_on(executor.run(&machine, "bench", input.clone()));
    assert_eq!(check.status, ExecutionStatus::Succeeded, "{:?}", check.summary());
    assert_eq!(check.output, Some(json!({"count": ITEMS})));

    let mut group = c.benchmark_group("executor");
    group.sample_size(10);
    group.throughput(Throughput::Elements(transitions));
    group.bench_function("map_10000_pass_choice (elements = state transitions)", |b| {
        b.iter(|| runtime.block_on(executor.run(&machine, "bench", input.clone())))
    });
    group.finish();

    // The findings machine from template.yaml with no-op handlers: every finding decided
    // "do_nothing", recorded, and the event recorded.
    let findings_executor = {
        let probe = Executor::builder().build();
        let arn = |step: &str| local_function_arn(step, probe.region(), probe.account());
        let mut registry = TaskRegistry::new();
        registry.function(
            &arn("decide"),
            function(|payload: Value| async move {
                Ok(json!({"finding": payload["finding"], "decision": "do_nothing", "actions": {}, "messages": {}}))
            }),
        );
        registry.function(&arn("audit"), function(|_| async { Ok(json!({"recorded": true})) }));
        registry.function(&arn("notify"), function(|p: Value| async move { Ok(p["scratchpad"].clone()) }));
        Executor::builder().registry(registry).clock(Arc::new(VirtualClock::starting_now())).build()
    };
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let machines = LocalMachines::load(&template, &findings_executor).expect("template.yaml wires the machines");
    let findings = machines.get("findings").expect("findings machine").machine.clone();
    let finding = json!({"Id": "f", "ProductArn": "p", "AwsAccountId": "111122223333"});
    let event = json!({"id": "e", "time": "2026-11-21T00:00:00Z", "detail": {"findings": vec![finding; 100]}});
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
