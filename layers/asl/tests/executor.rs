//! The executor's own tests: they need nothing but this crate (no recorded cases, no network).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secops_asl::tasks::{function, TaskHandler};
use secops_asl::validate::ValidateOptions;
use secops_asl::{
    CallbackHub, ExecutionStatus, Executor, HistoryEventType, StateMachine, TaskFailure, TaskInvocation, TaskRegistry,
    VirtualClock,
};
use serde_json::{json, Value};

fn machine(definition: Value) -> Arc<StateMachine> {
    StateMachine::from_value(&definition, &ValidateOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

const FN: &str = "arn:aws:lambda:us-east-1:000000000000:function:work";

#[tokio::test]
async fn retries_back_off_on_the_virtual_clock_and_the_history_shows_the_delays() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let mut registry = TaskRegistry::new();
    registry.function(
        FN,
        function(move |input| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Err(TaskFailure::new("Transient", format!("attempt {n} failed")))
                } else {
                    Ok(json!({"echo": input}))
                }
            }
        }),
    );
    let clock = VirtualClock::starting_now();
    let executor = Executor::builder().registry(registry).clock(Arc::new(clock.clone())).build();
    let m = machine(json!({
        "StartAt": "Work",
        "States": {"Work": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": FN, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 3, "BackoffRate": 2.0, "MaxAttempts": 5, "MaxDelaySeconds": 10}],
            "End": true
        }}
    }));
    let real = std::time::Instant::now();
    let result = executor.run(&m, "retry", json!({"x": 1})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?}", result.summary());
    assert_eq!(result.output, Some(json!({"echo": {"x": 1}})));
    assert!(real.elapsed() < Duration::from_secs(5), "virtual waits must not take real time");
    // 3 s, 6 s, then 12 s capped by MaxDelaySeconds at 10 s.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(3), Duration::from_secs(6), Duration::from_secs(10)]);
    let scheduled = result.events(HistoryEventType::TaskScheduled);
    assert_eq!(scheduled.len(), 4);
    let delays: Vec<f64> =
        scheduled[1..].iter().map(|e| e.details["retry"]["delaySeconds"].as_f64().unwrap()).collect();
    assert_eq!(delays, vec![3.0, 6.0, 10.0]);
    assert_eq!(result.events(HistoryEventType::TaskFailed).len(), 3);
}

#[tokio::test]
async fn full_jitter_stays_under_the_capped_delay() {
    let mut registry = TaskRegistry::new();
    registry.function(FN, function(|_| async { Err::<Value, _>(TaskFailure::new("Throttled", "slow down")) }));
    let clock = VirtualClock::starting_now();
    let executor = Executor::builder().registry(registry).clock(Arc::new(clock.clone())).jitter_seed(7).build();
    let m = machine(json!({
        "StartAt": "Work",
        "States": {"Work": {
            "Type": "Task", "Resource": FN,
            "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 4, "MaxDelaySeconds": 20, "JitterStrategy": "FULL"}],
            "End": true
        }}
    }));
    let result = executor.run(&m, "jitter", json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("Throttled"));
    let caps = [2.0, 6.0, 18.0, 20.0];
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 4);
    for (sleep, cap) in sleeps.iter().zip(caps) {
        assert!(sleep.as_secs_f64() <= cap, "{sleep:?} > {cap}");
    }
    assert!(sleeps.iter().any(|s| s.as_secs_f64() > 0.0));
}

#[tokio::test]
async fn non_retryable_errors_go_straight_to_the_catch_with_the_input_kept() {
    let mut registry = TaskRegistry::new();
    registry.function(FN, function(|_| async { Err::<Value, _>(TaskFailure::new("Permanent", "bad finding")) }));
    let executor = Executor::builder().registry(registry).clock(Arc::new(VirtualClock::starting_now())).build();
    let m = machine(json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task", "Resource": FN,
                "Retry": [{"ErrorEquals": ["Transient"], "MaxAttempts": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Ticket"}],
                "End": true
            },
            "Ticket": {"Type": "Pass", "Result": "ticketed", "ResultPath": "$.route", "End": true}
        }
    }));
    let result = executor.run(&m, "catch", json!({"finding": "f-1"})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded);
    let out = result.output.clone().unwrap();
    assert_eq!(out["finding"], "f-1");
    assert_eq!(out["route"], "ticketed");
    assert_eq!(out["error"]["Error"], "Permanent");
    assert_eq!(result.events(HistoryEventType::LambdaFunctionScheduled).len(), 1, "Permanent is never retried");
}

#[tokio::test]
async fn a_map_of_25_never_has_more_than_10_in_flight() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (now, max) = (in_flight.clone(), peak.clone());
    let mut registry = TaskRegistry::new();
    registry.function(
        FN,
        function(move |input| {
            let (now, max) = (now.clone(), max.clone());
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(input)
            }
        }),
    );
    let executor = Executor::builder().registry(registry).build();
    let m = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map", "MaxConcurrency": 10, "ItemsPath": "$.items",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": FN, "End": true}}},
            "End": true
        }}
    }));
    let items: Vec<Value> = (0..25).map(|i| json!(i)).collect();
    let result = executor.run(&m, "bounded", json!({"items": items})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded);
    assert_eq!(result.output, Some(Value::Array(items)));
    assert_eq!(peak.load(Ordering::SeqCst), 10, "the bound must be reached and never passed");
    assert_eq!(result.events(HistoryEventType::MapIterationSucceeded).len(), 25);
}

