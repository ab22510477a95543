//! The one error type every step returns, with the stable names the state machines match on.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The class of a step failure. Its `name()` is the Lambda `errorType` and the ASL
/// `ErrorEquals` value, so these names are a contract with `statemachines/*.asl.json`:
/// never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorClass {
    /// A temporary failure (network, 5xx, timeout); retrying the same input may succeed.
    Transient,
    /// A rate limit was hit; retry later with backoff.
    Throttled,
    /// The input is wrong; retrying the same input can never succeed.
    InvalidInput,
    /// The target changed underneath us (optimistic lock lost, duplicate); re-read and decide again.
    Conflict,
    /// A failure that will not go away by itself (missing permission, missing resource).
    Permanent,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 5] = [
        ErrorClass::Transient,
        ErrorClass::Throttled,
        ErrorClass::InvalidInput,
        ErrorClass::Conflict,
        ErrorClass::Permanent,
    ];

    /// The stable name used as Lambda `errorType` and in ASL `ErrorEquals`.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorClass::Transient => "Transient",
            ErrorClass::Throttled => "Throttled",
            ErrorClass::InvalidInput => "InvalidInput",
            ErrorClass::Conflict => "Conflict",
            ErrorClass::Permanent => "Permanent",
        }
    }

    /// Whether the state machines retry this class (DESIGN §5: never `InvalidInput` or `Permanent`).
    pub const fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Transient | ErrorClass::Throttled)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed step: its class plus a message that says what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {message}")]
pub struct StepError {
    pub class: ErrorClass,
    pub message: String,
}

impl StepError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self { class, message: message.into() }
    }
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Transient, message)
    }
    pub fn throttled(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Throttled, message)
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::InvalidInput, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Conflict, message)
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Permanent, message)
    }

    /// The answer of a step whose capability is not built yet: it must never pretend success.
    pub fn not_built_yet(step: &str, capability: &str) -> Self {
        Self::invalid_input(format!(
            "step '{step}' cannot process events yet: {capability} is not built in this release"
        ))
    }

    /// The Lambda `errorType` / ASL error name.
    pub fn name(&self) -> &'static str {
        self.class.name()
    }

    /// Prefix the message with where the error happened, keeping the class.
    pub fn context(mut self, place: impl fmt::Display) -> Self {
        self.message = format!("{place}: {}", self.message);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_asl_contract() {
        let names: Vec<_> = ErrorClass::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["Transient", "Throttled", "InvalidInput", "Conflict", "Permanent"]);
        for c in ErrorClass::ALL {
            assert_eq!(ErrorClass::from_name(c.name()), Some(c));
        }
        assert_eq!(ErrorClass::from_name("States.ALL"), None);
    }

    #[test]
    fn only_transient_and_throttled_retry() {
        let retryable: Vec<_> = ErrorClass::ALL.into_iter().filter(|c| c.is_retryable()).collect();
        assert_eq!(retryable, [ErrorClass::Transient, ErrorClass::Throttled]);
    }

    #[test]
    fn not_built_yet_is_invalid_input_and_says_what() {
        let e = StepError::not_built_yet("collect", "inventory collection");
        assert_eq!(e.name(), "InvalidInput");
        assert!(e.message.contains("collect") && e.message.contains("inventory collection"));
    }

    #[test]
    fn context_keeps_class() {
        let e = StepError::throttled("rate exceeded").context("securityhub:BatchUpdateFindings");
        assert_eq!(e.class, ErrorClass::Throttled);
        assert_eq!(e.to_string(), "Throttled: securityhub:BatchUpdateFindings: rate exceeded");
    }
}
