//! Reject what AWS would reject, before anything runs, with the location of every problem.
//! (Being written; the signatures below are the contract.)

use serde_json::Value;

use crate::error::Diagnostic;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MachineType {
    #[default]
    Standard,
    Express,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    pub machine_type: MachineType,
}

/// Every problem in a parsed definition; empty when it is valid.
pub fn validate(definition: &Value, options: &ValidateOptions) -> Vec<Diagnostic> {
    let _ = options;
    let mut out = Vec::new();
    match definition.as_object() {
        None => out.push(Diagnostic::schema("", "Definition must be a valid JSON object")),
        Some(map) => {
            for field in ["States", "StartAt"] {
                if !map.contains_key(field) {
                    out.push(Diagnostic::schema("/", format!("These fields are required: [{field}]")));
                }
            }
        }
    }
    out
}

/// Parse and validate definition text (JSON syntax errors are `INVALID_JSON_DESCRIPTION`).
pub fn validate_text(text: &str, options: &ValidateOptions) -> Result<Value, Vec<Diagnostic>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![Diagnostic {
            code: "INVALID_JSON_DESCRIPTION",
            location: format!("line {}, column {}", e.line(), e.column()),
            message: e.to_string(),
        }]
    })?;
    let problems = validate(&value, options);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}
