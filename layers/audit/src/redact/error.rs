//! What can go wrong when setting up redaction. Redacting itself cannot fail.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("unknown redaction destination `{given}`: expected one of jira, slack, audit")]
    UnknownDestination { given: String },

    #[error("cannot read the redaction policy file {}: {source}", path.display())]
    PolicyFileUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file parsed badly or named something unknown. `line` and `column` are 1-based.
    #[error("redaction policy file {}, line {line} column {column}: {message}", path.display())]
    PolicyFileInvalid { path: PathBuf, line: usize, column: usize, message: String },

    #[error("bad redaction correlation key: {reason}")]
    BadCorrelationKey { reason: String },
}
