//! The executor's benchmark workloads, shared by `benches/executor.rs` (criterion) and
//! `secops bench`: a Pass/Choice/Map-heavy definition whose items take three state transitions
//! each, and the findings machine of `template.yaml` over in-process no-op handlers. The target
//! (issue 3) is over 100,000 transitions/s on one core for the Map definition.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::local::{local_function_arn, LocalMachines};
use crate::tasks::function;
use crate::validate::ValidateOptions;
use crate::{Executor, StateMachine, TaskRegistry, VirtualClock};

/// Prepare → Map over `$.items` (Shape, Route, High or Low per item).
pub fn map_heavy_machine() -> Arc<StateMachine> {
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
    // A fixed definition the crate's tests validate: failing here is a bug in this file.
    StateMachine::from_value(&definition, &ValidateOptions::default()).expect("the benchmark definition is valid")
}

/// The Map definition's input: `items` numbers 0, 1, ….
pub fn map_heavy_input(items: usize) -> Value {
    json!({"items": (0..items).map(|i| json!(i)).collect::<Vec<_>>()})
}

/// The state transitions one run of the Map definition makes over `items` items: three per
/// item, plus Prepare and the Map state itself.
pub fn map_heavy_transitions(items: usize) -> u64 {
    (items * 3 + 2) as u64
}

/// An executor on a virtual clock with no-op `decide` (every finding "do_nothing"), `audit` and
/// `notify` handlers, and the findings machine as `template` wires it.
pub fn noop_findings_machine(template: &Path) -> Result<(Executor, Arc<StateMachine>), String> {
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
    let executor = Executor::builder().registry(registry).clock(Arc::new(VirtualClock::starting_now())).build();
    let machines = LocalMachines::load(template, &executor).map_err(|e| format!("{}: {e}", template.display()))?;
    let findings =
        machines.get("findings").ok_or_else(|| format!("{}: no findings machine", template.display()))?.machine.clone();
    Ok((executor, findings))
}

/// A Security Hub event with `findings` minimal findings.
pub fn findings_event(findings: usize) -> Value {
    let finding = json!({"Id": "f", "ProductArn": "p", "AwsAccountId": "111122223333"});
    json!({"id": "e", "time": "2026-11-21T00:00:00Z", "detail": {"findings": vec![finding; findings]}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExecutionStatus;

    #[tokio::test]
    async fn the_map_definition_makes_the_transitions_it_is_credited_with() {
        let executor = Executor::builder().clock(Arc::new(VirtualClock::starting_now())).build();
        let result = executor.run(&map_heavy_machine(), "bench", map_heavy_input(20)).await;
        assert_eq!(result.status, ExecutionStatus::Succeeded, "{}", result.summary());
        assert_eq!(result.output, Some(json!({"count": 20})));
        let entered = result.history.iter().filter(|e| e.kind.name().ends_with("StateEntered")).count() as u64;
        assert_eq!(entered, map_heavy_transitions(20));
    }
}
