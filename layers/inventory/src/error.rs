//! Errors of the inventory: each says what failed and where, and carries the class the state
//! machines retry on.

use secops_core::{ErrorClass, StepError};

#[derive(Debug, Clone, thiserror::Error)]
#[error("{class}: {message}")]
pub struct InventoryError {
    pub class: ErrorClass,
    pub message: String,
}

impl InventoryError {
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
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Permanent, message)
    }
    /// Prefix the message with where it happened (a file, a table, an account and region).
    pub fn at(mut self, place: impl std::fmt::Display) -> Self {
        self.message = format!("{place}: {}", self.message);
        self
    }
    /// A failed query, with the server's own words and the class of its SQLSTATE (a lost
    /// connection or a deadlock is worth retrying, a constraint violation is not).
    pub fn database(what: &'static str, error: tokio_postgres::Error) -> Self {
        secops_store::StoreError::Query { what, error }.into()
    }
    /// No connection from the pool (the server is down or saturated): worth retrying.
    pub fn pool(error: deadpool_postgres::PoolError) -> Self {
        secops_store::StoreError::Pool(error.to_string()).into()
    }
}

impl From<secops_aws::AwsError> for InventoryError {
    fn from(e: secops_aws::AwsError) -> Self {
        Self::new(e.class, e.to_string())
    }
}

impl From<secops_store::StoreError> for InventoryError {
    fn from(e: secops_store::StoreError) -> Self {
        Self::new(e.class(), e.to_string())
    }
}

impl From<InventoryError> for StepError {
    fn from(e: InventoryError) -> Self {
        StepError::new(e.class, e.message)
    }
}

pub type Result<T, E = InventoryError> = std::result::Result<T, E>;
