//! What can go wrong while deciding, each with the error class the state machines act on.

use secops_core::{ErrorClass, StepError};

#[derive(Debug, thiserror::Error)]
pub enum SoarError {
    /// The input (an event, a scratchpad, a policy file) is malformed; the message says where.
    #[error("{0}")]
    InvalidInput(String),
    /// Something we need does not exist and will not appear by retrying (an account outside the
    /// organization, a ticket that was never opened).
    #[error("{0}")]
    Permanent(String),
    /// Someone else holds what we need right now (a claim, a row lock).
    #[error("{0}")]
    Conflict(String),
    /// An AWS API said no; the class comes from the AWS error.
    #[error("{message}")]
    Aws { class: ErrorClass, message: String },
    /// The hot state store or the database said no; the class comes from the store error.
    #[error("state store: {message}")]
    Store { class: ErrorClass, message: String },
    /// Ticketing or alerting (the notify capability) could not deliver; its class says why.
    #[error("{message}")]
    Delivery { class: ErrorClass, message: String },
    /// A local file (policy, quarantine plan) could not be read or written.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl SoarError {
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        SoarError::Io { path: path.to_string(), source }
    }

    pub fn aws(class: ErrorClass, message: impl Into<String>) -> Self {
        SoarError::Aws { class, message: message.into() }
    }

    pub fn store(class: ErrorClass, message: impl Into<String>) -> Self {
        SoarError::Store { class, message: message.into() }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            SoarError::InvalidInput(_) => ErrorClass::InvalidInput,
            SoarError::Permanent(_) => ErrorClass::Permanent,
            SoarError::Conflict(_) => ErrorClass::Conflict,
            SoarError::Io { .. } => ErrorClass::Transient,
            SoarError::Aws { class, .. } | SoarError::Store { class, .. } | SoarError::Delivery { class, .. } => *class,
        }
    }
}

impl From<SoarError> for StepError {
    fn from(err: SoarError) -> Self {
        StepError::new(err.class(), err.to_string())
    }
}

impl From<StepError> for SoarError {
    fn from(err: StepError) -> Self {
        SoarError::Delivery { class: err.class, message: err.message }
    }
}

impl From<secops_aws::AwsError> for SoarError {
    fn from(err: secops_aws::AwsError) -> Self {
        SoarError::Aws { class: err.class, message: err.to_string() }
    }
}

impl From<secops_store::StoreError> for SoarError {
    fn from(err: secops_store::StoreError) -> Self {
        SoarError::Store { class: err.class(), message: err.to_string() }
    }
}

pub type Result<T, E = SoarError> = std::result::Result<T, E>;
