//! Recorded task results standing in for real services: `secops asl run --task-stubs FILE` and the
//! recorded cases with Task states. A stub answers a Task by state name and parameters (matched
//! with `<placeholder>` wildcards, because Map and Parallel interleave calls), in the format of
//! the conformance cases' `task_stubs`:
//!
//! ```json
//! [{"state": "Invoke", "parameters": {"FunctionName": "f"},
//!   "result": {"status": "SUCCEEDED", "output": {"Payload": 1}}},
//!  {"state": "Invoke", "result": {"status": "FAILED", "error": "Transient", "cause": "try again"}}]
//! ```

use std::sync::Mutex;

use serde_json::Value;

use crate::tasks::{BoxFuture, CallbackHub, TaskFailure, TaskHandler, TaskInvocation};

#[derive(Debug, Clone)]
struct Stub {
    state: String,
    parameters: Option<Value>,
    result: Result<Value, TaskFailure>,
}

/// Answers tasks from a list of recorded results, each used once (the last one for a state is
/// reused when a state runs more often than it was recorded).
#[derive(Debug)]
pub struct TaskStubs {
    stubs: Mutex<Vec<(Stub, bool)>>,
}

impl TaskStubs {
    /// Parse a stub list; errors name the index and the field.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let list = value.as_array().ok_or("task stubs must be a JSON array")?;
        let mut stubs = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let state = item["state"].as_str().ok_or_else(|| format!("task stub [{i}]: 'state' must be a string"))?;
            let result = &item["result"];
            let result = match result["status"].as_str() {
                Some("SUCCEEDED") => Ok(result.get("output").cloned().unwrap_or(Value::Null)),
                Some("FAILED") => Err(TaskFailure {
                    error: result["error"].as_str().unwrap_or("States.TaskFailed").to_string(),
                    cause: match &result["cause"] {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    },
                }),
                _ => return Err(format!("task stub [{i}]: 'result.status' must be SUCCEEDED or FAILED")),
            };
            stubs.push((Stub { state: state.to_string(), parameters: item.get("parameters").cloned(), result }, false));
        }
        Ok(Self { stubs: Mutex::new(stubs) })
    }

    fn take(&self, state: &str, parameters: &Value) -> Option<Result<Value, TaskFailure>> {
        let mut stubs = self.stubs.lock().unwrap_or_else(|e| e.into_inner());
        let exact = stubs.iter().position(|(s, used)| {
            !used && s.state == state && s.parameters.as_ref().is_none_or(|p| loosely_equal(p, parameters))
        });
        let any_unused = || stubs.iter().position(|(s, used)| !used && s.state == state);
        if let Some(i) = exact.or_else(any_unused) {
            stubs[i].1 = true;
            return Some(stubs[i].0.result.clone());
        }
        stubs.iter().rev().find(|(s, _)| s.state == state).map(|(s, _)| s.result.clone())
    }
}

impl TaskHandler for TaskStubs {
    fn invoke(&self, call: TaskInvocation, callbacks: CallbackHub) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let answer = self.take(&call.state_name, &call.input).unwrap_or_else(|| {
            Err(TaskFailure::new(
                crate::error::names::RUNTIME,
                format!("no task stub is recorded for the state '{}'", call.state_name),
            ))
        });
        // A stubbed `.waitForTaskToken` task answers its own token, as the worker would.
        if let Some(token) = &call.task_token {
            let _ = match &answer {
                Ok(v) => callbacks.succeed(token, v.clone()),
                Err(f) => callbacks.fail(token, Some(f.error.clone()), f.cause.clone()),
            };
        }
        Box::pin(async move { answer })
    }
}

/// Equality where a recorded `<placeholder>` string matches anything.
fn loosely_equal(recorded: &Value, actual: &Value) -> bool {
    match (recorded, actual) {
        (Value::String(r), _) if r.contains('<') && r.contains('>') => true,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| loosely_equal(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| loosely_equal(v, w)))
        }
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stubs_match_by_state_and_parameters_then_by_state() {
        let stubs = TaskStubs::from_value(&json!([
            {"state": "S", "parameters": {"n": 1}, "result": {"status": "SUCCEEDED", "output": "one"}},
            {"state": "S", "parameters": {"n": 2, "id": "<uuid:1>"}, "result": {"status": "SUCCEEDED", "output": "two"}},
            {"state": "T", "result": {"status": "FAILED", "error": "Transient", "cause": {"why": "x"}}}
        ]))
        .unwrap();
        assert_eq!(stubs.take("S", &json!({"n": 2, "id": "abc"})), Some(Ok(json!("two"))));
        assert_eq!(stubs.take("S", &json!({"n": 1})), Some(Ok(json!("one"))));
        assert_eq!(stubs.take("S", &json!({"n": 1})), Some(Ok(json!("two"))), "the last one is reused");
        let failed = stubs.take("T", &json!({})).unwrap().unwrap_err();
        assert_eq!((failed.error.as_str(), failed.cause.as_deref()), ("Transient", Some("{\"why\":\"x\"}")));
        assert_eq!(stubs.take("U", &json!({})), None);
        assert!(TaskStubs::from_value(&json!([{"state": 1}])).unwrap_err().contains("[0]"));
    }
}
