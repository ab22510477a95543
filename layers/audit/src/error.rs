//! What can go wrong in the trust layer, each with the error class the state machines act on.

use secops_core::{ErrorClass, StepError};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The caller sent something the chain cannot take (bad event type, payload not JSON…).
    #[error("{0}")]
    InvalidInput(String),
    /// A key is missing, unreadable, unlisted or has the wrong permissions.
    #[error("{0}")]
    Key(String),
    /// The database said no or went away; the class comes from the database error.
    #[error("audit store: {message}")]
    Store { class: ErrorClass, message: String },
    /// KMS or SSM said no; the class comes from the AWS error.
    #[error("{message}")]
    Aws { class: ErrorClass, message: String },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// A checkpoint document is malformed or signed by nobody we know.
    #[error("{0}")]
    Checkpoint(String),
}

impl AuditError {
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        AuditError::Io { path: path.to_string(), source }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            AuditError::InvalidInput(_) => ErrorClass::InvalidInput,
            AuditError::Key(_) | AuditError::Checkpoint(_) => ErrorClass::Permanent,
            AuditError::Io { .. } => ErrorClass::Transient,
            AuditError::Store { class, .. } => *class,
            AuditError::Aws { class, .. } => *class,
        }
    }
}

impl From<AuditError> for StepError {
    fn from(err: AuditError) -> Self {
        StepError::new(err.class(), err.to_string())
    }
}

impl From<secops_aws::AwsError> for AuditError {
    fn from(err: secops_aws::AwsError) -> Self {
        AuditError::Aws { class: err.class, message: err.to_string() }
    }
}

impl From<secops_store::StoreError> for AuditError {
    fn from(err: secops_store::StoreError) -> Self {
        AuditError::Store { class: err.class(), message: err.to_string() }
    }
}
