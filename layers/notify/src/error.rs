//! What can go wrong while delivering output, each with the error class the state machines and
//! the circuit breaker act on.

use std::time::Duration;

use secops_core::{ErrorClass, StepError};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The message or the configuration is malformed; the text says what and where.
    #[error("{0}")]
    InvalidInput(String),
    /// A destination answered with an error that retrying cannot fix (401, 403, 404, a Jira
    /// field it rejects); the message names the destination, the call and its answer.
    #[error("{0}")]
    Permanent(String),
    /// A destination is down, timed out or answered 5xx; try again later.
    #[error("{0}")]
    Transient(String),
    /// A destination said slow down (429, Slack `ratelimited`); `retry_after` is its hint.
    #[error("{message}")]
    Throttled { message: String, retry_after: Option<Duration> },
    /// The destination's circuit breaker is open: nothing was sent, the message stays queued.
    #[error("{destination}: circuit breaker open until {until}")]
    BreakerOpen { destination: String, until: String },
    /// The outbox or the breaker's row could not be read or written.
    #[error("notify store: {message}")]
    Store { class: ErrorClass, message: String },
    /// A local file (the file adapters, an input file) could not be read or written.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl NotifyError {
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        NotifyError::Io { path: path.to_string(), source }
    }

    pub fn throttled(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        NotifyError::Throttled { message: message.into(), retry_after }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            NotifyError::InvalidInput(_) => ErrorClass::InvalidInput,
            NotifyError::Permanent(_) => ErrorClass::Permanent,
            NotifyError::Transient(_) | NotifyError::Io { .. } => ErrorClass::Transient,
            NotifyError::Throttled { .. } | NotifyError::BreakerOpen { .. } => ErrorClass::Throttled,
            NotifyError::Store { class, .. } => *class,
        }
    }

    /// Whether this failure says something about the destination's health (and so counts
    /// towards opening its breaker): down, slow, throttling, refusing our credentials, or a
    /// local folder that cannot be written. A message the destination rejected on its merits
    /// (InvalidInput) does not, nor does our own store failing.
    pub fn counts_against_destination(&self) -> bool {
        matches!(
            self,
            NotifyError::Transient(_)
                | NotifyError::Throttled { .. }
                | NotifyError::Permanent(_)
                | NotifyError::Io { .. }
        )
    }
}

impl From<NotifyError> for StepError {
    fn from(err: NotifyError) -> Self {
        StepError::new(err.class(), err.to_string())
    }
}

impl From<secops_store::StoreError> for NotifyError {
    fn from(err: secops_store::StoreError) -> Self {
        NotifyError::Store { class: err.class(), message: err.to_string() }
    }
}

impl From<secops_aws::AwsError> for NotifyError {
    fn from(err: secops_aws::AwsError) -> Self {
        match err.class {
            ErrorClass::Throttled => NotifyError::throttled(err.to_string(), None),
            ErrorClass::Transient => NotifyError::Transient(err.to_string()),
            ErrorClass::InvalidInput => NotifyError::InvalidInput(err.to_string()),
            _ => NotifyError::Permanent(err.to_string()),
        }
    }
}

pub type Result<T, E = NotifyError> = std::result::Result<T, E>;
