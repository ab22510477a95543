//! Errors that say what was wrong and where: every problem carries the JSON path
//! (`Resources[2].Id`, `detail.findings[3].AwsAccountId`) and a message.

use crate::error::{ErrorClass, StepError};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// One thing wrong with a finding or event, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsffProblem {
    /// JSON path from the document root: `Severity.Label`, `Resources[2].Id`; empty for the root.
    pub path: String,
    pub message: String,
}

impl AsffProblem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }

    /// The same problem seen from a containing document, e.g. under `detail.findings[3]`.
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }
}

impl fmt::Display for AsffProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a finding, an event or a scratchpad was refused. Always `ErrorClass::InvalidInput`:
/// the same input can never succeed on retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsffError {
    /// Not JSON at all (truncated, trailing garbage, bad escape).
    #[error("not valid JSON at line {line} column {column}: {message}")]
    Syntax { message: String, line: usize, column: usize },
    /// JSON, but a field has the wrong type or value (found while deserializing).
    #[error("{problem}")]
    Shape { problem: AsffProblem },
    /// Well-formed, but breaks AWS's constraints on findings (found by `validate`).
    #[error("{}", list_problems(.problems))]
    Invalid { problems: Vec<AsffProblem> },
    /// An EventBridge event that is not a Security Hub findings event, or carries no finding.
    #[error("not a Security Hub findings event: {problem}")]
    WrongEvent { problem: AsffProblem },
}

fn list_problems(problems: &[AsffProblem]) -> String {
    match problems {
        [] => "invalid finding".to_owned(),
        [one] => one.to_string(),
        many => {
            let all: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("{} problems: {}", many.len(), all.join("; "))
        }
    }
}

impl AsffError {
    /// The step error class: always `InvalidInput` (never retried).
    pub fn class(&self) -> ErrorClass {
        ErrorClass::InvalidInput
    }

    /// Every problem, with its path (a syntax error has an empty path).
    pub fn problems(&self) -> Vec<AsffProblem> {
        match self {
            AsffError::Syntax { message, line, column } => {
                vec![AsffProblem::new("", format!("not valid JSON at line {line} column {column}: {message}"))]
            }
            AsffError::Shape { problem } | AsffError::WrongEvent { problem } => vec![problem.clone()],
            AsffError::Invalid { problems } => problems.clone(),
        }
    }

    /// The path of the first problem (empty for the root or a syntax error).
    pub fn path(&self) -> &str {
        match self {
            AsffError::Syntax { .. } => "",
            AsffError::Shape { problem } | AsffError::WrongEvent { problem } => &problem.path,
            AsffError::Invalid { problems } => problems.first().map_or("", |p| p.path.as_str()),
        }
    }

    /// The same error seen from a containing document (paths prefixed).
    pub fn under(self, prefix: &str) -> Self {
        match self {
            AsffError::Syntax { .. } => self,
            AsffError::Shape { problem } => AsffError::Shape { problem: problem.under(prefix) },
            AsffError::WrongEvent { problem } => AsffError::WrongEvent { problem: problem.under(prefix) },
            AsffError::Invalid { problems } => {
                AsffError::Invalid { problems: problems.into_iter().map(|p| p.under(prefix)).collect() }
            }
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        AsffError::Invalid { problems: vec![AsffProblem::new(path, message)] }
    }
}

impl From<AsffError> for StepError {
    fn from(e: AsffError) -> Self {
        StepError::new(e.class(), e.to_string())
    }
}

/// `a` + `b` as a JSON path: `Resources[2]` + `Id` → `Resources[2].Id`; `x` + `[3]` → `x[3]`.
pub(crate) fn join_path(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_owned()
    } else if rest.is_empty() {
        prefix.to_owned()
    } else if rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        let part = match segment {
            Segment::Seq { index } => format!("[{index}]"),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => "?".to_owned(),
        };
        out = join_path(&out, &part);
    }
    out
}

/// serde_json appends ` at line L column C` to messages of errors read from text; the position
/// is reported separately, so take it off.
fn bare_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).map(str::to_owned).unwrap_or(full)
}

fn from_path_error(e: serde_path_to_error::Error<serde_json::Error>) -> AsffError {
    let path = path_string(e.path());
    let inner = e.into_inner();
    let message = bare_message(&inner);
    if !inner.is_data() {
        return AsffError::Syntax { message, line: inner.line(), column: inner.column() };
    }
    // serde reports a missing field at the object that lacks it; name the field itself.
    if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        return AsffError::Shape { problem: AsffProblem::new(join_path(&path, field), "required field is missing") };
    }
    AsffError::Shape { problem: AsffProblem::new(path, message) }
}

/// Deserializes JSON text, naming the JSON path of any error. Trailing content is a syntax error.
pub(crate) fn from_str_with_path<'de, T: Deserialize<'de>>(json: &'de str) -> Result<T, AsffError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut de).map_err(from_path_error)?;
    de.end().map_err(|e| AsffError::Syntax { message: bare_message(&e), line: e.line(), column: e.column() })?;
    Ok(value)
}

/// Deserializes an already parsed JSON value, naming the JSON path of any error.
pub(crate) fn from_value_with_path<'de, T: Deserialize<'de>>(value: &'de Value) -> Result<T, AsffError> {
    serde_path_to_error::deserialize(value).map_err(from_path_error)
}

/// Parses JSON text into a `Value`, mapping a syntax error.
pub(crate) fn value_from_str(json: &str) -> Result<Value, AsffError> {
    serde_json::from_str(json).map_err(|e| {
        if e.is_data() {
            AsffError::Shape { problem: AsffProblem::new("", bare_message(&e)) }
        } else {
            AsffError::Syntax { message: bare_message(&e), line: e.line(), column: e.column() }
        }
    })
}

/// A value echoed in a message: quoted, and cut short so a hostile 1 MB string stays out of logs.
pub(crate) fn quoted(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_json_paths() {
        assert_eq!(join_path("", "Id"), "Id");
        assert_eq!(join_path("Resources[2]", "Id"), "Resources[2].Id");
        assert_eq!(join_path("detail.findings", "[3]"), "detail.findings[3]");
        assert_eq!(join_path("detail.findings[3]", ""), "detail.findings[3]");
    }

    #[test]
    fn several_problems_are_all_listed() {
        let e = AsffError::Invalid { problems: vec![AsffProblem::new("Id", "a"), AsffProblem::new("", "b")] };
        assert_eq!(e.to_string(), "2 problems: Id: a; b");
        assert_eq!(e.clone().under("x[1]").to_string(), "2 problems: x[1].Id: a; x[1]: b");
        let step: StepError = e.into();
        assert_eq!(step.class, ErrorClass::InvalidInput);
    }

    #[test]
    fn long_values_are_cut_short_in_messages() {
        assert_eq!(quoted("abc"), "\"abc\"");
        let long = "x".repeat(1000);
        assert!(quoted(&long).chars().count() < 90);
    }
}
