use secops_core::{ErrorClass, StepError};

/// Everything that can go wrong talking to PostgreSQL or running the private cluster.
/// Messages say what to install or set when the cause is on the machine, not in the data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or under \
         /usr/lib/postgresql/*/bin: install the Debian package 'postgresql' (./scripts/bootstrap does it), \
         or set SECOPS_DATABASE_URL to an existing server"
    )]
    PostgresNotInstalled,
    #[error("private PostgreSQL cluster at {dir}: {message}")]
    Cluster { dir: String, message: String },
    #[error("database connection to {target} failed: {}", pg_message(error))]
    Connect { target: String, error: tokio_postgres::Error },
    #[error("database pool: {0}")]
    Pool(String),
    #[error("migrations failed: {0}")]
    Migration(String),
    // `error` is deliberately not a `source`: the message already carries the server's words.
    #[error("query {what} failed: {}", pg_message(error))]
    Query { what: &'static str, error: tokio_postgres::Error },
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("invalid record: {0}")]
    Invalid(String),
}

impl StoreError {
    pub fn query(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
        move |error| StoreError::Query { what, error }
    }

    /// The state-machine error class: connection trouble is worth a retry, the rest is not.
    pub fn class(&self) -> ErrorClass {
        match self {
            StoreError::Connect { .. } | StoreError::Pool(_) => ErrorClass::Transient,
            StoreError::Query { error, .. } => classify_pg(error),
            StoreError::PostgresNotInstalled
            | StoreError::Cluster { .. }
            | StoreError::Migration(_)
            | StoreError::BadUrl(_) => ErrorClass::Permanent,
            StoreError::Invalid(_) => ErrorClass::InvalidInput,
        }
    }
}

/// SQLSTATE classes: 40xxx (serialization failure, deadlock) and 08xxx (connection) and 53xxx
/// (insufficient resources) and 57P0x (shutdown) pass with time; 23xxx is a conflict.
fn classify_pg(e: &tokio_postgres::Error) -> ErrorClass {
    let Some(db) = e.as_db_error() else {
        return ErrorClass::Transient; // I/O error or closed connection
    };
    let code = db.code().code();
    match &code[..2] {
        "40" | "08" | "53" => ErrorClass::Transient,
        "57" if code.starts_with("57P0") => ErrorClass::Transient,
        "23" => ErrorClass::Conflict,
        "22" => ErrorClass::InvalidInput,
        _ => ErrorClass::Permanent,
    }
}

/// A query error as a step error, with the server's own words: for callers that build `what` at
/// run time (a [`StoreError::Query`] needs a static one).
pub fn step_error(what: &str, e: &tokio_postgres::Error) -> StepError {
    StepError::new(classify_pg(e), format!("query {what} failed: {}", pg_message(e)))
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        StepError::new(e.class(), e.to_string())
    }
}

/// tokio-postgres displays server errors as just "db error": show the server's own words.
pub(crate) fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                m.push_str(": ");
                m.push_str(detail);
            }
            m
        }
        None => {
            let mut m = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                m.push_str(": ");
                m.push_str(&s.to_string());
                source = s.source();
            }
            m
        }
    }
}
