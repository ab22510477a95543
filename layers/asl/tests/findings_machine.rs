//! `statemachines/findings.asl.json`, wired from `template.yaml` exactly as `secops run` wires it,
//! end to end in-process: a two-finding event where one finding's decide step fails with
//! `Transient` twice before it succeeds, and the other's fails with `Permanent` and lands in
//! ticketing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secops_asl::local::{local_function_arn, LocalMachines};
use secops_asl::tasks::function;
use secops_asl::{ExecutionStatus, Executor, HistoryEventType, TaskFailure, TaskRegistry, VirtualClock};
use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn event() -> Value {
    let text =
        std::fs::read_to_string(root().join("layers/core/tests/fixtures/events/imported-3-findings.json")).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    let findings = event["detail"]["findings"].as_array_mut().unwrap();
    findings.truncate(2);
    findings[0]["Id"] = json!("finding-retried");
    findings[1]["Id"] = json!("finding-broken");
    event
}

/// Every call each step received, by action.
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

fn recorder(
    step: &'static str,
    calls: &Calls,
    respond: fn(&str, &Value, usize) -> Result<Value, TaskFailure>,
) -> secops_asl::tasks::FunctionHandler {
    let calls = calls.clone();
    let attempts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    function(move |payload: Value| {
        let action = payload["action"].as_str().unwrap_or_default().to_string();
        calls.lock().unwrap().push((format!("{step}:{action}"), payload.clone()));
        let id = payload["finding"]["Id"]
            .as_str()
            .or_else(|| payload["scratchpad"]["finding"]["Id"].as_str())
            .unwrap_or_default()
            .to_string();
        let n = {
            let mut a = attempts.lock().unwrap();
            let n = a.entry(format!("{action}/{id}")).or_insert(0);
            *n += 1;
            *n
        };
        let answer = respond(&action, &payload, n);
        async move { answer }
    })
}

#[tokio::test]
async fn one_finding_is_retried_to_success_and_the_other_lands_in_ticketing() {
    let calls: Calls = Arc::default();
    let clock = VirtualClock::starting_now();
    let mut registry = TaskRegistry::new();
    let executor_for_arns = Executor::builder().build();
    let arn = |step: &str| local_function_arn(step, executor_for_arns.region(), executor_for_arns.account());

    registry.function(
        &arn("decide"),
        recorder("decide", &calls, |action, payload, attempt| match action {
            "decide" => match payload["finding"]["Id"].as_str() {
                Some("finding-retried") if attempt <= 2 => Err(TaskFailure::new("Transient", "database restarting")),
                Some("finding-retried") => Ok(json!({
                    "finding": payload["finding"], "decision": "suppress",
                    "actions": {"remediable": false}, "messages": {}
                })),
                _ => Err(TaskFailure::new("Permanent", "the finding names an account we do not manage")),
            },
            "suppress_finding" => Ok(payload["scratchpad"].clone()),
            other => Err(TaskFailure::new("InvalidInput", format!("unexpected action {other}"))),
        }),
    );
    registry.function(
        &arn("notify"),
        recorder("notify", &calls, |_, payload, _| {
            let mut scratchpad = payload["scratchpad"].clone();
            scratchpad["ticket"] = json!({"key": "SEC-1"});
            Ok(scratchpad)
        }),
    );
    registry.function(&arn("audit"), recorder("audit", &calls, |_, _, _| Ok(json!({"recorded": true}))));

    let executor = Executor::builder().registry(registry).clock(Arc::new(clock.clone())).jitter_seed(42).build();
    let machines = LocalMachines::load(&root().join("template.yaml"), &executor).unwrap();
    let findings = machines.get("findings").expect("the findings machine is wired in template.yaml");

    let result = executor.run(&findings.machine, &findings.name, event()).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{}", result.summary());

    // The retried finding: two Transient failures, each followed by a rescheduled task whose
    // computed delay is in the history and was slept on the virtual clock.
    let failed: Vec<_> =
        result.events(HistoryEventType::TaskFailed).into_iter().filter(|e| e.details["error"] == "Transient").collect();
    assert_eq!(failed.len(), 2);
    let retries: Vec<&Value> =
        result.history.iter().filter_map(|e| e.details.get("retry")).filter(|r| r["error"] == "Transient").collect();
    assert_eq!(retries.len(), 2, "both retries are in the history");
    assert_eq!(retries[0]["attempt"], 1);
    assert_eq!(retries[1]["attempt"], 2);
    let delays: Vec<f64> = retries.iter().map(|r| r["delaySeconds"].as_f64().unwrap()).collect();
    for d in &delays {
        assert!(*d >= 0.0);
    }
    let slept: Vec<Duration> = clock.sleeps();
    for d in &delays {
        assert!(slept.iter().any(|s| (s.as_secs_f64() - d).abs() < 1e-9), "delay {d}s was slept: {slept:?}");
    }

    let calls = calls.lock().unwrap();
    let names: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
    // Retried finding: decided (3 attempts) and suppressed, never ticketed.
    assert!(calls
        .iter()
        .any(|(n, p)| n == "decide:suppress_finding" && p["scratchpad"]["finding"]["Id"] == "finding-retried"));
    // Broken finding: Permanent is not retried, the failure is recorded, then a failure ticket.
    let broken_decides =
        calls.iter().filter(|(n, p)| n == "decide:decide" && p["finding"]["Id"] == "finding-broken").count();
    assert_eq!(broken_decides, 1, "Permanent must not be retried");
    let ticket = calls
        .iter()
        .find(|(n, p)| n == "notify:open_ticket" && p["kind"] == "failure")
        .unwrap_or_else(|| panic!("no failure ticket; calls: {names:?}"));
    assert_eq!(ticket.1["scratchpad"]["finding"]["Id"], "finding-broken");
    assert_eq!(ticket.1["scratchpad"]["error"]["Error"], "Permanent");
    assert!(calls.iter().any(|(n, p)| n == "audit:record_failure" && p["stage"] == "finding"));
    assert!(calls.iter().any(|(n, p)| n == "audit:record" && p["outcome"] == "event_processed"));
}
