//! `secops-audit`, the trust layer: the HMAC-SHA256 signed, hash-chained audit log (append,
//! checkpoint, verify) and per-destination redaction of personal data and secrets.
#![forbid(unsafe_code)]

pub mod bench;
pub mod chain;
pub mod checkpoint;
pub mod error;
pub mod event;
pub mod jsonl;
pub mod ops;
pub mod pg;
pub mod redact;
pub mod setup;
pub mod signer;
pub mod step;
pub mod verify;

pub use chain::{AuditSink, ChainHead, MemoryAuditLog, Receipt};
pub use checkpoint::{AnyCheckpointStore, Checkpoint, CheckpointStore, FileCheckpointStore, SsmCheckpointStore};
pub use error::AuditError;
pub use event::{AuditEvent, NewEvent, GENESIS_HASH};
pub use pg::PgAuditLog;
pub use signer::{AnySigner, Keyring, KmsSigner, MacCheck, Signer};
pub use verify::{Problem, ProblemKind, Report, Verifier};
