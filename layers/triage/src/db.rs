//! PostgreSQL errors in the step error classes, classified as the store classifies them.

use secops_core::StepError;
use secops_store::StoreError;

/// A failed query while doing `what`, for `map_err`.
pub fn err(what: &str) -> impl FnOnce(tokio_postgres::Error) -> StepError + '_ {
    move |e| secops_store::step_error(what, &e)
}

/// No connection from the pool: worth a retry.
pub fn pool(e: deadpool_postgres::PoolError) -> StepError {
    StoreError::Pool(e.to_string()).into()
}
