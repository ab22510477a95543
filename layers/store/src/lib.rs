//! `secops-store`: PostgreSQL for SecOps Autopilot — the connection pool, the migrations from the
//! top-level `migrations/` folder (embedded at build time), repositories, the private local
//! cluster of the single binary, and the fresh-database-per-test harness.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod db;
mod error;
pub mod findings;
#[cfg(any(test, feature = "test-harness"))]
pub mod testing;

pub use deadpool_postgres::Pool;
pub use error::{step_error, StoreError};
