//! Errors of the inventory: the step error every capability shares (a class the state machines
//! retry on, a message that says what and where), plus the two database failures it maps.

use secops_core::StepError;

pub type InventoryError = StepError;

pub type Result<T, E = InventoryError> = std::result::Result<T, E>;

/// A failed query, with the server's own words and the class of its SQLSTATE (a lost connection
/// or a deadlock is worth retrying, a constraint violation is not).
pub fn database(what: &'static str, error: tokio_postgres::Error) -> InventoryError {
    secops_store::StoreError::Query { what, error }.into()
}

/// No connection from the pool (the server is down or saturated): worth retrying.
pub fn pool(error: deadpool_postgres::PoolError) -> InventoryError {
    secops_store::StoreError::Pool(error.to_string()).into()
}
