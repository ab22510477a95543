//! Small JSON helpers shared by every parser that reports what it got.

use serde_json::Value;

use crate::StepError;

/// A step action's input as `T`, or `InvalidInput` naming the action and the JSON path of the
/// first bad field (`decide: input.finding.Id: invalid type …`).
pub fn step_input<T: serde::de::DeserializeOwned>(input: &Value, action: &str) -> Result<T, StepError> {
    serde_path_to_error::deserialize(input)
        .map_err(|e| StepError::invalid_input(format!("{action}: input.{}: {}", e.path(), e.inner())))
}

/// "a string", "an object", ...: what a value is, for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What a failure says, for people: a Step Functions error object's `Cause`, else its `Error`
/// (either case), else its `message`, else the JSON itself; a string is its own reason.
pub fn error_reason(error: &Value) -> String {
    match error {
        Value::String(s) => s.clone(),
        v => ["Cause", "cause", "Error", "error", "message"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string()),
    }
}
