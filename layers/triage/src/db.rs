//! PostgreSQL errors in the step error classes.

use secops_core::StepError;
use tokio_postgres::error::SqlState;

/// A database error while doing `what`: a refused statement (permissions, a bad value, a missing
/// object) is `Permanent`; a lost connection, a serialization failure or a shutdown is `Transient`.
pub fn error(what: &str, e: tokio_postgres::Error) -> StepError {
    let message = format!("{what}: {e}");
    match e.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            StepError::transient(message)
        }
        Some(code)
            if code.code().starts_with("08") || code.code().starts_with("57") || code.code().starts_with("53") =>
        {
            StepError::transient(message)
        }
        Some(_) => StepError::permanent(message),
        None => StepError::transient(message),
    }
}

/// `error` as a closure for `map_err`.
pub fn err(what: &str) -> impl FnOnce(tokio_postgres::Error) -> StepError + '_ {
    move |e| error(what, e)
}