#[tokio::test]
async fn a_task_that_outlives_its_timeout_fails_with_states_timeout() {
    let mut registry = TaskRegistry::new();
    registry.function(
        FN,
        function(|_| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(json!({}))
        }),
    );
    let executor = Executor::builder().registry(registry).build();
    let m = machine(json!({
        "StartAt": "Slow",
        "States": {"Slow": {"Type": "Task", "Resource": FN, "TimeoutSeconds": 1, "End": true}}
    }));
    let result = executor.run(&m, "timeout", json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Timeout"));
    assert_eq!(result.events(HistoryEventType::LambdaFunctionTimedOut).len(), 1);
}

/// Starts nothing; the test answers the token itself, as the analyst would over the loopback API.
struct Delegate;

impl TaskHandler for Delegate {
    fn invoke(
        &self,
        call: TaskInvocation,
        callbacks: CallbackHub,
    ) -> secops_asl::tasks::BoxFuture<'static, Result<Value, TaskFailure>> {
        Box::pin(async move {
            let token = call.input["Token"].as_str().unwrap().to_string();
            assert_eq!(call.task_token.as_deref(), Some(token.as_str()));
            callbacks.heartbeat(&token).unwrap();
            callbacks.succeed(&token, json!({"analysed": call.input["Finding"]})).unwrap();
            Ok(json!({}))
        })
    }
}

#[tokio::test]
async fn wait_for_task_token_takes_the_callback_as_the_result() {
    let mut registry = TaskRegistry::new();
    registry.integration("arn:aws:states:::ecs:runTask.waitForTaskToken", Arc::new(Delegate));
    let executor = Executor::builder().registry(registry).build();
    let m = machine(json!({
        "StartAt": "Analyse",
        "States": {"Analyse": {
            "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
            "Parameters": {"Token.$": "$$.Task.Token", "Finding.$": "$.id"},
            "HeartbeatSeconds": 30, "TimeoutSeconds": 60,
            "End": true
        }}
    }));
    let result = executor.run(&m, "callback", json!({"id": "f-9"})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?}", result.summary());
    assert_eq!(result.output, Some(json!({"analysed": "f-9"})));
    assert_eq!(executor.callbacks().waiting(), 0, "answered tokens are forgotten");
}

#[tokio::test]
async fn nested_sync_executions_return_the_child_output_and_keep_its_history() {
    let executor = Executor::builder().clock(Arc::new(VirtualClock::starting_now())).build();
    let child = machine(json!({
        "StartAt": "Double",
        "States": {"Double": {"Type": "Pass", "Parameters": {"value.$": "$.value", "doubled": true}, "End": true}}
    }));
    let arn = executor.state_machine_arn("child");
    executor.register_machine(&arn, "child", child);
    let parent = machine(json!({
        "StartAt": "Start child",
        "States": {"Start child": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": arn, "Input": {"value.$": "$.n"}},
            "OutputPath": "$.Output",
            "End": true
        }}
    }));
    let result = executor.run(&parent, "parent", json!({"n": 21})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?}", result.summary());
    assert_eq!(result.output, Some(json!({"value": 21, "doubled": true})));
    assert_eq!(result.children.len(), 1);
    assert_eq!(result.children[0].status, ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn parallel_branches_see_outer_variables_and_fail_as_one() {
    let executor = Executor::builder().clock(Arc::new(VirtualClock::starting_now())).build();
    let m = machine(json!({
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"team": "secops"}, "Next": "Both"},
            "Both": {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"who.$": "$team"}, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 3600, "End": true}}}
            ], "End": true}
        }
    }));
    let result = executor.run(&m, "parallel", json!({"k": 1})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded);
    assert_eq!(result.output, Some(json!([{"who": "secops"}, {"k": 1}])));

    let failing = machine(json!({
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "Permanent", "Cause": "branch B"}}}
        ], "Catch": [{"ErrorEquals": ["Permanent"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}
    }));
    let result = executor.run(&failing, "parallel-fail", json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded);
    assert_eq!(result.output, Some(json!({"Error": "Permanent", "Cause": "branch B"})));
}

#[tokio::test]
async fn a_machine_timeout_stops_a_long_wait_without_real_waiting() {
    let executor = Executor::builder().clock(Arc::new(VirtualClock::starting_now())).build();
    let m = machine(json!({
        "StartAt": "Nap", "TimeoutSeconds": 60,
        "States": {"Nap": {"Type": "Wait", "Seconds": 86400, "End": true}}
    }));
    let result = executor.run(&m, "nap", json!({})).await;
    assert_eq!(result.status, ExecutionStatus::TimedOut);
    assert_eq!(result.events(HistoryEventType::ExecutionTimedOut).len(), 1);
}

#[tokio::test]
async fn runtime_errors_name_the_state_and_the_event_and_are_never_caught() {
    let executor = Executor::builder().build();
    let m = machine(json!({
        "StartAt": "Read",
        "States": {"Read": {
            "Type": "Pass", "InputPath": "$.missing",
            "End": true
        }}
    }));
    let result = executor.run(&m, "runtime", json!({"present": 1})).await;
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        result.cause.as_deref(),
        Some("An error occurred while executing the state 'Read' (entered at the event id #2). Invalid path '$.missing' : No results for path: $['missing']")
    );
}

#[test]
fn definitions_with_broken_transitions_are_refused_with_the_state_named() {
    let err = StateMachine::from_value(
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}),
        &ValidateOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/States/A"), "{err}");
}
